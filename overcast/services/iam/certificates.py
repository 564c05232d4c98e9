"""Server certificates' checks: the certificate, its chain and its private key must be PEM that
parses, and the key must be the certificate's, as IAM's UploadServerCertificate requires."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from overcast.aws.errors import AwsError


def _malformed(message: str) -> AwsError:
    return AwsError("MalformedCertificate", message, 400)


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check(body: str, private_key: str, chain: str | None) -> float:
    """The certificate's expiry (epoch seconds), once body, key and chain check out."""
    try:
        certificate = x509.load_pem_x509_certificate(body.strip().encode())
    except ValueError:
        raise _malformed("Unable to parse certificate. Please ensure the certificate is in PEM format.") from None
    if chain:
        try:
            x509.load_pem_x509_certificates(chain.strip().encode())
        except ValueError:
            raise _malformed("Unable to parse certificate chain. Please ensure the chain is in PEM format.") from None
    try:
        key = serialization.load_pem_private_key(private_key.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise _malformed("Unable to parse private key. Please ensure the private key is in PEM format.") from None
    if _public_bytes(key.public_key()) != _public_bytes(certificate.public_key()):
        raise AwsError("KeyPairMismatch", "Unable to validate certificate: the certificate and private key do not match.",
                       400)
    return certificate.not_valid_after_utc.timestamp()
