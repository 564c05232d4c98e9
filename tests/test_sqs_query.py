"""SQS over awsQuery, as older SDKs speak it: form-encoded POSTs, XML answers. Queues are the
same whichever protocol created them."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import httpx
import pytest


def strip_namespaces(element: ET.Element) -> ET.Element:
    for node in element.iter():
        if "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
    return element


def query(endpoint: str, action: str, path: str = "/", **params) -> tuple[int, ET.Element]:
    form = {"Action": action, "Version": "2012-11-05", **params}
    response = httpx.post(f"{endpoint}{path}", data=form,
                          headers={"content-type": "application/x-www-form-urlencoded"})
    return response.status_code, strip_namespaces(ET.fromstring(response.content))


@pytest.fixture
def sqs(client):
    return client("sqs")


@pytest.fixture
def queue_url(endpoint, unique_name):
    status, root = query(endpoint, "CreateQueue", QueueName=unique_name("query"))
    assert status == 200
    return root.findtext("CreateQueueResult/QueueUrl")


def test_create_queue_over_query_returns_queue_url(endpoint, unique_name):
    name = unique_name("query")
    status, root = query(endpoint, "CreateQueue", QueueName=name,
                         **{"Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "45"})
    assert status == 200
    assert root.tag == "CreateQueueResponse"
    assert root.findtext("CreateQueueResult/QueueUrl") == f"{endpoint}/000000000000/{name}"
    assert root.findtext("ResponseMetadata/RequestId")


def test_send_message_over_query_returns_id_and_md5(endpoint, queue_url):
    status, root = query(endpoint, "SendMessage", QueueUrl=queue_url, MessageBody="hello query")
    assert status == 200
    result = root.find("SendMessageResult")
    assert result.findtext("MessageId")
    assert result.findtext("MD5OfMessageBody") == hashlib.md5(b"hello query").hexdigest()


def test_message_attributes_over_query_round_trip(endpoint, queue_url):
    status, root = query(endpoint, "SendMessage", QueueUrl=queue_url, MessageBody="with attributes", **{
        "MessageAttribute.1.Name": "City",
        "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "Any City",
    })
    assert status == 200
    sent_md5 = root.findtext("SendMessageResult/MD5OfMessageAttributes")
    assert sent_md5
    status, root = query(endpoint, "ReceiveMessage", QueueUrl=queue_url,
                         **{"AttributeName.1": "All", "MessageAttributeName.1": "All"})
    assert status == 200
    message = root.find("ReceiveMessageResult/Message")
    assert message.findtext("Body") == "with attributes"
    assert message.findtext("ReceiptHandle")
    assert message.findtext("MD5OfMessageAttributes") == sent_md5
    attributes = {a.findtext("Name"): a.findtext("Value") for a in message.findall("Attribute")}
    assert attributes["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in attributes
    attribute = message.find("MessageAttribute")
    assert attribute.findtext("Name") == "City"
    assert attribute.findtext("Value/DataType") == "String"
    assert attribute.findtext("Value/StringValue") == "Any City"


def test_receive_and_delete_over_query(endpoint, queue_url):
    query(endpoint, "SendMessage", QueueUrl=queue_url, MessageBody="bye")
    _, root = query(endpoint, "ReceiveMessage", QueueUrl=queue_url)
    handle = root.findtext("ReceiveMessageResult/Message/ReceiptHandle")
    status, root = query(endpoint, "DeleteMessage", QueueUrl=queue_url, ReceiptHandle=handle)
    assert status == 200
    assert root.tag == "DeleteMessageResponse"
    _, root = query(endpoint, "ReceiveMessage", QueueUrl=queue_url)
    assert root.find("ReceiveMessageResult/Message") is None


def test_get_queue_attributes_over_query(endpoint, queue_url):
    query(endpoint, "SetQueueAttributes", QueueUrl=queue_url,
          **{"Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "2"})
    status, root = query(endpoint, "GetQueueAttributes", QueueUrl=queue_url, **{"AttributeName.1": "All"})
    assert status == 200
    attributes = {a.findtext("Name"): a.findtext("Value") for a in root.findall("GetQueueAttributesResult/Attribute")}
    assert attributes["DelaySeconds"] == "2"
    assert attributes["QueueArn"].startswith("arn:aws:sqs:us-east-1:000000000000:")


def test_missing_queue_over_query_has_legacy_error_code(endpoint, unique_name):
    status, root = query(endpoint, "SendMessage", QueueUrl=f"{endpoint}/000000000000/{unique_name()}", MessageBody="x")
    assert status == 400
    assert root.tag == "ErrorResponse"
    assert root.findtext("Error/Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert root.findtext("Error/Type") == "Sender"
    # AWS's awsQuery wording (LocalStack's AWS-recorded test_non_existent_queue, the query variant)
    assert root.findtext("Error/Message") == "The specified queue does not exist for this wsdl version."
    assert root.findtext("RequestId")


def test_invalid_parameter_over_query(endpoint, queue_url):
    status, root = query(endpoint, "ReceiveMessage", QueueUrl=queue_url, MaxNumberOfMessages="11")
    assert status == 400
    assert root.findtext("Error/Code") == "InvalidParameterValue"


def test_send_message_batch_over_query(endpoint, queue_url):
    status, root = query(endpoint, "SendMessageBatch", QueueUrl=queue_url, **{
        "SendMessageBatchRequestEntry.1.Id": "a",
        "SendMessageBatchRequestEntry.1.MessageBody": "first",
        "SendMessageBatchRequestEntry.2.Id": "b",
        "SendMessageBatchRequestEntry.2.MessageBody": "bad \x01",
    })
    assert status == 200
    result = root.find("SendMessageBatchResult")
    assert result.find("SendMessageBatchResultEntry").findtext("Id") == "a"
    failed = result.find("BatchResultErrorEntry")
    assert failed.findtext("Id") == "b"
    assert failed.findtext("Code") == "InvalidMessageContents"
    assert failed.findtext("SenderFault") == "true"


def test_queue_created_over_json_is_seen_over_query(endpoint, sqs, unique_name):
    name = unique_name("json")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="from json")
    status, root = query(endpoint, "GetQueueUrl", QueueName=name)
    assert status == 200
    assert root.findtext("GetQueueUrlResult/QueueUrl") == url
    _, root = query(endpoint, "ListQueues", QueueNamePrefix=name)
    assert [e.text for e in root.findall("ListQueuesResult/QueueUrl")] == [url]
    _, root = query(endpoint, "ReceiveMessage", QueueUrl=url)
    assert root.findtext("ReceiveMessageResult/Message/Body") == "from json"


def test_queue_created_over_query_is_seen_over_json(endpoint, sqs, unique_name):
    name = unique_name("query")
    query(endpoint, "CreateQueue", QueueName=name, **{"Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "45"})
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    query(endpoint, "SendMessage", QueueUrl=url, MessageBody="from query")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert attributes == {"VisibilityTimeout": "45"}
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "from query"


def test_query_request_posted_to_the_queue_url_path(endpoint, queue_url):
    path = "/" + queue_url.split("/", 3)[3]
    status, root = query(endpoint, "SendMessage", path=path, QueueUrl=queue_url, MessageBody="path")
    assert status == 200
    assert root.findtext("SendMessageResult/MessageId")


def test_query_request_naming_the_queue_only_by_its_path(endpoint, queue_url):
    path = "/" + queue_url.split("/", 3)[3]
    status, root = query(endpoint, "SendMessage", path=path, MessageBody="by path")
    assert status == 200
    status, root = query(endpoint, "ReceiveMessage", path=path)
    assert status == 200
    assert root.findtext("ReceiveMessageResult/Message/Body") == "by path"


def test_query_request_without_queue_url_or_queue_path_is_missing_parameter(endpoint):
    status, root = query(endpoint, "SendMessage", MessageBody="nowhere")
    assert status == 400
    assert root.findtext("Error/Code") == "MissingParameter"
    assert root.findtext("Error/Message") == "The request must contain the parameter QueueUrl."


# -- GET requests to a queue URL (LocalStack's AWS-validated TestSqsQueryApi) --------------------


def test_get_to_a_queue_url_without_an_action_is_an_unknown_operation(endpoint, queue_url):
    for headers in ({}, {"accept": "application/json"}):  # XML even when JSON is asked for
        response = httpx.get(queue_url, headers=headers)
        assert response.status_code == 404
        assert strip_namespaces(ET.fromstring(response.content)).tag == "UnknownOperationException"


@pytest.mark.parametrize("action, params", [("FooBar", {}), ("CreateQueue", {"QueueName": "another"}),
                                            ("ListQueues", {})])
def test_get_of_an_action_a_queue_url_has_not_is_invalid_action(endpoint, queue_url, action, params):
    response = httpx.get(queue_url, params={"Action": action, "Version": "2012-11-05", **params})
    assert response.status_code == 400
    root = strip_namespaces(ET.fromstring(response.content))
    assert root.findtext("Error/Type") == "Sender"
    assert root.findtext("Error/Code") == "InvalidAction"
    assert root.findtext("Error/Message") == f"The action {action} is not valid for this endpoint."


def test_get_send_and_an_empty_receive(endpoint, queue_url):
    response = httpx.get(queue_url, params={"Action": "ReceiveMessage"})
    assert response.status_code == 200
    assert "<ReceiveMessageResult/>" in response.text  # as AWS writes an empty result
    assert httpx.get(queue_url, params={"Action": "SendMessage", "MessageBody": "foobar"}).status_code == 200
    response = httpx.get(queue_url, params={"Action": "ReceiveMessage"})
    assert "<Body>foobar</Body>" in response.text


def test_get_of_a_deleted_queue_has_the_wsdl_version_message(endpoint, queue_url, sqs):
    sqs.delete_queue(QueueUrl=queue_url)
    response = httpx.get(queue_url, params={"Action": "GetQueueAttributes", "AttributeName.1": "QueueArn"})
    assert response.status_code == 400
    root = strip_namespaces(ET.fromstring(response.content))
    assert root.findtext("Error/Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert root.findtext("Error/Message") == "The specified queue does not exist for this wsdl version."
