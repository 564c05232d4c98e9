"""S3's front door: what S3 does at the HTTP level before and after the generic rest-xml
protocol, so that the provider only sees parameters.

- addressing: path style (`/bucket/key`) and virtual-host style (`bucket.s3.localhost.localstack.cloud`,
  `bucket.localhost`), and websites (`bucket.s3-website[-.]region.localhost...`);
- choosing the operation: S3 routes on sub-resource query parameters and headers too
  (`?uploadId` means UploadPart, `x-amz-copy-source` means CopyObject);
- bodies: PutObject and UploadPart stream (aws-chunked decoded on the way); others are read whole;
- presigned URLs (expiry), browser POST-policy uploads, CORS (preflight and response headers);
- S3's error bodies (`<Error>` with `Key`, `BucketName`..., no body for HEAD) and its headers
  (`x-amz-request-id`, `x-amz-id-2`); streamed GetObject bodies and 206 ranges.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import fnmatch
import hashlib
import inspect
import itertools
import logging
import os
import re
import time
from urllib.parse import quote, unquote_to_bytes

import orjson

from overcast import tracing
from overcast.aws.context import HttpRequest, HttpResponse, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import load_service_model
from overcast.aws.protocols import get_protocol
from overcast.aws.protocols.validate import shape_is_valid
from overcast.aws.protocols.xmlcodec import escape_text
from overcast.aws.routing import Route
from overcast.aws.signing import PayloadCheck, SignatureFailure
from overcast.services.s3 import access
from overcast.services.s3.blobio import BlobBody, Payload
from overcast.services.s3.provider import check_website
from overcast.services.s3.request_ids import request_id_headers

log = logging.getLogger("overcast.s3")

STREAMING_INPUT = frozenset(("PutObject", "UploadPart"))
MAX_XML_BODY = 20 * 1024 * 1024
# operations S3 answers with 204 No Content although the model names no status (AWS's recorded
# answers; PutBucketPolicy's API reference example)
NO_CONTENT = frozenset(("PutBucketPolicy", "PutBucketTagging"))
_SUBRESOURCE_SKIP = frozenset(("x-id",))
_WEBSITE_LABEL = re.compile(r"^s3-website([.-].*)?$")

_GLOBAL_PSEUDO_REGION = "aws-global"


def uri_decode(text: str) -> str:
    """A percent-encoded part of the URI (held as latin-1 text, one character a byte) as the UTF-8
    it must encode. Bytes that are not UTF-8 (k%FF) are refused as S3 refuses them, rather than
    replaced by U+FFFD, which would make k%FF and k%FE one key."""
    try:
        return unquote_to_bytes(text.encode("latin-1")).decode("utf-8")
    except UnicodeError:
        raise AwsError("InvalidURI", "Couldn't parse the specified URI.") from None


# The root element of an XML body: after an optional declaration, processing instructions, comments.
_XML_ROOT = re.compile(rb"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<([A-Za-z_][\w.:-]*)", re.S)


def _xml_payload(model, operation) -> tuple | None:
    """(member, root element, shape, required, is XML) of an operation whose body is a document
    (an XML configuration, or a bucket policy's JSON)."""
    shape = model.shapes[operation.input_shape] if operation.input_shape else None
    member = shape.get("payload") if shape else None
    if member is None:
        return None
    ref = shape["members"][member]
    kind = model.shapes[ref["shape"]]["type"]
    if kind == "blob":  # object data
        return None
    return (member, ref.get("locationName", member), ref["shape"], member in shape.get("required", ()),
            kind == "structure")


# a presigned URL's own query parameters, which are not headers it carries
_PRESIGN_PARAMETERS = frozenset(("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
                                 "x-amz-signedheaders", "x-amz-signature", "x-amz-security-token"))


def _logging_grants_as_acl(status: dict) -> dict:
    """A logging status whose target grants are checked against every ACL permission: S3 takes
    READ_ACP and WRITE_ACP there too (AWS's recorded answer), beyond the model's FULL_CONTROL |
    READ | WRITE. A copy, for the schema check only; the grants are stored as given."""
    enabled = status.get("LoggingEnabled")
    if not isinstance(enabled, dict) or not isinstance(enabled.get("TargetGrants"), list):
        return status
    grants = [{**g, "Permission": "READ"} if isinstance(g, dict) and g.get("Permission") in ("READ_ACP", "WRITE_ACP")
              else g for g in enabled["TargetGrants"]]
    return {**status, "LoggingEnabled": {**enabled, "TargetGrants": grants}}


def _integer_query_names(model) -> frozenset:
    """The query parameters of integer type (max-keys, part-number-marker...): S3 takes one given
    empty as not given (AWS's recorded answers), where the model would refuse it."""
    names = set()
    for op in model.operations.values():
        shape = model.shapes[op.input_shape] if op.input_shape else None
        for member, ref in (shape or {}).get("members", {}).items():
            if ref.get("location") == "querystring" and model.shapes[ref["shape"]]["type"] == "integer":
                names.add(ref.get("locationName", member))
    return frozenset(names - {"partNumber"})  # it chooses UploadPart: an empty one stays an error


def _build_table(model) -> dict:
    """(method, has key, sub-resource query parameter) -> operation name, from the model."""
    table: dict = {}
    for name, op in model.operations.items():
        if op.spec.get("deprecated") or name in ("ListDirectoryBuckets", "WriteGetObjectResponse"):
            continue
        uri = op.http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        has_key = "{Key+}" in path
        sub = query.split("&")[0].split("=")[0] if query else None
        table.setdefault((op.http.get("method"), has_key, sub), name)
    # URIs several operations share: the others are chosen on headers and query parameters
    table[("PUT", True, None)] = "PutObject"
    table[("GET", True, None)] = "GetObject"
    table[("GET", False, None)] = "ListObjects"
    table[("DELETE", True, None)] = "DeleteObject"
    table.pop(("POST", True, None), None)
    return table


class S3Front:
    def __init__(self, gateway):
        self.providers = gateway.providers
        self.verifier = gateway.verifier
        self.model = load_service_model("s3")
        self.protocol = get_protocol("rest-xml")
        self.table = _build_table(self.model)
        self.subresources = {sub for (_, _, sub) in self.table if sub}
        self.integer_query = _integer_query_names(self.model)
        self._sync: dict[str, bool] = {}
        self._payloads: dict[str, tuple | None] = {}

    # -- entry ---------------------------------------------------------------------------------

    async def handle(self, request: HttpRequest, target: Route) -> HttpResponse:
        ctx = RequestContext(target.account, target.region, "s3", request, protocol="rest-xml",
                             access_key=target.access_key, principal=target.principal, request_id=_request_id())
        head = request.method == "HEAD"
        provider = None
        bucket_name = None
        try:
            bucket_name, key, website = self._address(request)
            provider = await self.providers.get("s3")
            if website:
                from overcast.services.s3.website import serve_website

                return await serve_website(provider, request, ctx, bucket_name, key)
            if self.verifier is not None and request.method != "OPTIONS":
                await self._verify(request, ctx, bucket_name, key)
            if ctx.region == _GLOBAL_PSEUDO_REGION and ctx.access_key:
                # botocore's endpoint pseudo-region, which some tools sign with: S3 refuses the
                # signature's region (AWS's recorded answer), expecting the global endpoint's
                raise AwsError("AuthorizationHeaderMalformed", "The authorization header is malformed; the region "
                               "'aws-global' is wrong; expecting 'us-east-1'", 400, Region="us-east-1")
            _check_presigned(request)
            if request.method == "OPTIONS":
                return self._preflight(provider, bucket_name, key, request, ctx)
            if request.cross_site is not None and request.method not in ("GET", "HEAD") and not _is_post_upload(request, key):
                _check_cross_site(provider, bucket_name, request)
            response = await self._dispatch(provider, request, ctx, bucket_name, key)
        except AwsError as error:
            await _drain(request)
            span = tracing.current()
            if span is not None and span.kind == "api":
                span.fail(error)
            response = error_response(error, ctx, head)
        except Exception:
            log.exception("s3 %s failed", ctx.operation or "(unparsed)")
            await _drain(request)
            response = error_response(AwsError("InternalError", "We encountered an internal error. Please try "
                                               "again.", 500, sender_fault=False), ctx, head)
        if provider is not None and bucket_name and "origin" in request.headers:
            _add_cors(provider, bucket_name, request, response)
        return response

    async def _verify(self, request: HttpRequest, ctx: RequestContext, bucket: str | None, key: str | None) -> None:
        """SigV4 or SigV2, header or presigned (overcast.aws.signing); the body's hash or chunk
        signatures are checked as it streams (Payload). An anonymous request belongs to no account:
        the bucket policy decides (access.check; AWS's AccessDenied unless it allows everyone);
        browser POST uploads keep their own checks (their policy carries the authority)."""
        path = request.raw_path or "/"
        if bucket and request.host.lower().startswith(bucket + "."):  # SigV2 signs /bucket/key either way
            path = f"/{quote(bucket)}{path}"
        try:
            signed = await self.verifier.verify(request, s3=True, s3_path=path)
        except SignatureFailure as failure:
            raise failure.as_error("s3") from None
        if signed is None:
            ctx.access_key = ""
            if bucket is None:
                raise SignatureFailure("missing").as_error("s3")
            if not (request.method == "POST" and key is None
                    and request.headers.get("content-type", "").startswith("multipart/form-data")):
                ctx.account = ""  # nobody's: only a bucket policy that allows everyone lets it in
            return
        ctx.signed, ctx.access_key, ctx.account = signed, signed.access_key, signed.account

    # -- addressing and operations -------------------------------------------------------------

    @staticmethod
    def _address(request: HttpRequest) -> tuple[str | None, str | None, bool]:
        """(bucket, key, is a website request) from the host and path."""
        host = request.host.split(":", 1)[0].lower()
        labels = host.split(".") if host else []
        bucket = None
        website = False
        for i, label in enumerate(labels):
            if label == "s3" or label.startswith("s3-") or _WEBSITE_LABEL.match(label):
                website = label.startswith("s3-website")
                if i > 0:
                    bucket = ".".join(labels[:i])
                break
        else:
            if len(labels) == 2 and labels[1] == "localhost" and labels[0] != "s3":
                bucket = labels[0]
        raw = request.raw_path or request.path
        if bucket is not None:
            key = uri_decode(raw[1:]) if raw.startswith("/") else uri_decode(raw)
            return bucket, key if key or website else None, website
        path = raw[1:] if raw.startswith("/") else raw
        if not path:
            return None, None, website
        first, slash, rest = path.partition("/")
        bucket = uri_decode(first)
        if not slash or (not rest and not website):
            return bucket, None, website
        return bucket, uri_decode(rest), website

    def _operation(self, method: str, bucket: str | None, key: str | None, query: dict, headers: dict) -> str:
        if bucket is None:
            if method == "GET":
                return "ListBuckets"
            raise _method_not_allowed(method, "Service")
        has_key = key is not None
        if has_key and "uploadId" in query:
            if method == "PUT" and "partNumber" in query:
                return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
            op = {"GET": "ListParts", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}.get(method)
            if op:
                return op
        for name in query:
            if name in self.subresources:
                op = self.table.get((method, has_key, name))
                if op == "ListObjectsV2" and query["list-type"][0] != "2":
                    continue
                if op is not None:
                    return op
        if method == "PUT" and has_key and "x-amz-copy-source" in headers:
            return "CopyObject"
        if method == "POST" and not has_key and headers.get("content-type", "").startswith("multipart/form-data"):
            return "PostObject"
        op = self.table.get((method, has_key, None))
        if op is None and method == "POST" and not has_key:  # a browser upload that is not a form (AWS's answer)
            raise AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                           Condition="Bucket POST must be of the enclosure-type multipart/form-data")
        if op is None:
            raise _method_not_allowed(method, "Object" if has_key else "Bucket")
        return op

    async def _dispatch(self, provider, request, ctx, bucket, key) -> HttpResponse:
        uri_decode(request.query_string.replace("+", " "))  # prefix=%FF is refused, not replaced by U+FFFD
        query = self.protocol.parse_query(request)
        if query:
            for empty in [q for q in self.integer_query.intersection(query) if query[q] == [""]]:
                del query[empty]
            if "X-Amz-Signature" in query or "Signature" in query:
                # a presigned URL carries headers it signed in its query string: conditional ones,
                # and x-amz-* ones (SigV2 URLs put user metadata there)
                for name, values in query.items():
                    lower = name.lower()
                    if (lower in ("if-match", "if-none-match") or lower.startswith("x-amz-")
                            and lower not in _PRESIGN_PARAMETERS) and lower not in request.headers:
                        request.headers[lower] = values[0]
        name = self._operation(request.method, bucket, key, query, request.headers)
        ctx.operation = name
        span = tracing.current()
        if span is not None and span.kind == "api":
            span.operation, span.account = name, ctx.account
            if bucket:
                span.resource = f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"
        if name == "PostObject":
            try:
                from overcast.services.s3.post import post_object
            except ImportError:  # pragma: no cover - python-multipart is a dependency
                raise AwsError("NotImplemented", "Browser POST uploads need the python-multipart package.", 501,
                               sender_fault=False) from None

            return await post_object(provider, request, ctx, bucket, self.verifier)
        operation = self.model.operations[name]
        chunked = _is_aws_chunked(request.headers)
        check = PayloadCheck(ctx.signed) if PayloadCheck.wanted(ctx.signed) else None
        payload = None
        if name in STREAMING_INPUT:
            payload = Payload(request.stream, request.body, chunked, check)
            if request.stream is not None:
                request.body = b""
        elif request.stream is not None:
            body = await Payload(request.stream, b"", chunked, check).read(MAX_XML_BODY)
            request.body = body
            request.stream = None
            _check_content_md5(request.headers, body)
        labels = {"Bucket": bucket} if key is None else {"Bucket": bucket, "Key": key}
        try:
            params = self.protocol.bind(self.model, operation, request, labels, query, validate=False)
        except AwsError as error:
            if error.code == "SerializationException":
                raise AwsError("InvalidArgument", error.message) from None
            raise
        if payload is not None:
            params["Body"] = payload
        else:
            self._check_xml_payload(operation, request, params)
        method = getattr(provider, operation.method_name, None)
        if method is None:
            raise AwsError("NotImplemented", f"{name} is not implemented by overcast yet.", 501, sender_fault=False)
        if name == "CreateBucket" and self.verifier is not None and not ctx.access_key:
            raise SignatureFailure("missing").as_error("s3")  # an anonymous caller owns nothing
        owner = None
        if bucket and name != "CreateBucket":
            owner = provider.store.bucket(bucket)
            if owner is not None:  # else the operation answers NoSuchBucket
                access.check(ctx, owner, key, acl_admits=lambda op: provider.acl_admits(ctx, owner, key, op, params))
                access.check_expected_owner(params.get("ExpectedBucketOwner"), owner)
        result = method(ctx, params)
        if inspect.isawaitable(result):
            result = await result
        if payload is not None and request.stream is not None and not request.stream.done:
            await request.stream.drain()
        response = self._serialize(operation, result or {}, ctx, request.method == "HEAD")
        if owner is not None and name in ("ListObjects", "ListObjectsV2"):
            response.headers.append(("x-amz-bucket-region", owner.region))  # as HeadBucket (AWS's answers)
        return response

    def _check_xml_payload(self, operation, request, params: dict) -> None:
        """S3 validates a configuration document against its schema: the root element must be the
        operation's, and required elements and enumerations must hold — else MalformedXML
        (MalformedACLError for ACLs). A required document that is missing is MissingRequestBodyError."""
        spec = self._payloads.get(operation.name, False)
        if spec is False:
            spec = self._payloads[operation.name] = _xml_payload(self.model, operation)
        if spec is None:
            return
        member, root, shape_name, required, xml = spec
        if operation.name == "PutBucketAccelerateConfiguration" and "." in params["Bucket"]:
            # refused whatever the document says (AWS's recorded answer)
            raise AwsError("InvalidRequest", "S3 Transfer Acceleration is not supported for buckets with periods "
                           "(.) in their names")
        acl = member == "AccessControlPolicy"
        malformed = AwsError("MalformedACLError" if acl else "MalformedXML", "The XML you provided was not "
                             "well-formed or did not validate against our published schema")
        body = request.body or b""
        if not body.strip():
            if acl and not any(h == "x-amz-acl" or h.startswith("x-amz-grant-") for h in request.headers):
                raise AwsError("MissingSecurityHeader", "Your request was missing a required header",
                               MissingHeaderName="x-amz-acl")
            if operation.name == "PutBucketPolicy":  # an empty policy is a policy that is not JSON
                raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
            if required:
                raise AwsError("MissingRequestBodyError", "Request Body is empty")
            return
        if xml is False:
            return
        match = _XML_ROOT.match(body)
        if match is None or match.group(1).split(b":")[-1].decode() != root:
            raise malformed
        empty = params.get(member) is None or isinstance(params[member], str) and not params[member].strip()
        if empty and operation.name == "PutBucketLogging":
            params[member] = {}  # <BucketLoggingStatus/> turns logging off (AWS's recorded answer)
        tagging = params.get(member)
        if operation.name == "PutObjectTagging" and not (isinstance(tagging, dict) and "TagSet" in tagging):
            params[member] = {"TagSet": []}  # a Tagging without a TagSet clears the tags (AWS's recorded answer)
        if operation.name == "PutBucketWebsite" and isinstance(params.get(member), dict):
            check_website(params[member])  # its own errors come before the schema's (AWS's recorded answers)
        checked = params.get(member)
        if operation.name == "PutBucketLogging" and isinstance(checked, dict):
            checked = _logging_grants_as_acl(checked)
        if checked is not None and not shape_is_valid(self.model, shape_name, checked):
            raise malformed

    def _serialize(self, operation, result: dict, ctx, head: bool) -> HttpResponse:
        if operation.name == "GetBucketLocation":
            region = result.get("LocationConstraint") or ""
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/'
                    + (f'2006-03-01/">{escape_text(region)}</LocationConstraint>' if region else '2006-03-01/"/>')
                    ).encode()  # us-east-1's is an empty element (AWS's recorded answer)
            return HttpResponse(200, request_id_headers(ctx) + [("Content-Type", "application/xml")], body)
        body = result.get("Body")
        stream = inline = None
        if isinstance(body, BlobBody):
            stream = result.pop("Body")
        elif isinstance(body, bytes):
            inline = result.pop("Body")
        response = self.protocol.serialize(self.model, operation, result, ctx)
        response.headers = request_id_headers(ctx) + [(k, _header_text(k, v)) for k, v in response.headers
                                                      if k != "x-amzn-RequestId"]
        if response.body and response.body.startswith(b"<"):
            response.body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + response.body
        if operation.name in ("GetObject", "HeadObject"):
            if result.get("ContentRange"):  # a part or a range: 206, for HEAD too (AWS's recorded answers)
                response.status = 206
            if stream is not None:
                response.stream = stream if stream.length else None
            elif inline is not None:
                response.body = inline
        if operation.name == "HeadBucket" and not any(h[0].lower() == "content-type" for h in response.headers):
            response.headers.append(("Content-Type", "application/xml"))  # as S3 answers it (no body)
        if operation.name in NO_CONTENT:
            response.status, response.body = 204, b""
        if head:
            response.body = b""
        return response

    # -- CORS ----------------------------------------------------------------------------------

    def _preflight(self, provider, bucket_name, key, request, ctx) -> HttpResponse:
        origin = request.headers.get("origin")
        method = request.headers.get("access-control-request-method")
        if not origin:
            raise AwsError("BadRequest", "Insufficient information. Origin request header needed.")

        def forbidden(reason: str, resource: str = "BUCKET") -> AwsError:
            # S3's CORS refusals (AWS's recorded answers): AccessForbidden naming the method asked for;
            # the resource is the bucket, but for a request no rule allows, the object asked for
            return AwsError("AccessForbidden", f"CORSResponse: {reason}", 403, Method=method or "OPTIONS",
                            ResourceType=resource)

        bucket = provider.store.bucket(bucket_name) if bucket_name else None
        if bucket is None:
            raise forbidden("Bucket not found")
        rules = _cors_rules(bucket)
        if not rules:
            raise forbidden("CORS is not enabled for this bucket.")
        if not method:
            raise AwsError("BadRequest", "Invalid Access-Control-Request-Method: null")
        wanted = [h.strip().lower() for h in request.headers.get("access-control-request-headers", "").split(",")
                  if h.strip()]
        rule = _match_cors(rules, origin, method, wanted)
        if rule is None:
            raise forbidden("This CORS request is not allowed. This is usually because the evalution of Origin, "
                            "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not "
                            "whitelisted by the resource's CORS spec.", "OBJECT" if key else "BUCKET")
        headers = request_id_headers(ctx) + _cors_headers(rule, origin)
        if wanted:
            headers.append(("Access-Control-Allow-Headers", ", ".join(wanted)))
        headers.append(("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"))
        return HttpResponse(200, headers, b"")


def _is_post_upload(request: HttpRequest, key: str | None) -> bool:
    """A browser POST upload: post.py then asks a page on another site for a signed policy."""
    return request.method == "POST" and key is None and \
        request.headers.get("content-type", "").startswith("multipart/form-data")


def _check_cross_site(provider, bucket_name: str | None, request: HttpRequest) -> None:
    """A page on another site may change a bucket only as the bucket's CORS rules allow its origin
    and method (docs/security.md); reads and signed POST uploads are decided elsewhere."""
    bucket = provider.store.bucket(bucket_name) if bucket_name else None
    origin = request.cross_site
    if bucket is not None and origin and _match_cors(_cors_rules(bucket), origin, request.method, []) is not None:
        return
    raise AwsError("AccessDenied", "Access Denied: a request from a page on another site needs a CORS rule of the "
                   "bucket that allows its origin and method (see overcast's docs/security.md).", 403)


# -- helpers shared with website.py and post.py ---------------------------------------------------


_ID_PREFIX = os.urandom(3).hex().upper()
_ID_COUNTER = itertools.count(1)


def _request_id() -> str:
    """S3's 16-character request ids: unique per process run, without a getrandom call each."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010X}"


def error_response(error: AwsError, ctx, head: bool = False) -> HttpResponse:
    headers = request_id_headers(ctx)
    extra = error.fields.get("_headers") or {}
    headers += list(extra.items())
    if error.status == 304 or head:
        return HttpResponse(error.status, headers + [("Content-Length", "0")], b"")
    parts = [f"<Code>{escape_text(error.code)}</Code><Message>{escape_text(error.message)}</Message>"]
    for name, value in error.fields.items():
        if name.startswith("_") or value is None:
            continue
        tag = name.replace("_", "-")
        parts.append(f"<{tag}>{escape_text(str(value))}</{tag}>")
    rid, host_id = headers[0][1], headers[1][1]
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{"".join(parts)}<RequestId>{rid}</RequestId>'
            f"<HostId>{host_id}</HostId></Error>")
    headers.append(("Content-Type", "application/xml"))
    return HttpResponse(error.status, headers, body.encode())


def _method_not_allowed(method: str, resource: str) -> AwsError:
    return AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405,
                    Method=method, ResourceType=resource.upper())


async def _drain(request: HttpRequest) -> None:
    """Read what is left of the body so the connection can be reused (a stream that timed out is
    already done: its connection closes after the answer)."""
    if request.stream is not None and not request.stream.done:
        try:
            await asyncio.wait_for(request.stream.drain(), 30)
        except (TimeoutError, ConnectionError, AwsError):
            pass


def _is_aws_chunked(headers: dict) -> bool:
    return "aws-chunked" in headers.get("content-encoding", "") or headers.get(
        "x-amz-content-sha256", "").startswith("STREAMING-")


def _check_content_md5(headers: dict, body: bytes) -> None:
    given = headers.get("content-md5")
    if given is None:
        return
    try:
        digest = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400, Content_MD5=given)
    if hashlib.md5(body).digest() != digest:
        raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400,
                       ExpectedDigest=digest.hex(), CalculatedDigest=base64.b64encode(hashlib.md5(body).digest()).decode())


def _check_presigned(request: HttpRequest) -> None:
    """Presigned URLs: SigV4 (X-Amz-Date + X-Amz-Expires) and SigV2 (Expires) expiry."""
    qs = request.query_string
    if "X-Amz-Expires" in qs or "x-amz-expires" in qs.lower():
        from urllib.parse import parse_qs

        query = {k.lower(): v[0] for k, v in parse_qs(qs).items()}
        text, date = query.get("x-amz-expires", ""), query.get("x-amz-date", "")
        try:
            expires = int(text)
        except ValueError:
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires should be a number") from None
        if expires < 0:
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
        if expires > 604800:
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) "
                           "that is 604800")
        try:
            signed = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format "
                           "\"yyyyMMdd'T'HHmmss'Z'\"") from None
        deadline = signed.timestamp() + expires
        if time.time() > deadline:
            raise AwsError("AccessDenied", "Request has expired", 403, X_Amz_Expires=str(expires),
                           Expires=_iso(deadline), ServerTime=_iso(time.time()))
    elif "Signature=" in qs and "Expires=" in qs and "AWSAccessKeyId=" in qs:
        from urllib.parse import parse_qs

        query = parse_qs(qs)
        try:
            deadline = int(query.get("Expires", ["0"])[0])
        except ValueError:
            raise AwsError("AccessDenied", "Request has expired", 403) from None
        if time.time() > deadline:
            raise AwsError("AccessDenied", "Request has expired", 403, Expires=_iso(deadline),
                           ServerTime=_iso(time.time()))


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cors_rules(bucket) -> list:
    return ((bucket.config.get("cors") or {}).get("CORSConfiguration") or {}).get("CORSRules") or []


def _origin_matches(pattern: str, origin: str) -> bool:
    return pattern == "*" or pattern == origin or ("*" in pattern and fnmatch.fnmatchcase(origin, pattern))


def _match_cors(rules: list, origin: str, method: str, wanted_headers: list[str]) -> dict | None:
    for rule in rules:
        if not any(_origin_matches(o, origin) for o in rule.get("AllowedOrigins") or []):
            continue
        if method not in (rule.get("AllowedMethods") or []):
            continue
        allowed = [h.lower() for h in rule.get("AllowedHeaders") or []]
        if all(any(a == "*" or a == h or ("*" in a and fnmatch.fnmatchcase(h, a)) for a in allowed)
               for h in wanted_headers):
            return rule
    return None


def _cors_headers(rule: dict, origin: str) -> list[tuple[str, str]]:
    any_origin = "*" in (rule.get("AllowedOrigins") or [])
    headers = [("Access-Control-Allow-Origin", "*" if any_origin else origin),
               ("Access-Control-Allow-Methods", ", ".join(rule.get("AllowedMethods") or []))]
    if not any_origin:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    if rule.get("ExposeHeaders"):
        headers.append(("Access-Control-Expose-Headers", ", ".join(rule["ExposeHeaders"])))
    if rule.get("MaxAgeSeconds") is not None:
        headers.append(("Access-Control-Max-Age", str(rule["MaxAgeSeconds"])))
    return headers


def _add_cors(provider, bucket_name: str, request: HttpRequest, response: HttpResponse) -> None:
    """CORS headers on a regular response whose Origin a rule of the bucket allows."""
    try:
        bucket = provider.store.bucket(bucket_name)
    except Exception:
        return
    if bucket is None:
        return
    rules = _cors_rules(bucket)
    if not rules:
        return
    if request.method == "OPTIONS":
        return
    # a request carrying a preflight's headers is matched by them, as S3 does (AWS's recorded
    # answers: a GET with Access-Control-Request-Method PUT, or with request headers no rule
    # allows, gets no CORS headers)
    method = request.headers.get("access-control-request-method") or request.method
    wanted = [h.strip().lower() for h in request.headers.get("access-control-request-headers", "").split(",")
              if h.strip()]
    rule = _match_cors(rules, request.headers["origin"], method, wanted)
    if rule is None:
        return
    response.headers += _cors_headers(rule, request.headers["origin"]) + [
        ("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")]


def quote_key(key: str) -> str:
    return quote(key, safe="/~")


def json_loads(data: bytes):
    return orjson.loads(data)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _header_text(name: str, value: str) -> str:
    """A header value HTTP/1.1 can carry (ISO-8859-1), as S3 answers it (the S3 user guide's
    "Working with object metadata", AWS's recorded answers): user metadata with characters outside
    US-ASCII is RFC 2047-encoded (Q), with ASCII control characters B; in other headers (a POST
    upload's Cache-Control, Content-Disposition) a character ISO-8859-1 lacks becomes a space."""
    if name.startswith("x-amz-meta-"):
        if value.isascii() and not _CONTROL.search(value):
            return value
        # Q when most characters are plain ASCII, else B (JavaMail's MimeUtility rule, which AWS's
        # recorded answers follow: "ÄMÄZÕÑ S3" is Q, seven U+FFFD or four control characters are B)
        special = sum(1 for c in value if ord(c) >= 0x7f or (ord(c) < 0x20 and c not in "\r\n\t"))
        if len(value) - special > special:
            return "=?UTF-8?Q?" + "".join(_q_byte(b) for b in value.encode()) + "?="
        return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode() + "?="
    if value.isascii():
        return value
    return "".join(c if ord(c) < 256 else " " for c in value)


def _q_byte(b: int) -> str:
    if b == 0x20:
        return "_"
    if 0x21 <= b <= 0x7E and b not in (0x3D, 0x3F, 0x5F):  # "=", "?", "_" are escaped
        return chr(b)
    return f"={b:02X}"
