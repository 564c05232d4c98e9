"""Kinesis Data Streams through boto3: streams, shards, records, iterators, resharding."""

from __future__ import annotations

import hashlib
import time

import pytest
from botocore.exceptions import ClientError


def wait_active(kinesis, name):
    for _ in range(100):
        if kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    raise AssertionError("stream never became ACTIVE")


@pytest.fixture
def kinesis(client):
    return client("kinesis")


@pytest.fixture
def stream(kinesis, unique_name):
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    wait_active(kinesis, name)
    return name


def shard_iterator(kinesis, name, shard="shardId-000000000000", kind="TRIM_HORIZON", **kw):
    return kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]


def test_create_stream_is_creating_then_active(kinesis, unique_name):
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "CREATING"
    wait_active(kinesis, name)


def test_shards_split_the_hash_space_evenly(kinesis, stream):
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]
    assert shards[0]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2**127 - 1)}
    assert shards[1]["HashKeyRange"] == {"StartingHashKey": str(2**127), "EndingHashKey": str(2**128 - 1)}


@pytest.mark.postgres_e2e
def test_put_record_routes_by_md5_of_partition_key(kinesis, stream):
    for key in ("a", "b", "c", "user-1", "user-2"):
        out = kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey=key)
        expected = 0 if int(hashlib.md5(key.encode()).hexdigest(), 16) < 2**127 else 1
        assert out["ShardId"] == f"shardId-00000000000{expected}"


def test_sequence_numbers_increase_within_a_shard(kinesis, stream):
    seqs = [int(kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k")["SequenceNumber"])
            for _ in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert len(str(seqs[0])) == 56


@pytest.mark.postgres_e2e
def test_put_records_then_get_records_in_order(kinesis, stream):
    records = [{"Data": f"r{i}".encode(), "PartitionKey": "same"} for i in range(20)]
    out = kinesis.put_records(StreamName=stream, Records=records)
    assert out["FailedRecordCount"] == 0 and len(out["Records"]) == 20
    shard = out["Records"][0]["ShardId"]
    got = kinesis.get_records(ShardIterator=shard_iterator(kinesis, stream, shard))
    assert [r["Data"] for r in got["Records"]] == [f"r{i}".encode() for i in range(20)]
    assert got["MillisBehindLatest"] == 0
    assert got["Records"][0]["PartitionKey"] == "same"


@pytest.mark.postgres_e2e
def test_get_records_limit_and_next_iterator(kinesis, stream):
    kinesis.put_records(StreamName=stream, Records=[{"Data": b"%d" % i, "PartitionKey": "p"} for i in range(5)])
    shard = kinesis.put_record(StreamName=stream, Data=b"5", PartitionKey="p")["ShardId"]
    first = kinesis.get_records(ShardIterator=shard_iterator(kinesis, stream, shard), Limit=4)
    assert len(first["Records"]) == 4
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["Data"] for r in rest["Records"]] == [b"4", b"5"]


@pytest.mark.postgres_e2e
def test_iterator_types(kinesis, stream):
    seqs = [kinesis.put_record(StreamName=stream, Data=b"%d" % i, PartitionKey="p") for i in range(3)]
    shard = seqs[0]["ShardId"]
    at = kinesis.get_records(ShardIterator=shard_iterator(kinesis, stream, shard, "AT_SEQUENCE_NUMBER",
                                                          StartingSequenceNumber=seqs[1]["SequenceNumber"]))
    assert [r["Data"] for r in at["Records"]] == [b"1", b"2"]
    after = kinesis.get_records(ShardIterator=shard_iterator(kinesis, stream, shard, "AFTER_SEQUENCE_NUMBER",
                                                             StartingSequenceNumber=seqs[1]["SequenceNumber"]))
    assert [r["Data"] for r in after["Records"]] == [b"2"]
    latest = shard_iterator(kinesis, stream, shard, "LATEST")
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    kinesis.put_record(StreamName=stream, Data=b"new", PartitionKey="p")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=latest)["Records"]] == [b"new"]


@pytest.mark.postgres_e2e
def test_at_timestamp_iterator(kinesis, stream):
    kinesis.put_record(StreamName=stream, Data=b"old", PartitionKey="p")
    time.sleep(0.05)
    mark = time.time()
    time.sleep(0.05)
    shard = kinesis.put_record(StreamName=stream, Data=b"new", PartitionKey="p")["ShardId"]
    got = kinesis.get_records(ShardIterator=shard_iterator(kinesis, stream, shard, "AT_TIMESTAMP", Timestamp=mark))
    assert [r["Data"] for r in got["Records"]] == [b"new"]


def test_missing_shard_is_resource_not_found(kinesis, stream):
    with pytest.raises(ClientError) as e:
        shard_iterator(kinesis, stream, "shardId-000000000099")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_missing_stream_is_resource_not_found(kinesis):
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName="nope-nope", Data=b"x", PartitionKey="p")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_invalid_iterator_is_invalid_argument(kinesis):
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator="garbage")
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_duplicate_stream_is_resource_in_use(kinesis, stream):
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName=stream, ShardCount=1)
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"


@pytest.mark.postgres_e2e
def test_split_shard_creates_children_and_closes_parent(kinesis, stream):
    kinesis.put_record(StreamName=stream, Data=b"before", PartitionKey="p", ExplicitHashKey="5")
    kinesis.put_record(StreamName=stream, Data=b"other shard", PartitionKey="p", ExplicitHashKey=str(2**127 + 5))
    kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] == "UPDATING"
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000001", NewStartingHashKey=str(2**127 + 1))
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"
    wait_active(kinesis, stream)
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}
    assert "EndingSequenceNumber" in shards["shardId-000000000000"]["SequenceNumberRange"]
    assert shards["shardId-000000000002"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000003"]["HashKeyRange"]["StartingHashKey"] == str(2**126)
    out = kinesis.put_record(StreamName=stream, Data=b"after", PartitionKey="p", ExplicitHashKey="5")
    assert out["ShardId"] == "shardId-000000000002"
    parent = kinesis.get_records(ShardIterator=shard_iterator(kinesis, stream))
    assert [r["Data"] for r in parent["Records"]] == [b"before"]
    assert "NextShardIterator" not in parent
    assert {c["ShardId"] for c in parent["ChildShards"]} == {"shardId-000000000002", "shardId-000000000003"}


def test_merge_shards_records_adjacent_parent(kinesis, stream):
    kinesis.merge_shards(StreamName=stream, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_active(kinesis, stream)
    shards = kinesis.list_shards(StreamName=stream, ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(shards) == 1
    assert shards[0]["ParentShardId"] == "shardId-000000000000"
    assert shards[0]["AdjacentParentShardId"] == "shardId-000000000001"
    assert shards[0]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(2**128 - 1)}


def test_update_shard_count_uniform_scaling(kinesis, stream):
    out = kinesis.update_shard_count(StreamName=stream, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (2, 4)
    wait_active(kinesis, stream)
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["OpenShardCount"] == 4


def test_on_demand_stream(kinesis, unique_name):
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    assert summary["OpenShardCount"] == 4


def test_stream_without_mode_or_shard_count_is_on_demand(kinesis, unique_name):
    # AWS's answer as recorded in LocalStack's AWS-validated test_create_stream_without_shard_count
    name = unique_name("ks")
    kinesis.create_stream(StreamName=name)
    wait_active(kinesis, name)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    shards = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
    assert len(shards) == 4
    # each shard starts at a sequence number of its own, as on AWS
    assert len({s["SequenceNumberRange"]["StartingSequenceNumber"] for s in shards}) == 4


def test_iterator_in_double_quotes_reads_records(kinesis, stream):
    kinesis.put_record(StreamName=stream, Data=b"quoted", PartitionKey="p", ExplicitHashKey="0")
    iterator = shard_iterator(kinesis, stream)
    records = kinesis.get_records(ShardIterator=f'"{iterator}"')["Records"]
    assert [r["Data"] for r in records] == [b"quoted"]


@pytest.mark.postgres_e2e
def test_retention_increase_and_decrease(kinesis, stream):
    kinesis.increase_stream_retention_period(StreamName=stream, RetentionPeriodHours=48)
    assert kinesis.describe_stream(StreamName=stream)["StreamDescription"]["RetentionPeriodHours"] == 48
    with pytest.raises(ClientError) as e:
        kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=12)
    assert e.value.response["Error"]["Code"] in ("InvalidArgumentException", "ValidationException")
    kinesis.decrease_stream_retention_period(StreamName=stream, RetentionPeriodHours=24)


@pytest.mark.postgres_e2e
def test_tags(kinesis, stream):
    kinesis.add_tags_to_stream(StreamName=stream, Tags={"team": "web", "env": "dev"})
    kinesis.remove_tags_from_stream(StreamName=stream, TagKeys=["env"])
    assert kinesis.list_tags_for_stream(StreamName=stream)["Tags"] == [{"Key": "team", "Value": "web"}]


def test_encryption_flags(kinesis, stream):
    kinesis.start_stream_encryption(StreamName=stream, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    desc = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    assert desc["EncryptionType"] == "KMS" and desc["KeyId"] == "alias/aws/kinesis"


@pytest.mark.postgres_e2e
def test_stream_consumers(kinesis, stream):
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c1")["Consumer"]
    assert consumer["ConsumerARN"].startswith(arn + "/consumer/c1:")
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]] == ["c1"]
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []


@pytest.mark.postgres_e2e
def test_list_streams_and_delete(kinesis, stream):
    assert stream in kinesis.list_streams()["StreamNames"]
    kinesis.delete_stream(StreamName=stream)
    assert stream not in kinesis.list_streams()["StreamNames"]


def test_aws_cli_put_record(aws_cli, stream):
    out = aws_cli("kinesis", "put-record", "--stream-name", stream, "--partition-key", "k",
                  "--data", "hello")
    assert out["ShardId"].startswith("shardId-")


@pytest.mark.postgres_e2e
def test_subscribe_to_shard_streams_events(kinesis, stream):
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="efo")["Consumer"]["ConsumerARN"]
    shard = kinesis.put_record(StreamName=stream, Data=b"first", PartitionKey="p")["ShardId"]
    kinesis.put_record(StreamName=stream, Data=b"second", PartitionKey="p")
    response = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId=shard,
                                          StartingPosition={"Type": "TRIM_HORIZON"})
    events = response["EventStream"]
    try:
        for event in events:
            records = event["SubscribeToShardEvent"]["Records"]
            if records:
                assert [r["Data"] for r in records] == [b"first", b"second"]
                assert event["SubscribeToShardEvent"]["ContinuationSequenceNumber"] == records[-1]["SequenceNumber"]
                break
    finally:
        events.close()
