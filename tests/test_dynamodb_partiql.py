"""DynamoDB PartiQL: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction."""

from __future__ import annotations

import uuid

import pytest
from dynamodb_support import error, make_table


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


@pytest.fixture
def table(ddb):
    return make_table(ddb, f"pq-{uuid.uuid4().hex[:10]}", range_key=("sk", "N"), extra_attrs=[("g", "S")],
                      GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                               "Projection": {"ProjectionType": "ALL"}}])


def test_insert_select_update_delete(ddb, table):
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1, 'g': 'x', 'tags': <<'t'>>}}")
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': ?, 'n': 5}}",
                          Parameters=[{"S": "a"}, {"N": "2"}])
    items = ddb.execute_statement(Statement=f"SELECT * FROM \"{table}\" WHERE pk = 'a'")["Items"]
    assert [i["sk"]["N"] for i in items] == ["1", "2"] and items[0]["tags"] == {"SS": ["t"]}
    ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET n = n + 1 SET note = 'hi' WHERE pk = 'a' AND sk = 2")
    item = ddb.execute_statement(Statement=f"SELECT n, note FROM \"{table}\" WHERE pk = 'a' AND sk = 2")["Items"]
    assert item == [{"n": {"N": "6"}, "note": {"S": "hi"}}]
    ddb.execute_statement(Statement=f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1")
    assert len(ddb.execute_statement(Statement=f"SELECT * FROM \"{table}\"")["Items"]) == 1


def test_select_on_an_index_with_a_filter(ddb, table):
    for i in range(4):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"p{i}"}, "sk": {"N": "0"}, "g": {"S": "grp"}, "v": {"N": str(i)}})
    items = ddb.execute_statement(Statement=f"SELECT pk FROM \"{table}\".\"by-g\" WHERE g = 'grp' AND v >= 2")["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["p2", "p3"]


def test_insert_of_an_existing_item_is_a_duplicate(ddb, table):
    statement = f"INSERT INTO \"{table}\" VALUE {{'pk': 'dup', 'sk': 1}}"
    ddb.execute_statement(Statement=statement)
    code, message, _ = error(ddb.execute_statement, Statement=statement)
    assert (code, message) == ("DuplicateItemException", "Duplicate primary key exists in table")


def test_update_of_a_missing_item_fails_its_condition(ddb, table):
    code, _, _ = error(ddb.execute_statement, Statement=f"UPDATE \"{table}\" SET a = 1 WHERE pk = 'none' AND sk = 1")
    assert code == "ConditionalCheckFailedException"


def test_malformed_statement(ddb, table):
    code, message, _ = error(ddb.execute_statement, Statement=f"SELEC * FROM \"{table}\"")
    assert code == "ValidationException" and message.startswith("Statement wasn't well formed")


def test_batch_execute_statement_reports_each_result(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "b"}, "sk": {"N": "1"}})
    response = ddb.batch_execute_statement(Statements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b', 'sk': 2}}"},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b', 'sk': 1}}"},
    ])["Responses"]
    assert "Error" not in response[0] and response[1]["Error"]["Code"] == "DuplicateItem"
    reads = ddb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'b' AND sk = 2"}])["Responses"]
    assert reads[0]["Item"]["sk"] == {"N": "2"}


def test_execute_transaction_is_all_or_nothing(ddb, table):
    code, _, response = error(ddb.execute_transaction, TransactStatements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 't', 'sk': 1}}"},
        {"Statement": f"UPDATE \"{table}\" SET a = 1 WHERE pk = 'nobody' AND sk = 1"},
    ])
    assert code == "TransactionCanceledException"
    assert [r["Code"] for r in response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert ddb.execute_statement(Statement=f"SELECT * FROM \"{table}\" WHERE pk = 't'")["Items"] == []


def test_execute_transaction_of_writes_answers_an_empty_list(ddb, table):
    response = ddb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'e1', 'sk': 1}}"},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'e2', 'sk': 1}}"}])
    assert response["Responses"] == []
