"""DynamoDB Query and Scan: sort-key order, key conditions, paging, filters, indexes, parallel scan."""

from __future__ import annotations

import uuid

import pytest
from dynamodb_support import error, make_table


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


@pytest.fixture(scope="module")
def numbers(ddb):
    """A table whose numeric sort keys are out of lexical order."""
    name = make_table(ddb, f"q-num-{uuid.uuid4().hex[:10]}", range_key=("sk", "N"))
    for value in ["10", "-2.5", "9", "100", "0", "-10", "0.001", "1e3"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": value}, "v": {"N": value}})
    return name


@pytest.fixture(scope="module")
def indexed(ddb):
    name = make_table(
        ddb, f"q-idx-{uuid.uuid4().hex[:10]}", range_key=("sk", "S"),
        extra_attrs=[("g", "S"), ("gs", "N"), ("l", "S")],
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi-all", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                   {"AttributeName": "gs", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "gsi-include", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]}},
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "lsi-keys", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                    {"AttributeName": "l", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ])
    for i in range(6):
        item = {"pk": {"S": "user"}, "sk": {"S": f"item#{i}"}, "extra": {"S": f"e{i}"}, "num": {"N": str(i)},
                "l": {"S": f"z{5 - i}"}}
        if i != 5:
            item["g"] = {"S": "even" if i % 2 == 0 else "odd"}
            item["gs"] = {"N": str(10 - i)}
        ddb.put_item(TableName=name, Item=item)
    return name


def sks(items) -> list[str]:
    return [i["sk"]["N"] if "N" in i["sk"] else i["sk"]["S"] for i in items]


def test_numbers_sort_numerically(ddb, numbers):
    result = ddb.query(TableName=numbers, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert sks(result["Items"]) == ["-10", "-2.5", "0", "0.001", "9", "10", "100", "1000"]


def test_scan_index_forward_false_reverses(ddb, numbers):
    result = ddb.query(TableName=numbers, KeyConditionExpression="pk = :p", ScanIndexForward=False,
                       ExpressionAttributeValues={":p": {"S": "p"}})
    assert sks(result["Items"])[:3] == ["1000", "100", "10"]


def test_sort_key_conditions(ddb, numbers):
    def query(expression, **values):
        return sks(ddb.query(TableName=numbers, KeyConditionExpression="pk = :p AND " + expression,
                             ExpressionAttributeValues={":p": {"S": "p"}, **{f":{k}": {"N": v} for k, v in values.items()}}
                             )["Items"])

    assert query("sk BETWEEN :a AND :b", a="0", b="10") == ["0", "0.001", "9", "10"]
    assert query("sk > :a", a="10") == ["100", "1000"]
    assert query("sk <= :a", a="-2.5") == ["-10", "-2.5"]
    assert query("sk = :a", a="1E2") == ["100"]


def test_strings_sort_by_utf8_bytes(ddb, unique_name):
    name = make_table(ddb, unique_name("q-str"), range_key=("sk", "S"))
    for value in ["b", "a", "Z", "é", "aa", "\U0001f600", "\uffee"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": value}})
    result = ddb.query(TableName=name, KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
                       ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"S": "a"}})
    assert sks(result["Items"]) == ["a", "aa"]
    result = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert sks(result["Items"]) == sorted(["b", "a", "Z", "é", "aa", "\U0001f600", "\uffee"], key=lambda s: s.encode())


def test_binary_sort_keys_sort_by_bytes(ddb, unique_name):
    name = make_table(ddb, unique_name("q-bin"), range_key=("sk", "B"))
    for value in [b"\x80", b"\x00\x01", b"\x00", b"\xff"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"B": value}})
    result = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert [i["sk"]["B"] for i in result["Items"]] == [b"\x00", b"\x00\x01", b"\x80", b"\xff"]


def test_limit_and_exclusive_start_key_page_through(ddb, numbers):
    seen, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(TableName=numbers, KeyConditionExpression="pk = :p", Limit=3,
                         ExpressionAttributeValues={":p": {"S": "p"}}, **kwargs)
        seen += sks(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == ["-10", "-2.5", "0", "0.001", "9", "10", "100", "1000"]


def test_filter_counts_scanned_items_against_limit(ddb, numbers):
    result = ddb.query(TableName=numbers, KeyConditionExpression="pk = :p", FilterExpression="v > :z", Limit=4,
                       ExpressionAttributeValues={":p": {"S": "p"}, ":z": {"N": "0"}})
    assert (result["Count"], result["ScannedCount"]) == (1, 4)
    assert result["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "0.001"}}


def test_filter_on_a_key_attribute_is_rejected(ddb, numbers):
    code, message, _ = error(ddb.query, TableName=numbers, KeyConditionExpression="pk = :p", FilterExpression="sk > :z",
                             ExpressionAttributeValues={":p": {"S": "p"}, ":z": {"N": "0"}})
    assert message == "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"


def test_select_count(ddb, numbers):
    result = ddb.query(TableName=numbers, KeyConditionExpression="pk = :p", Select="COUNT",
                       ExpressionAttributeValues={":p": {"S": "p"}})
    assert result["Count"] == 8 and "Items" not in result


def test_key_condition_must_name_the_partition_key(ddb, numbers):
    code, message, _ = error(ddb.query, TableName=numbers, KeyConditionExpression="sk = :s",
                             ExpressionAttributeValues={":s": {"N": "1"}})
    assert message == "Query condition missed key schema element: pk"


def test_unsupported_key_condition(ddb, numbers):
    code, message, _ = error(ddb.query, TableName=numbers, KeyConditionExpression="pk = :p OR sk = :s",
                             ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"N": "1"}})
    assert message == "Invalid KeyConditionExpression: Query key condition not supported"


def test_key_condition_type_mismatch(ddb, numbers):
    code, message, _ = error(ddb.query, TableName=numbers, KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"N": "1"}})
    assert message == "One or more parameter values were invalid: Condition parameter type does not match schema type"


def test_query_on_gsi_orders_by_index_sort_key(ddb, indexed):
    result = ddb.query(TableName=indexed, IndexName="gsi-all", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "even"}})
    assert sks(result["Items"]) == ["item#4", "item#2", "item#0"]
    assert result["Items"][0]["extra"] == {"S": "e4"}


def test_gsi_paging_returns_index_and_table_keys(ddb, indexed):
    page = ddb.query(TableName=indexed, IndexName="gsi-all", KeyConditionExpression="g = :g", Limit=1,
                     ExpressionAttributeValues={":g": {"S": "even"}})
    assert page["LastEvaluatedKey"] == {"pk": {"S": "user"}, "sk": {"S": "item#4"}, "g": {"S": "even"},
                                        "gs": {"N": "6"}}
    rest = ddb.query(TableName=indexed, IndexName="gsi-all", KeyConditionExpression="g = :g",
                     ExclusiveStartKey=page["LastEvaluatedKey"], ExpressionAttributeValues={":g": {"S": "even"}})
    assert sks(rest["Items"]) == ["item#2", "item#0"]


def test_gsi_include_projection_and_select_all_is_rejected(ddb, indexed):
    result = ddb.query(TableName=indexed, IndexName="gsi-include", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "odd"}})
    assert all(set(item) == {"pk", "sk", "g", "extra"} for item in result["Items"])
    code, message, _ = error(ddb.query, TableName=indexed, IndexName="gsi-include", KeyConditionExpression="g = :g",
                             Select="ALL_ATTRIBUTES", ExpressionAttributeValues={":g": {"S": "odd"}})
    assert message == ("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for "
                       "global secondary index gsi-include because its projection type is not ALL")


def test_gsi_follows_updates_and_deletes(ddb, indexed):
    ddb.update_item(TableName=indexed, Key={"pk": {"S": "user"}, "sk": {"S": "item#0"}}, UpdateExpression="SET g = :o",
                    ExpressionAttributeValues={":o": {"S": "moved"}})
    result = ddb.query(TableName=indexed, IndexName="gsi-all", KeyConditionExpression="g = :g",
                       ExpressionAttributeValues={":g": {"S": "moved"}})
    assert sks(result["Items"]) == ["item#0"]
    ddb.delete_item(TableName=indexed, Key={"pk": {"S": "user"}, "sk": {"S": "item#0"}})
    assert ddb.query(TableName=indexed, IndexName="gsi-all", KeyConditionExpression="g = :g",
                     ExpressionAttributeValues={":g": {"S": "moved"}})["Count"] == 0


def test_gsi_key_type_mismatch_is_rejected(ddb, indexed):
    code, message, _ = error(ddb.put_item, TableName=indexed,
                             Item={"pk": {"S": "u"}, "sk": {"S": "x"}, "g": {"N": "1"}})
    assert message == ("One or more parameter values were invalid: Type mismatch for Index Key g Expected: S "
                       "Actual: N IndexName: gsi-all")


def test_lsi_query_fetches_unprojected_attributes_from_the_table(ddb, indexed):
    keys_only = ddb.query(TableName=indexed, IndexName="lsi-keys", KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "user"}})
    assert [i["l"]["S"] for i in keys_only["Items"]][:2] == ["z0", "z1"]
    assert set(keys_only["Items"][0]) == {"pk", "sk", "l"}
    full = ddb.query(TableName=indexed, IndexName="lsi-keys", KeyConditionExpression="pk = :p", Select="ALL_ATTRIBUTES",
                     ExpressionAttributeValues={":p": {"S": "user"}})
    assert "extra" in full["Items"][0]


def test_scan_with_filter_and_projection(ddb, indexed):
    result = ddb.scan(TableName=indexed, FilterExpression="num >= :n", ProjectionExpression="sk, num",
                      ExpressionAttributeValues={":n": {"N": "4"}})
    assert sorted(sks(result["Items"])) == ["item#4", "item#5"]
    assert set(result["Items"][0]) == {"sk", "num"}


def test_parallel_scan_segments_cover_the_table_once(ddb, unique_name):
    name = make_table(ddb, unique_name("q-par"))
    for i in range(40):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
    seen = []
    for segment in range(4):
        seen += [i["pk"]["S"] for i in ddb.scan(TableName=name, Segment=segment, TotalSegments=4)["Items"]]
    assert sorted(seen) == sorted(f"k{i}" for i in range(40))
    code, message, _ = error(ddb.scan, TableName=name, Segment=4, TotalSegments=4)
    assert message == ("The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                       "Segment: 4 is not less than TotalSegments: 4")


def test_pages_stop_at_one_megabyte(ddb, unique_name):
    name = make_table(ddb, unique_name("q-mb"), range_key=("sk", "N"))
    blob = "x" * (300 * 1024)
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "v": {"S": blob}})
    page = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert page["Count"] == 4 and page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "3"}}


def test_resource_query_with_key_builders(endpoint, indexed):
    from boto3.dynamodb.conditions import Attr, Key
    from dynamodb_support import resource

    table = resource(endpoint).Table(indexed)
    result = table.query(KeyConditionExpression=Key("pk").eq("user") & Key("sk").begins_with("item#"),
                         FilterExpression=Attr("num").between(1, 3))
    assert sorted(i["sk"] for i in result["Items"]) == ["item#1", "item#2", "item#3"]


def test_consistent_read_on_a_gsi_is_rejected(ddb, indexed):
    code, message, _ = error(ddb.query, TableName=indexed, IndexName="gsi-all", KeyConditionExpression="g = :g",
                             ConsistentRead=True, ExpressionAttributeValues={":g": {"S": "even"}})
    assert message == "Consistent reads are not supported on global secondary indexes"
