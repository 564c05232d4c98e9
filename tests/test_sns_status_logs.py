"""SNS delivery status logging through boto3: a topic's <Protocol>SuccessFeedbackRoleArn,
<Protocol>FailureFeedbackRoleArn and <Protocol>SuccessFeedbackSampleRate make each delivery to a
subscription of that protocol write AWS's JSON status line to CloudWatch Logs, group
sns/<region>/<account>/<topic> (successes) or .../Failure (failures)."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from botocore.exceptions import ClientError
from messaging_support import HttpSubscriber, forwarder, make_queue, receive

ROLE = "arn:aws:iam::000000000000:role/SNSFeedback"


@pytest.fixture(scope="module")
def sns(client):
    return client("sns")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


def groups(topic: str) -> tuple[str, str]:
    _, _, _, region, account, name = topic.split(":", 5)
    return f"sns/{region}/{account}/{name}", f"sns/{region}/{account}/{name}/Failure"


def events(logs, group: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
    """The JSON lines of `group` (all its streams), once there are `count` of them."""
    deadline = time.time() + timeout
    while True:
        try:
            found = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group)["events"]]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            found = []
        if len(found) >= count or time.time() >= deadline:
            return found
        time.sleep(0.2)


def group_exists(logs, group: str) -> bool:
    return any(g["logGroupName"] == group for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"])


def set_attributes(sns, topic: str, **attributes) -> None:
    for name, value in attributes.items():
        sns.set_topic_attributes(TopicArn=topic, AttributeName=name, AttributeValue=value)


def check_notification(line: dict, topic: str, message_id: str, text: str) -> None:
    notification = line["notification"]
    assert notification["messageId"] == message_id
    assert notification["topicArn"] == topic
    assert notification["messageMD5Sum"] == hashlib.md5(text.encode()).hexdigest()
    time.strptime(notification["timestamp"], "%Y-%m-%d %H:%M:%S.%f")  # 2024-01-02 03:04:05.678
    assert isinstance(line["delivery"]["dwellTimeMs"], int) and line["delivery"]["deliveryId"]


def test_sqs_and_lambda_successes_are_logged(sns, sqs, logs, client, unique_name):
    lam = client("lambda")
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    queue_url, queue_arn = make_queue(sqs, unique_name("q"))
    sink_url, _ = make_queue(sqs, unique_name("sink"))
    function_arn = forwarder(lam, unique_name("fn"), sink_url)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    set_attributes(sns, topic, SQSSuccessFeedbackRoleArn=ROLE, SQSSuccessFeedbackSampleRate="100",
                   LambdaSuccessFeedbackRoleArn=ROLE, LambdaSuccessFeedbackSampleRate="100")
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attributes["SQSSuccessFeedbackRoleArn"], attributes["LambdaSuccessFeedbackSampleRate"]) == (ROLE, "100")

    message_id = sns.publish(TopicArn=topic, Message="logged")["MessageId"]
    receive(sqs, queue_url)
    receive(sqs, sink_url, timeout=20)
    success, failure = groups(topic)
    lines = events(logs, success, 2)
    assert len(lines) == 2
    by_destination = {line["delivery"]["destination"]: line for line in lines}
    queue_line, function_line = by_destination[queue_arn], by_destination[function_arn]
    for line in lines:
        assert line["status"] == "SUCCESS"
        check_notification(line, topic, message_id, "logged")
    assert (queue_line["delivery"]["statusCode"], queue_line["delivery"]["attempts"]) == (200, 1)
    response = json.loads(queue_line["delivery"]["providerResponse"])
    assert set(response) == {"sqsRequestId", "sqsMessageId"}
    # the SQS message id is the one the queue gave the delivered message
    assert response["sqsMessageId"]
    assert function_line["delivery"]["statusCode"] == 202  # Lambda's answer to an asynchronous invoke
    assert "attempts" not in function_line["delivery"]  # AWS's Lambda status lines carry none
    assert set(json.loads(function_line["delivery"]["providerResponse"])) == {"lambdaRequestId"}
    assert not group_exists(logs, failure)


def test_deleted_queue_and_missing_function_log_failures(sns, sqs, logs, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    queue_url, queue_arn = make_queue(sqs, unique_name("q"))
    function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + unique_name("gone")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    set_attributes(sns, topic, SQSFailureFeedbackRoleArn=ROLE, LambdaFailureFeedbackRoleArn=ROLE)
    sqs.delete_queue(QueueUrl=queue_url)
    message_id = sns.publish(TopicArn=topic, Message="lost")["MessageId"]
    success, failure = groups(topic)
    lines = {line["delivery"]["destination"]: line for line in events(logs, failure, 2)}
    queue_line, function_line = lines[queue_arn], lines[function_arn]
    for line in (queue_line, function_line):
        assert line["status"] == "FAILURE"
        check_notification(line, topic, message_id, "lost")
    assert (queue_line["delivery"]["statusCode"], queue_line["delivery"]["attempts"]) == (400, 1)
    assert json.loads(queue_line["delivery"]["providerResponse"]) == {
        "ErrorCode": "AWS.SimpleQueueService.NonExistentQueue",
        "ErrorMessage": "The specified queue does not exist or you do not have access to it.",
        "sqsRequestId": "Unrecoverable"}
    assert function_line["delivery"]["statusCode"] == 404
    response = json.loads(function_line["delivery"]["providerResponse"])
    assert (response["ErrorCode"], response["lambdaRequestId"]) == ("ResourceNotFoundException", "Unrecoverable")
    assert not group_exists(logs, success)  # no success role: successes are not logged (and there are none)


def test_a_function_that_raises_was_still_delivered(sns, sqs, logs, client, unique_name):
    """SNS invokes a function asynchronously: Lambda accepts the event (202) whatever the function
    then does, so the delivery is a success; the function's error is Lambda's to retry."""
    lam = client("lambda")
    sink_url, _ = make_queue(sqs, unique_name("sink"))
    function_arn = forwarder(lam, unique_name("fn"), sink_url, FAIL="1")
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    set_attributes(sns, topic, LambdaSuccessFeedbackRoleArn=ROLE, LambdaSuccessFeedbackSampleRate="100",
                   LambdaFailureFeedbackRoleArn=ROLE)
    sns.publish(TopicArn=topic, Message="raises")
    receive(sqs, sink_url, timeout=20)
    success, failure = groups(topic)
    line = events(logs, success)[0]
    assert (line["status"], line["delivery"]["statusCode"]) == ("SUCCESS", 202)
    assert not group_exists(logs, failure)


def test_http_success_and_failure_lines(sns, logs, unique_name):
    ok, down = HttpSubscriber(), HttpSubscriber(status=500)
    try:
        topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
        policy = {"healthyRetryPolicy": {"numRetries": 1, "numNoDelayRetries": 1, "minDelayTarget": 1,
                                         "maxDelayTarget": 1}}
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ok.url)
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=down.url,
                      Attributes={"DeliveryPolicy": json.dumps(policy)})
        ok.wait(1, kind="SubscriptionConfirmation")
        down.wait(1, kind="SubscriptionConfirmation")
        set_attributes(sns, topic, HTTPSuccessFeedbackRoleArn=ROLE, HTTPSuccessFeedbackSampleRate="100",
                       HTTPFailureFeedbackRoleArn=ROLE)
        message_id = sns.publish(TopicArn=topic, Message="over http")["MessageId"]
        success, failure = groups(topic)
        good = events(logs, success)[0]
        check_notification(good, topic, message_id, "over http")
        assert good["status"] == "SUCCESS" and good["delivery"]["destination"] == ok.url
        assert (good["delivery"]["statusCode"], good["delivery"]["attempts"]) == (200, 1)
        bad = events(logs, failure)[0]
        check_notification(bad, topic, message_id, "over http")
        assert bad["status"] == "FAILURE" and bad["delivery"]["destination"] == down.url
        assert (bad["delivery"]["statusCode"], bad["delivery"]["attempts"]) == (500, 2)  # first try and one retry
    finally:
        ok.close()
        down.close()


def test_sample_rate_zero_and_no_attributes_write_nothing(sns, sqs, logs, unique_name):
    sampled_out = sns.create_topic(Name=unique_name("topic"), Attributes={
        "SQSSuccessFeedbackRoleArn": ROLE, "SQSSuccessFeedbackSampleRate": "0"})["TopicArn"]
    plain = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    queue_url, queue_arn = make_queue(sqs, unique_name("q"))
    gone_arn = "arn:aws:sqs:us-east-1:000000000000:" + unique_name("gone")
    for topic in (sampled_out, plain):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.subscribe(TopicArn=plain, Protocol="sqs", Endpoint=gone_arn)  # a failure, but nothing asks for its line
    for topic in (sampled_out, plain):
        sns.publish(TopicArn=topic, Message="unlogged")
    receive(sqs, queue_url, count=2)
    # a later delivery's line would follow the earlier ones: give them the time they would take
    control = sns.create_topic(Name=unique_name("topic"), Attributes={
        "SQSSuccessFeedbackRoleArn": ROLE, "SQSSuccessFeedbackSampleRate": "100"})["TopicArn"]
    sns.subscribe(TopicArn=control, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=control, Message="logged")
    assert len(events(logs, groups(control)[0])) == 1
    for topic in (sampled_out, plain):
        assert logs.describe_log_groups(logGroupNamePrefix=groups(topic)[0])["logGroups"] == []


def test_bad_feedback_attributes_are_refused(sns, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    for name, value, reason in [
        ("SQSSuccessFeedbackSampleRate", "101", "Must be an integer between 0 and 100."),
        ("LambdaSuccessFeedbackSampleRate", "50.5", "Must be an integer between 0 and 100."),
        ("HTTPSuccessFeedbackSampleRate", "-1", "Must be an integer between 0 and 100."),
        ("SQSSuccessFeedbackRoleArn", "not-an-arn", "Must be an IAM role ARN."),
        ("FirehoseFailureFeedbackRoleArn", "arn:aws:iam::000000000000:user/someone", "Must be an IAM role ARN."),
    ]:
        with pytest.raises(ClientError) as info:
            sns.set_topic_attributes(TopicArn=topic, AttributeName=name, AttributeValue=value)
        error = info.value.response["Error"]
        assert (error["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidParameter", 400)
        assert error["Message"] == f"Invalid parameter: Attributes Reason: {name}: Invalid value [{value}]. {reason}"
    with pytest.raises(ClientError) as info:
        sns.create_topic(Name=unique_name("topic"), Attributes={"SQSSuccessFeedbackSampleRate": "abc"})
    assert info.value.response["Error"]["Code"] == "InvalidParameter"
    # in range, and an empty value removes the attribute
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SQSSuccessFeedbackSampleRate", AttributeValue="0")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SQSSuccessFeedbackSampleRate", AttributeValue="")
    assert "SQSSuccessFeedbackSampleRate" not in sns.get_topic_attributes(TopicArn=topic)["Attributes"]



LOGGED_TOPIC = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: logged
%s
  Sub:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Queue.Arn}
Outputs:
  Topic: {Value: !Ref Topic}
"""
LOGGING = """\
      DeliveryStatusLogging:
        - Protocol: sqs
          SuccessFeedbackRoleArn: arn:aws:iam::000000000000:role/SNSFeedback
          SuccessFeedbackSampleRate: "100"
          FailureFeedbackRoleArn: arn:aws:iam::000000000000:role/SNSFeedback"""


def test_cloudformation_delivery_status_logging(sns, logs, client, unique_name):
    cf = client("cloudformation")
    name = unique_name("stack")
    wait = {"Delay": 1, "MaxAttempts": 60}
    cf.create_stack(StackName=name, TemplateBody=LOGGED_TOPIC % LOGGING)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=wait)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    topic = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["Topic"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert (attributes["SQSSuccessFeedbackRoleArn"], attributes["SQSSuccessFeedbackSampleRate"],
            attributes["SQSFailureFeedbackRoleArn"]) == (ROLE, "100", ROLE)
    sns.publish(TopicArn=topic, Message="from a stack")
    assert events(logs, groups(topic)[0])[0]["status"] == "SUCCESS"
    cf.update_stack(StackName=name, TemplateBody=LOGGED_TOPIC % "")  # the property removed
    cf.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=wait)
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert not [key for key in attributes if "Feedback" in key]
    cf.delete_stack(StackName=name)
