"""SQS over awsQuery (older SDKs): overcast's query protocol with the legacy model, checked against
botocore's own QuerySerializer (requests) and QueryParser (responses) for that model."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import ServiceModel as BotoServiceModel
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer

from overcast.aws.context import HttpRequest, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.legacy_models import load_legacy_model
from overcast.aws.models import load_service_model
from overcast.aws.protocols import get_protocol

QUERY = get_protocol("query")


@pytest.fixture(scope="module")
def legacy():
    return load_legacy_model("sqs-2012-11-05-query")


@pytest.fixture(scope="module")
def boto_legacy(legacy):
    return BotoServiceModel(legacy.spec, "sqs")


def _ctx() -> RequestContext:
    return RequestContext("000000000000", "us-east-1", "sqs", HttpRequest("POST", "/", "/", "", {}, b""),
                          request_id="req-1")


def _parse_response(boto_legacy, operation: str, response):
    headers = HeadersDict()
    for name, value in response.headers:
        headers[name] = value
    parsed = QueryParser().parse({"status_code": response.status, "headers": headers, "body": response.body},
                                 boto_legacy.operation_model(operation).output_shape)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == "req-1"
    return parsed


def test_legacy_model_matches_the_json_model(legacy):
    current = load_service_model("sqs")
    assert legacy.protocol == "query"
    assert set(current.operations) <= set(legacy.operations)
    for name, op in current.operations.items():
        for key in ("input_shape", "output_shape"):
            cshape, lshape = getattr(op, key), getattr(legacy.operations[name], key)
            if cshape:
                assert set(current.shapes[cshape].get("members", {})) == set(legacy.shapes[lshape].get("members", {}))


def test_legacy_model_keeps_the_query_error_codes(legacy):
    assert legacy.shapes["QueueDoesNotExist"]["error"]["code"] == "AWS.SimpleQueueService.NonExistentQueue"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("ReceiveMessage", {"QueueUrl": "http://localhost:4566/000000000000/q", "AttributeNames": ["All"],
                            "MessageAttributeNames": ["a", "b"], "MaxNumberOfMessages": 10,
                            "WaitTimeSeconds": 0}),
        ("SendMessageBatch", {"QueueUrl": "http://q", "Entries": [
            {"Id": "1", "MessageBody": "one", "DelaySeconds": 1,
             "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"},
                                   "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}},
            {"Id": "2", "MessageBody": "two"}]}),
        ("SetQueueAttributes", {"QueueUrl": "http://q", "Attributes": {"VisibilityTimeout": "30", "DelaySeconds": "0"}}),
        ("CreateQueue", {"QueueName": "q", "Attributes": {"FifoQueue": "true"}, "tags": {"team": "a"}}),
        ("ListQueues", {"QueueNamePrefix": "q", "MaxResults": 5}),
    ],
)
def test_requests_from_botocore_query_serializer_parse(legacy, boto_legacy, operation, params):
    serialized = QuerySerializer().serialize_to_request(params, boto_legacy.operation_model(operation))
    body = urlencode(serialized["body"]).encode()
    request = HttpRequest("POST", "/", "/", "", {"content-type": "application/x-www-form-urlencoded"}, body)
    op, parsed = QUERY.parse(legacy, request)
    assert op.name == operation
    assert parsed == params


def test_receive_message_response_parses_in_botocore(legacy, boto_legacy):
    output = {"Messages": [
        {"MessageId": "m1", "ReceiptHandle": "r1", "MD5OfBody": "x", "Body": "hello <&> world",
         "Attributes": {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"},
         "MD5OfMessageAttributes": "y",
         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"},
                               "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}},
        {"MessageId": "m2", "ReceiptHandle": "r2", "MD5OfBody": "z", "Body": "two"},
    ]}
    response = QUERY.serialize(legacy, legacy.operations["ReceiveMessage"], output, _ctx())
    assert response.status == 200
    assert _parse_response(boto_legacy, "ReceiveMessage", response) == output


@pytest.mark.parametrize(
    ("operation", "output"),
    [
        ("ListQueues", {"QueueUrls": ["http://localhost:4566/000000000000/a", "http://localhost:4566/000000000000/b"],
                        "NextToken": "t"}),
        ("GetQueueAttributes", {"Attributes": {"VisibilityTimeout": "30", "QueueArn": "arn:aws:sqs:us-east-1:0:q"}}),
        ("SendMessageBatch", {"Successful": [{"Id": "1", "MessageId": "m", "MD5OfMessageBody": "x"}],
                              "Failed": [{"Id": "2", "SenderFault": True, "Code": "InvalidParameterValue",
                                          "Message": "bad"}]}),
        ("SendMessage", {"MessageId": "m", "MD5OfMessageBody": "x", "SequenceNumber": "1"}),
        ("ListQueueTags", {"Tags": {"a": "1"}}),
        ("CreateQueue", {"QueueUrl": "http://q"}),
        ("ListMessageMoveTasks", {"Results": [{"TaskHandle": "h", "Status": "RUNNING",
                                               "ApproximateNumberOfMessagesMoved": 3}]}),
    ],
)
def test_responses_parse_in_botocore(legacy, boto_legacy, operation, output):
    response = QUERY.serialize(legacy, legacy.operations[operation], output, _ctx())
    assert _parse_response(boto_legacy, operation, response) == output


def test_empty_output_still_has_the_result_wrapper(legacy, boto_legacy):
    response = QUERY.serialize(legacy, legacy.operations["ListQueues"], {}, _ctx())
    assert _parse_response(boto_legacy, "ListQueues", response) == {}


def test_error_uses_the_legacy_code(legacy, boto_legacy):
    response = QUERY.serialize_error(legacy, None, AwsError("QueueDoesNotExist", "The specified queue does not exist."), _ctx())
    headers = HeadersDict({k: v for k, v in response.headers})
    parsed = QueryParser().parse({"status_code": response.status, "headers": headers, "body": response.body}, None)
    assert response.status == 400
    assert parsed["Error"] == {"Type": "Sender", "Code": "AWS.SimpleQueueService.NonExistentQueue",
                               "Message": "The specified queue does not exist."}


def test_json_error_on_query_compatible_sqs_carries_the_legacy_code():
    model = load_service_model("sqs")
    response = get_protocol("json").serialize_error(model, None, AwsError("QueueDoesNotExist", "gone"), _ctx())
    assert ("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender") in response.headers


def test_timestamps_default_to_iso8601_in_query_xml(legacy):
    # no SQS output has a timestamp; check the text form the XML writer uses
    from overcast.aws.protocols.shapes import to_text

    when = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert to_text("timestamp", when) == "2024-01-02T03:04:05Z"
