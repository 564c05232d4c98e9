"""The real AWS CDK CLI against overcast: `cdk bootstrap` creates the CDKToolkit stack, `cdk deploy`
publishes the app's template to the staging bucket and deploys it through CloudFormation change
sets, the deployed function answers through boto3, `cdk diff` shows a code change and
`cdk deploy --hotswap` applies it without CloudFormation, `cdk destroy`
removes it all. CDK's own Node.js custom resources run on the SDK overcast's Node.js runtime
provides: the bucket's auto-delete-objects empties it on destroy, log retention sets the function's
log group, an AwsCustomResource creates and deletes an SSM parameter. One deploy/destroy cycle (each CDK command synthesises, ~30 s on a loaded machine)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

from tests.deploy_tools import aws_env, node_sdk, tool

APP = os.path.join(os.path.dirname(__file__), "..", "examples", "cdk-hello")


def run(cdk: str, env: dict, cwd: str, *args: str) -> str:
    result = subprocess.run([cdk, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"cdk {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


def test_cdk_bootstrap_deploy_invoke_diff_destroy(endpoint, client, tmp_path, unique_name):
    cdk = tool("cdk")
    node_sdk()  # CDK's custom-resource handlers need it
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    stack_name = unique_name("CdkHello")
    env = aws_env(endpoint, STACK_NAME=stack_name)

    run(cdk, env, str(app), "bootstrap", "aws://000000000000/us-east-1")
    cf = client("cloudformation")
    toolkit = cf.describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    assert toolkit["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    version = client("ssm").get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]["Value"]
    assert int(version) >= 6

    run(cdk, env, str(app), "deploy", "--require-approval", "never")
    stack = cf.describe_stacks(StackName=stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    answer = client("lambda").invoke(FunctionName=outputs["FunctionName"], Payload=b'{"id": "from-cdk"}')
    assert answer.get("FunctionError") is None, answer["Payload"].read()
    assert json.loads(answer["Payload"].read()) == {"hello": "from-cdk", "table": outputs["TableName"]}
    item = client("dynamodb").get_item(TableName=outputs["TableName"], Key={"id": {"S": "from-cdk"}})
    assert item["Item"] == {"id": {"S": "from-cdk"}}
    client("sqs").get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["QueueArn"])
    client("s3").put_object(Bucket=outputs["BucketName"], Key="left/behind.txt", Body=b"auto-deleted on destroy")
    parameter = client("ssm").get_parameter(Name=outputs["ParameterName"])["Parameter"]
    assert parameter["Value"] == "from-an-sdk-call" and outputs["ParameterVersion"] == "1"
    group = client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{outputs['FunctionName']}")["logGroups"]
    assert [g.get("retentionInDays") for g in group] == [7]

    changed = {**env, "GREETING": "hotswapped"}
    assert "Number of stacks with differences: 1" in run(cdk, changed, str(app), "diff")
    run(cdk, changed, str(app), "deploy", "--hotswap", "--require-approval", "never")
    answer = client("lambda").invoke(FunctionName=outputs["FunctionName"], Payload=b'{"id": "again"}')
    assert json.loads(answer["Payload"].read()) == {"hotswapped": "again", "table": outputs["TableName"]}
    assert cf.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"  # no update

    run(cdk, env, str(app), "destroy", "--force")
    with pytest.raises(ClientError):
        cf.describe_stacks(StackName=stack_name)
    with pytest.raises(ClientError):
        client("lambda").get_function(FunctionName=outputs["FunctionName"])
    with pytest.raises(ClientError) as missing:
        client("s3").head_bucket(Bucket=outputs["BucketName"])
    assert missing.value.response["Error"]["Code"] == "404"
    with pytest.raises(ClientError) as missing:
        client("ssm").get_parameter(Name=outputs["ParameterName"])
    assert missing.value.response["Error"]["Code"] == "ParameterNotFound"
