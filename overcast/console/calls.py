"""The console's one way to run an AWS operation: a botocore client, built exactly as boto3 builds
one, whose requests are handed to overcast's own gateway in process instead of being sent over
the network. The operation therefore takes the path every SDK request takes (the protocol's
parser, the model's validation, signature checks when they are on, the service's provider), and
the answer is read back by botocore's own parser, so the console sees what an SDK sees.

botocore is synchronous: each call runs on a small thread pool of its own (a Lambda invocation
can take minutes and must not hold the event loop's default executor), and the request it would
send is handed back to the event loop, which runs the gateway."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.response import StreamingBody

from overcast.aws.context import HttpRequest
from overcast.console import CallError

# A body the console reads into its JSON answer (Lambda's 6 MB payloads fit; larger S3 objects
# are downloaded through a presigned URL instead).
MAX_BODY = 8 * 1024 * 1024
_MAX_CLIENTS = 64
_untraced = threading.local()  # the call on this thread is the console's polling (Caller.call)


class _Raw:
    """What botocore reads a response body from (urllib3's response, in an SDK)."""

    def __init__(self, data: bytes):
        self._data = data
        self._offset = 0

    def stream(self, **_):
        yield self._data

    def read(self, amt=None):
        end = len(self._data) if amt is None else self._offset + amt
        chunk = self._data[self._offset:end]
        self._offset += len(chunk)
        return chunk


class Caller:
    """Runs operations for the console through `gateway` (overcast.aws.dispatch.Gateway)."""

    def __init__(self, gateway, loop: asyncio.AbstractEventLoop):
        self.gateway = gateway
        self.loop = loop
        self._session = botocore.session.get_session()
        self._session.set_config_variable("credentials_file", "/dev/null")  # no profile of the user's
        self._session.set_config_variable("config_file", "/dev/null")
        self._clients: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="overcast-console")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def call(self, endpoint: str, service: str, operation: str, params: dict, region: str,
                   credentials: tuple[str, str, str | None], presign: int | None = None,
                   traced: bool = True) -> tuple[int, dict]:
        """(HTTP status, answer): {"result": ...} or {"error": {"code", "message"}}. `traced=False`:
        the request says it is not sampled (X-Amzn-Trace-Id: ...;Sampled=0), for the console's own
        polling (a log tail asks every second), which is not the user's application at work."""
        return await self.loop.run_in_executor(self._pool, self._call, endpoint, service, operation, params,
                                               region, credentials, presign, traced)

    # -- on the console's threads ----------------------------------------------------------

    def _call(self, endpoint, service, operation, params, region, credentials, presign, traced):
        client = self._client(endpoint, service, region, credentials)
        _untraced.value = not traced
        model = client.meta.service_model
        if operation not in model.operation_names:
            raise CallError(400, "InvalidAction", f"{model.service_id} has no operation {operation!r}.")
        op = model.operation_model(operation)
        if op.has_event_stream_output or op.has_event_stream_input:
            raise CallError(400, "UnsupportedOperation",
                            f"{operation} streams events; the console does not run event-stream operations.")
        method = botocore.xform_name(operation)
        try:
            params = _blobs_in(params)
        except RecursionError:
            raise CallError(400, "ValidationError", "The parameters are nested too deeply.") from None
        if presign is not None:
            try:
                url = client.generate_presigned_url(method, Params=params, ExpiresIn=presign)
            except (BotoCoreError, ValueError, TypeError) as e:
                raise CallError(400, "ValidationError", str(e)) from None
            return 200, {"url": url}
        try:
            result = getattr(client, method)(**params)
        except ClientError as e:
            error, meta = e.response.get("Error", {}), e.response.get("ResponseMetadata", {})
            return meta.get("HTTPStatusCode") or 400, {
                "error": {"code": error.get("Code", ""), "message": error.get("Message", "")},
                "requestId": meta.get("RequestId")}
        except (BotoCoreError, ValueError, TypeError, AttributeError, KeyError, RecursionError) as e:
            # the parameters do not fit the operation's shapes well enough to be serialized
            raise CallError(400, "ValidationError", f"{type(e).__name__}: {e}") from None
        meta = result.pop("ResponseMetadata", {})
        return 200, {"result": _json_out(result), "requestId": meta.get("RequestId")}

    def _client(self, endpoint: str, service: str, region: str, credentials):
        key = (endpoint, service, region, credentials)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        access_key, secret, token = credentials
        config = BotoConfig(retries={"total_max_attempts": 1}, parameter_validation=False,
                            s3={"addressing_style": "path"}, read_timeout=900, connect_timeout=5,
                            request_checksum_calculation="when_required",
                            response_checksum_validation="when_required",
                            signature_version="s3v4" if service == "s3" else None)  # presigned URLs too
        try:
            client = self._session.create_client(service, region_name=region, endpoint_url=endpoint,
                                                 aws_access_key_id=access_key, aws_secret_access_key=secret,
                                                 aws_session_token=token, config=config)
        except (BotoCoreError, ValueError) as e:
            raise CallError(400, "ValidationError", str(e)) from None
        client.meta.events.register("before-send", self._send)
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > _MAX_CLIENTS:
                self._clients.popitem(last=False)
        return client

    def _send(self, request, **_):
        """botocore's hook before a request goes on the wire: it goes to the gateway instead."""
        url = urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {}
        for name, value in request.headers.items():
            headers[name.lower()] = value.decode("latin-1") if isinstance(value, bytes) else value
        headers.setdefault("host", url.netloc)
        if getattr(_untraced, "value", False):
            headers["x-amzn-trace-id"] = f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Sampled=0"
        http = HttpRequest(method=request.method, path=unquote(url.path) or "/", raw_path=url.path or "/",
                           query_string=url.query, headers=headers, body=body or b"", scheme=url.scheme)
        status, response_headers, data = asyncio.run_coroutine_threadsafe(self._dispatch(http), self.loop).result()
        return AWSResponse(request.url, status, response_headers, _Raw(data))

    # -- on the event loop ----------------------------------------------------------------

    async def _dispatch(self, request: HttpRequest):
        response = await self.gateway.handle(request)
        data = response.body
        if response.stream is not None:
            parts, size = [], 0
            try:
                async for chunk in response.stream:
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise CallError(413, "ResponseTooLarge", f"The answer is larger than {MAX_BODY} bytes; "
                                        "download it instead (S3 objects: a presigned URL).")
                    parts.append(chunk)
            finally:
                close = getattr(response.stream, "aclose", None)
                if close is not None:
                    await close()
            data = b"".join(parts)
        return response.status, dict(response.headers), data


def _blobs_in(value):
    """JSON has no bytes: {"$base64": "..."} in the parameters stands for binary data."""
    if isinstance(value, dict):
        if len(value) == 1 and "$base64" in value and isinstance(value["$base64"], str):
            try:
                return base64.b64decode(value["$base64"], validate=True)
            except ValueError:
                raise CallError(400, "ValidationError", "A $base64 value is not valid base64.") from None
        return {k: _blobs_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blobs_in(v) for v in value]
    return value


def _json_out(value):
    """botocore's answer as JSON: timestamps in ISO 8601, bytes as text when they are UTF-8,
    else {"$base64": ...}; streamed bodies read whole (up to MAX_BODY)."""
    if isinstance(value, dict):
        return {k: _json_out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_out(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, StreamingBody):
        value = value.read(MAX_BODY)
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"$base64": base64.b64encode(value).decode()}
    return value
