"""The tokens a user pool issues: ID and access tokens signed RS256 with the pool's own key (its
public half served as the JWKS at the issuer's /.well-known/jwks.json), refresh tokens that are
opaque and revocable, and verification of all of them for the authorizers that trust the pool."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from functools import lru_cache

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


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


def sign(pool_id: str, pem: str, claims: dict) -> str:
    return jwt.encode(claims, _loaded(pem), algorithm="RS256", headers={"kid": key_id(pool_id)})


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
