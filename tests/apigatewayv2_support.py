"""Helpers for the API Gateway v2 tests: Lambda functions from source strings, HTTP and
WebSocket APIs wired to them, and the URLs to reach them."""

from __future__ import annotations

import json
import time

from lambda_functions import create_python

# Answers with the event it received (payload format 2.0 or 1.0 alike).
ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""

# A WebSocket backend: records every event in the SQS queue named by QUEUE_URL, refuses $connect
# when the query says so, echoes $default messages, and pushes through the management API.
WS_BACKEND = """
import json, os, boto3
_sqs = None
def record(event):
    global _sqs
    if os.environ.get("QUEUE_URL"):
        _sqs = _sqs or boto3.client("sqs")
        _sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
def handler(event, context):
    ctx = event["requestContext"]
    record(event)
    route = ctx["routeKey"]
    if route == "$connect":
        query = event.get("queryStringParameters") or {}
        if query.get("refuse"):
            return {"statusCode": int(query["refuse"]), "body": "no"}
        if query.get("crash"):
            raise RuntimeError("crash")
        return {"statusCode": 200}
    if route == "push":
        api = boto3.client("apigatewaymanagementapi", endpoint_url=f"https://{ctx['domainName']}/{ctx['stage']}")
        body = json.loads(event["body"])
        target = body.get("to") or ctx["connectionId"]
        try:
            api.post_to_connection(ConnectionId=target, Data=json.dumps({"pushed": body.get("data")}).encode())
            info = api.get_connection(ConnectionId=ctx["connectionId"])
            return {"statusCode": 200, "body": json.dumps({"sourceIp": info["Identity"]["SourceIp"]})}
        except api.exceptions.GoneException:
            return {"statusCode": 200, "body": json.dumps({"gone": target})}
    if route == "fail":
        raise RuntimeError("boom")
    if route == "$default":
        return {"statusCode": 200, "body": "echo:" + (event.get("body") or "")}
    return {"statusCode": 200, "body": json.dumps({"route": route, "event": event})}
"""


def function_arn(lam, name: str, code: str, **kwargs) -> str:
    create_python(lam, name, code, **kwargs)
    return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def http_api(gw, target: str, **kwargs) -> dict:
    return gw.create_api(Name="http-" + str(time.time()), ProtocolType="HTTP", Target=target, **kwargs)


def api_url(endpoint: str, api_id: str, stage: str = "") -> str:
    """The path form on localhost: http://localhost:port/_aws/execute-api/{apiId}[/{stage}]."""
    return f"{endpoint}/_aws/execute-api/{api_id}" + (f"/{stage}" if stage else "")


def host_headers(endpoint: str, api_id: str) -> dict:
    """The host form: {apiId}.execute-api.localhost.localstack.cloud:port (no DNS here: send it
    to 127.0.0.1 with that Host header)."""
    port = endpoint.rsplit(":", 1)[1]
    return {"host": f"{api_id}.execute-api.localhost.localstack.cloud:{port}"}


def websocket_api(gw, function: str, routes=("$connect", "$disconnect", "$default"), two_way=("$default",),
                  stage: str = "prod", expression: str = "$request.body.action", **route_kwargs) -> tuple[str, dict]:
    api = gw.create_api(Name="ws-" + str(time.time()), ProtocolType="WEBSOCKET", RouteSelectionExpression=expression)
    api_id = api["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function)
    for key in routes:
        extra = dict(route_kwargs.get(key, {}))
        if key in two_way:
            extra["RouteResponseSelectionExpression"] = "$default"
        route = gw.create_route(ApiId=api_id, RouteKey=key, Target="integrations/" + integration["IntegrationId"], **extra)
        if key in two_way:
            gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    gw.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True)
    return api_id, api


def ws_url(endpoint: str, api_id: str, stage: str = "prod", query: str = "") -> str:
    return f"ws://{endpoint.split('://', 1)[1]}/_aws/execute-api/{api_id}/{stage}" + (f"?{query}" if query else "")


def drain(sqs, queue_url: str, count: int, timeout: float = 20.0) -> list[dict]:
    """`count` recorded events from the queue (waits for them)."""
    events: list[dict] = []
    deadline = time.time() + timeout
    while len(events) < count and time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in messages:
            events.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return events
