"""API Gateway access logging, for REST APIs (v1 stages' `accessLogSettings`) and HTTP and
WebSocket APIs (v2 stages' `AccessLogSettings`): each request's line, its `format` with every
`$context.name` replaced by the request's value ("-" when it has none, as AWS writes it),
delivered to the CloudWatch Logs group or the Firehose stream the `destinationArn` names.

A line is written right after the answer (as AWS delivers it, asynchronously), by the logs
provider's append_soon: a client that reads the group after its answer finds the line."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time

import orjson

from overcast.engine.targets import internal_ctx
from overcast.engine.vended_logs import write_to_existing_group

log = logging.getLogger(__name__)

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_-]+)*)")


def render(form: str, variables: dict) -> str:
    """`form` with each $context variable replaced: a nested name is looked up a level at a time
    (`$context.identity.sourceIp`); objects are written as JSON."""

    def value_of(match: re.Match) -> str:
        value = variables
        for part in match.group(1).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or value == "":
            return "-"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return orjson.dumps(value).decode()
        return str(value)

    return _VARIABLE.sub(value_of, form)


def deliver(providers, destination: str, line: str, api_id: str, stage: str) -> None:
    """Write `line` to the destination ARN (a log group, `...:log-group:NAME[:*]`, or a Firehose
    stream, `...:deliverystream/NAME`); a destination that does not exist (any more) drops it, as
    AWS's delivery does."""
    parts = destination.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return
    service, region, account, resource = parts[2], parts[3], parts[4], ":".join(parts[5:])
    now_ms = int(time.time() * 1000)
    if service == "logs" and resource.startswith("log-group:"):
        group = resource[len("log-group:"):].removesuffix(":*")
        # (one stream per stage, as AWS keeps a stage's lines together; overcast names it by a hash)
        stream = hashlib.md5(f"{account}/{api_id}/{stage}".encode()).hexdigest()
        write_to_existing_group(providers, account, region, group, stream, [(now_ms, line)])
    elif service == "firehose" and resource.startswith("deliverystream/"):
        name = resource.split("/", 1)[1]
        asyncio.get_running_loop().create_task(_to_firehose(providers, account, region, name, line))



async def _to_firehose(providers, account, region, name, line) -> None:
    try:
        firehose = await providers.get("firehose")
        result = firehose.put_record(internal_ctx("firehose", account, region, "PutRecord"),
                                     {"DeliveryStreamName": name, "Record": {"Data": (line + "\n").encode()}})
        if asyncio.iscoroutine(result):
            await result
    except Exception as e:  # a stream that is gone: the line is dropped, as AWS's delivery drops it
        log.debug("access log line to Firehose stream %s not delivered: %s", name, e)
