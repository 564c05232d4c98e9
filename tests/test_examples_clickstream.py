"""examples/clickstream deployed and exercised: clicks through Kinesis, Firehose, S3, the crawler
and Athena, the report run by its EventBridge schedule (fired now through the test clock)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

from tests.example_checks import clickstream_reports

FAST = {"Delay": 0.2, "MaxAttempts": 300}
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "clickstream")


def _load():
    spec = importlib.util.spec_from_file_location("example_clickstream", os.path.join(ROOT, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clickstream_example_reports_top_pages(endpoint, client):
    example = _load()
    out = example.deploy(endpoint, buffer_seconds=1)
    clickstream_reports(endpoint, client, out["stream"], out["bucket"], out["ruleArn"], out["database"])


def aws(endpoint: str, *args: str) -> str:
    """The AWS CLI pointed at overcast by AWS_ENDPOINT_URL, as a user sets it: `cloudformation
    package` makes its own S3 client, which --endpoint-url does not reach."""
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "aws"), *args], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, f"aws {' '.join(args)} failed: {result.stdout}{result.stderr}"
    return result.stdout


def test_clickstream_template_deployed_with_the_aws_cli(endpoint, client, tmp_path, unique_name):
    """examples/clickstream/template.yaml packaged the way a user does it with the AWS CLI
    (`cloudformation package` uploads the function's code), deployed through a change set, used like
    the boto3 deployment above, then deleted."""
    s3, cf = client("s3"), client("cloudformation")
    artifacts, stack = unique_name("clickstream-artifacts"), unique_name("clickstream")
    s3.create_bucket(Bucket=artifacts)
    packaged = str(tmp_path / "packaged.yaml")
    aws(endpoint, "cloudformation", "package", "--template-file", os.path.join(ROOT, "template.yaml"),
        "--s3-bucket", artifacts, "--output-template-file", packaged)
    # what `aws cloudformation deploy` does, with waiters that poll faster than its 30 seconds
    with open(packaged) as f:
        change_set = cf.create_change_set(StackName=stack, ChangeSetName="deploy", ChangeSetType="CREATE",
                                          TemplateBody=f.read(), Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
                                          Parameters=[{"ParameterKey": "BufferSeconds", "ParameterValue": "1"}])["Id"]
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig=FAST)
    cf.execute_change_set(ChangeSetName=change_set)
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig=FAST)
    described = cf.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    out = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    resources = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    rule = client("events").describe_rule(Name=resources["ReportHourly"]["PhysicalResourceId"])
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    query = client("athena").get_named_query(NamedQueryId=out["TopPagesQuery"])["NamedQuery"]
    assert (query["Database"], query["WorkGroup"]) == (out["Database"], out["WorkGroup"])

    clickstream_reports(endpoint, client, out["Stream"], out["Bucket"], rule["Arn"], out["Database"])
    executions = client("athena").list_query_executions(WorkGroup=out["WorkGroup"])["QueryExecutionIds"]
    assert len(executions) == 1  # the report ran its query in the stack's workgroup

    # a bucket must be empty before CloudFormation can delete it, on AWS as here
    for item in s3.list_objects_v2(Bucket=out["Bucket"]).get("Contents", []):
        s3.delete_object(Bucket=out["Bucket"], Key=item["Key"])
    aws(endpoint, "cloudformation", "delete-stack", "--stack-name", stack)
    cf.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=FAST)
    assert client("kinesis").list_streams()["StreamNames"].count(out["Stream"]) == 0
    assert out["Database"] not in [d["Name"] for d in client("glue").get_databases()["DatabaseList"]]
