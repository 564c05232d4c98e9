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
from overcast.services import BY_HOST_PREFIX, BY_SIGNING_NAME, BY_TARGET_PREFIX

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

    target = headers.get("x-amz-target")
    host_service, host_region = _from_host(request.host)
    region = region or host_region or DEFAULT_REGION
    account = account_for(access_key)

    candidates = BY_SIGNING_NAME.get(signing_name, []) if signing_name else []
    if target:
        by_target = BY_TARGET_PREFIX.get(target.partition(".")[0])
        if by_target and (not candidates or by_target in candidates):
            return Route(by_target, account, region, access_key, signing_name)
    if len(candidates) == 1:
        return Route(candidates[0], account, region, access_key, signing_name)
    if signing_name:
        return Route(None, account, region, access_key, signing_name)
    if host_service:
        return Route(host_service, account, region, access_key)
    return Route(_from_unsigned(request), account, region, access_key)


def _from_host(host: str) -> tuple[str | None, str | None]:
    """sqs.us-east-1.localhost.localstack.cloud:4566 -> ("sqs", "us-east-1")."""
    labels = host.split(":", 1)[0].split(".")
    if len(labels) < 2:
        return None, None
    service = BY_HOST_PREFIX.get(labels[0])
    region = labels[1] if _REGION_IN_HOST.match(labels[1]) else None
    return service, region


def _from_unsigned(request: HttpRequest) -> str | None:
    """An unsigned request: a queue URL path (/123456789012/name) means SQS; so does a form body
    whose Action is an SQS action when no other evidence exists."""
    if _ACCOUNT_PATH.match(request.path):
        return "sqs"
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
