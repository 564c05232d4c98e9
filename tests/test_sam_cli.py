"""The real SAM CLI (aws-sam-cli from PyPI, in its own virtualenv: it pins boto3 and botocore
below the project's) deploying examples/rest-api unchanged: `sam build`, `sam deploy --resolve-s3`
with AWS_ENDPOINT_URL pointing at overcast, the API used, `sam logs` and `sam list endpoints` (which
reads function URLs through the Cloud Control API), an update with a code change and a property
change, `sam delete`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import boto3
import httpx
import pytest
from cognito_support import signed_up_user

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


def _run(endpoint: str, cwd: str, *args: str, stderr: bool = True) -> str:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0", "AWS_PAGER": ""}
    result = subprocess.run([SAM, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"sam {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + (result.stderr if stderr else "")


def test_sam_build_deploy_update_and_delete_the_rest_api_example(endpoint, tmp_path, unique_name):
    app = str(tmp_path / "app")
    shutil.copytree(os.path.join(ROOT, "examples", "rest-api"), app, ignore=shutil.ignore_patterns("deploy.py"))
    stack = unique_name("sam-items")
    _run(endpoint, app, "build")
    deploy = ("deploy", "--stack-name", stack, "--resolve-s3", "--capabilities", "CAPABILITY_IAM",
              "--no-confirm-changeset", "--no-progressbar")
    assert f"Successfully created/updated stack - {stack}" in _run(endpoint, app, *deploy)

    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    cf, apigw, lam = boto3.client("cloudformation", **kw), boto3.client("apigateway", **kw), boto3.client("lambda", **kw)
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

    # a code change and a property change in one deployment
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
    assert f"Successfully created/updated stack - {stack}" in _run(endpoint, app, *deploy)
    listed = httpx.get(f"{url}/items", headers=h, timeout=30).json()
    assert listed["version"] == 2 and [i["name"] for i in listed["items"]] == ["lamp"]
    assert lam.get_function_configuration(FunctionName=out["Function"])["Timeout"] == 20

    assert "Deleted successfully" in _run(endpoint, app, "delete", "--stack-name", stack, "--no-prompts")
    assert not [s for s in cf.list_stacks()["StackSummaries"]
                if s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE"]
    assert httpx.get(f"{url}/items", headers=h).status_code in (403, 404)
