"""Encryption at rest for values AWS keeps encrypted (SSM SecureString parameters, Secrets Manager
secrets): AES-256-GCM under one key of overcast's, generated once and kept in the data directory
with 0600 permissions. `context` binds a sealed value to where it belongs (account, region, name),
so a value copied to another row does not open."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Sealer:
    def __init__(self, data_dir: str):
        directory = os.path.join(data_dir, "keys")
        path = os.path.join(directory, "master.key")
        if os.path.exists(path):
            with open(path, "rb") as f:
                key = f.read()
        else:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            key = AESGCM.generate_key(bit_length=256)
            temporary = path + ".tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)


_SEALERS: dict[str, Sealer] = {}


def sealer(data_dir: str) -> Sealer:
    """The data directory's Sealer, created once per process (services share the key)."""
    found = _SEALERS.get(data_dir)
    if found is None:
        found = _SEALERS[data_dir] = Sealer(data_dir)
    return found
