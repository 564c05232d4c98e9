"""Helpers shared by the DynamoDB tests."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError


def make_table(ddb, name: str, hash_key=("pk", "S"), range_key=None, extra_attrs=(), **kwargs) -> str:
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    attrs = {hash_key[0]: hash_key[1]}
    if range_key:
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        attrs[range_key[0]] = range_key[1]
    for attr_name, attr_type in extra_attrs:
        attrs[attr_name] = attr_type
    ddb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()],
        BillingMode=kwargs.pop("BillingMode", "PAY_PER_REQUEST"),
        **kwargs,
    )
    return name


def error(fn, *args, **kwargs) -> tuple[str, str, dict]:
    """(code, message, whole response) of a call that must fail with a 400."""
    with pytest.raises(ClientError) as info:
        fn(*args, **kwargs)
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400, response
    return response["Error"]["Code"], response["Error"]["Message"], response


def resource(endpoint: str):
    return boto3.resource("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
