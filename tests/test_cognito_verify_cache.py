"""The user pool's memory of verified tokens and proven passwords (verify_issued,
_proves_password): a token checked once is not parsed or RSA-checked again, but its expiry, its
pool's current key and the revocation list are checked on every use; a password proven once
costs no second scrypt, and a wrong or changed password is never taken from memory. In process,
so that a token can expire within the test."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from overcast.config import Config
from overcast.services.cognitoidp import tokens
from overcast.storage import FileBlobStore, SqliteDatabase


def _run(tmp_path, scenario):
    from overcast.aws.dispatch import Providers

    async def run():
        config = Config(data_dir=str(tmp_path))
        providers = Providers(config, SqliteDatabase(str(tmp_path / "db.sqlite")), FileBlobStore(str(tmp_path / "blobs")))
        try:
            await scenario(await providers.get("cognito-idp"))
        finally:
            await providers.stop()

    asyncio.run(run())


class _Ctx:
    account, region, access_key = "000000000000", "us-east-1", ""


def _pool(cognito) -> str:
    return cognito.create_user_pool(_Ctx(), {"PoolName": "cache"})["UserPool"]["Id"]


def _token(cognito, pool_id: str, seconds: int, token_use: str = "id") -> str:
    now = int(time.time())
    return tokens.sign(pool_id, cognito.store.private_key(pool_id), {
        "sub": "s", "iss": tokens.issuer(pool_id), "token_use": token_use, "iat": now, "exp": now + seconds,
        "origin_jti": "o", "username": "u"})


def test_a_remembered_token_still_expires(tmp_path):
    async def scenario(cognito):
        pool_id = _pool(cognito)
        token = _token(cognito, pool_id, 2)
        assert cognito.verify_issued({pool_id}, token)["sub"] == "s"
        assert token in cognito._verified  # remembered
        await asyncio.sleep(2.1)
        with pytest.raises(jwt.ExpiredSignatureError):
            cognito.verify_issued({pool_id}, token)

    _run(tmp_path, scenario)


def test_a_remembered_token_fails_once_its_pool_is_deleted_or_another_pool_asks(tmp_path):
    async def scenario(cognito):
        pool_id, other = _pool(cognito), _pool(cognito)
        token = _token(cognito, pool_id, 3600)
        cognito.verify_issued({pool_id}, token)
        with pytest.raises(jwt.InvalidTokenError):
            cognito.verify_issued({other}, token)
        cognito.delete_user_pool(_Ctx(), {"UserPoolId": pool_id})
        with pytest.raises(jwt.InvalidTokenError):
            cognito.verify_issued({pool_id}, token)

    _run(tmp_path, scenario)


def test_a_remembered_access_token_is_refused_once_revoked_and_its_use_still_checked(tmp_path):
    async def scenario(cognito):
        pool_id = _pool(cognito)
        token = _token(cognito, pool_id, 3600, "access")
        cognito.verify_issued({pool_id}, token, "access")
        with pytest.raises(jwt.InvalidTokenError):
            cognito.verify_issued({pool_id}, token, "id")
        cognito.store.put_refresh("refresh", pool_id, "client", "u", "o", time.time() + 3600)  # the sign-in
        assert cognito.verify_issued({pool_id}, token, "access")["sub"] == "s"
        cognito.store.revoke_refresh("refresh")  # RevokeToken / GlobalSignOut
        with pytest.raises(jwt.InvalidTokenError, match="revoked"):
            cognito.verify_issued({pool_id}, token, "access")

    _run(tmp_path, scenario)


def test_a_proven_password_is_remembered_a_wrong_or_changed_one_is_not(tmp_path):
    async def scenario(cognito):
        pool_id = _pool(cognito)
        pool = cognito.store.pool(pool_id)
        user = cognito._new_user(pool, "amy", {}, "CONFIRMED")
        cognito._set_password(pool, user, "Passw0rd!")
        assert await cognito._proves_password(user, "Passw0rd!") is True
        assert len(cognito._proven) == 1
        assert await cognito._proves_password(user, "Passw0rd!") is True  # from memory
        assert await cognito._proves_password(user, "wrong") is False
        assert len(cognito._proven) == 1  # failures are never remembered
        cognito._set_password(pool, user, "N3w-Passw0rd!")
        assert await cognito._proves_password(user, "Passw0rd!") is False  # the old one no longer counts
        assert await cognito._proves_password(user, "N3w-Passw0rd!") is True

    _run(tmp_path, scenario)


def test_http_api_jwt_authorizer_remembers_a_token_but_not_past_its_expiry(tmp_path):
    from overcast.services.apigatewayv2.authorizers import Denied, _verified, check_jwt

    async def scenario(cognito):
        pool_id = _pool(cognito)
        token = _token(cognito, pool_id, 2, "access")
        authorizer = {"Name": "pool", "JwtConfiguration": {"Issuer": tokens.issuer(pool_id)}}
        source = {"headers": {"authorization": f"Bearer {token}"}}
        context = await check_jwt(authorizer, {}, source, cognito.providers)
        assert context["claims"]["sub"] == "s" and token in _verified
        context["claims"]["sub"] = "changed by the caller"  # each request gets its own copy
        assert (await check_jwt(authorizer, {}, source, cognito.providers))["claims"]["sub"] == "s"
        with pytest.raises(Denied):  # remembered for this issuer only
            await check_jwt({"Name": "other", "JwtConfiguration": {"Issuer": tokens.issuer(_pool(cognito))}}, {},
                            source, cognito.providers)
        await asyncio.sleep(2.1)
        with pytest.raises(Denied) as denied:
            await check_jwt(authorizer, {}, source, cognito.providers)
        assert denied.value.status == 401

    _run(tmp_path, scenario)
