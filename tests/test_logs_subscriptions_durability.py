"""Log events PutLogEvents acknowledged reach a subscription's destination even when overcast is
killed (kill -9) right after: the delivery is committed with the events and resumes at start-up,
without any request to CloudWatch Logs."""

from __future__ import annotations

import gzip
import json
import os
import time

import pytest
from conftest import TEST_DATABASES, OvercastProcess, make_client

from overcast.services.logs.store import LogsStore
from overcast.storage import SqliteDatabase


def _sink(server) -> str:
    kinesis = make_client(server.endpoint, "kinesis")
    kinesis.create_stream(StreamName="sink", ShardCount=1)
    for _ in range(100):
        summary = kinesis.describe_stream_summary(StreamName="sink")["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return summary["StreamARN"]
        time.sleep(0.1)
    raise AssertionError("stream never became ACTIVE")


def _messages(server, timeout: float = 15) -> list[dict]:
    kinesis = make_client(server.endpoint, "kinesis")
    iterator = kinesis.get_shard_iterator(StreamName="sink", ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records: list = []
    deadline = time.time() + timeout
    while not records and time.time() < deadline:
        out = kinesis.get_records(ShardIterator=iterator)
        records, iterator = out["Records"], out["NextShardIterator"]
        time.sleep(0.2)
    return [json.loads(gzip.decompress(r["Data"])) for r in records]


@pytest.mark.skipif(TEST_DATABASES is not None, reason="writes the stopped server's SQLite file itself")
def test_a_pending_delivery_is_sent_at_start_up_without_any_request_to_logs(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        arn = _sink(server)
        make_client(server.endpoint, "logs").create_log_group(logGroupName="g")
        server.stop()
        # what a server killed between committing PutLogEvents and sending leaves behind
        db = SqliteDatabase(os.path.join(str(tmp_path), "overcast.db"))
        LogsStore(db).add_delivery(arn, "s", gzip.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": []}'))
        db.close()
        server = OvercastProcess(data_dir=str(tmp_path))
        assert _messages(server) == [{"messageType": "DATA_MESSAGE", "logEvents": []}]
    finally:
        server.stop()


def test_delivery_committed_with_the_events_survives_kill_9(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        arn = _sink(server)
        logs = make_client(server.endpoint, "logs")
        logs.create_log_group(logGroupName="g")
        logs.create_log_stream(logGroupName="g", logStreamName="s")
        logs.put_subscription_filter(logGroupName="g", filterName="f", filterPattern="",
                                     destinationArn=arn)
        logs.put_log_events(logGroupName="g", logStreamName="s",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "must not be lost"}])
        server.stop(kill=True)

        server = OvercastProcess(data_dir=str(tmp_path))
        # at least once: delivered before the kill, after the restart, or (rarely) both
        messages = _messages(server)
        assert messages and all([e["message"] for e in m["logEvents"]] == ["must not be lost"] for m in messages)
    finally:
        server.stop()
