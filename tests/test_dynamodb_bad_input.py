"""DynamoDB refuses input built to exhaust it — expressions nested or chained past its limits,
items and PartiQL literals nested hundreds of levels, numbers out of range — with AWS's
ValidationException, quickly, and never a 500."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from conftest import make_client
from dynamodb_support import error, make_table

V = {":v": {"S": "x"}}


@pytest.fixture(scope="module")
def ddb(endpoint):
    # parameter_validation off: boto3 itself refuses some of these shapes before sending.
    return make_client(endpoint, "dynamodb", parameter_validation=False)


@pytest.fixture(scope="module")
def table(ddb):
    return make_table(ddb, f"bad-{uuid.uuid4().hex[:12]}")


def _put_with(ddb, table, condition, values=V):
    return error(ddb.put_item, TableName=table, Item={"pk": {"S": "k"}}, ConditionExpression=condition,
                 ExpressionAttributeValues=values)


def _nested(levels: int, kind: str = "M") -> dict:
    value = {"S": "x"}
    for _ in range(levels):
        value = {"M": {"a": value}} if kind == "M" else {"L": [value]}
    return value


def test_parentheses_nested_250_deep_are_redundant(ddb, table):
    code, message, _ = _put_with(ddb, table, "(" * 250 + "a = :v" + ")" * 250)
    assert (code, message) == ("ValidationException", "Invalid ConditionExpression: The expression has redundant parentheses;")


def test_parentheses_nested_past_the_size_limit(ddb, table):
    code, message, _ = _put_with(ddb, table, "(" * 3000 + "a = :v" + ")" * 3000)
    assert code == "ValidationException"
    assert message == ("Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; "
                       "expression size: 6006")


def test_parentheses_that_group_are_still_accepted(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "a": {"S": "x"}})
    for condition in ("(a = :v)", "((a = :v AND a = :v) AND a = :v)", "((a = :v) AND (a = :v))",
                      "a = :v AND (a = :v OR NOT (a = :v))"):
        ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "a": {"S": "x"}}, ConditionExpression=condition,
                     ExpressionAttributeValues=V)


def test_not_repeated_1000_times_is_too_many_operators(ddb, table):
    started = time.monotonic()
    code, message, _ = _put_with(ddb, table, "NOT " * 1000 + "a = :v")
    assert (code, message) == ("ValidationException",
                               "Invalid ConditionExpression: The expression contains too many operators; operator count: 301")
    assert time.monotonic() - started < 2


def test_and_repeated_past_300_operators(ddb, table):
    # 151 comparisons and 150 ANDs: the 301st operator is refused (AWS counts up to 301).
    code, message, _ = _put_with(ddb, table, " AND ".join(["a = :v"] * 151))
    assert (code, message) == ("ValidationException",
                               "Invalid ConditionExpression: The expression contains too many operators; operator count: 301")


def test_and_repeated_1000_times_exceeds_the_size_limit(ddb, table):
    code, message, _ = error(ddb.scan, TableName=table, FilterExpression=" AND ".join(["a = :v"] * 1000),
                             ExpressionAttributeValues=V)
    assert (code, message) == ("ValidationException", "Invalid FilterExpression: Expression size has exceeded the "
                               "maximum allowed size; expression size: 10995")


def test_300_operators_deep_still_evaluate(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "a": {"S": "x"}})
    # 299 NOTs, each in its own parentheses, and the comparison: exactly 300 operators.
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "a": {"S": "x"}},
                 ConditionExpression="(NOT " * 299 + "a <> :v" + ")" * 299, ExpressionAttributeValues=V)


def test_nested_update_functions_within_the_limits(ddb, table):
    ddb.update_item(TableName=table, Key={"pk": {"S": "u"}}, UpdateExpression="SET l = " + "list_append(" * 230 + ":l"
                    + ", :l)" * 230, ExpressionAttributeValues={":l": {"L": [{"N": "1"}]}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "u"}})["Item"]
    assert len(item["l"]["L"]) == 231


@pytest.mark.parametrize("member", ["ConditionExpression", "UpdateExpression", "ProjectionExpression"])
def test_expression_over_4_kb_is_refused(ddb, table, member):
    text = {"ConditionExpression": "a = :v", "UpdateExpression": "SET a = :v", "ProjectionExpression": "a"}[member]
    padded = text + " " * (4097 - len(text))
    kwargs = {member: padded}
    if member != "ProjectionExpression":
        kwargs["ExpressionAttributeValues"] = V
    code, message, _ = error(ddb.update_item, TableName=table, Key={"pk": {"S": "k"}}, **kwargs) \
        if member == "UpdateExpression" else error(ddb.get_item, TableName=table, Key={"pk": {"S": "k"}}, **kwargs) \
        if member == "ProjectionExpression" else error(ddb.put_item, TableName=table, Item={"pk": {"S": "k"}}, **kwargs)
    assert (code, message) == ("ValidationException", f"Invalid {member}: Expression size has exceeded the maximum "
                               "allowed size; expression size: 4097")


def test_expression_of_exactly_4_kb_is_accepted(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "a": {"S": "x"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}}, ConditionExpression="a = :v" + " " * (4096 - 6),
                 ExpressionAttributeValues=V)


def test_expression_size_counts_utf8_bytes(ddb, table):
    # 2,000 two-byte characters are 4,000 bytes but 2,000 characters; 2,100 of them are over.
    code, message, _ = error(ddb.put_item, TableName=table, Item={"pk": {"S": "k"}},
                             ConditionExpression="a = :v" + "\u00e9" * 2100, ExpressionAttributeValues=V)
    assert message == "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4206"


def _deep_body(request: dict, deep: str) -> str:
    """The request as JSON, with the string "DEEP" in it replaced by `deep` (JSON text too deep
    for json.dumps or boto3 to write)."""
    return json.dumps(request).replace('"DEEP"', deep)


def _raw(endpoint: str, target: str, body: str) -> httpx.Response:
    headers = {"X-Amz-Target": f"DynamoDB_20120810.{target}", "Content-Type": "application/x-amz-json-1.0",
               "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, "
                                "SignedHeaders=host, Signature=x"}
    return httpx.post(endpoint, headers=headers, content=body, timeout=10)


@pytest.mark.parametrize("kind", ["M", "L"])
def test_item_nested_500_levels_is_refused(endpoint, table, kind):
    # boto3 itself cannot serialize 500 levels (its own recursion), so the body is written by hand.
    opening, closing = ('{"M":{"a":', "}}") if kind == "M" else ('{"L":[', "]}")
    body = _deep_body({"TableName": table, "Item": {"pk": {"S": "a"}, "n": "DEEP"}},
                      opening * 500 + '{"S":"x"}' + closing * 500)
    started = time.monotonic()
    response = _raw(endpoint, "PutItem", body)
    assert response.status_code == 400
    assert response.json() == {"__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
                               "message": "Nesting Levels have exceeded supported limits: Nesting level of 32 exceeded"}
    assert time.monotonic() - started < 2


def test_value_nested_500_levels_in_a_key_and_an_expression(endpoint, table):
    deep = '{"M":{"a":' * 500 + '{"S":"x"}' + "}}" * 500
    response = _raw(endpoint, "GetItem", _deep_body({"TableName": table, "Key": {"pk": "DEEP"}}, deep))
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException", response.text
    for target, body in (
        ("Scan", {"TableName": table, "FilterExpression": "a = :v", "ExpressionAttributeValues": {":v": "DEEP"}}),
        ("ExecuteStatement", {"Statement": f'SELECT * FROM "{table}" WHERE a = ?', "Parameters": ["DEEP"]}),
    ):
        response = _raw(endpoint, target, _deep_body(body, deep))
        assert response.status_code == 400, (target, response.text)
        assert response.json()["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException", (target, response.text)
        assert "Nesting Levels have exceeded supported limits" in response.json()["message"], (target, response.text)


def test_item_nested_32_levels_is_stored(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "deep"}, "n": _nested(31)})
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "deep"}})["Item"]["n"] == _nested(31)


@pytest.mark.parametrize("number", ["1e999999999", "-1e999999999", "9.9E+999999999999"])
def test_number_beyond_the_range_overflows(ddb, table, number):
    code, message, _ = error(ddb.put_item, TableName=table, Item={"pk": {"S": "k"}, "n": {"N": number}})
    assert (code, message) == ("ValidationException",
                               "Number overflow. Attempting to store a number with magnitude larger than supported range")


def test_number_beyond_the_range_in_an_expression_value(ddb, table):
    code, message, _ = error(ddb.update_item, TableName=table, Key={"pk": {"S": "k"}}, UpdateExpression="ADD n :n",
                             ExpressionAttributeValues={":n": {"N": "1e999999999"}})
    assert (code, message) == ("ValidationException", "ExpressionAttributeValues contains invalid value: Number "
                               "overflow. Attempting to store a number with magnitude larger than supported range "
                               "for key :n")


def test_number_beyond_the_range_in_a_key(ddb, unique_name):
    numbered = make_table(ddb, unique_name("num"), hash_key=("id", "N"))
    code, message, _ = error(ddb.get_item, TableName=numbered, Key={"id": {"N": "1e999999999"}})
    assert (code, message) == ("ValidationException",
                               "Number overflow. Attempting to store a number with magnitude larger than supported range")


def test_number_beyond_the_range_in_partiql(ddb, table):
    code, message, _ = error(ddb.execute_statement, Statement=f'SELECT * FROM "{table}" WHERE pk = 1e999999999')
    assert (code, message) == ("ValidationException",
                               "Number overflow. Attempting to store a number with magnitude larger than supported range")


def test_partiql_parentheses_nested_1000_deep(ddb, table):
    statement = f'SELECT * FROM "{table}" WHERE ' + "(" * 1000 + "pk = 'a'" + ")" * 1000
    code, message, _ = error(ddb.execute_statement, Statement=statement)
    assert (code, message) == ("ValidationException", "Statement wasn't well formed, can't be processed: "
                               "parentheses nested deeper than 100 levels")


def test_partiql_not_repeated_1000_times(ddb, table):
    code, message, _ = error(ddb.execute_statement, Statement=f'SELECT * FROM "{table}" WHERE ' + "NOT " * 1000 + "pk = 'a'")
    assert (code, message) == ("ValidationException", "Statement wasn't well formed, can't be processed: "
                               "the statement contains too many operators; operator count: 301")


@pytest.mark.parametrize("opening,closing", [("[", "]"), ("{'a': ", "}")])
def test_partiql_literal_nested_1000_deep(ddb, table, opening, closing):
    statement = f"INSERT INTO \"{table}\" VALUE {{'pk': 'z', 'a': " + opening * 1000 + "1" + closing * 1000 + "}"
    code, message, _ = error(ddb.execute_statement, Statement=statement)
    assert (code, message) == ("ValidationException",
                               "Nesting Levels have exceeded supported limits: Nesting level of 32 exceeded")


def test_legacy_parameters_with_deep_values(endpoint, table):
    deep = '{"L":[' * 500 + '{"S":"x"}' + "]}" * 500
    body = {"TableName": table, "ScanFilter": {"a": {"ComparisonOperator": "EQ", "AttributeValueList": ["DEEP"]}}}
    response = _raw(endpoint, "Scan", _deep_body(body, deep))
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "com.amazonaws.dynamodb.v20120810#ValidationException"


def test_raw_json_errors_are_named_as_aws_names_them(endpoint):
    """A DynamoDB error in DynamoDB's namespace, a failed model constraint in AWS's validation
    layer's (AWS's answers as its SDKs log them); SDKs read only the name after '#'."""
    response = _raw(endpoint, "DescribeTable", '{"TableName": "no-such-table-here"}')
    assert response.status_code == 400
    assert response.json()["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    for target, body, start in (
        ("ListTables", '{"Limit": 0}', "1 validation error detected: Value '0' at 'limit'"),
        ("DescribeTable", '{"TableName": "a"}', "1 validation error detected: Value 'a' at 'tableName'"),
    ):
        response = _raw(endpoint, target, body)
        assert response.status_code == 400
        assert response.json()["__type"] == "com.amazon.coral.validate#ValidationException", response.text
        assert response.json()["message"].startswith(start), response.text
