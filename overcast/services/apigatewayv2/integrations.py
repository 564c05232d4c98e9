"""Calling an integration: Lambda (AWS_PROXY), HTTP (HTTP_PROXY / HTTP), AWS service
integrations by IntegrationSubtype (SQS, EventBridge, Kinesis, Step Functions), MOCK. Shared by HTTP and WebSocket APIs."""

from __future__ import annotations

import logging
import re

import orjson

from overcast.aws.errors import AwsError
from overcast.engine.targets import internal_ctx

log = logging.getLogger("overcast.apigatewayv2")

_LAMBDA_PATH = re.compile(r"^arn:aws[^:]*:apigateway:[^:]*:lambda:path/[^/]+/functions/(.+)/invocations$")


class IntegrationFailure(Exception):
    """The integration could not be called or failed: the client gets a 500 (HTTP APIs) or
    "Internal server error" (WebSocket APIs)."""


def stage_uri(uri: str, stage_variables: dict) -> str:
    """An integration URI with ${stageVariables.name} replaced (e.g. a function name per stage)."""
    if "${stageVariables." not in uri:
        return uri
    return re.sub(r"\$\{stageVariables\.([^}]+)\}", lambda m: stage_variables.get(m.group(1), ""), uri)


def function_arn(uri: str) -> str:
    match = _LAMBDA_PATH.match(uri or "")
    return match.group(1) if match else uri


async def invoke_lambda(providers, account: str, region: str, uri: str, event: dict) -> bytes:
    """Invoke the function synchronously; returns its payload; raises IntegrationFailure when the
    function is missing, throttled or failed."""
    lam = await providers.get("lambda")
    try:
        result = await lam.invoke_function(account, region, function_arn(uri), orjson.dumps(event))
    except AwsError as e:
        log.warning("API Gateway integration %s: %s %s", uri, e.code, e.message)
        raise IntegrationFailure(e.message) from None
    if result.function_error:
        log.info("API Gateway integration %s: function error %s", uri, result.payload[:500])
        raise IntegrationFailure(result.payload.decode("utf-8", "replace"))
    return result.payload


def _lookup(mapping: dict, name: str, case_insensitive: bool = False):
    if case_insensitive:
        name = name.lower()
        for key, value in mapping.items():
            if key.lower() == name:
                return value
        return None
    return mapping.get(name)


def evaluate(expression: str, source: dict) -> str | None:
    """A mapping value: `$request.header.name`, `$request.querystring.name`, `$request.path.name`,
    `$request.path`, `$request.body.a.b` (JSONPath-ish), `$context.x`, `$stageVariables.x`, or
    static text, with ${...} interpolation inside longer strings."""
    if expression.startswith("route.request."):  # WebSocket identity sources
        expression = "$request." + expression[len("route.request."):]
    if "${" in expression:
        return re.sub(r"\$\{([^}]+)\}", lambda m: evaluate("$" + m.group(1).lstrip("$"), source) or "", expression)
    if not expression.startswith("$"):
        return expression
    parts = expression[1:].split(".")
    head = parts[0]
    if head == "request" and len(parts) >= 2:
        where = parts[1]
        if where == "header" and len(parts) >= 3:
            return _lookup(source.get("headers") or {}, ".".join(parts[2:]), True)
        if where in ("querystring", "multivaluequerystring") and len(parts) >= 3:
            return _lookup(source.get("query") or {}, ".".join(parts[2:]))
        if where == "path":
            if len(parts) == 2:
                return source.get("path")
            return _lookup(source.get("path_params") or {}, ".".join(parts[2:]))
        if where == "body":
            raw = source.get("body")
            if not [p for p in parts[2:] if p]:  # the whole body, as sent
                return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            value = body_path(raw, parts[2:])
            if value is None:
                return None
            return value if isinstance(value, str) else orjson.dumps(value).decode()
        return None
    if head == "context":
        value = source.get("context") or {}
        for part in parts[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    if head == "stageVariables" and len(parts) >= 2:
        return (source.get("stage_variables") or {}).get(".".join(parts[1:]))
    return expression


def body_path(body, parts: list[str]):
    """$request.body.a.b[0] against a JSON body (bytes/str, or already parsed)."""
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    value = body
    for part in parts:
        if part == "":
            continue
        name, *indexes = re.split(r"\[(\d+)\]", part)
        if name:
            if not isinstance(value, dict) or name not in value:
                return None
            value = value[name]
        for index in indexes:
            if index == "":
                continue
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
    return value


async def service_integration(providers, account: str, region: str, integration: dict, source: dict) -> tuple[int, bytes]:
    """An AWS service integration (IntegrationSubtype): the service's answer as JSON."""
    subtype = integration.get("IntegrationSubtype")
    params = {k: evaluate(v, source) for k, v in (integration.get("RequestParameters") or {}).items()}
    params = {k: v for k, v in params.items() if v is not None}
    try:
        if subtype.startswith("SQS-"):
            sqs = await providers.get("sqs")
            operation = subtype[4:]
            request = {"QueueUrl": params.get("QueueUrl")}
            if not request["QueueUrl"]:
                return 400, orjson.dumps({"message": "QueueUrl is required"})
            ctx = internal_ctx("sqs", account, region, operation)
            if operation == "SendMessage":
                request["MessageBody"] = params.get("MessageBody")
                for key in ("DelaySeconds",):
                    if key in params:
                        request[key] = int(params[key])
                for key in ("MessageGroupId", "MessageDeduplicationId"):
                    if key in params:
                        request[key] = params[key]
                if "MessageAttributes" in params:
                    request["MessageAttributes"] = orjson.loads(params["MessageAttributes"])
                result = sqs.send_message(ctx, request)
            elif operation == "ReceiveMessage":
                for key in ("MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds"):
                    if key in params:
                        request[key] = int(params[key])
                result = await sqs.receive_message(ctx, request)
            elif operation == "DeleteMessage":
                request["ReceiptHandle"] = params.get("ReceiptHandle")
                result = sqs.delete_message(ctx, request)
            elif operation == "PurgeQueue":
                result = sqs.purge_queue(ctx, request)
            else:
                raise AwsError("BadRequestException", f"Unsupported subtype {subtype}")
            return 200, orjson.dumps(result or {}, default=str)
        if subtype == "EventBridge-PutEvents":
            events = await providers.get("events")
            entry = {"Source": params.get("Source"), "DetailType": params.get("DetailType"),
                     "Detail": params.get("Detail")}
            if params.get("EventBusName"):
                entry["EventBusName"] = params["EventBusName"]
            if params.get("Resources"):
                entry["Resources"] = [r.strip() for r in params["Resources"].split(",")]
            if params.get("Time"):
                entry["Time"] = params["Time"]
            result = await events.put_events(internal_ctx("events", account, region, "PutEvents"), {"Entries": [entry]})
            return 200, orjson.dumps(result, default=str)
        if subtype == "Kinesis-PutRecord":
            from overcast.services import SERVICES

            if "kinesis" not in SERVICES:
                return 500, orjson.dumps({"message": "Kinesis integrations are not supported by overcast yet"})
            kinesis = await providers.get("kinesis")
            request = {"Data": (params.get("Data") or "").encode(), "PartitionKey": params.get("PartitionKey")}
            for key in ("StreamName", "StreamARN", "ExplicitHashKey", "SequenceNumberForOrdering"):
                if params.get(key):
                    request[key] = params[key]
            result = kinesis.put_record(internal_ctx("kinesis", account, region, "PutRecord"), request)
            if hasattr(result, "__await__"):
                result = await result
            return 200, orjson.dumps(result, default=str)
        if subtype.startswith("StepFunctions-"):
            return await _step_functions(providers, account, region, subtype[14:], params)
    except AwsError as e:
        return e.status, orjson.dumps({"__type": e.code, "message": e.message})
    return 500, orjson.dumps({"message": f"Unsupported integration subtype {subtype}"})


# The request parameters each Step Functions subtype takes, and the API member each one fills.
_SFN_PARAMETERS = {
    "StartExecution": {"StateMachineArn": "stateMachineArn", "Name": "name", "Input": "input",
                       "TraceHeader": "traceHeader"},
    "StartSyncExecution": {"StateMachineArn": "stateMachineArn", "Name": "name", "Input": "input",
                           "TraceHeader": "traceHeader"},
    "StopExecution": {"ExecutionArn": "executionArn", "Cause": "cause", "Error": "error"},
}


async def _step_functions(providers, account: str, region: str, operation: str, params: dict) -> tuple[int, bytes]:
    """StepFunctions-StartExecution / -StartSyncExecution / -StopExecution: the API's JSON answer."""
    members = _SFN_PARAMETERS.get(operation)
    if members is None:
        return 400, orjson.dumps({"message": f"Unsupported integration subtype StepFunctions-{operation}"})
    request = {member: params[name] for name, member in members.items() if params.get(name) is not None}
    required = "ExecutionArn" if operation == "StopExecution" else "StateMachineArn"
    if required not in params:
        return 400, orjson.dumps({"message": f"{required} is required"})
    sfn = await providers.get("stepfunctions")
    method = {"StartExecution": sfn.start_execution, "StartSyncExecution": sfn.start_sync_execution,
              "StopExecution": sfn.stop_execution}[operation]
    result = method(internal_ctx("stepfunctions", account, region, operation), request)
    if hasattr(result, "__await__"):
        result = await result
    return 200, orjson.dumps(result)
