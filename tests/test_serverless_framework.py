"""The real Serverless Framework v3 against overcast, pointed at it the way its users do it (the
serverless-localstack plugin; the framework's AWS SDK v2 ignores AWS_ENDPOINT_URL).

examples/serverless-hello has a function per event type (httpApi, http, sqs, sns, DynamoDB and
Kinesis streams, s3 on a bucket it creates and on an existing one, schedule, eventBridge): each
fires; `serverless invoke -f`, `logs -f`, `info`, `deploy function -f` and `remove` work. The
seed's examples as `serverless.yml` (rest-api, webhook-queue, live-stock-counter) deploy and behave
as their READMEs say (tests/example_checks.py). One deploy per service."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.parse

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.deploy_tools import MODULES, aws_env, node_sdk, tool
from tests.example_checks import rest_api_behaves, stock_counter_pushes, webhooks_behave

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def service(tmp_path, example: str, *code: str) -> str:
    """A copy of the example's serverless.yml and code, where the framework finds its plugin."""
    folder = tmp_path / example
    folder.mkdir()
    for name in ("serverless.yml", *code):
        source = os.path.join(EXAMPLES, example, name)
        (shutil.copytree if os.path.isdir(source) else shutil.copy)(source, folder / name)
    os.symlink(MODULES, folder / "node_modules")
    return str(folder)


def framework(endpoint: str):
    """run(cwd, *args) -> the output of `serverless <args> --stage local`, pointed at overcast by the
    plugin's settings alone."""
    sls = tool("serverless")
    env = aws_env(endpoint, OVERCAST_PORT=str(urllib.parse.urlparse(endpoint).port))
    env.pop("AWS_ENDPOINT_URL")

    def run(cwd: str, *args: str) -> str:
        result = subprocess.run([sls, *args, "--stage", "local"], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=600, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, \
            f"serverless {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        return result.stdout + result.stderr

    return run


def outputs(client, stack_name: str) -> dict:
    stack = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def wait_for_logs(client, expected: dict[str, str], timeout: float = 60) -> None:
    """Until each function's log group (overcast-sls-hello-local-<function>) has a line containing
    its expected text."""
    logs, missing = client("logs"), dict(expected)
    deadline = time.monotonic() + timeout
    while missing and time.monotonic() < deadline:
        for function, text in list(missing.items()):
            try:
                events = logs.filter_log_events(logGroupName=f"/aws/lambda/overcast-sls-hello-local-{function}")["events"]
            except ClientError:
                events = []
            if any(text in e["message"] for e in events):
                del missing[function]
        time.sleep(0.3)
    assert not missing, f"these functions never ran: {missing}"


def removed(client, stack_name: str, function: str) -> None:
    with pytest.raises(ClientError):
        client("cloudformation").describe_stacks(StackName=stack_name)
    with pytest.raises(ClientError):
        client("lambda").get_function(FunctionName=function)


def test_serverless_event_types_and_commands(endpoint, client, tmp_path):
    run = framework(endpoint)
    node_sdk()  # the framework's custom resource needs it
    cwd = service(tmp_path, "serverless-hello", "handler.py")
    archive = "overcast-sls-hello-local-archive"  # an existing bucket: hooked up by the framework's custom resource
    client("s3").create_bucket(Bucket=archive)
    run(cwd, "deploy")
    out = outputs(client, "overcast-sls-hello-local")

    http_api = out["HttpApiId"]
    answer = httpx.get(f"{endpoint}/hello", headers={"Host": f"{http_api}.execute-api.localhost"}, timeout=60)
    assert answer.status_code == 200 and answer.json() == {"hello": "serverless"}
    rest_api = out["ServiceEndpoint"].split("//", 1)[1].split(".", 1)[0]
    answer = httpx.get(f"{endpoint}/restapis/{rest_api}/local/_user_request_/rest", timeout=60)
    assert answer.status_code == 200 and answer.json() == {"hello": "serverless"}

    client("sqs").send_message(QueueUrl=out["JobsUrl"], MessageBody="job")
    topic = next(t["TopicArn"] for t in client("sns").list_topics()["Topics"]
                 if t["TopicArn"].endswith(":overcast-sls-hello-local-alerts"))
    client("sns").publish(TopicArn=topic, Message="alert")
    client("dynamodb").put_item(TableName=out["ItemsTable"], Item={"id": {"S": "changed"}})
    client("kinesis").put_record(StreamName=out["ClicksStream"], Data=b'{"page": "/"}', PartitionKey="visitor")
    client("s3").put_object(Bucket="overcast-sls-hello-local-uploads", Key="upload.txt", Body=b"uploaded")
    client("s3").put_object(Bucket=archive, Key="archived.txt", Body=b"archived")
    client("events").put_events(Entries=[{"Source": "overcast.sls-hello", "DetailType": "OrderPlaced", "Detail": "{}"}])
    wait_for_logs(client, {"worker": "seen aws:sqs 1", "alerts": "seen aws:sns 1", "changes": "seen aws:dynamodb 1",
                           "clicks": "seen aws:kinesis 1",
                           "uploads": "seen aws:s3 1", "archive": "seen aws:s3 1", "orders": "seen overcast.sls-hello OrderPlaced"})

    assert "seen aws:sqs 1" in run(cwd, "logs", "-f", "worker")
    info = run(cwd, "info")
    for line in ("stack: overcast-sls-hello-local", f"GET - https://{http_api}.execute-api.localhost.localstack.cloud:",
                 "orders: overcast-sls-hello-local-orders"):
        assert line in info, info
    out_text = run(cwd, "invoke", "-f", "hello")
    assert json.JSONDecoder().raw_decode(out_text, out_text.index("{"))[0] == {
        "statusCode": 200, "body": json.dumps({"hello": "serverless"})}

    handler = os.path.join(cwd, "handler.py")
    with open(handler) as f:
        source = f.read()
    with open(handler, "w") as f:
        f.write(source.replace('{"hello": os.environ["GREETING"]}', '{"hello": os.environ["GREETING"], "version": 2}'))
    assert "Function code deployed" in run(cwd, "deploy", "function", "-f", "hello")
    answer = httpx.get(f"{endpoint}/hello", headers={"Host": f"{http_api}.execute-api.localhost"}, timeout=60)
    assert answer.json() == {"hello": "serverless", "version": 2}

    # the schedule: its rule, fired now through overcast's test clock instead of waiting a minute
    events = client("events")
    tick = client("lambda").get_function(FunctionName="overcast-sls-hello-local-tick")["Configuration"]["FunctionArn"]
    rule = events.describe_rule(Name=events.list_rule_names_by_target(TargetArn=tick)["RuleNames"][0])
    assert rule["ScheduleExpression"] == "rate(1 minute)" and rule["State"] == "ENABLED"
    fired = httpx.post(f"{endpoint}/_overcast/events/fire", params={"rule": rule["Arn"]},
                       headers={"X-Overcast-Request": "1"})
    assert fired.status_code == 200, fired.text
    wait_for_logs(client, {"tick": "seen aws.events Scheduled Event"})

    # CloudFormation does not delete a bucket that holds objects (as on AWS): empty it first
    client("s3").delete_object(Bucket="overcast-sls-hello-local-uploads", Key="upload.txt")
    run(cwd, "remove")
    removed(client, "overcast-sls-hello-local", "overcast-sls-hello-local-hello")
    with pytest.raises(ClientError):
        client("s3").head_bucket(Bucket="overcast-sls-hello-local-uploads")
    # the existing bucket stays, without the notification the custom resource had added
    assert "LambdaFunctionConfigurations" not in client("s3").get_bucket_notification_configuration(Bucket=archive)


@contextlib.contextmanager
def deployed(endpoint: str, client, tmp_path, example: str, code: str, stack_name: str, function: str):
    """with deployed(...) as (printed, outputs): the example's serverless.yml deployed (what the
    framework printed, the stack's outputs), removed on the way out, with its stack and `function`
    gone."""
    run = framework(endpoint)
    cwd = service(tmp_path, example, code)
    printed = run(cwd, "deploy")
    yield printed, outputs(client, stack_name)
    run(cwd, "remove")
    removed(client, stack_name, function)


def test_the_rest_api_example_as_a_serverless_service(endpoint, client, tmp_path):
    with deployed(endpoint, client, tmp_path, "rest-api", "src", "overcast-items-local", "overcast-items-local-items") \
            as (printed, out):
        key = client("apigateway").get_api_keys(nameQuery="overcast-items-local", includeValues=True)["items"][0]["value"]
        assert f"overcast-items-local: {key}" in printed  # the framework prints the key
        rest_api_behaves(endpoint, f"{endpoint}/restapis/{out['ApiId']}/local/_user_request_", key, out["UserPoolId"],
                         out["UserPoolClientId"])


def test_the_webhook_example_as_a_serverless_service(endpoint, client, tmp_path):
    with deployed(endpoint, client, tmp_path, "webhook-queue", "functions", "overcast-webhooks-local",
                  "overcast-webhooks-local-consumer") as (_, out):
        webhooks_behave(client, f"{endpoint}/_aws/execute-api/{out['ApiId']}/live/webhook", out["QueueUrl"], out["Table"],
                        out["DeadLetterQueueUrl"])


def test_the_live_stock_counter_as_a_serverless_service(endpoint, client, tmp_path):
    with deployed(endpoint, client, tmp_path, "live-stock-counter", "functions", "overcast-stock-local",
                  "overcast-stock-local-push") as (printed, out):
        # the WebSocket URL as the plugin prints it, with a ws:// scheme
        printed_url = f"{endpoint}/restapis/{out['ApiId']}/local/_user_request_"
        assert f"endpoint: {printed_url}" in printed
        stock_counter_pushes(client, printed_url.replace("http", "ws", 1), out["StockTable"])


def test_an_event_type_overcast_cannot_serve_fails_the_deployment_naming_it(endpoint, client, tmp_path):
    run = framework(endpoint)
    cwd = service(tmp_path, "serverless-hello", "handler.py")
    with open(os.path.join(cwd, "serverless.yml"), "w") as f:
        f.write("""service: overcast-sls-iot
frameworkVersion: '3'
provider: {name: aws, runtime: python3.11, region: us-east-1}
plugins: [serverless-localstack]
custom:
  localstack: {stages: [local], host: 'http://localhost', edgePort: '${env:OVERCAST_PORT}'}
package: {patterns: ['!node_modules/**']}
functions:
  readings:
    handler: handler.seen
    events:
      - iot: {sql: "SELECT * FROM 'sensors/#'"}
""")
    with pytest.raises(AssertionError) as failed:
        run(cwd, "deploy")
    assert "Resource type AWS::IoT::TopicRule is not supported by overcast" in str(failed.value)
    stack = client("cloudformation").describe_stacks(StackName="overcast-sls-iot-local")["Stacks"][0]
    assert stack["StackStatus"] in ("UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE")
    run(cwd, "remove")
