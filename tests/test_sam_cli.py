"""The real SAM CLI (aws-sam-cli from PyPI, in its own virtualenv: it pins boto3 and botocore
below the project's) taking every example through a user's whole cycle, unchanged, with
AWS_ENDPOINT_URL pointing at overcast: `sam build`, `sam deploy --resolve-s3`, requests through
the deployed app, an update with a code change and a property change (both checked through the
service's API and by a request), and `sam delete --no-prompts`, after which the stack and its
resources are gone (each asked through its service's API). examples/rest-api also gets
`sam logs` and `sam list endpoints` (which reads function URLs through the Cloud Control API).
examples/cdk-hello and examples/serverless-hello are the CDK's and the Serverless Framework's
starter apps; their template.yaml deploys the same app with SAM.

One test, so that the work is side by side: SAM's managed artifacts stack is made once (by
rest-api's deploy, alone: two deploys at once would both try), then every example goes through its
cycle in a thread of its own. `sam delete` waits for the stack with botocore's waiter at a fixed
30 s delay (samcli/lib/delete/cfn_utils.py; SAM_CLI_POLL_DELAY does not reach it), so the deletes
overlap rather than follow one another."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import subprocess
import threading
import time

import httpx
import pytest
import websockets
from botocore.exceptions import ClientError
from cognito_support import signed_up_user
from sfn_support import sfn_client

from tests.example_checks import stock_counter_pushes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sam() -> str | None:
    for candidate in (os.environ.get("OVERCAST_SAM_CLI"), os.path.join(ROOT, ".venv-sam", "bin", "sam"),
                      shutil.which("sam")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


SAM = _sam()
if SAM is None and os.environ.get("OVERCAST_REQUIRE_SAM"):
    raise RuntimeError("the SAM CLI is required (OVERCAST_REQUIRE_SAM) but .venv-sam/bin/sam is missing")
pytestmark = pytest.mark.skipif(SAM is None, reason="SAM CLI not installed (.ci/run installs it into .venv-sam)")


def _env(endpoint: str) -> dict:
    return {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0", "AWS_PAGER": "",
            # the SAM CLI's documented poll interval (default 5 s) for change sets and stack events
            "SAM_CLI_POLL_DELAY": "0.5"}


def _run(endpoint: str, cwd: str, *args: str, stderr: bool = True) -> str:
    result = subprocess.run([SAM, *args], cwd=cwd, env=_env(endpoint), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"sam {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + (result.stderr if stderr else "")


def _start(endpoint: str, cwd: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([SAM, *args], cwd=cwd, env=_env(endpoint), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen) -> str:
    out = process.communicate(timeout=600)[0]
    assert process.returncode == 0, f"{' '.join(process.args)} failed:\n{out}"
    return out


APPS = ["rest-api", "order-workflow", "webhook-queue", "live-stock-counter", "clickstream", "graphql-products",
        "cdk-hello", "serverless-hello"]

# Each example's update: a code change and a property change, as (file, text, replacement); and
# the function whose configuration shows the property change: (logical id, field, new value).
UPDATES = {
    "rest-api": [("src/handler.py", '{"items": ', '{"version": 2, "items": '),
                 ("template.yaml", "Timeout: 10", "Timeout: 20")],
    "order-workflow": [("functions/reserve.py", '"status": "RESERVED"}', '"status": "RESERVED", "version": 2}'),
                       ("template.yaml", "Timeout: 30", "Timeout: 40")],
    "webhook-queue": [("functions/consumer.py", '"payload": json.dumps(body),', '"payload": json.dumps(body), "version": 2,'),
                      ("template.yaml", "python3.12\n      Timeout: 5", "python3.12\n      Timeout: 4")],
    "live-stock-counter": [("functions/current.py", '"stock": count}', '"stock": count, "version": 2}'),
                           ("template.yaml", "Timeout: 30", "Timeout: 40")],
    "clickstream": [("src/report.py", '"rows": len(report)}', '"rows": len(report), "version": 2}'),
                    ("template.yaml", "Timeout: 120", "Timeout: 90")],
    "graphql-products": [("functions/pricing.py", '"DE": 0.19', '"DE": 0.5'),
                         ("template.yaml", "Handler: pricing.handler", "Handler: pricing.handler\n      MemorySize: 256")],
    "cdk-hello": [("template.yaml", 'return {"hello": ', 'return {"hi": '),
                  ("template.yaml", "Handler: index.handler", "Handler: index.handler\n      Timeout: 9")],
    "serverless-hello": [("handler.py", '{"hello": os.environ', '{"hi": os.environ'),
                         ("template.yaml", "GREETING: serverless", "GREETING: sam")],
}
CHANGED = {"rest-api": ("ItemsFunction", "Timeout", 20), "order-workflow": ("ReserveFunction", "Timeout", 40),
           "webhook-queue": ("Consumer", "Timeout", 4), "live-stock-counter": ("CurrentFunction", "Timeout", 40),
           "clickstream": ("Report", "Timeout", 90), "graphql-products": ("Pricing", "MemorySize", 256),
           "cdk-hello": ("Hello", "Timeout", 9), "serverless-hello": ("Hello", "Environment", {"Variables": {"GREETING": "sam"}})}


def _deploy(stack: str, app: str) -> tuple[str, ...]:
    args = ("deploy", "--stack-name", stack, "--resolve-s3", "--no-confirm-changeset", "--no-progressbar",
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
    return args + (("--parameter-overrides", "BufferSeconds=1") if app == "clickstream" else ())


class _App:
    """One example's copy, stack and outputs, and boto3 clients made one at a time (boto3's
    default session is not safe to make clients from in several threads at once)."""

    lock = threading.Lock()

    def __init__(self, name: str, endpoint: str, client, cwd: str, stack: str):
        self.name, self.endpoint, self._client, self.cwd, self.stack = name, endpoint, client, cwd, stack
        self.out: dict = {}

    def client(self, service: str):
        with self.lock:
            return self._client(service)

    def sam(self, *args: str, stderr: bool = True) -> str:
        return _run(self.endpoint, self.cwd, *args, stderr=stderr)

    def deploy(self) -> None:
        assert f"Successfully created/updated stack - {self.stack}" in self.sam(*_deploy(self.stack, self.name))
        described = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        self.out = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    def physical_id(self, logical_id: str) -> str:
        return self.client("cloudformation").describe_stack_resource(
            StackName=self.stack, LogicalResourceId=logical_id)["StackResourceDetail"]["PhysicalResourceId"]

    def update(self) -> None:
        """The code change and the property change, built and deployed as a user would."""
        for path, text, replacement in UPDATES[self.name]:
            with open(os.path.join(self.cwd, path)) as f:
                source = f.read()
            assert source.count(text) == 1, f"{self.name}/{path}: {text!r} is not there once"
            with open(os.path.join(self.cwd, path), "w") as f:
                f.write(source.replace(text, replacement))
        self.sam("build")
        self.deploy()
        logical_id, field, value = CHANGED[self.name]
        configuration = self.client("lambda").get_function_configuration(FunctionName=self.physical_id(logical_id))
        assert configuration[field] == value, configuration

    def delete(self) -> None:
        """`sam delete`, then the stack and each of its resources gone, through their APIs."""
        cf = self.client("cloudformation")
        resources = [(r["ResourceType"], r["PhysicalResourceId"]) for r in
                     cf.list_stack_resources(StackName=self.stack)["StackResourceSummaries"]]
        if self.name != "cdk-hello":  # cdk-hello's custom resource empties its bucket itself, as CDK's does
            s3 = self.client("s3")
            for bucket in [pid for kind, pid in resources if kind == "AWS::S3::Bucket"]:
                for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=item["Key"])
        assert "Deleted successfully" in self.sam("delete", "--stack-name", self.stack, "--no-prompts")
        with pytest.raises(ClientError) as info:
            cf.describe_stacks(StackName=self.stack)
        assert info.value.response["Error"] == {"Type": "Sender", "Code": "ValidationError",
                                                "Message": f"Stack with id {self.stack} does not exist"}
        checked = {kind for kind, pid in resources if _gone(self, kind, pid)}
        assert {"AWS::Lambda::Function", "AWS::IAM::Role"} <= checked, checked


# What each service answers for a resource that is not there, by resource type
_MISSING = {
    "AWS::Lambda::Function": ("lambda", "get_function", lambda p: {"FunctionName": p}, "ResourceNotFoundException"),
    "AWS::Lambda::LayerVersion": ("lambda", "get_layer_version_by_arn", lambda p: {"Arn": p}, "ResourceNotFoundException"),
    "AWS::IAM::Role": ("iam", "get_role", lambda p: {"RoleName": p}, "NoSuchEntity"),
    "AWS::DynamoDB::Table": ("dynamodb", "describe_table", lambda p: {"TableName": p}, "ResourceNotFoundException"),
    "AWS::SQS::Queue": ("sqs", "get_queue_attributes", lambda p: {"QueueUrl": p}, "AWS.SimpleQueueService.NonExistentQueue"),
    "AWS::S3::Bucket": ("s3", "head_bucket", lambda p: {"Bucket": p}, "404"),
    "AWS::SNS::Topic": ("sns", "get_topic_attributes", lambda p: {"TopicArn": p}, "NotFound"),
    "AWS::ApiGateway::RestApi": ("apigateway", "get_rest_api", lambda p: {"restApiId": p}, "NotFoundException"),
    "AWS::ApiGatewayV2::Api": ("apigatewayv2", "get_api", lambda p: {"ApiId": p}, "NotFoundException"),
    "AWS::StepFunctions::StateMachine": ("stepfunctions", "describe_state_machine",
                                         lambda p: {"stateMachineArn": p}, "StateMachineDoesNotExist"),
    "AWS::Kinesis::Stream": ("kinesis", "describe_stream_summary", lambda p: {"StreamName": p}, "ResourceNotFoundException"),
    "AWS::KinesisFirehose::DeliveryStream": ("firehose", "describe_delivery_stream",
                                             lambda p: {"DeliveryStreamName": p}, "ResourceNotFoundException"),
    "AWS::Cognito::UserPool": ("cognito-idp", "describe_user_pool", lambda p: {"UserPoolId": p}, "ResourceNotFoundException"),
    "AWS::AppSync::GraphQLApi": ("appsync", "get_graphql_api", lambda p: {"apiId": p.split("/")[-1]}, "NotFoundException"),
    "AWS::Glue::Database": ("glue", "get_database", lambda p: {"Name": p}, "EntityNotFoundException"),
    "AWS::SSM::Parameter": ("ssm", "get_parameter", lambda p: {"Name": p}, "ParameterNotFound"),
}


def _gone(app: _App, kind: str, physical_id: str) -> bool:
    """Asserts that the resource is gone when its type is one the test knows how to ask about."""
    if kind == "AWS::Logs::LogGroup":
        assert not app.client("logs").describe_log_groups(logGroupNamePrefix=physical_id)["logGroups"]
        return True
    if kind not in _MISSING:
        return False
    service, method, params, code = _MISSING[kind]
    with pytest.raises(ClientError) as info:
        getattr(app.client(service), method)(**params(physical_id))
    assert info.value.response["Error"]["Code"] == code, (kind, physical_id, info.value.response["Error"])
    return True


def _rest_api(app: _App) -> None:
    """Requests, `sam logs`, `sam list endpoints`; the update; `sam delete`."""
    out, apigw = app.out, app.client("apigateway")
    key = apigw.get_api_key(apiKey=out["ApiKeyId"], includeValue=True)["value"]
    url, h = f"{app.endpoint}/_aws/execute-api/{out['ApiId']}/prod", {"x-api-key": key}
    signed_in = signed_up_user(app.endpoint, out["UserPoolId"], out["UserPoolClientId"], f"{app.stack}@example.com")
    writer = {**h, "Authorization": signed_in["IdToken"]}
    assert httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=h).status_code == 401
    created = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=writer, timeout=30)
    assert created.status_code == 201, created.text

    # sam logs: the function's log group, read with FilterLogEvents
    logs = app.sam("logs", "--stack-name", app.stack, "--name", "ItemsFunction")
    assert "START RequestId:" in logs and "REPORT RequestId:" in logs, logs
    # sam list endpoints: the stack's resources, each function's URL read through Cloud Control
    listed = json.loads(app.sam("list", "endpoints", "--stack-name", app.stack, "--output", "json", stderr=False))
    endpoints = {e["LogicalResourceId"]: e for e in listed}
    assert endpoints["ItemsFunction"]["PhysicalResourceId"] == out["Function"]
    assert endpoints["ItemsFunction"]["CloudEndpoint"] == "-"  # it has no function URL
    assert endpoints["ItemsApi"]["PhysicalResourceId"] == out["ApiId"]
    assert any("/items" in method for method in endpoints["ItemsApi"]["Methods"])

    app.update()
    listed = httpx.get(f"{url}/items", headers=h, timeout=30).json()
    assert listed["version"] == 2 and [i["name"] for i in listed["items"]] == ["lamp"]
    app.delete()
    assert httpx.get(f"{url}/items", headers=h, timeout=30).status_code in (403, 404)


def _until(found, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s")


def _order_workflow(app: _App) -> None:
    """An order posted to the HTTP API is reserved and reaches the approvals queue; after the
    update the reservation carries the new code's mark."""
    o, ddb = app.out, app.client("dynamodb")
    with app.lock:
        sfn = sfn_client(app.endpoint)

    def order(order_id: str) -> str:
        started = httpx.post(f"{app.endpoint}/_aws/execute-api/{o['ApiId']}/orders",
                             json={"orderId": order_id, "item": "lamp", "quantity": 2}, timeout=30)
        assert started.status_code == 200 and started.json()["executionArn"].startswith("arn:aws:states:"), started.text
        return started.json()["executionArn"]

    execution = order("o-1")
    asked = app.client("sqs").receive_message(QueueUrl=o["ApprovalsUrl"], WaitTimeSeconds=20)["Messages"]
    assert json.loads(asked[0]["Body"])["order"]["reservation"] == {"reserved": True}
    sfn.stop_execution(executionArn=execution)

    app.update()
    execution = order("o-2")
    item = _until(lambda: ddb.get_item(TableName=o["Table"], Key={"id": {"S": "o-2"}}).get("Item"), "o-2 reserved")
    assert item["status"] == {"S": "RESERVED"} and item["version"] == {"N": "2"}, item
    sfn.stop_execution(executionArn=execution)
    app.delete()


def _webhook_queue(app: _App) -> None:
    """A webhook answered 202 and stored by the queue's consumer; after the update the stored item
    carries the new code's mark."""
    w, ddb = app.out, app.client("dynamodb")

    def hook(number: int) -> dict:
        sent = httpx.post(f"{app.endpoint}/_aws/execute-api/{w['ApiId']}/live/webhook", json={"number": number},
                          headers={"X-Webhook-Source": "github"}, timeout=30)
        assert sent.status_code == 202, sent.text
        return _until(lambda: [i for i in ddb.scan(TableName=w["Table"])["Items"]
                               if json.loads(i["payload"]["S"]) == {"number": number}], f"webhook {number} stored")[0]

    assert "version" not in hook(7)
    app.update()
    assert hook(8)["version"] == {"N": "2"}
    app.delete()


def _live_stock_counter(app: _App) -> None:
    """A change in DynamoDB pushed to a watcher over the WebSocket API; after the update the
    current count comes back with the new code's mark."""
    ws = app.out
    url = f"{app.endpoint.replace('http', 'ws', 1)}/_aws/execute-api/{ws['ApiId']}/prod"
    stock_counter_pushes(app.client, url, ws["StockTable"])
    app.update()

    async def current():
        async with websockets.connect(url + "?page=p1") as watcher:
            await watcher.send(json.dumps({"action": "current"}))
            return json.loads(await asyncio.wait_for(watcher.recv(), 60))

    assert asyncio.run(current()) == {"productId": "p1", "stock": 7, "version": 2}
    app.delete()


def _clickstream(app: _App) -> None:
    """A click put on the stream lands in the bucket through Firehose; after the update the
    report function (crawler, then Athena) answers with the new code's mark."""
    c, s3 = app.out, app.client("s3")
    click = {"visitor": "u1", "page": "/home", "ts": "2026-01-01T00:00:00Z", "referrer": "direct"}
    app.client("kinesis").put_record(StreamName=c["Stream"], PartitionKey="u1", Data=(json.dumps(click) + "\n").encode())
    _until(lambda: s3.list_objects_v2(Bucket=c["Bucket"], Prefix="clicks/").get("Contents"), "a click in the bucket")
    app.update()
    answer = app.client("lambda").invoke(FunctionName=c["Function"], Payload=b"{}")
    report = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer and report["version"] == 2, report
    app.delete()


def _graphql_products(app: _App) -> None:
    """The catalogue read with the API key; after the update a product's priceWithTax (the direct
    Lambda resolver) is the new code's."""
    g = app.out

    def query(text: str) -> dict:
        answer = httpx.post(f"{app.endpoint}/_aws/appsync/{g['ApiId']}/graphql", headers={"x-api-key": g["ApiKey"]},
                            json={"query": text}, timeout=30)
        return answer.json()

    assert query('{ productsByCategory(category: "home") { items { name } nextToken } }') == {
        "data": {"productsByCategory": {"items": [], "nextToken": None}}}
    app.client("dynamodb").put_item(TableName=g["Table"], Item={
        "id": {"S": "p1"}, "name": {"S": "lamp"}, "category": {"S": "home"}, "price": {"N": "10"}})
    assert query('{ getProduct(id: "p1") { priceWithTax } }') == {"data": {"getProduct": {"priceWithTax": 11.9}}}
    app.update()
    assert query('{ getProduct(id: "p1") { priceWithTax } }') == {"data": {"getProduct": {"priceWithTax": 15.0}}}
    app.delete()


def _cdk_hello(app: _App) -> None:
    """The function writes to the table; the site is in the bucket under web/ (copied by the
    custom resource from its layer); the parameter is there; the log group keeps a week. After the
    update the function answers with the new code."""
    o, lam = app.out, app.client("lambda")

    def invoke(item_id: str) -> dict:
        answer = lam.invoke(FunctionName=o["FunctionName"], Payload=json.dumps({"id": item_id}).encode())
        assert "FunctionError" not in answer
        return json.loads(answer["Payload"].read())

    assert invoke("a") == {"hello": "a", "table": o["TableName"]}
    assert app.client("dynamodb").get_item(TableName=o["TableName"], Key={"id": {"S": "a"}})["Item"]
    s3 = app.client("s3")
    assert sorted(i["Key"] for i in s3.list_objects_v2(Bucket=o["BucketName"])["Contents"]) == [
        "web/css/site.css", "web/index.html"]
    assert s3.get_object(Bucket=o["BucketName"], Key="web/index.html")["ContentType"] == "text/html"
    assert app.client("ssm").get_parameter(Name=o["ParameterName"])["Parameter"]["Value"] == "from-an-sdk-call"
    groups = app.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{o['FunctionName']}")["logGroups"]
    assert [g["retentionInDays"] for g in groups] == [7]
    app.update()
    assert invoke("b") == {"hi": "b", "table": o["TableName"]}
    app.delete()


def _serverless_hello(app: _App) -> None:
    """GET /hello on the HTTP API and GET /rest on the REST API; after the update (new code, new
    GREETING) the answer is the new one."""
    o = app.out
    hello = f"{app.endpoint}/_aws/execute-api/{o['HttpApiId']}/hello"
    assert httpx.get(hello, timeout=30).json() == {"hello": "serverless"}
    assert httpx.get(f"{app.endpoint}/_aws/execute-api/{o['RestApiId']}/Prod/rest", timeout=30).json() == {
        "hello": "serverless"}
    app.update()
    assert httpx.get(hello, timeout=30).json() == {"hi": "sam"}
    app.delete()


CYCLES = {"rest-api": _rest_api, "order-workflow": _order_workflow, "webhook-queue": _webhook_queue,
          "live-stock-counter": _live_stock_counter, "clickstream": _clickstream,
          "graphql-products": _graphql_products, "cdk-hello": _cdk_hello, "serverless-hello": _serverless_hello}


def test_sam_cli_deploys_updates_and_deletes_every_example(endpoint, client, tmp_path, unique_name):
    apps = {}
    for name in APPS:
        cwd = str(tmp_path / name)
        shutil.copytree(os.path.join(ROOT, "examples", name), cwd,
                        ignore=shutil.ignore_patterns("deploy.py", "cdk", "serverless.yml", "app.js", "cdk.json"))
        apps[name] = _App(name, endpoint, client, cwd, unique_name(f"sam-{name}"))
    for process in [_start(endpoint, app.cwd, "build") for app in apps.values()]:
        _finish(process)
    apps["rest-api"].deploy()  # alone: it makes SAM's managed artifacts stack

    def cycle(app: _App) -> None:
        if not app.out:
            app.deploy()
        CYCLES[app.name](app)

    with concurrent.futures.ThreadPoolExecutor(len(apps)) as pool:
        running = {name: pool.submit(cycle, app) for name, app in apps.items()}
        for future in running.values():
            future.result()


def test_every_example_template_is_cfn_lint_clean():
    """cfn-lint (installed with the SAM CLI, which runs it for `sam validate --lint`) finds nothing
    to say about any example's template.yaml."""
    lint = os.path.join(os.path.dirname(SAM), "cfn-lint")
    if not os.path.exists(lint):
        pytest.skip(f"no cfn-lint beside {SAM}")
    templates = [os.path.join(ROOT, "examples", name, "template.yaml") for name in APPS]
    result = subprocess.run([lint, *templates], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
