"""Verifying a user pool's tokens for the services that trust it (API Gateway's
COGNITO_USER_POOLS authorizers, HTTP API JWT authorizers whose issuer is a pool, AppSync's
AMAZON_COGNITO_USER_POOLS mode): in process, against the pool's own key, with its revocations.

This module is what those services import; it reaches the pool through the Cognito provider's
in-process API and imports nothing of theirs.
"""

from __future__ import annotations

import re

from overcast.services.cognitoidp.tokens import unverified  # noqa: F401  (a JWT's header or claims, unchecked)

_ISSUER = re.compile(r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/([\w-]+_[0-9A-Za-z]+)/?$")


def pool_of_issuer(issuer: str | None) -> str | None:
    """The pool id of a Cognito issuer URL, else None."""
    match = _ISSUER.match(issuer or "")
    return match.group(1) if match else None


def pool_of_arn(arn: str) -> str:
    """arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc -> us-east-1_abc"""
    return arn.rsplit("/", 1)[-1]


def bearer(value: str) -> str:
    return value[7:].strip() if value[:7].lower() == "bearer " else value.strip()


async def jwks(providers, pool_id: str) -> dict | None:
    cognito = await providers.get("cognito-idp")
    return cognito.jwks(pool_id)


async def verify(providers, pool_ids, token: str, token_use: str | None = None) -> dict:
    """The claims of `token` if one of the pools signed it, it has not expired and it is not
    revoked; jwt.InvalidTokenError otherwise (`alg: none`, another key, tampered, expired)."""
    cognito = await providers.get("cognito-idp")
    return cognito.verify_issued(pool_ids, token, token_use)
