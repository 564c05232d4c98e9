"""The tokens a user pool issues: ID and access tokens signed RS256 with the pool's own key (its
public half served as the JWKS at the issuer's /.well-known/jwks.json), refresh tokens that are
opaque and revocable, and verification of all of them for the authorizers that trust the pool."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import jwt
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

_crypto: ThreadPoolExecutor | None = None  # made on the first sign-in


def new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@lru_cache(maxsize=256)
def _loaded(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


@lru_cache(maxsize=256)
def _public(pem: str):
    return _loaded(pem).public_key()


def key_id(pool_id: str) -> str:
    return f"{pool_id}-1"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks(pool_id: str, pem: str) -> dict:
    numbers = _loaded(pem).public_key().public_numbers()
    return {"keys": [{"alg": "RS256", "e": _b64(numbers.e), "kid": key_id(pool_id), "kty": "RSA",
                      "n": _b64(numbers.n), "use": "sig"}]}


def issuer(pool_id: str) -> str:
    region = pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def _segment(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _json(value: dict) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits from a pre token generation trigger
        return json.dumps(value, separators=(",", ":")).encode()


def _signing_input(pool_id: str, claims: dict) -> bytes:
    return _segment(_json({"kid": key_id(pool_id), "alg": "RS256"})) + b"." + _segment(_json(claims))


def _signed(signing_input: bytes, signature: bytes) -> str:
    return (signing_input + b"." + _segment(signature)).decode()


def sign(pool_id: str, pem: str, claims: dict) -> str:
    """A JWS in compact form (RFC 7515), RS256, with the header Cognito writes ({"kid", "alg"})."""
    signing_input = _signing_input(pool_id, claims)
    return _signed(signing_input, _loaded(pem).sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))


async def off_loop(fn, *args):
    """fn(*args) on the crypto thread: RSA signatures (cryptography releases the GIL while it
    signs) and SRP's exponentiations (GMP, srp.py releases the GIL around them) run on another
    core while the event loop serves other requests. One thread (per core beyond the event
    loop's): more would only take turns at the GIL and the cores."""
    global _crypto
    if _crypto is None:
        _crypto = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="cognito-crypto")
    return await asyncio.get_running_loop().run_in_executor(_crypto, fn, *args)


async def sign_all(pool_id: str, pem: str, claims: list[dict]) -> list[str]:
    """Several tokens signed with the pool's key: encoded here, the RSA signatures alone made on the
    crypto thread (the GIL released the whole time it works)."""
    key, inputs = _loaded(pem), [_signing_input(pool_id, c) for c in claims]
    signatures = await off_loop(lambda: [key.sign(i, padding.PKCS1v15(), hashes.SHA256()) for i in inputs])
    return [_signed(i, sig) for i, sig in zip(inputs, signatures, strict=True)]


def new_refresh_token() -> str:
    return secrets.token_urlsafe(96)


def unverified(token: str, part: int = 1) -> dict:
    """A JWT's header (part 0) or claims (part 1), unverified: to choose the key or the pool that
    must then verify it. jwt.InvalidTokenError when it is not a JWT. (PyJWT checks each character
    of every segment in Python when it parses; this reads the one part needed, once.)"""
    parts = token.split(".")
    if len(parts) != 3:
        raise jwt.InvalidTokenError("not a JWT")
    try:
        value = orjson.loads(base64.urlsafe_b64decode(parts[part] + "=" * (-len(parts[part]) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise jwt.InvalidTokenError("not a JWT") from None
    if not isinstance(value, dict):
        raise jwt.InvalidTokenError("not a JWT")
    return value


def verify(token: str, pool_id: str, pem: str, token_use: str | None = None) -> dict:
    """The claims of a token this pool signed; jwt.InvalidTokenError when it is not one (another
    key, `alg: none`, expired, tampered, another pool)."""
    header = unverified(token, 0)
    if header.get("alg") != "RS256" or header.get("kid") != key_id(pool_id):
        raise jwt.InvalidTokenError("the token was not signed by this user pool")
    claims = jwt.decode(token, _public(pem), algorithms=["RS256"], issuer=issuer(pool_id),
                        options={"verify_aud": False, "require": ["exp", "iat", "iss", "token_use"]})
    if token_use is not None and claims.get("token_use") != token_use:
        raise jwt.InvalidTokenError(f"the token is not an {token_use} token")
    return claims


def now() -> int:
    return int(time.time())


def jti() -> str:
    return str(uuid.uuid4())
