"""DynamoDB writes that were acknowledged survive kill -9: items, index rows and stream records."""

from __future__ import annotations

from conftest import OvercastProcess, make_client
from dynamodb_support import make_table


def test_dynamodb_writes_survive_kill_9(tmp_path):
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    try:
        ddb = make_client(server.endpoint, "dynamodb")
        make_table(ddb, "durable", extra_attrs=[("g", "S")],
                   StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
                   GlobalSecondaryIndexes=[{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                                            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
        for i in range(20):
            ddb.put_item(TableName="durable", Item={"pk": {"S": f"k{i}"}, "g": {"S": "grp"}})
        ddb.update_item(TableName="durable", Key={"pk": {"S": "k0"}}, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "7"}})
    finally:
        server.stop(kill=True)
    assert server.process.returncode == -9

    server = OvercastProcess(data_dir=data_dir)
    try:
        ddb = make_client(server.endpoint, "dynamodb")
        streams = make_client(server.endpoint, "dynamodbstreams")
        assert ddb.get_item(TableName="durable", Key={"pk": {"S": "k0"}})["Item"]["n"] == {"N": "7"}
        assert ddb.query(TableName="durable", IndexName="by-g", KeyConditionExpression="g = :g",
                         ExpressionAttributeValues={":g": {"S": "grp"}})["Count"] == 20
        arn = ddb.describe_table(TableName="durable")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 21
    finally:
        server.stop()


def test_global_table_replicas_and_replicated_writes_survive_kill_9(tmp_path):
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    try:
        east = make_client(server.endpoint, "dynamodb")
        make_table(east, "global", SSESpecification={"Enabled": True})
        east.update_table(TableName="global", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
        for i in range(10):
            east.put_item(TableName="global", Item={"pk": {"S": f"k{i}"}})
    finally:
        server.stop(kill=True)
    assert server.process.returncode == -9

    server = OvercastProcess(data_dir=data_dir)
    try:
        west = make_client(server.endpoint, "dynamodb", region="eu-west-1")
        streams = make_client(server.endpoint, "dynamodbstreams", region="eu-west-1")
        table = west.describe_table(TableName="global")["Table"]
        assert table["Replicas"] == [{"RegionName": "us-east-1", "ReplicaStatus": "ACTIVE"}]
        assert west.scan(TableName="global", Select="COUNT")["Count"] == 10
        key = make_client(server.endpoint, "kms", region="eu-west-1").describe_key(KeyId="alias/aws/dynamodb")
        assert table["SSEDescription"]["KMSMasterKeyArn"] == key["KeyMetadata"]["Arn"]
        arn = table["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 10
        # the replica still replicates after the restart
        west.put_item(TableName="global", Item={"pk": {"S": "after"}})
        east = make_client(server.endpoint, "dynamodb")
        assert "Item" in east.get_item(TableName="global", Key={"pk": {"S": "after"}})
    finally:
        server.stop()
