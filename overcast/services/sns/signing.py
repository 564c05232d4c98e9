"""SNS message signatures: an RSA key and a self-signed X.509 certificate generated once and kept in
the data directory (or, in cluster mode, shared by the nodes through the database:
storage.sealing.shared_secret); SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA) over
AWS's canonical string of the message's fields.

Publishes sign on one worker thread (`sign_all`): cryptography releases the GIL while RSA signs
(pyca/cryptography#14370, in the versions overcast is tested with), so the event loop serves
other requests on the other core meanwhile; one thread keeps the publishes' order."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
from concurrent.futures import ThreadPoolExecutor

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_thread: ThreadPoolExecutor | None = None  # made on the first publish that needs a signature


class Signer:
    def __init__(self, key_pem: bytes, cert_pem: bytes):
        self.key = serialization.load_pem_private_key(key_pem, None)
        self.cert_pem = cert_pem

    @classmethod
    def in_directory(cls, directory: str) -> Signer:
        """The key and certificate of the data directory, made there the first time."""
        os.makedirs(directory, exist_ok=True)
        key_path = os.path.join(directory, "signing-key.pem")
        cert_path = os.path.join(directory, "signing-cert.pem")
        if os.path.exists(key_path) and os.path.exists(cert_path):
            with open(key_path, "rb") as f, open(cert_path, "rb") as c:
                return cls(f.read(), c.read())
        key_pem, cert_pem = make_key_and_certificate()
        _write(key_path, key_pem)
        _write(cert_path, cert_pem)
        return cls(key_pem, cert_pem)

    @classmethod
    def from_bundle(cls, bundle: bytes) -> Signer:
        """From `bundle()`'s bytes: the key's PEM, then the certificate's."""
        at = bundle.index(b"-----BEGIN CERTIFICATE-----")
        return cls(bundle[:at], bundle[at:])

    async def sign_all(self, messages: list[dict], version: str) -> list[str]:
        """The signatures of several messages, made on the signing thread."""
        if not messages:
            return []
        global _thread
        if _thread is None:
            _thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sns-sign")
        return await asyncio.get_running_loop().run_in_executor(
            _thread, lambda: [self.sign(message, version) for message in messages])

    def sign(self, message: dict, version: str = "1") -> str:
        """The base64 signature of a message (its Type decides which fields are signed)."""
        fields = NOTIFICATION_FIELDS if message["Type"] == "Notification" else CONFIRMATION_FIELDS
        text = canonical(message, fields)
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 - SNS's SignatureVersion 1
        return base64.b64encode(self.key.sign(text.encode(), padding.PKCS1v15(), digest)).decode()


def bundle() -> bytes:
    """A new key and certificate as one PEM text (the form cluster nodes share)."""
    key_pem, cert_pem = make_key_and_certificate()
    return key_pem + cert_pem


def make_key_and_certificate() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def canonical(message: dict, fields: tuple[str, ...]) -> str:
    """AWS's string to sign: each present field's name and value, one per line."""
    return "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None)


def _write(path: str, data: bytes) -> None:
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
