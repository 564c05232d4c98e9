"""The web console at /_overcast/console/ (docs/console.md).

Its pages are static files in overcast/console/static — plain ES modules and CSS, no toolchain:
the files are the source — served from the package. Its data comes from one endpoint,
POST /_overcast/console/api/call, which runs any AWS operation through overcast's own gateway
(overcast.console.calls), plus the few things AWS has no API for (reading an SQS queue's messages
without receiving them). Nothing under /_overcast/console/api/ answers a page on another origin,
and every page is served with a Content-Security-Policy that allows this origin only."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import os
import re

import orjson

from overcast import security
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError

log = logging.getLogger("overcast")
PREFIX = "/_overcast/console"
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
          ".json": "application/json"}
_PAGE_HEADERS = [
    ("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
     "blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
]
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# How long a presigned URL the console hands out (S3 downloads and uploads) stays valid.
PRESIGN_SECONDS = 900


class CallError(Exception):
    """A console request refused before it reaches a service (bad JSON, unknown operation)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Console:
    def __init__(self, app):
        self.app = app
        self._files: dict[str, tuple[bytes, str, str]] = {}
        self._caller = None
        self._regions: list[str] | None = None

    # -- the front -----------------------------------------------------------------------------

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path[len(PREFIX):]
        if path.startswith("/api/"):
            if security.foreign_origin(request) is not None:
                return _error(403, "AccessDenied", "The console's API does not answer pages on another origin "
                              "(see docs/security.md).")
            if request.method != "POST":
                return _error(405, "MethodNotAllowed", "The console's API takes POST requests with a JSON body.")
            try:
                body = orjson.loads(request.body or b"{}")
            except orjson.JSONDecodeError:
                return _error(400, "SerializationException", "The request body is not valid JSON.")
            if not isinstance(body, dict):
                return _error(400, "SerializationException", "The request body must be a JSON object.")
            try:
                if path == "/api/call":
                    status, answer = await self.call(request, body)
                elif path == "/api/sqs/peek":
                    status, answer = await self.peek(request, body)
                elif path == "/api/info":
                    status, answer = 200, self.info()
                else:
                    return _error(404, "NotFound", f"No console endpoint {request.path}")
            except CallError as e:
                return _error(e.status, e.code, e.message)
            except Exception:  # a bug: said as AWS says it, logged, never a dropped connection
                log.exception("console %s failed", path)
                return _error(500, "InternalFailure", "The console's request failed inside overcast; see its log.")
            return HttpResponse(status, [("content-type", "application/json"), ("cache-control", "no-store")],
                                orjson.dumps(answer))
        if request.method not in ("GET", "HEAD"):
            return _error(405, "MethodNotAllowed", "The console's pages are read with GET.")
        if path == "":
            return HttpResponse(308, [("location", PREFIX + "/"), ("content-length", "0")], b"")
        return self.static(path.lstrip("/") or "index.html", request)

    def static(self, name: str, request: HttpRequest) -> HttpResponse:
        found = self._file(name)
        if found is None:
            return _error(404, "NotFound", f"No console page {request.path}")
        data, content_type, etag = found
        headers = [("content-type", content_type), ("cache-control", "no-cache"), ("etag", etag), *_PAGE_HEADERS]
        if request.headers.get("if-none-match") == etag:
            return HttpResponse(304, headers, b"")
        return HttpResponse(200, headers, b"" if request.method == "HEAD" else data,)

    def _file(self, name: str):
        found = self._files.get(name)
        if found is None:
            if ".." in name.split("/") or name.startswith("/") or "\\" in name:
                return None
            path = os.path.join(STATIC, name)
            kind = _TYPES.get(os.path.splitext(name)[1])
            if kind is None or not os.path.isfile(path):
                return None
            with open(path, "rb") as f:
                data = f.read()
            found = self._files[name] = (data, kind, '"' + hashlib.sha256(data).hexdigest()[:20] + '"')
        return found

    # -- the API -------------------------------------------------------------------------------

    async def _caller_for(self):
        if self._caller is None:
            # botocore's client machinery is imported off the event loop: other requests go on
            calls = await asyncio.to_thread(importlib.import_module, "overcast.console.calls")
            if self._caller is None:
                self._caller = calls.Caller(self.app.gateway, asyncio.get_running_loop())
        return self._caller

    def close(self) -> None:
        if self._caller is not None:
            self._caller.close()

    def _scope(self, body: dict) -> tuple[str, str, tuple]:
        """(account, region, credentials) of a console request. Without signature checks the
        account's id is the access key (docs/security.md); with them the user's own keys sign
        the call, and the account is theirs."""
        region = body.get("region") or "us-east-1"
        if not isinstance(region, str) or not _REGION.match(region):
            raise CallError(400, "ValidationError", f"{region!r} is not a region name.")
        account = body.get("account") or "000000000000"
        if not isinstance(account, str) or not _ACCOUNT.match(account):
            raise CallError(400, "ValidationError", "An account id is 12 digits.")
        given = body.get("credentials")
        if given:
            if not isinstance(given, dict) or not all(isinstance(given.get(k), str) and given.get(k)
                                                      for k in ("accessKeyId", "secretAccessKey")):
                raise CallError(400, "ValidationError", "credentials needs accessKeyId and secretAccessKey.")
            token = given.get("sessionToken") if isinstance(given.get("sessionToken"), str) else None
            return account, region, (given["accessKeyId"], given["secretAccessKey"], token or None)
        if self.app.config.verify_signatures:
            raise CallError(403, "MissingAuthenticationToken", "overcast checks signatures "
                            "(OVERCAST_VERIFY_SIGNATURES): enter an access key and its secret in the console.")
        return account, region, (account, "overcast-console", None)

    def info(self) -> dict:
        """What the console's header needs: the version, the regions to offer, whether calls must
        be signed with the user's own keys."""
        if self._regions is None:  # botocore's partitions file: small, unlike its endpoints file
            from botocore.loaders import create_loader

            partitions = create_loader().load_data("partitions")["partitions"]
            self._regions = sorted(next(p for p in partitions if p["id"] == "aws")["regions"])
        from overcast import __version__
        from overcast.services import SERVICES

        return {"version": __version__, "regions": self._regions, "services": sorted(SERVICES),
                "verifySignatures": self.app.config.verify_signatures}

    async def call(self, request: HttpRequest, body: dict) -> tuple[int, dict]:
        """{service, operation, params, account, region, credentials?, presign?, traced?} -> the
        answer. `traced: false` marks the console's own polling as not sampled (Caller.call)."""
        from overcast.services import SERVICES

        service, operation, params = body.get("service"), body.get("operation"), body.get("params")
        params = {} if params is None else params
        if not isinstance(service, str) or service not in SERVICES:
            raise CallError(400, "ValidationError", f"overcast has no service {service!r}.")
        if not isinstance(operation, str) or not _NAME.match(operation):
            raise CallError(400, "ValidationError", f"{operation!r} is not an operation name.")
        if not isinstance(params, dict):
            raise CallError(400, "ValidationError", "params must be a JSON object.")
        presign = None
        if body.get("presign"):
            if (service, operation) not in (("s3", "GetObject"), ("s3", "PutObject")):
                raise CallError(400, "ValidationError", "The console presigns S3 GetObject and PutObject only.")
            presign = PRESIGN_SECONDS
        _account, region, credentials = self._scope(body)
        return await (await self._caller_for()).call(_endpoint(request), service, operation, params, region, credentials,
                                             presign, traced=body.get("traced", True) is not False)

    async def peek(self, request: HttpRequest, body: dict) -> tuple[int, dict]:
        """{queueUrl, account, region, limit?, after?} -> the queue's messages, visible or not,
        oldest first, without receiving them (AWS has no such operation; the console's view of
        the queue, as the SQS provider keeps it)."""
        account, region, credentials = self._scope(body)
        if self.app.config.verify_signatures:  # the keys must be good: ask STS whose they are
            status, who = await (await self._caller_for()).call(_endpoint(request), "sts", "GetCallerIdentity", {}, region,
                                                        credentials, traced=False)
            if status != 200:
                return status, who
            account = who["result"]["Account"]
        url = body.get("queueUrl")
        limit, after = body.get("limit", 50), body.get("after", 0)
        if not isinstance(url, str) or not url:
            raise CallError(400, "ValidationError", "queueUrl is required.")
        if not isinstance(limit, int) or not 1 <= limit <= 1000 or not isinstance(after, int) or after < 0:
            raise CallError(400, "ValidationError", "limit is 1 to 1000; after is a position from a previous answer.")
        sqs = await self.app.providers.get("sqs")
        try:
            return 200, sqs.peek_messages(account, region, url, limit, after)
        except AwsError as e:
            return e.status, {"error": {"code": e.code, "message": e.message}}


def _endpoint(request: HttpRequest) -> str:
    """The URL the browser reached overcast at: the calls go to it, so that the URLs services
    hand out (queue URLs, presigned URLs, GraphQL endpoints) are ones the browser can use."""
    return f"{request.scheme}://{request.host or 'localhost:4566'}"


def _error(status: int, code: str, message: str) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), ("cache-control", "no-store")],
                        orjson.dumps({"error": {"code": code, "message": message}}))
