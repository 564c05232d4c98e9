"""Lambda's recursive loop detection (docs/lambda.md, "Recursive loop detection") through boto3:
Put/GetFunctionRecursionConfig, and real loops — a function that sends what it receives back to
the queue (or topic, or itself) that invokes it — stopped after 16 invocations in the chain with
Terminate (AWS's default), going on with Allow. The chain's count travels as AWS carries it: the
Lineage field of the trace header (_X_AMZN_TRACE_ID, X-Amzn-Trace-Id, SQS's AWSTraceHeader)."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from botocore.exceptions import ClientError
from lambda_functions import ROLE, create_python, zip_files
from messaging_support import make_queue, receive

# Sends each record's body back to the queue that invoked it (one more hop, up to its own bound),
# and notes each invocation with the trace header the function was given in the sink queue.
SQS_LOOP = """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    for record in event["Records"]:
        hop = int(record["body"]) + 1
        sqs.send_message(QueueUrl=os.environ["SINK"],
                         MessageBody=json.dumps({"hop": hop, "trace": os.environ.get("_X_AMZN_TRACE_ID")}))
        if hop < int(os.environ["BOUND"]):
            sqs.send_message(QueueUrl=os.environ["LOOP"], MessageBody=str(hop))
    return {}
"""

# The same loop through Lambda itself: the function invokes itself asynchronously.
SELF_LOOP = """
import json, os, boto3
lam = boto3.client("lambda")
sqs = boto3.client("sqs")
def handler(event, context):
    hop = event["hop"] + 1
    sqs.send_message(QueueUrl=os.environ["SINK"],
                     MessageBody=json.dumps({"hop": hop, "trace": os.environ.get("_X_AMZN_TRACE_ID")}))
    if hop < int(os.environ["BOUND"]):
        lam.invoke(FunctionName=context.function_name, InvocationType="Event", Payload=json.dumps({"hop": hop}))
    return {}
"""

# Answers the trace header it was given.
TRACE = """
import os
def handler(event, context):
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
"""

LINEAGE = re.compile(r";Lineage=\d+:([0-9a-f]{8}):(\d+)$")
RECURSION_MESSAGE = ("Lambda has detected your function being invoked in a recursive loop with other AWS resources "
                     "and stopped your function's invocation.")


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


def hops_seen(sqs, sink_url, until: int, quiet: float = 4.0, timeout: float = 60.0) -> list[dict]:
    """The notes in the sink: until `until` arrived, then as long as more keep coming (`quiet`
    seconds without one ends it)."""
    notes, deadline, last = [], time.time() + timeout, time.time()
    while time.time() < deadline:
        got = receive(sqs, sink_url, count=1, timeout=1.0)
        if got:
            notes += [json.loads(m["Body"]) for m in got]
            last = time.time()
        elif len(notes) >= until and time.time() - last > quiet:
            break
    return sorted(notes, key=lambda n: n["hop"])


def counts(notes: list[dict]) -> list[int]:
    """The loop count each invocation's trace header carried (its Lineage)."""
    out = []
    for note in notes:
        match = LINEAGE.search(note["trace"])
        assert match, note["trace"]
        out.append(int(match.group(2)))
    return out


# -- the API ------------------------------------------------------------------------------------------

def test_recursion_config_defaults_to_terminate_and_can_allow(lam, unique_name):
    name = unique_name("rec")
    arn = create_python(lam, name)["FunctionArn"]
    got = lam.get_function_recursion_config(FunctionName=name)
    assert got["RecursiveLoop"] == "Terminate"
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    put = lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    assert put["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName=arn)["RecursiveLoop"] == "Allow"
    # the setting is the function's, not part of its configuration's answer
    assert "RecursiveLoop" not in lam.get_function_configuration(FunctionName=name)
    assert lam.put_function_recursion_config(FunctionName=arn, RecursiveLoop="Terminate")["RecursiveLoop"] == "Terminate"
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"


def test_recursion_config_errors(lam, unique_name):
    name = unique_name("rec")
    create_python(lam, name)
    with pytest.raises(ClientError) as e:
        lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Sometimes")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Terminate, Allow]")
    missing = unique_name("none")
    for call in (lambda: lam.get_function_recursion_config(FunctionName=missing),
                 lambda: lam.put_function_recursion_config(FunctionName=missing, RecursiveLoop="Allow")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert e.value.response["Error"]["Message"] == (
            f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{missing}")


# -- loops --------------------------------------------------------------------------------------------

def sqs_loop(lam, sqs, unique_name, bound: int, allow: bool):
    sink, _ = make_queue(sqs, unique_name("sink"))
    dlq, dlq_arn = make_queue(sqs, unique_name("dlq"))
    # a stopped batch comes back after the visibility timeout; its second receive moves it to the DLQ
    loop, loop_arn = make_queue(sqs, unique_name("loop"), VisibilityTimeout=3,
                                RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    name = unique_name("looper")
    create_python(lam, name, SQS_LOOP, Timeout=3,
                  Environment={"Variables": {"SINK": sink, "LOOP": loop, "BOUND": str(bound)}})
    if allow:
        lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    lam.create_event_source_mapping(EventSourceArn=loop_arn, FunctionName=name, BatchSize=1)
    sqs.send_message(QueueUrl=loop, MessageBody="0")
    return name, sink, dlq


def test_an_sqs_loop_is_stopped_after_16_invocations(lam, sqs, client, unique_name):
    name, sink, dlq = sqs_loop(lam, sqs, unique_name, bound=40, allow=False)
    notes = hops_seen(sqs, sink, until=16)
    # AWS: a function invoked more than 16 times in the same chain has its next invocation stopped
    assert [n["hop"] for n in notes] == list(range(1, 17))
    assert counts(notes) == list(range(16))  # (the first invocation's is 0)
    assert len({LINEAGE.search(n["trace"]).group(1) for n in notes}) == 1  # one chain
    # the 17th message, never delivered to the function, went to the queue's DLQ after its retry
    [dead] = receive(sqs, dlq, count=1, timeout=15)
    assert dead["Body"] == "16"
    assert LINEAGE.search(dead["Attributes"]["AWSTraceHeader"]).group(2) == "15"
    # AWS/Lambda publishes the stopped invocations as RecursiveInvocationsDropped
    cloudwatch = client("cloudwatch")
    deadline, points = time.time() + 10, []
    while time.time() < deadline and not points:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="RecursiveInvocationsDropped",
            Dimensions=[{"Name": "FunctionName", "Value": name}], StartTime=time.time() - 600,
            EndTime=time.time() + 60, Period=60, Statistics=["Sum"])["Datapoints"]
        time.sleep(0.5)
    assert sum(p["Sum"] for p in points) >= 1


def test_an_sqs_loop_that_allows_recursion_goes_on(lam, sqs, unique_name):
    name, sink, dlq = sqs_loop(lam, sqs, unique_name, bound=20, allow=True)
    notes = hops_seen(sqs, sink, until=20)
    # the function's own bound ends it: 20 invocations, the count going on past 16
    assert [n["hop"] for n in notes] == list(range(1, 21))
    assert counts(notes) == list(range(20))
    assert receive(sqs, dlq, count=1, timeout=2) == []


def test_an_asynchronous_self_invocation_loop_is_stopped_to_the_dead_letter_queue(lam, sqs, unique_name):
    sink, _ = make_queue(sqs, unique_name("sink"))
    dlq, dlq_arn = make_queue(sqs, unique_name("dlq"))
    name = unique_name("selfloop")
    create_python(lam, name, SELF_LOOP, Timeout=30, DeadLetterConfig={"TargetArn": dlq_arn},
                  Environment={"Variables": {"SINK": sink, "BOUND": "40"}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"hop": 0}))
    notes = hops_seen(sqs, sink, until=16)
    assert [n["hop"] for n in notes] == list(range(1, 17))
    assert counts(notes) == list(range(16))  # (the first invocation's is 0)
    # the stopped event goes to the function's dead-letter queue (no retry)
    [dead] = receive(sqs, dlq, count=1, timeout=10)
    assert json.loads(dead["Body"]) == {"hop": 16}
    assert dead["MessageAttributes"]["ErrorMessage"]["StringValue"].startswith(
        "Lambda has detected your function being invoked in a recursive loop")


def invoke_with_header(lam, name: str, header: str):
    """Invoke with this X-Amzn-Trace-Id (what a function's SDK sends from its _X_AMZN_TRACE_ID)."""
    def add(request, **_):
        request.headers["X-Amzn-Trace-Id"] = header

    lam.meta.events.register_first("before-sign.lambda.Invoke", add)
    try:
        return lam.invoke(FunctionName=name, Payload=b"{}")
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke", add)


def test_a_synchronous_invoke_in_a_long_chain_gets_recursive_invocation_exception(client, unique_name):
    lam = client("lambda")  # (a client of its own: the header hook stays on it)
    name = unique_name("trace")
    create_python(lam, name, TRACE)
    root = f"Root=1-{int(time.time()):08x}-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"
    # the count is the invocations before this one in the chain
    answer = json.loads(invoke_with_header(lam, name, f"{root};Lineage=1:abcdef01:14")["Payload"].read())
    assert answer["trace"].endswith(";Lineage=1:abcdef01:15")  # the 16th invocation of the chain runs
    with pytest.raises(ClientError) as e:
        invoke_with_header(lam, name, f"{root};Lineage=1:abcdef01:15")  # the 17th does not
    assert e.value.response["Error"]["Code"] == "RecursiveInvocationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Message"] == RECURSION_MESSAGE
    # the older form of the field counts too; a malformed one is not carried on (a new chain)
    with pytest.raises(ClientError):
        invoke_with_header(lam, name, f"{root};Lineage=abcdef01:20")
    answer = json.loads(invoke_with_header(lam, name, f"{root};Lineage=zz:99")["Payload"].read())
    assert re.search(r";Lineage=1:[0-9a-f]{8}:0$", answer["trace"])
    # Allow: the chain goes on
    lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    answer = json.loads(invoke_with_header(lam, name, f"{root};Lineage=1:abcdef01:15")["Payload"].read())
    assert answer["trace"].endswith(";Lineage=1:abcdef01:16")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_a_node_function_gets_its_trace_header_with_the_lineage(client, unique_name):
    # AWS's Node.js runtime sets _X_AMZN_TRACE_ID for each invocation, which its SDK sends on
    lam = client("lambda")
    name = unique_name("nodetrace")
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.js": "exports.handler = async () => "
                                                                "({trace: process.env._X_AMZN_TRACE_ID});\n"})})
    root = f"Root=1-{int(time.time()):08x}-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"
    answer = json.loads(invoke_with_header(lam, name, f"{root};Lineage=1:abcdef01:3")["Payload"].read())
    assert answer["trace"].startswith(f"Root={root[5:40]};Parent=") and answer["trace"].endswith(";Lineage=1:abcdef01:4")


# Publishes to the topic it is subscribed to (SNS), or writes the next object to the bucket that
# notifies it (S3), noting each invocation in the sink.
SNS_LOOP = """
import json, os, boto3
sns = boto3.client("sns")
sqs = boto3.client("sqs")
def handler(event, context):
    hop = int(event["Records"][0]["Sns"]["Message"]) + 1
    sqs.send_message(QueueUrl=os.environ["SINK"],
                     MessageBody=json.dumps({"hop": hop, "trace": os.environ.get("_X_AMZN_TRACE_ID")}))
    if hop < int(os.environ["BOUND"]):
        sns.publish(TopicArn=os.environ["TOPIC"], Message=str(hop))
"""

S3_LOOP = """
import json, os, boto3
s3 = boto3.client("s3")
sqs = boto3.client("sqs")
def handler(event, context):
    hop = int(event["Records"][0]["s3"]["object"]["key"]) + 1
    sqs.send_message(QueueUrl=os.environ["SINK"],
                     MessageBody=json.dumps({"hop": hop, "trace": os.environ.get("_X_AMZN_TRACE_ID")}))
    if hop < int(os.environ["BOUND"]):
        s3.put_object(Bucket=os.environ["BUCKET"], Key=str(hop), Body=b"x")
"""


def test_an_sns_loop_is_stopped_after_16_invocations(lam, sqs, client, unique_name):
    sns = client("sns")
    sink, _ = make_queue(sqs, unique_name("sink"))
    dlq, dlq_arn = make_queue(sqs, unique_name("dlq"))
    topic = sns.create_topic(Name=unique_name("loop"))["TopicArn"]
    name = unique_name("snsloop")
    arn = create_python(lam, name, SNS_LOOP, Timeout=30, DeadLetterConfig={"TargetArn": dlq_arn},
                        Environment={"Variables": {"SINK": sink, "TOPIC": topic, "BOUND": "40"}})["FunctionArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="0")
    notes = hops_seen(sqs, sink, until=16)
    assert [n["hop"] for n in notes] == list(range(1, 17))
    assert counts(notes) == list(range(16))  # (the first invocation's is 0)
    [dead] = receive(sqs, dlq, count=1, timeout=10)
    assert json.loads(dead["Body"])["Records"][0]["Sns"]["Message"] == "16"


def test_an_s3_loop_is_stopped_after_16_invocations(lam, sqs, client, unique_name):
    s3 = client("s3")
    sink, _ = make_queue(sqs, unique_name("sink"))
    bucket = unique_name("loop").lower()
    s3.create_bucket(Bucket=bucket)
    name = unique_name("s3loop")
    arn = create_python(lam, name, S3_LOOP, Timeout=30,
                        Environment={"Variables": {"SINK": sink, "BUCKET": bucket, "BOUND": "40"}})["FunctionArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="0", Body=b"x")
    notes = hops_seen(sqs, sink, until=16)
    assert [n["hop"] for n in notes] == list(range(1, 17))
    assert counts(notes) == list(range(16))  # (the first invocation's is 0)
    # the 17th object was written; the invocation it caused was stopped
    assert "16" in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]


def test_cloudformation_sets_a_functions_recursive_loop(lam, client, unique_name):
    cf = client("cloudformation")
    stack = unique_name("recstack")
    template = """
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: arn:aws:iam::000000000000:role/lambda-role
      RecursiveLoop: Allow
      Code: {ZipFile: "def handler(event, context):\\n    return {}\\n"}
Outputs:
  Name: {Value: !Ref Fn}
"""
    fast = {"Delay": 1, "MaxAttempts": 60}
    cf.create_stack(StackName=stack, TemplateBody=template)
    cf.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig=fast)
    name = cf.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Allow"
    # the property removed from the template: AWS's default again
    cf.update_stack(StackName=stack, TemplateBody=template.replace("      RecursiveLoop: Allow\n", ""))
    cf.get_waiter("stack_update_complete").wait(StackName=stack, WaiterConfig=fast)
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"
    cf.delete_stack(StackName=stack)
