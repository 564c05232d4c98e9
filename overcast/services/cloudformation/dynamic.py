"""Dynamic references in resource properties: {{resolve:ssm:name[:version]}},
{{resolve:ssm-secure:name[:version]}} and
{{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]}},
read through the SSM and Secrets Manager providers when a resource is created or updated."""

from __future__ import annotations

import inspect
import json
import re

from overcast.aws.errors import AwsError
from overcast.services import SERVICES
from overcast.services.cloudformation.resources.base import ResourceFailed

_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}")


def has_references(value) -> bool:
    if isinstance(value, str):
        return "{{resolve:" in value
    if isinstance(value, dict):
        return any(has_references(v) for v in value.values())
    if isinstance(value, list):
        return any(has_references(v) for v in value)
    return False


async def resolve(op_context, value):
    """`value` with every dynamic reference replaced; op_context(service) -> (provider, ctx)."""
    if isinstance(value, dict):
        return {k: await resolve(op_context, v) for k, v in value.items()}
    if isinstance(value, list):
        return [await resolve(op_context, v) for v in value]
    if not isinstance(value, str) or "{{resolve:" not in value:
        return value
    out, pos = [], 0
    for match in _REFERENCE.finditer(value):
        out.append(value[pos:match.start()])
        out.append(await _lookup(op_context, match.group(1), match.group(2)))
        pos = match.end()
    out.append(value[pos:])
    return "".join(out)


async def _call(op_context, service: str, method: str, params: dict) -> dict:
    if service not in SERVICES:
        raise ResourceFailed(f"Dynamic references to {service} need a service overcast does not implement yet")
    provider, ctx = await op_context(service)
    try:
        result = getattr(provider, method)(ctx, params)
        return await result if inspect.isawaitable(result) else result
    except AwsError as e:
        raise ResourceFailed(e.message or e.code) from None


async def _lookup(op_context, kind: str, reference: str) -> str:
    if kind in ("ssm", "ssm-secure"):
        name, _, version = reference.partition(":")
        result = await _call(op_context, "ssm", "get_parameter", {
            "Name": f"{name}:{version}" if version else name, "WithDecryption": kind == "ssm-secure"})
        return result["Parameter"]["Value"]
    parts = reference.split(":")
    if reference.startswith("arn:"):  # an ARN holds colons itself: arn:aws:secretsmanager:region:account:secret:name
        secret, parts = ":".join(parts[:7]), parts[7:]
    else:
        secret, parts = parts[0], parts[1:]
    parts += [""] * (4 - len(parts))
    _string, json_key, stage, version_id = parts[:4]
    params = {"SecretId": secret}
    if version_id:
        params["VersionId"] = version_id
    elif stage:
        params["VersionStage"] = stage
    text = (await _call(op_context, "secretsmanager", "get_secret_value", params)).get("SecretString", "")
    if not json_key:
        return text
    try:
        return str(json.loads(text)[json_key])
    except (ValueError, KeyError, TypeError):
        raise ResourceFailed(f"Could not find a value associated with JSONKey in SecretString for secret {secret}")\
            from None
