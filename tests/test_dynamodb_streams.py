"""DynamoDB Streams: records for every write path and view type, the Streams API, TTL expiry, and
the in-process API the event-source-mapping poller uses."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from dynamodb_support import error, make_table

from overcast.aws.context import HttpRequest, RequestContext
from overcast.services.dynamodb.provider import DynamoDbProvider
from overcast.storage import SqliteDatabase
from overcast.storage.coordination import Local


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


@pytest.fixture(scope="module")
def streams(client):
    return client("dynamodbstreams")


def stream_table(ddb, name, view="NEW_AND_OLD_IMAGES", **kwargs):
    make_table(ddb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, **kwargs)
    return ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def read_all(streams, arn, iterator_type="TRIM_HORIZON", **kwargs):
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=iterator_type,
                                          **kwargs)["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_stream_arn_and_description(ddb, streams, unique_name):
    name = unique_name("st")
    arn = stream_table(ddb, name, view="KEYS_ONLY")
    assert arn.startswith(f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}/stream/")
    description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamStatus"] == "ENABLED" and description["StreamViewType"] == "KEYS_ONLY"
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert any(s["StreamArn"] == arn for s in streams.list_streams(TableName=name)["Streams"])


@pytest.mark.postgres_e2e
def test_insert_modify_remove_with_both_images(ddb, streams, unique_name):
    name = unique_name("st")
    arn = stream_table(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    records = read_all(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert "NewImage" not in records[2]["dynamodb"] and records[2]["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert all(r["eventSource"] == "aws:dynamodb" and r["dynamodb"]["SizeBytes"] > 0 for r in records)


@pytest.mark.parametrize("view,has_new,has_old", [("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False),
                                                  ("OLD_IMAGE", False, True)])
def test_view_types(ddb, streams, unique_name, view, has_new, has_old):
    name = unique_name("st")
    arn = stream_table(ddb, name, view=view)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
    modify = read_all(streams, arn)[1]["dynamodb"]
    assert ("NewImage" in modify, "OldImage" in modify) == (has_new, has_old)
    assert modify["StreamViewType"] == view


@pytest.mark.postgres_e2e
def test_writes_that_change_nothing_emit_no_record(ddb, streams, unique_name):
    name = unique_name("st")
    arn = stream_table(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "1"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "missing"}})
    assert [r["eventName"] for r in read_all(streams, arn)] == ["INSERT"]


@pytest.mark.postgres_e2e
def test_batch_and_transaction_writes_are_recorded(ddb, streams, unique_name):
    name = unique_name("st")
    arn = stream_table(ddb, name)
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]})
    ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": name, "Key": {"pk": {"S": "b0"}}}},
                                            {"Put": {"TableName": name, "Item": {"pk": {"S": "t"}}}}])
    ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'q'}}")
    assert [r["eventName"] for r in read_all(streams, arn)] == ["INSERT"] * 3 + ["REMOVE", "INSERT", "INSERT"]


@pytest.mark.postgres_e2e
def test_iterator_types(ddb, streams, unique_name):
    name = unique_name("st")
    arn = stream_table(ddb, name)
    for i in range(3):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
    records = read_all(streams, arn)
    second = records[1]["dynamodb"]["SequenceNumber"]
    at = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=second)
    after = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=second)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in at] == ["k1", "k2"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in after] == ["k2"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    ddb.put_item(TableName=name, Item={"pk": {"S": "k3"}})
    page = streams.get_records(ShardIterator=latest)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]] == ["k3"]
    assert streams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []


def test_disabling_the_stream(ddb, streams, unique_name):
    name = unique_name("st")
    arn = stream_table(ddb, name)
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    assert "LatestStreamArn" in ddb.describe_table(TableName=name)["Table"]


def test_unknown_stream_is_resource_not_found(streams):
    code, _, _ = error(streams.describe_stream,
                       StreamArn="arn:aws:dynamodb:us-east-1:000000000000:table/x/stream/2020-01-01T00:00:00.000")
    assert code == "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_ttl_reaper_deletes_expired_items_with_service_identity(ddb, streams, unique_name):
    name = unique_name("ttl")
    arn = stream_table(ddb, name)
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    now = int(time.time())
    ddb.put_item(TableName=name, Item={"pk": {"S": "old"}, "exp": {"N": str(now - 10)}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "soon"}, "exp": {"N": str(now + 1)}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "later"}, "exp": {"N": str(now + 3600)}})
    deadline = time.time() + 5
    while time.time() < deadline and ddb.scan(TableName=name)["Count"] > 1:
        time.sleep(0.2)
    assert [i["pk"]["S"] for i in ddb.scan(TableName=name)["Items"]] == ["later"]
    removes = [r for r in read_all(streams, arn) if r["eventName"] == "REMOVE"]
    assert len(removes) == 2
    assert removes[0]["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


@pytest.mark.postgres_e2e
def test_in_process_wait_for_records(tmp_path):
    db = SqliteDatabase(str(tmp_path / "overcast.db"))
    provider = DynamoDbProvider(SimpleNamespace(db=db, blobs=None, config=None, coordination=Local()))
    ctx = RequestContext("000000000000", "us-east-1", "dynamodb", HttpRequest("POST", "/", "/", "", {}, b""))
    arn = provider.create_table(ctx, {
        "TableName": "waits", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}})["TableDescription"][
        "LatestStreamArn"]
    shard = provider.streams.describe_stream("000000000000", "us-east-1", {"StreamArn": arn})[
        "StreamDescription"]["Shards"][0]["ShardId"]
    assert provider.streams.shard_ids(arn) == [shard]

    async def scenario():
        waiting = asyncio.create_task(provider.streams.wait_for_records(arn, shard, None, 5))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        started = time.monotonic()
        provider.put_item(ctx, {"TableName": "waits", "Item": {"pk": {"S": "woke"}}})
        records = await waiting
        assert time.monotonic() - started < 0.5
        assert records[0]["dynamodb"]["NewImage"] == {"pk": {"S": "woke"}}
        after = records[0]["dynamodb"]["SequenceNumber"]
        assert await provider.streams.wait_for_records(arn, shard, after, 0.05) == []

    asyncio.run(scenario())
    db.close()


def test_iterator_form_and_exclusive_start_shard_id(ddb, streams, unique_name):
    arn = stream_table(ddb, unique_name("st"))
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    # as AWS's: the stream's ARN, "|1|", then an opaque part
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert iterator.startswith(f"{arn}|1|")
    assert streams.get_records(ShardIterator=iterator)["NextShardIterator"].startswith(f"{arn}|1|")
    code, _, _ = error(streams.get_records, ShardIterator=f"{arn}|2|garbage")
    assert code == "ValidationException"
    after = streams.describe_stream(StreamArn=arn, ExclusiveStartShardId=shard)["StreamDescription"]
    assert after["Shards"] == []
