"""The real Serverless Framework v3 against overcast, pointed at it the way its users do it (the
serverless-localstack plugin; the framework's AWS SDK v2 ignores AWS_ENDPOINT_URL): `serverless
deploy` of a service with an HTTP API route, a REST API route and an SQS consumer, both routes
answering over HTTP, the consumer fed from its queue, `serverless invoke -f`, `serverless remove`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.deploy_tools import MODULES, aws_env, tool

SERVICE = os.path.join(os.path.dirname(__file__), "..", "examples", "serverless-hello")


def run(sls: str, env: dict, cwd: str, *args: str) -> str:
    result = subprocess.run([sls, *args, "--stage", "local"], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"serverless {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


def test_serverless_deploy_invoke_and_remove(endpoint, client, tmp_path):
    sls = tool("serverless")
    service = tmp_path / "service"
    shutil.copytree(SERVICE, service)
    os.symlink(MODULES, service / "node_modules")  # where the framework finds its plugins
    env = aws_env(endpoint, OVERCAST_PORT=str(urllib.parse.urlparse(endpoint).port))
    env.pop("AWS_ENDPOINT_URL")  # the plugin's settings alone point the framework at overcast

    run(sls, env, str(service), "deploy")
    stack_name = "overcast-sls-hello-local"
    cf = client("cloudformation")
    stack = cf.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    http_api = next(a for a in client("apigatewayv2").get_apis()["Items"] if "overcast-sls-hello" in a["Name"])
    answer = httpx.get(f"{endpoint}/hello", headers={"Host": f"{http_api['ApiId']}.execute-api.localhost"}, timeout=60)
    assert answer.status_code == 200 and answer.json() == {"hello": "serverless"}
    rest_api = next(a for a in client("apigateway").get_rest_apis()["items"] if "overcast-sls-hello" in a["name"])
    answer = httpx.get(f"{endpoint}/restapis/{rest_api['id']}/local/_user_request_/rest", timeout=60)
    assert answer.status_code == 200 and answer.json() == {"hello": "serverless"}

    client("sqs").send_message(QueueUrl=outputs["JobsUrl"], MessageBody="job")
    logs = client("logs")
    deadline, seen = time.time() + 60, False
    while not seen and time.time() < deadline:
        try:
            events = logs.filter_log_events(logGroupName="/aws/lambda/overcast-sls-hello-local-worker")["events"]
        except ClientError:
            events = []
        seen = any("received 1" in e["message"] for e in events)
        time.sleep(0.2)
    assert seen, "the SQS consumer never ran"

    out = run(sls, env, str(service), "invoke", "-f", "hello")
    assert json.JSONDecoder().raw_decode(out, out.index("{"))[0] == {"statusCode": 200, "body": json.dumps({"hello": "serverless"})}

    run(sls, env, str(service), "remove")
    with pytest.raises(ClientError):
        cf.describe_stacks(StackName=stack_name)
    with pytest.raises(ClientError):
        client("lambda").get_function(FunctionName="overcast-sls-hello-local-hello")
