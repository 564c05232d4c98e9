"""SQS bad input: each answered with AWS's status, error code and message, never a 500."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from sqs_support import assert_error, raises


@pytest.fixture
def sqs(client):
    return client("sqs")


@pytest.fixture
def queue_url(sqs, unique_name):
    return sqs.create_queue(QueueName=unique_name("e"))["QueueUrl"]


def test_message_over_maximum_message_size_is_rejected(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), Attributes={"MaximumMessageSize": "262144"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 262_144)
    excinfo = raises(sqs.send_message, QueueUrl=url, MessageBody="x" * 262_145)
    assert_error(excinfo, "InvalidParameterValue",
                 "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.")


def test_message_attributes_count_towards_the_size_limit(sqs, unique_name):
    url = sqs.create_queue(QueueName=unique_name(), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    attributes = {"name": {"DataType": "String", "StringValue": "v" * 10}}
    excinfo = raises(sqs.send_message, QueueUrl=url, MessageBody="x" * 1010, MessageAttributes=attributes)
    assert_error(excinfo, "InvalidParameterValue",
                 "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.")


def test_message_over_one_mebibyte_is_rejected_by_default(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x" * 1_048_577)
    assert_error(excinfo, "InvalidParameterValue",
                 "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.")


def test_invalid_character_in_body_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="bad \x01 char")
    assert_error(
        excinfo,
        "InvalidMessageContents",
        "Invalid binary character '#x1' was found in the message body, the set of allowed characters is "
        "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
    )


def test_noncharacter_ffff_in_body_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="bad \uffff")
    assert_error(excinfo, "InvalidMessageContents")
    assert "'#xFFFF'" in excinfo.value.response["Error"]["Message"]


def test_empty_body_is_missing_parameter(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="")
    assert_error(excinfo, "MissingParameter", "The request must contain the parameter MessageBody.")


def test_unknown_attribute_in_get_queue_attributes(sqs, queue_url):
    excinfo = raises(sqs.get_queue_attributes, QueueUrl=queue_url, AttributeNames=["Bogus"])
    assert_error(excinfo, "InvalidAttributeName", "Unknown Attribute Bogus.")


def test_unknown_attribute_in_set_queue_attributes(sqs, queue_url):
    excinfo = raises(sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"Bogus": "1"})
    assert_error(excinfo, "InvalidAttributeName", "Unknown Attribute Bogus.")


def test_unknown_attribute_in_create_queue(sqs, unique_name):
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={"Bogus": "1"})
    assert_error(excinfo, "InvalidAttributeName", "Unknown Attribute Bogus.")


def test_read_only_attribute_cannot_be_set(sqs, queue_url):
    excinfo = raises(sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"QueueArn": "x"})
    assert_error(excinfo, "InvalidAttributeName", "Unknown Attribute QueueArn.")


@pytest.mark.parametrize(
    "name, value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("KmsDataKeyReusePeriodSeconds", "59"),
        ("SqsManagedSseEnabled", "maybe"),
        ("Policy", "not json"),
    ],
)
def test_invalid_attribute_value_is_rejected(sqs, unique_name, name, value):
    excinfo = raises(sqs.create_queue, QueueName=unique_name(), Attributes={name: value})
    assert_error(excinfo, "InvalidAttributeValue", f"Invalid value for the parameter {name}.")


def test_invalid_attribute_value_in_set_queue_attributes(sqs, queue_url):
    excinfo = raises(sqs.set_queue_attributes, QueueUrl=queue_url, Attributes={"VisibilityTimeout": "43201"})
    assert_error(excinfo, "InvalidAttributeValue", "Invalid value for the parameter VisibilityTimeout.")


@pytest.mark.parametrize("name", ["", "a" * 81, "has space", "dot.name", "slash/name"])
def test_invalid_queue_name_is_rejected(sqs, name):
    excinfo = raises(sqs.create_queue, QueueName=name)
    assert_error(excinfo, "InvalidParameterValue",
                 "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")


def test_queue_name_of_80_characters_is_accepted(sqs, unique_name):
    name = unique_name().ljust(80, "x")
    assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith("/" + name)


def test_missing_queue(sqs, unique_name):
    url = f"http://localhost:4566/000000000000/{unique_name()}"
    for call in (
        lambda: sqs.send_message(QueueUrl=url, MessageBody="x"),
        lambda: sqs.receive_message(QueueUrl=url),
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
        lambda: sqs.delete_queue(QueueUrl=url),
        lambda: sqs.purge_queue(QueueUrl=url),
    ):
        excinfo = raises(call)
        assert_error(excinfo, "QueueDoesNotExist", "The specified queue does not exist.",
                     legacy="AWS.SimpleQueueService.NonExistentQueue")


def test_max_number_of_messages_11_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.receive_message, QueueUrl=queue_url, MaxNumberOfMessages=11)
    assert_error(excinfo, "InvalidParameterValue",
                 "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")


def test_max_number_of_messages_0_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.receive_message, QueueUrl=queue_url, MaxNumberOfMessages=0)
    assert_error(excinfo, "InvalidParameterValue")


def test_wait_time_seconds_21_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.receive_message, QueueUrl=queue_url, WaitTimeSeconds=21)
    assert_error(excinfo, "InvalidParameterValue",
                 "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")


def test_receive_visibility_timeout_over_12_hours_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.receive_message, QueueUrl=queue_url, VisibilityTimeout=43201)
    assert_error(excinfo, "InvalidParameterValue")


def test_delay_over_900_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x", DelaySeconds=901)
    assert_error(excinfo, "InvalidParameterValue",
                 "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.")


def test_message_attribute_with_empty_value_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"empty": {"DataType": "String", "StringValue": ""}})
    assert_error(excinfo, "InvalidParameterValue",
                 "Message (user) attribute 'empty' must contain a non-empty value of type 'String'.")


def test_message_attribute_names_may_use_letters_of_any_script(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"attr.1øßä": {"DataType": "String", "StringValue": "ok"}})


def test_binary_message_attribute_without_value_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"bin": {"DataType": "Binary", "BinaryValue": b""}})
    assert_error(excinfo, "InvalidParameterValue",
                 "The message attribute 'bin' must contain non-empty message attribute value for message attribute type 'Binary'.")


def test_message_attribute_with_bad_data_type_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"k": {"DataType": "string", "StringValue": "v"}})
    assert_error(excinfo, "InvalidParameterValue",
                 "The type of message (user) attribute 'k' is invalid. You must use only the following supported type prefixes: Binary, Number, String.")


def test_number_attribute_must_be_a_number(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"n": {"DataType": "Number", "StringValue": "twelve"}})
    assert_error(excinfo, "InvalidParameterValue")


def test_more_than_10_message_attributes_are_rejected(sqs, queue_url):
    attributes = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x", MessageAttributes=attributes)
    assert_error(excinfo, "InvalidParameterValue", "Number of message attributes [11] exceeds the allowed maximum [10].")


def test_reserved_message_attribute_name_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"AWS.thing": {"DataType": "String", "StringValue": "v"}})
    assert_error(excinfo, "InvalidParameterValue")


def test_invalid_receipt_handle_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.delete_message, QueueUrl=queue_url, ReceiptHandle="garbage")
    assert_error(excinfo, "ReceiptHandleIsInvalid", 'The input receipt handle "garbage" is not a valid receipt handle.')


def test_receipt_handle_of_another_queue_is_invalid(sqs, queue_url, unique_name):
    other = sqs.create_queue(QueueName=unique_name())["QueueUrl"]
    sqs.send_message(QueueUrl=other, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=other)["Messages"][0]["ReceiptHandle"]
    assert_error(raises(sqs.delete_message, QueueUrl=queue_url, ReceiptHandle=handle), "ReceiptHandleIsInvalid")


def test_change_visibility_after_the_timeout_ran_out_is_taken(sqs, queue_url):
    # as AWS answered (LocalStack's recorded test_change_message_visibility_after_visibility_timeout_expiration)
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)


def test_a_fifo_receipt_handle_expires_with_its_visibility_timeout(sqs, unique_name):
    # as AWS answered (test_fifo_delete_after_visibility_timeout)
    url = sqs.create_queue(QueueName=unique_name() + ".fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    message = f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
    assert_error(raises(sqs.delete_message, QueueUrl=url, ReceiptHandle=handle), "InvalidParameterValue", message)
    assert_error(raises(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=5),
                 "InvalidParameterValue", message)


def test_invalid_character_in_an_attribute_value_is_invalid_parameter_value(sqs, queue_url):
    # a body's bad character is InvalidMessageContents, an attribute's InvalidParameterValue (as
    # AWS answered test_invalid_string_attributes_cause_invalid_parameter_value_error)
    excinfo = raises(sqs.send_message, QueueUrl=queue_url, MessageBody="x",
                     MessageAttributes={"attr1": {"StringValue": "bad \x08", "DataType": "String"}})
    assert_error(excinfo, "InvalidParameterValue")


def test_change_visibility_over_12_hours_fails(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["ReceiptHandle"]
    excinfo = raises(sqs.change_message_visibility, QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=43201)
    assert_error(excinfo, "InvalidParameterValue")


def test_change_visibility_of_deleted_message_fails(sqs, queue_url):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
    excinfo = raises(sqs.change_message_visibility, QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert_error(
        excinfo,
        "InvalidParameterValue",
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.",
    )


def test_empty_batch_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.send_message_batch, QueueUrl=queue_url, Entries=[])
    assert_error(excinfo, "EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")


def test_batch_of_11_is_rejected(sqs, queue_url):
    entries = [{"Id": str(i), "MessageBody": "x"} for i in range(11)]
    excinfo = raises(sqs.send_message_batch, QueueUrl=queue_url, Entries=entries)
    assert_error(excinfo, "TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent 11.")


def test_batch_with_repeated_ids_is_rejected(sqs, queue_url):
    entries = [{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}]
    excinfo = raises(sqs.send_message_batch, QueueUrl=queue_url, Entries=entries)
    assert_error(excinfo, "BatchEntryIdsNotDistinct", "Id same repeated.")


def test_batch_with_invalid_id_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.delete_message_batch, QueueUrl=queue_url, Entries=[{"Id": "bad id!", "ReceiptHandle": "x"}])
    assert_error(excinfo, "InvalidBatchEntryId",
                 "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")


def test_batch_over_the_total_size_limit_is_rejected(sqs, queue_url):
    entries = [{"Id": str(i), "MessageBody": "x" * 300_000} for i in range(4)]
    excinfo = raises(sqs.send_message_batch, QueueUrl=queue_url, Entries=entries)
    assert_error(excinfo, "BatchRequestTooLong",
                 "Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes.")


def test_empty_change_visibility_batch_is_rejected(sqs, queue_url):
    excinfo = raises(sqs.change_message_visibility_batch, QueueUrl=queue_url, Entries=[])
    assert_error(excinfo, "EmptyBatchRequest",
                 "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request.")


def test_list_queues_max_results_out_of_range(sqs):
    excinfo = raises(sqs.list_queues, MaxResults=1001)
    assert_error(excinfo, "InvalidParameterValue")


def test_malformed_queue_url_is_queue_does_not_exist(sqs):
    excinfo = raises(sqs.send_message, QueueUrl="http://localhost:4566/not/a/queue/url", MessageBody="x")
    assert_error(excinfo, "QueueDoesNotExist")


def test_unmodelled_errors_carry_awss_json_type_and_query_code(client, unique_name):
    # AWS's recorded answers: Code InvalidParameterValue / QueryErrorCode InvalidParameterValueException,
    # Code MissingParameter / QueryErrorCode MissingRequiredParameterException
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="has spaces")
    error = info.value.response["Error"]
    assert (error["Code"], error["QueryErrorCode"]) == ("InvalidParameterValue", "InvalidParameterValueException")
    fifo = sqs.create_queue(QueueName=unique_name("q") + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=fifo, MessageBody="x", MessageDeduplicationId="d")
    error = info.value.response["Error"]
    assert (error["Code"], error["QueryErrorCode"]) == ("MissingParameter", "MissingRequiredParameterException")
