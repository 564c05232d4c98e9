"""Malformed and invalid requests through a real server: AWS's status, code and message, never a 500."""

from __future__ import annotations

import httpx
import pytest

JSON_HEADERS = {"content-type": "application/x-amz-json-1.0"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
SIGNED_SQS = {"authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, "
              "SignedHeaders=host, Signature=0"}
SIGNED_STS = {"authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sts/aws4_request, "
              "SignedHeaders=host, Signature=0"}


@pytest.fixture(scope="module")
def http(endpoint):
    with httpx.Client(base_url=endpoint, timeout=10) as client:
        yield client


def sqs_json(http, operation: str | None, body: bytes | str):
    headers = {**JSON_HEADERS, **SIGNED_SQS}
    if operation is not None:
        headers["x-amz-target"] = f"AmazonSQS.{operation}"
    return http.post("/", content=body, headers=headers)


def sqs_query(http, body: bytes | str):
    return http.post("/", content=body, headers={**FORM, **SIGNED_SQS})


def query_error(response) -> tuple[str, str]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(response.content)
    ns = {"a": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else None
    find = (lambda p: root.find(f".//a:{p}", ns)) if ns else (lambda p: root.find(f".//{p}"))
    return find("Code").text, find("Message").text


# -- SQS, awsJson 1.0 ------------------------------------------------------------------------


def test_sqs_json_malformed_body_is_serialization_exception(http):
    r = sqs_json(http, "ListQueues", b"{not json")
    assert r.status_code == 400
    assert r.json()["__type"].endswith("#SerializationException")


def test_sqs_json_non_object_body_is_serialization_exception(http):
    r = sqs_json(http, "ListQueues", b"[1, 2]")
    assert r.status_code == 400
    assert r.json()["__type"].endswith("#SerializationException")


def test_sqs_json_unknown_target_is_unknown_operation(http):
    r = sqs_json(http, "NoSuchThing", b"{}")
    assert r.status_code == 400
    assert r.json()["__type"].endswith("#UnknownOperationException")


def test_sqs_json_missing_target_is_unknown_operation(http):
    r = sqs_json(http, None, b"{}")
    assert r.status_code == 400
    assert r.json()["__type"].endswith("#UnknownOperationException")


def test_sqs_json_missing_required_parameter(http):
    r = sqs_json(http, "SendMessage", b'{"MessageBody": "x"}')
    assert r.status_code == 400
    assert r.json()["message"] == "The request must contain the parameter QueueUrl."
    assert r.headers["x-amzn-query-error"] == "MissingParameter;Sender"


def test_sqs_json_wrong_type_is_serialization_exception(http):
    r = sqs_json(http, "ReceiveMessage", b'{"QueueUrl": "http://x/000000000000/q", "MaxNumberOfMessages": "ten"}')
    assert r.status_code == 400
    assert r.json()["__type"].endswith("#SerializationException")


def test_sqs_json_unknown_queue_carries_legacy_query_code(http):
    r = sqs_json(http, "GetQueueAttributes", b'{"QueueUrl": "http://localhost/000000000000/no-such-queue-x"}')
    assert r.status_code == 400
    assert r.json()["__type"].endswith("#QueueDoesNotExist")
    assert r.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"


def test_sqs_json_query_status_only_in_query_mode(http, unique_name):
    """PurgeQueueInProgress is 403 in awsQuery (its awsQueryError trait): a JSON client that sends
    `x-amzn-query-mode: true` (the SDKs do) gets 403, any other the JSON protocol's 400; both get
    the awsQuery code in x-amzn-query-error and the JSON type in __type."""
    url = sqs_json(http, "CreateQueue", f'{{"QueueName": "{unique_name("purge")}"}}').json()["QueueUrl"]
    body = f'{{"QueueUrl": "{url}"}}'
    assert sqs_json(http, "PurgeQueue", body).status_code == 200
    plain = sqs_json(http, "PurgeQueue", body)
    assert plain.status_code == 400, plain.text
    assert plain.json()["__type"] == "com.amazonaws.sqs#PurgeQueueInProgress"
    assert plain.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.PurgeQueueInProgress;Sender"
    headers = {**JSON_HEADERS, **SIGNED_SQS, "x-amz-target": "AmazonSQS.PurgeQueue", "x-amzn-query-mode": "true"}
    query_mode = http.post("/", content=body, headers=headers)
    assert query_mode.status_code == 403, query_mode.text
    assert query_mode.json()["__type"] == "com.amazonaws.sqs#PurgeQueueInProgress"
    assert query_mode.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.PurgeQueueInProgress;Sender"


def test_sqs_boto3_sees_the_query_status(client, unique_name):
    """boto3 sends x-amzn-query-mode: true, so it reads the awsQuery status and code."""
    from botocore.exceptions import ClientError

    sqs = client("sqs")
    url = sqs.create_queue(QueueName=unique_name("purge"))["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.purge_queue(QueueUrl=url)
    assert e.value.response["Error"]["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# -- SQS, awsQuery (older SDKs) ---------------------------------------------------------------


def test_sqs_query_unknown_action_is_invalid_action(http):
    r = sqs_query(http, "Action=NoSuchThing&Version=2012-11-05")
    assert r.status_code == 400
    assert query_error(r) == ("InvalidAction", "The action NoSuchThing is not valid for this web service.")


def test_sqs_query_missing_required_parameter(http):
    r = sqs_query(http, "Action=SendMessage&Version=2012-11-05&MessageBody=x")
    assert r.status_code == 400
    assert query_error(r) == ("MissingParameter", "The request must contain the parameter QueueUrl.")


def test_sqs_query_malformed_form_body_is_4xx(http):
    r = sqs_query(http, b"Action=ListQueues&Version=2012-11-05&QueueNamePrefix=%ff%fe")
    assert 400 <= r.status_code < 500
    assert query_error(r)[0] == "MalformedQueryString"


def test_sqs_query_wrong_type_is_invalid_parameter_value(http):
    r = sqs_query(http, "Action=ReceiveMessage&Version=2012-11-05&QueueUrl=http://x/000000000000/q"
                        "&MaxNumberOfMessages=ten")
    assert r.status_code == 400
    assert query_error(r)[0] == "InvalidParameterValue"


def test_sqs_query_unknown_queue_is_legacy_code(http):
    r = sqs_query(http, "Action=GetQueueAttributes&Version=2012-11-05"
                        "&QueueUrl=http://localhost/000000000000/no-such-queue-y")
    assert r.status_code == 400
    assert query_error(r)[0] == "AWS.SimpleQueueService.NonExistentQueue"


# -- STS, awsQuery ----------------------------------------------------------------------------


def test_sts_query_unknown_action(http):
    r = http.post("/", content="Action=NoSuchThing&Version=2011-06-15", headers={**FORM, **SIGNED_STS})
    assert r.status_code == 400
    assert query_error(r) == ("InvalidAction", "The action NoSuchThing is not valid for this web service.")


def test_sts_query_missing_action(http):
    r = http.post("/", content="Version=2011-06-15", headers={**FORM, **SIGNED_STS})
    assert r.status_code == 400
    assert query_error(r)[0] == "MissingAction"


def test_sts_query_missing_required_parameter_is_validation_error(http):
    r = http.post("/", content="Action=AssumeRole&Version=2011-06-15&RoleSessionName=session",
                  headers={**FORM, **SIGNED_STS})
    assert r.status_code == 400
    assert query_error(r) == (
        "ValidationError",
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: "
        "Member must not be null",
    )


def test_sts_query_length_constraint_is_validation_error(http):
    r = http.post("/", content="Action=AssumeRole&Version=2011-06-15&RoleSessionName=s"
                               "&RoleArn=arn:aws:iam::000000000000:role/r",
                  headers={**FORM, **SIGNED_STS})
    assert r.status_code == 400
    code, message = query_error(r)
    assert code == "ValidationError"
    assert "roleSessionName" in message and "Member must have length greater than or equal to 2" in message


def test_json_null_inside_a_list_is_a_validation_error(http):
    auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0"
    body = b'{"Entries": [{"Source": "app", "DetailType": "t", "Detail": "{}", "Resources": [null]}]}'
    response = http.post("/", content=body, headers={"authorization": auth, "x-amz-target": "AWSEvents.PutEvents",
                                                     "content-type": "application/x-amz-json-1.1"})
    assert response.status_code == 400
    assert response.json()["__type"].endswith("ValidationException")
    assert "Value null at 'entries.1.member.resources.1.member' failed to satisfy constraint" in response.json()["message"]
