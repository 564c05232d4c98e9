"""Firehose delivery streams into S3 through boto3: buffering, keys, compression, transforms,
dynamic partitioning, format conversion, Kinesis as the source."""

from __future__ import annotations

import base64
import datetime
import gzip
import io
import json
import re
import time
import zipfile

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python

ROLE = "arn:aws:iam::000000000000:role/firehose"


@pytest.fixture
def s3(client):
    return client("s3")


@pytest.fixture
def firehose(client):
    return client("firehose")


@pytest.fixture
def bucket(s3, unique_name):
    name = unique_name("fh")
    s3.create_bucket(Bucket=name)
    return name


def keys(s3, bucket, prefix=""):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def wait_keys(s3, bucket, count=1, prefix="", timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = keys(s3, bucket, prefix)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} objects under {prefix!r}, found {keys(s3, bucket, prefix)}")


def body(s3, bucket, key) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def make_stream(firehose, name, bucket, interval=0, size=1, **dest):
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
                                            "BufferingHints": {"IntervalInSeconds": interval, "SizeInMBs": size},
                                            **dest})


@pytest.mark.postgres_e2e
def test_create_and_describe_delivery_stream(firehose, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, interval=60)
    desc = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert desc["DeliveryStreamStatus"] == "ACTIVE"
    assert desc["DeliveryStreamType"] == "DirectPut"
    assert desc["VersionId"] == "1"
    dest = desc["Destinations"][0]
    assert dest["DestinationId"] == "destinationId-000000000001"
    assert dest["ExtendedS3DestinationDescription"]["BufferingHints"] == {"IntervalInSeconds": 60, "SizeInMBs": 1}
    assert name in firehose.list_delivery_streams()["DeliveryStreamNames"]


def test_missing_stream_is_resource_not_found(firehose):
    with pytest.raises(ClientError) as e:
        firehose.put_record(DeliveryStreamName="nope-nope", Record={"Data": b"x"})
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_duplicate_stream_is_resource_in_use(firehose, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket)
    with pytest.raises(ClientError) as e:
        make_stream(firehose, name, bucket)
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"


def test_records_buffered_into_one_object_with_default_key(firehose, s3, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, interval=1)
    before = datetime.datetime.now(datetime.UTC)
    for i in range(5):
        firehose.put_record(DeliveryStreamName=name, Record={"Data": f'{{"n":{i}}}\n'.encode()})
    out = firehose.put_record_batch(DeliveryStreamName=name,
                                    Records=[{"Data": f'{{"n":{i}}}\n'.encode()} for i in range(5, 10)])
    assert out["FailedPutCount"] == 0 and len(out["RequestResponses"]) == 5
    assert keys(s3, bucket) == []  # still buffering
    found = wait_keys(s3, bucket)
    time.sleep(0.3)
    assert len(keys(s3, bucket)) == 1
    key = found[0]
    assert key.startswith(before.strftime("%Y/%m/%d/%H/"))
    assert re.match(rf"^\d{{4}}/\d\d/\d\d/\d\d/{name}-1-\d{{4}}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{{36}}$", key)
    lines = body(s3, bucket, key).decode().splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(10))


@pytest.mark.postgres_e2e
def test_buffer_size_triggers_flush_before_interval(firehose, s3, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, interval=900, size=1)
    chunk = b"x" * (500 * 1024)
    for _ in range(3):
        firehose.put_record(DeliveryStreamName=name, Record={"Data": chunk})
    found = wait_keys(s3, bucket)
    assert len(body(s3, bucket, found[0])) >= 1024 * 1024 - 500 * 1024


def test_custom_prefix_with_timestamp_and_random_string(firehose, s3, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, Prefix="clicks/year=!{timestamp:yyyy}/month=!{timestamp:MM}/!{firehose:random-string}/",
                ErrorOutputPrefix="errors/!{firehose:error-output-type}/")
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"a\n"})
    key = wait_keys(s3, bucket)[0]
    now = datetime.datetime.now(datetime.UTC)
    assert re.match(rf"^clicks/year={now:%Y}/month={now:%m}/[A-Za-z0-9]{{11}}/{name}-1-", key)


def test_prefix_without_expressions_gets_the_time_prefix(firehose, s3, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, Prefix="raw/")
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"a\n"})
    key = wait_keys(s3, bucket)[0]
    assert re.match(r"^raw/\d{4}/\d\d/\d\d/\d\d/", key)


def test_prefix_with_expressions_requires_error_prefix(firehose, bucket, unique_name):
    with pytest.raises(ClientError) as e:
        make_stream(firehose, unique_name("ds"), bucket, Prefix="x/!{timestamp:yyyy}/")
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"


@pytest.mark.parametrize("fmt,ext", [("GZIP", ".gz"), ("ZIP", ".zip"), ("Snappy", ".snappy"),
                                     ("HADOOP_SNAPPY", ".snappy")])
@pytest.mark.postgres_e2e
def test_compression(firehose, s3, bucket, unique_name, fmt, ext):
    import cramjam

    name = unique_name("ds")
    make_stream(firehose, name, bucket, CompressionFormat=fmt)
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"hello\n"}, {"Data": b"world\n"}])
    key = wait_keys(s3, bucket)[0]
    assert key.endswith(ext)
    raw = body(s3, bucket, key)
    if fmt == "GZIP":
        data = gzip.decompress(raw)
    elif fmt == "ZIP":
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            data = archive.read(archive.namelist()[0])
    elif fmt == "Snappy":
        data = bytes(cramjam.snappy.decompress(raw))
    else:
        length = int.from_bytes(raw[4:8], "big")
        data = bytes(cramjam.snappy.decompress_raw(raw[8:8 + length]))
    assert data == b"hello\nworld\n"


TRANSFORM = '''
import base64, json
def handler(event, context):
    out = []
    for r in event["records"]:
        doc = json.loads(base64.b64decode(r["data"]))
        if doc.get("drop"):
            out.append({"recordId": r["recordId"], "result": "Dropped", "data": r["data"]})
        elif doc.get("fail"):
            out.append({"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]})
        else:
            doc["seen"] = True
            data = base64.b64encode((json.dumps(doc) + "\\n").encode()).decode()
            out.append({"recordId": r["recordId"], "result": "Ok", "data": data,
                        "metadata": {"partitionKeys": {"kind": doc.get("kind", "none")}}})
    return {"records": out}
'''


@pytest.fixture
def transform(client, unique_name):
    name = unique_name("fx")
    return create_python(client("lambda"), name, TRANSFORM)["FunctionArn"]


def processing(arn):
    return {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": arn}]}]}


@pytest.mark.postgres_e2e
def test_lambda_transform_ok_dropped_and_failed(firehose, s3, bucket, unique_name, transform):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, Prefix="ok/", ErrorOutputPrefix="err/",
                ProcessingConfiguration=processing(transform))
    firehose.put_record_batch(DeliveryStreamName=name, Records=[
        {"Data": b'{"a":1}'}, {"Data": b'{"drop":true}'}, {"Data": b'{"fail":true}'}])
    ok = wait_keys(s3, bucket, prefix="ok/", timeout=30)
    assert [json.loads(line) for line in body(s3, bucket, ok[0]).decode().splitlines()] == [{"a": 1, "seen": True}]
    err = wait_keys(s3, bucket, prefix="err/")
    assert err[0].startswith("err/")
    failure = json.loads(body(s3, bucket, err[0]).decode().splitlines()[0])
    assert base64.b64decode(failure["rawData"]) == b'{"fail":true}'
    assert failure["errorCode"] == "Lambda.ProcessingFailed"
    assert failure["lambdaArn"] == transform


@pytest.mark.postgres_e2e
def test_dynamic_partitioning_from_query(firehose, s3, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, size=64, Prefix="p/customer=!{partitionKeyFromQuery:customer}/",
                ErrorOutputPrefix="err/!{firehose:error-output-type}/",
                DynamicPartitioningConfiguration={"Enabled": True},
                ProcessingConfiguration={"Enabled": True, "Processors": [
                    {"Type": "MetadataExtraction", "Parameters": [
                        {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer:.user.id}"},
                        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                    {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[
        {"Data": b'{"user":{"id":"a"},"n":1}'}, {"Data": b'{"user":{"id":"b"},"n":2}'},
        {"Data": b'{"user":{"id":"a"},"n":3}'}, {"Data": b'not json'}])
    found = wait_keys(s3, bucket, prefix="p/", count=2)
    by_customer = {k.split("/")[1]: body(s3, bucket, k).decode().splitlines() for k in found}
    assert [json.loads(x)["n"] for x in by_customer["customer=a"]] == [1, 3]
    assert [json.loads(x)["n"] for x in by_customer["customer=b"]] == [2]
    assert wait_keys(s3, bucket, prefix="err/processing-failed/")


def test_dynamic_partitioning_from_lambda(firehose, s3, bucket, unique_name, transform):
    name = unique_name("ds")
    make_stream(firehose, name, bucket, size=64, Prefix="k/!{partitionKeyFromLambda:kind}/",
                ErrorOutputPrefix="err/!{firehose:error-output-type}/",
                DynamicPartitioningConfiguration={"Enabled": True}, ProcessingConfiguration=processing(transform))
    firehose.put_record_batch(DeliveryStreamName=name, Records=[
        {"Data": b'{"kind":"view"}'}, {"Data": b'{"kind":"click"}'}])
    found = wait_keys(s3, bucket, prefix="k/", count=2, timeout=30)
    assert {k.split("/")[1] for k in found} == {"view", "click"}


def test_parquet_conversion_with_glue_schema(firehose, s3, client, bucket, unique_name):
    import pyarrow.parquet as pq

    glue = client("glue")
    db = unique_name("db").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": db})
    glue.create_table(DatabaseName=db, TableInput={"Name": "events", "StorageDescriptor": {"Columns": [
        {"Name": "id", "Type": "bigint"}, {"Name": "page", "Type": "string"}, {"Name": "ts", "Type": "timestamp"}]}})
    name = unique_name("ds")
    make_stream(firehose, name, bucket, size=64, Prefix="parquet/", ErrorOutputPrefix="bad/",
                DataFormatConversionConfiguration={
                    "Enabled": True,
                    "SchemaConfiguration": {"DatabaseName": db, "TableName": "events", "RoleARN": ROLE},
                    "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                    "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[
        {"Data": b'{"id": 1, "page": "/a", "ts": "2024-01-15T10:00:00Z"}'},
        {"Data": b'{"id": 2, "page": "/b", "ts": 1705312800000}'},
        {"Data": b'{"id": "not a number"}'}])
    key = wait_keys(s3, bucket, prefix="parquet/")[0]
    assert key.endswith(".parquet")
    table = pq.read_table(io.BytesIO(body(s3, bucket, key)))
    assert table.column("id").to_pylist() == [1, 2]
    assert table.column("page").to_pylist() == ["/a", "/b"]
    bad = wait_keys(s3, bucket, prefix="bad/")
    assert bad[0].startswith("bad/")
    assert json.loads(body(s3, bucket, bad[0]).decode().splitlines()[0])["errorCode"].startswith("DataFormatConversion")


def test_kinesis_stream_as_source(firehose, s3, client, bucket, unique_name):
    kinesis = client("kinesis")
    stream = unique_name("ks")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    time.sleep(0.6)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    name = unique_name("ds")
    firehose.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
                                            "BufferingHints": {"IntervalInSeconds": 1, "SizeInMBs": 1}})
    kinesis.put_records(StreamName=stream, Records=[{"Data": f"r{i}\n".encode(), "PartitionKey": "p"}
                                                    for i in range(3)])
    key = wait_keys(s3, bucket)[0]
    assert body(s3, bucket, key) == b"r0\nr1\nr2\n"
    with pytest.raises(ClientError) as e:
        firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"


@pytest.mark.postgres_e2e
def test_update_destination_bumps_version(firehose, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket)
    firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                DestinationId="destinationId-000000000001",
                                ExtendedS3DestinationUpdate={"Prefix": "new/"})
    desc = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert desc["VersionId"] == "2"
    assert desc["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == "new/"
    with pytest.raises(ClientError) as e:
        firehose.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                    DestinationId="destinationId-000000000001",
                                    ExtendedS3DestinationUpdate={"Prefix": "x/"})
    assert e.value.response["Error"]["Code"] == "ConcurrentModificationException"


@pytest.mark.postgres_e2e
def test_tags(firehose, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket)
    firehose.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    firehose.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["a"])
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [{"Key": "b", "Value": "2"}]


@pytest.mark.postgres_e2e
def test_delete_delivery_stream(firehose, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket)
    firehose.delete_delivery_stream(DeliveryStreamName=name)
    assert name not in firehose.list_delivery_streams()["DeliveryStreamNames"]


def test_put_record_batch_with_oversized_record_is_validation_error(firehose, bucket, unique_name):
    name = unique_name("ds")
    make_stream(firehose, name, bucket)
    with pytest.raises(ClientError) as e:
        firehose.put_record_batch(DeliveryStreamName=name, Records=[
            {"Data": b"small"}, {"Data": b"x" * (1000 * 1024 + 1)}])
    assert e.value.response["Error"]["Code"] == "ValidationException"
