"""Accounts are separated as AWS separates them: account B (access key 222222222222) cannot read,
write, list or delete account A's (111111111111) resources by ARN, name or URL, and gets AWS's
error; A's data is unchanged; once A's resource policy grants B, B's request works."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

A, B = "111111111111", "222222222222"


@pytest.fixture
def a(client):
    return lambda service, **kw: client(service, access_key=A, **kw)


@pytest.fixture
def b(client):
    return lambda service, **kw: client(service, access_key=B, **kw)


def refused(call, code: str, status: int | None = None, message: str | None = None) -> dict:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == code, info.value.response
    if status is not None:
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert error.get("Message") == message, error
    return error


def grant(principal: str, actions, resource, effect: str = "Allow", **extra) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "grant", "Effect": effect, "Principal": {"AWS": principal}, "Action": actions,
         "Resource": resource, **extra}]})


# -- S3 --------------------------------------------------------------------------------------


def test_s3_another_accounts_bucket_is_refused(a, b, unique_name):
    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="k", Body=b"from A")
    denied = dict(code="AccessDenied", status=403, message="Access Denied")
    refused(lambda: s3b.get_object(Bucket=bucket, Key="k"), **denied)
    refused(lambda: s3b.put_object(Bucket=bucket, Key="k", Body=b"from B"), **denied)
    refused(lambda: s3b.list_objects_v2(Bucket=bucket), **denied)
    refused(lambda: s3b.list_objects(Bucket=bucket), **denied)
    refused(lambda: s3b.get_bucket_location(Bucket=bucket), **denied)
    refused(lambda: s3b.delete_object(Bucket=bucket, Key="k"), **denied)
    refused(lambda: s3b.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}), **denied)
    refused(lambda: s3b.delete_bucket(Bucket=bucket), **denied)
    refused(lambda: s3b.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": []}), **denied)
    refused(lambda: s3b.create_multipart_upload(Bucket=bucket, Key="m"), **denied)
    refused(lambda: s3b.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"}), **denied)
    with pytest.raises(ClientError) as info:
        s3b.head_object(Bucket=bucket, Key="k")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # B's own bucket cannot copy A's object out either
    mine = unique_name("acct")
    s3b.create_bucket(Bucket=mine)
    refused(lambda: s3b.copy_object(Bucket=mine, Key="c", CopySource={"Bucket": bucket, "Key": "k"}), **denied)
    # B does not see A's bucket, and cannot take its name
    assert bucket not in [x["Name"] for x in s3b.list_buckets()["Buckets"]]
    refused(lambda: s3b.create_bucket(Bucket=bucket), "BucketAlreadyExists", 409)
    # A's data is unchanged
    assert s3a.get_object(Bucket=bucket, Key="k")["Body"].read() == b"from A"
    assert [o["Key"] for o in s3a.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def test_s3_bucket_policy_is_only_the_owners_to_read_or_change(a, b, unique_name):
    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_bucket_policy(Bucket=bucket, Policy=grant(B, "s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
    refused(lambda: s3b.get_bucket_policy(Bucket=bucket), "MethodNotAllowed", 405)
    refused(lambda: s3b.put_bucket_policy(Bucket=bucket, Policy=grant("*", "s3:*", "*")), "MethodNotAllowed", 405)
    refused(lambda: s3b.delete_bucket_policy(Bucket=bucket), "MethodNotAllowed", 405)
    assert B in s3a.get_bucket_policy(Bucket=bucket)["Policy"]


def test_s3_bucket_policy_grants_another_account(a, b, unique_name):
    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="public/k", Body=b"shared")
    s3a.put_object(Bucket=bucket, Key="private/k", Body=b"secret")
    s3a.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": ["s3:Get*", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{bucket}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/public/ro*"},
    ]}))
    assert s3b.get_object(Bucket=bucket, Key="public/k")["Body"].read() == b"shared"
    s3b.put_object(Bucket=bucket, Key="public/new", Body=b"from B")
    assert s3a.get_object(Bucket=bucket, Key="public/new")["Body"].read() == b"from B"
    assert len(s3b.list_objects_v2(Bucket=bucket)["Contents"]) == 3
    refused(lambda: s3b.get_object(Bucket=bucket, Key="private/k"), "AccessDenied", 403)
    refused(lambda: s3b.put_object(Bucket=bucket, Key="public/ro-file", Body=b"x"), "AccessDenied", 403)
    refused(lambda: s3b.delete_object(Bucket=bucket, Key="public/k"), "AccessDenied", 403)
    # the owner itself is never refused by its own bucket policy (IAM is not enforced in an account)
    s3a.put_object(Bucket=bucket, Key="public/ro-file", Body=b"owner")


def test_s3_presigned_url_of_another_account_is_refused(a, b, unique_name):
    import httpx

    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="k", Body=b"from A")
    assert httpx.get(s3a.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})).content == b"from A"
    response = httpx.get(s3b.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}))
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content


# -- Lambda ----------------------------------------------------------------------------------


def lambda_denied(action: str, arn: str, principal: str = f"arn:aws:iam::{B}:root") -> dict:
    return dict(code="AccessDeniedException", status=403,
                message=f"User: {principal} is not authorized to perform: {action} on resource: {arn} because no "
                        f"resource-based policy allows the {action} action")


def test_lambda_another_accounts_function_is_refused(a, b, unique_name):
    from lambda_functions import create_python

    la, lb = a("lambda"), b("lambda")
    name = unique_name("acct")
    arn = create_python(la, name)["FunctionArn"]
    assert f":{A}:" in arn
    refused(lambda: lb.get_function(FunctionName=arn), **lambda_denied("lambda:GetFunction", arn))
    refused(lambda: lb.invoke(FunctionName=arn, Payload=b"{}"), **lambda_denied("lambda:InvokeFunction", arn))
    refused(lambda: lb.get_function_configuration(FunctionName=f"{A}:function:{name}"),
            **lambda_denied("lambda:GetFunctionConfiguration", arn))
    refused(lambda: lb.update_function_configuration(FunctionName=arn, Timeout=9),
            **lambda_denied("lambda:UpdateFunctionConfiguration", arn))
    refused(lambda: lb.delete_function(FunctionName=arn), **lambda_denied("lambda:DeleteFunction", arn))
    refused(lambda: lb.get_policy(FunctionName=arn), **lambda_denied("lambda:GetPolicy", arn))
    refused(lambda: lb.add_permission(FunctionName=arn, StatementId="me", Action="lambda:*", Principal=B),
            **lambda_denied("lambda:AddPermission", arn))
    refused(lambda: lb.tag_resource(Resource=arn, Tags={"k": "v"}), **lambda_denied("lambda:TagResource", arn))
    # a function that does not exist in A is refused the same way: B learns nothing
    missing = arn + "-missing"
    refused(lambda: lb.get_function(FunctionName=missing), **lambda_denied("lambda:GetFunction", missing))
    # by bare name B reaches only its own account
    refused(lambda: lb.get_function(FunctionName=name), "ResourceNotFoundException", 404)
    assert la.get_function_configuration(FunctionName=name)["Timeout"] == 3
    assert la.list_tags(Resource=arn)["Tags"] == {}


def test_lambda_add_permission_grants_another_account(a, b, unique_name):
    from lambda_functions import create_python

    la, lb = a("lambda"), b("lambda")
    name = unique_name("acct")
    arn = create_python(la, name)["FunctionArn"]
    la.add_permission(FunctionName=name, StatementId="b-invokes", Action="lambda:InvokeFunction", Principal=B)
    out = lb.invoke(FunctionName=arn, Payload=b'{"hello": "B"}')
    assert out["StatusCode"] == 200 and json.loads(out["Payload"].read())["event"] == {"hello": "B"}
    refused(lambda: lb.get_function(FunctionName=arn), **lambda_denied("lambda:GetFunction", arn))
    la.add_permission(FunctionName=name, StatementId="b-reads", Action="lambda:GetFunction",
                      Principal=f"arn:aws:iam::{B}:root")
    assert lb.get_function(FunctionName=arn)["Configuration"]["FunctionArn"] == arn
    other = "333333333333"
    refused(lambda: __import__("conftest").make_client(lb.meta.endpoint_url, "lambda", access_key=other)
            .invoke(FunctionName=arn, Payload=b"{}"),
            **lambda_denied("lambda:InvokeFunction", arn, f"arn:aws:iam::{other}:root"))
    la.add_permission(FunctionName=name, StatementId="all", Action="lambda:InvokeFunction", Principal="*")
    out = __import__("conftest").make_client(lb.meta.endpoint_url, "lambda", access_key=other).invoke(
        FunctionName=arn, Payload=b"{}")
    assert out["StatusCode"] == 200


# -- SNS -------------------------------------------------------------------------------------


def sns_denied(action: str, arn: str) -> dict:
    return dict(code="AuthorizationError", status=403,
                message=f"User: arn:aws:iam::{B}:root is not authorized to perform: SNS:{action} on resource: {arn} "
                        f"because no resource-based policy allows the SNS:{action} action")


def test_sns_another_accounts_topic_is_refused(a, b, unique_name):
    sa, sb, sqs_b = a("sns"), b("sns"), b("sqs")
    arn = sa.create_topic(Name=unique_name("acct"))["TopicArn"]
    queue_b = sqs_b.create_queue(QueueName=unique_name("acct"))["QueueUrl"]
    queue_b_arn = sqs_b.get_queue_attributes(QueueUrl=queue_b, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    refused(lambda: sb.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_b_arn), **sns_denied("Subscribe", arn))
    refused(lambda: sb.publish(TopicArn=arn, Message="x"), **sns_denied("Publish", arn))
    refused(lambda: sb.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "1", "Message": "x"}]),
            **sns_denied("Publish", arn))
    refused(lambda: sb.get_topic_attributes(TopicArn=arn), **sns_denied("GetTopicAttributes", arn))
    refused(lambda: sb.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="B"),
            **sns_denied("SetTopicAttributes", arn))
    refused(lambda: sb.add_permission(TopicArn=arn, Label="me", AWSAccountId=[B], ActionName=["Publish"]),
            **sns_denied("AddPermission", arn))
    refused(lambda: sb.list_subscriptions_by_topic(TopicArn=arn), **sns_denied("ListSubscriptionsByTopic", arn))
    refused(lambda: sb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
            **sns_denied("TagResource", arn))
    refused(lambda: sb.delete_topic(TopicArn=arn), **sns_denied("DeleteTopic", arn))
    # A's topic is unchanged
    assert sa.get_topic_attributes(TopicArn=arn)["Attributes"].get("DisplayName", "") == ""
    assert sa.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    assert arn in [t["TopicArn"] for t in sa.list_topics()["Topics"]]


def test_sns_topic_policy_grants_another_account(a, b, unique_name):
    sa, sb, sqs_a = a("sns"), b("sns"), a("sqs")
    arn = sa.create_topic(Name=unique_name("acct"))["TopicArn"]
    queue = sqs_a.create_queue(QueueName=unique_name("acct"))["QueueUrl"]
    queue_arn = sqs_a.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sa.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    sa.add_permission(TopicArn=arn, Label="b-publishes", AWSAccountId=[B], ActionName=["Publish", "Subscribe"])
    sb.publish(TopicArn=arn, Message="from B")
    messages = sqs_a.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
    assert [m["Body"] for m in messages] == ["from B"]
    sub = sb.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn.replace("acct", "other"),
                       ReturnSubscriptionArn=True)["SubscriptionArn"]
    # the subscriber owns its subscription; a third account does not
    assert sb.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["Owner"] == B
    third = __import__("conftest").make_client(sb.meta.endpoint_url, "sns", access_key="333333333333")
    refused(lambda: third.unsubscribe(SubscriptionArn=sub), "AuthorizationError", 403)
    refused(lambda: sb.get_topic_attributes(TopicArn=arn), **sns_denied("GetTopicAttributes", arn))
    sb.unsubscribe(SubscriptionArn=sub)


# -- SQS -------------------------------------------------------------------------------------


def test_sqs_another_accounts_queue_is_refused(a, b, unique_name):
    qa, qb = a("sqs"), b("sqs")
    name = unique_name("acct")
    url = qa.create_queue(QueueName=name)["QueueUrl"]
    qa.send_message(QueueUrl=url, MessageBody="from A")
    denied = dict(code="AccessDenied", status=403, message=f"Access to the resource {url} is denied.")
    refused(lambda: qb.send_message(QueueUrl=url, MessageBody="x"), **denied)
    refused(lambda: qb.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}]), **denied)
    refused(lambda: qb.receive_message(QueueUrl=url), **denied)
    refused(lambda: qb.purge_queue(QueueUrl=url), **denied)
    refused(lambda: qb.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]), **denied)
    refused(lambda: qb.set_queue_attributes(QueueUrl=url, Attributes={"Policy": grant("*", "sqs:*", "*")}), **denied)
    refused(lambda: qb.delete_queue(QueueUrl=url), **denied)
    refused(lambda: qb.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=A), "AWS.SimpleQueueService.NonExistentQueue")
    assert name not in " ".join(qb.list_queues(QueueNamePrefix=name).get("QueueUrls", []))
    assert [m["Body"] for m in qa.receive_message(QueueUrl=url)["Messages"]] == ["from A"]


def test_sqs_queue_policy_grants_another_account(a, b, unique_name):
    qa, qb = a("sqs"), b("sqs")
    name = unique_name("acct")
    url = qa.create_queue(QueueName=name)["QueueUrl"]
    arn = qa.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    qa.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": ["sqs:Send*", "sqs:GetQueueUrl"],
         "Resource": arn}]})})
    assert qb.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=A)["QueueUrl"].endswith(f"/{A}/{name}")
    qb.send_message(QueueUrl=url, MessageBody="from B")
    qb.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "batch from B"}])
    refused(lambda: qb.receive_message(QueueUrl=url), "AccessDenied", 403)
    bodies = sorted(m["Body"] for m in qa.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
    assert bodies == ["batch from B", "from B"]


# -- DynamoDB --------------------------------------------------------------------------------


def test_dynamodb_another_accounts_table_is_refused(a, b, unique_name):
    da, db = a("dynamodb"), b("dynamodb")
    name = unique_name("acct")
    arn = da.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    da.put_item(TableName=name, Item={"k": {"S": "1"}, "v": {"S": "A"}})
    # B has a table of the same name: A's ARN must not reach it, nor A's
    db.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")

    def denied(action: str) -> dict:
        return dict(code="AccessDeniedException", status=400,
                    message=f"User: arn:aws:iam::{B}:root is not authorized to perform: dynamodb:{action} on resource: "
                            f"{arn} because no resource-based policy allows the dynamodb:{action} action")

    refused(lambda: db.get_item(TableName=arn, Key={"k": {"S": "1"}}), **denied("GetItem"))
    refused(lambda: db.put_item(TableName=arn, Item={"k": {"S": "1"}, "v": {"S": "B"}}), **denied("PutItem"))
    refused(lambda: db.scan(TableName=arn), **denied("Scan"))
    refused(lambda: db.describe_table(TableName=arn), **denied("DescribeTable"))
    refused(lambda: db.delete_table(TableName=arn), **denied("DeleteTable"))
    refused(lambda: db.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]), **denied("TagResource"))
    refused(lambda: db.batch_get_item(RequestItems={arn: {"Keys": [{"k": {"S": "1"}}]}}), "AccessDeniedException")
    assert db.get_item(TableName=name, Key={"k": {"S": "1"}}).get("Item") is None
    assert da.get_item(TableName=name, Key={"k": {"S": "1"}})["Item"]["v"] == {"S": "A"}


# -- IAM / STS -------------------------------------------------------------------------------


def test_sts_assume_role_into_another_account_needs_the_roles_trust(a, b, unique_name):
    iam_a, sts_b = a("iam"), b("sts")
    name = unique_name("acct")
    lambda_trust = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                              "Action": "sts:AssumeRole"}]})
    role_arn = iam_a.create_role(RoleName=name, AssumeRolePolicyDocument=lambda_trust)["Role"]["Arn"]
    message = f"User: arn:aws:iam::{B}:root is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    refused(lambda: sts_b.assume_role(RoleArn=role_arn, RoleSessionName="s1"), "AccessDenied", 403, message)
    # a role that does not exist in A is refused the same way: B cannot become A
    missing = f"arn:aws:iam::{A}:role/{name}-missing"
    refused(lambda: sts_b.assume_role(RoleArn=missing, RoleSessionName="s1"), "AccessDenied", 403)
    iam_a.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "sts:AssumeRole",
         "Condition": {"StringLike": {"sts:RoleSessionName": "ci-*"}}}]}))
    refused(lambda: sts_b.assume_role(RoleArn=role_arn, RoleSessionName="other"), "AccessDenied", 403)
    out = sts_b.assume_role(RoleArn=role_arn, RoleSessionName="ci-1")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/{name}/ci-1"


def test_sts_trust_policy_naming_a_user_admits_that_users_keys_only(a, b, client, endpoint, unique_name):
    import boto3

    iam_a, iam_b = a("iam"), b("iam")
    alice, bob = unique_name("alice"), unique_name("bob")
    alice_arn = iam_b.create_user(UserName=alice)["User"]["Arn"]
    iam_b.create_user(UserName=bob)
    name = unique_name("acct")
    role_arn = iam_a.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": alice_arn}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]

    def sts_of(user):
        key = iam_b.create_access_key(UserName=user)["AccessKey"]
        return boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"])

    refused(lambda: sts_of(bob).assume_role(RoleArn=role_arn, RoleSessionName="s1"), "AccessDenied", 403)
    refused(lambda: b("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1"), "AccessDenied", 403)
    assert sts_of(alice).assume_role(RoleArn=role_arn, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{A}:assumed-role/{name}/")


def test_iam_is_scoped_by_account(a, b, unique_name):
    iam_a, iam_b = a("iam"), b("iam")
    name = unique_name("acct")
    iam_a.create_user(UserName=name)
    refused(lambda: iam_b.get_user(UserName=name), "NoSuchEntity", 404)
    refused(lambda: iam_b.delete_user(UserName=name), "NoSuchEntity", 404)
    assert iam_a.get_user(UserName=name)["User"]["Arn"] == f"arn:aws:iam::{A}:user/{name}"


# -- EventBridge -----------------------------------------------------------------------------


def test_eventbridge_put_events_to_another_accounts_bus_needs_its_policy(a, b, unique_name):
    ea, eb, qa = a("events"), b("events"), a("sqs")
    bus = unique_name("acct")
    bus_arn = ea.create_event_bus(Name=bus)["EventBusArn"]
    url = qa.create_queue(QueueName=unique_name("acct"))["QueueUrl"]
    queue_arn = qa.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ea.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["acct.test"]}))
    ea.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    entry = {"Source": "acct.test", "DetailType": "t", "Detail": "{}", "EventBusName": bus_arn}
    message = (f"User: arn:aws:iam::{B}:root is not authorized to perform: events:PutEvents on resource: {bus_arn} "
               "because no resource-based policy allows the events:PutEvents action")
    refused(lambda: eb.put_events(Entries=[entry]), "AccessDeniedException", 400, message)
    refused(lambda: eb.put_rule(Name="mine", EventBusName=bus_arn, EventPattern='{"source": ["x"]}'),
            "AccessDeniedException", 400)
    refused(lambda: eb.describe_event_bus(Name=bus_arn), "AccessDeniedException", 400)
    assert "Messages" not in qa.receive_message(QueueUrl=url)
    assert [r["Name"] for r in ea.list_rules(EventBusName=bus)["Rules"]] == ["all"]
    ea.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=B, StatementId="b-sends")
    assert eb.put_events(Entries=[entry])["FailedEntryCount"] == 0
    event = json.loads(qa.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]["Body"])
    assert event["source"] == "acct.test" and event["account"] == B  # the sender's account


# -- services without resource policies: another account's ARN is refused, never resolved ----


def no_policy_denied(action: str, arn: str, status: int = 400) -> dict:
    return dict(code="AccessDeniedException", status=status,
                message=f"User: arn:aws:iam::{B}:root is not authorized to perform: {action} on resource: {arn} "
                        f"because no resource-based policy allows the {action} action")


def test_kinesis_another_accounts_stream_is_refused(a, b, unique_name):
    ka, kb = a("kinesis"), b("kinesis")
    name = unique_name("acct")
    ka.create_stream(StreamName=name, ShardCount=1)
    ka.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    arn = ka.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    ka.put_record(StreamName=name, Data=b"from A", PartitionKey="p")
    refused(lambda: kb.put_record(StreamARN=arn, Data=b"from B", PartitionKey="p"),
            **no_policy_denied("kinesis:PutRecord", arn))
    refused(lambda: kb.describe_stream_summary(StreamARN=arn), **no_policy_denied("kinesis:DescribeStreamSummary", arn))
    refused(lambda: kb.list_shards(StreamARN=arn), **no_policy_denied("kinesis:ListShards", arn))
    refused(lambda: kb.register_stream_consumer(StreamARN=arn, ConsumerName="c"),
            **no_policy_denied("kinesis:RegisterStreamConsumer", arn))
    refused(lambda: kb.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"}),
            **no_policy_denied("kinesis:UpdateStreamMode", arn))
    refused(lambda: kb.delete_stream(StreamARN=arn), **no_policy_denied("kinesis:DeleteStream", arn))
    consumer = ka.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    refused(lambda: kb.describe_stream_consumer(ConsumerARN=consumer), "AccessDeniedException", 400)
    refused(lambda: kb.deregister_stream_consumer(ConsumerARN=consumer), "AccessDeniedException", 400)
    refused(lambda: kb.describe_stream(StreamName=name), "ResourceNotFoundException")
    shard = ka.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = ka.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in ka.get_records(ShardIterator=iterator)["Records"]] == [b"from A"]
    assert ka.describe_stream_consumer(ConsumerARN=consumer)["ConsumerDescription"]["ConsumerName"] == "c"


def test_kinesis_resource_policy_grants_another_account(a, b, unique_name):
    ka, kb = a("kinesis"), b("kinesis")
    name = unique_name("kpol")
    ka.create_stream(StreamName=name, ShardCount=1)
    ka.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    arn = ka.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    assert ka.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    policy = grant(f"arn:aws:iam::{B}:root", ["kinesis:PutRecord", "kinesis:GetShardIterator", "kinesis:GetRecords"],
                   arn)
    ka.put_resource_policy(ResourceARN=arn, Policy=policy)
    assert json.loads(ka.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(policy)
    # B writes and reads A's stream by its ARN, as the policy allows, and nothing more
    kb.put_record(StreamARN=arn, Data=b"from B", PartitionKey="p")
    iterator = kb.get_shard_iterator(StreamARN=arn, ShardId="shardId-000000000000",
                                     ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kb.get_records(ShardIterator=iterator)["Records"]] == [b"from B"]
    refused(lambda: kb.delete_stream(StreamARN=arn), **no_policy_denied("kinesis:DeleteStream", arn))
    refused(lambda: kb.put_resource_policy(ResourceARN=arn, Policy=grant("*", "kinesis:*", arn)),
            **no_policy_denied("kinesis:PutResourcePolicy", arn))
    # a Deny wins, and once the policy is deleted the grant is gone (the iterator B holds too)
    ka.put_resource_policy(ResourceARN=arn, Policy=grant(f"arn:aws:iam::{B}:root", "kinesis:PutRecord", arn, "Deny"))
    refused(lambda: kb.put_record(StreamARN=arn, Data=b"x", PartitionKey="p"), "AccessDeniedException", 400)
    ka.delete_resource_policy(ResourceARN=arn)
    assert ka.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    refused(lambda: ka.delete_resource_policy(ResourceARN=arn), "ResourceNotFoundException")
    refused(lambda: kb.get_records(ShardIterator=iterator), **no_policy_denied("kinesis:GetRecords", arn))
    missing = arn.rsplit("/", 1)[0] + "/no-such-stream-kpol"
    refused(lambda: ka.put_resource_policy(ResourceARN=missing, Policy=grant("*", "kinesis:*", missing)),
            "ResourceNotFoundException")


def test_kinesis_list_shards_token_of_another_account_is_refused(a, b, unique_name):
    """ListShards' NextToken names the stream by overcast's id: another account holding A's token
    reaches the shards only as A's policy allows (here: none)."""
    ka, kb = a("kinesis"), b("kinesis")
    name = unique_name("kshards")
    ka.create_stream(StreamName=name, ShardCount=3)
    ka.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    arn = ka.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    page = ka.list_shards(StreamName=name, MaxResults=1)
    assert len(page["Shards"]) == 1 and ka.list_shards(NextToken=page["NextToken"])["Shards"]
    refused(lambda: kb.list_shards(NextToken=page["NextToken"]), **no_policy_denied("kinesis:ListShards", arn))
    ka.put_resource_policy(ResourceARN=arn, Policy=grant(f"arn:aws:iam::{B}:root", "kinesis:ListShards", arn))
    assert [s["ShardId"] for s in kb.list_shards(NextToken=page["NextToken"])["Shards"]] == [
        "shardId-000000000001", "shardId-000000000002"]


def test_logs_another_accounts_group_arn_is_refused(a, b, unique_name):
    la, lb = a("logs"), b("logs")
    name = unique_name("/acct")
    la.create_log_group(logGroupName=name)
    lb.create_log_group(logGroupName=name)  # B's own group of the same name must not be reached either
    arn = f"arn:aws:logs:us-east-1:{A}:log-group:{name}"
    refused(lambda: lb.describe_log_streams(logGroupIdentifier=arn), **no_policy_denied("logs:DescribeLogStreams", arn))
    refused(lambda: lb.tag_resource(resourceArn=arn, tags={"k": "v"}), **no_policy_denied("logs:TagResource", arn))
    refused(lambda: lb.list_tags_for_resource(resourceArn=arn), "AccessDeniedException", 400)
    assert la.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    assert la.describe_log_streams(logGroupIdentifier=arn)["logStreams"] == []


def test_glue_and_athena_another_account_is_refused(a, b, unique_name):
    ga, gb, ab = a("glue"), b("glue"), b("athena")
    database = unique_name("acct").replace("-", "_")
    ga.create_database(DatabaseInput={"Name": database})
    catalog = f"arn:aws:glue:us-east-1:{A}:catalog"
    refused(lambda: gb.get_database(CatalogId=A, Name=database), **no_policy_denied("glue:GetDatabase", catalog))
    refused(lambda: gb.delete_database(CatalogId=A, Name=database), **no_policy_denied("glue:DeleteDatabase", catalog))
    refused(lambda: gb.get_tables(CatalogId=A, DatabaseName=database), "AccessDeniedException", 400)
    db_arn = f"arn:aws:glue:us-east-1:{A}:database/{database}"
    refused(lambda: gb.tag_resource(ResourceArn=db_arn, TagsToAdd={"k": "v"}), **no_policy_denied("glue:TagResource", db_arn))
    refused(lambda: gb.get_database(Name=database), "EntityNotFoundException")
    assert gb.get_databases(CatalogId=B)["DatabaseList"] == []
    assert ga.get_database(CatalogId=A, Name=database)["Database"]["Name"] == database
    assert ga.get_tags(ResourceArn=db_arn)["Tags"] == {}
    a("athena").create_work_group(Name=database)
    wg_arn = f"arn:aws:athena:us-east-1:{A}:workgroup/{database}"
    refused(lambda: ab.tag_resource(ResourceARN=wg_arn, Tags=[{"Key": "k", "Value": "v"}]),
            **no_policy_denied("athena:TagResource", wg_arn))
    refused(lambda: ab.list_tags_for_resource(ResourceARN=wg_arn), "AccessDeniedException", 400)
    refused(lambda: ab.get_work_group(WorkGroup=database), "InvalidRequestException")


def test_appsync_and_scheduler_another_accounts_arn_is_refused(a, b, unique_name):
    api = a("appsync").create_graphql_api(name=unique_name("acct"), authenticationType="API_KEY")["graphqlApi"]
    refused(lambda: b("appsync").tag_resource(resourceArn=api["arn"], tags={"k": "v"}),
            **no_policy_denied("appsync:TagResource", api["arn"], 403))
    refused(lambda: b("appsync").get_graphql_api(apiId=api["apiId"]), "NotFoundException", 404)
    assert a("appsync").list_tags_for_resource(resourceArn=api["arn"]).get("tags", {}) == {}
    group = a("scheduler").create_schedule_group(Name=unique_name("acct"))["ScheduleGroupArn"]
    refused(lambda: b("scheduler").tag_resource(ResourceArn=group, Tags=[{"Key": "k", "Value": "v"}]),
            **no_policy_denied("scheduler:TagResource", group, 403))
    refused(lambda: b("scheduler").list_tags_for_resource(ResourceArn=group), "AccessDeniedException", 403)
    assert a("scheduler").list_tags_for_resource(ResourceArn=group)["Tags"] == []


def test_lambda_code_from_another_accounts_bucket_needs_its_policy(a, b, unique_name):
    from lambda_functions import ROLE, python_zip, source

    s3a, lb = a("s3"), b("lambda")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="code.zip", Body=python_zip(source("echo.py")))
    create = dict(FunctionName=unique_name("acct"), Runtime="python3.11", Role=ROLE, Handler="app.handler",
                  Code={"S3Bucket": bucket, "S3Key": "code.zip"})
    refused(lambda: lb.create_function(**create), "InvalidParameterValueException", 400,
            "Error occurred while GetObject. S3 Error Code: AccessDenied. S3 Error Message: Access Denied")
    s3a.put_bucket_policy(Bucket=bucket, Policy=grant(B, "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    assert lb.create_function(**create)["FunctionArn"].split(":")[4] == B


def test_name_scoped_services_see_only_their_own_account(a, b, unique_name):
    name = unique_name("acct")
    api = a("apigateway").create_rest_api(name=name)["id"]
    refused(lambda: b("apigateway").get_rest_api(restApiId=api), "NotFoundException", 404)
    http = a("apigatewayv2").create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    refused(lambda: b("apigatewayv2").get_api(ApiId=http), "NotFoundException", 404)
    a("firehose").create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "BucketARN": "arn:aws:s3:::nowhere", "RoleARN": f"arn:aws:iam::{A}:role/r"})
    refused(lambda: b("firehose").describe_delivery_stream(DeliveryStreamName=name), "ResourceNotFoundException")
    refused(lambda: b("firehose").put_record(DeliveryStreamName=name, Record={"Data": b"x"}),
            "ResourceNotFoundException")
    assert a("apigateway").get_rest_api(restApiId=api)["name"] == name


# -- deliveries a service makes for a resource of another account ----------------------------


def queue_of(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def allow_service(sqs, url: str, arn: str, service: str, source_arn: str) -> None:
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage", "Resource": arn,
         "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}}]})})


def bodies_until(sqs, url: str, marker: str) -> list[str]:
    """Every message body up to and including the one containing `marker` (waits for it)."""
    seen: list[str] = []
    for _ in range(20):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", []):
            seen.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if any(marker in body for body in seen):
            return seen
    raise AssertionError(f"{marker} never arrived; got {seen}")


def test_sns_delivers_to_another_accounts_queue_only_when_its_policy_allows(a, b, unique_name):
    qa, sb = a("sqs"), b("sns")
    url, queue_arn = queue_of(qa, unique_name("acct"))
    topic = sb.create_topic(Name=unique_name("acct"))["TopicArn"]
    sb.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    sb.publish(TopicArn=topic, Message="refused")
    allow_service(qa, url, queue_arn, "sns.amazonaws.com", f"arn:aws:sns:us-east-1:{B}:other-topic")
    sb.publish(TopicArn=topic, Message="refused: another topic's grant")
    allow_service(qa, url, queue_arn, "sns.amazonaws.com", topic)
    sb.publish(TopicArn=topic, Message="granted")
    assert bodies_until(qa, url, "granted") == ["granted"]


def test_eventbridge_delivers_to_another_accounts_queue_only_when_its_policy_allows(a, b, unique_name):
    qa, eb = a("sqs"), b("events")
    url, queue_arn = queue_of(qa, unique_name("acct"))
    rule = eb.put_rule(Name=unique_name("acct"), EventPattern=json.dumps({"source": ["acct.deliver"]}))["RuleArn"]
    eb.put_targets(Rule=rule.rsplit("/", 1)[1], Targets=[{"Id": "a", "Arn": queue_arn}])

    def send(detail: str):
        eb.put_events(Entries=[{"Source": "acct.deliver", "DetailType": "t", "Detail": json.dumps({"m": detail})}])

    send("refused")
    allow_service(qa, url, queue_arn, "events.amazonaws.com", rule)
    send("granted")
    assert [json.loads(body)["detail"]["m"] for body in bodies_until(qa, url, "granted")] == ["granted"]


def test_s3_notifies_another_accounts_queue_only_when_its_policy_allows(a, b, unique_name):
    qa, s3b = a("sqs"), b("s3")
    url, queue_arn = queue_of(qa, unique_name("acct"))
    bucket = unique_name("acct")
    s3b.create_bucket(Bucket=bucket)
    config = {"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]}
    error = refused(lambda: s3b.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config),
                    "InvalidArgument", 400, "Unable to validate the following destination configurations")
    assert s3b.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations") is None
    assert error["Message"]
    allow_service(qa, url, queue_arn, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
    s3b.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    s3b.put_object(Bucket=bucket, Key="granted", Body=b"x")
    records = [json.loads(body) for body in bodies_until(qa, url, "granted")]
    assert [r["Records"][0]["s3"]["object"]["key"] for r in records if "Records" in r] == ["granted"]


def test_ssm_another_accounts_parameter_arn_is_refused(a, b, unique_name):
    name = "/" + unique_name("acct")
    a("ssm").put_parameter(Name=name, Value="from A", Type="String")
    b("ssm").put_parameter(Name=name, Value="from B", Type="String")  # B's own, same name: not reached either
    arn = f"arn:aws:ssm:us-east-1:{A}:parameter{name}"
    refused(lambda: b("ssm").get_parameter(Name=arn), **no_policy_denied("ssm:GetParameter", arn))
    refused(lambda: b("ssm").get_parameters(Names=[arn]), "AccessDeniedException", 400)
    assert a("ssm").get_parameter(Name=arn)["Parameter"]["Value"] == "from A"
    assert b("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "from B"


def test_event_source_mapping_on_another_accounts_queue_needs_its_policy(a, b, unique_name):
    from lambda_functions import create_python

    qa, lb = a("sqs"), b("lambda")
    url, queue_arn = queue_of(qa, unique_name("acct"))
    function = create_python(lb, unique_name("acct"))["FunctionArn"]
    refused(lambda: lb.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function),
            "InvalidParameterValueException", 400,
            "The provided execution role does not have permissions to call ReceiveMessage on SQS")
    assert lb.list_event_source_mappings(FunctionName=function)["EventSourceMappings"] == []
    qa.set_queue_attributes(QueueUrl=url, Attributes={"Policy": grant(B, ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                                          "sqs:GetQueueAttributes"], queue_arn)})
    mapping = lb.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function, Enabled=False)
    assert mapping["EventSourceArn"] == queue_arn
    lb.delete_event_source_mapping(UUID=mapping["UUID"])


def test_firehose_writes_to_another_accounts_bucket_once_its_policy_allows(a, b, unique_name):
    import time

    s3a, fb = a("s3"), b("firehose")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)
    name = unique_name("acct")
    fb.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": f"arn:aws:iam::{B}:role/firehose", "BucketARN": f"arn:aws:s3:::{bucket}",
        "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 1}})
    fb.put_record(DeliveryStreamName=name, Record={"Data": b"from B\n"})
    # refused, so kept and retried (as Firehose retries a destination it may not write): with a
    # zero buffering interval a permitted write lands at once, so 1.5 s of nothing is a refusal
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert s3a.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
        time.sleep(0.1)
    s3a.put_bucket_policy(Bucket=bucket, Policy=grant(B, "s3:PutObject", f"arn:aws:s3:::{bucket}/*"))
    for _ in range(100):
        contents = s3a.list_objects_v2(Bucket=bucket).get("Contents")
        if contents:
            assert s3a.get_object(Bucket=bucket, Key=contents[0]["Key"])["Body"].read() == b"from B\n"
            return
        time.sleep(0.2)
    raise AssertionError("the record never reached the bucket once the policy allowed it")


def test_s3_browser_post_upload_counts_the_forms_account(a, b, unique_name):
    import httpx

    s3a, s3b = a("s3"), b("s3")
    bucket = unique_name("acct")
    s3a.create_bucket(Bucket=bucket)

    def upload(s3, key: str) -> httpx.Response:
        post = s3.generate_presigned_post(bucket, key)
        return httpx.post(post["url"], data=post["fields"], files={"file": ("f.txt", b"data")})

    refused_post = upload(s3b, "from-b")
    assert refused_post.status_code == 403 and b"<Code>AccessDenied</Code>" in refused_post.content
    assert upload(s3a, "from-a").status_code == 204
    assert [o["Key"] for o in s3a.list_objects_v2(Bucket=bucket)["Contents"]] == ["from-a"]
    s3a.put_bucket_policy(Bucket=bucket, Policy=grant(B, "s3:PutObject", f"arn:aws:s3:::{bucket}/*"))
    assert upload(s3b, "from-b").status_code == 204


def test_lambda_iam_function_url_signed_by_another_account_needs_the_functions_policy(a, b, endpoint, unique_name):
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from lambda_functions import create_python, source

    la = a("lambda")
    name = unique_name("acct")
    create_python(la, name, source("url.py"))
    host = la.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")["FunctionUrl"].split("//", 1)[1]
    host = host.rstrip("/")

    def call(account: str) -> httpx.Response:
        request = AWSRequest("GET", f"http://{host}/", headers={"Host": host})
        SigV4Auth(Credentials(account, "secret"), "lambda", "us-east-1").add_auth(request)
        return httpx.get(f"{endpoint}/", headers=dict(request.headers.items()))

    assert call(A).status_code == 201  # url.py answers 201
    refused_call = call(B)
    assert refused_call.status_code == 403 and refused_call.json() == {"Message": "Forbidden"}
    la.add_permission(FunctionName=name, StatementId="b-url", Action="lambda:InvokeFunctionUrl", Principal=B,
                      FunctionUrlAuthType="AWS_IAM")
    assert call(B).status_code == 201


def test_sns_dead_letters_into_another_accounts_queue_only_when_its_policy_allows(a, b, unique_name):
    qa, sb = a("sqs"), b("sns")
    dlq_url, dlq_arn = queue_of(qa, unique_name("acct"))
    topic = sb.create_topic(Name=unique_name("acct"))["TopicArn"]
    missing = f"arn:aws:sqs:us-east-1:{B}:{unique_name('missing')}"  # every delivery fails: to the DLQ at once
    sb.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=missing, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sb.publish(TopicArn=topic, Message="refused")
    allow_service(qa, dlq_url, dlq_arn, "sns.amazonaws.com", topic)
    sb.publish(TopicArn=topic, Message="granted")
    assert [json.loads(body)["Message"] for body in bodies_until(qa, dlq_url, "granted")] == ["granted"]


def test_secrets_manager_another_accounts_secret_needs_its_resource_policy(a, b, unique_name):
    sa, sb = a("secretsmanager"), b("secretsmanager")
    key = a("kms").create_key()["KeyMetadata"]["Arn"]  # the default key's values never leave the account
    arn = sa.create_secret(Name=unique_name("acct"), SecretString="from A", KmsKeyId=key)["ARN"]
    refused(lambda: sb.get_secret_value(SecretId=arn),
            **no_policy_denied("secretsmanager:GetSecretValue", arn))
    refused(lambda: sb.put_secret_value(SecretId=arn, SecretString="from B"), "AccessDeniedException", 400)
    refused(lambda: sb.delete_secret(SecretId=arn), "AccessDeniedException", 400)
    sa.put_resource_policy(SecretId=arn, ResourcePolicy=grant(B, "secretsmanager:GetSecretValue", "*"))
    assert sb.get_secret_value(SecretId=arn)["SecretString"] == "from A"
    refused(lambda: sb.put_secret_value(SecretId=arn, SecretString="from B"), "AccessDeniedException", 400)
    assert sa.get_secret_value(SecretId=arn)["SecretString"] == "from A"


def test_cognito_user_pools_are_scoped_by_account(a, b, unique_name):
    pool = a("cognito-idp").create_user_pool(PoolName=unique_name("acct"))["UserPool"]["Id"]
    refused(lambda: b("cognito-idp").describe_user_pool(UserPoolId=pool), "ResourceNotFoundException", 400)
    assert a("cognito-idp").describe_user_pool(UserPoolId=pool)["UserPool"]["Id"] == pool


def _codes(endpoint: str, key: str | None, secret: str = "test", pool: str | None = None):
    """GET the codes endpoint as curl sends it: signed with SigV4 (--aws-sigv4), or not at all."""
    url = f"{endpoint}/_overcast/cognito-idp/codes" + (f"?userPoolId={pool}" if pool else "")
    signing = ["--aws-sigv4", "aws:amz:us-east-1:cognito-idp", "--user", f"{key}:{secret}"] if key else []
    result = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *signing, url], capture_output=True, text=True,
                            timeout=30, check=True)
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_cognito_codes_are_read_only_by_their_pools_account(a, endpoint, unique_name):
    idp = a("cognito-idp")
    pool = idp.create_user_pool(PoolName=unique_name("acct"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=app, Username="amy", Password="Passw0rd!", UserAttributes=[{"Name": "email",
                                                                                  "Value": "amy@example.com"}])
    status, mine = _codes(endpoint, A, pool=pool)  # signed by the pool's account
    assert status == 200 and [(c["username"], c["purpose"]) for c in mine["codes"]] == [("amy", "signup")]
    idp.confirm_sign_up(ClientId=app, Username="amy", ConfirmationCode=mine["codes"][0]["code"])
    idp.admin_reset_user_password(UserPoolId=pool, Username="amy")
    assert [c["purpose"] for c in _codes(endpoint, A)[1]["codes"] if c["userPoolId"] == pool] == ["forgot"]
    for other in (B, None):  # another account, or no signature at all (the default account)
        status, theirs = _codes(endpoint, other, pool=pool)
        assert status == 200 and theirs == {"codes": []}
        assert not [c for c in _codes(endpoint, other)[1]["codes"] if c["userPoolId"] == pool]


def test_eventbridge_writes_to_another_accounts_log_group_only_when_its_resource_policy_allows(a, b, unique_name):
    import time

    la, eb = a("logs"), b("events")
    group = "/acct/" + unique_name("grp")
    la.create_log_group(logGroupName=group)
    group_arn = f"arn:aws:logs:us-east-1:{A}:log-group:{group}"
    rule = eb.put_rule(Name=unique_name("acct"), EventPattern=json.dumps({"source": ["acct.logs"]}))["RuleArn"]
    eb.put_targets(Rule=rule.rsplit("/", 1)[1], Targets=[{"Id": "a", "Arn": group_arn}])

    def send(detail: str):
        eb.put_events(Entries=[{"Source": "acct.logs", "DetailType": "t", "Detail": json.dumps({"m": detail})}])

    send("refused")
    # a policy that admits another service only grants nothing to EventBridge
    la.put_resource_policy(policyName="route53", policyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"Service": "route53.amazonaws.com"}, "Action": "logs:PutLogEvents",
         "Resource": "*"}]}))
    send("still-refused")
    la.put_resource_policy(policyName="events", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{group_arn}:*"}]}))
    send("granted")
    for _ in range(50):
        messages = [json.loads(e["message"])["detail"]["m"] for e in la.filter_log_events(logGroupName=group)["events"]]
        if "granted" in messages:
            break
        time.sleep(0.1)
    assert messages == ["granted"]
    names = [p["policyName"] for p in la.describe_resource_policies()["resourcePolicies"]]
    assert names == ["events", "route53"]
    la.delete_resource_policy(policyName="events")
    la.delete_resource_policy(policyName="route53")
    refused(lambda: la.delete_resource_policy(policyName="events"), "ResourceNotFoundException",
            message="Policy with name [events] does not exist.")
