"""Which service, account and region a request is for.

Order of evidence: the SigV4 credential scope (Authorization header, or X-Amz-Credential in a
presigned URL), then X-Amz-Target, then the host name (sqs.us-east-1.localhost...), then the path
and form of an unsigned request (a queue URL path, an Action parameter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from overcast.aws.context import HttpRequest
from overcast.services import (
    BY_HOST_PREFIX,
    BY_PATH_PREFIX,
    BY_SIGNING_NAME,
    BY_TARGET_PREFIX,
    BY_UNSIGNED_PATH,
    SERVICES,
    STREAMING_SCOPES,
    STREAMING_SERVICES,
)

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_REGION_IN_HOST = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ACCOUNT_PATH = re.compile(r"^/(\d{12})/[^/]+/?$")


@dataclass(slots=True)
class Route:
    service: str | None  # botocore model name, or None when no implemented service matched
    account: str
    region: str
    access_key: str
    signing_name: str | None = None  # what the credential scope named, for the "unknown" error
    principal: str = ""  # the user's or role session's ARN, for keys overcast issued


def account_for(access_key: str) -> str:
    """The account is the access key id when it is 12 digits, else the default account."""
    return access_key if len(access_key) == 12 and access_key.isdigit() else DEFAULT_ACCOUNT


def route(request: HttpRequest) -> Route:
    headers = request.headers
    access_key, region, signing_name = "", "", None

    match = _CREDENTIAL.search(headers.get("authorization", ""))
    if match is None and "X-Amz-Credential" in request.query_string:
        credential = parse_qs(request.query_string).get("X-Amz-Credential", [""])[0]
        match = _CREDENTIAL.search("Credential=" + unquote(credential))
    if match is not None:
        access_key, _, region, signing_name = match.groups()
    else:
        access_key = _sigv2_access_key(request)

    target = headers.get("x-amz-target")
    host_service, host_region = _from_host(request.host)
    region = region or host_region or DEFAULT_REGION
    account = account_for(access_key)

    candidates = BY_SIGNING_NAME.get(signing_name, []) if signing_name else []
    if target:
        by_target = BY_TARGET_PREFIX.get(target.partition(".")[0])
        if by_target and (not candidates or by_target in candidates):
            return Route(by_target, account, region, access_key, signing_name)
    if len(candidates) > 1:
        candidates = _by_path(request.path, candidates)
    if len(candidates) == 1:
        return Route(candidates[0], account, region, access_key, signing_name)
    if signing_name:
        return Route(None, account, region, access_key, signing_name)
    if host_service:
        return Route(host_service, account, region, access_key)
    service = _from_unsigned(request)
    if service is None and "s3" in SERVICES and _could_be_s3(request):
        # anonymous S3: public objects, presigned-free browser POST uploads, websites
        service = "s3"
    return Route(service, account, region, access_key)


def _sigv2_access_key(request: HttpRequest) -> str:
    """The access key of an S3 request signed with SigV2 (`AWS AKID:signature`, or a presigned
    URL's AWSAccessKeyId): the account it names is the caller's too."""
    auth = request.headers.get("authorization", "")
    if auth.startswith("AWS "):
        return auth[4:].partition(":")[0].strip()
    if "AWSAccessKeyId=" in request.query_string:
        return parse_qs(request.query_string).get("AWSAccessKeyId", [""])[0]
    return ""


def _by_path(path: str, candidates: list[str]) -> list[str]:
    """Services sharing a signing name told apart by path (ServiceSpec.path_prefixes): the one
    whose prefix the path has; else those that claim no prefix."""
    claimed = {service for _, service in BY_PATH_PREFIX if service in candidates}
    if not claimed:
        return candidates
    for prefix, service in BY_PATH_PREFIX:
        if service in candidates and path.startswith(prefix):
            return [service]
    return [c for c in candidates if c not in claimed]


def streams_body(request: HttpRequest) -> bool:
    """Whether the request is for a service that reads its body as a stream (ServiceSpec
    .stream_body). Decided from the headers and query alone, before any body is read; cheap for
    the signed JSON requests of every other service (one substring test)."""
    if not STREAMING_SCOPES:
        return False
    auth = request.headers.get("authorization")
    if auth is not None:
        if auth.startswith("AWS4-"):
            return any(scope in auth for scope in STREAMING_SCOPES)
        return auth.startswith("AWS ") and "s3" in STREAMING_SERVICES  # SigV2: S3 only
    if not _could_be_s3(request):
        return False  # an unsigned awsQuery form or JSON request: routed once its body is read
    return route(request).service in STREAMING_SERVICES


def _could_be_s3(request: HttpRequest) -> bool:
    """An unsigned request with no other evidence: S3 (anonymous access, POST uploads), unless it
    looks like another protocol (a form, JSON, an X-Amz-Target)."""
    if "x-amz-target" in request.headers or _is_form_post(request):
        return False
    if ".execute-api." in request.host or request.path.startswith(("/_aws/", "/restapis/")):
        return False  # API Gateway's invoke URLs (DESIGN.md), never S3
    content_type = request.headers.get("content-type", "")
    return "json" not in content_type and "cbor" not in content_type


def _is_form_post(request: HttpRequest) -> bool:
    return request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    )


def _from_host(host: str) -> tuple[str | None, str | None]:
    """sqs.us-east-1.localhost.localstack.cloud:4566 -> ("sqs", "us-east-1"); S3's
    bucket-in-host forms ({bucket}.s3.localhost.localstack.cloud, {bucket}.localhost,
    {bucket}.s3-website-{region}.localhost) -> ("s3", region)."""
    labels = host.split(":", 1)[0].split(".")
    if len(labels) < 2:
        return None, None
    service = BY_HOST_PREFIX.get(labels[0])
    region = labels[1] if _REGION_IN_HOST.match(labels[1]) else None
    if service is None and "s3" in SERVICES:
        s3_region = s3_host(labels)
        if s3_region is not None:
            return "s3", s3_region or region
    return service, region


def s3_host(labels: list[str]) -> str | None:
    """For an S3 host name (split into labels): its region ("" when it names none); None when
    the host is not S3's."""
    for i, label in enumerate(labels):
        if label == "s3" or label.startswith("s3-website") or label.startswith("s3-"):
            if label.startswith("s3-website-"):
                return label[len("s3-website-"):]
            if label.startswith("s3-") and not label.startswith("s3-website") and _REGION_IN_HOST.match(label[3:]):
                return label[3:]
            nxt = labels[i + 1] if i + 1 < len(labels) else ""
            return nxt if _REGION_IN_HOST.match(nxt) else ""
    if len(labels) == 2 and labels[1] == "localhost" and labels[0] not in BY_HOST_PREFIX:
        return ""  # {bucket}.localhost
    return None


def _from_unsigned(request: HttpRequest) -> str | None:
    """An unsigned request: a queue URL path (/123456789012/name) means SQS; so does a form body
    whose Action is an SQS action when no other evidence exists; a POST to a path a service
    claims unsigned (ServiceSpec.unsigned_paths: X-Ray's sampling calls) means that service."""
    if _ACCOUNT_PATH.match(request.path):
        return "sqs"
    if request.method == "POST" and request.path in BY_UNSIGNED_PATH:
        return BY_UNSIGNED_PATH[request.path]
    action = _form_action(request)
    if action:
        from overcast.aws.models import load_service_model

        for name in ("sqs", "sts", "iam"):
            if action in load_service_model(name).operations:
                return name
    return None


def _form_action(request: HttpRequest) -> str | None:
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        form = parse_qs(request.body.decode("utf-8", "replace"))
    else:
        form = parse_qs(request.query_string)
    values = form.get("Action")
    return values[0] if values else None
