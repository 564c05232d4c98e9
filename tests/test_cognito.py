"""Cognito user pools through boto3 and pycognito's SRP client: sign-up and confirmation codes,
sign-in flows that issue real RS256 tokens (verified with pyjwt against the served JWKS), refresh
and revocation, admin-created users, TOTP MFA, groups, Lambda triggers, and the errors AWS answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import jwt
import pyotp
import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python
from pycognito.aws_srp import AWSSRP

PASSWORD = "Passw0rd!"
FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
         "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_CUSTOM_AUTH"]


@pytest.fixture(scope="module")
def idp(client):
    return client("cognito-idp")


def code(excinfo) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def make_pool(idp, unique_name, **kwargs) -> tuple[str, str]:
    pool = idp.create_user_pool(PoolName=unique_name("pool"), **kwargs)["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web", ExplicitAuthFlows=FLOWS)["UserPoolClient"]
    return pool, client["ClientId"]


def sent_code(endpoint, pool_id, purpose="signup") -> str:
    codes = httpx.get(f"{endpoint}/_overcast/cognito-idp/codes", params={"userPoolId": pool_id}).json()["codes"]
    return [c for c in codes if c["purpose"] == purpose][-1]["code"]


def signed_up(idp, endpoint, pool, client_id, username="ada", password=PASSWORD, **attrs) -> None:
    attributes = [{"Name": k, "Value": v} for k, v in {"email": f"{username}@example.com", **attrs}.items()]
    idp.sign_up(ClientId=client_id, Username=username, Password=password, UserAttributes=attributes)
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=sent_code(endpoint, pool))


def password_auth(idp, client_id, username="ada", password=PASSWORD) -> dict:
    return idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": username, "PASSWORD": password})


def verify(endpoint, pool_id, token) -> dict:
    keys = jwt.PyJWKSet.from_dict(httpx.get(f"{endpoint}/{pool_id}/.well-known/jwks.json").json())
    header = jwt.get_unverified_header(token)
    key = next((k for k in keys.keys if k.key_id == header["kid"]), None)
    if key is None:
        raise jwt.InvalidTokenError("not signed by this pool's key")
    return jwt.decode(token, key.key, algorithms=["RS256"], options={"verify_aud": False},
                      issuer=f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}")


@pytest.mark.postgres_e2e
def test_pool_and_client_lifecycle(idp, unique_name):
    pool, client_id = make_pool(idp, unique_name, Policies={"PasswordPolicy": {"MinimumLength": 10}})
    described = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert described["Arn"].endswith(f":userpool/{pool}") and pool.startswith("us-east-1_")
    assert any(p["Id"] == pool for p in idp.list_user_pools(MaxResults=60)["UserPools"])
    assert idp.describe_user_pool_client(UserPoolId=pool, ClientId=client_id)["UserPoolClient"]["ClientName"] == "web"
    idp.delete_user_pool_client(UserPoolId=pool, ClientId=client_id)
    with pytest.raises(ClientError) as e:
        idp.describe_user_pool_client(UserPoolId=pool, ClientId=client_id)
    assert code(e)[0] == "ResourceNotFoundException"
    idp.delete_user_pool(UserPoolId=pool)
    with pytest.raises(ClientError) as e:
        idp.describe_user_pool(UserPoolId=pool)
    assert code(e) == ("ResourceNotFoundException", f"User pool {pool} does not exist.")


@pytest.mark.postgres_e2e
def test_sign_up_confirm_and_sign_in_issue_verifiable_tokens(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name, AutoVerifiedAttributes=["email"])
    out = idp.sign_up(ClientId=client_id, Username="ada", Password=PASSWORD,
                      UserAttributes=[{"Name": "email", "Value": "ada@example.com"}])
    assert out["UserConfirmed"] is False
    assert out["CodeDeliveryDetails"] == {"Destination": "a***@example.com", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}
    with pytest.raises(ClientError) as e:
        password_auth(idp, client_id)
    assert code(e) == ("UserNotConfirmedException", "User is not confirmed.")
    with pytest.raises(ClientError) as e:
        idp.confirm_sign_up(ClientId=client_id, Username="ada", ConfirmationCode="000000")
    assert code(e)[0] == "CodeMismatchException"
    idp.confirm_sign_up(ClientId=client_id, Username="ada", ConfirmationCode=sent_code(endpoint, pool))
    result = password_auth(idp, client_id)["AuthenticationResult"]
    claims = verify(endpoint, pool, result["IdToken"])
    assert claims["token_use"] == "id" and claims["aud"] == client_id and claims["email"] == "ada@example.com"
    assert claims["email_verified"] is True and claims["cognito:username"] == "ada"
    access = verify(endpoint, pool, result["AccessToken"])
    assert access["token_use"] == "access" and access["client_id"] == client_id
    # the JOSE header Cognito writes: the key's id and the algorithm, nothing else
    assert jwt.get_unverified_header(result["IdToken"]) == {"kid": f"{pool}-1", "alg": "RS256"}
    assert access["scope"] == "aws.cognito.signin.user.admin" and access["exp"] - access["iat"] == 3600
    assert result["ExpiresIn"] == 3600 and result["TokenType"] == "Bearer"
    attributes = {a["Name"]: a["Value"] for a in idp.get_user(AccessToken=result["AccessToken"])["UserAttributes"]}
    assert attributes["email"] == "ada@example.com" and attributes["sub"] == claims["sub"]


def test_openid_configuration_names_the_jwks(idp, endpoint, unique_name):
    pool, _ = make_pool(idp, unique_name)
    config = httpx.get(f"{endpoint}/{pool}/.well-known/openid-configuration").json()
    assert config["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert config["jwks_uri"] == f"{config['issuer']}/.well-known/jwks.json"
    assert httpx.get(f"{endpoint}/us-east-1_nope/.well-known/jwks.json").status_code == 404


def test_srp_sign_in_with_an_independent_srp_client(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    result = AWSSRP(username="ada", password=PASSWORD, pool_id=pool, client_id=client_id,
                    client=idp).authenticate_user()["AuthenticationResult"]
    assert verify(endpoint, pool, result["IdToken"])["cognito:username"] == "ada"
    with pytest.raises(ClientError) as e:
        AWSSRP(username="ada", password="Wrong0ne!", pool_id=pool, client_id=client_id,
               client=idp).authenticate_user()
    assert code(e) == ("NotAuthorizedException", "Incorrect username or password.")


@pytest.mark.parametrize("first_with_session", [True, False])
def test_a_password_verifier_answer_signs_in_once(idp, endpoint, unique_name, first_with_session):
    """AWS takes the PASSWORD_VERIFIER answer with or without the Session; either way, the same
    answer sent again (a replay) is refused."""
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    srp_client = AWSSRP(username="ada", password=PASSWORD, pool_id=pool, client_id=client_id, client=idp)
    auth = srp_client.get_auth_params()
    challenge = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=auth)
    answers = srp_client.process_challenge(challenge["ChallengeParameters"], auth)
    with_session = {"Session": challenge["Session"]}
    first, again = (with_session, {}) if first_with_session else ({}, with_session)
    result = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER",
                                           ChallengeResponses=answers, **first)
    assert "AccessToken" in result["AuthenticationResult"]
    for replay in (again, first):
        with pytest.raises(ClientError) as e:
            idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="PASSWORD_VERIFIER",
                                          ChallengeResponses=answers, **replay)
        assert code(e) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")


def test_invalid_srp_a_is_refused(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH",
                          AuthParameters={"USERNAME": "ada", "SRP_A": "0"})
    assert code(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_refresh_and_revocation(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    first = password_auth(idp, client_id)["AuthenticationResult"]
    refreshed = idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                  AuthParameters={"REFRESH_TOKEN": first["RefreshToken"]})["AuthenticationResult"]
    assert "RefreshToken" not in refreshed and verify(endpoint, pool, refreshed["AccessToken"])["username"] == "ada"
    idp.revoke_token(ClientId=client_id, Token=first["RefreshToken"])
    for access in (first["AccessToken"], refreshed["AccessToken"]):  # and the access tokens it gave
        with pytest.raises(ClientError) as e:
            idp.get_user(AccessToken=access)
        assert code(e) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": first["RefreshToken"]})
    assert code(e) == ("NotAuthorizedException", "Invalid Refresh Token")


def test_global_sign_out_revokes_access_and_refresh_tokens(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    result = password_auth(idp, client_id)["AuthenticationResult"]
    idp.global_sign_out(AccessToken=result["AccessToken"])
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=result["AccessToken"])
    assert code(e) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]})
    assert code(e)[0] == "NotAuthorizedException"
    fresh = password_auth(idp, client_id)["AuthenticationResult"]
    assert idp.get_user(AccessToken=fresh["AccessToken"])["Username"] == "ada"


def test_tampered_and_unsigned_tokens_are_refused(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    token = password_auth(idp, client_id)["AuthenticationResult"]["AccessToken"]
    claims = jwt.decode(token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps({**claims, "username": "mallory"}).encode()).rstrip(b"=")
    for bad in (unsigned, f"{header}.{forged_payload.decode()}.{signature}", "not-a-token"):
        with pytest.raises(ClientError) as e:
            idp.get_user(AccessToken=bad)
        assert code(e)[0] == "NotAuthorizedException"
    other_pool, other_client = make_pool(idp, unique_name)
    signed_up(idp, endpoint, other_pool, other_client)
    other_token = password_auth(idp, other_client)["AuthenticationResult"]["IdToken"]
    with pytest.raises(jwt.InvalidTokenError):
        verify(endpoint, pool, other_token)


@pytest.mark.postgres_e2e
def test_password_policy_and_wrong_passwords_with_lockout(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client_id, Username="weak", Password="short")
    assert code(e) == ("InvalidPasswordException", "Password did not conform with policy: Password not long enough")
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client_id, Username="weak", Password="alllowercase1!")
    assert code(e)[1] == "Password did not conform with policy: Password must have uppercase characters"
    signed_up(idp, endpoint, pool, client_id)
    messages = []
    for _ in range(6):
        with pytest.raises(ClientError) as e:
            password_auth(idp, client_id, password="Wrong0ne!")
        messages.append(code(e)[1])
    assert messages[0] == "Incorrect username or password."
    assert messages[-1] == "Password attempts exceeded"
    with pytest.raises(ClientError) as e:  # locked out for a while, even with the right password
        password_auth(idp, client_id)
    assert code(e) == ("NotAuthorizedException", "Password attempts exceeded")


def test_user_existence_errors_follow_the_client_setting(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client_id, username="nobody")
    assert code(e) == ("NotAuthorizedException", "Incorrect username or password.")
    legacy = idp.create_user_pool_client(UserPoolId=pool, ClientName="legacy", ExplicitAuthFlows=FLOWS,
                                         PreventUserExistenceErrors="LEGACY")["UserPoolClient"]["ClientId"]
    with pytest.raises(ClientError) as e:
        password_auth(idp, legacy, username="nobody")
    assert code(e) == ("UserNotFoundException", "User does not exist.")


@pytest.mark.postgres_e2e
def test_admin_created_user_must_set_a_new_password(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    user = idp.admin_create_user(UserPoolId=pool, Username="bob", TemporaryPassword="Temp0rary!",
                                 UserAttributes=[{"Name": "email", "Value": "bob@example.com"}],
                                 MessageAction="SUPPRESS")["User"]
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    challenge = idp.admin_initiate_auth(UserPoolId=pool, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                        AuthParameters={"USERNAME": "bob", "PASSWORD": "Temp0rary!"})
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    result = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED",
                                           Session=challenge["Session"],
                                           ChallengeResponses={"USERNAME": "bob", "NEW_PASSWORD": "N3w-Password!"})
    assert "IdToken" in result["AuthenticationResult"]
    assert idp.admin_get_user(UserPoolId=pool, Username="bob")["UserStatus"] == "CONFIRMED"
    with pytest.raises(ClientError) as e:  # a session answers once
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=challenge["Session"],
                                      ChallengeResponses={"USERNAME": "bob", "NEW_PASSWORD": "N3w-Password!"})
    assert code(e)[0] == "NotAuthorizedException"


def test_secret_hash_is_required_and_checked(idp, endpoint, unique_name):
    pool = idp.create_user_pool(PoolName=unique_name("secret"))["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="server", GenerateSecret=True,
                                         ExplicitAuthFlows=FLOWS)["UserPoolClient"]
    assert client["ClientSecret"]

    def secret_hash(username):
        return base64.b64encode(hmac.new(client["ClientSecret"].encode(), (username + client["ClientId"]).encode(),
                                         hashlib.sha256).digest()).decode()

    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client["ClientId"], Username="carol", Password=PASSWORD)
    assert code(e)[0] == "NotAuthorizedException" and "SECRET_HASH was not received" in code(e)[1]
    idp.sign_up(ClientId=client["ClientId"], Username="carol", Password=PASSWORD, SecretHash=secret_hash("carol"))
    idp.admin_confirm_sign_up(UserPoolId=pool, Username="carol")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
            "USERNAME": "carol", "PASSWORD": PASSWORD, "SECRET_HASH": secret_hash("mallory")})
    assert code(e)[1] == f"Unable to verify secret hash for client {client['ClientId']}"
    result = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "carol", "PASSWORD": PASSWORD, "SECRET_HASH": secret_hash("carol")})
    assert "AccessToken" in result["AuthenticationResult"]


def test_totp_mfa_is_enforced_once_set_up(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    idp.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    signed_up(idp, endpoint, pool, client_id)
    access = password_auth(idp, client_id)["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
    totp = pyotp.TOTP(secret)
    with pytest.raises(ClientError) as e:
        idp.verify_software_token(AccessToken=access, UserCode="000000" if totp.now() != "000000" else "111111")
    assert code(e)[0] == "EnableSoftwareTokenMFAException"
    assert idp.verify_software_token(AccessToken=access, UserCode=totp.now())["Status"] == "SUCCESS"
    idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    challenge = password_auth(idp, client_id)
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="SOFTWARE_TOKEN_MFA",
                                      Session=challenge["Session"],
                                      ChallengeResponses={"USERNAME": "ada", "SOFTWARE_TOKEN_MFA_CODE": "123"})
    assert code(e)[0] == "CodeMismatchException"
    challenge = password_auth(idp, client_id)
    result = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="SOFTWARE_TOKEN_MFA",
                                           Session=challenge["Session"],
                                           ChallengeResponses={"USERNAME": "ada", "SOFTWARE_TOKEN_MFA_CODE": totp.now()})
    assert "IdToken" in result["AuthenticationResult"]


@pytest.mark.postgres_e2e
def test_groups_appear_in_tokens_by_precedence(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    idp.create_group(UserPoolId=pool, GroupName="staff", Precedence=5)
    idp.create_group(UserPoolId=pool, GroupName="admins", Precedence=1,
                     RoleArn="arn:aws:iam::000000000000:role/admins")
    for group in ("staff", "admins"):
        idp.admin_add_user_to_group(UserPoolId=pool, Username="ada", GroupName=group)
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool, Username="ada")["Groups"]] == \
        ["admins", "staff"]
    result = password_auth(idp, client_id)["AuthenticationResult"]
    claims = verify(endpoint, pool, result["IdToken"])
    assert claims["cognito:groups"] == ["admins", "staff"]
    assert claims["cognito:roles"] == ["arn:aws:iam::000000000000:role/admins"]
    assert verify(endpoint, pool, result["AccessToken"])["cognito:groups"] == ["admins", "staff"]
    assert [u["Username"] for u in idp.list_users_in_group(UserPoolId=pool, GroupName="staff")["Users"]] == ["ada"]


def test_forgot_password_with_the_sent_code(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    signed_up(idp, endpoint, pool, client_id)
    delivery = idp.forgot_password(ClientId=client_id, Username="ada")["CodeDeliveryDetails"]
    assert delivery["DeliveryMedium"] == "EMAIL"
    with pytest.raises(ClientError) as e:
        idp.confirm_forgot_password(ClientId=client_id, Username="ada", ConfirmationCode="999999",
                                    Password="An0ther-Pass")
    assert code(e)[0] == "CodeMismatchException"
    idp.confirm_forgot_password(ClientId=client_id, Username="ada", ConfirmationCode=sent_code(endpoint, pool, "forgot"),
                                Password="An0ther-Pass")
    assert "AccessToken" in password_auth(idp, client_id, password="An0ther-Pass")["AuthenticationResult"]
    with pytest.raises(ClientError) as e:  # a code is used once
        idp.confirm_forgot_password(ClientId=client_id, Username="ada", ConfirmationCode="123456", Password="X")
    assert code(e)[0] == "ExpiredCodeException"


def test_email_sign_in_pool_uses_the_sub_as_username(idp, endpoint, unique_name):
    pool = idp.create_user_pool(PoolName=unique_name("email"), UsernameAttributes=["email"],
                                AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool, ClientName="web",
                                            ExplicitAuthFlows=FLOWS)["UserPoolClient"]["ClientId"]
    sub = idp.sign_up(ClientId=client_id, Username="Ada@Example.com", Password=PASSWORD)["UserSub"]
    idp.confirm_sign_up(ClientId=client_id, Username="Ada@Example.com", ConfirmationCode=sent_code(endpoint, pool))
    claims = verify(endpoint, pool, password_auth(idp, client_id, "ada@example.com")["AuthenticationResult"]["IdToken"])
    assert claims["cognito:username"] == sub and claims["email"] == "Ada@Example.com"
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client_id, Username="not-an-email", Password=PASSWORD)
    assert code(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client_id, Username="ada@example.com", Password=PASSWORD)
    assert code(e)[0] == "UsernameExistsException"


@pytest.mark.postgres_e2e
def test_list_users_with_a_filter(idp, endpoint, unique_name):
    pool, client_id = make_pool(idp, unique_name)
    for name in ("ann", "andy", "bea"):
        idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}])
    found = idp.list_users(UserPoolId=pool, Filter='username ^= "an"')["Users"]
    assert sorted(u["Username"] for u in found) == ["andy", "ann"]
    found = idp.list_users(UserPoolId=pool, Filter='email = "bea@example.com"')["Users"]
    assert [u["Username"] for u in found] == ["bea"]


PRE_SIGN_UP = """
def handler(event, context):
    if event["request"]["userAttributes"].get("email", "").endswith("@blocked.example"):
        raise Exception("blocked domain")
    event["response"]["autoConfirmUser"] = True
    event["response"]["autoVerifyEmail"] = True
    return event
"""

PRE_TOKEN_V2 = """
def handler(event, context):
    event["response"] = {"claimsAndScopeOverrideDetails": {
        "idTokenGeneration": {"claimsToAddOrOverride": {"tenant": "acme"}},
        "accessTokenGeneration": {"claimsToAddOrOverride": {"tier": "gold"}, "scopesToAdd": ["orders/read"]}}}
    return event
"""


@pytest.mark.postgres_e2e
def test_lambda_triggers_pre_sign_up_and_pre_token_generation_v2(idp, client, endpoint, unique_name):
    lam = client("lambda")
    pre_sign_up = create_python(lam, unique_name("presignup"), PRE_SIGN_UP)["FunctionArn"]
    pre_token = create_python(lam, unique_name("pretoken"), PRE_TOKEN_V2)["FunctionArn"]
    pool, client_id = make_pool(idp, unique_name, LambdaConfig={
        "PreSignUp": pre_sign_up,
        "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": pre_token}})
    out = idp.sign_up(ClientId=client_id, Username="dan", Password=PASSWORD,
                      UserAttributes=[{"Name": "email", "Value": "dan@example.com"}])
    assert out["UserConfirmed"] is True
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client_id, Username="eve", Password=PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "eve@blocked.example"}])
    assert code(e) == ("UserLambdaValidationException", "PreSignUp failed with error blocked domain.")
    result = password_auth(idp, client_id, "dan")["AuthenticationResult"]
    assert verify(endpoint, pool, result["IdToken"])["tenant"] == "acme"
    access = verify(endpoint, pool, result["AccessToken"])
    assert access["tier"] == "gold" and access["scope"].split() == ["aws.cognito.signin.user.admin", "orders/read"]


def test_unknown_client_and_bad_parameters(idp):
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId="doesnotexist", AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": "x", "PASSWORD": "y"})
    assert code(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        idp.describe_user_pool(UserPoolId="not a pool id")
    assert code(e)[0] == "InvalidParameterException"


DEFINE = """
def handler(event, context):
    session = event["request"]["session"]
    if session and session[-1]["challengeResult"]:
        event["response"].update(issueTokens=True, failAuthentication=False)
    elif len(session) >= 2:
        event["response"].update(issueTokens=False, failAuthentication=True)
    else:
        event["response"].update(issueTokens=False, failAuthentication=False, challengeName="CUSTOM_CHALLENGE")
    return event
"""

CREATE = """
def handler(event, context):
    event["response"]["publicChallengeParameters"] = {"question": "2 + 2?"}
    event["response"]["privateChallengeParameters"] = {"answer": "4"}
    event["response"]["challengeMetadata"] = "ARITHMETIC"
    return event
"""

VERIFY = """
def handler(event, context):
    expected = event["request"]["privateChallengeParameters"]["answer"]
    event["response"]["answerCorrect"] = event["request"]["challengeAnswer"] == expected
    return event
"""


def test_custom_auth_runs_the_define_create_verify_triggers(idp, client, endpoint, unique_name):
    lam = client("lambda")
    triggers = {name: create_python(lam, unique_name(name.lower()), code)["FunctionArn"]
                for name, code in (("DefineAuthChallenge", DEFINE), ("CreateAuthChallenge", CREATE),
                                   ("VerifyAuthChallengeResponse", VERIFY))}
    pool, client_id = make_pool(idp, unique_name, LambdaConfig=triggers)
    signed_up(idp, endpoint, pool, client_id)
    challenge = idp.initiate_auth(ClientId=client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "ada"})
    assert challenge["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert challenge["ChallengeParameters"]["question"] == "2 + 2?"
    wrong = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="CUSTOM_CHALLENGE",
                                          Session=challenge["Session"],
                                          ChallengeResponses={"USERNAME": "ada", "ANSWER": "5"})
    assert wrong["ChallengeName"] == "CUSTOM_CHALLENGE"  # a second try
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="CUSTOM_CHALLENGE", Session=wrong["Session"],
                                      ChallengeResponses={"USERNAME": "ada", "ANSWER": "6"})
    assert code(e)[0] == "NotAuthorizedException"
    challenge = idp.initiate_auth(ClientId=client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "ada"})
    result = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="CUSTOM_CHALLENGE",
                                           Session=challenge["Session"],
                                           ChallengeResponses={"USERNAME": "ada", "ANSWER": "4"})
    assert verify(endpoint, pool, result["AuthenticationResult"]["IdToken"])["cognito:username"] == "ada"
