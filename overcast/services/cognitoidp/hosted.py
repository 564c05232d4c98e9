"""A user pool domain's hosted OAuth 2.0 endpoints, as a single-page app uses them:
/oauth2/authorize (authorization code with PKCE, and implicit), a minimal /login page,
/oauth2/token (authorization_code, refresh_token, client_credentials), /oauth2/userInfo,
/oauth2/revoke and /logout.

Reached by host (`{domain}.auth.{region}.amazoncognito.com`, `{domain}.auth.localhost.localstack.cloud`)
or by path on overcast's port (`/_aws/cognito-idp/{domain}/...`). The login form is protected
against posts from other pages twice: the browser must say the post came from the page's own
origin (Origin / Sec-Fetch-Site, as overcast.security reads them), and it must carry the token
bound to the page's cookie; that second check alone would not stop a page on a sibling host
(`*.localhost.localstack.cloud`, an S3 website too) that sets its own cookie for the parent
domain. The page cannot be framed. Redirects go only to the app client's own callback and
sign-out URLs, compared whole.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs, urlencode

import orjson

from overcast import security
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError

PATH_PREFIX = "/_aws/cognito-idp/"
CODE_SECONDS = 300
STANDARD_SCOPES = ("openid", "email", "phone", "profile", "aws.cognito.signin.user.admin")
# No framing; no Referer (with the code or state in it) to another origin. "same-origin", not
# "no-referrer": with no-referrer a browser sends `Origin: null` on the form's own post, and over
# plain http (no Sec-Fetch-Site) the post could not be told from another site's.
_PAGE_HEADERS = [("content-type", "text/html; charset=utf-8"), ("x-frame-options", "DENY"),
                 ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; "
                                             "frame-ancestors 'none'"),
                 ("cache-control", "no-store"), ("referrer-policy", "same-origin"),
                 ("x-content-type-options", "nosniff")]
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}"
          "label{display:block;margin:.8rem 0}input{display:block;width:100%;padding:.4rem}"
          "button{padding:.5rem 1.2rem}.error{color:#b00}")


def match(host: str, path: str):
    """(domain or None, path inside the domain) for a hosted-UI request, else None."""
    if path.startswith(PATH_PREFIX):
        domain, _, rest = path[len(PATH_PREFIX):].partition("/")
        return (domain, "/" + rest) if domain else None
    name = host.split(":", 1)[0].lower()
    if ".auth." in name and (name.endswith(".amazoncognito.com") or name.endswith(".localhost.localstack.cloud")):
        return name.split(".", 1)[0], path
    return None


def _json(status: int, payload, extra=()) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), ("cache-control", "no-store"), *extra],
                        orjson.dumps(payload))


def _oauth_error(error: str, status: int = 400, cors=()) -> HttpResponse:
    return _json(status, {"error": error}, cors)


def _redirect(location: str, extra=()) -> HttpResponse:
    return HttpResponse(302, [("location", location), ("cache-control", "no-store"), *extra], b"")


def _cors(request: HttpRequest) -> list[tuple[str, str]]:
    """A single-page app on any origin may call the token, userInfo and revoke endpoints: they
    take a code, a token or a client secret, never a cookie, so no credentials are allowed."""
    origin = request.headers.get("origin")
    if not origin:
        return []
    return [("access-control-allow-origin", origin), ("vary", "Origin")]


class HostedUI:
    def __init__(self, provider):
        self.provider = provider
        self.store = provider.store

    async def handle(self, request: HttpRequest, found) -> HttpResponse:
        domain_name, path = found
        domain = self.store.domain(domain_name) if domain_name else None
        if domain is None:
            return _json(404, {"error": "not_found", "message": f"No user pool domain {domain_name}"})
        pool = self.store.pool(domain["UserPoolId"])
        base = self._base(request, domain_name)
        path = path.rstrip("/") or "/"
        if request.method == "OPTIONS":
            return HttpResponse(204, [*_cors(request), ("access-control-allow-methods", "GET, POST"),
                                      ("access-control-allow-headers", "authorization, content-type"),
                                      ("access-control-max-age", "3600")], b"")
        try:
            if path == "/oauth2/authorize" and request.method == "GET":
                return self._authorize(request, pool, base)
            if path == "/login" and request.method == "GET":
                return self._login_page(request, pool, base)
            if path == "/login" and request.method == "POST":
                return await self._login(request, pool, base)
            if path == "/oauth2/token" and request.method == "POST":
                return await self._token(request, pool)
            if path == "/oauth2/userInfo" and request.method in ("GET", "POST"):
                return self._user_info(request)
            if path == "/oauth2/revoke" and request.method == "POST":
                return self._revoke(request, pool)
            if path == "/logout" and request.method == "GET":
                return self._logout(request, pool, base)
        except _Refused as refused:
            return refused.response
        return _json(404, {"error": "not_found"})

    @staticmethod
    def _base(request: HttpRequest, domain: str) -> str:
        if request.path.startswith(PATH_PREFIX):
            return f"{PATH_PREFIX}{domain}"
        return ""

    # -- the authorize endpoint and the login page ---------------------------------------------------------

    def _client(self, pool: dict, client_id: str | None) -> dict:
        client = self.store.client(client_id or "")
        if client is None or client["UserPoolId"] != pool["Id"]:
            raise _Refused(_page(400, "Error", "The app client does not exist in this user pool."))
        return client

    def _check_request(self, pool: dict, query: dict) -> tuple[dict, list[str]]:
        client = self._client(pool, query.get("client_id"))
        redirect = query.get("redirect_uri", "")
        if redirect not in (client.get("CallbackURLs") or []):
            raise _Refused(_page(400, "Error", "redirect_mismatch: the redirect_uri is not a callback URL of "
                                               "the app client."))
        response_type = query.get("response_type")
        flows = client.get("AllowedOAuthFlows") or []
        if not client.get("AllowedOAuthFlowsUserPoolClient") or \
                {"code": "code", "token": "implicit"}.get(response_type) not in flows:
            raise _Refused(_redirect(redirect + _join(redirect) + urlencode(
                {"error": "unauthorized_client", **_state(query)})))
        scopes = (query.get("scope") or " ".join(client.get("AllowedOAuthScopes") or [])).split()
        allowed = set(client.get("AllowedOAuthScopes") or [])
        if not scopes or any(s not in allowed for s in scopes):
            raise _Refused(_redirect(redirect + _join(redirect) + urlencode({"error": "invalid_scope",
                                                                             **_state(query)})))
        method = query.get("code_challenge_method")
        if query.get("code_challenge") and method not in (None, "S256"):
            raise _Refused(_redirect(redirect + _join(redirect) + urlencode({"error": "invalid_request",
                                                                             **_state(query)})))
        return client, scopes

    def _authorize(self, request: HttpRequest, pool: dict, base: str) -> HttpResponse:
        query = {k: v[0] for k, v in parse_qs(request.query_string).items()}
        self._check_request(pool, query)
        return _redirect(f"{base}/login?{request.query_string}")

    def _login_page(self, request: HttpRequest, pool: dict, base: str, error: str = "",
                    status: int = 200) -> HttpResponse:
        import html  # (here, not with the module: the server's front doors import it at start-up)

        query = {k: v[0] for k, v in parse_qs(request.query_string).items()}
        self._check_request(pool, query)
        csrf = secrets.token_urlsafe(32)
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in query.items())
        body = (f'<form method="post" action="">{hidden}'
                f'<input type="hidden" name="_csrf" value="{csrf}">'
                f'<p class="error" role="alert">{html.escape(error)}</p>'
                '<label>Username <input name="username" autocomplete="username" required></label>'
                '<label>Password <input name="password" type="password" autocomplete="current-password" required>'
                '</label><button type="submit">Sign in</button></form>')
        response = _page(status, f"Sign in to {pool['Name']}", body)
        response.headers.append(("set-cookie", f"XSRF-TOKEN={csrf}; Path={base}/login; HttpOnly; SameSite=Strict"))
        return response

    async def _login(self, request: HttpRequest, pool: dict, base: str) -> HttpResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        if security.foreign_origin(request) is not None:
            return _page(403, "Error", "The sign-in form was sent by a page on another site.")
        # any XSRF-TOKEN cookie sent may be the page's: one another page set for a parent domain or a
        # wider path must not hide it (it can only lock this form out, not pass for it)
        posted = form.get("_csrf", "")
        if not posted or not any(hmac.compare_digest(value, posted) for value in _cookies(request, "XSRF-TOKEN")):
            return _page(403, "Error", "The sign-in form expired or was not sent by this page. Please try again.")
        query = {k: v for k, v in form.items() if k not in ("_csrf", "username", "password")}
        client, scopes = self._check_request(pool, query)
        retry = HttpRequest("GET", request.path, request.raw_path, urlencode(query), request.headers, b"")
        try:
            user = await self.provider.hosted_sign_in(pool, client, form.get("username", ""), form.get("password", ""))
        except AwsError as e:
            return self._login_page(retry, pool, base, e.message, 400)
        redirect = query["redirect_uri"]
        if query["response_type"] == "code":
            code = secrets.token_urlsafe(24)
            self.store.put_auth_code(code, {
                "pool": pool["Id"], "client": client["ClientId"], "user": user["Username"], "redirect": redirect,
                "scopes": scopes, "challenge": query.get("code_challenge"), "nonce": query.get("nonce"),
                "auth_time": int(time.time())}, time.time() + CODE_SECONDS)
            return _redirect(redirect + _join(redirect) + urlencode({"code": code, **_state(query)}),
                             [("set-cookie", f"XSRF-TOKEN=; Path={base}/login; Max-Age=0")])
        issued = await self.provider.oauth_tokens(pool, client, user, scopes, refresh=False, nonce=query.get("nonce"))
        fragment = {"access_token": issued["AccessToken"], "token_type": "Bearer",
                    "expires_in": str(issued["ExpiresIn"]), **_state(query)}
        if "IdToken" in issued:
            fragment["id_token"] = issued["IdToken"]
        return _redirect(f"{redirect}#{urlencode(fragment)}")

    # -- the token endpoint -------------------------------------------------------------------------------------

    def _authenticate_client(self, request: HttpRequest, pool: dict, form: dict) -> dict:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise _Refused(_oauth_error("invalid_client", 401, _cors(request))) from None
        client = self.store.client(client_id or "")
        if client is None or client["UserPoolId"] != pool["Id"]:
            raise _Refused(_oauth_error("invalid_client", 401, _cors(request)))
        if client.get("ClientSecret") and not hmac.compare_digest(client["ClientSecret"], secret or ""):
            raise _Refused(_oauth_error("invalid_client", 401, _cors(request)))
        return client

    async def _token(self, request: HttpRequest, pool: dict) -> HttpResponse:
        cors = _cors(request)
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error("invalid_request", 400, cors)
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        client = self._authenticate_client(request, pool, form)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            record = self.store.take_auth_code(form.get("code", ""))
            if record is None or record["client"] != client["ClientId"] or record["pool"] != pool["Id"] or \
                    record["redirect"] != form.get("redirect_uri"):
                return _oauth_error("invalid_grant", 400, cors)
            if record.get("challenge"):
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not verifier or not hmac.compare_digest(digest, record["challenge"]):
                    return _oauth_error("invalid_grant", 400, cors)
            user = self.store.user(pool["Id"], record["user"])
            if user is None or not user["Enabled"]:
                return _oauth_error("invalid_grant", 400, cors)
            issued = await self.provider.oauth_tokens(pool, client, user, record["scopes"], refresh=True,
                                                      nonce=record.get("nonce"), auth_time=record["auth_time"])
        elif grant == "refresh_token":
            try:
                issued = await self.provider.oauth_refresh(pool, client, form.get("refresh_token", ""))
            except AwsError:
                return _oauth_error("invalid_grant", 400, cors)
        elif grant == "client_credentials":
            if "client_credentials" not in (client.get("AllowedOAuthFlows") or []) or not client.get("ClientSecret"):
                return _oauth_error("unauthorized_client", 400, cors)
            scopes = (form.get("scope") or " ".join(s for s in client.get("AllowedOAuthScopes") or []
                                                   if s not in STANDARD_SCOPES)).split()
            if not scopes or any(s not in (client.get("AllowedOAuthScopes") or []) or s in STANDARD_SCOPES
                                 for s in scopes):
                return _oauth_error("invalid_scope", 400, cors)
            issued = await self.provider.machine_token(pool, client, scopes)
        else:
            return _oauth_error("unsupported_grant_type", 400, cors)
        out = {"access_token": issued["AccessToken"], "expires_in": issued["ExpiresIn"], "token_type": "Bearer"}
        if "IdToken" in issued:
            out["id_token"] = issued["IdToken"]
        if "RefreshToken" in issued:
            out["refresh_token"] = issued["RefreshToken"]
        return _json(200, out, cors)

    def _user_info(self, request: HttpRequest) -> HttpResponse:
        cors = _cors(request)
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        try:
            pool, user, claims = self.provider.access_user_any_scope(token)
        except AwsError:
            return _json(401, {"error": "invalid_token", "error_description": "Access token is not valid"}, cors)
        if "openid" not in claims.get("scope", "").split() and \
                "aws.cognito.signin.user.admin" not in claims.get("scope", "").split():
            return _json(403, {"error": "insufficient_scope"}, cors)
        info = {"sub": user["Attributes"]["sub"], "username": user["Username"]}
        info.update({k: v for k, v in user["Attributes"].items() if not k.startswith("dev:")})
        return _json(200, info, cors)

    def _revoke(self, request: HttpRequest, pool: dict) -> HttpResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        client = self._authenticate_client(request, pool, form)
        record = self.store.refresh(form.get("token", ""))
        if record is not None and record["client"] == client["ClientId"]:
            self.store.revoke_refresh(form["token"])
        return HttpResponse(200, _cors(request), b"")

    def _logout(self, request: HttpRequest, pool: dict, base: str) -> HttpResponse:
        query = {k: v[0] for k, v in parse_qs(request.query_string).items()}
        client = self._client(pool, query.get("client_id"))
        target = query.get("logout_uri")
        if target and target in (client.get("LogoutURLs") or []):
            return _redirect(target, [("set-cookie", f"XSRF-TOKEN=; Path={base}/login; Max-Age=0")])
        if query.get("redirect_uri") and query.get("response_type"):
            return self._authorize(request, pool, base)  # signed out, and on to the sign-in page
        return _page(400, "Error", "Required String parameter 'logout_uri' is not present or not a sign-out URL "
                                   "of the app client.")


class _Refused(Exception):
    def __init__(self, response: HttpResponse):
        super().__init__("refused")
        self.response = response


def _join(url: str) -> str:
    return "&" if "?" in url else "?"


def _state(query: dict) -> dict:
    return {"state": query["state"]} if "state" in query else {}


def _cookies(request: HttpRequest, wanted: str) -> list[str]:
    """Every value the request's Cookie header gives the cookie `wanted` (one per path and domain
    it was set for)."""
    values = []
    for part in request.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted:
            values.append(value)
    return values


def _page(status: int, title: str, body: str) -> HttpResponse:
    import html

    document = (f"<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                f"content=\"width=device-width\"><title>{html.escape(title)}</title><style>{_STYLE}</style>"
                f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return HttpResponse(status, list(_PAGE_HEADERS), document.encode())
