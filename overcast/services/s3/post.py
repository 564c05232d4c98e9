"""Browser uploads: a multipart/form-data POST to the bucket with a key, a POST policy and the
file (S3's "POST Object"). The form is parsed as it streams; the file part goes straight to disk.
The policy's expiration and conditions are enforced; its signature when overcast verifies
signatures (OVERCAST_VERIFY_SIGNATURES, docs/security.md)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import time
from urllib.parse import quote

import orjson
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from overcast.aws.context import HttpResponse
from overcast.aws.errors import AwsError
from overcast.aws.protocols.xmlcodec import XmlSyntaxError, escape_text, parse_xml
from overcast.aws.routing import account_for
from overcast.aws.signing import SignatureFailure
from overcast.services.s3 import access
from overcast.services.s3.blobio import BATCH, BlobWriter
from overcast.services.s3.checksums import DEFAULT_ALGORITHM
from overcast.services.s3.provider import etag_of, no_such_bucket
from overcast.services.s3.request_ids import request_id_headers

_IGNORED = ("x-amz-signature", "file", "policy", "signature", "awsaccesskeyid")


def _denied(message: str) -> AwsError:
    return AwsError("AccessDenied", f"Invalid according to Policy: {message}", 403)


async def post_object(provider, request, ctx, bucket_name: str, verifier=None) -> HttpResponse:
    """`verifier`: overcast.aws.signing's, when signatures are verified (then the policy's is)."""
    bucket = provider.store.bucket(bucket_name)
    if bucket is None:
        raise no_such_bucket(bucket_name)
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise AwsError("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
    fields: dict[str, str] = {}
    state = {"name": None, "filename": None, "headers": {}, "header_field": b"", "header_value": b"",
             "buffer": [], "in_file": False, "file_done": False, "file_type": None}
    file_chunks: list[bytes] = []
    writer = BlobWriter(provider.blobs, [DEFAULT_ALGORITHM])
    writer._open()

    def on_part_begin():
        state.update(name=None, filename=None, headers={}, buffer=[], in_file=False)

    def on_header_field(data, start, end):
        state["header_field"] += data[start:end]

    def on_header_value(data, start, end):
        state["header_value"] += data[start:end]

    def on_header_end():
        state["headers"][state["header_field"].decode("latin-1").lower()] = state["header_value"].decode("latin-1")
        state["header_field"], state["header_value"] = b"", b""

    def on_headers_finished():
        _, disposition = parse_options_header(state["headers"].get("content-disposition", ""))
        state["name"] = disposition.get(b"name", b"").decode()
        filename = disposition.get(b"filename")
        state["filename"] = filename.decode() if filename is not None else None
        if state["name"].lower() == "file" and not state["file_done"]:
            state["in_file"] = True
            state["file_type"] = state["headers"].get("content-type")

    def on_part_data(data, start, end):
        if state["in_file"]:
            file_chunks.append(bytes(data[start:end]))
        elif not state["file_done"]:
            state["buffer"].append(bytes(data[start:end]))

    def on_part_end():
        if state["in_file"]:
            state["in_file"], state["file_done"] = False, True
        elif not state["file_done"] and state["name"]:
            fields[state["name"]] = b"".join(state["buffer"]).decode("utf-8", "replace")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
    })
    try:
        source = request.stream.chunks() if request.stream is not None else _once(request.body)
        pending = 0
        async for chunk in source:
            try:
                parser.write(chunk)
            except Exception:
                raise AwsError("MalformedPOSTRequest", "The body of your POST request is not well-formed "
                               "multipart/form-data.") from None
            pending = sum(len(c) for c in file_chunks)
            if pending >= BATCH:
                batch, file_chunks[:] = list(file_chunks), []
                await asyncio.to_thread(writer._write, batch)
        if file_chunks:
            await asyncio.to_thread(writer._write, list(file_chunks))
        if not state["file_done"]:
            raise AwsError("InvalidArgument", "POST requires exactly one file upload per request.", 400,
                           ArgumentName="file", ArgumentValue="0")
        lower = {k.lower(): v for k, v in fields.items()}
        key = lower.get("key")
        if not key:
            raise AwsError("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, "
                           "please check the order of the fields.", 400, ArgumentName="key", ArgumentValue="")
        if state["filename"] is not None:  # a file given as a plain field has no name to put in
            key = key.replace("${filename}", state["filename"])
        # the form's credential names the uploader's account; another account's bucket needs its policy
        access_key = (lower.get("x-amz-credential") or lower.get("awsaccesskeyid") or "").split("/", 1)[0]
        account = account_for(access_key) if access_key else ctx.account
        if verifier is not None and lower.get("policy"):  # the signature before what it signs (AWS's answers)
            _check_signature_fields(lower)
            try:
                account = await verifier.verify_post_policy(lower)
            except SignatureFailure as failure:
                raise failure.as_error("s3") from None
        _check_policy(lower, fields, bucket.name, key, writer.size, signed=request.cross_site is not None)
        access.check_account(account, bucket, key, "s3:PutObject")
        if access_key and not ctx.access_key:
            ctx.access_key = access_key  # the uploader, whom the upload's event names
        params = {"Bucket": bucket.name, "Key": key, "Metadata": {k[len("x-amz-meta-"):]: v for k, v in lower.items()
                                                                    if k.startswith("x-amz-meta-")} or None}
        for form, param in (("content-type", "ContentType"), ("cache-control", "CacheControl"),
                            ("content-disposition", "ContentDisposition"), ("content-encoding", "ContentEncoding"),
                            ("x-amz-storage-class", "StorageClass"), ("expires", "Expires"), ("acl", "ACL")):
            if lower.get(form):
                params[param] = lower[form]
        if "ContentType" not in params and state["file_type"]:
            params["ContentType"] = state["file_type"]
        sums = {DEFAULT_ALGORITHM: base64.b64encode(writer.checksum(DEFAULT_ALGORITHM)).decode()}
        meta = provider._meta_from(bucket, params, sums, headers=False)
        acl = provider._object_acl(ctx, bucket, params)
        if acl is not None:
            meta["Acl"] = acl
        if lower.get("tagging"):
            try:
                root = parse_xml(lower["tagging"].encode())
                meta["Tags"] = {t.findtext("Key"): t.findtext("Value") or "" for t in root.iter() if
                                t.tag.endswith("Tag") and t.findtext("Key") is not None}
            except XmlSyntaxError:
                raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                               "our published schema") from None
    except BaseException:
        await asyncio.to_thread(writer.abort)
        raise
    await writer.finish()
    etag = etag_of(writer.md5.digest())
    with provider._atomic():
        version_id = provider._store_new(bucket, key, writer.size, etag, writer.key, meta)
        provider.notifier.emit(bucket, "ObjectCreated:Post", key, writer.size, etag, version_id, ctx)
    location = f"{ctx.endpoint}/{bucket.name}/{quote(key, safe='/')}"
    headers = request_id_headers(ctx) + [("ETag", etag)]
    headers += [(f"x-amz-checksum-{alg.lower()}", value) for alg, value in sums.items()]
    headers.append(("x-amz-checksum-type", "FULL_OBJECT"))
    if bucket.versioning:
        headers.append(("x-amz-version-id", version_id))
    redirect = lower.get("success_action_redirect") or lower.get("redirect")
    if redirect and redirect.lower().startswith(("http://", "https://")):  # else as if not given (AWS's docs)
        sep = "&" if "?" in redirect else "?"
        target = f"{redirect}{sep}bucket={quote(bucket.name)}&key={quote(key)}&etag={quote(etag)}"
        return HttpResponse(303, headers + [("Location", target)], b"")
    headers.append(("Location", location))
    status = lower.get("success_action_status", "204")
    if status == "201":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>{escape_text(location)}</Location>'
                f"<Bucket>{escape_text(bucket.name)}</Bucket><Key>{escape_text(key)}</Key>"
                f"<ETag>{escape_text(etag)}</ETag></PostResponse>").encode()
        return HttpResponse(201, headers + [("Content-Type", "application/xml")], body)
    return HttpResponse(200 if status == "200" else 204, headers, b"")


async def _once(body: bytes):
    if body:
        yield body


_V4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature")
_V2_FIELDS = ("AWSAccessKeyId", "Signature")


def _check_signature_fields(lower: dict) -> None:
    """A policy comes with its signature's fields, all of one version (S3's answers, in its order):
    none at all is AccessDenied; one missing is named."""
    v4 = any(name.lower() in lower for name in _V4_FIELDS)
    if not v4 and not any(name.lower() in lower for name in _V2_FIELDS):
        raise AwsError("AccessDenied", "Access Denied", 403)
    for name in _V4_FIELDS if v4 else _V2_FIELDS:
        if name.lower() not in lower:
            raise AwsError("InvalidArgument", f"Bucket POST must contain a field named '{name}'.  If it is specified, "
                           "please check the order of the fields.", 400, ArgumentName=name, ArgumentValue="")


def _check_policy(lower: dict, fields: dict, bucket: str, key: str, size: int, signed: bool = False) -> None:
    """The POST policy's expiration and conditions; `signed`: a page on another site sent the form
    (docs/security.md), so a policy and its signature must be there."""
    policy_text = lower.get("policy")
    if signed and not (policy_text and (lower.get("x-amz-signature") or lower.get("signature"))):
        raise AwsError("AccessDenied", "Access Denied: a browser upload from a page on another site needs a signed "
                       "POST policy (see overcast's docs/security.md).", 403)
    if not policy_text:
        return  # an anonymous upload without a policy (a public bucket): nothing to check
    _check_signature_fields(lower)
    try:
        policy = orjson.loads(base64.b64decode(policy_text))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise AwsError("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict) or "expiration" not in policy or "conditions" not in policy:
        raise AwsError("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration or conditions.")
    try:
        expiration = datetime.datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except ValueError:
        raise AwsError("InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: "
                       f"'{policy['expiration']}'") from None
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=datetime.UTC)
    if expiration.timestamp() < time.time():
        raise _denied("Policy expired.")
    values = dict(lower)
    values["key"] = key
    values["bucket"] = bucket
    covered = {"bucket"}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            if len(condition) != 1:
                raise AwsError("InvalidPolicyDocument", "Invalid Policy: Invalid Simple-Condition: Simple-Conditions "
                               "must have exactly one property specified.")
            for name, expected in condition.items():
                name = name.lower()
                covered.add(name)
                if values.get(name) != expected:
                    raise _denied(f"Policy Condition failed: [\"eq\", \"${name}\", \"{expected}\"]")
        elif isinstance(condition, list) and len(condition) == 3:
            op = str(condition[0]).lower()
            if op == "content-length-range":
                try:
                    low, high = int(condition[1]), int(condition[2])
                except (TypeError, ValueError):  # AWS's answer to bounds that are not integers
                    raise _denied("Policy Condition failed: [\"content-length-range\", "
                                  f"\"{condition[1]}\", \"{condition[2]}\"]") from None
                if size > high:
                    raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                                   ProposedSize=size, MaxSizeAllowed=high)
                if size < low:
                    raise AwsError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                                   400, ProposedSize=size, MinSizeAllowed=low)
                continue
            given = str(condition[1])
            name = given.lstrip("$").lower()
            covered.add(name)
            # a field is named with "$": without it the condition compares a literal and fails
            actual = values.get(name, "") if given.startswith("$") else None
            if actual is None:
                raise _denied(f"Policy Condition failed: [\"{op}\", \"{given}\", \"{condition[2]}\"]")
            if op == "eq" and actual != condition[2]:
                raise _denied(f"Policy Condition failed: [\"eq\", \"${name}\", \"{condition[2]}\"]")
            if op == "starts-with" and not actual.startswith(condition[2]):
                raise _denied(f"Policy Condition failed: [\"starts-with\", \"${name}\", \"{condition[2]}\"]")
        else:
            raise AwsError("InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
    for name in fields:
        low = name.lower()
        if low in _IGNORED or low.startswith("x-ignore-") or low in covered:
            continue
        raise _denied(f"Extra input fields: {name}")
