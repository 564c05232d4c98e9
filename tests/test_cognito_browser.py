"""Cognito from a real browser: headless Chromium (Playwright) running pages that use real
JavaScript clients, bundled with esbuild from npm (tests/browser_support.py):

- a single-page app on its own origin (http://localhost:<port>, as a dev server serves it) signs
  in through the hosted UI with oidc-client-ts: /oauth2/authorize with PKCE, the login page typed
  into, the code exchanged at /oauth2/token, /oauth2/userInfo, and /logout back to the app;
- the hosted endpoints' safety next to a browser: no redirect outside the client's callback URLs,
  no login form post from another site, no framing of the login page, nothing of the codes
  endpoint readable from another origin;
- a web app on S3 website hosting uses Amplify v6 (aws-amplify/auth and aws-amplify/api): signUp,
  confirmSignUp with the code from overcast's codes endpoint, signIn with SRP, then the REST API
  of examples/rest-api (Cognito authorizer, ID token) and the GraphQL API of
  examples/graphql-products (AMAZON_COGNITO_USER_POOLS, access token, the editors group), and
  signOut, which revokes the sign-in's tokens.

Skipped without Chromium, Playwright or the npm packages (`.ci/run` installs them all)."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
from contextlib import closing

import httpx
import jwt
import pytest
from browser_support import bundle, launch, missing_npm, served
from cognito_support import latest_code

OIDC = "import { UserManager } from 'oidc-client-ts';\nwindow.UserManager = UserManager;\n"

# The SPA: its sign-in button starts the code flow; /callback completes it; /bye is its sign-out page.
SPA = """<!doctype html><html><head><meta charset="utf-8"><title>spa</title><script src="/oidc.js"></script>
</head><body><pre id="out">pending</pre><button id="login">Sign in</button><button id="logout">Sign out</button>
<script>
const config = %(config)s;
const manager = new UserManager({
  authority: config.issuer, client_id: config.clientId, redirect_uri: location.origin + "/callback",
  response_type: "code", scope: "openid email profile", loadUserInfo: true,
  metadata: {issuer: config.issuer, jwks_uri: config.issuer + "/.well-known/jwks.json",
             authorization_endpoint: config.base + "/oauth2/authorize", token_endpoint: config.base + "/oauth2/token",
             userinfo_endpoint: config.base + "/oauth2/userInfo", end_session_endpoint: config.base + "/logout"}});
const out = (value) => { document.getElementById("out").textContent = typeof value === "string" ? value : JSON.stringify(value); };
document.getElementById("login").onclick = () => manager.signinRedirect({state: {from: "home"}});
document.getElementById("logout").onclick = async () => {
  await manager.removeUser();
  location.href = config.base + "/logout?" + new URLSearchParams({client_id: config.clientId,
                                                                  logout_uri: location.origin + "/bye"});
};
if (location.pathname === "/callback") {
  manager.signinRedirectCallback().then(async (user) => {
    const info = await fetch(config.base + "/oauth2/userInfo", {headers: {Authorization: "Bearer " + user.access_token}});
    out({email: user.profile.email, username: user.profile["cognito:username"], state: user.state,
         scope: user.scope, refresh: Boolean(user.refresh_token), userInfoStatus: info.status,
         userInfo: await info.json(), idToken: user.id_token, accessToken: user.access_token,
         search: location.search});
  }, (e) => out("FAILED " + e));
} else if (location.pathname === "/bye") {
  manager.getUser().then((user) => out(user ? "STILL SIGNED IN" : "SIGNED OUT"));
} else {
  out("HOME");
}
</script></body></html>"""


def _pages(config: dict) -> dict:
    page = ("text/html; charset=utf-8", SPA % {"config": json.dumps(config)})
    return {"/index.html": page, "/oidc.js": ("text/javascript", bundle(OIDC))}


@pytest.fixture(scope="module")
def pool(client, endpoint):
    """A pool with a domain, a public SPA client whose callback and sign-out URLs are filled in
    once the SPA's port is known, and a confirmed user."""
    idp = client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="browser")["UserPool"]["Id"]
    domain = f"browser-{secrets.token_hex(4)}"
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=domain)
    idp.admin_create_user(UserPoolId=pool_id, Username="hana", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "hana@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username="hana", Password="Passw0rd!", Permanent=True)
    return {"idp": idp, "id": pool_id, "domain": domain, "base": f"{endpoint}/_aws/cognito-idp/{domain}",
            "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"}


def _spa_client(pool, origin: str) -> str:
    return pool["idp"].create_user_pool_client(
        UserPoolId=pool["id"], ClientName="spa", AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email", "profile"], CallbackURLs=[f"{origin}/callback"],
        LogoutURLs=[f"{origin}/bye"], SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]


@pytest.fixture(scope="module")
def oidc_bundle():
    reason = missing_npm("oidc-client-ts")
    if reason:
        pytest.skip(reason)
    return bundle(OIDC)


def _out(page) -> str:
    page.wait_for_function("document.getElementById('out').textContent !== 'pending'", timeout=30000)
    return page.text_content("#out")


def test_spa_signs_in_with_code_and_pkce_through_the_hosted_login_page(browser, pool, oidc_bundle, endpoint):
    files: dict = {}  # filled once the SPA's port, and so its callback URL, is known
    with served(files) as port:
        origin = f"http://localhost:{port}"
        client_id = _spa_client(pool, origin)
        files.update(_pages({"issuer": pool["issuer"], "clientId": client_id, "base": pool["base"]}))
        page = browser.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{origin}/")
        assert _out(page) == "HOME"
        page.click("#login")
        # overcast's login page, reached through /oauth2/authorize with a PKCE challenge
        page.wait_for_url(f"{pool['base']}/login?*")
        authorize = next(u for u in requests if "/oauth2/authorize?" in u)
        assert "code_challenge_method=S256" in authorize and "code_challenge=" in authorize
        assert page.title() == "Sign in to browser"
        page.fill("input[name=username]", "hana")
        page.fill("input[name=password]", "Passw0rd!")
        page.click("button[type=submit]")
        page.wait_for_url(f"{origin}/callback?*")
        result = json.loads(_out(page))
        assert result["email"] == "hana@example.com" and result["username"] == "hana"
        assert result["state"] == {"from": "home"} and result["refresh"] is True
        assert set(result["scope"].split()) == {"openid", "email", "profile"}
        assert result["userInfoStatus"] == 200
        assert result["userInfo"]["email"] == "hana@example.com" and result["userInfo"]["username"] == "hana"
        # the tokens verify against the pool's JWKS, as any backend would check them
        keys = jwt.PyJWKClient(f"{endpoint}/{pool['id']}/.well-known/jwks.json")
        claims = jwt.decode(result["idToken"], keys.get_signing_key_from_jwt(result["idToken"]).key,
                            algorithms=["RS256"], audience=client_id, issuer=pool["issuer"])
        assert claims["token_use"] == "id" and claims["cognito:username"] == "hana"
        # sign-out: /logout sends the browser back to the app's sign-out URL
        page.click("#logout")
        page.wait_for_url(f"{origin}/bye")
        assert _out(page) == "SIGNED OUT"
        page.close()


def test_wrong_password_on_the_login_page_shows_the_error_and_redirects_nowhere(browser, pool, endpoint):
    origin = "http://localhost:3999"
    client_id = _spa_client(pool, origin)
    page = browser.new_page()
    page.goto(f"{pool['base']}/oauth2/authorize?" + str(httpx.QueryParams(
        response_type="code", client_id=client_id, redirect_uri=f"{origin}/callback", scope="openid")))
    page.fill("input[name=username]", "hana")
    page.fill("input[name=password]", "wrong-Passw0rd!")
    page.click("button[type=submit]")
    assert page.text_content(".error") == "Incorrect username or password."
    assert page.url.startswith(f"{pool['base']}/login?")
    page.close()


def test_authorize_never_redirects_outside_the_client_callback_urls(browser, pool):
    client_id = _spa_client(pool, "http://localhost:3998")
    page = browser.new_page()
    for redirect in ("http://evil.example/callback", "http://localhost:3998/callback/../steal",
                     "http://localhost:3998/callback?x=1", "//evil.example/callback"):
        response = page.goto(f"{pool['base']}/oauth2/authorize?" + str(httpx.QueryParams(
            response_type="code", client_id=client_id, redirect_uri=redirect, scope="openid")))
        assert response.status == 400 and page.url.startswith(pool["base"]), redirect
        assert "redirect_mismatch" in page.text_content("body")
    # and the sign-out endpoint sends nobody to a URL that is not one of the client's sign-out URLs
    response = page.goto(f"{pool['base']}/logout?" + str(httpx.QueryParams(
        client_id=client_id, logout_uri="http://evil.example/bye")))
    assert response.status == 400 and page.url.startswith(pool["base"])
    page.close()


# -- a page on another site against the hosted endpoints ------------------------------------------------------

REBIND = "--host-resolver-rules=MAP *.localstack.cloud 127.0.0.1"

ATTACK = """<!doctype html><html><head><meta charset="utf-8"><title>attack</title></head><body>
<pre id="out">pending</pre><iframe id="frame" src="%(login)s"></iframe>
<form id="post" method="post" action="%(login)s">%(fields)s</form>
<script>
// cookie tossing: a page on a sibling host sets the login form's cookie for the parent domain
document.cookie = "XSRF-TOKEN=tossed-token; Domain=localhost.localstack.cloud; Path=/";
fetch("%(codes)s").then((r) => r.text()).then((t) => "READ " + t, (e) => "FAILED " + e).then((read) => {
  document.getElementById("out").textContent = read;
  if (location.hash === "#post") document.getElementById("post").submit();
});
</script></body></html>"""


def test_page_on_a_sibling_host_cannot_post_the_login_form_frame_it_or_read_codes(playwright, pool, endpoint):
    port = endpoint.rsplit(":", 1)[1]
    callback = "http://localhost:3997/callback"
    idp = pool["idp"]
    client_id = _spa_client(pool, "http://localhost:3997")
    idp.admin_create_user(UserPoolId=pool["id"], Username="mallory", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool["id"], Username="mallory", Password="Passw0rd!", Permanent=True)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": callback, "scope": "openid"}
    login = f"http://{pool['domain']}.auth.localhost.localstack.cloud:{port}/login?{httpx.QueryParams(query)}"
    fields = {**query, "_csrf": "tossed-token", "username": "mallory", "password": "Passw0rd!"}
    html = ATTACK % {"login": login, "codes": f"{endpoint}/_overcast/cognito-idp/codes",
                     "fields": "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())}
    with served({"/index.html": ("text/html", html)}) as attacker_port, closing(launch(playwright, REBIND)) as chromium:
        attacker = f"http://attacker.localhost.localstack.cloud:{attacker_port}/"
        page = chromium.new_page()
        page.goto(attacker)
        assert _out(page).startswith("FAILED TypeError")  # the codes endpoint is not readable cross-origin
        frame = page.frame_locator("#frame")
        assert frame.locator("input[name=password]").count() == 0  # the login page refuses to be framed
        posting = chromium.new_page()
        posting.goto(attacker + "#post")  # the same page, which now also submits the form
        posting.wait_for_url(lambda url: ".auth." in url)
        # the tossed cookie matched the posted token: only the origin check stopped the post
        assert posting.url.startswith(f"http://{pool['domain']}.auth.localhost.localstack.cloud:{port}/login")
        assert "sent by a page on another site" in posting.text_content("body")
        # the same login page, used by a person, works in the host form too
        page.goto(login)
        page.fill("input[name=username]", "hana")
        page.fill("input[name=password]", "Passw0rd!")
        with page.expect_request(lambda r: r.url.startswith(callback)) as reached:
            page.click("button[type=submit]")
        assert "code=" in reached.value.url


# -- Amplify in the browser, against the examples' APIs ---------------------------------------------------------

AMPLIFY = """import { Amplify } from 'aws-amplify';
import * as auth from 'aws-amplify/auth';
import { generateClient } from 'aws-amplify/api';
window.Amplify = Amplify; window.auth = auth; window.generateClient = generateClient;
"""

# A web app as a static site: Amplify signs the user up, in (SRP), and calls the REST API with the
# ID token and the GraphQL API in Amplify's userPool mode (the access token).
WEB_APP = """<!doctype html><html><head><meta charset="utf-8"><title>items</title><script src="amplify.js"></script>
</head><body><script>
const config = %(config)s;
Amplify.configure({
  Auth: {Cognito: {userPoolId: config.userPoolId, userPoolClientId: config.userPoolClientId,
                   userPoolEndpoint: config.endpoint, loginWith: {email: true}, signUpVerificationMethod: "code"}},
  API: {GraphQL: {endpoint: config.graphqlUrl, region: "us-east-1", defaultAuthMode: "userPool"}}});
const jsonOf = async (response) => ({status: response.status, body: await response.json()});
window.app = {
  signUp: async (email, password) => (await auth.signUp({username: email, password,
                                                         options: {userAttributes: {email}}})).nextStep.signUpStep,
  confirm: async (email, code) => (await auth.confirmSignUp({username: email, confirmationCode: code})).isSignUpComplete,
  signIn: async (email, password) => {
    const result = await auth.signIn({username: email, password});
    const session = await auth.fetchAuthSession();
    return {signedIn: result.isSignedIn, email: session.tokens.idToken.payload.email,
            groups: session.tokens.accessToken.payload["cognito:groups"] || [],
            username: (await auth.getCurrentUser()).username};
  },
  addItem: async (name, price) => {
    const session = await auth.fetchAuthSession();
    return jsonOf(await fetch(config.itemsUrl + "/items", {method: "POST", body: JSON.stringify({name, price}),
      headers: {"Content-Type": "application/json", "x-api-key": config.apiKey,
                Authorization: session.tokens.idToken.toString()}}));
  },
  addItemSignedOut: async (name, price) => jsonOf(await fetch(config.itemsUrl + "/items", {method: "POST",
      body: JSON.stringify({name, price}), headers: {"Content-Type": "application/json", "x-api-key": config.apiKey}})),
  graphql: async (query, variables) => {
    try {
      return await generateClient().graphql({query, variables});
    } catch (failed) {
      return {data: failed.data || null, errors: (failed.errors || [String(failed)]).map((e) => e.errorType || e.message || e)};
    }
  },
  accessToken: async () => (await auth.fetchAuthSession()).tokens.accessToken.toString(),
  signOut: async () => { await auth.signOut(); return (await auth.fetchAuthSession()).tokens === undefined; },
  rawGraphql: async (token, query) => jsonOf(await fetch(config.graphqlUrl, {method: "POST",
      body: JSON.stringify({query}), headers: {"Content-Type": "application/json", Authorization: token}})),
};
</script></body></html>"""


def _example(name: str):
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", name, "deploy.py")
    spec = importlib.util.spec_from_file_location(f"example_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_amplify_web_app_signs_up_and_in_with_srp_and_calls_the_rest_and_graphql_apis(browser, client, endpoint,
                                                                                      unique_name):
    reason = missing_npm("aws-amplify")
    if reason:
        pytest.skip(reason)
    items = _example("rest-api").deploy(endpoint)
    pool, app = items["userPoolId"], items["userPoolClientId"]
    products = _example("graphql-products").deploy(endpoint, user_pool=(pool, app))  # one pool, both APIs
    config = {"endpoint": endpoint, "userPoolId": pool, "userPoolClientId": app, "itemsUrl": items["url"],
              "apiKey": items["apiKey"], "graphqlUrl": products["pathGraphqlUrl"]}
    # the web app is a static site on S3, as it would be on AWS
    s3, bucket = client("s3"), unique_name("web-app")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_object(Bucket=bucket, Key="index.html", ContentType="text/html; charset=utf-8",
                  Body=(WEB_APP % {"config": json.dumps(config)}).encode())
    s3.put_object(Bucket=bucket, Key="amplify.js", ContentType="text/javascript", Body=bundle(AMPLIFY).encode())
    site = f"http://{bucket}.s3-website-us-east-1.localhost:{endpoint.rsplit(':', 1)[1]}/"

    page = browser.new_page()
    page.goto(site)
    email = "amy@example.com"
    assert page.evaluate("([e, p]) => app.signUp(e, p)", [email, "Passw0rd!"]) == "CONFIRM_SIGN_UP"
    # the confirmation "mail": overcast's codes endpoint
    assert page.evaluate("([e, c]) => app.confirm(e, c)", [email, latest_code(endpoint, pool, email)]) is True
    client("cognito-idp").admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="editors")
    requests = []
    page.on("request", lambda r: requests.append(r.headers.get("x-amz-target", "")))
    signed_in = page.evaluate("([e, p]) => app.signIn(e, p)", [email, "Passw0rd!"])
    assert signed_in["signedIn"] is True and signed_in["email"] == email and signed_in["groups"] == ["editors"]
    assert "AWSCognitoIdentityProviderService.RespondToAuthChallenge" in requests  # SRP: PASSWORD_VERIFIER

    # the REST API: its Cognito authorizer takes the ID token
    created = page.evaluate("() => app.addItem('lamp', 12.5)")
    assert created["status"] == 201 and created["body"]["ownerEmail"] == email
    refused = page.evaluate("() => app.addItemSignedOut('lamp', 12.5)")
    assert refused == {"status": 401, "body": {"message": "Unauthorized"}}

    # the GraphQL API: Amplify's userPool mode sends the access token; the user is an editor
    product = page.evaluate("""() => app.graphql(
        'mutation($i: ProductInput!) { createProduct(input: $i) { id name price updatedBy } }',
        {i: {name: 'Desk', category: 'home', price: 120}})""")
    assert product["data"]["createProduct"]["name"] == "Desk"
    assert product["data"]["createProduct"]["updatedBy"] == signed_in["username"]
    listed = page.evaluate("""() => app.graphql('query($c: String!) { productsByCategory(category: $c) { items { name } } }',
                                               {c: 'home'})""")
    assert listed["data"]["productsByCategory"]["items"] == [{"name": "Desk"}]

    # signing out revokes the sign-in (Amplify calls RevokeToken): its access token no longer works
    token = page.evaluate("() => app.accessToken()")
    query = '{ getProduct(id: "x") { id } }'
    assert page.evaluate("([t, q]) => app.rawGraphql(t, q)", [token, query])["status"] == 200
    assert page.evaluate("() => app.signOut()") is True
    assert "AWSCognitoIdentityProviderService.RevokeToken" in requests
    revoked = page.evaluate("([t, q]) => app.rawGraphql(t, q)", [token, query])
    assert revoked["status"] == 401 and revoked["body"]["errors"][0]["errorType"] == "UnauthorizedException"
    page.close()
