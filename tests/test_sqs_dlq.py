"""SQS dead-letter queues: redrive policies, redrive allow policies, message move tasks."""

from __future__ import annotations

import json

import pytest
from sqs_support import assert_error, raises, receive_all, wait_until


@pytest.fixture
def sqs(client):
    return client("sqs")


def arn_of(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def pair(sqs, unique_name):
    """(source url, dead-letter url) with maxReceiveCount 2."""
    dlq = sqs.create_queue(QueueName=unique_name("dlq"))["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2})
    source = sqs.create_queue(QueueName=unique_name("src"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return source, dlq


def receive_and_release(sqs, url):
    return sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", [])


def test_message_moves_to_dead_letter_queue_after_max_receive_count(sqs, pair):
    source, dlq = pair
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison")
    assert len(receive_and_release(sqs, source)) == 1
    assert len(receive_and_release(sqs, source)) == 1
    assert receive_and_release(sqs, source) == []
    moved = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"]
    assert moved[0]["MessageId"] == sent["MessageId"]
    assert moved[0]["Body"] == "poison"
    assert moved[0]["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, source)
    # receives count across all queues (AWS's ReceiveMessage reference; its recorded DLQ messages
    # show the source's receives plus this one)
    assert moved[0]["Attributes"]["ApproximateReceiveCount"] == "3"


def test_redrive_policy_is_reported_as_set(sqs, pair):
    source, dlq = pair
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2}


def test_list_dead_letter_source_queues(sqs, pair, unique_name):
    source, dlq = pair
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    assert sqs.list_dead_letter_source_queues(QueueUrl=source)["queueUrls"] == []


def test_redrive_policy_to_missing_queue_fails(sqs, unique_name):
    policy = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:nope-" + unique_name(), "maxReceiveCount": 1})
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={"RedrivePolicy": policy})
    assert_error(excinfo, "InvalidParameterValue",
                 f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.")


def test_redrive_policy_with_bad_max_receive_count_fails(sqs, unique_name):
    dlq = sqs.create_queue(QueueName=unique_name())["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 0})
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={"RedrivePolicy": policy})
    assert_error(excinfo, "InvalidParameterValue")


def test_redrive_policy_can_be_removed(sqs, pair):
    source, _ = pair
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": ""})
    attributes = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]
    assert "RedrivePolicy" not in attributes


def test_redrive_allow_policy_deny_all_refuses_sources(sqs, unique_name):
    dlq = sqs.create_queue(
        QueueName=unique_name(), Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})}
    )["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={"RedrivePolicy": policy})
    assert_error(excinfo, "InvalidParameterValue")


def test_redrive_allow_policy_by_queue_admits_listed_sources(sqs, unique_name):
    allowed_name = unique_name("allowed")
    allowed_arn = f"arn:aws:sqs:us-east-1:000000000000:{allowed_name}"
    allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [allowed_arn]})
    dlq = sqs.create_queue(QueueName=unique_name(), Attributes={"RedriveAllowPolicy": allow})["QueueUrl"]
    assert json.loads(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["RedriveAllowPolicy"])["Attributes"]["RedriveAllowPolicy"]) == json.loads(allow)
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    sqs.create_queue(QueueName=allowed_name, Attributes={"RedrivePolicy": policy})
    assert_error(raises(sqs.create_queue, QueueName=unique_name(), Attributes={"RedrivePolicy": policy}),
                 "InvalidParameterValue")


def test_redrive_allow_policy_by_queue_requires_source_arns(sqs, unique_name):
    excinfo = raises(sqs.create_queue, QueueName=unique_name(),
                     Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue"})})
    assert_error(excinfo, "InvalidParameterValue")


def test_fifo_source_needs_fifo_dead_letter_queue(sqs, unique_name):
    dlq = sqs.create_queue(QueueName=unique_name())["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    excinfo = raises(sqs.create_queue, QueueName=unique_name() + ".fifo",
                     Attributes={"FifoQueue": "true", "RedrivePolicy": policy})
    assert_error(excinfo, "InvalidParameterValue")


def test_fifo_dead_letter_queue_keeps_group(sqs, unique_name):
    dlq = sqs.create_queue(QueueName=unique_name() + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})
    source = sqs.create_queue(
        QueueName=unique_name() + ".fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "RedrivePolicy": policy},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=source, MessageBody="bad", MessageGroupId="g")
    sqs.send_message(QueueUrl=source, MessageBody="good", MessageGroupId="g")
    assert [m["Body"] for m in receive_and_release(sqs, source)] == ["bad"]
    # "bad" goes to the DLQ on its second receive; "good" follows it
    assert [m["Body"] for m in receive_and_release(sqs, source)] == ["good"]
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["Body"] == "bad" and moved["Attributes"]["MessageGroupId"] == "g"


def dead_letter_two(sqs, pair):
    source, dlq = pair
    for body in ("one", "two"):
        sqs.send_message(QueueUrl=source, MessageBody=body)
    for _ in range(3):
        sqs.receive_message(QueueUrl=source, VisibilityTimeout=0, MaxNumberOfMessages=10)
    count = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert count["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_message_move_task_returns_messages_to_their_source(sqs, pair):
    source, dlq = pair
    dead_letter_two(sqs, pair)
    handle = sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq))["TaskHandle"]
    assert handle

    def completed():
        tasks = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"]
        return tasks if tasks[0]["Status"] == "COMPLETED" else None

    tasks = wait_until(completed)
    assert tasks[0]["ApproximateNumberOfMessagesMoved"] == 2
    assert tasks[0]["ApproximateNumberOfMessagesToMove"] == 2
    assert tasks[0]["SourceArn"] == arn_of(sqs, dlq)
    assert sorted(m["Body"] for m in receive_all(sqs, source)) == ["one", "two"]
    assert receive_all(sqs, dlq) == []


def test_message_move_task_to_a_destination_arn(sqs, pair, unique_name):
    source, dlq = pair
    dead_letter_two(sqs, pair)
    destination = sqs.create_queue(QueueName=unique_name("dest"))["QueueUrl"]
    sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), DestinationArn=arn_of(sqs, destination),
                                MaxNumberOfMessagesPerSecond=100)
    wait_until(lambda: sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]["Status"] == "COMPLETED")
    assert sorted(m["Body"] for m in receive_all(sqs, destination)) == ["one", "two"]
    task = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]
    assert task["DestinationArn"] == arn_of(sqs, destination)
    assert task["MaxNumberOfMessagesPerSecond"] == 100


def test_message_move_task_rate_limit_and_cancel(sqs, pair):
    source, dlq = pair
    sqs.send_message_batch(QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    for _ in range(3):
        receive_all(sqs, source, VisibilityTimeout=0)
    handle = sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    excinfo = raises(sqs.start_message_move_task, SourceArn=arn_of(sqs, dlq))
    assert_error(excinfo, "InvalidParameterValue",
                 "There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert moved < 5
    task = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]
    assert task["Status"] == "CANCELLED" and "TaskHandle" not in task


def test_message_move_task_needs_a_dead_letter_queue(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name())["QueueUrl"]
    excinfo = raises(sqs.start_message_move_task, SourceArn=arn_of(sqs, url))
    assert_error(excinfo, "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")


def test_message_move_task_on_missing_queue_fails(sqs, unique_name):
    excinfo = raises(sqs.start_message_move_task, SourceArn="arn:aws:sqs:us-east-1:000000000000:" + unique_name())
    assert_error(excinfo, "ResourceNotFoundException",
                 "The resource that you specified for the SourceArn parameter doesn't exist.", status=404)


def _handle(task_id: str, source_arn: str) -> str:
    import base64
    import json

    return base64.b64encode(json.dumps({"taskId": task_id, "sourceArn": source_arn}).encode()).decode()


def test_cancel_unknown_move_task_fails(sqs, pair):
    # as AWS answered (LocalStack's recorded test_cancel_with_invalid_*): a handle that is not one,
    # a source queue that does not exist, a task that does not
    excinfo = raises(sqs.cancel_message_move_task, TaskHandle="foobared")
    assert_error(excinfo, "InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
    excinfo = raises(sqs.cancel_message_move_task,
                     TaskHandle=_handle("10f57157-fc38-4da9-a113-4de7e12d05dd", "arn:aws:sqs:us-east-1:000000000000:nope"))
    assert_error(excinfo, "ResourceNotFoundException",
                 "The resource that you specified for the SourceArn parameter doesn't exist.", status=404)
    excinfo = raises(sqs.cancel_message_move_task,
                     TaskHandle=_handle("10f57157-fc38-4da9-a113-4de7e12d05aa", arn_of(sqs, pair[1])))
    assert_error(excinfo, "ResourceNotFoundException", "Task does not exist.", status=404)


def test_move_task_to_a_missing_destination_fails_with_404(sqs, pair):
    excinfo = raises(sqs.start_message_move_task, SourceArn=arn_of(sqs, pair[1]),
                     DestinationArn="arn:aws:sqs:us-east-1:000000000000:no-such-destination")
    assert_error(excinfo, "ResourceNotFoundException",
                 "The resource that you specified for the DestinationArn parameter doesn't exist.", status=404)


def test_move_task_fails_when_its_destination_is_deleted(sqs, pair, unique_name):
    # as AWS answered (test_move_task_delete_destination_queue_while_running)
    source, dlq = pair
    sqs.send_message_batch(QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    for _ in range(3):
        receive_all(sqs, source, VisibilityTimeout=0)
    destination = sqs.create_queue(QueueName=unique_name("dest"))["QueueUrl"]
    destination_arn = arn_of(sqs, destination)
    sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), DestinationArn=destination_arn,
                                MaxNumberOfMessagesPerSecond=1)
    sqs.delete_queue(QueueUrl=destination)
    wait_until(lambda: sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]["Status"] != "RUNNING")
    task = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]
    assert task["Status"] == "FAILED"
    assert task["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert sqs.receive_message(QueueUrl=dlq)["Messages"]  # what was not moved stays
