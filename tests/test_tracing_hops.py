"""The trace across hops (issue 17, docs/tracing.md): every hop overcast performs is a span,
linked by AWS's own trace context — X-Amzn-Trace-Id, Lambda-Runtime-Trace-Id / _X_AMZN_TRACE_ID,
SQS's AWSTraceHeader, the trace stored with stream records and queued events — so that a chain
across five services is one trace, and it survives a queue, a stream and a restart."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time

import httpx
import pytest
import websockets
from apigatewayv2_support import api_url, function_arn, http_api
from conftest import OvercastProcess, make_client
from test_tracing import get_trace, new_root, spans_of, trace_id_of, traced

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "live-stock-counter")

WRITER = """
import json, os
import boto3

ddb = boto3.client("dynamodb")


def handler(event, context):
    body = json.loads(event["body"])
    ddb.put_item(TableName=os.environ["STOCK_TABLE"],
                 Item={"productId": {"S": body["productId"]}, "stock": {"N": str(body["stock"])}})
    return {"statusCode": 200, "body": json.dumps({"written": body["productId"]})}
"""

TRACE_ID = """
import os


def handler(event, context):
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
"""

RECORDER = """
import json, os
import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["OUT"], MessageBody=json.dumps({"trace": os.environ.get("_X_AMZN_TRACE_ID"),
                                                                          "event": event}))
    return {}
"""


def lineage_free(header: str) -> str:
    """A function's trace header less its Lineage (Lambda's recursive loop count, which every
    invocation carries: test_lambda_recursion.py)."""
    assert re.search(r";Lineage=1:[0-9a-f]{8}:\d+$", header), header
    return re.sub(r";Lineage=[^;]*$", "", header)


def by_name(spans: list[dict], name: str) -> list[dict]:
    return [s for s in spans if s["name"] == name]


def one(spans: list[dict], name: str, **match) -> dict:
    found = [s for s in by_name(spans, name) if all(s.get(k) == v or s["attributes"].get(k) == v
                                                    for k, v in match.items())]
    assert len(found) == 1, (name, match, [(s["name"], s["resource"]) for s in spans])
    return found[0]


def parent_of(spans: list[dict], span: dict) -> dict:
    [parent] = [s for s in spans if s["spanId"] == span["parentId"]]
    return parent


@pytest.fixture(scope="module")
def stock_counter(endpoint):
    sys.path.insert(0, EXAMPLE)
    try:
        import deploy
    finally:
        sys.path.remove(EXAMPLE)
    deployed = deploy.deploy(endpoint)
    assert deployed["streaming"]
    return deployed


def test_a_chain_across_five_services_is_one_trace(client, endpoint, unique_name, stock_counter):
    """HTTP API -> Lambda -> DynamoDB PutItem -> its stream -> Lambda -> PostToConnection out of a
    WebSocket: one trace, each hop the child of the one that caused it."""
    lam, gw = client("lambda"), client("apigatewayv2")
    writer = function_arn(lam, unique_name("writer"), WRITER, Timeout=30,
                          Environment={"Variables": {"STOCK_TABLE": stock_counter["stock_table"]}})
    api = http_api(gw, writer)
    root = new_root()
    product = unique_name("product")

    async def go():
        async with websockets.connect(stock_counter["path_url"] + f"?page={product}") as browser:
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(None, lambda: httpx.post(
                api_url(endpoint, api["ApiId"]) + "/stock", json={"productId": product, "stock": 7},
                headers={"X-Amzn-Trace-Id": f"Root={root};Sampled=1"}, timeout=60))
            assert answer.status_code == 200, answer.text
            return json.loads(await asyncio.wait_for(browser.recv(), 60))

    assert asyncio.run(go()) == {"productId": product, "stock": 7}
    spans = spans_of(endpoint, root, until=lambda s: by_name(s, "ApiGatewayV2.Send")
                     and all(x["end"] is not None for x in s))
    assert {s["traceId"] for s in spans} == {root}
    request = one(spans, "ApiGatewayV2.Request")
    assert request["parentId"] is None and request["attributes"]["httpStatus"] == 200
    integration = one(spans, "ApiGatewayV2.Integration")
    assert parent_of(spans, integration) is not None and integration["parentId"] == request["spanId"]
    write = one(spans, "Lambda.Invocation", resource=writer)
    assert write["parentId"] == integration["spanId"] and write["status"] == "ok"
    assert "START RequestId" in write["attributes"]["log"]
    put = one(spans, "DynamoDB.PutItem")
    assert put["parentId"] == write["spanId"] and put["kind"] == "api"
    assert put["resource"].endswith(f":table/{stock_counter['stock_table']}")
    record = one(spans, "DynamoDB.StreamRecord")
    assert record["parentId"] == put["spanId"] and record["attributes"]["eventName"] == "INSERT"
    batch = one(spans, "Lambda.EventSourceMapping")
    assert batch["parentId"] == record["spanId"]
    push = one(spans, "Lambda.Invocation", resource=stock_counter["push_function"])
    assert push["parentId"] == batch["spanId"]
    post = one(spans, "ApiGatewayManagementApi.PostToConnection")
    assert post["parentId"] == push["spanId"] and post["status"] == "ok"
    assert "/prod/POST/@connections/" in post["resource"]
    send = one(spans, "ApiGatewayV2.Send")
    assert send["parentId"] == post["spanId"] and json.loads(send["request"]) == {"productId": product, "stock": 7}
    assert {s["service"] for s in spans} == {"apigatewayv2", "lambda", "dynamodb", "apigatewaymanagementapi"}
    summary = next(t for t in httpx.get(f"{endpoint}/_overcast/traces", params={"limit": 1000}).json()["traces"]
                   if t["traceId"] == root)
    assert summary["root"]["name"] == "ApiGatewayV2.Request"
    assert {"apigatewayv2", "lambda", "dynamodb", "apigatewaymanagementapi"} <= set(summary["services"])


def test_the_function_gets_its_invocation_as_trace_context(client, endpoint, unique_name):
    lam = client("lambda")
    name = unique_name("traceid")
    function_arn(lam, name, TRACE_ID, TracingConfig={"Mode": "Active"})
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    root = trace_id_of(answer["ResponseMetadata"])
    seen = json.loads(answer["Payload"].read())["trace"]
    spans = spans_of(endpoint, root, until=lambda s: len(s) == 2)
    invoke, invocation = one(spans, "Lambda.Invoke"), one(spans, "Lambda.Invocation")
    assert invocation["parentId"] == invoke["spanId"] and invocation["kind"] == "hop"
    assert lineage_free(seen) == f"Root={root};Parent={invocation['spanId']};Sampled=1"
    assert invocation["attributes"]["coldStart"] in (True, False) and invocation["response"].startswith("{")


PASS_THROUGH_CALLER = """
import json, os
import boto3


def handler(event, context):
    boto3.client("sqs").list_queues(QueueNamePrefix="none-such")
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
"""


def test_a_pass_through_function_is_traced_only_for_a_sampled_caller(client, endpoint, unique_name):
    # AWS: PassThrough (the default) traces a request only when its caller's header says Sampled=1;
    # Active samples the others too. overcast's own trace keeps the function's calls either way.
    lam = client("lambda")
    name = unique_name("passthrough")
    function_arn(lam, name, PASS_THROUGH_CALLER, Timeout=30)
    assert lam.get_function_configuration(FunctionName=name)["TracingConfig"] == {"Mode": "PassThrough"}
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    root = trace_id_of(answer["ResponseMetadata"])
    seen = json.loads(answer["Payload"].read())["trace"]
    spans = spans_of(endpoint, root, until=lambda s: by_name(s, "SQS.ListQueues") and all(x["end"] for x in s))
    invocation = one(spans, "Lambda.Invocation")
    assert lineage_free(seen) == f"Root={root};Parent={invocation['spanId']};Sampled=0"
    assert one(spans, "SQS.ListQueues")["parentId"] == invocation["spanId"]
    # X-Ray's view leaves out what X-Ray would not have recorded: the invocation and the function's call
    xray = client("xray")
    [trace] = xray.batch_get_traces(TraceIds=[root])["Traces"]
    assert {json.loads(s["Document"])["metadata"]["overcast"]["span"] for s in trace["Segments"]} == {"Lambda.Invoke"}

    answer = traced(lam).invoke(FunctionName=name, Payload=b"{}")  # a caller that is traced: Sampled=1
    seen = json.loads(answer["Payload"].read())["trace"]
    assert seen.startswith(f"Root={trace_id_of(answer['ResponseMetadata'])};Parent=")
    assert lineage_free(seen).endswith(";Sampled=1")


def test_an_unsampled_invocation_records_nothing_and_says_so_to_the_function(client, endpoint, unique_name):
    lam = client("lambda")
    name = unique_name("unsampled")
    function_arn(lam, name, TRACE_ID)
    root = new_root()
    lam.meta.events.register("before-sign.lambda.Invoke", lambda request, **_: request.headers.__setitem__(
        "X-Amzn-Trace-Id", f"Root={root};Sampled=0"))
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    seen = json.loads(answer["Payload"].read())["trace"]
    assert seen.startswith(f"Root={root};Parent=") and lineage_free(seen).endswith(";Sampled=0")
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"] == f"Root={root};Sampled=0"
    assert httpx.get(f"{endpoint}/_overcast/traces/{root}").status_code == 404


def test_a_queue_carries_the_trace_in_awstraceheader_to_the_function(client, endpoint, unique_name):
    sqs, lam = traced(client("sqs")), client("lambda")
    inbox = sqs.create_queue(QueueName=unique_name("in"))["QueueUrl"]
    outbox = sqs.create_queue(QueueName=unique_name("out"))["QueueUrl"]
    name = unique_name("consumer")
    function_arn(lam, name, RECORDER, Environment={"Variables": {"OUT": outbox}})
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1)
    sent = sqs.send_message(QueueUrl=inbox, MessageBody="traced")
    root = trace_id_of(sent["ResponseMetadata"])
    assert "MD5OfMessageSystemAttributes" not in sent  # set by the service, not sent by the client
    sqs = client("sqs")
    messages = sqs.receive_message(QueueUrl=outbox, WaitTimeSeconds=20, MessageSystemAttributeNames=["All"])["Messages"]
    got = json.loads(messages[0]["Body"])
    record = got["event"]["Records"][0]
    spans = spans_of(endpoint, root, until=lambda s: len(by_name(s, "SQS.SendMessage")) == 2
                     and all(x["end"] is not None for x in s))
    # the message keeps the sender's X-Amzn-Trace-Id as it was sent (AWS): the batch that picks it up
    # is in the sender's trace, under what the header names as parent (nothing: a new trace's header)
    assert record["attributes"]["AWSTraceHeader"] == sent["ResponseMetadata"]["_sent_trace"]
    batch = one(spans, "Lambda.EventSourceMapping")
    assert batch["parentId"] is None and batch["attributes"]["batchSize"] == 1
    invocation = one(spans, "Lambda.Invocation")
    assert invocation["parentId"] == batch["spanId"]
    assert lineage_free(got["trace"]) == f"Root={root};Parent={invocation['spanId']};Sampled=1"
    second_send = next(s for s in by_name(spans, "SQS.SendMessage") if s["parentId"] is not None)
    assert second_send["parentId"] == invocation["spanId"]
    # the function's SDK sent its _X_AMZN_TRACE_ID as X-Amzn-Trace-Id: the next hop is the invocation's child
    header = messages[0]["Attributes"]["AWSTraceHeader"]
    assert header == got["trace"]


def test_a_trace_header_the_sender_sets_is_kept(client, unique_name):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("own"))["QueueUrl"]
    mine = f"Root={new_root()};Parent=0123456789abcdef;Sampled=1"
    sent = sqs.send_message(QueueUrl=url, MessageBody="x", MessageSystemAttributes={
        "AWSTraceHeader": {"DataType": "String", "StringValue": mine}})
    assert sent["MD5OfMessageSystemAttributes"]
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert message["Attributes"] == {"AWSTraceHeader": mine}


def test_an_asynchronous_invocation_runs_in_the_callers_trace(client, endpoint, unique_name):
    sqs, lam = client("sqs"), client("lambda")
    outbox = sqs.create_queue(QueueName=unique_name("async"))["QueueUrl"]
    name = unique_name("later")
    function_arn(lam, name, RECORDER, Environment={"Variables": {"OUT": outbox}})
    answer = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    assert answer["StatusCode"] == 202
    root = trace_id_of(answer["ResponseMetadata"])
    messages = sqs.receive_message(QueueUrl=outbox, WaitTimeSeconds=20)["Messages"]
    spans = spans_of(endpoint, root, until=lambda s: by_name(s, "SQS.SendMessage") and all(x["end"] for x in s))
    invoke, attempt = one(spans, "Lambda.Invoke"), one(spans, "Lambda.AsyncInvoke")
    invocation = one(spans, "Lambda.Invocation")
    assert attempt["parentId"] == invoke["spanId"] and attempt["attributes"]["attempt"] == 1
    assert invocation["parentId"] == attempt["spanId"]
    assert lineage_free(json.loads(messages[0]["Body"])["trace"]) == f"Root={root};Parent={invocation['spanId']};Sampled=1"


def test_the_trace_survives_a_restart_in_a_queued_message(tmp_path, unique_name):
    data = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data)
    try:
        sqs = make_client(server.endpoint, "sqs")
        inbox = sqs.create_queue(QueueName="survivor")["QueueUrl"]
        root = new_root()  # a sender in a traced function: its header names the function's span as parent
        sqs.meta.events.register("before-sign.sqs.SendMessage", lambda request, **_: request.headers.__setitem__(
            "X-Amzn-Trace-Id", f"Root={root};Parent=0123456789abcdef;Sampled=1"))
        sqs.send_message(QueueUrl=inbox, MessageBody="before the restart")
        [send_span] = get_trace(server.endpoint, root)["spans"]
        assert send_span["parentId"] == "0123456789abcdef"
    finally:
        server.stop()
    server = OvercastProcess(data_dir=data)
    try:
        sqs, lam = make_client(server.endpoint, "sqs"), make_client(server.endpoint, "lambda")
        assert httpx.get(f"{server.endpoint}/_overcast/traces/{root}").status_code == 404  # the ring is memory
        outbox = sqs.create_queue(QueueName="after")["QueueUrl"]
        function_arn(lam, "after-restart", RECORDER, Environment={"Variables": {"OUT": outbox}})
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_event_source_mapping(FunctionName="after-restart", EventSourceArn=arn, BatchSize=1)
        assert sqs.receive_message(QueueUrl=outbox, WaitTimeSeconds=20)["Messages"]
        spans = spans_of(server.endpoint, root, until=lambda s: by_name(s, "Lambda.Invocation"))
        batch = one(spans, "Lambda.EventSourceMapping")
        assert batch["traceId"] == root and batch["parentId"] == "0123456789abcdef"  # the header as it was sent
    finally:
        server.stop()


def test_a_rest_api_answers_its_trace_id_and_traces_mapping_templates(client, endpoint, unique_name):
    gw = client("apigateway")
    api = gw.create_rest_api(name=unique_name("mock"))["id"]
    root_resource = gw.get_resources(restApiId=api)["items"][0]["id"]
    gw.put_method(restApiId=api, resourceId=root_resource, httpMethod="POST", authorizationType="NONE")
    gw.put_integration(restApiId=api, resourceId=root_resource, httpMethod="POST", type="MOCK",
                       requestTemplates={"application/json": '{"statusCode": 200}'})
    gw.put_method_response(restApiId=api, resourceId=root_resource, httpMethod="POST", statusCode="200")
    gw.put_integration_response(restApiId=api, resourceId=root_resource, httpMethod="POST", statusCode="200",
                                responseTemplates={"application/json": '{"stage": "$context.stage"}'})
    # a MOCK answers its trace id when the stage traces (tracingEnabled), as AWS's X-Ray tracing
    gw.create_deployment(restApiId=api, stageName="test", tracingEnabled=True)
    answer = httpx.post(f"{endpoint}/restapis/{api}/test/_user_request_/", json={"word": "hello"}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"stage": "test"}
    root = answer.headers["x-amzn-trace-id"].split(";")[0].removeprefix("Root=")
    spans = spans_of(endpoint, root)
    request = one(spans, "APIGateway.Request")
    assert request["parentId"] is None and request["resource"].endswith(f":{api}/test/POST/")
    integration = one(spans, "APIGateway.Integration")
    assert integration["parentId"] == request["spanId"] and integration["attributes"]["integrationType"] == "MOCK"
    templates = by_name(spans, "APIGateway.MappingTemplate")
    assert len(templates) == 2 and all(t["parentId"] == integration["spanId"] for t in templates)
    request_template = next(t for t in templates if "statusCode" in t["attributes"]["template"])
    assert json.loads(request_template["request"]) == {"word": "hello"}
    response_template = next(t for t in templates if "stage" in t["attributes"]["template"])
    assert json.loads(response_template["response"]) == {"stage": "test"}


def test_a_websocket_message_is_a_trace_of_its_own(client, endpoint, stock_counter):
    async def go():
        async with websockets.connect(stock_counter["path_url"] + "?page=ws-trace") as ws:
            await ws.send(json.dumps({"action": "current"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 60))

    assert asyncio.run(go())["productId"] == "ws-trace"
    deadline = time.monotonic() + 20
    while True:
        listed = httpx.get(f"{endpoint}/_overcast/traces", params={"service": "apigatewayv2", "limit": 50}).json()
        message = next((t for t in listed["traces"] if t["root"]["name"] == "ApiGatewayV2.Message"), None)
        if message is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert message is not None
    spans = spans_of(endpoint, message["traceId"], until=lambda s: by_name(s, "DynamoDB.GetItem"))
    root = one(spans, "ApiGatewayV2.Message")
    assert root["attributes"]["routeKey"] == "$default" and json.loads(root["request"]) == {"action": "current"}
    invocation = one(spans, "Lambda.Invocation")
    assert parent_of(spans, parent_of(spans, invocation))["spanId"] == root["spanId"]
    assert all(s["parentId"] == invocation["spanId"] for s in by_name(spans, "DynamoDB.GetItem"))
