"""DynamoDB items: Put/Get/Update/Delete, conditions, update expressions, projections, return
values, validation and the legacy parameters."""

from __future__ import annotations

import pytest
from dynamodb_support import error, make_table


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


@pytest.fixture(scope="module")
def table(ddb):
    import uuid

    return make_table(ddb, f"items-{uuid.uuid4().hex[:10]}", range_key=("sk", "N"))


def key(pk: str, sk: str = "1") -> dict:
    return {"pk": {"S": pk}, "sk": {"N": sk}}


@pytest.mark.postgres_e2e
def test_put_then_get_round_trips_every_type(ddb, table):
    item = {**key("types"), "s": {"S": "héllo"}, "n": {"N": "-12.500"}, "b": {"B": b"\x00\xff"},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.50"]}, "bs": {"BS": [b"\x01", b"\x02"]},
            "m": {"M": {"x": {"L": [{"NULL": True}, {"BOOL": False}]}}}, "empty": {"S": ""}}
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key=key("types"))["Item"]
    assert got == {**item, "n": {"N": "-12.5"}, "ns": {"NS": ["1", "2.5"]}}


def test_get_missing_item_has_no_item_member(ddb, table):
    assert "Item" not in ddb.get_item(TableName=table, Key=key("nothing-here"))


def test_key_type_mismatch_on_put(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={"pk": {"N": "1"}, "sk": {"N": "1"}})
    assert (code, message) == ("ValidationException", "One or more parameter values were invalid: Type mismatch for "
                               "key pk expected: S actual: N")


def test_missing_key_attribute_on_put(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={"pk": {"S": "x"}})
    assert message == "One or more parameter values were invalid: Missing the key sk in the item"


def test_key_that_does_not_match_the_schema(ddb, table):
    code, message, _ = error(ddb.get_item, TableName=table, Key={"pk": {"S": "x"}})
    assert (code, message) == ("ValidationException", "The provided key element does not match the schema")
    code, message, _ = error(ddb.get_item, TableName=table, Key={"pk": {"S": "x"}, "sk": {"S": "1"}})
    assert message == "The provided key element does not match the schema"


def test_empty_string_key_is_rejected_but_allowed_elsewhere(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={"pk": {"S": ""}, "sk": {"N": "1"}})
    assert message == ("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                       "contain an empty string value. Key: pk")
    ddb.put_item(TableName=table, Item={**key("empty-ok"), "note": {"S": ""}})


def test_empty_set_is_rejected(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={**key("s"), "tags": {"SS": []}})
    assert message == "One or more parameter values were invalid: An string set  may not be empty"


def test_duplicate_set_members_are_rejected(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={**key("s"), "tags": {"SS": ["a", "a"]}})
    assert message == "One or more parameter values were invalid: Input collection [a, a] contains duplicates."


def test_number_with_39_digits_is_rejected(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={**key("n"), "v": {"N": "1" * 39}})
    assert message == "Attempting to store more than 38 significant digits in a Number"


@pytest.mark.postgres_e2e
def test_item_over_400_kb_is_rejected(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={**key("big"), "v": {"S": "x" * (400 * 1024)}})
    assert message == "Item size has exceeded the maximum allowed size"
    assert "Item" not in ddb.get_item(TableName=table, Key=key("big"))


def test_attribute_value_with_two_types(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item={**key("t"), "v": {"S": "a", "N": "1"}})
    assert message == ("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
                       "supported datatypes")


def test_put_return_values_all_old(ddb, table):
    ddb.put_item(TableName=table, Item={**key("rv"), "v": {"N": "1"}})
    response = ddb.put_item(TableName=table, Item={**key("rv"), "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert response["Attributes"] == {**key("rv"), "v": {"N": "1"}}


def test_put_rejects_update_return_values(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item=key("rv2"), ReturnValues="ALL_NEW")
    assert message == "Return values set to invalid value"


@pytest.mark.postgres_e2e
def test_condition_failure_returns_the_item_when_asked(ddb, table):
    ddb.put_item(TableName=table, Item={**key("cond"), "v": {"N": "1"}})
    code, message, response = error(ddb.put_item, TableName=table, Item=key("cond"),
                                    ConditionExpression="attribute_not_exists(pk)",
                                    ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert (code, message) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert response["Item"] == {**key("cond"), "v": {"N": "1"}}
    assert ddb.get_item(TableName=table, Key=key("cond"))["Item"]["v"] == {"N": "1"}


def test_condition_expression_with_names_and_values(ddb, table):
    ddb.put_item(TableName=table, Item={**key("cv"), "status": {"S": "new"}})
    ddb.put_item(TableName=table, Item={**key("cv"), "status": {"S": "done"}}, ConditionExpression="#s = :s",
                 ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "new"}})
    assert ddb.get_item(TableName=table, Key=key("cv"))["Item"]["status"] == {"S": "done"}


def test_unescaped_reserved_word_is_rejected(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item=key("rw"), ConditionExpression="status = :s",
                             ExpressionAttributeValues={":s": {"S": "x"}})
    assert message == "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"


def test_unused_expression_attribute_value(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item=key("uv"), ConditionExpression="attribute_exists(v)",
                             ExpressionAttributeValues={":v": {"S": "x"}})
    assert message == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}"


def test_syntax_error_in_update_expression(ddb, table):
    code, message, _ = error(ddb.update_item, TableName=table, Key=key("se"), UpdateExpression="SET x",
                             ExpressionAttributeValues=None or {":v": {"N": "1"}})
    assert message == 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "x"'


def test_updating_a_key_attribute_is_rejected(ddb, table):
    code, message, _ = error(ddb.update_item, TableName=table, Key=key("ku"), UpdateExpression="SET sk = :v",
                             ExpressionAttributeValues={":v": {"N": "2"}})
    assert message == ("One or more parameter values were invalid: Cannot update attribute sk. This attribute is "
                       "part of the key")


def test_update_creates_the_item_and_returns_all_new(ddb, table):
    response = ddb.update_item(
        TableName=table, Key=key("upd"), ReturnValues="ALL_NEW",
        UpdateExpression="SET hits = if_not_exists(hits, :zero) + :one, events = list_append(if_not_exists(events, :e), :ev) "
                         "ADD tags :t",
        ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}, ":e": {"L": []},
                                   ":ev": {"L": [{"S": "a"}]}, ":t": {"SS": ["x"]}})
    assert response["Attributes"] == {**key("upd"), "hits": {"N": "1"}, "events": {"L": [{"S": "a"}]},
                                      "tags": {"SS": ["x"]}}


@pytest.mark.postgres_e2e
def test_update_return_values_updated_old_and_new(ddb, table):
    ddb.put_item(TableName=table, Item={**key("uo"), "a": {"N": "1"}, "b": {"S": "keep"}})
    old = ddb.update_item(TableName=table, Key=key("uo"), UpdateExpression="SET a = a + :one",
                          ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD")
    assert old["Attributes"] == {"a": {"N": "1"}}
    new = ddb.update_item(TableName=table, Key=key("uo"), UpdateExpression="SET a = a + :one REMOVE b",
                          ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
    assert new["Attributes"] == {"a": {"N": "3"}}


@pytest.mark.postgres_e2e
def test_update_add_and_delete_on_sets(ddb, table):
    ddb.put_item(TableName=table, Item={**key("sets"), "tags": {"SS": ["a", "b"]}, "n": {"N": "5"}})
    ddb.update_item(TableName=table, Key=key("sets"), UpdateExpression="ADD n :d DELETE tags :t",
                    ExpressionAttributeValues={":d": {"N": "-2"}, ":t": {"SS": ["a"]}})
    item = ddb.get_item(TableName=table, Key=key("sets"))["Item"]
    assert item["n"] == {"N": "3"} and item["tags"] == {"SS": ["b"]}


def test_update_arithmetic_on_a_string_is_rejected(ddb, table):
    ddb.put_item(TableName=table, Item={**key("ar"), "s": {"S": "x"}})
    code, message, _ = error(ddb.update_item, TableName=table, Key=key("ar"), UpdateExpression="SET s = s + :one",
                             ExpressionAttributeValues={":one": {"N": "1"}})
    assert message == "An operand in the update expression has an incorrect data type"
    assert ddb.get_item(TableName=table, Key=key("ar"))["Item"]["s"] == {"S": "x"}


@pytest.mark.postgres_e2e
def test_nested_update_and_projection(ddb, table):
    ddb.put_item(TableName=table, Item={**key("nest"), "doc": {"M": {"list": {"L": [{"N": "1"}, {"N": "2"}]},
                                                                    "name": {"S": "n"}}}})
    ddb.update_item(TableName=table, Key=key("nest"), UpdateExpression="SET #d.#l[1] = :v, #d.added = :v",
                    ExpressionAttributeNames={"#d": "doc", "#l": "list"}, ExpressionAttributeValues={":v": {"N": "9"}})
    item = ddb.get_item(TableName=table, Key=key("nest"), ProjectionExpression="#d.#l[1], #d.added",
                        ExpressionAttributeNames={"#d": "doc", "#l": "list"})["Item"]
    assert item == {"doc": {"M": {"list": {"L": [{"N": "9"}]}, "added": {"N": "9"}}}}


def test_update_of_a_missing_nested_parent_is_rejected(ddb, table):
    ddb.put_item(TableName=table, Item=key("np"))
    code, message, _ = error(ddb.update_item, TableName=table, Key=key("np"), UpdateExpression="SET a.b = :v",
                             ExpressionAttributeValues={":v": {"N": "1"}})
    assert message == "The document path provided in the update expression is invalid for update"


@pytest.mark.postgres_e2e
def test_delete_with_condition_and_all_old(ddb, table):
    ddb.put_item(TableName=table, Item={**key("del"), "v": {"N": "1"}})
    code, _, _ = error(ddb.delete_item, TableName=table, Key=key("del"), ConditionExpression="v = :two",
                       ExpressionAttributeValues={":two": {"N": "2"}})
    assert code == "ConditionalCheckFailedException"
    response = ddb.delete_item(TableName=table, Key=key("del"), ReturnValues="ALL_OLD")
    assert response["Attributes"]["v"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName=table, Key=key("del"))


def test_missing_table_is_resource_not_found(ddb):
    code, message, _ = error(ddb.put_item, TableName="no-such-table-xyz", Item={"pk": {"S": "a"}})
    assert (code, message) == ("ResourceNotFoundException", "Requested resource not found")


def test_legacy_expected_and_attribute_updates(ddb, table):
    ddb.put_item(TableName=table, Item={**key("legacy"), "v": {"N": "1"}}, Expected={"pk": {"Exists": False}})
    code, _, _ = error(ddb.put_item, TableName=table, Item=key("legacy"), Expected={"pk": {"Exists": False}})
    assert code == "ConditionalCheckFailedException"
    ddb.update_item(TableName=table, Key=key("legacy"),
                    AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "2"}}, "w": {"Value": {"S": "x"}}},
                    Expected={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}})
    item = ddb.get_item(TableName=table, Key=key("legacy"), AttributesToGet=["v", "w"])["Item"]
    assert item == {"v": {"N": "3"}, "w": {"S": "x"}}


def test_expression_and_legacy_parameters_cannot_mix(ddb, table):
    code, message, _ = error(ddb.get_item, TableName=table, Key=key("mix"), AttributesToGet=["a"],
                             ProjectionExpression="a")
    assert message == ("Can not use both expression and non-expression parameters in the same request: "
                       "Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")


def test_put_identical_item_keeps_a_single_item(ddb, table):
    ddb.put_item(TableName=table, Item={**key("same"), "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**key("same"), "v": {"N": "1.0"}})
    assert ddb.get_item(TableName=table, Key=key("same"))["Item"]["v"] == {"N": "1"}


@pytest.mark.postgres_e2e
def test_resource_api_with_condition_builders(endpoint, ddb, table):
    from boto3.dynamodb.conditions import Attr
    from dynamodb_support import resource

    res = resource(endpoint).Table(table)
    res.put_item(Item={"pk": "res", "sk": 1, "price": 10, "name": "widget"})
    res.update_item(Key={"pk": "res", "sk": 1}, UpdateExpression="SET price = price + :d",
                    ConditionExpression=Attr("price").lt(100) & Attr("name").begins_with("wid"),
                    ExpressionAttributeValues={":d": 5})
    assert res.get_item(Key={"pk": "res", "sk": 1})["Item"]["price"] == 15


def test_invalid_expression_attribute_value(ddb, table):
    code, message, _ = error(ddb.put_item, TableName=table, Item=key("iv"), ConditionExpression="a = :v",
                             ExpressionAttributeValues={":v": {"N": "not-a-number"}})
    assert message == ("ExpressionAttributeValues contains invalid value: A value provided cannot be converted into "
                       "a number for key :v")


def test_empty_expression_attribute_names(ddb, table):
    code, message, _ = error(ddb.get_item, TableName=table, Key=key("en"), ProjectionExpression="a",
                             ExpressionAttributeNames={})
    assert message == "ExpressionAttributeNames must not be empty"


def test_expression_attribute_names_without_expressions(ddb, table):
    code, message, _ = error(ddb.get_item, TableName=table, Key=key("en"), ExpressionAttributeNames={"#a": "a"})
    assert message == "ExpressionAttributeNames can only be specified when using expressions"


def test_a_request_is_validated_before_its_table_is_looked_up(ddb):
    # no such table: the request's own faults still answer ValidationException, as on AWS
    item = {"pk": {"S": "x"}}
    assert error(ddb.put_item, TableName="no-such-table", Item=item, ReturnValues="ALL_NEW")[:2] == (
        "ValidationException", "Return values set to invalid value")
    assert error(ddb.delete_item, TableName="no-such-table", Key=item, ReturnValues="UPDATED_NEW")[:2] == (
        "ValidationException", "Return values set to invalid value")
    assert error(ddb.put_item, TableName="ab", Item=item)[:2] == (
        "ValidationException", "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 3")
    assert error(ddb.get_item, TableName="a b c", Key=item)[:2] == (
        "ValidationException", "1 validation error detected: Value 'a b c' at 'tableName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    assert error(ddb.get_item, TableName="no-such-table", Key=item)[0] == "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_item_collection_metrics_on_a_table_with_a_local_index(ddb, table):
    import uuid

    name = make_table(ddb, f"lsi-{uuid.uuid4().hex[:10]}", range_key=("sk", "N"), extra_attrs=(("at", "S"),),
                      LocalSecondaryIndexes=[{"IndexName": "by-at", "KeySchema": [
                          {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                          "Projection": {"ProjectionType": "ALL"}}])
    metrics = {"ItemCollectionKey": {"pk": {"S": "c"}}, "SizeEstimateRangeGB": [0.0, 1.0]}
    item = {**key("c"), "at": {"S": "now"}}
    assert ddb.put_item(TableName=name, Item=item, ReturnItemCollectionMetrics="SIZE")["ItemCollectionMetrics"] == metrics
    assert ddb.update_item(TableName=name, Key=key("c"), UpdateExpression="SET v = :v",
                           ExpressionAttributeValues={":v": {"N": "1"}},
                           ReturnItemCollectionMetrics="SIZE")["ItemCollectionMetrics"] == metrics
    assert ddb.delete_item(TableName=name, Key=key("c"), ReturnItemCollectionMetrics="SIZE")["ItemCollectionMetrics"] \
        == metrics
    batch = ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}},
                                                      {"DeleteRequest": {"Key": key("c", "2")}}]},
                                 ReturnItemCollectionMetrics="SIZE")
    assert batch["ItemCollectionMetrics"] == {name: [metrics, metrics]}
    transact = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": {**key("c", "3")}}}],
                                        ReturnItemCollectionMetrics="SIZE")
    assert transact["ItemCollectionMetrics"] == {name: [metrics]}
    # not asked for, or no local index: no metrics
    assert "ItemCollectionMetrics" not in ddb.put_item(TableName=name, Item=item)
    assert "ItemCollectionMetrics" not in ddb.put_item(TableName=table, Item=key("c"), ReturnItemCollectionMetrics="SIZE")
