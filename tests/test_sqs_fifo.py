"""SQS FIFO queues: ordering per message group, deduplication, sequence numbers."""

from __future__ import annotations

import time

import pytest
from sqs_support import assert_error, raises, receive_all


@pytest.fixture
def sqs(client):
    return client("sqs")


@pytest.fixture
def fifo_url(sqs, unique_name):
    return sqs.create_queue(QueueName=unique_name("f") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]


@pytest.fixture
def content_dedup_url(sqs, unique_name):
    return sqs.create_queue(
        QueueName=unique_name("fc") + ".fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]


def test_fifo_queue_attributes_report_fifo_settings(sqs, fifo_url):
    attributes = sqs.get_queue_attributes(QueueUrl=fifo_url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    assert attributes["DeduplicationScope"] == "queue"
    assert attributes["FifoThroughputLimit"] == "perQueue"


def test_high_throughput_fifo_attributes_are_settable(sqs, unique_name):
    url = sqs.create_queue(
        QueueName=unique_name() + ".fifo",
        Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"},
    )["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DeduplicationScope", "FifoThroughputLimit"])
    assert attributes["Attributes"] == {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}


def test_fifo_delivers_in_send_order_with_sequence_numbers(sqs, fifo_url):
    sent = [
        sqs.send_message(QueueUrl=fifo_url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        for i in range(5)
    ]
    numbers = [s["SequenceNumber"] for s in sent]
    assert all(len(n) >= 20 and n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    assert len(set(numbers)) == 5
    messages = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in messages] == [f"m{i}" for i in range(5)]
    assert [m["Attributes"]["SequenceNumber"] for m in messages] == numbers
    assert messages[0]["Attributes"]["MessageGroupId"] == "g"
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == "d0"


def test_group_is_blocked_while_a_message_of_it_is_in_flight(sqs, fifo_url):
    for i in range(3):
        sqs.send_message(QueueUrl=fifo_url, MessageBody=f"a{i}", MessageGroupId="a", MessageDeduplicationId=f"a{i}")
    sqs.send_message(QueueUrl=fifo_url, MessageBody="b0", MessageGroupId="b", MessageDeduplicationId="b0")
    first = sqs.receive_message(QueueUrl=fifo_url)["Messages"][0]
    assert first["Body"] == "a0"
    # a1 must not be delivered while a0 is in flight; group b is free
    second = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b0"]
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10)
    sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=first["ReceiptHandle"])
    third = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in third] == ["a1", "a2"]


def test_long_poll_wakes_when_a_blocking_message_is_deleted(client, sqs, fifo_url):
    import threading

    sqs.send_message(QueueUrl=fifo_url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=fifo_url, MessageBody="2", MessageGroupId="g", MessageDeduplicationId="2")
    handle = sqs.receive_message(QueueUrl=fifo_url)["Messages"][0]["ReceiptHandle"]

    def delete_later():
        time.sleep(0.3)
        client("sqs").delete_message(QueueUrl=fifo_url, ReceiptHandle=handle)

    deleter = threading.Thread(target=delete_later)
    deleter.start()
    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=fifo_url, WaitTimeSeconds=10)["Messages"]
    deleter.join()
    assert messages[0]["Body"] == "2"
    assert time.monotonic() - started < 2


def test_group_is_released_when_visibility_times_out(sqs, fifo_url):
    sqs.send_message(QueueUrl=fifo_url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=fifo_url, MessageBody="2", MessageGroupId="g", MessageDeduplicationId="2")
    sqs.receive_message(QueueUrl=fifo_url, VisibilityTimeout=1)
    messages = sqs.receive_message(QueueUrl=fifo_url, WaitTimeSeconds=3, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["1", "2"]


def test_duplicate_deduplication_id_is_accepted_but_not_delivered_twice(sqs, fifo_url):
    first = sqs.send_message(QueueUrl=fifo_url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="same")
    second = sqs.send_message(QueueUrl=fifo_url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="same")
    assert second["MessageId"] == first["MessageId"]
    assert second["SequenceNumber"] == first["SequenceNumber"]
    assert [m["Body"] for m in receive_all(sqs, fifo_url)] == ["one"]


def test_deduplication_outlives_the_message(sqs, fifo_url):
    sqs.send_message(QueueUrl=fifo_url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="kept")
    message = sqs.receive_message(QueueUrl=fifo_url)["Messages"][0]
    sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=message["ReceiptHandle"])
    sqs.send_message(QueueUrl=fifo_url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="kept")
    assert "Messages" not in sqs.receive_message(QueueUrl=fifo_url)


def test_content_based_deduplication_uses_the_body(sqs, content_dedup_url):
    first = sqs.send_message(QueueUrl=content_dedup_url, MessageBody="same body", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=content_dedup_url, MessageBody="same body", MessageGroupId="g")
    other = sqs.send_message(QueueUrl=content_dedup_url, MessageBody="other body", MessageGroupId="g")
    assert again["MessageId"] == first["MessageId"]
    assert other["MessageId"] != first["MessageId"]
    messages = receive_all(sqs, content_dedup_url, AttributeNames=["MessageDeduplicationId"])
    assert [m["Body"] for m in messages] == ["same body", "other body"]
    import hashlib

    assert messages[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()


def test_explicit_deduplication_id_overrides_content_based(sqs, content_dedup_url):
    sqs.send_message(QueueUrl=content_dedup_url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="1")
    sqs.send_message(QueueUrl=content_dedup_url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="2")
    assert len(receive_all(sqs, content_dedup_url)) == 2


def test_message_group_deduplication_scope_is_per_group(sqs, unique_name):
    url = sqs.create_queue(
        QueueName=unique_name() + ".fifo",
        Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g1", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g2", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=url, MessageBody="c", MessageGroupId="g2", MessageDeduplicationId="same")
    assert sorted(m["Body"] for m in receive_all(sqs, url)) == ["a", "b"]


def test_queue_deduplication_scope_spans_groups(sqs, fifo_url):
    sqs.send_message(QueueUrl=fifo_url, MessageBody="a", MessageGroupId="g1", MessageDeduplicationId="same")
    sqs.send_message(QueueUrl=fifo_url, MessageBody="b", MessageGroupId="g2", MessageDeduplicationId="same")
    assert [m["Body"] for m in receive_all(sqs, fifo_url)] == ["a"]


def test_fifo_batch_send_keeps_order_and_deduplicates(sqs, content_dedup_url):
    result = sqs.send_message_batch(
        QueueUrl=content_dedup_url,
        Entries=[
            {"Id": "1", "MessageBody": "x", "MessageGroupId": "g"},
            {"Id": "2", "MessageBody": "y", "MessageGroupId": "g"},
            {"Id": "3", "MessageBody": "x", "MessageGroupId": "g"},
        ],
    )
    assert [s["Id"] for s in result["Successful"]] == ["1", "2", "3"]
    assert result["Successful"][2]["MessageId"] == result["Successful"][0]["MessageId"]
    assert "Failed" not in result  # AWS leaves an empty list out
    assert [m["Body"] for m in receive_all(sqs, content_dedup_url)] == ["x", "y"]


def test_receive_request_attempt_id_returns_the_same_messages(sqs, fifo_url):
    for i in range(3):
        sqs.send_message(QueueUrl=fifo_url, MessageBody=str(i), MessageGroupId=str(i), MessageDeduplicationId=str(i))
    first = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")
    retry = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")
    assert [m["ReceiptHandle"] for m in retry["Messages"]] == [m["ReceiptHandle"] for m in first["Messages"]]
    other = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-2")
    assert [m["Body"] for m in other["Messages"]] == ["2"]


def test_fifo_queue_delay_applies(sqs, unique_name):
    url = sqs.create_queue(
        QueueName=unique_name() + ".fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "1"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", MessageGroupId="g")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"][0]["Body"] == "later"


def test_fifo_send_without_group_id_fails(sqs, fifo_url):
    excinfo = raises(sqs.send_message, QueueUrl=fifo_url, MessageBody="x", MessageDeduplicationId="1")
    assert_error(excinfo, "MissingParameter", "The request must contain the parameter MessageGroupId.")


def test_fifo_send_without_deduplication_fails_when_content_based_is_off(sqs, fifo_url):
    excinfo = raises(sqs.send_message, QueueUrl=fifo_url, MessageBody="x", MessageGroupId="g")
    assert_error(
        excinfo,
        "InvalidParameterValue",
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
    )


def test_fifo_rejects_per_message_delay(sqs, fifo_url):
    excinfo = raises(sqs.send_message, QueueUrl=fifo_url, MessageBody="x", MessageGroupId="g",
                     MessageDeduplicationId="1", DelaySeconds=5)
    assert_error(
        excinfo,
        "InvalidParameterValue",
        "Value 5 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
    )


def test_standard_queue_rejects_deduplication_id(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name())["QueueUrl"]
    excinfo = raises(sqs.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="1")
    assert_error(excinfo, "InvalidParameterValue")


def test_fifo_name_requires_fifo_attribute(sqs, unique_name):
    excinfo = raises(sqs.create_queue, QueueName=unique_name() + ".fifo")
    assert_error(
        excinfo,
        "InvalidParameterValue",
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
    )


def test_fifo_attribute_requires_fifo_suffix(sqs, unique_name):
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={"FifoQueue": "true"})
    assert_error(
        excinfo,
        "InvalidParameterValue",
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
        "must end with .fifo suffix and be 1 to 80 in length.",
    )


def test_content_based_deduplication_is_unknown_on_standard_queues(sqs, unique_name):
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={"ContentBasedDeduplication": "true"})
    assert_error(excinfo, "InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication.")


def test_fifo_attributes_even_false_are_unknown_on_standard_queues(sqs, unique_name):
    # AWS knows none of the FIFO attributes on a standard queue, FifoQueue=false included
    assert_error(raises(sqs.create_queue, QueueName=unique_name(), Attributes={"FifoQueue": "false"}),
                 "InvalidAttributeName", "Unknown Attribute FifoQueue.")
    # high throughput's two attributes are worded as AWS words them
    for name, value in (("DeduplicationScope", "queue"), ("FifoThroughputLimit", "perQueue")):
        assert_error(raises(sqs.create_queue, QueueName=unique_name(), Attributes={name: value}),
                     "InvalidAttributeName", f"You can specify the {name} only when FifoQueue is set to true.")
    url = sqs.create_queue(QueueName=unique_name())["QueueUrl"]
    for value in ("true", "false"):
        assert_error(raises(sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": value}),
                     "InvalidAttributeName", "Unknown Attribute FifoQueue.")


def test_a_fifo_queue_stays_fifo(sqs, fifo_url):
    sqs.set_queue_attributes(QueueUrl=fifo_url, Attributes={"FifoQueue": "true"})  # what it is: accepted
    assert_error(raises(sqs.set_queue_attributes, QueueUrl=fifo_url, Attributes={"FifoQueue": "false"}),
                 "InvalidAttributeValue",
                 "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")


def test_fifo_accepts_a_zero_delay_and_applies_the_queues_own(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name("d") + ".fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true",
                                       "DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", DelaySeconds=0)
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # the queue's 1 s delay applies
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]["Body"] == "x"


def test_fifo_batch_entry_without_group_or_deduplication_id_fails_the_request(sqs, fifo_url):
    entries = [{"Id": "a", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
               {"Id": "b", "MessageBody": "y", "MessageGroupId": "g"}]
    assert_error(raises(sqs.send_message_batch, QueueUrl=fifo_url, Entries=entries), "InvalidParameterValue",
                 "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                 "provided explicitly")
    entries[1] = {"Id": "b", "MessageBody": "y", "MessageDeduplicationId": "2"}
    assert_error(raises(sqs.send_message_batch, QueueUrl=fifo_url, Entries=entries), "InvalidParameterValue",
                 "The request must contain the parameter MessageGroupId.")


def test_a_receive_returns_a_groups_messages_together(sqs, content_dedup_url):
    # AWS returns as many messages of one group as it can together, each group in its own order
    for body, group in [("g1-m1", "g1"), ("g2-m1", "g2"), ("g1-m2", "g1"), ("g1-m3", "g1")]:
        sqs.send_message(QueueUrl=content_dedup_url, MessageBody=body, MessageGroupId=group)
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


def test_a_receive_fills_from_one_group_first(sqs, content_dedup_url):
    # AWS: as many messages of one group as possible, even when another group's message came between
    for body, group in [("g1-m1", "g1"), ("g2-m1", "g2"), ("g1-m2", "g1"), ("g3-m1", "g3")]:
        sqs.send_message(QueueUrl=content_dedup_url, MessageBody=body, MessageGroupId=group)
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in messages] == ["g1-m1", "g1-m2"]
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["g2-m1", "g3-m1"]  # group 1 is in flight


def _send_groups(sqs, url, pairs):
    for body, group in pairs:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)


def test_a_group_just_received_goes_behind_the_others(sqs, content_dedup_url):
    # as AWS answered (LocalStack's AWS-recorded test_fifo_receive_message_with_zero_visibility_timeout):
    # groups come in the order their first message became visible, and a receive with
    # VisibilityTimeout=0 makes the received groups' first messages visible again only now
    _send_groups(sqs, content_dedup_url, [("g1-m1", "g1"), ("g2-m1", "g2"), ("g2-m2", "g2"), ("g3-m1", "g3"),
                                          ("g1-m2", "g1")])
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=3, VisibilityTimeout=0)["Messages"]
    assert [m["Body"] for m in messages] == ["g1-m1", "g1-m2", "g2-m1"]
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert [m["Body"] for m in messages] == ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]


def test_a_group_is_receivable_again_once_its_first_message_is_visible(sqs, content_dedup_url):
    # AWS: ending the first message's visibility frees its group, and the group gives its
    # messages up to the first one still in flight
    _send_groups(sqs, content_dedup_url, [("g1-m1", "g1"), ("g1-m2", "g1"), ("g2-m1", "g2")])
    received = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in received] == ["g1-m1", "g1-m2"]
    sqs.change_message_visibility(QueueUrl=content_dedup_url, ReceiptHandle=received[0]["ReceiptHandle"],
                                  VisibilityTimeout=0)
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=3)["Messages"]
    assert [m["Body"] for m in messages] == ["g2-m1", "g1-m1"]


@pytest.mark.parametrize("extended, visible", [(0, []), (1, ["foo"]), (2, ["foo", "bar"])])
def test_a_group_gives_its_messages_up_to_the_first_in_flight(sqs, fifo_url, extended, visible):
    # AWS (test_fifo_group_visibility_extends_with_change_message_visibility's snapshots): the
    # message whose visibility was extended and every later one of its group stay invisible
    for body in ("foo", "bar", "baz"):
        sqs.send_message(QueueUrl=fifo_url, MessageBody=body, MessageGroupId="1", MessageDeduplicationId=body)
    received = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=5, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in received] == ["foo", "bar", "baz"]
    for index, message in enumerate(received):
        sqs.change_message_visibility(QueueUrl=fifo_url, ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=30 if index == extended else 0)
    messages = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=5).get("Messages", [])
    assert [m["Body"] for m in messages] == visible


def test_deleting_a_groups_received_messages_orders_it_by_its_next_message(sqs, content_dedup_url):
    # AWS (test_fifo_message_group_visibility_after_delete): the group's next message was sent
    # before group 3's, so group 1 comes before group 3 again
    _send_groups(sqs, content_dedup_url, [("g1-m1", "g1"), ("g2-m1", "g2"), ("g1-m2", "g1"), ("g2-m2", "g2"),
                                          ("g1-m3", "g1"), ("g1-m4", "g1"), ("g3-m1", "g3")])
    received = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in received] == ["g1-m1", "g1-m2"]
    for message in received:
        sqs.delete_message(QueueUrl=content_dedup_url, ReceiptHandle=message["ReceiptHandle"])
    messages = sqs.receive_message(QueueUrl=content_dedup_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["g2-m1", "g2-m2", "g1-m3", "g1-m4", "g3-m1"]


def test_a_purge_forgets_deduplication_ids(sqs, fifo_url):
    # AWS (test_purge_queue_clears_fifo_deduplication_cache): after PurgeQueue the same
    # deduplication id is a new message
    sqs.send_message(QueueUrl=fifo_url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.purge_queue(QueueUrl=fifo_url)
    sqs.send_message(QueueUrl=fifo_url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="d")
    messages = sqs.receive_message(QueueUrl=fifo_url)["Messages"]
    assert [m["Body"] for m in messages] == ["two"]


@pytest.mark.parametrize("created, changed, delivered", [("queue", "messageGroup", []),
                                                         ("messageGroup", "queue", ["second"])])
def test_deduplication_keeps_the_scope_the_queue_was_created_with(sqs, unique_name, created, changed, delivered):
    # AWS (test_fifo_change_to_high_throughput_after_creation and ..._regular_...): after
    # SetQueueAttributes changes DeduplicationScope, the attribute reads the new value but a
    # deduplication id is still judged in the scope of the queue's creation
    url = sqs.create_queue(QueueName=unique_name() + ".fifo",
                           Attributes={"FifoQueue": "true", "DeduplicationScope": created})["QueueUrl"]
    throughput = "perMessageGroupId" if changed == "messageGroup" else "perQueue"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": changed, "FifoThroughputLimit": throughput})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DeduplicationScope"])["Attributes"] == {
        "DeduplicationScope": changed}
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g1", MessageDeduplicationId="d")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g2", MessageDeduplicationId="d")
    messages = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert [m["Body"] for m in messages] == delivered


def test_a_group_behind_a_long_blocked_group_is_found(sqs, fifo_url):
    # more messages of a blocked group than a receive looks at in one page: the next group is still found
    for start in range(0, 70, 10):
        sqs.send_message_batch(QueueUrl=fifo_url, Entries=[
            {"Id": str(i), "MessageBody": f"a{i}", "MessageGroupId": "a", "MessageDeduplicationId": f"a{i}"}
            for i in range(start, start + 10)])
    sqs.send_message(QueueUrl=fifo_url, MessageBody="b0", MessageGroupId="b", MessageDeduplicationId="b0")
    assert sqs.receive_message(QueueUrl=fifo_url, VisibilityTimeout=30)["Messages"][0]["Body"] == "a0"
    messages = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["b0"]
