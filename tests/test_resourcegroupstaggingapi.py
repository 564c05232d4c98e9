"""The Resource Groups Tagging API through boto3: every service's tags in one view, written
through each service's own tagging."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from conftest import make_client


@pytest.fixture
def tagging(client):
    return client("resourcegroupstaggingapi")


@pytest.fixture
def region_client(endpoint):
    """Clients of a region no other test uses, so that GetResources sees only this test's."""
    def make(service):
        return make_client(endpoint, service, region="eu-north-1")
    return make


def _mapping(response) -> dict:
    return {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]} for m in response["ResourceTagMappingList"]}


def test_resources_of_every_service_by_tag_and_type(region_client, unique_name):
    tagging = region_client("resourcegroupstaggingapi")
    glue, sqs, sns = region_client("glue"), region_client("sqs"), region_client("sns")
    ddb, ssm = region_client("dynamodb"), region_client("ssm")
    name = unique_name("tg").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": name}, Tags={"team": "data", "env": "dev"})
    queue_url = sqs.create_queue(QueueName=name, tags={"team": "web"})["QueueUrl"]
    topic = sns.create_topic(Name=name, Tags=[{"Key": "team", "Value": "web"}])["TopicArn"]
    table = ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST", Tags=[{"Key": "env", "Value": "prod"}])
    table_arn = table["TableDescription"]["TableArn"]
    ssm.put_parameter(Name=f"/{name}/p", Value="v", Type="String", Tags=[{"Key": "env", "Value": "dev"}])
    sqs.create_queue(QueueName=name + "-untagged")  # never tagged: not listed, as on AWS
    database_arn = f"arn:aws:glue:eu-north-1:000000000000:database/{name}"
    queue_arn = f"arn:aws:sqs:eu-north-1:000000000000:{name}"
    parameter_arn = f"arn:aws:ssm:eu-north-1:000000000000:parameter/{name}/p"

    everything = _mapping(tagging.get_resources())
    assert everything[database_arn] == {"team": "data", "env": "dev"}
    assert everything[queue_arn] == {"team": "web"}
    assert everything[topic] == {"team": "web"}
    assert everything[table_arn] == {"env": "prod"}
    assert everything[parameter_arn] == {"env": "dev"}
    assert not any(arn.endswith("-untagged") for arn in everything)

    web = _mapping(tagging.get_resources(TagFilters=[{"Key": "team", "Values": ["web"]}]))
    assert set(web) == {queue_arn, topic}
    with_env = _mapping(tagging.get_resources(TagFilters=[{"Key": "env"}]))
    assert set(with_env) == {database_arn, table_arn, parameter_arn}
    assert set(_mapping(tagging.get_resources(ResourceTypeFilters=["glue:database", "sqs"]))) == {database_arn, queue_arn}
    assert set(_mapping(tagging.get_resources(ResourceTypeFilters=["glue:crawler"]))) == set()
    assert set(_mapping(tagging.get_resources(ResourceARNList=[topic, database_arn]))) == {topic, database_arn}

    assert set(tagging.get_tag_keys()["TagKeys"]) >= {"team", "env"}
    assert tagging.get_tag_values(Key="env")["TagValues"] == ["dev", "prod"]

    # pages of one, the token empty on the last
    seen, token = [], None
    while True:
        page = tagging.get_resources(ResourcesPerPage=1, **({"PaginationToken": token} if token else {}))
        assert len(page["ResourceTagMappingList"]) <= 1
        seen += [m["ResourceARN"] for m in page["ResourceTagMappingList"]]
        token = page["PaginationToken"]
        if not token:
            break
    assert set(seen) == set(everything)

    glue.delete_database(Name=name)
    sqs.delete_queue(QueueUrl=queue_url)
    after = _mapping(tagging.get_resources())
    assert database_arn not in after and queue_arn not in after


def test_tag_and_untag_through_each_service(region_client, unique_name):
    tagging = region_client("resourcegroupstaggingapi")
    sqs, lam_logs, secrets = region_client("sqs"), region_client("logs"), region_client("secretsmanager")
    name = unique_name("tw")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    lam_logs.create_log_group(logGroupName=name)
    secret_arn = secrets.create_secret(Name=name, SecretString="s")["ARN"]
    queue_arn = f"arn:aws:sqs:eu-north-1:000000000000:{name}"
    group_arn = f"arn:aws:logs:eu-north-1:000000000000:log-group:{name}"

    answer = tagging.tag_resources(ResourceARNList=[queue_arn, group_arn, secret_arn], Tags={"cost": "42", "o": "me"})
    assert answer["FailedResourcesMap"] == {}
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"cost": "42", "o": "me"}
    assert lam_logs.list_tags_for_resource(resourceArn=group_arn)["tags"] == {"cost": "42", "o": "me"}
    assert {t["Key"]: t["Value"] for t in secrets.describe_secret(SecretId=secret_arn)["Tags"]} == {"cost": "42", "o": "me"}

    assert tagging.untag_resources(ResourceARNList=[queue_arn, group_arn, secret_arn], TagKeys=["o"])["FailedResourcesMap"] == {}
    assert sqs.list_queue_tags(QueueUrl=queue_url)["Tags"] == {"cost": "42"}
    assert _mapping(tagging.get_resources(ResourceARNList=[group_arn])) == {group_arn: {"cost": "42"}}


def test_tag_resources_failures(tagging, client, unique_name):
    missing = f"arn:aws:sqs:us-east-1:000000000000:{unique_name('nope')}"
    foreign = "arn:aws:sqs:us-west-2:000000000000:elsewhere"
    unknown = "arn:aws:ec2:us-east-1:000000000000:instance/i-123"
    failed = tagging.tag_resources(ResourceARNList=[missing, foreign, unknown], Tags={"a": "b"})["FailedResourcesMap"]
    assert failed[missing]["ErrorCode"] == "QueueDoesNotExist"  # SQS's own answer
    assert failed[foreign]["ErrorCode"] == "InvalidParameterException"
    assert failed[unknown]["ErrorCode"] == "InvalidParameterException"
    # each service's own rules apply: aws: keys are reserved
    name = unique_name("q")
    client("sqs").create_queue(QueueName=name)
    queue = f"arn:aws:sqs:us-east-1:000000000000:{name}"
    failed = tagging.tag_resources(ResourceARNList=[queue], Tags={"aws:x": "y"})["FailedResourcesMap"]
    assert failed[queue]["ErrorCode"] == "InvalidParameterValue"
    assert "reserved" in failed[queue]["ErrorMessage"]


def test_bad_requests(tagging):
    with pytest.raises(ClientError) as e:
        tagging.get_resources(ResourceARNList=["arn:aws:sqs:us-east-1:000000000000:q"], TagFilters=[{"Key": "a"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        tagging.get_resources(ResourcesPerPage=101)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        tagging.get_resources(PaginationToken="!!!")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        tagging.tag_resources(ResourceARNList=["arn:aws:sqs:us-east-1:000000000000:q"] * 21, Tags={"a": "b"})
    assert e.value.response["Error"]["Code"] in ("ValidationException", "InvalidParameterException")


def test_state_machines_and_event_rules(region_client, unique_name):
    tagging = region_client("resourcegroupstaggingapi")
    sfn, events = region_client("stepfunctions"), region_client("events")
    name = unique_name("sm")
    machine = sfn.create_state_machine(name=name, roleArn="arn:aws:iam::000000000000:role/r",
                                       definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}',
                                       tags=[{"key": "app", "value": name}])["stateMachineArn"]
    rule = events.put_rule(Name=name, ScheduleExpression="rate(1 day)", Tags=[{"Key": "app", "Value": name}])["RuleArn"]
    found = _mapping(tagging.get_resources(TagFilters=[{"Key": "app", "Values": [name]}]))
    assert found == {machine: {"app": name}, rule: {"app": name}}
    assert set(_mapping(tagging.get_resources(ResourceTypeFilters=["states:stateMachine"]))) >= {machine}
    assert tagging.tag_resources(ResourceARNList=[machine, rule], Tags={"env": "x"})["FailedResourcesMap"] == {}
    assert {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=machine)["tags"]} == {"app": name, "env": "x"}
    assert {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=rule)["Tags"]} == {"app": name, "env": "x"}
    sfn.delete_state_machine(stateMachineArn=machine)
    assert machine not in _mapping(tagging.get_resources(TagFilters=[{"Key": "app"}]))


def test_s3_buckets(region_client, endpoint, unique_name):
    tagging, s3 = region_client("resourcegroupstaggingapi"), region_client("s3")
    name = unique_name("bkt")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    arn = f"arn:aws:s3:::{name}"
    assert arn not in _mapping(tagging.get_resources())  # never tagged
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    assert _mapping(tagging.get_resources(ResourceTypeFilters=["s3:bucket"]))[arn] == {"a": "1"}
    # TagResources adds to the set (PutBucketTagging alone would replace it)
    assert tagging.tag_resources(ResourceARNList=[arn], Tags={"b": "2"})["FailedResourcesMap"] == {}
    assert {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]} == {"a": "1", "b": "2"}
    assert tagging.untag_resources(ResourceARNList=[arn], TagKeys=["a", "b"])["FailedResourcesMap"] == {}
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=name)
    assert e.value.response["Error"]["Code"] == "NoSuchTagSet"
    assert arn not in _mapping(tagging.get_resources())
    # a bucket of another region is not this region's resource
    other = unique_name("bkt")
    make_client(endpoint, "s3", region="eu-west-3").create_bucket(
        Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    failed = tagging.tag_resources(ResourceARNList=[f"arn:aws:s3:::{other}"], Tags={"x": "y"})["FailedResourcesMap"]
    assert failed[f"arn:aws:s3:::{other}"]["ErrorCode"] == "NoSuchBucket"


def test_reading_tags_starts_no_unused_service(tmp_path):
    # a fresh server: GetResources answers without creating the tables (or starting the work) of
    # services nobody used
    import conftest
    from conftest import OvercastProcess, stored_rows
    server = OvercastProcess(str(tmp_path))
    try:
        tagging = make_client(server.endpoint, "resourcegroupstaggingapi")
        assert tagging.get_resources()["ResourceTagMappingList"] == []
        make_client(server.endpoint, "sqs").create_queue(QueueName="q", tags={"a": "b"})
        assert [m["ResourceARN"] for m in tagging.get_resources()["ResourceTagMappingList"]] == [
            "arn:aws:sqs:us-east-1:000000000000:q"]
    finally:
        server.stop()
    services = {row[0] for row in stored_rows(str(tmp_path), "SELECT service FROM schema_versions")}
    assert "sqs" in services
    if conftest.TEST_DATABASES is None:  # (on PostgreSQL every service's tables are made at start-up)
        assert "lambda" not in services and "dynamodb" not in services
