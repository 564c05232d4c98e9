"""Kinesis over awsJson-CBOR (application/x-amz-cbor-1.1), the Java SDK's and KPL's default:
byte strings for blobs, tag 1 for timestamps."""

from __future__ import annotations

import time

import cbor2
import httpx

AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0"


def call(endpoint, operation, body):
    response = httpx.post(endpoint + "/", content=cbor2.dumps(body), headers={
        "Content-Type": "application/x-amz-cbor-1.1", "X-Amz-Target": f"Kinesis_20131202.{operation}",
        "Authorization": AUTH})
    assert response.headers["content-type"] == "application/x-amz-cbor-1.1"
    return response.status_code, cbor2.loads(response.content)


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
    assert abs(record["ApproximateArrivalTimestamp"].timestamp() - time.time()) < 60


def test_cbor_errors_are_cbor(endpoint):
    status, out = call(endpoint, "DescribeStream", {"StreamName": "no-such-stream-cbor"})
    assert status == 400
    assert out["__type"] == "ResourceNotFoundException"
