"""KMS's key specs and the primitives behind them (the `cryptography` library): making key
material of each spec, signing and verifying, RSA encryption, HMAC, and unwrapping imported key
material. The provider decides who may use a key; this module only computes.

Key material is kept as bytes: 32 random bytes for SYMMETRIC_DEFAULT (AES-256-GCM), the raw key
for HMAC, the private key's PKCS#8 DER for RSA and ECC keys (as KMS's import takes them).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

SYMMETRIC = "SYMMETRIC_DEFAULT"
# AWS's order, as its enum validation message lists them
KEY_SPECS = ["RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256", "ECC_NIST_P521", "HMAC_384", "RSA_3072",
             "ECC_SECG_P256K1", "RSA_4096", SYMMETRIC, "HMAC_256", "HMAC_224", "HMAC_512"]
KEY_USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"]  # as AWS's enum message lists them
KEY_AGREEMENT = "KEY_AGREEMENT"
DATA_KEY_PAIR_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
                       "ECC_SECG_P256K1"]

_CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1,
           "ECC_SECG_P256K1": ec.SECP256K1}
_HMAC_BYTES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
HASHES = {"SHA_1": hashes.SHA1, "SHA_224": hashes.SHA224, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384,
          "SHA_512": hashes.SHA512}
RSA_SIGNING = [f"RSASSA_{p}_SHA_{n}" for p in ("PKCS1_V1_5", "PSS") for n in (256, 384, 512)]
RSA_ENCRYPTION = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
ECDSA = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512",
         "ECC_SECG_P256K1": "ECDSA_SHA_256"}
SIGNING_ALGORITHMS = [*RSA_SIGNING, "ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512"]
MAC_ALGORITHMS = ["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"]
WRAPPING_ALGORITHMS = ["RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
                       "RSA_AES_KEY_WRAP_SHA_256"]
WRAPPING_KEY_SPECS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}


class CryptoFailure(Exception):
    """Material that does not decrypt, verify or load (the provider answers AWS's error for it)."""


def is_rsa(spec: str) -> bool:
    return spec.startswith("RSA_")


def is_ecc(spec: str) -> bool:
    return spec in _CURVES


def is_hmac(spec: str) -> bool:
    return spec in _HMAC_BYTES


def usages(spec: str) -> list[str]:
    """The key usages a key spec allows."""
    if spec == SYMMETRIC:
        return ["ENCRYPT_DECRYPT"]
    if is_rsa(spec):
        return ["ENCRYPT_DECRYPT", "SIGN_VERIFY"]
    if is_hmac(spec):
        return ["GENERATE_VERIFY_MAC"]
    if spec.startswith("ECC_NIST_"):
        return ["SIGN_VERIFY", KEY_AGREEMENT]
    return ["SIGN_VERIFY"]


def algorithms(spec: str, usage: str) -> dict:
    """The algorithm lists KeyMetadata and GetPublicKey answer for a key of `spec` and `usage`."""
    if spec == SYMMETRIC:
        return {"EncryptionAlgorithms": [SYMMETRIC]}
    if is_hmac(spec):
        return {"MacAlgorithms": [f"HMAC_SHA_{spec[5:]}"]}
    if usage == "ENCRYPT_DECRYPT":
        return {"EncryptionAlgorithms": list(RSA_ENCRYPTION)}
    if usage == KEY_AGREEMENT:
        return {"KeyAgreementAlgorithms": ["ECDH"]}
    return {"SigningAlgorithms": list(RSA_SIGNING) if is_rsa(spec) else [ECDSA[spec]]}


def generate(spec: str) -> bytes:
    if spec == SYMMETRIC:
        return os.urandom(32)
    if is_hmac(spec):
        return os.urandom(_HMAC_BYTES[spec])
    if is_rsa(spec):
        private = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
    else:
        private = ec.generate_private_key(_CURVES[spec]())
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def private_key(material: bytes):
    return serialization.load_der_private_key(material, password=None)


def public_key_der(material: bytes) -> bytes:
    """The SubjectPublicKeyInfo DER of a private key (GetPublicKey's PublicKey)."""
    return private_key(material).public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)


def check_imported(spec: str, material: bytes) -> None:
    """Imported material must be of the key's spec: AES-256 bytes, HMAC bytes of the spec's
    length, or a PKCS#8 private key of the spec's size or curve."""
    if spec == SYMMETRIC:
        ok = len(material) == 32
    elif is_hmac(spec):
        ok = len(material) == _HMAC_BYTES[spec]
    else:
        try:
            key = private_key(material)
        except (ValueError, TypeError):
            raise CryptoFailure() from None
        if is_rsa(spec):
            ok = isinstance(key, rsa.RSAPrivateKey) and key.key_size == int(spec[4:])
        else:
            ok = isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, _CURVES[spec])
    if not ok:
        raise CryptoFailure()


# -- signing ----------------------------------------------------------------------------------------

def _hash_of(algorithm: str):
    return HASHES["SHA_" + algorithm.rsplit("_", 1)[1]]()


def digest_size(algorithm: str) -> int:
    return _hash_of(algorithm).digest_size


def _signing_args(algorithm: str, digest: bytes):
    chosen = _hash_of(algorithm)
    prehashed = utils.Prehashed(chosen)
    if algorithm.startswith("ECDSA"):
        return (ec.ECDSA(prehashed),)
    if "_PSS_" in algorithm:  # KMS's PSS salt is as long as the digest
        return padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size), prehashed
    return padding.PKCS1v15(), prehashed


def digest(algorithm: str, message: bytes) -> bytes:
    h = hashes.Hash(_hash_of(algorithm))
    h.update(message)
    return h.finalize()


def sign(material: bytes, algorithm: str, message_digest: bytes) -> bytes:
    return private_key(material).sign(message_digest, *_signing_args(algorithm, message_digest))


def verify(material: bytes, algorithm: str, message_digest: bytes, signature: bytes) -> bool:
    try:
        private_key(material).public_key().verify(signature, message_digest,
                                                  *_signing_args(algorithm, message_digest))
    except InvalidSignature:
        return False
    return True


def derive_shared_secret(material: bytes, peer_public_der: bytes) -> bytes:
    """ECDH of the key's private key and a peer's public key (SubjectPublicKeyInfo DER) on its curve."""
    own = private_key(material)
    try:
        peer = serialization.load_der_public_key(peer_public_der)
    except (ValueError, TypeError):
        raise CryptoFailure() from None
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != own.curve.name:
        raise CryptoFailure()
    return own.exchange(ec.ECDH(), peer)


# -- RSA encryption ---------------------------------------------------------------------------------

def _oaep(algorithm: str) -> padding.OAEP:
    chosen = HASHES[algorithm[len("RSAES_OAEP_"):]]()
    return padding.OAEP(mgf=padding.MGF1(chosen), algorithm=chosen, label=None)


def rsa_limit(spec: str, algorithm: str) -> int:
    """The most bytes RSA-OAEP encrypts under a key of `spec` (k - 2·hLen - 2)."""
    return int(spec[4:]) // 8 - 2 * HASHES[algorithm[len("RSAES_OAEP_"):]]().digest_size - 2


def rsa_encrypt(material: bytes, algorithm: str, plaintext: bytes) -> bytes:
    return private_key(material).public_key().encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(material: bytes, algorithm: str, ciphertext: bytes) -> bytes:
    try:
        return private_key(material).decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        raise CryptoFailure() from None


# -- HMAC -------------------------------------------------------------------------------------------

def mac(material: bytes, algorithm: str, message: bytes) -> bytes:
    return hmac.new(material, message, getattr(hashlib, "sha" + algorithm.rsplit("_", 1)[1])).digest()


# -- importing key material -------------------------------------------------------------------------

def wrapping_key(spec: str) -> bytes:
    return rsa.generate_private_key(public_exponent=65537, key_size=WRAPPING_KEY_SPECS[spec]).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def unwrap(wrapping: bytes, algorithm: str, wrapped: bytes) -> bytes:
    """Key material wrapped under GetParametersForImport's public key with `algorithm`."""
    key = private_key(wrapping)
    try:
        if algorithm == "RSAES_PKCS1_V1_5":
            return key.decrypt(wrapped, padding.PKCS1v15())
        if algorithm.startswith("RSAES_OAEP_"):
            return key.decrypt(wrapped, _oaep(algorithm))
        # RSA_AES_KEY_WRAP_SHA_*: an ephemeral AES key under RSA-OAEP, then the material under it
        # with AES key wrap with padding (RFC 5649)
        head = key.key_size // 8
        oaep = "RSAES_OAEP_" + algorithm[len("RSA_AES_KEY_WRAP_"):]
        aes = key.decrypt(wrapped[:head], _oaep(oaep))
        return keywrap.aes_key_unwrap_with_padding(aes, wrapped[head:])
    except (ValueError, keywrap.InvalidUnwrap):
        raise CryptoFailure() from None
