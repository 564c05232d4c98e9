"""The real SAM CLI (aws-sam-cli from PyPI, in its own virtualenv: it pins boto3 and botocore
below the project's) deploying every example that has a template.yaml, unchanged: `sam build`,
`sam deploy --resolve-s3` with AWS_ENDPOINT_URL pointing at overcast, one request through each.
examples/rest-api also gets `sam logs`, `sam list endpoints` (which reads function URLs through
the Cloud Control API), an update with a code change and a property change, and `sam delete`.

One test, so that the work is shared and side by side: SAM's managed artifacts stack is made once
(by rest-api's deploy, alone: two deploys at once would both try), the other examples build and
deploy at the same time, and rest-api's update runs while they are exercised."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import time

import httpx
import pytest
from cognito_support import signed_up_user

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


OTHERS = ["order-workflow", "webhook-queue", "live-stock-counter", "clickstream", "graphql-products"]


def _deploy(stack: str, app: str) -> tuple[str, ...]:
    args = ("deploy", "--stack-name", stack, "--resolve-s3", "--no-confirm-changeset", "--no-progressbar",
            "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
    return args + (("--parameter-overrides", "BufferSeconds=1") if app == "clickstream" else ())


def _update_and_delete_rest_api(endpoint: str, app: str, stack: str, url: str, headers: dict, lam,
                                function: str) -> None:
    """A code change and a property change in one deployment, then `sam delete`."""
    handler = os.path.join(app, "src", "handler.py")
    with open(handler) as f:
        source = f.read()
    with open(handler, "w") as f:
        f.write(source.replace('{"items": ', '{"version": 2, "items": '))
    with open(os.path.join(app, "template.yaml")) as f:
        template = f.read()
    with open(os.path.join(app, "template.yaml"), "w") as f:
        f.write(template.replace("Timeout: 10", "Timeout: 20"))
    _run(endpoint, app, "build")
    assert f"Successfully created/updated stack - {stack}" in _run(endpoint, app, *_deploy(stack, "rest-api"))
    listed = httpx.get(f"{url}/items", headers=headers, timeout=30).json()
    assert listed["version"] == 2 and [i["name"] for i in listed["items"]] == ["lamp"]
    assert lam.get_function_configuration(FunctionName=function)["Timeout"] == 20
    assert "Deleted successfully" in _run(endpoint, app, "delete", "--stack-name", stack, "--no-prompts")
    assert httpx.get(f"{url}/items", headers=headers, timeout=30).status_code in (403, 404)


def test_sam_cli_builds_deploys_and_deletes_every_example(endpoint, client, tmp_path, unique_name):
    from sfn_support import sfn_client

    apps = ["rest-api", *OTHERS]
    cwd, stacks = {}, {a: unique_name(f"sam-{a}") for a in apps}
    for a in apps:
        cwd[a] = str(tmp_path / a)
        shutil.copytree(os.path.join(ROOT, "examples", a), cwd[a],
                        ignore=shutil.ignore_patterns("deploy.py", "cdk", "serverless.yml"))
    for process in [_start(endpoint, cwd[a], "build") for a in apps]:
        _finish(process)
    app, stack = cwd["rest-api"], stacks["rest-api"]
    assert f"Successfully created/updated stack - {stack}" in _run(endpoint, app, *_deploy(stack, "rest-api"))
    deploying = {a: _start(endpoint, cwd[a], *_deploy(stacks[a], a)) for a in OTHERS}

    cf, apigw, lam = client("cloudformation"), client("apigateway"), client("lambda")
    out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    key = apigw.get_api_key(apiKey=out["ApiKeyId"], includeValue=True)["value"]
    url, h = f"{endpoint}/_aws/execute-api/{out['ApiId']}/prod", {"x-api-key": key}
    signed_in = signed_up_user(endpoint, out["UserPoolId"], out["UserPoolClientId"], f"{stack}@example.com")
    writer = {**h, "Authorization": signed_in["IdToken"]}
    assert httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=h).status_code == 401
    created = httpx.post(f"{url}/items", json={"name": "lamp", "price": 12.5}, headers=writer, timeout=30)
    assert created.status_code == 201, created.text

    # sam logs: the function's log group, read with FilterLogEvents
    logs = _run(endpoint, app, "logs", "--stack-name", stack, "--name", "ItemsFunction")
    assert "START RequestId:" in logs and "REPORT RequestId:" in logs, logs
    # sam list endpoints: the stack's resources, each function's URL read through Cloud Control
    listed = json.loads(_run(endpoint, app, "list", "endpoints", "--stack-name", stack, "--output", "json",
                             stderr=False))
    endpoints = {e["LogicalResourceId"]: e for e in listed}
    assert endpoints["ItemsFunction"]["PhysicalResourceId"] == out["Function"]
    assert endpoints["ItemsFunction"]["CloudEndpoint"] == "-"  # it has no function URL
    assert endpoints["ItemsApi"]["PhysicalResourceId"] == out["ApiId"]
    assert any("/items" in method for method in endpoints["ItemsApi"]["Methods"])

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # rest-api's update and delete, while the others deploy
        updated = pool.submit(_update_and_delete_rest_api, endpoint, app, stack, url, h, lam, out["Function"])
        for a, process in deploying.items():
            assert f"Successfully created/updated stack - {stacks[a]}" in _finish(process)
        _exercise_the_others(endpoint, client, {a: stacks[a] for a in OTHERS}, sfn_client(endpoint))
        for a in OTHERS:  # `sam delete` once is enough: its waiter polls every 30 s
            cf.delete_stack(StackName=stacks[a])
        for a in OTHERS:
            cf.get_waiter("stack_delete_complete").wait(StackName=stacks[a], WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
        updated.result()
    assert not [s for s in cf.list_stacks()["StackSummaries"]
                if s["StackName"] in stacks.values() and s["StackStatus"] != "DELETE_COMPLETE"]


def _exercise_the_others(endpoint: str, client, stacks: dict, sfn) -> None:
    """One request through each example the SAM CLI deployed besides rest-api; the buckets
    emptied after, as CloudFormation deletes only an empty bucket."""
    cf, s3 = client("cloudformation"), client("s3")
    out = {a: {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=s)["Stacks"][0]["Outputs"]}
           for a, s in stacks.items()}

    # order-workflow: an order posted to the HTTP API is reserved and reaches the approvals queue
    o = out["order-workflow"]
    started = httpx.post(f"{endpoint}/_aws/execute-api/{o['ApiId']}/orders",
                         json={"orderId": "o-1", "item": "lamp", "quantity": 2}, timeout=30)
    assert started.status_code == 200 and started.json()["executionArn"].startswith("arn:aws:states:"), started.text
    asked = client("sqs").receive_message(QueueUrl=o["ApprovalsUrl"], WaitTimeSeconds=20)["Messages"]
    assert json.loads(asked[0]["Body"])["order"]["reservation"] == {"reserved": True}
    sfn.stop_execution(executionArn=started.json()["executionArn"])

    # webhook-queue: a webhook answered 202 (stored by the queue's consumer, checked below)
    w = out["webhook-queue"]
    hook = httpx.post(f"{endpoint}/_aws/execute-api/{w['ApiId']}/live/webhook", json={"number": 7},
                      headers={"X-Webhook-Source": "github"}, timeout=30)
    assert hook.status_code == 202, hook.text

    # graphql-products: the catalogue read with the API key
    g = out["graphql-products"]
    query = httpx.post(f"{endpoint}/_aws/appsync/{g['ApiId']}/graphql", headers={"x-api-key": g["ApiKey"]}, timeout=30,
                       json={"query": '{ productsByCategory(category: "home") { items { name } nextToken } }'})
    assert query.json() == {"data": {"productsByCategory": {"items": [], "nextToken": None}}}, query.text

    # clickstream: a click put on the stream lands in the bucket through Firehose (checked below)
    c = out["clickstream"]
    click = {"visitor": "u1", "page": "/home", "ts": "2026-01-01T00:00:00Z", "referrer": "direct"}
    client("kinesis").put_record(StreamName=c["Stream"], PartitionKey="u1", Data=(json.dumps(click) + "\n").encode())

    # live-stock-counter: a change in DynamoDB pushed to a watcher over the WebSocket API
    ws = out["live-stock-counter"]
    stock_counter_pushes(client, f"{endpoint.replace('http', 'ws', 1)}/_aws/execute-api/{ws['ApiId']}/prod",
                         ws["StockTable"])

    deadline, stored, landed = time.monotonic() + 30, [], []
    while time.monotonic() < deadline and not (stored and landed):
        stored = client("dynamodb").scan(TableName=w["Table"])["Items"]
        landed = s3.list_objects_v2(Bucket=c["Bucket"], Prefix="clicks/").get("Contents", [])
        time.sleep(0.2)
    assert stored and json.loads(stored[0]["payload"]["S"]) == {"number": 7}, "the webhook was not stored"
    assert landed, "no click reached the bucket"
    for bucket in (c["Bucket"], o["Bucket"]):
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
