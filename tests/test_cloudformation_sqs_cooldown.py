"""SQS's cooldown on a deleted queue's name (QueueDeletedRecently, 60 s on AWS; 2 s here through
OVERCAST_SQS_DELETED_RECENTLY_SECONDS): CreateQueue refuses the name, and a CloudFormation
deployment that reuses it (a stack deleted and deployed again, a named queue replaced and named
back) waits the cooldown out instead of failing."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client

COOLDOWN = 2.0
FAST = {"Delay": 0.5, "MaxAttempts": 60}


@pytest.fixture(scope="module")
def server():
    process = OvercastProcess(env={"OVERCAST_SQS_DELETED_RECENTLY_SECONDS": str(COOLDOWN)})
    yield process
    process.stop()


def test_create_queue_refuses_a_name_deleted_recently(server):
    sqs = make_client(server.endpoint, "sqs")
    url = sqs.create_queue(QueueName="cooling")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName="cooling")
    assert e.value.response["Error"]["Code"] == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert e.value.response["Error"]["Message"] == (
        "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
    time.sleep(COOLDOWN + 0.2)
    assert sqs.create_queue(QueueName="cooling")["QueueUrl"] == url


def _queue_stack(name: str) -> str:
    return json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": name, "VisibilityTimeout": 45}}}, "Outputs": {"Url": {"Value": {"Ref": "Queue"}}}})


def test_a_stack_deployed_again_waits_out_the_cooldown(server):
    cf = make_client(server.endpoint, "cloudformation")
    sqs = make_client(server.endpoint, "sqs")
    cf.create_stack(StackName="again", TemplateBody=_queue_stack("named-again"))
    cf.get_waiter("stack_create_complete").wait(StackName="again", WaiterConfig=FAST)
    cf.delete_stack(StackName="again")
    cf.get_waiter("stack_delete_complete").wait(StackName="again", WaiterConfig=FAST)
    started = time.monotonic()
    cf.create_stack(StackName="again", TemplateBody=_queue_stack("named-again"))
    cf.get_waiter("stack_create_complete").wait(StackName="again", WaiterConfig=FAST)
    assert time.monotonic() - started >= COOLDOWN - 0.5  # it waited for the name, it did not fail
    url = cf.describe_stacks(StackName="again")["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert url.endswith("/named-again")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes == {"VisibilityTimeout": "45"}


def test_a_queue_renamed_back_waits_out_the_cooldown(server):
    cf = make_client(server.endpoint, "cloudformation")
    cf.create_stack(StackName="renamed", TemplateBody=_queue_stack("first-name"))
    cf.get_waiter("stack_create_complete").wait(StackName="renamed", WaiterConfig=FAST)
    for name in ("second-name", "first-name"):  # each a replacement; the second reuses a deleted name
        cf.update_stack(StackName="renamed", TemplateBody=_queue_stack(name))
        cf.get_waiter("stack_update_complete").wait(StackName="renamed", WaiterConfig=FAST)
    url = cf.describe_stacks(StackName="renamed")["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert url.endswith("/first-name")
    queues = make_client(server.endpoint, "sqs").list_queues(QueueNamePrefix="").get("QueueUrls", [])
    assert url in queues and not any(q.endswith("/second-name") for q in queues)
