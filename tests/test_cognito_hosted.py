"""A user pool domain's hosted OAuth 2.0 endpoints, driven as a single-page app drives them:
authorization code with PKCE through the login page, tokens, userInfo, refresh, revocation,
client credentials with resource-server scopes, implicit grant, logout; and the refusals
(wrong redirect, wrong verifier, a reused code, a cross-site login post)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest

CALLBACK = "http://localhost:3000/callback"


@pytest.fixture(scope="module")
def hosted(client, endpoint):
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName="hosted")["UserPool"]["Id"]
    domain = f"hosted-{secrets.token_hex(4)}"
    idp.create_user_pool_domain(UserPoolId=pool, Domain=domain)
    idp.create_resource_server(UserPoolId=pool, Identifier="orders", Name="orders",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "read orders"}])
    spa = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="spa", AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code", "implicit"],
        AllowedOAuthScopes=["openid", "email", "profile"], CallbackURLs=[CALLBACK],
        LogoutURLs=["http://localhost:3000/bye"], SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]
    machine = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="machine", GenerateSecret=True, AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["orders/read"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool, Username="hana", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "hana@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool, Username="hana", Password="Passw0rd!", Permanent=True)
    return {"pool": pool, "base": f"{endpoint}/_aws/cognito-idp/{domain}", "spa": spa["ClientId"],
            "machine": machine, "domain": domain}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sign_in(hosted, response_type="code", challenge=None, password="Passw0rd!", state="xyz") -> httpx.Response:
    """The browser's part: /oauth2/authorize, the login page, the form post; the last redirect."""
    query = {"response_type": response_type, "client_id": hosted["spa"], "redirect_uri": CALLBACK,
             "scope": "openid email", "state": state}
    if challenge:
        query.update(code_challenge=challenge, code_challenge_method="S256")
    with httpx.Client() as browser:
        authorize = browser.get(f"{hosted['base']}/oauth2/authorize", params=query)
        assert authorize.status_code == 302
        login = browser.get(hosted["base"] + authorize.headers["location"].split(hosted["domain"], 1)[1])
        assert login.status_code == 200 and login.headers["x-frame-options"] == "DENY"
        form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', login.text))
        form.update(username="hana", password=password)
        return browser.post(str(login.url), data=form)


def test_authorization_code_with_pkce_then_user_info_refresh_and_revoke(hosted):
    verifier, challenge = pkce()
    redirect = sign_in(hosted, challenge=challenge)
    assert redirect.status_code == 302
    location = urlparse(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    params = parse_qs(location.query)
    assert params["state"] == ["xyz"]
    token_url = f"{hosted['base']}/oauth2/token"
    form = {"grant_type": "authorization_code", "client_id": hosted["spa"], "code": params["code"][0],
            "redirect_uri": CALLBACK, "code_verifier": verifier}
    tokens = httpx.post(token_url, data=form, headers={"origin": "http://localhost:3000"})
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "access-control-allow-credentials" not in tokens.headers  # no cookie crosses origins
    body = tokens.json()
    assert body["token_type"] == "Bearer" and {"access_token", "id_token", "refresh_token"} <= set(body)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "openid email" and claims["username"] == "hana"
    assert httpx.post(token_url, data=form).json() == {"error": "invalid_grant"}  # a code is used once
    info = httpx.get(f"{hosted['base']}/oauth2/userInfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert info.json()["email"] == "hana@example.com" and info.json()["username"] == "hana"
    refreshed = httpx.post(token_url, data={"grant_type": "refresh_token", "client_id": hosted["spa"],
                                            "refresh_token": body["refresh_token"]}).json()
    assert "access_token" in refreshed and "refresh_token" not in refreshed
    assert httpx.post(f"{hosted['base']}/oauth2/revoke", data={"token": body["refresh_token"],
                                                              "client_id": hosted["spa"]}).status_code == 200
    assert httpx.post(token_url, data={"grant_type": "refresh_token", "client_id": hosted["spa"],
                                       "refresh_token": body["refresh_token"]}).json() == {"error": "invalid_grant"}


def test_a_wrong_code_verifier_or_redirect_is_refused(hosted):
    verifier, challenge = pkce()
    code = parse_qs(urlparse(sign_in(hosted, challenge=challenge).headers["location"]).query)["code"][0]
    wrong = httpx.post(f"{hosted['base']}/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": hosted["spa"], "code": code, "redirect_uri": CALLBACK,
        "code_verifier": "not-the-verifier"})
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant"}
    foreign = httpx.get(f"{hosted['base']}/oauth2/authorize", params={
        "response_type": "code", "client_id": hosted["spa"], "redirect_uri": "https://evil.example/steal"})
    assert foreign.status_code == 400 and "redirect_mismatch" in foreign.text


def test_wrong_password_shows_the_form_again(hosted):
    response = sign_in(hosted, password="Wrong0ne!")
    assert response.status_code == 400 and "Incorrect username or password." in response.text


def test_a_login_post_without_the_form_token_is_refused(hosted):
    query = {"response_type": "code", "client_id": hosted["spa"], "redirect_uri": CALLBACK, "scope": "openid"}
    forged = httpx.post(f"{hosted['base']}/login?{urlencode(query)}",
                        data={**query, "username": "hana", "password": "Passw0rd!", "_csrf": "guess"},
                        headers={"origin": "https://evil.example"})
    assert forged.status_code == 403 and "location" not in forged.headers


def test_implicit_grant_returns_tokens_in_the_fragment(hosted):
    location = sign_in(hosted, response_type="token").headers["location"]
    fragment = parse_qs(urlparse(location).fragment)
    assert fragment["token_type"] == ["Bearer"] and fragment["state"] == ["xyz"]
    assert jwt.decode(fragment["id_token"][0], options={"verify_signature": False})["email"] == "hana@example.com"


def test_client_credentials_with_resource_server_scopes(hosted):
    machine = hosted["machine"]
    basic = base64.b64encode(f"{machine['ClientId']}:{machine['ClientSecret']}".encode()).decode()
    token = httpx.post(f"{hosted['base']}/oauth2/token", data={"grant_type": "client_credentials",
                                                                "scope": "orders/read"},
                       headers={"authorization": f"Basic {basic}"})
    assert token.status_code == 200, token.text
    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "orders/read" and claims["sub"] == machine["ClientId"]
    bad = base64.b64encode(f"{machine['ClientId']}:wrong".encode()).decode()
    assert httpx.post(f"{hosted['base']}/oauth2/token", data={"grant_type": "client_credentials"},
                      headers={"authorization": f"Basic {bad}"}).status_code == 401


def test_logout_with_a_redirect_uri_goes_on_to_the_sign_in_page(hosted):
    """AWS: /logout with client_id, redirect_uri and response_type signs out and shows the sign-in
    page again, as /oauth2/authorize would."""
    query = {"client_id": hosted["spa"], "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"}
    response = httpx.get(f"{hosted['base']}/logout", params=query)
    assert response.status_code == 302
    login = urlparse(response.headers["location"])
    assert login.path == urlparse(hosted["base"]).path + "/login"
    assert parse_qs(login.query)["redirect_uri"] == [CALLBACK]
    assert httpx.get(hosted["base"].split("/_aws/", 1)[0] + response.headers["location"]).status_code == 200
    bad = httpx.get(f"{hosted['base']}/logout", params={**query, "redirect_uri": "https://evil.example/cb"})
    assert bad.status_code == 400 and "location" not in bad.headers


def test_logout_redirects_only_to_a_sign_out_url(hosted):
    ok = httpx.get(f"{hosted['base']}/logout", params={"client_id": hosted["spa"],
                                                       "logout_uri": "http://localhost:3000/bye"})
    assert ok.status_code == 302 and ok.headers["location"] == "http://localhost:3000/bye"
    assert httpx.get(f"{hosted['base']}/logout", params={"client_id": hosted["spa"],
                                                         "logout_uri": "https://evil.example"}).status_code == 400


def test_the_domain_host_form_is_served(hosted, endpoint):
    port = urlparse(endpoint).port
    response = httpx.get(f"http://127.0.0.1:{port}/logout", params={"client_id": hosted["spa"],
                                                                    "logout_uri": "http://localhost:3000/bye"},
                         headers={"host": f"{hosted['domain']}.auth.us-east-1.amazoncognito.com"})
    assert response.status_code == 302
