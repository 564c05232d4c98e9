"""The front door's browser checks (docs/security.md): which Host names overcast answers to (no DNS
rebinding), and which requests a browser made from a page on another origin (no cross-site
request forgery). Both look at headers only; what can be decided once is decided in __init__ and
remembered per Host value, so a request from an SDK costs two dictionary look-ups."""

from __future__ import annotations

import ipaddress

import orjson

from overcast.aws.context import HttpRequest, HttpResponse
from overcast.config import Config

ALLOWED_HOSTS_SETTING = "OVERCAST_ALLOWED_HOSTS"

# Names that resolve to this machine only, or that AWS owns: a rebinding attacker controls neither.
LOCAL_SUFFIXES = (".localhost", ".localhost.localstack.cloud")
AWS_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".amazoncognito.com")

# /_overcast/ endpoints that change state take these only (a page on another origin cannot send
# either without a preflight, which overcast never grants for /_overcast/).
INTERNAL_HEADER = "x-overcast-request"
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
# /_overcast/ paths whose answers show what the user's applications did (payloads included): a page
# on another origin may not even read them (and no CORS header ever lets it).
PRIVATE_PATHS = ("/_overcast/traces",)

# What a browser SDK needs to read from AWS API answers (request ids, checksums, S3-style ids).
_EXPOSED = "x-amzn-requestid, x-amz-request-id, x-amz-id-2, x-amzn-errortype, x-amz-crc32, etag, date"
_MAX_KNOWN_HOSTS = 4096


def host_name(host: str) -> str:
    """The name or address in a Host header: no port, no IPv6 brackets, lower case.

    A Host header holding a whole URL (`http://localhost:4566`, as LocalStack's and other signing
    test clients send when they copy the endpoint into it; AWS answers these) names the host after
    its scheme. Browsers never send a scheme there, so this gives DNS rebinding nothing."""
    host = host.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1].split("/", 1)[0]
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _ip(name: str):
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _is_loopback(name: str) -> bool:
    if name == "localhost" or name.endswith(LOCAL_SUFFIXES) or name == "localhost.localstack.cloud":
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


def _parse_names(value: str) -> tuple[frozenset[str], tuple[str, ...], bool]:
    """OVERCAST_ALLOWED_HOSTS: exact names, `*.suffix` (or `.suffix`) wildcards, or `*` for any."""
    exact, suffixes, anything = set(), [], False
    for item in value.split(","):
        item = item.strip().lower().rstrip(".")
        if not item:
            continue
        if item == "*":
            anything = True
        elif item.startswith("*."):
            suffixes.append(item[1:])
        elif item.startswith("."):
            suffixes.append(item)
        else:
            exact.add(host_name(item))
    return frozenset(exact), tuple(suffixes), anything


class BrowserGuard:
    """The Host names overcast serves, and the page origins it trusts to call its AWS APIs."""

    def __init__(self, config: Config):
        exact, self._suffixes, self._any_host = _parse_names(config.allowed_hosts)
        bound = host_name(config.host)
        if bound and bound not in ("0.0.0.0", "::"):
            exact = exact | {bound}
        self._exact = exact
        self._known: dict[str, bool] = {}

    # -- Host names -----------------------------------------------------------------------------

    def serves(self, host: str) -> bool:
        """Whether overcast answers a request with this Host header (decided once per value)."""
        known = self._known.get(host)
        if known is None:
            known = self._any_host or self._owned(host_name(host), for_origin=False)
            if len(self._known) < _MAX_KNOWN_HOSTS:
                self._known[host] = known
        return known

    def _owned(self, name: str, for_origin: bool) -> bool:
        if _is_loopback(name) or name in self._exact or (self._suffixes and name.endswith(self._suffixes)):
            return True
        if for_origin:
            return False
        if not name:
            return True  # no Host at all (an HTTP/1.0 health probe): browsers always send one
        # A Host that is an address cannot be rebound: the browser connected to that very address
        # (this matters for --host 0.0.0.0 or a LAN address). AWS's own names are AWS's.
        return _ip(name) is not None or name.endswith(AWS_SUFFIXES)

    # -- origins --------------------------------------------------------------------------------

    def trusts(self, origin: str) -> bool:
        """A page origin that may call the AWS APIs cross-origin: one served from this machine
        (loopback, *.localhost, *.localhost.localstack.cloud) or from a host the user allowed."""
        scheme, sep, rest = origin.partition("://")
        if not sep or scheme not in ("http", "https"):
            return False  # "null" (sandboxed frames, file: pages) and the like
        return self._owned(host_name(rest.split("/", 1)[0]), for_origin=True)


def foreign_origin(request: HttpRequest) -> str | None:
    """The origin of the page that made this request, when a browser says that page was on
    another origin than the request's own; "" when the browser says so but names none (an <img>
    GET); None for same-origin requests, navigation the user started, and every non-browser
    client (SDKs and the CLI send neither Origin nor Sec-Fetch-Site)."""
    headers = request.headers
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site")
    if origin is None:
        return "" if site in ("cross-site", "same-site") else None
    if site == "same-origin":
        return None
    # Same origin when it names the Host the request went to (the scheme is left aside: a
    # TLS-terminating proxy in front of overcast turns https into http).
    if origin.partition("://")[2] == headers.get("host"):
        return None
    return origin


def refuse_internal(request: HttpRequest, origin: str | None) -> HttpResponse | None:
    """/_overcast/ endpoints: reads are open to all, except those under PRIVATE_PATHS, which only
    a same-origin page (or a client that is no browser) may read; a change of state needs a
    same-origin request that says it is meant (a JSON body or the X-Overcast-Request header),
    which a form, an <img> or a text/plain fetch from another page cannot send."""
    if request.method in SAFE_METHODS:
        if origin is not None and request.path.startswith(PRIVATE_PATHS):
            return _json_error(403, "AccessDenied", "overcast's traces are not served to pages on another origin "
                               "(see docs/security.md).")
        return None
    if origin is not None:
        return _json_error(403, "AccessDenied", "overcast's own endpoints do not answer requests from pages on "
                           "another origin (see docs/security.md).")
    content_type = request.headers.get("content-type", "")
    if INTERNAL_HEADER in request.headers or content_type.split(";", 1)[0].strip().lower() == "application/json":
        return None
    return _json_error(403, "AccessDenied", "Send overcast's own endpoints a JSON body (Content-Type: "
                       "application/json) or an X-Overcast-Request header (see docs/security.md).")


def refuse_host(host: str) -> HttpResponse:
    return _json_error(403, "AccessDenied", f"overcast does not serve the host name {host_name(host)!r}. "
                       f"If it names this machine, add it to {ALLOWED_HOSTS_SETTING} (or --allowed-hosts); "
                       "see docs/security.md.", close=True)


def is_preflight(request: HttpRequest) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


def preflight_answer(request: HttpRequest, origin: str) -> HttpResponse:
    """overcast's answer to a preflight for its AWS APIs from a trusted origin: what the AWS SDK
    for JavaScript needs to send signed requests (every method, the headers it asks for)."""
    headers = [("Access-Control-Allow-Origin", origin),
               ("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE, HEAD, PATCH"),
               ("Access-Control-Max-Age", "600"),
               ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")]
    wanted = request.headers.get("access-control-request-headers")
    if wanted:
        headers.append(("Access-Control-Allow-Headers", wanted))
    return HttpResponse(200, headers + [("Content-Length", "0")], b"")


def allow_origin(response: HttpResponse, origin: str) -> None:
    """A trusted origin may read the answer (unless the service answered CORS itself)."""
    if not any(name.lower() == "access-control-allow-origin" for name, _ in response.headers):
        response.headers += [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", _EXPOSED),
                             ("Vary", "Origin")]


def _json_error(status: int, code: str, message: str, close: bool = False) -> HttpResponse:
    headers = [("content-type", "application/json"), ("x-amzn-errortype", code)]
    if close:
        headers.append(("connection", "close"))  # the body, if any, is left unread
    return HttpResponse(status, headers, orjson.dumps({"__type": code, "message": message}))
