"""Kinesis streaming destinations (Kinesis Data Streams for DynamoDB): Enable / Describe / Update /
Disable with AWS's statuses and errors, and item changes read back from the Kinesis stream in
AWS's documented record format."""

from __future__ import annotations

import base64
import json
import time

import pytest
from conftest import OvercastProcess, make_client
from dynamodb_support import error, make_table


@pytest.fixture(scope="module")
def ddb(client):
    return client("dynamodb")


@pytest.fixture(scope="module")
def kinesis(client):
    return client("kinesis")


def new_stream(kinesis, name: str) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    return kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]


def settled(ddb, table: str, arn: str, want: str) -> dict:
    """The destination once its status is `want` (ENABLING / UPDATING / DISABLING settle)."""
    deadline = time.monotonic() + 10
    while True:
        found = [d for d in ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]
                 if d["StreamArn"] == arn]
        if found and found[0]["DestinationStatus"] == want or time.monotonic() > deadline:
            return found[0]
        time.sleep(0.1)


def records(kinesis, stream: str) -> list[dict]:
    """Every record of the stream, oldest first per shard, Data parsed."""
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for record in kinesis.get_records(ShardIterator=iterator)["Records"]:
            out.append({**record, "Data": json.loads(record["Data"])})
    return out


def test_destination_lifecycle_and_errors(ddb, kinesis, unique_name):
    table = make_table(ddb, unique_name("kd"))
    stream = unique_name("kds")
    arn = new_stream(kinesis, stream)
    table_id = ddb.describe_table(TableName=table)["Table"]["TableId"]

    code, message, _ = error(ddb.enable_kinesis_streaming_destination, TableName="no-such-table", StreamArn=arn)
    assert (code, message) == ("ResourceNotFoundException", "Requested resource not found: Table: no-such-table not found")
    missing = arn.replace(stream, "no-such-stream")
    assert error(ddb.enable_kinesis_streaming_destination, TableName=table, StreamArn=missing)[0] == \
        "ResourceNotFoundException"
    assert ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"] == []

    answer = ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    answer.pop("ResponseMetadata")
    assert answer == {"TableName": table, "StreamArn": arn, "DestinationStatus": "ENABLING",
                      "EnableKinesisStreamingConfiguration": {}}
    assert settled(ddb, table, arn, "ACTIVE") == {"StreamArn": arn, "DestinationStatus": "ACTIVE"}
    code, message, _ = error(ddb.enable_kinesis_streaming_destination, TableName=table, StreamArn=arn)
    assert code == "ValidationException" and message.startswith(
        "Table is not in a valid state to enable Kinesis Streaming Destination")

    # UpdateKinesisStreamingDestination: AWS's messages (recorded against AWS in LocalStack's snapshots)
    code, message, _ = error(ddb.update_kinesis_streaming_destination, TableName=table, StreamArn=arn)
    assert (code, message) == ("ValidationException", "Streaming destination cannot be updated with given parameters: "
                               "UpdateKinesisStreamingConfiguration cannot be null or contain only null values")
    code, message, _ = error(ddb.update_kinesis_streaming_destination, TableName=table, StreamArn=missing,
                             UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"})
    assert message == (f"Table is not in a valid state to enable Kinesis Streaming Destination: No streaming destination "
                       f"with streamArn: {missing} found for table with tableName: {table}")
    code, message, _ = error(ddb.update_kinesis_streaming_destination, TableName=table, StreamArn=arn,
                             UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MILLISECOND"})
    assert message == (f"Invalid Request: Precision is already set to the desired value of MILLISECOND for tableId: "
                       f"{table_id}, kdsArn: {arn}")
    answer = ddb.update_kinesis_streaming_destination(
        TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision":
                                                                             "MICROSECOND"})
    assert answer["DestinationStatus"] == "UPDATING"
    assert answer["UpdateKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    assert settled(ddb, table, arn, "ACTIVE")["ApproximateCreationDateTimePrecision"] == "MICROSECOND"

    code, message, _ = error(ddb.disable_kinesis_streaming_destination, TableName="no-such-table", StreamArn=arn)
    assert code == "ResourceNotFoundException"
    answer = ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert answer["DestinationStatus"] == "DISABLING"
    assert settled(ddb, table, arn, "DISABLED")["DestinationStatus"] == "DISABLED"
    assert error(ddb.disable_kinesis_streaming_destination, TableName=table, StreamArn=arn)[0] == "ValidationException"
    # a disabled destination can be enabled again
    assert ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)["DestinationStatus"] == "ENABLING"


def test_item_changes_arrive_in_the_kinesis_stream(ddb, kinesis, unique_name):
    # the table's own stream is KEYS_ONLY: the Kinesis records still carry both images
    table = make_table(ddb, unique_name("kr"), range_key=("sk", "N"),
                       StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    stream = unique_name("kdr")
    arn = new_stream(kinesis, stream)
    ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    before = time.time()
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=table, Item={**key, "data": {"B": b"\x90"}, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**key, "data": {"B": b"\x90"}, "v": {"N": "1"}})  # changes nothing
    ddb.update_item(TableName=table, Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.delete_item(TableName=table, Key=key)
    ddb.delete_item(TableName=table, Key=key)  # deletes nothing
    got = records(kinesis, stream)
    assert [r["Data"]["eventName"] for r in got] == ["INSERT", "MODIFY", "REMOVE"]  # one item: one shard, in order
    assert len({r["PartitionKey"] for r in got}) == 1
    assert len(got[0]["PartitionKey"]) == 32 and int(got[0]["PartitionKey"], 16) >= 0
    insert, modify, remove = (r["Data"] for r in got)
    assert list(insert) == ["awsRegion", "eventID", "eventName", "userIdentity", "recordFormat", "tableName",
                            "dynamodb", "eventSource"]
    assert insert["awsRegion"] == "us-east-1" and insert["tableName"] == table
    assert insert["recordFormat"] == "application/json" and insert["eventSource"] == "aws:dynamodb"
    assert insert["userIdentity"] is None
    assert "eventSourceARN" not in insert and "SequenceNumber" not in insert["dynamodb"]
    new_image = {"pk": {"S": "a"}, "sk": {"N": "1"}, "data": {"B": base64.b64encode(b"\x90").decode()}, "v": {"N": "1"}}
    assert insert["dynamodb"]["Keys"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert insert["dynamodb"]["NewImage"] == new_image and "OldImage" not in insert["dynamodb"]
    # milliseconds by default
    assert before * 1000 - 1000 <= insert["dynamodb"]["ApproximateCreationDateTime"] <= time.time() * 1000 + 1000
    assert modify["dynamodb"]["OldImage"] == new_image
    assert modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["v"] == {"N": "2"}
    assert modify["dynamodb"]["SizeBytes"] > insert["dynamodb"]["SizeBytes"]  # two images

    # MICROSECOND precision, then disabled: nothing more is written
    settled(ddb, table, arn, "ACTIVE")
    ddb.update_kinesis_streaming_destination(TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={
        "ApproximateCreationDateTimePrecision": "MICROSECOND"})
    ddb.put_item(TableName=table, Item={"pk": {"S": "b"}, "sk": {"N": "2"}})
    micro = [r["Data"] for r in records(kinesis, stream) if r["Data"]["dynamodb"]["Keys"]["pk"] == {"S": "b"}]
    assert len(micro) == 1 and micro[0]["dynamodb"]["ApproximateCreationDateTime"] > time.time() * 100_000
    settled(ddb, table, arn, "ACTIVE")
    ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "c"}, "sk": {"N": "3"}})
    assert len(records(kinesis, stream)) == 4


def test_batches_transactions_and_partiql_are_captured(ddb, kinesis, unique_name):
    table = make_table(ddb, unique_name("kb"))
    stream = unique_name("kdb")
    arn = new_stream(kinesis, stream)
    ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]})
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "t"}}}}])
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'q'}}")
    got = records(kinesis, stream)
    assert sorted(r["Data"]["dynamodb"]["Keys"]["pk"]["S"] for r in got) == ["b0", "b1", "b2", "q", "t"]
    # SizeBytes: the key and the new image, each its attribute names plus values ("pk" + "b0")
    assert {r["Data"]["dynamodb"]["SizeBytes"] for r in got if len(r["Data"]["dynamodb"]["Keys"]["pk"]["S"]) == 2} == {8}


def test_destinations_survive_a_restart(tmp_path):
    """The destination and the records written before kill -9 survive it, and the first write
    after the restart (before any Kinesis call) is captured too."""
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    try:
        ddb, kinesis = make_client(server.endpoint, "dynamodb"), make_client(server.endpoint, "kinesis")
        make_table(ddb, "kd-durable")
        arn = new_stream(kinesis, "kd-durable-stream")
        ddb.enable_kinesis_streaming_destination(TableName="kd-durable", StreamArn=arn)
        ddb.put_item(TableName="kd-durable", Item={"pk": {"S": "before"}})
        server.stop(kill=True)
        server = OvercastProcess(data_dir=data_dir)
        ddb, kinesis = make_client(server.endpoint, "dynamodb"), make_client(server.endpoint, "kinesis")
        ddb.put_item(TableName="kd-durable", Item={"pk": {"S": "after"}})
        keys = sorted(r["Data"]["dynamodb"]["Keys"]["pk"]["S"] for r in records(kinesis, "kd-durable-stream"))
        assert keys == ["after", "before"]
        assert settled(ddb, "kd-durable", arn, "ACTIVE")["DestinationStatus"] == "ACTIVE"
    finally:
        server.stop()
