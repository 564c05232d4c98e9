"""What the control plane (provider.py) and the OpenAPI importer (openapi.py) both build: resource
ids, and integration documents checked with AWS's messages."""

from __future__ import annotations

import random
import re
import string

from overcast.aws.errors import AwsError

_ID_CHARS = string.ascii_lowercase + string.digits


def new_id(n: int = 10) -> str:
    return "".join(random.choices(_ID_CHARS, k=n))


def bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message, 400)


_LAMBDA_INVOCATIONS = re.compile(r"path/2015-03-31/functions/.+/invocations")


def _check_aws_uri(kind: str, uri: str) -> None:
    """An AWS integration's URI, arn:aws:apigateway:{region}:{service}:{path|action}/..., with
    AWS's answer for each way it can be wrong."""
    parts = uri.split(":", 5)
    if parts[0] != "arn" or len(parts) < 6:
        raise bad_request("Invalid ARN specified in the request")
    if not parts[5].startswith(("path/", "action/")):  # another service's ARN (a function's, a role's)
        raise bad_request("AWS ARN for integration must contain path or action")
    if kind == "AWS_PROXY" and (parts[4] != "lambda" or not _LAMBDA_INVOCATIONS.fullmatch(parts[5])):
        raise bad_request("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose "
                          "stream invocations.")


def build_integration(params: dict) -> dict:
    kind = params.get("type")
    if kind not in ("HTTP", "AWS", "MOCK", "HTTP_PROXY", "AWS_PROXY"):
        raise bad_request("Invalid integration type specified. Valid options are HTTP,HTTP_PROXY,AWS,AWS_PROXY,MOCK")
    if kind != "MOCK":
        if not params.get("uri"):
            raise bad_request("Enumeration value for HttpMethod must be non-empty" if not params.get("integrationHttpMethod")
                              else "Invalid integration URI specified")
        if not params.get("integrationHttpMethod"):
            raise bad_request("Enumeration value for HttpMethod must be non-empty")
    uri = params.get("uri") or ""
    if kind in ("AWS", "AWS_PROXY"):
        _check_aws_uri(kind, uri)
    if kind in ("HTTP", "HTTP_PROXY") and not uri.startswith(("http://", "https://")):
        raise bad_request("Invalid HTTP endpoint specified for URI")
    timeout = params.get("timeoutInMillis", 29000)
    if not 50 <= timeout <= 29000:
        raise bad_request("Timeout should be between 50 ms and 29000 ms")
    integration = {"type": kind, "passthroughBehavior": params.get("passthroughBehavior") or "WHEN_NO_MATCH",
                   "timeoutInMillis": timeout, "cacheNamespace": params.get("cacheNamespace") or params.get("resourceId") or new_id(),
                   "cacheKeyParameters": params.get("cacheKeyParameters") or []}
    if integration["passthroughBehavior"] not in ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"):
        raise bad_request("Invalid passthrough behavior specified. Valid options are WHEN_NO_MATCH, WHEN_NO_TEMPLATES, NEVER")
    # a MOCK calls nothing: AWS keeps neither a URI nor an HTTP method for it (its recorded answers)
    if params.get("integrationHttpMethod") and kind != "MOCK":
        integration["httpMethod"] = params["integrationHttpMethod"].upper()
    if uri and kind != "MOCK":
        integration["uri"] = uri
    # AWS answers a connection type for HTTP integrations (INTERNET unless a VPC link), and for
    # others only when one was given
    if params.get("connectionType") or integration.get("type") in ("HTTP", "HTTP_PROXY"):
        integration["connectionType"] = params.get("connectionType") or "INTERNET"
    for key in ("connectionId", "credentials", "requestParameters", "requestTemplates", "contentHandling", "tlsConfig"):
        if params.get(key) is not None:
            integration[key] = params[key]
    return integration


def default_ip_address_type(config: dict) -> None:
    """AWS answers an endpoint configuration's ipAddressType even when none was asked for: a
    private API is dualstack, an edge-optimized or regional one ipv4."""
    if "ipAddressType" not in config:
        config["ipAddressType"] = "dualstack" if "PRIVATE" in (config.get("types") or []) else "ipv4"
