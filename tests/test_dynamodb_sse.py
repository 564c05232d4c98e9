"""DynamoDB server-side encryption with KMS: the account's AWS managed key (alias/aws/dynamodb)
when no key is named, a customer key by id, ARN or alias, UpdateTable's SSESpecification, and
AWS's errors."""

from __future__ import annotations

import json

import pytest
from dynamodb_support import error, make_table


@pytest.fixture
def ddb(client):
    return client("dynamodb")


def test_sse_with_the_aws_managed_key(ddb, client, unique_name):
    kms = client("kms")
    name = make_table(ddb, unique_name("sse"), SSESpecification={"Enabled": True})
    sse = ddb.describe_table(TableName=name)["Table"]["SSEDescription"]
    managed = kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]
    assert sse == {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": managed["Arn"]}
    assert managed["KeyManager"] == "AWS"
    # a second table uses the same key; other changes keep the encryption as it was
    other = make_table(ddb, unique_name("sse"), SSESpecification={"Enabled": True, "SSEType": "KMS"})
    assert ddb.describe_table(TableName=other)["Table"]["SSEDescription"]["KMSMasterKeyArn"] == managed["Arn"]
    updated = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert updated["SSEDescription"] == sse

    # disabled: back to an AWS owned key, which DynamoDB does not describe
    answer = ddb.update_table(TableName=name, SSESpecification={"Enabled": False})["TableDescription"]
    assert answer["SSEDescription"] == {**sse, "Status": "UPDATING"}
    table = ddb.describe_table(TableName=name)["Table"]
    assert "SSEDescription" not in table and "SSESpecification" not in table
    assert error(ddb.update_table, TableName=name, SSESpecification={"Enabled": False})[:2] == (
        "ValidationException", "Table is already encrypted by default")


def test_sse_with_a_customer_key(ddb, client, unique_name):
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]
    alias = f"alias/{unique_name('ddb')}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    for given in (key["KeyId"], key["Arn"], alias):
        name = make_table(ddb, unique_name("cmk"), SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                     "KMSMasterKeyId": given})
        assert ddb.describe_table(TableName=name)["Table"]["SSEDescription"]["KMSMasterKeyArn"] == key["Arn"]
    plain = make_table(ddb, unique_name("plain"))
    answer = ddb.update_table(TableName=plain, SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                                 "KMSMasterKeyId": alias})["TableDescription"]
    assert answer["SSEDescription"] == {"Status": "UPDATING", "SSEType": "KMS", "KMSMasterKeyArn": key["Arn"]}
    assert ddb.describe_table(TableName=plain)["Table"]["SSEDescription"]["Status"] == "ENABLED"

    code, _, _ = error(make_table, ddb, unique_name("nokey"), SSESpecification={
        "Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/does-not-exist"})
    assert code == "ValidationException"


def test_a_replica_uses_its_regions_aws_managed_key(client, unique_name):
    east, west = client("dynamodb"), client("dynamodb", region="eu-west-1")
    name = make_table(east, unique_name("ssegt"), SSESpecification={"Enabled": True})
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    west_key = client("kms", region="eu-west-1").describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"]
    assert west.describe_table(TableName=name)["Table"]["SSEDescription"]["KMSMasterKeyArn"] == west_key
    assert ":eu-west-1:" in west_key


def test_cloudformation_table_sse(client, unique_name):
    cf, ddb = client("cloudformation"), client("dynamodb")
    name = unique_name("ssecfn")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"T": {
        "Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "SSESpecification": {"SSEEnabled": True}}}}}))
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 60})
    managed = client("kms").describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"]
    assert ddb.describe_table(TableName=name)["Table"]["SSEDescription"] == {
        "Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": managed}
