"""Kinesis shard write limits (1,000 records/s and 1 MiB/s per shard), enforced when
OVERCAST_KINESIS_SHARD_LIMITS is set: PutRecords fails the excess records, PutRecord the call."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client


@pytest.fixture(scope="module")
def limited():
    server = OvercastProcess(env={"OVERCAST_KINESIS_SHARD_LIMITS": "1", "OVERCAST_KINESIS_TRANSITION_SECONDS": "0"})
    yield make_client(server.endpoint, "kinesis")
    server.stop()


def test_put_records_over_the_shard_limit_fail_partially(limited):
    limited.create_stream(StreamName="hot", ShardCount=1)
    time.sleep(0.05)
    failed = 0
    started = time.monotonic()
    for _ in range(3):
        out = limited.put_records(StreamName="hot", Records=[{"Data": b"x", "PartitionKey": "p"}] * 500)
        failed += out["FailedRecordCount"]
        for record in out["Records"]:
            assert ("SequenceNumber" in record) != ("ErrorCode" in record)
            if "ErrorCode" in record:
                assert record["ErrorCode"] == "ProvisionedThroughputExceededException"
    elapsed = time.monotonic() - started
    # 1,000 records at once, then 1,000 more each second: the 1,500 records fail but for what the
    # time they took allowed (on a slow machine, or PostgreSQL under load, that can be all of them)
    assert max(0, 500 - 1000 * elapsed) <= failed <= 500
    limited.create_stream(StreamName="big", ShardCount=1)
    time.sleep(0.05)
    limited.put_record(StreamName="big", Data=b"x" * 1_000_000, PartitionKey="p")  # 1 MB/s per shard
    with pytest.raises(ClientError) as e:
        limited.put_record(StreamName="big", Data=b"x" * 1_000_000, PartitionKey="p")
    assert e.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
