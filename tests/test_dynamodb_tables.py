"""DynamoDB control plane: tables, indexes, tags, TTL settings, limits and endpoints."""

from __future__ import annotations

import pytest
from dynamodb_support import error, make_table


@pytest.fixture
def ddb(client):
    return client("dynamodb")


def test_create_table_answers_creating_and_the_waiter_sees_it_active(ddb, unique_name):
    name = unique_name("tbl")
    response = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    description = response["TableDescription"]
    assert description["TableStatus"] == "CREATING"
    assert description["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"
    assert description["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE" and table["ItemCount"] == 0


def test_create_existing_table_is_resource_in_use(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    code, message, _ = error(make_table, ddb, name)
    assert (code, message) == ("ResourceInUseException", f"Table already exists: {name}")


def test_describe_missing_table_names_it(ddb, unique_name):
    code, message, _ = error(ddb.describe_table, TableName="nope-" + unique_name())
    assert code == "ResourceNotFoundException"
    assert message.startswith("Requested resource not found: Table: nope-") and message.endswith(" not found")


def test_key_schema_attribute_must_be_defined(ddb, unique_name):
    code, message, _ = error(ddb.create_table, TableName=unique_name("tbl"), BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    assert code == "ValidationException"
    assert message == ("One or more parameter values were invalid: Some index key attributes are not defined in "
                       "AttributeDefinitions. Keys: [pk], AttributeDefinitions: [id]")


def test_unused_attribute_definition_is_rejected(ddb, unique_name):
    code, message, _ = error(make_table, ddb, unique_name("tbl"), extra_attrs=[("other", "S")])
    assert message == ("One or more parameter values were invalid: Number of attributes in KeySchema does not "
                       "exactly match number of attributes defined in AttributeDefinitions")


def test_first_key_must_be_hash(ddb, unique_name):
    code, message, _ = error(ddb.create_table, TableName=unique_name("tbl"), BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    assert message == "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"


def test_provisioned_table_needs_throughput(ddb, unique_name):
    code, message, _ = error(make_table, ddb, unique_name("tbl"), BillingMode="PROVISIONED")
    assert message == ("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
                       "both be specified when BillingMode is PROVISIONED")


def test_too_short_table_name_is_rejected(ddb):
    code, message, _ = error(make_table, ddb, "ab")
    assert (code, message) == ("ValidationException", "1 validation error detected: Value 'ab' at 'tableName' failed "
                               "to satisfy constraint: Member must have length greater than or equal to 3")


def test_list_tables_pages(ddb, unique_name):
    prefix = unique_name("lst")
    for i in range(3):
        make_table(ddb, f"{prefix}-{i}")
    names = []
    kwargs = {"Limit": 2}
    while True:
        page = ddb.list_tables(**kwargs)
        names += page["TableNames"]
        if "LastEvaluatedTableName" not in page:
            break
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
    assert [n for n in names if n.startswith(prefix)] == [f"{prefix}-{i}" for i in range(3)]


def test_tables_are_scoped_by_region(client, unique_name):
    name = make_table(client("dynamodb"), unique_name("tbl"))
    code, _, _ = error(client("dynamodb", region="eu-west-1").describe_table, TableName=name)
    assert code == "ResourceNotFoundException"


def test_delete_table(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert ddb.delete_table(TableName=name)["TableDescription"]["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    code, message, _ = error(ddb.get_item, TableName=name, Key={"pk": {"S": "a"}})
    assert (code, message) == ("ResourceNotFoundException", "Requested resource not found")


def test_local_secondary_index_needs_a_table_range_key(ddb, unique_name):
    code, message, _ = error(
        make_table, ddb, unique_name("tbl"), extra_attrs=[("l", "S")],
        LocalSecondaryIndexes=[{"IndexName": "lsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                  {"AttributeName": "l", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}])
    assert message == ("One or more parameter values were invalid: Table KeySchema does not have a range key, which "
                       "is required when specifying a LocalSecondaryIndex")


def test_update_table_adds_a_gsi_with_backfill_and_removes_it(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "color": {"S": "red" if i % 2 else "blue"}})
    response = ddb.update_table(
        TableName=name, AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by-color", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                                 "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}]}}])
    assert response["TableDescription"]["TableStatus"] == "UPDATING"
    result = ddb.query(TableName=name, IndexName="by-color", KeyConditionExpression="color = :c",
                       ExpressionAttributeValues={":c": {"S": "red"}})
    assert sorted(i["pk"]["S"] for i in result["Items"]) == ["k1", "k3"]
    assert set(result["Items"][0]) == {"pk", "color"}
    ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-color"}}])
    code, message, _ = error(ddb.query, TableName=name, IndexName="by-color", KeyConditionExpression="color = :c",
                             ExpressionAttributeValues={":c": {"S": "red"}})
    assert message == "The table does not have the specified index: by-color"


def test_update_table_switches_billing_mode(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    ddb.update_table(TableName=name, BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 4 and "BillingModeSummary" not in table


def test_tags(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"), Tags=[{"Key": "a", "Value": "1"}])
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_time_to_live_settings(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    code, message, _ = error(ddb.update_time_to_live, TableName=name,
                             TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert message == "TimeToLive is already enabled"


def test_continuous_backups_flag_is_accepted(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    ddb.update_continuous_backups(TableName=name,
                                  PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    description = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert description["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_describe_limits_and_endpoints(ddb):
    assert ddb.describe_limits()["TableMaxWriteCapacityUnits"] == 40000
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440


def test_cli_creates_and_describes_a_table(aws_cli, unique_name):
    name = unique_name("cli")
    aws_cli("dynamodb", "create-table", "--table-name", name, "--billing-mode", "PAY_PER_REQUEST",
            "--attribute-definitions", "AttributeName=id,AttributeType=S", "--key-schema", "AttributeName=id,KeyType=HASH")
    aws_cli("dynamodb", "wait", "table-exists", "--table-name", name)
    aws_cli("dynamodb", "put-item", "--table-name", name, "--item", '{"id": {"S": "1"}, "n": {"N": "1.50"}}')
    item = aws_cli("dynamodb", "get-item", "--table-name", name, "--key", '{"id": {"S": "1"}}')["Item"]
    assert item == {"id": {"S": "1"}, "n": {"N": "1.5"}}


def test_warm_throughput_as_aws_answers(ddb, unique_name):
    # on-demand: AWS's initial 12,000 reads and 4,000 writes per second, for the table and its GSIs
    name = make_table(ddb, unique_name("tbl"), extra_attrs=[("g", "S")], GlobalSecondaryIndexes=[{
        "IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}])
    table = ddb.describe_table(TableName=name)["Table"]
    on_demand = {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}
    assert table["WarmThroughput"] == on_demand
    assert table["GlobalSecondaryIndexes"][0]["WarmThroughput"] == on_demand
    # provisioned: the provisioned capacity, unless more was asked for (then UPDATING at creation)
    name = make_table(ddb, unique_name("tbl"), BillingMode="PROVISIONED",
                      ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    assert ddb.describe_table(TableName=name)["Table"]["WarmThroughput"] == {
        "ReadUnitsPerSecond": 5, "WriteUnitsPerSecond": 5, "Status": "ACTIVE"}
    created = ddb.create_table(
        TableName=unique_name("tbl"), KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        WarmThroughput={"ReadUnitsPerSecond": 1000, "WriteUnitsPerSecond": 1200})["TableDescription"]
    assert created["WarmThroughput"] == {"ReadUnitsPerSecond": 1000, "WriteUnitsPerSecond": 1200, "Status": "UPDATING"}
    assert ddb.describe_table(TableName=created["TableName"])["Table"]["WarmThroughput"]["Status"] == "ACTIVE"
    assert "WarmThroughput" not in ddb.delete_table(TableName=created["TableName"])["TableDescription"]


def test_contributor_insights_are_disabled(ddb, unique_name):
    name = make_table(ddb, unique_name("tbl"))
    assert ddb.describe_contributor_insights(TableName=name)["ContributorInsightsStatus"] == "DISABLED"
    code, _, _ = error(ddb.describe_contributor_insights, TableName=name, IndexName="none")
    assert code == "ResourceNotFoundException"
