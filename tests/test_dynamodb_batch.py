"""DynamoDB BatchGetItem, BatchWriteItem, TransactWriteItems and TransactGetItems."""

from __future__ import annotations

import uuid

import pytest
from dynamodb_support import error, make_table


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


@pytest.fixture
def table(ddb):
    return make_table(ddb, f"b-{uuid.uuid4().hex[:10]}")


def k(value: str) -> dict:
    return {"pk": {"S": value}}


def test_batch_write_then_batch_get(ddb, table):
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**k(f"i{i}"), "v": {"N": str(i)}}}}
                                               for i in range(25)]})
    response = ddb.batch_get_item(RequestItems={table: {"Keys": [k(f"i{i}") for i in range(0, 25, 5)] + [k("none")],
                                                        "ProjectionExpression": "v"}})
    assert sorted(int(i["v"]["N"]) for i in response["Responses"][table]) == [0, 5, 10, 15, 20]
    assert response["UnprocessedKeys"] == {}


def test_batch_write_deletes(ddb, table):
    ddb.put_item(TableName=table, Item=k("gone"))
    response = ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": k("gone")}},
                                                          {"DeleteRequest": {"Key": k("never-there")}}]})
    assert response["UnprocessedItems"] == {}
    assert "Item" not in ddb.get_item(TableName=table, Key=k("gone"))


def test_batch_write_over_25_requests_is_rejected(ddb, table):
    other = make_table(ddb, f"b-{uuid.uuid4().hex[:10]}")
    code, message, _ = error(ddb.batch_write_item, RequestItems={
        table: [{"PutRequest": {"Item": k(f"a{i}")}} for i in range(13)],
        other: [{"PutRequest": {"Item": k(f"b{i}")}} for i in range(13)]})
    assert (code, message) == ("ValidationException", "Too many items requested for the BatchWriteItem call")
    assert ddb.scan(TableName=table)["Count"] == 0


def test_batch_write_with_duplicate_keys_is_rejected(ddb, table):
    code, message, _ = error(ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": k("d")}},
                                                                         {"DeleteRequest": {"Key": k("d")}}]})
    assert message == "Provided list of item keys contains duplicates"


def test_batch_write_with_one_bad_item_writes_nothing(ddb, table):
    code, _, _ = error(ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": k("ok")}},
                                                                   {"PutRequest": {"Item": {"pk": {"N": "1"}}}}]})
    assert code == "ValidationException"
    assert "Item" not in ddb.get_item(TableName=table, Key=k("ok"))


def test_batch_get_over_100_keys_is_rejected(ddb, table):
    other = make_table(ddb, f"b-{uuid.uuid4().hex[:10]}")
    code, message, _ = error(ddb.batch_get_item, RequestItems={table: {"Keys": [k(f"{i}") for i in range(51)]},
                                                               other: {"Keys": [k(f"{i}") for i in range(50)]}})
    assert message == "Too many items requested for the BatchGetItem call"


def test_batch_get_on_missing_table(ddb):
    code, message, _ = error(ddb.batch_get_item, RequestItems={"missing-table-x": {"Keys": [k("a")]}})
    assert (code, message) == ("ResourceNotFoundException", "Requested resource not found")


def test_transact_write_is_all_or_nothing(ddb, table):
    ddb.put_item(TableName=table, Item={**k("acct"), "balance": {"N": "10"}})
    code, message, response = error(ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table, "Item": {**k("new"), "v": {"N": "1"}}}},
        {"Update": {"TableName": table, "Key": k("acct"), "UpdateExpression": "SET balance = balance - :a",
                    "ConditionExpression": "balance >= :a", "ExpressionAttributeValues": {":a": {"N": "50"}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ])
    assert code == "TransactionCanceledException"
    assert message == ("Transaction cancelled, please refer cancellation reasons for specific reasons "
                       "[None, ConditionalCheckFailed]")
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
         "Item": {**k("acct"), "balance": {"N": "10"}}},
    ]
    assert "Item" not in ddb.get_item(TableName=table, Key=k("new"))


def test_transact_write_commits_every_action(ddb, table):
    ddb.put_item(TableName=table, Item={**k("from"), "balance": {"N": "10"}})
    ddb.put_item(TableName=table, Item=k("doomed"))
    ddb.put_item(TableName=table, Item=k("guard"))
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": table, "Key": k("from"), "UpdateExpression": "SET balance = balance - :a",
                    "ConditionExpression": "balance >= :a", "ExpressionAttributeValues": {":a": {"N": "4"}}}},
        {"Put": {"TableName": table, "Item": {**k("to"), "balance": {"N": "4"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Delete": {"TableName": table, "Key": k("doomed")}},
        {"ConditionCheck": {"TableName": table, "Key": k("guard"), "ConditionExpression": "attribute_exists(pk)"}},
    ])
    got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": k(n)}}
                                                for n in ("from", "to", "doomed")])["Responses"]
    assert got[0]["Item"]["balance"] == {"N": "6"} and got[1]["Item"]["balance"] == {"N": "4"} and got[2] == {}


def test_transaction_with_two_actions_on_one_item_is_rejected(ddb, table):
    code, message, _ = error(ddb.transact_write_items, TransactItems=[
        {"Put": {"TableName": table, "Item": k("same")}}, {"Delete": {"TableName": table, "Key": k("same")}}])
    assert message == "Transaction request cannot include multiple operations on one item"


def test_client_request_token_makes_transactions_idempotent(ddb, table):
    items = [{"Update": {"TableName": table, "Key": k("counter"), "UpdateExpression": "ADD n :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    token = uuid.uuid4().hex
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    assert ddb.get_item(TableName=table, Key=k("counter"))["Item"]["n"] == {"N": "1"}
    other = [{"Put": {"TableName": table, "Item": k("x")}}]
    code, _, _ = error(ddb.transact_write_items, TransactItems=other, ClientRequestToken=token)
    assert code == "IdempotentParameterMismatchException"


def test_batch_write_item_without_its_key_does_not_match_the_schema(ddb, table):
    # BatchWriteItem words it so, where PutItem names the missing key (AWS's recorded answer)
    code, message, _ = error(ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": {
        "other": {"S": "x"}}}}]})
    assert (code, message) == ("ValidationException", "The provided key element does not match the schema")
