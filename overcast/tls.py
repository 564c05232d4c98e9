"""HTTPS on overcast's one port: the certificate and the server's TLS context.

A TLS ClientHello on the port is answered with TLS (overcast.connections sees it); plain HTTP stays
plain. The certificate is one of:

- the user's own, from `OVERCAST_TLS_CERT` and `OVERCAST_TLS_KEY` (PEM files; the certificate
  file may carry the chain after the leaf);
- else one overcast makes once, with the `cryptography` package, under `<data dir>/tls/`: a
  local certificate authority (`ca.pem`, the file to trust; its key `ca-key.pem` never leaves
  the directory) and a server certificate it signed (`cert.pem`, `key.pem`) for `localhost`,
  `localhost.localstack.cloud` and the host names overcast hands out under them (execute-api,
  S3 virtual hosts and websites, function URLs, AppSync, Cognito domains, regional service
  hosts) and for 127.0.0.1 and ::1.

The authority is restricted by X.509 name constraints to those names and loopback addresses:
trusting it lets nothing else be impersonated, should its key ever leak. The server certificate
is made again from the same authority when it nears its end (so trusting once is enough).

Nothing here runs at start-up on a data directory that already has its files: the context is built
on the first TLS connection, and `cryptography` is imported only when files must be made.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import threading
import time

from overcast.config import Config

CA_DAYS = 3650
SERVER_DAYS = 397  # within what browsers and Apple's platforms accept for a server certificate
RENEW_AFTER_DAYS = 300
LOCAL_NAMES = ("localhost", "localhost.localstack.cloud")
LOOPBACK = ("127.0.0.0/8", "::1/128")

_lock = threading.RLock()
_contexts: dict[tuple[str, str], ssl.SSLContext] = {}


def tls_dir(config: Config) -> str:
    return os.path.join(config.data_dir, "tls")


def files(config: Config) -> tuple[str, str]:
    """(certificate chain, key) the server presents: the user's own, else overcast's own."""
    if config.tls_cert or config.tls_key:
        if not (config.tls_cert and config.tls_key):
            raise ValueError("OVERCAST_TLS_CERT and OVERCAST_TLS_KEY go together: give both or neither")
        return config.tls_cert, config.tls_key
    directory = tls_dir(config)
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


def ca_file(config: Config) -> str | None:
    """The authority to trust for overcast's own certificate (None with the user's own)."""
    return None if config.tls_cert else os.path.join(tls_dir(config), "ca.pem")


def server_context(config: Config) -> ssl.SSLContext:
    """The TLS context for the port (made once per process; the files once per data directory)."""
    cert, key = files(config)
    context = _contexts.get((cert, key))
    if context is not None:
        return context
    with _lock:
        context = _contexts.get((cert, key))
        if context is None:
            if not config.tls_cert:
                ensure_files(config)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(cert, key)
            context.set_alpn_protocols(["h2", "http/1.1"])
            _contexts[(cert, key)] = context
    return context


def ensure_files(config: Config) -> None:
    """Make the authority and the server certificate when missing, the latter again when old."""
    with _lock:
        _ensure_files(config)


def _ensure_files(config: Config) -> None:
    directory = tls_dir(config)
    ca_cert, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca-key.pem")
    cert, key = files(config)
    have_ca = os.path.exists(ca_cert) and os.path.exists(ca_key)
    fresh = (have_ca and os.path.exists(cert) and os.path.exists(key)
             and time.time() - os.path.getmtime(cert) < RENEW_AFTER_DAYS * 86400)
    if fresh:
        return
    os.makedirs(directory, mode=0o700, exist_ok=True)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if have_ca:
        with open(ca_cert, "rb") as f:
            authority = x509.load_pem_x509_certificate(f.read())
        with open(ca_key, "rb") as f:
            authority_key = serialization.load_pem_private_key(f.read(), None)
    else:
        authority, authority_key = _make_authority()
        _write(ca_key, _key_pem(authority_key), private=True)
        _write(ca_cert, authority.public_bytes(serialization.Encoding.PEM))
    leaf, leaf_key = _make_server_certificate(authority, authority_key)
    _write(key, _key_pem(leaf_key), private=True)
    _write(cert, leaf.public_bytes(serialization.Encoding.PEM) + authority.public_bytes(serialization.Encoding.PEM))


def server_names() -> list[str]:
    """The DNS names of overcast's own certificate: the local names and, under them, every host
    form overcast hands out (a wildcard covers one label, so each form is named per region)."""
    base = "localhost.localstack.cloud"
    names = [*LOCAL_NAMES, f"*.{base}"]
    names += [f"*.{form}.{base}" for form in ("execute-api", "s3", "s3-website", "auth")]
    for region in _regions():
        names += [f"*.{region}.{base}", f"*.s3-website-{region}.localhost"]
        names += [f"*.{form}.{region}.{base}" for form in ("lambda-url", "appsync-api", "appsync-realtime-api")]
    return names


def _regions() -> list[str]:
    from botocore.loaders import create_loader

    endpoints = create_loader().load_data("endpoints")
    return sorted(region for partition in endpoints["partitions"] if partition["partition"] == "aws"
                  for region in partition["regions"])


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _make_authority():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "overcast"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"overcast local CA ({os.uname().nodename})")])
    permitted = [x509.DNSName(n) for n in LOCAL_NAMES]
    permitted += [x509.IPAddress(ipaddress.ip_network(n)) for n in LOOPBACK]
    now = _now()
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _make_server_certificate(authority, authority_key):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [x509.DNSName(n) for n in server_names()]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", "::1")]
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(authority.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    return certificate, key


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: str, data: bytes, private: bool = False) -> None:
    """Written whole under a temporary name and renamed (a crash leaves the old file or none)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
