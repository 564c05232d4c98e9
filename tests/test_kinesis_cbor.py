"""Kinesis over awsJson-CBOR (application/x-amz-cbor-1.1), the Java SDK's and KPL's default:
byte strings for blobs, tag 1 holding integer epoch milliseconds for timestamps (what Kinesis and
the AWS SDKs use, aws/aws-sdk-java-v2#4661)."""

from __future__ import annotations

import time

import cbor2
import httpx

AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0"


def _millis(value, immutable=False):
    """Tag 1 as Kinesis sends it: kept as the raw number so the tests see its exact encoding."""
    return ("epoch-ms", value)


def call(endpoint, operation, body, headers=None):
    response = httpx.post(endpoint + "/", content=cbor2.dumps(body), headers={
        "Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": f"Kinesis_20131202.{operation}",
        "Authorization": AUTH, **(headers or {})})
    assert response.headers["content-type"] == "application/x-amz-cbor-1.1"
    return response.status_code, cbor2.loads(response.content, semantic_decoders={1: _millis})


def test_put_and_get_records_over_cbor(endpoint, unique_name):
    name = unique_name("cbor")
    assert call(endpoint, "CreateStream", {"StreamName": name, "ShardCount": 1})[0] == 200
    time.sleep(0.6)
    status, out = call(endpoint, "PutRecord", {"StreamName": name, "Data": b"\x00binary\xff", "PartitionKey": "p"})
    assert status == 200 and out["ShardId"] == "shardId-000000000000"
    _, it = call(endpoint, "GetShardIterator", {"StreamName": name, "ShardId": "shardId-000000000000",
                                                "ShardIteratorType": "TRIM_HORIZON"})
    _, got = call(endpoint, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    record = got["Records"][0]
    assert record["Data"] == b"\x00binary\xff"
    assert record["SequenceNumber"] == out["SequenceNumber"]
    kind, millis = record["ApproximateArrivalTimestamp"]
    assert kind == "epoch-ms" and isinstance(millis, int)  # an integer: the SDKs reject a float here
    assert abs(millis / 1000 - time.time()) < 60


def test_timestamps_are_integer_milliseconds_both_ways(endpoint, unique_name, client):
    name = unique_name("cborts")
    before = time.time()
    assert call(endpoint, "CreateStream", {"StreamName": name, "ShardCount": 1})[0] == 200
    status, out = call(endpoint, "DescribeStream", {"StreamName": name})
    assert status == 200
    kind, millis = out["StreamDescription"]["StreamCreationTimestamp"]
    assert kind == "epoch-ms" and isinstance(millis, int) and before - 5 < millis / 1000 < time.time() + 5
    time.sleep(0.6)
    kinesis = client("kinesis")
    kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p")
    # AT_TIMESTAMP with a tag-1 millisecond value from a minute ago finds the record
    status, it = call(endpoint, "GetShardIterator", {
        "StreamName": name, "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": cbor2.CBORTag(1, int((time.time() - 60) * 1000))})
    assert status == 200
    _, got = call(endpoint, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    assert [r["Data"] for r in got["Records"]] == [b"x"]
    # the JSON reader sees the same arrival instant, to the millisecond
    json_it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    json_record = kinesis.get_records(ShardIterator=json_it)["Records"][0]
    assert round(json_record["ApproximateArrivalTimestamp"].timestamp() * 1000) == got["Records"][0][
        "ApproximateArrivalTimestamp"][1]


def test_host_header_holding_a_url_is_served(endpoint):
    # signing test clients (LocalStack's among them) copy the endpoint URL into Host; AWS answers them
    port = endpoint.rsplit(":", 1)[1]
    status, out = call(endpoint, "DescribeStream", {"StreamName": "no-such-stream-cbor-host"},
                       headers={"Host": f"http://localhost:{port}"})
    assert status == 400 and out["__type"] == "ResourceNotFoundException"


def test_cbor_errors_are_cbor(endpoint):
    status, out = call(endpoint, "DescribeStream", {"StreamName": "no-such-stream-cbor"})
    assert status == 400
    assert out["__type"] == "ResourceNotFoundException"
