"""SQS standard queues through boto3 and the AWS CLI against a real overcast server."""

from __future__ import annotations

import hashlib
import threading
import time

import httpx
import pytest
from sqs_support import assert_error, raises, receive_all


@pytest.fixture
def sqs(client):
    return client("sqs")


@pytest.fixture
def queue_url(sqs, unique_name):
    return sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]


# -- queues ------------------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_create_queue_returns_url_on_the_host_the_client_used(sqs, endpoint, unique_name):
    name = unique_name()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"{endpoint}/000000000000/{name}"


def test_queue_url_uses_localstack_style_host_when_client_uses_it(endpoint, unique_name):
    port = endpoint.rsplit(":", 1)[1]
    name = unique_name()
    body = {"QueueName": name}
    headers = {
        "x-amz-target": "AmazonSQS.CreateQueue",
        "content-type": "application/x-amz-json-1.0",
        "host": f"sqs.us-east-1.localhost.localstack.cloud:{port}",
    }
    response = httpx.post(f"{endpoint}/", json=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["QueueUrl"] == f"http://sqs.us-east-1.localhost.localstack.cloud:{port}/000000000000/{name}"


def test_create_queue_is_idempotent_with_identical_attributes(sqs, unique_name):
    name = unique_name()
    first = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    again = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    without = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert first == again == without


def test_create_queue_with_different_attribute_fails_with_queue_name_exists(sqs, unique_name):
    name = unique_name()
    sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})
    excinfo = raises(sqs.create_queue, QueueName=name, Attributes={"VisibilityTimeout": "61"})
    assert_error(
        excinfo,
        "QueueNameExists",
        "A queue already exists with the same name and a different value for attribute VisibilityTimeout",
        legacy="QueueAlreadyExists",
    )


def test_create_queue_with_default_value_matches_existing_queue(sqs, unique_name):
    name = unique_name()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"] == url


@pytest.mark.postgres_e2e
def test_recreating_a_queue_within_60_seconds_of_deleting_fails(sqs, unique_name):
    name = unique_name()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    excinfo = raises(sqs.create_queue, QueueName=name)
    assert_error(
        excinfo,
        "QueueDeletedRecently",
        "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
    )


def test_deleted_queue_does_not_exist(sqs, queue_url):
    sqs.delete_queue(QueueUrl=queue_url)
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x")
    assert_error(excinfo, "QueueDoesNotExist", "The specified queue does not exist.",
                 legacy="AWS.SimpleQueueService.NonExistentQueue")


def test_get_queue_url_finds_queue_by_name(sqs, unique_name):
    name = unique_name()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId="000000000000")["QueueUrl"] == url


def test_get_queue_url_of_missing_queue_fails(sqs, unique_name):
    excinfo = raises(sqs.get_queue_url, QueueName=unique_name())
    assert_error(excinfo, "QueueDoesNotExist", "The specified queue does not exist.")


def test_any_url_ending_in_account_and_name_addresses_the_queue(sqs, unique_name):
    name = unique_name()
    sqs.create_queue(QueueName=name)
    for url in (
        f"http://localhost:4566/000000000000/{name}",
        f"https://sqs.us-east-1.amazonaws.com/000000000000/{name}",
        f"http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/{name}",
    ):
        sqs.send_message(QueueUrl=url, MessageBody=url)
    bodies = sorted(m["Body"] for m in receive_all(sqs, f"http://x/000000000000/{name}"))
    assert len(bodies) == 3


def test_list_queues_filters_by_prefix(sqs, unique_name):
    prefix = unique_name("list")
    urls = [sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(3)]
    sqs.create_queue(QueueName=unique_name("other"))
    assert sorted(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == sorted(urls)


@pytest.mark.postgres_e2e
def test_list_queues_paginates_with_max_results_and_next_token(sqs, unique_name):
    prefix = unique_name("page")
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5))
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert len(first["QueueUrls"]) == 2 and first["NextToken"]
    seen = list(first["QueueUrls"])
    token = first["NextToken"]
    while token:
        page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=token)
        seen += page["QueueUrls"]
        token = page.get("NextToken")
    assert sorted(seen) == urls


def test_list_queues_with_no_match_returns_no_urls(sqs, unique_name):
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=unique_name("none"))


def test_accounts_isolate_queues(client, sqs, unique_name):
    name = unique_name("iso")
    sqs.create_queue(QueueName=name)
    other = client("sqs", access_key="111111111111")
    assert "QueueUrls" not in other.list_queues(QueueNamePrefix=name)
    assert_error(raises(other.get_queue_url, QueueName=name), "QueueDoesNotExist")
    own = other.create_queue(QueueName=name)["QueueUrl"]
    assert "/111111111111/" in own


def test_regions_isolate_queues(client, sqs, unique_name):
    name = unique_name("region")
    sqs.create_queue(QueueName=name)
    europe = client("sqs", region="eu-west-1")
    assert "QueueUrls" not in europe.list_queues(QueueNamePrefix=name)
    url = europe.create_queue(QueueName=name)["QueueUrl"]
    arn = europe.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn == f"arn:aws:sqs:eu-west-1:000000000000:{name}"


def test_get_queue_attributes_all_reports_defaults(sqs, unique_name):
    name = unique_name()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:000000000000:{name}"
    assert attributes["VisibilityTimeout"] == "30"
    assert attributes["DelaySeconds"] == "0"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "0"
    assert attributes["MaximumMessageSize"] == "1048576"
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "0"
    assert abs(int(attributes["CreatedTimestamp"]) - time.time()) < 60
    assert attributes["LastModifiedTimestamp"] == attributes["CreatedTimestamp"]
    assert "FifoQueue" not in attributes


def test_get_queue_attributes_returns_only_requested_names(sqs, queue_url):
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "DelaySeconds"])
    assert attributes["Attributes"] == {"VisibilityTimeout": "30", "DelaySeconds": "0"}


@pytest.mark.postgres_e2e
def test_set_queue_attributes_changes_them(sqs, queue_url):
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={"VisibilityTimeout": "120", "DelaySeconds": "5", "MaximumMessageSize": "2048",
                    "MessageRetentionPeriod": "600", "ReceiveMessageWaitTimeSeconds": "3"},
    )
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "120"
    assert attributes["DelaySeconds"] == "5"
    assert attributes["MaximumMessageSize"] == "2048"
    assert attributes["MessageRetentionPeriod"] == "600"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "3"


def test_kms_attributes_are_kept_and_turn_off_sqs_managed_sse(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), Attributes={"KmsMasterKeyId": "alias/aws/sqs"})["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sqs"
    assert attributes["KmsDataKeyReusePeriodSeconds"] == "300"
    assert attributes["SqsManagedSseEnabled"] == "false"


def test_kms_reuse_period_shows_only_with_a_key(sqs, queue_url):
    # as AWS answered (test_set_queue_attributes_default_values): emptying the key hides the period
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"KmsMasterKeyId": "testKeyId",
                                                             "KmsDataKeyReusePeriodSeconds": "6000"})
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsDataKeyReusePeriodSeconds"] == "6000"
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"KmsMasterKeyId": "", "KmsDataKeyReusePeriodSeconds": "300"})
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert "KmsMasterKeyId" not in attributes and "KmsDataKeyReusePeriodSeconds" not in attributes
    assert attributes["SqsManagedSseEnabled"] == "false"


@pytest.mark.postgres_e2e
def test_purge_queue_deletes_all_messages(sqs, queue_url):
    for i in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=str(i))
    sqs.purge_queue(QueueUrl=queue_url)
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages") is None
    count = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert count["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_second_purge_within_60_seconds_fails(sqs, queue_url):
    sqs.purge_queue(QueueUrl=queue_url)
    excinfo = raises(sqs.purge_queue, QueueUrl=queue_url)
    name = queue_url.rsplit("/", 1)[1]
    assert_error(excinfo, "PurgeQueueInProgress", f"Only one PurgeQueue operation on {name} is allowed every 60 seconds.",
                 status=403)  # AWS's recorded status


# -- tags and permissions --------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_tags_on_create_and_tag_untag_list(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), tags={"team": "a", "env": "dev"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a", "env": "dev"}
    sqs.tag_queue(QueueUrl=url, Tags={"team": "b", "cost": "1"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "b", "env": "dev", "cost": "1"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env", "cost"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "b"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


def test_add_permission_writes_queue_policy(sqs, queue_url):
    import json

    sqs.add_permission(QueueUrl=queue_url, Label="share", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy", "QueueArn"])["Attributes"]
    policy = json.loads(attributes["Policy"])
    assert policy["Version"] == "2008-10-17"  # the version AWS writes (LocalStack's recorded permission lifecycle)
    assert policy["Statement"] == [
        {
            "Sid": "share",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "SQS:SendMessage",
            "Resource": attributes["QueueArn"],
        }
    ]


def test_add_permission_with_existing_label_fails(sqs, queue_url):
    sqs.add_permission(QueueUrl=queue_url, Label="dup", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    excinfo = raises(sqs.add_permission, QueueUrl=queue_url, Label="dup", AWSAccountIds=["111111111111"],
                     Actions=["ReceiveMessage"])
    assert_error(excinfo, "InvalidParameterValue", "Value dup for parameter Label is invalid. Reason: Already exists.")


def test_remove_permission_removes_the_statement(sqs, queue_url):
    sqs.add_permission(QueueUrl=queue_url, Label="one", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    sqs.remove_permission(QueueUrl=queue_url, Label="one")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert "Policy" not in attributes
    excinfo = raises(sqs.remove_permission, QueueUrl=queue_url, Label="one")
    assert_error(excinfo, "InvalidParameterValue")


def test_remove_permission_of_an_unknown_label_keeps_the_policy(sqs, queue_url):
    sqs.add_permission(QueueUrl=queue_url, Label="one", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    excinfo = raises(sqs.remove_permission, QueueUrl=queue_url, Label="two")
    assert_error(excinfo, "InvalidParameterValue", "Value two for parameter Label is invalid. Reason: can't find label.")
    assert "Policy" in sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]


@pytest.mark.postgres_e2e
def test_permission_lets_another_account_send(client, sqs, queue_url):
    other = client("sqs", access_key="111111111111")
    assert_error(raises(other.send_message, QueueUrl=queue_url, MessageBody="x"), "AccessDenied", status=403)
    sqs.add_permission(QueueUrl=queue_url, Label="send", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    other.send_message(QueueUrl=queue_url, MessageBody="from another account")
    assert sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"] == "from another account"


# -- messages --------------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_send_and_receive_a_message(sqs, queue_url):
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    messages = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert len(messages) == 1
    assert messages[0]["MessageId"] == sent["MessageId"]
    assert messages[0]["Body"] == "hello"
    assert messages[0]["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert messages[0]["ReceiptHandle"]


def test_unicode_body_round_trips_with_md5_of_utf8(sqs, queue_url):
    body = "héllo \U0001f600 \t\n\r \ue000"
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"] == body


def test_receive_from_empty_queue_returns_no_messages(sqs, queue_url):
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)


def test_receive_returns_up_to_max_number_of_messages(sqs, queue_url):
    for i in range(15):
        sqs.send_message(QueueUrl=queue_url, MessageBody=str(i))
    assert len(sqs.receive_message(QueueUrl=queue_url)["Messages"]) == 1
    assert len(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]) == 10
    assert len(sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]) == 4


@pytest.mark.postgres_e2e
def test_received_message_is_invisible_until_deleted(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="once")
    message = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_visibility_timeout_expiry_makes_message_receivable_again(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    second = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=3, AttributeNames=["ApproximateReceiveCount"])
    message = second["Messages"][0]
    assert message["MessageId"] == first["MessageId"]
    assert message["ReceiptHandle"] != first["ReceiptHandle"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "2"


def test_queue_visibility_timeout_applies_to_receives(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.receive_message(QueueUrl=url)
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"]
    assert 0.5 < time.monotonic() - started < 2.0


def test_delete_with_old_receipt_handle_after_re_receive_succeeds(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    first = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"][0]
    second = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"][0]
    assert first["ReceiptHandle"] != second["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"])
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)


def test_delete_message_twice_succeeds(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)


@pytest.mark.postgres_e2e
def test_change_message_visibility_to_zero_makes_message_visible(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"] == "x"


def test_change_message_visibility_extends_invisibility(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=60)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)


def test_change_message_visibility_batch_reports_each_entry(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["ReceiptHandle"]
    result = sqs.change_message_visibility_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "good", "ReceiptHandle": handle, "VisibilityTimeout": 0},
            {"Id": "bad", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0},
        ],
    )
    assert result["Successful"] == [{"Id": "good"}]
    assert len(result["Failed"]) == 1
    failure = result["Failed"][0]
    assert failure["Id"] == "bad" and failure["SenderFault"] is True
    assert failure["Code"] == "ReceiptHandleIsInvalid"
    assert sqs.receive_message(QueueUrl=queue_url)["Messages"]


def test_message_delay_hides_message_until_it_passes(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    delayed = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert delayed["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5)["Messages"]
    assert messages[0]["Body"] == "later"
    assert time.monotonic() - started < 2


def test_queue_delay_applies_to_messages_without_their_own(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), Attributes={"DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["no delay"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"][0]["Body"] == "queue delay"


@pytest.mark.postgres_e2e
def test_long_poll_returns_as_soon_as_a_message_arrives(client, sqs, queue_url):
    def send_later():
        time.sleep(0.3)
        client("sqs").send_message(QueueUrl=queue_url, MessageBody="wake up")

    sender = threading.Thread(target=send_later)
    started = time.monotonic()
    sender.start()
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10)["Messages"]
    elapsed = time.monotonic() - started
    sender.join()
    assert messages[0]["Body"] == "wake up"
    assert elapsed < 2


def test_long_poll_with_no_messages_waits_the_full_wait_time(sqs, queue_url):
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    assert 0.9 <= time.monotonic() - started < 2


def test_queue_receive_wait_time_is_the_default_long_poll(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert time.monotonic() - started >= 0.9
    started = time.monotonic()
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - started < 0.5


def test_long_poll_of_a_deleted_queue_returns_empty(client, sqs, queue_url):
    def delete_later():
        time.sleep(0.3)
        client("sqs").delete_queue(QueueUrl=queue_url)

    deleter = threading.Thread(target=delete_later)
    deleter.start()
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5)
    deleter.join()
    assert time.monotonic() - started < 2


def test_message_attributes_round_trip_with_aws_md5(sqs, queue_url):
    attributes = {
        "City": {"DataType": "String", "StringValue": "Any City"},
        "Greeting": {"DataType": "Binary", "BinaryValue": b"Hello, World!"},
        "Population": {"DataType": "Number", "StringValue": "1250800"},
        "Custom": {"DataType": "Number.float", "StringValue": "1.5"},
    }
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="attrs", MessageAttributes=attributes)
    message = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"])["Messages"][0]
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_md5_of_message_attributes_matches_published_values(sqs, queue_url):
    # Published digests: the AWS CLI's receive-message example (a 'PostalCode' String 'ABC123'
    # hashes to b8e89563...e088e74f) and the aws-md5-of-message-attributes package's examples.
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes={
        "PostalCode": {"DataType": "String", "StringValue": "ABC123"}})
    assert sent["MD5OfMessageAttributes"].startswith("b8e89563")
    assert sent["MD5OfMessageAttributes"].endswith("e088e74f")
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes={
        "attribName1": {"DataType": "String", "StringValue": "attribValue 1"},
        "customNumberTypeAttrib": {"DataType": "Number.float", "StringValue": "4563442423554324324264524243.32543234"},
        "binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"},
    })
    assert sent["MD5OfMessageAttributes"] == "c932db14a896c663f83c260297d594ff"


def test_receive_filters_message_attributes_and_digests_the_selection(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes={
        "PostalCode": {"DataType": "String", "StringValue": "ABC123"},
        "City": {"DataType": "String", "StringValue": "Any City"},
        "trace.id": {"DataType": "String", "StringValue": "1"},
        "trace.span": {"DataType": "String", "StringValue": "2"},
    })
    message = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["PostalCode"], VisibilityTimeout=0)
    message = message["Messages"][0]
    assert list(message["MessageAttributes"]) == ["PostalCode"]
    assert message["MD5OfMessageAttributes"].startswith("b8e89563")
    message = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["trace.*"], VisibilityTimeout=0)
    assert sorted(message["Messages"][0]["MessageAttributes"]) == ["trace.id", "trace.span"]
    message = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=[".*"], VisibilityTimeout=0)
    assert len(message["Messages"][0]["MessageAttributes"]) == 4
    message = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["*"], VisibilityTimeout=0)
    assert len(message["Messages"][0]["MessageAttributes"]) == 4
    # as AWS answered (test_receive_message_message_attribute_names_filters): a prefix filter
    # selects every name that starts with the prefix, dotted or not
    message = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["Po.*"], VisibilityTimeout=0)
    assert list(message["Messages"][0]["MessageAttributes"]) == ["PostalCode"]
    message = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
    assert "MessageAttributes" not in message and "MD5OfMessageAttributes" not in message


def test_receive_returns_requested_system_attributes(sqs, queue_url):
    before = int(time.time() * 1000)
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    message = sqs.receive_message(QueueUrl=queue_url, MessageSystemAttributeNames=["All"])["Messages"][0]
    attributes = message["Attributes"]
    # no AWSTraceHeader: the sender sent no trace header (AWS sets one only from the sender's)
    assert set(attributes) == {"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}
    assert sent["MessageId"]
    assert before - 1000 <= int(attributes["SentTimestamp"]) <= int(attributes["ApproximateFirstReceiveTimestamp"])
    assert attributes["ApproximateReceiveCount"] == "1"
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["SentTimestamp"])["Messages"][0]
    assert again["Attributes"] == {"SentTimestamp": attributes["SentTimestamp"]}


def test_aws_trace_header_system_attribute_round_trips_with_md5(sqs, queue_url):
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageSystemAttributes=system)
    expected = hashlib.md5(
        len(b"AWSTraceHeader").to_bytes(4, "big") + b"AWSTraceHeader" + (6).to_bytes(4, "big") + b"String"
        + b"\x01" + len(trace).to_bytes(4, "big") + trace.encode()
    ).hexdigest()
    assert sent["MD5OfMessageSystemAttributes"] == expected
    message = sqs.receive_message(QueueUrl=queue_url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"][0]
    assert message["Attributes"] == {"AWSTraceHeader": trace}


def _with_trace_header(client, header: str):
    client.meta.events.register("before-sign.sqs.*", lambda request, **_: request.headers.__setitem__(
        "X-Amzn-Trace-Id", header))
    return client


def test_the_senders_trace_header_is_stored_as_sent(client, unique_name):
    # AWS (X-Ray's SQS integration): the X-Amzn-Trace-Id of SendMessage becomes the message's
    # AWSTraceHeader as it was sent (recorded: LocalStack's test_aws_trace_header_propagation);
    # it is no attribute the client sent, so no MD5OfMessageSystemAttributes is answered
    header = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
    sqs = _with_trace_header(client("sqs"), header)
    url = sqs.create_queue(QueueName=unique_name("header"))["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="test",
                            MessageAttributes={"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}})
    assert "MD5OfMessageSystemAttributes" not in sent
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "a"}, {"Id": "b", "MessageBody": "b"}])
    assert len(batch["Successful"]) == 2
    messages = receive_all(sqs, url, MessageSystemAttributeNames=["AWSTraceHeader", "SentTimestamp"],
                           MessageAttributeNames=["All"])
    assert [m["Attributes"]["AWSTraceHeader"] for m in messages] == [header] * 3
    assert all("MD5OfMessageSystemAttributes" not in m for m in messages)
    # both given: the system attribute wins over the HTTP header, as X-Ray's documentation says
    own = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sqs.send_message(QueueUrl=url, MessageBody="own", MessageSystemAttributes={
        "AWSTraceHeader": {"DataType": "String", "StringValue": own}})
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"]
    assert message["Attributes"] == {"AWSTraceHeader": own}


def test_a_trace_header_that_is_not_xrays_is_stored_as_sent(client, unique_name):
    header = 'Root=not-a-trace;Note="quoted\\"'
    sqs = _with_trace_header(client("sqs"), header)
    url = sqs.create_queue(QueueName=unique_name("odd"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert message["Attributes"]["AWSTraceHeader"] == header


# -- batches ---------------------------------------------------------------------------------


@pytest.mark.postgres_e2e
def test_send_message_batch_reports_successes_and_failures(sqs, queue_url):
    result = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "a", "MessageBody": "first"},
            {"Id": "b", "MessageBody": "bad \x01 body"},
            {"Id": "c", "MessageBody": "third", "DelaySeconds": 901},
            {"Id": "d", "MessageBody": "fourth", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        ],
    )
    assert [s["Id"] for s in result["Successful"]] == ["a", "d"]
    assert result["Successful"][0]["MD5OfMessageBody"] == hashlib.md5(b"first").hexdigest()
    assert "MD5OfMessageAttributes" in result["Successful"][1]
    failed = {f["Id"]: f for f in result["Failed"]}
    assert failed["b"]["Code"] == "InvalidMessageContents" and failed["b"]["SenderFault"] is True
    assert failed["c"]["Code"] == "InvalidParameterValue"
    assert failed["c"]["Message"] == "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
    assert sorted(m["Body"] for m in receive_all(sqs, queue_url)) == ["first", "fourth"]


@pytest.mark.postgres_e2e
def test_delete_message_batch_reports_each_entry(sqs, queue_url):
    sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    messages = receive_all(sqs, queue_url)
    entries = [{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    entries.append({"Id": "bogus", "ReceiptHandle": "garbage"})
    result = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    assert sorted(s["Id"] for s in result["Successful"]) == ["m0", "m1", "m2"]
    assert result["Failed"][0]["Id"] == "bogus"
    assert result["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


# -- the AWS CLI -----------------------------------------------------------------------------


def test_aws_cli_creates_sends_and_receives(aws_cli, unique_name):
    name = unique_name("cli")
    url = aws_cli("sqs", "create-queue", "--queue-name", name)["QueueUrl"]
    assert url.endswith(f"/000000000000/{name}")
    sent = aws_cli("sqs", "send-message", "--queue-url", url, "--message-body", "from the cli",
                   "--message-attributes", '{"k": {"DataType": "String", "StringValue": "v"}}')
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"from the cli").hexdigest()
    received = aws_cli("sqs", "receive-message", "--queue-url", url, "--attribute-names", "All",
                       "--message-attribute-names", "All")
    message = received["Messages"][0]
    assert message["Body"] == "from the cli"
    assert message["MessageAttributes"]["k"]["StringValue"] == "v"
    aws_cli("sqs", "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    listed = aws_cli("sqs", "list-queues", "--queue-name-prefix", name)
    assert listed["QueueUrls"] == [url]
    attributes = aws_cli("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_receive_asking_for_more_than_available_returns_each_message_once(sqs, queue_url):
    sent = {sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}")["MessageId"] for i in range(5)}
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["MessageId"] for m in messages) == sorted(sent)


@pytest.mark.postgres_e2e
def test_receive_while_messages_arrive_never_returns_a_message_twice(sqs, queue_url):
    seen: list[str] = []

    def send():
        for i in range(30):
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}")

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    while len(seen) < 30 and time.monotonic() < deadline:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60)
        seen += [m["MessageId"] for m in batch.get("Messages", [])]
    sender.join()
    assert len(seen) == 30
    assert len(set(seen)) == 30


def test_a_batch_leaves_an_empty_failed_list_out(sqs, queue_url):
    # as AWS answered over JSON (test_send_message_batch_with_oversized_contents_with_updated_maximum_message_size)
    result = sqs.send_message_batch(QueueUrl=queue_url, Entries=[{"Id": "1", "MessageBody": "a"}])
    assert [s["Id"] for s in result["Successful"]] == ["1"]
    assert "Failed" not in result
