"""Encryption at rest for values AWS keeps encrypted (SSM SecureString parameters, Secrets Manager
secrets): AES-256-GCM under one key of overcast's, generated once. `context` binds a sealed value
to where it belongs (account, region, name), so a value copied to another row does not open.

Where the key (and any other secret every node must share, such as SNS's signing key) lives:
`shared_secret`. With SQLite it is a 0600 file in the data directory, apart from the database, so
a copy of the database alone opens nothing. A cluster's nodes share nothing but PostgreSQL, so
there it is a row of `overcast_secrets` (docs/cluster.md): whoever can read the database can
read the key too; the database's own access control is the boundary then."""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Sealer:
    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)


def shared_secret(config, db, name: str, make: Callable[[], bytes]) -> bytes:
    """The secret `name` ("keys/master.key"), made by `make()` the first time it is asked for."""
    if config.postgres:
        value = db.scalar("SELECT value FROM overcast_secrets WHERE name = ?", (name,))
        if value is None:  # two nodes may race to make it: the first insert wins, both read it
            db.execute("INSERT OR IGNORE INTO overcast_secrets (name, value) VALUES (?, ?)", (name, make()))
            value = db.scalar("SELECT value FROM overcast_secrets WHERE name = ?", (name,))
        return bytes(value)
    path = os.path.join(config.data_dir, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    value = make()
    temporary = path + ".tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    return value


_SEALERS: dict[str, Sealer] = {}


def sealer(config, db) -> Sealer:
    """The deployment's Sealer, created once per process (services share the key)."""
    where = config.database or config.data_dir
    found = _SEALERS.get(where)
    if found is None:
        key = shared_secret(config, db, os.path.join("keys", "master.key"),
                            lambda: AESGCM.generate_key(bit_length=256))
        found = _SEALERS[where] = Sealer(key)
    return found
