"""SNS through boto3 and the AWS CLI: topics, subscriptions, fan-out to SQS, HTTP and Lambda,
filter policies, FIFO topics, signatures, retries and dead-letter queues."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError
from messaging_support import HttpSubscriber, forwarder, make_queue, receive, verify_sns_signature


@pytest.fixture(scope="module")
def sns(client):
    return client("sns")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


def topic_with_queue(sns, sqs, unique_name, raw=False, **sub_attributes):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    url, arn = make_queue(sqs, unique_name("q"))
    attributes = {k: v for k, v in sub_attributes.items()}
    if raw:
        attributes["RawMessageDelivery"] = "true"
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    return topic, url, sub


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.postgres_e2e
def test_create_topic_is_idempotent_and_listed(sns, unique_name):
    name = unique_name("topic")
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert {"TopicArn": arn} in sns.list_topics()["Topics"]


def test_create_topic_with_different_attributes_fails(sns, unique_name):
    name = unique_name("topic")
    sns.create_topic(Name=name, Attributes={"DisplayName": "a"})
    error, status = error_of(sns.create_topic, Name=name, Attributes={"DisplayName": "b"})
    assert (error["Code"], status) == ("InvalidParameter", 400)
    assert "Topic already exists with different attributes" in error["Message"]


def test_invalid_topic_name(sns):
    error, status = error_of(sns.create_topic, Name="bad name!")
    assert error == {"Type": "Sender", "Code": "InvalidParameter", "Message": "Invalid parameter: Topic Name"}


def test_missing_topic_is_not_found(sns):
    error, status = error_of(sns.get_topic_attributes, TopicArn="arn:aws:sns:us-east-1:000000000000:nope")
    assert (error["Code"], error["Message"], status) == ("NotFound", "Topic does not exist", 404)


@pytest.mark.postgres_e2e
def test_topic_attributes_count_subscriptions(sns, sqs, unique_name):
    topic, _, _ = topic_with_queue(sns, sqs, unique_name)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="Shown")
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["SubscriptionsConfirmed"] == "1"
    assert attributes["DisplayName"] == "Shown"
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == topic


@pytest.mark.postgres_e2e
def test_publish_to_sqs_delivers_signed_envelope(sns, sqs, unique_name):
    topic, url, sub = topic_with_queue(sns, sqs, unique_name)
    message_id = sns.publish(TopicArn=topic, Message="hello", Subject="greeting",
                             MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}})["MessageId"]
    body = json.loads(receive(sqs, url)[0]["Body"])
    assert body["Type"] == "Notification"
    assert body["MessageId"] == message_id
    assert (body["TopicArn"], body["Subject"], body["Message"]) == (topic, "greeting", "hello")
    assert body["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"}}
    assert body["SignatureVersion"] == "1"
    assert sub in urllib.request.unquote(body["UnsubscribeURL"])
    assert verify_sns_signature(body)


def test_signature_version_2_uses_sha256(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=topic, Message="v2")
    body = json.loads(receive(sqs, url)[0]["Body"])
    assert body["SignatureVersion"] == "2"
    assert verify_sns_signature(body)
    tampered = dict(body, Message="changed")
    assert not verify_sns_signature(tampered)


@pytest.mark.postgres_e2e
def test_raw_message_delivery_passes_body_and_attributes(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, raw=True)
    sns.publish(TopicArn=topic, Message="raw body", MessageAttributes={
        "n": {"DataType": "Number", "StringValue": "42"},
        "list": {"DataType": "String.Array", "StringValue": '["a", "b"]'}})
    message = receive(sqs, url)[0]
    assert message["Body"] == "raw body"
    assert message["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "42"}
    assert message["MessageAttributes"]["list"]["StringValue"] == '["a", "b"]'


def test_filter_policy_on_message_attributes(sns, sqs, unique_name):
    policy = {"store": ["example_corp"], "price_usd": [{"numeric": [">=", 100]}]}
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, FilterPolicy=json.dumps(policy))
    def attrs(store, price):
        return {"store": {"DataType": "String", "StringValue": store},
                "price_usd": {"DataType": "Number", "StringValue": str(price)}}
    sns.publish(TopicArn=topic, Message="cheap", MessageAttributes=attrs("example_corp", 5))
    sns.publish(TopicArn=topic, Message="other store", MessageAttributes=attrs("other", 500))
    sns.publish(TopicArn=topic, Message="match", MessageAttributes=attrs("example_corp", 210.75))
    sns.publish(TopicArn=topic, Message="no attributes")
    messages = receive(sqs, url, count=2, timeout=2)
    assert [json.loads(m["Body"])["Message"] for m in messages] == ["match"]


def test_filter_policy_on_message_body(sns, sqs, unique_name):
    policy = {"order": {"status": ["shipped"]}}
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, FilterPolicy=json.dumps(policy),
                                     FilterPolicyScope="MessageBody", RawMessageDelivery="true")
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"status": "pending"}}))
    sns.publish(TopicArn=topic, Message="not json")
    sns.publish(TopicArn=topic, Message=json.dumps({"order": {"status": "shipped"}}))
    messages = receive(sqs, url, count=2, timeout=2)
    assert [json.loads(m["Body"]) for m in messages] == [{"order": {"status": "shipped"}}]


@pytest.mark.postgres_e2e
def test_filter_policy_string_array_attribute(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, FilterPolicy=json.dumps({"sports": ["rugby"]}))
    sns.publish(TopicArn=topic, Message="yes", MessageAttributes={
        "sports": {"DataType": "String.Array", "StringValue": '["soccer", "rugby"]'}})
    assert json.loads(receive(sqs, url)[0]["Body"])["Message"] == "yes"


def test_invalid_filter_policy_is_rejected(sns, sqs, unique_name):
    topic, _, sub = topic_with_queue(sns, sqs, unique_name)
    error, status = error_of(sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy",
                             AttributeValue=json.dumps({"a": [{"wildcard": "x*"}]}))
    assert (error["Code"], status) == ("InvalidParameter", 400)
    assert error["Message"] == "Invalid parameter: FilterPolicy: Unrecognized match type wildcard"
    error, _ = error_of(sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy",
                        AttributeValue=json.dumps({k: ["v"] for k in "abcdef"}))
    assert error["Message"] == "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"


def test_message_structure_json_picks_the_protocol_message(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name)
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "d", "sqs": "for sqs"}))
    assert json.loads(receive(sqs, url)[0]["Body"])["Message"] == "for sqs"
    error, _ = error_of(sns.publish, TopicArn=topic, MessageStructure="json", Message=json.dumps({"sqs": "x"}))
    assert error["Message"] == "Invalid parameter: Message Structure - No default entry in JSON message body"


def test_publish_validation_errors(sns, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    assert error_of(sns.publish, TopicArn=topic, Message="")[0]["Message"] == "Invalid parameter: Empty message"
    assert error_of(sns.publish, TopicArn=topic, Message="x" * 262_145)[0]["Message"] == "Invalid parameter: Message too long"
    error, _ = error_of(sns.publish, TopicArn=topic, Message="x", MessageAttributes={
        "n": {"DataType": "Number", "StringValue": "abc"}})
    assert "Could not cast message attribute 'n' value to number." in error["Message"]


@pytest.mark.postgres_e2e
def test_publish_batch_delivers_each_entry(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, raw=True)
    result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": f"m{i}", "Message": f"message {i}"} for i in range(10)])
    assert sorted(e["Id"] for e in result["Successful"]) == sorted(f"m{i}" for i in range(10))
    assert result["Failed"] == []
    assert sorted(m["Body"] for m in receive(sqs, url, count=10)) == sorted(f"message {i}" for i in range(10))


def test_publish_batch_errors(sns, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    error, _ = error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}])
    assert error["Code"] == "BatchEntryIdsNotDistinct"
    error, _ = error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": f"m{i}", "Message": "x"} for i in range(11)])
    assert error["Code"] == "TooManyEntriesInBatchRequest"
    # an entry's invalid parameter refuses the whole request, as AWS's recorded answers show
    error, status = error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "ok", "Message": "x"}, {"Id": "bad", "Message": "y", "MessageAttributes": {
            "a^b": {"DataType": "String", "StringValue": "v"}}}])
    assert (error["Code"], status) == ("ParameterValueInvalid", 400)
    assert error["Message"] == ("Invalid non-alphanumeric character '#x5E' was found in the message attribute name. "
                                "Can only include alphanumeric characters, hyphens, underscores, or dots.")
    error, _ = error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a.b", "Message": "x"}])
    assert error["Message"] == "The Id of a batch entry in the batch request contains an impermissible character: a.b"
    # the size limit counts the attributes' names, types and values too
    attributes = {"attr1": {"DataType": "Number", "StringValue": "1"}}
    error, _ = error_of(sns.publish, TopicArn=topic, Message="a" * (262144 - 12 + 1), MessageAttributes=attributes)
    assert error["Message"] == "Invalid parameter: Message too long"
    sns.publish(TopicArn=topic, Message="a" * (262144 - 12), MessageAttributes=attributes)


def test_fifo_topic_deduplicates_and_keeps_groups(sns, sqs, unique_name):
    name = unique_name("topic") + ".fifo"
    topic = sns.create_topic(Name=name, Attributes={"FifoTopic": "true",
                                                    "ContentBasedDeduplication": "true"})["TopicArn"]
    url, arn = make_queue(sqs, unique_name("q") + ".fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    first = sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")
    again = sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")
    sns.publish(TopicArn=topic, Message="two", MessageGroupId="g")
    assert again["MessageId"] == first["MessageId"]
    assert int(first["SequenceNumber"]) > 0
    messages = receive(sqs, url, count=3, timeout=2)
    assert [m["Body"] for m in messages] == ["one", "two"]
    assert messages[0]["Attributes"]["MessageGroupId"] == "g"


def test_fifo_topic_requires_group_id(sns, unique_name):
    topic = sns.create_topic(Name=unique_name("topic") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    error, _ = error_of(sns.publish, TopicArn=topic, Message="x")
    assert error["Message"] == "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    error, _ = error_of(sns.subscribe, TopicArn=topic, Protocol="http", Endpoint="http://example.com")
    assert error["Code"] == "InvalidParameter"


@pytest.mark.postgres_e2e
def test_delivery_to_missing_queue_goes_to_dead_letter_queue(sns, sqs, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    dlq_url, dlq_arn = make_queue(sqs, unique_name("dlq"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:" + unique_name("gone"),
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sns.publish(TopicArn=topic, Message="lost?")
    message = receive(sqs, dlq_url)[0]
    assert json.loads(message["Body"])["Message"] == "lost?"
    assert "MessageAttributes" not in message  # the message as it would have been delivered, nothing added


@pytest.mark.postgres_e2e
def test_http_subscription_confirms_through_subscribe_url(sns, unique_name):
    subscriber = HttpSubscriber()
    try:
        topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
        assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)["SubscriptionArn"] == \
            "pending confirmation"
        confirmation = subscriber.wait(1, kind="SubscriptionConfirmation")[0]
        message = json.loads(confirmation["body"])
        assert confirmation["headers"]["x-amz-sns-topic-arn"] == topic
        assert message["Type"] == "SubscriptionConfirmation" and message["Token"]
        assert verify_sns_signature(message)
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert subs[0]["SubscriptionArn"].startswith(topic + ":")
        sns.publish(TopicArn=topic, Message="over http", Subject="s")
        notification = subscriber.wait(1, kind="Notification")[0]
        body = json.loads(notification["body"])
        assert body["Message"] == "over http"
        assert notification["headers"]["x-amz-sns-subscription-arn"] == subs[0]["SubscriptionArn"]
        assert notification["headers"]["content-type"] == "text/plain; charset=UTF-8"
        assert verify_sns_signature(body)
    finally:
        subscriber.close()


def test_confirm_subscription_api_with_token(sns, unique_name):
    subscriber = HttpSubscriber(confirm=False)
    try:
        topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
        token = json.loads(subscriber.wait(1)[0]["body"])["Token"]
        assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"] == \
            "PendingConfirmation"
        arn = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
        assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
        error, _ = error_of(sns.confirm_subscription, TopicArn=topic, Token="bogus")
        assert error["Message"] == "Invalid token"  # not a token's shape
        error, _ = error_of(sns.confirm_subscription, TopicArn=topic, Token="ab" * 64)
        assert error["Message"] == "Invalid parameter: Token"
    finally:
        subscriber.close()


@pytest.mark.postgres_e2e
def test_http_delivery_retries_then_dead_letters(sns, sqs, unique_name):
    subscriber = HttpSubscriber(status=500)
    try:
        topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
        dlq_url, dlq_arn = make_queue(sqs, unique_name("dlq"))
        policy = {"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 2, "minDelayTarget": 1,
                                         "maxDelayTarget": 1}}
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url, Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn}), "DeliveryPolicy": json.dumps(policy)})
        subscriber.wait(1, kind="SubscriptionConfirmation")
        sns.publish(TopicArn=topic, Message="server down")
        assert len(subscriber.wait(3, kind="Notification")) == 3  # first try and two retries
        message = receive(sqs, dlq_url)[0]
        assert json.loads(message["Body"])["Message"] == "server down"
        assert "MessageAttributes" not in message
    finally:
        subscriber.close()


def test_email_and_sms_are_recorded(sns, endpoint, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    address = f"{unique_name('user')}@example.com"
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address)
    recorded = json.load(urllib.request.urlopen(f"{endpoint}/_overcast/sns/messages?endpoint={address}"))["messages"]
    confirmation = json.loads(recorded[0]["message"])
    urllib.request.urlopen(confirmation["SubscribeURL"]).read()
    sns.publish(TopicArn=topic, Message="you have mail", Subject="Hi")
    phone = "+1555" + str(abs(hash(address)))[:7]
    sns.publish(PhoneNumber=phone, Message="text me")
    recorded = json.load(urllib.request.urlopen(f"{endpoint}/_overcast/sns/messages?endpoint={address}"))["messages"]
    assert (recorded[-1]["subject"], recorded[-1]["message"]) == ("Hi", "you have mail")
    sms = json.load(urllib.request.urlopen(f"{endpoint}/_overcast/sns/messages?protocol=sms&endpoint=%2B{phone[1:]}"))
    assert sms["messages"][0]["message"] == "text me"


def test_unsubscribe_stops_delivery(sns, sqs, unique_name):
    topic, url, sub = topic_with_queue(sns, sqs, unique_name)
    sns.unsubscribe(SubscriptionArn=sub)
    sns.publish(TopicArn=topic, Message="nobody")
    assert receive(sqs, url, timeout=1.5) == []
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


@pytest.mark.postgres_e2e
def test_tags_on_topics(sns, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"), Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "env", "Value": "dev"}])
    sns.untag_resource(ResourceArn=topic, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "env", "Value": "dev"}]


def test_tagging_with_a_duplicated_key_is_refused(sns, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    with pytest.raises(ClientError) as e:
        sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Duplicated keys are not allowed."
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == []


@pytest.mark.postgres_e2e
def test_lambda_subscription_gets_sns_event(sns, sqs, client, unique_name):
    lam = client("lambda")
    sink_url, _ = make_queue(sqs, unique_name("sink"))
    function_arn = forwarder(lam, unique_name("fn"), sink_url)
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message="to lambda", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    event = json.loads(receive(sqs, sink_url, timeout=20)[0]["Body"])
    record = event["Records"][0]
    assert (record["EventSource"], record["EventSubscriptionArn"]) == ("aws:sns", sub)
    assert record["Sns"]["Message"] == "to lambda"
    assert record["Sns"]["Subject"] is None
    assert record["Sns"]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert "SigningCertUrl" in record["Sns"]


def test_cli_publish(aws_cli, sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, raw=True)
    out = aws_cli("sns", "publish", "--topic-arn", topic, "--message", "from the cli")
    assert out["MessageId"]
    assert receive(sqs, url)[0]["Body"] == "from the cli"


def test_lambda_on_success_destination_publishes_to_topic(sns, sqs, client, unique_name):
    from lambda_functions import create_python

    lam = client("lambda")
    topic, url, _ = topic_with_queue(sns, sqs, unique_name, raw=True)
    name = unique_name("fn")
    create_python(lam, name, "def handler(event, context):\n    return {'echo': event}\n")
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": topic}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"x": 1}')
    record = json.loads(receive(sqs, url, timeout=20)[0]["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"echo": {"x": 1}}


def test_unsubscribe_sends_unsubscribe_confirmation_to_http_endpoint(sns, unique_name):
    subscriber = HttpSubscriber()
    try:
        topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
        subscriber.wait(1, kind="SubscriptionConfirmation")
        arn = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
        sns.unsubscribe(SubscriptionArn=arn)
        message = json.loads(subscriber.wait(1, kind="UnsubscribeConfirmation")[0]["body"])
        assert (message["Type"], message["TopicArn"]) == ("UnsubscribeConfirmation", topic)
        assert verify_sns_signature(message)
    finally:
        subscriber.close()


# -- answers as AWS recorded them (LocalStack's AWS-validated snapshots, docs/conformance.md) -------

def test_sqs_delivery_envelope_and_attributes_as_aws(sns, sqs, unique_name):
    topic, url, sub = topic_with_queue(sns, sqs, unique_name, RawMessageDelivery="True")
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    # booleans are stored lower-cased; a queue subscription needs no confirmation, so it counts as
    # authenticated; the subscriber's identity is SubscriptionPrincipal
    assert attributes["RawMessageDelivery"] == "true"
    assert attributes["ConfirmationWasAuthenticated"] == "true"
    assert attributes["SubscriptionPrincipal"] == "arn:aws:iam::000000000000:root"
    # the same subscription again, with defaults spelled out, is the same subscription
    queue_arn = attributes["Endpoint"]
    again = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True,
                          Attributes={"RawMessageDelivery": "true", "FilterPolicyScope": "MessageAttributes"})
    assert again["SubscriptionArn"] == sub
    error, _ = error_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                        Attributes={"RawMessageDelivery": "false"})
    assert error["Message"] == "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"

    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="false")
    sns.publish(TopicArn=topic, Message="hello")
    message = receive(sqs, url)[0]
    body = json.loads(message["Body"])
    # AWS's UnsubscribeURL carries the ARN as it is, not percent-encoded
    assert body["UnsubscribeURL"].endswith(f"/?Action=Unsubscribe&SubscriptionArn={sub}")
    # no trace header was sent with Publish and the topic's tracing is PassThrough: none travels
    assert "AWSTraceHeader" not in message["Attributes"]


def test_publisher_trace_header_passes_through_to_sqs(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name)
    header = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"

    def add_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = header

    sns.meta.events.register("before-send.sns.Publish", add_header)
    try:
        sns.publish(TopicArn=topic, Message="traced")
    finally:
        sns.meta.events.unregister("before-send.sns.Publish", add_header)
    assert receive(sqs, url)[0]["Attributes"]["AWSTraceHeader"] == header


@pytest.mark.postgres_e2e
def test_fifo_topic_notifications_are_unsigned_and_dead_letters_keep_their_group(sns, sqs, unique_name):
    topic = sns.create_topic(Name=unique_name("topic") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = make_queue(sqs, unique_name("q") + ".fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    dlq_url, dlq_arn = make_queue(sqs, unique_name("dlq") + ".fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"{arn.rsplit(':', 1)[0]}:{unique_name('gone')}.fifo",
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sns.publish(TopicArn=topic, Message="in order", MessageGroupId="g1", MessageDeduplicationId="d1")
    body = json.loads(receive(sqs, url)[0]["Body"])
    assert body["SequenceNumber"] and "Signature" not in body and "SigningCertURL" not in body
    dead = receive(sqs, dlq_url)[0]
    assert (dead["Attributes"]["MessageGroupId"], dead["Attributes"]["MessageDeduplicationId"]) == ("g1", "d1")


def test_arn_and_unsubscribe_errors_as_aws(sns, unique_name):
    error, status = error_of(sns.get_topic_attributes, TopicArn="randomstring")
    assert (error["Code"], status) == ("InvalidParameter", 400)
    assert error["Message"] == "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1"
    error, _ = error_of(sns.unsubscribe, SubscriptionArn="arn:aws:sns:us-east-1:random")
    assert error["Message"] == "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 5"
    error, _ = error_of(sns.unsubscribe, SubscriptionArn="arn:aws:sns:us-east-1:000000000000:random")
    assert error["Message"] == "Invalid parameter: SubscriptionId"
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15551234567")["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=sub)
    sns.unsubscribe(SubscriptionArn=sub)  # idempotent: a subscription already gone answers success
    error, _ = error_of(sns.confirm_subscription, TopicArn=topic, Token="randomtoken")
    assert (error["Code"], error["Message"]) == ("InvalidParameter", "Invalid token")
    error, _ = error_of(sns.confirm_subscription, TopicArn=topic + "-none", Token="ab" * 64)
    assert (error["Code"], error["Message"]) == ("InvalidParameter", "Invalid parameter: Token")
    error, _ = error_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:q",
                        Attributes={"RawMessageDelivery": "maybe"})
    assert error["Message"] == ("Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [maybe]. "
                                "Must be true or false.")
    error, _ = error_of(sns.publish, TargetArn="arn:aws:sns:us-east-1:000000000000:endpoint/APNS/app/0f7d5971",
                        Message="push")
    assert error["Message"] == "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified"


def test_topic_checks_as_aws(sns, client, unique_name):
    name = unique_name("topic")
    topic = sns.create_topic(Name=name, Tags=[{"Key": "a", "Value": "1"}])["TopicArn"]
    assert sns.create_topic(Name=name)["TopicArn"] == topic  # fewer tags: the same topic
    error, _ = error_of(sns.create_topic, Name=name, Tags=[{"Key": "b", "Value": "2"}])
    assert error["Message"] == "Invalid parameter: Tags Reason: Topic already exists with different tags"
    # a topic is used from its own region only
    other = client("sns", region="eu-west-1")
    error, status = error_of(other.publish, TopicArn=topic, Message="x")
    assert (error["Code"], error["Message"], status) == ("InvalidParameter", "Invalid parameter: TopicArn", 400)
    # AddPermission: actions of SNS only; one principal or action is written as a string
    error, _ = error_of(sns.add_permission, TopicArn=topic, Label="x", AWSAccountId=["111111111111"],
                        ActionName=["InvalidAction"])
    assert error["Message"] == "Invalid parameter: Policy statement action out of service scope!"
    sns.add_permission(TopicArn=topic, Label="one", AWSAccountId=["111111111111"], ActionName=["Publish"])
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    statement = next(s for s in policy["Statement"] if s["Sid"] == "one")
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"} and statement["Action"] == "SNS:Publish"
    # phone numbers are E.164
    error, _ = error_of(sns.publish, PhoneNumber="+1a234", Message="x")
    assert error["Message"] == "Invalid parameter: PhoneNumber Reason: +1a234 is not valid to publish to"
    error, _ = error_of(sns.subscribe, TopicArn=topic, Protocol="sms", Endpoint="/+15551234567")
    assert error["Message"] == "Invalid SMS endpoint: /+15551234567"
    # a FIFO queue on a standard topic is refused
    error, _ = error_of(sns.subscribe, TopicArn=topic, Protocol="sqs",
                        Endpoint="arn:aws:sqs:us-east-1:000000000000:q.fifo")
    assert error["Message"] == ("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be "
                                "subscribed to standard SNS topics")


def test_subscription_attribute_details_as_aws(sns, sqs, unique_name):
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    url, arn = make_queue(sqs, unique_name("q"))
    # an empty FilterPolicy sets nothing, and the scope shows only with a filter policy
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True,
                        Attributes={"FilterPolicyScope": "MessageBody", "FilterPolicy": ""})["SubscriptionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert "FilterPolicy" not in attributes and "FilterPolicyScope" not in attributes
    # a nested policy needs the MessageBody scope
    nested = json.dumps({"object": {"key": [{"prefix": "auto-"}]}})
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope",
                                    AttributeValue="MessageAttributes")
    error, _ = error_of(sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy",
                        AttributeValue=nested)
    assert error["Message"] == "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=nested)
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["FilterPolicyScope"] == "MessageBody"


def test_standard_topic_message_group_id_reaches_a_standard_queue(sns, sqs, unique_name):
    topic, url, _ = topic_with_queue(sns, sqs, unique_name)
    sns.publish(TopicArn=topic, Message="grouped", MessageGroupId="my-group-id-1")
    assert receive(sqs, url)[0]["Attributes"]["MessageGroupId"] == "my-group-id-1"


def test_sms_attributes_and_opt_outs(client):
    sns = client("sns", region="ap-south-1")  # SMS settings are per account and region
    assert sns.get_sms_attributes()["attributes"] == {"MonthlySpendLimit": "1"}
    sns.set_sms_attributes(attributes={"DefaultSenderID": "LSTest", "DefaultSMSType": "Promotional"})
    assert sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"] == {"DefaultSMSType": "Promotional"}
    error, status = error_of(sns.set_sms_attributes, attributes={"DefaultSendID": "a"})
    assert (error["Code"], error["Message"], status) == ("InvalidParameter", "DefaultSendID is not a valid attribute", 400)
    error, _ = error_of(sns.set_sms_attributes, attributes={"DefaultSMSType": "invalid"})
    assert error["Message"] == "DefaultSMSType is invalid"
    sns.opt_in_phone_number(phoneNumber="+15551234567")
    assert sns.check_if_phone_number_is_opted_out(phoneNumber="+15551234567")["isOptedOut"] is False
    error, _ = error_of(sns.opt_in_phone_number, phoneNumber="NAA+15551234567")
    assert error["Message"] == "Invalid parameter: PhoneNumber Reason: input incorrectly formatted"
    assert sns.list_phone_numbers_opted_out()["phoneNumbers"] == []


def test_body_filter_key_with_a_dot_names_a_key_or_a_nested_path(sns, sqs, unique_name):
    topic, url, sub = topic_with_queue(sns, sqs, unique_name, raw=True, FilterPolicyScope="MessageBody",
                                       FilterPolicy=json.dumps({"object.nested": ["string.value"]}))
    for body in ({"object": {"nested": "string.value"}}, {"object.nested": "string.value"},
                 {"object": {"nested": "other"}}, {"object": "string.value"}):
        sns.publish(TopicArn=topic, Message=json.dumps(body))
    got = [json.loads(m["Body"]) for m in receive(sqs, url, count=3, timeout=3)]
    assert sorted(got, key=json.dumps) == sorted([{"object": {"nested": "string.value"}},
                                                  {"object.nested": "string.value"}], key=json.dumps)


def test_filter_scope_error_and_body_arrays_of_arrays(sns, sqs, unique_name):
    topic, url, sub = topic_with_queue(sns, sqs, unique_name, raw=True)
    error, _ = error_of(sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicyScope",
                        AttributeValue="RandomValue")
    assert error["Message"] == ("Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. Please use either "
                                "MessageBody or MessageAttributes")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(
        {"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}},
         "detail": {"payload.nested": {"deep": [{"prefix": "q-"}]}}}))
    # arrays of arrays of objects are searched; a dotted key reaches into nested objects
    sns.publish(TopicArn=topic, Message=json.dumps({"Records": [{"s3": {"object": [[{"key": "auto-1"}]]}}],
                                                     "detail": {"payload": {"nested": {"deep": "q-test"}}}}))
    sns.publish(TopicArn=topic, Message=json.dumps({"Records": [{"s3": {"object": [[{"key": "home-1"}]]}}],
                                                     "detail": {"payload": {"nested": {"deep": "q-test"}}}}))
    got = receive(sqs, url, count=2, timeout=3)
    assert [json.loads(m["Body"])["Records"][0]["s3"]["object"][0][0]["key"] for m in got] == ["auto-1"]


def test_platform_applications_and_endpoints(sns, endpoint, unique_name):
    name = unique_name("app")
    error, _ = error_of(sns.create_platform_application, Name=name, Platform="ADM",
                        Attributes={"PlatformPrincipal": "id"})
    assert error["Message"] == ("Invalid parameter: Attributes Reason: PlatformPrincipal attribute provided without "
                                "PlatformCredential")
    error, _ = error_of(sns.create_platform_application, Name="@name", Platform="ADM",
                        Attributes={"PlatformPrincipal": "id", "PlatformCredential": "secret"})
    assert error["Message"] == ("Invalid parameter: @name Reason: must contain only characters 'a'-'z', 'A'-'Z', "
                                "'0'-'9', '_', '-', and '.'")
    error, _ = error_of(sns.create_platform_application, Name=name, Platform="AAA",
                        Attributes={"PlatformPrincipal": "id", "PlatformCredential": "secret"})
    assert error["Message"] == "Invalid parameter: Platform Reason: AAA is not supported"
    app = sns.create_platform_application(Name=name, Platform="ADM", Attributes={
        "PlatformPrincipal": "id", "PlatformCredential": "secret"})["PlatformApplicationArn"]
    assert app == f"arn:aws:sns:us-east-1:000000000000:app/ADM/{name}"
    # the credentials are kept, never answered
    assert sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"] == {"Enabled": "true"}
    error, status = error_of(sns.get_platform_application_attributes, PlatformApplicationArn=app + "-none")
    assert (error["Code"], error["Message"], status) == ("NotFound", "PlatformApplication does not exist", 404)
    error, _ = error_of(sns.get_platform_application_attributes, PlatformApplicationArn="randomstring")
    assert error["Message"] == ("Invalid parameter: PlatformApplicationArn Reason: An ARN must have at least 6 "
                                "elements, not 1")

    target = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="token_1")["EndpointArn"]
    assert target.startswith(f"arn:aws:sns:us-east-1:000000000000:endpoint/ADM/{name}/")
    assert sns.create_platform_endpoint(PlatformApplicationArn=app, Token="token_1")["EndpointArn"] == target
    error, _ = error_of(sns.create_platform_endpoint, PlatformApplicationArn=app, Token="token_1",
                        Attributes={"Enabled": "false"})
    assert error["Message"].startswith(f"Invalid parameter: Token Reason: Endpoint {target} already exists")
    error, _ = error_of(sns.create_platform_endpoint, PlatformApplicationArn=app, Token="t2",
                        Attributes={"PlatformPrincipal": "x"})
    assert error["Message"] == "Invalid parameter: Attributes Reason: Invalid attribute name: PlatformPrincipal"
    assert sns.get_endpoint_attributes(EndpointArn=target)["Attributes"] == {"Enabled": "true", "Token": "token_1"}
    error, status = error_of(sns.get_endpoint_attributes, EndpointArn=target[:-3] + "abc")
    assert (error["Code"], error["Message"], status) == ("NotFound", "Endpoint does not exist", 404)

    # what is published to an endpoint is recorded, not sent
    message_id = sns.publish(TargetArn=target, Message="push!")["MessageId"]
    recorded = json.loads(urllib.request.urlopen(f"{endpoint}/_overcast/sns/messages?protocol=application").read())
    assert any(m["message_id"] == message_id and m["message"] == "push!" for m in recorded["messages"])
    sns.set_endpoint_attributes(EndpointArn=target, Attributes={"Enabled": "false"})
    error, _ = error_of(sns.publish, TargetArn=target, Message="push!")
    assert (error["Code"], error["Message"]) == ("EndpointDisabled", "Endpoint is disabled")

    assert [e["EndpointArn"] for e in sns.list_endpoints_by_platform_application(
        PlatformApplicationArn=app)["Endpoints"]] == [target]
    sns.delete_platform_application(PlatformApplicationArn=app)
    error, _ = error_of(sns.list_endpoints_by_platform_application, PlatformApplicationArn=app)
    assert error["Code"] == "NotFound"
    error, _ = error_of(sns.get_endpoint_attributes, EndpointArn=target)
    assert error["Code"] == "NotFound"
