"""Cognito identity pools: guest and signed-in identities, credentials for the pool's roles issued
through overcast's STS (they act as the role), OpenID tokens, role mapping, and refusals."""

from __future__ import annotations

import jwt
import pytest
from botocore.exceptions import ClientError
from conftest import make_client

ROLE_AUTH = "arn:aws:iam::000000000000:role/cognito-authenticated"
ROLE_GUEST = "arn:aws:iam::000000000000:role/cognito-guest"


@pytest.fixture(scope="module")
def identity(client):
    return client("cognito-identity")


def user_pool(client, unique_name):
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName=unique_name("idpool"))["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="app", ExplicitAuthFlows=[
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="gina", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="gina", Password="Passw0rd!", Permanent=True)

    def sign_in():
        return idp.admin_initiate_auth(UserPoolId=pool, ClientId=app, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": "gina", "PASSWORD": "Passw0rd!"})[
            "AuthenticationResult"]["IdToken"]

    return pool, app, sign_in


def identity_pool(identity, unique_name, pool, app, guests=True) -> str:
    pool_id = identity.create_identity_pool(IdentityPoolName=unique_name("ids").replace("-", "_"),
                                            AllowUnauthenticatedIdentities=guests, CognitoIdentityProviders=[
            {"ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool}", "ClientId": app}])["IdentityPoolId"]
    identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": ROLE_AUTH,
                                                                    "unauthenticated": ROLE_GUEST})
    return pool_id


@pytest.mark.postgres_e2e
def test_signed_in_user_gets_credentials_that_act_as_the_authenticated_role(identity, client, endpoint, unique_name):
    pool, app, sign_in = user_pool(client, unique_name)
    pool_id = identity_pool(identity, unique_name, pool, app)
    logins = {f"cognito-idp.us-east-1.amazonaws.com/{pool}": sign_in()}
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    assert identity.get_id(IdentityPoolId=pool_id, Logins={**logins})["IdentityId"] == identity_id  # stable
    out = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
    credentials = out["Credentials"]
    sts = make_client(endpoint, "sts", access_key=credentials["AccessKeyId"])
    caller = sts.get_caller_identity()
    assert caller["Arn"] == "arn:aws:sts::000000000000:assumed-role/cognito-authenticated/CognitoIdentityCredentials"
    token = identity.get_open_id_token(IdentityId=identity_id, Logins=logins)["Token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == identity_id and claims["aud"] == pool_id and claims["amr"][0] == "authenticated"


@pytest.mark.postgres_e2e
def test_guests_get_the_unauthenticated_role_only_when_the_pool_allows(identity, client, endpoint, unique_name):
    pool, app, _ = user_pool(client, unique_name)
    pool_id = identity_pool(identity, unique_name, pool, app)
    guest = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    credentials = identity.get_credentials_for_identity(IdentityId=guest)["Credentials"]
    caller = make_client(endpoint, "sts", access_key=credentials["AccessKeyId"]).get_caller_identity()
    assert caller["Arn"].endswith("assumed-role/cognito-guest/CognitoIdentityCredentials")
    closed = identity_pool(identity, unique_name, pool, app, guests=False)
    with pytest.raises(ClientError) as e:
        identity.get_id(IdentityPoolId=closed)
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_forged_or_foreign_login_tokens_are_refused(identity, client, unique_name):
    pool, app, sign_in = user_pool(client, unique_name)
    pool_id = identity_pool(identity, unique_name, pool, app)
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool}"
    token = sign_in()
    forged = jwt.encode({**jwt.decode(token, options={"verify_signature": False}), "sub": "someone-else"},
                        "k" * 32, algorithm="HS256")
    for bad in ({provider: forged}, {"accounts.google.com": token}):
        with pytest.raises(ClientError) as e:
            identity.get_id(IdentityPoolId=pool_id, Logins=bad)
        assert e.value.response["Error"]["Code"] == "NotAuthorizedException"
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins={provider: token})["IdentityId"]
    with pytest.raises(ClientError) as e:  # an authenticated identity needs its own login
        identity.get_credentials_for_identity(IdentityId=identity_id)
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_token_role_mapping_uses_the_preferred_role_of_the_groups(identity, client, endpoint, unique_name):
    pool, app, sign_in = user_pool(client, unique_name)
    idp = client("cognito-idp")
    idp.create_group(UserPoolId=pool, GroupName="editors", Precedence=1,
                     RoleArn="arn:aws:iam::000000000000:role/editors")
    idp.admin_add_user_to_group(UserPoolId=pool, Username="gina", GroupName="editors")
    pool_id = identity_pool(identity, unique_name, pool, app)
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool}"
    identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": ROLE_AUTH},
                                     RoleMappings={provider: {"Type": "Token", "AmbiguousRoleResolution":
                                                              "AuthenticatedRole"}})
    logins = {provider: sign_in()}
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    credentials = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    caller = make_client(endpoint, "sts", access_key=credentials["AccessKeyId"]).get_caller_identity()
    assert caller["Arn"].endswith("assumed-role/editors/CognitoIdentityCredentials")


@pytest.mark.postgres_e2e
def test_pool_lifecycle(identity, client, unique_name):
    pool, app, _ = user_pool(client, unique_name)
    pool_id = identity_pool(identity, unique_name, pool, app)
    assert identity.describe_identity_pool(IdentityPoolId=pool_id)["AllowUnauthenticatedIdentities"] is True
    assert identity.get_identity_pool_roles(IdentityPoolId=pool_id)["Roles"]["authenticated"] == ROLE_AUTH
    assert any(p["IdentityPoolId"] == pool_id for p in identity.list_identity_pools(MaxResults=60)["IdentityPools"])
    identity.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as e:
        identity.describe_identity_pool(IdentityPoolId=pool_id)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
