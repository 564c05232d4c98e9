"""API Gateway access logging: a stage's access log settings write one line per request, in the
stage's format with $context variables, to the CloudWatch Logs group (or Firehose stream) named,
for REST APIs (v1 `accessLogSettings`) and HTTP APIs (v2 `AccessLogSettings`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets
from apigateway_support import Api
from apigatewayv2_support import ECHO, api_url, function_arn, http_api, websocket_api, ws_url
from cfn_support import wait

FORMAT = json.dumps({"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                     "method": "$context.httpMethod", "path": "$context.path", "status": "$context.status",
                     "length": "$context.responseLength", "latency": "$context.responseLatency",
                     "stage": "$context.stage", "error": "$context.error.message", "none": "$context.nothing"})


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


@pytest.fixture
def group(logs):
    name = f"/access/{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=name)
    arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]
    return name, arn.removesuffix(":*")


def lines(logs, group_name: str, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = logs.filter_log_events(logGroupName=group_name)["events"]
        if len(found) >= count or time.monotonic() > deadline:
            return [json.loads(e["message"]) for e in found]
        time.sleep(0.05)


def test_a_rest_api_stage_writes_its_access_log(client, endpoint, logs, group):
    name, arn = group
    apigw = client("apigateway")
    api = Api(apigw, endpoint, "access-log")
    api.mock("/ok", template='{"ok": true}')
    api.deploy("test")
    apigw.update_stage(restApiId=api.id, stageName="test", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
        {"op": "replace", "path": "/accessLogSettings/format", "value": FORMAT}])
    ok = api.call("GET", "/ok")
    missing = api.call("GET", "/nowhere")
    assert ok.status_code == 200 and missing.status_code == 403
    first, second = lines(logs, name, 2)
    assert first == {"requestId": ok.headers["x-amzn-requestid"], "ip": "127.0.0.1", "method": "GET",
                     "path": "/test/ok", "status": "200", "length": str(len(ok.content)),
                     "latency": first["latency"], "stage": "test", "error": "-", "none": "-"}
    assert first["latency"].isdigit()
    assert second["status"] == "403" and second["error"] == "Missing Authentication Token"


def test_an_http_api_stage_writes_its_access_log(client, endpoint, logs, group):
    name, arn = group
    gw = client("apigatewayv2")
    echo = function_arn(client("lambda"), f"echo-{uuid.uuid4().hex[:12]}", ECHO)
    api_id = http_api(gw, echo)["ApiId"]
    form = json.dumps({"requestId": "$context.requestId", "routeKey": "$context.routeKey", "status": "$context.status",
                       "method": "$context.httpMethod", "ip": "$context.identity.sourceIp",
                       "integrationStatus": "$context.integrationStatus"})
    gw.update_stage(ApiId=api_id, StageName="$default",
                    AccessLogSettings={"DestinationArn": arn, "Format": form})
    answer = httpx.post(api_url(endpoint, api_id) + "/anything", content=b"{}", timeout=30)
    assert answer.status_code == 200
    (line,) = lines(logs, name, 1)
    assert line == {"requestId": answer.headers["apigw-requestid"], "routeKey": "$default", "status": "200",
                    "method": "POST", "ip": "127.0.0.1", "integrationStatus": "200"}


def test_no_line_without_a_format_or_once_the_settings_are_deleted(client, endpoint, logs, group):
    name, arn = group
    gw = client("apigatewayv2")
    echo = function_arn(client("lambda"), f"echo-{uuid.uuid4().hex[:12]}", ECHO)
    api_id = http_api(gw, echo)["ApiId"]
    gw.update_stage(ApiId=api_id, StageName="$default",
                    AccessLogSettings={"DestinationArn": arn, "Format": "$context.requestId"})
    gw.delete_access_log_settings(ApiId=api_id, StageName="$default")
    assert httpx.get(api_url(endpoint, api_id) + "/x", timeout=30).status_code == 200
    gw.update_stage(ApiId=api_id, StageName="$default",
                    AccessLogSettings={"DestinationArn": arn, "Format": "$context.status"})
    assert httpx.get(api_url(endpoint, api_id) + "/x", timeout=30).status_code == 200
    found = logs.filter_log_events(logGroupName=name)["events"]
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
        found = logs.filter_log_events(logGroupName=name)["events"]
    assert [e["message"] for e in found] == ["200"]  # (only the request made after the second update)


def test_a_cloudformation_stage_access_log_setting_is_applied(client, endpoint, logs):
    cf = client("cloudformation")
    stack = f"access-{uuid.uuid4().hex[:8]}"
    template = {"Resources": {
        "Group": {"Type": "AWS::Logs::LogGroup"},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": stack}},
        "Method": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
            "HttpMethod": "GET", "AuthorizationType": "NONE",
            "Integration": {"Type": "MOCK", "RequestTemplates": {"application/json": '{"statusCode": 200}'},
                            "IntegrationResponses": [{"StatusCode": "200"}]},
            "MethodResponses": [{"StatusCode": "200"}]}},
        "Deployment": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": "Method",
                       "Properties": {"RestApiId": {"Ref": "Api"}}},
        "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "prod",
            "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["Group", "Arn"]},
                                 "Format": "$context.httpMethod $context.status"}}}}}
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    wait(cf, "stack_create_complete", stack)
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cf.describe_stack_resources(StackName=stack)["StackResources"]}
    answer = httpx.get(f"{endpoint}/_aws/execute-api/{resources['Api']}/prod/", timeout=30)
    assert answer.status_code == 200
    deadline = time.monotonic() + 10
    while True:
        found = logs.filter_log_events(logGroupName=resources["Group"])["events"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [e["message"] for e in found] == ["GET 200"]
    cf.delete_stack(StackName=stack)


def test_lines_go_to_a_firehose_stream(client, endpoint):
    s3, firehose, apigw = client("s3"), client("firehose"), client("apigateway")
    bucket, name = f"access-{uuid.uuid4().hex[:12]}", f"amazon-apigateway-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::000000000000:role/r",
                                            "BucketARN": f"arn:aws:s3:::{bucket}",
                                            "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 1}})
    api = Api(apigw, endpoint, "access-firehose")
    api.mock("/ok")
    api.deploy("test")
    apigw.update_stage(restApiId=api.id, stageName="test", patchOperations=[
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{name}"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.resourcePath $context.status"}])
    assert api.call("GET", "/ok").status_code == 200
    deadline = time.monotonic() + 10
    while not (objects := s3.list_objects_v2(Bucket=bucket).get("Contents")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert objects, "no object delivered"
    assert s3.get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read() == b"/ok 200\n"


def test_a_websocket_stage_logs_connect_message_and_disconnect(client, endpoint, logs, group):
    name, arn = group
    gw = client("apigatewayv2")
    echo = function_arn(client("lambda"), f"echo-{uuid.uuid4().hex[:12]}", ECHO)
    api_id, _ = websocket_api(gw, echo, routes=("$connect", "$default"))
    gw.update_stage(ApiId=api_id, StageName="prod", AccessLogSettings={"DestinationArn": arn, "Format": json.dumps(
        {"event": "$context.eventType", "route": "$context.routeKey", "status": "$context.status",
         "connection": "$context.connectionId", "integrationStatus": "$context.integrationStatus"})})

    async def session() -> None:
        async with websockets.connect(ws_url(endpoint, api_id)) as ws:
            await ws.send('{"action": "x"}')
            await asyncio.wait_for(ws.recv(), 30)

    asyncio.run(session())
    found = lines(logs, name, 3)
    assert [(f["event"], f["route"], f["status"]) for f in found] == [
        ("CONNECT", "$connect", "200"), ("MESSAGE", "$default", "200"), ("DISCONNECT", "$disconnect", "200")]
    assert len({f["connection"] for f in found}) == 1
    assert found[0]["integrationStatus"] == "200" and found[2]["integrationStatus"] == "-"
