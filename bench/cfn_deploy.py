"""CloudFormation deployment times, measured server-side: from the first API call of a deployment
(CreateChangeSet, or CreateStack/DeleteStack) to the stack's final status, read from the stack's
own event timestamps.

    .venv/bin/python bench/cfn_deploy.py [resources]

Prints, for examples/rest-api/template.yaml as a SAM app deployed as `sam deploy` does it (code in
S3, change set with the transform, executed): create, an update that changes only the function's
code, and delete; then the create and delete time of a generated stack of `resources` (default
200) SQS queues, SNS topics and subscriptions wired together. Each SAM figure is the median of 3
runs on a warm server (the first run, which loads each service, is printed apart).
Targets (issue 15): create <= 3 s, code-only update <= 1 s, delete <= 2 s, 200 resources <= 15 s.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import Server  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(HERE), "examples", "rest-api")


def clients(endpoint: str):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("cloudformation", **kw), boto3.client("s3", **kw)


def settle(cf, stack_id: str) -> dict:
    while True:
        stack = cf.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            return stack
        time.sleep(0.02)


def server_seconds(cf, stack_id: str, since: float) -> float:
    """From `since` (epoch seconds, just before the first call) to the newest event."""
    newest = cf.describe_stack_events(StackName=stack_id)["StackEvents"][0]["Timestamp"].timestamp()
    return newest - since


def code_zip(version: int) -> bytes:
    with open(os.path.join(EXAMPLE, "src", "handler.py")) as f:
        source = f.read() + f"\nVERSION = {version}\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("handler.py", source)
    return buffer.getvalue()


def sam_cycle(cf, s3, name: str, bucket: str) -> tuple[float, float, float, int]:
    with open(os.path.join(EXAMPLE, "template.yaml")) as f:
        template = f.read()
    s3.put_object(Bucket=bucket, Key=f"{name}-1.zip", Body=code_zip(1))
    s3.put_object(Bucket=bucket, Key=f"{name}-2.zip", Body=code_zip(2))
    times = []
    for version, kind in ((1, "CREATE"), (2, "UPDATE")):
        body = template.replace("CodeUri: src/", f"CodeUri: s3://{bucket}/{name}-{version}.zip")
        since = time.time()
        change_set = cf.create_change_set(StackName=name, ChangeSetName=f"v{version}", ChangeSetType=kind,
                                          TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
        cf.execute_change_set(ChangeSetName=change_set["Id"])
        stack = settle(cf, change_set["StackId"])
        assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack["StackStatus"]
        times.append(server_seconds(cf, change_set["StackId"], since))
    resources = len(cf.list_stack_resources(StackName=name)["StackResourceSummaries"])
    since = time.time()
    cf.delete_stack(StackName=name)
    stack = settle(cf, change_set["StackId"])
    assert stack["StackStatus"] == "DELETE_COMPLETE", stack["StackStatus"]
    times.append(server_seconds(cf, change_set["StackId"], since))
    return times[0], times[1], times[2], resources


def generated(resources: int) -> str:
    """resources/4 groups of a queue, a topic, a subscription and a queue policy."""
    out = {}
    for i in range(resources // 4):
        out[f"Queue{i}"] = {"Type": "AWS::SQS::Queue"}
        out[f"Topic{i}"] = {"Type": "AWS::SNS::Topic"}
        out[f"Sub{i}"] = {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": f"Topic{i}"}, "Protocol": "sqs", "Endpoint": {"Fn::GetAtt": [f"Queue{i}", "Arn"]}}}
        out[f"Policy{i}"] = {"Type": "AWS::SQS::QueuePolicy", "Properties": {
            "Queues": [{"Ref": f"Queue{i}"}], "PolicyDocument": {"Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": [f"Queue{i}", "Arn"]},
                "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": f"Topic{i}"}}}}]}}}
    return json.dumps({"Resources": out})


def main() -> None:
    resources = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    server = Server()
    try:
        cf, s3 = clients(server.endpoint)
        bucket = "cfn-bench-artifacts"
        s3.create_bucket(Bucket=bucket)
        first = sam_cycle(cf, s3, "items-cold", bucket)
        runs = [sam_cycle(cf, s3, f"items-{i}", bucket) for i in range(3)]
        print(f"rest-api SAM app ({first[3]} resources after the transform), server-side seconds:")
        print(f"  first run (services load): create {first[0]:.2f}  code update {first[1]:.2f}  delete {first[2]:.2f}")
        for label, index, target in (("create", 0, 3.0), ("code-only update", 1, 1.0), ("delete", 2, 2.0)):
            value = statistics.median(r[index] for r in runs)
            print(f"  {label:18s} {value:6.2f} s   (target <= {target} s)")
        body = generated(resources)
        since = time.time()
        stack_id = cf.create_stack(StackName="generated", TemplateBody=body)["StackId"]
        stack = settle(cf, stack_id)
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack["StackStatus"]
        created = server_seconds(cf, stack_id, since)
        since = time.time()
        cf.delete_stack(StackName=stack_id)
        settle(cf, stack_id)
        deleted = server_seconds(cf, stack_id, since)
        print(f"generated stack of {resources} resources: create {created:.2f} s (target <= 15 s), "
              f"delete {deleted:.2f} s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
