"""SNS message signatures: an RSA key and a self-signed X.509 certificate generated once and kept in
the data directory; SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA) over AWS's canonical
string of the message's fields.

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
    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        key_path = os.path.join(directory, "signing-key.pem")
        cert_path = os.path.join(directory, "signing-cert.pem")
        if os.path.exists(key_path) and os.path.exists(cert_path):
            with open(key_path, "rb") as f:
                self.key = serialization.load_pem_private_key(f.read(), None)
            with open(cert_path, "rb") as f:
                self.cert_pem = f.read()
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
            now = datetime.datetime.now(datetime.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(self.key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .sign(self.key, hashes.SHA256())
            )
            self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
            key_pem = self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write(key_path, key_pem)
            _write(cert_path, self.cert_pem)

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


def canonical(message: dict, fields: tuple[str, ...]) -> str:
    """AWS's string to sign: each present field's name and value, one per line."""
    return "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None)


def _write(path: str, data: bytes) -> None:
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
