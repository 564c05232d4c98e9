"""Glue Data Catalog and crawlers through boto3."""

from __future__ import annotations

import gzip
import io
import time

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/glue"


@pytest.fixture
def glue(client):
    return client("glue")


@pytest.fixture
def s3(client):
    return client("s3")


@pytest.fixture
def database(glue, unique_name):
    name = unique_name("db").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": name, "Description": "test"})
    return name


def table_input(name, columns=(("id", "bigint"), ("name", "string")), keys=()):
    return {"Name": name, "StorageDescriptor": {
        "Columns": [{"Name": n, "Type": t} for n, t in columns], "Location": f"s3://bucket/{name}/",
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}},
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys], "TableType": "EXTERNAL_TABLE"}


@pytest.mark.postgres_e2e
def test_database_crud(glue, database):
    assert glue.get_database(Name=database)["Database"]["Description"] == "test"
    assert database in [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    glue.delete_database(Name=database)
    with pytest.raises(ClientError) as e:
        glue.get_database(Name=database)
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_duplicate_database_already_exists(glue, database):
    with pytest.raises(ClientError) as e:
        glue.create_database(DatabaseInput={"Name": database})
    assert e.value.response["Error"]["Code"] == "AlreadyExistsException"


@pytest.mark.postgres_e2e
def test_table_crud_and_versions(glue, database):
    glue.create_table(DatabaseName=database, TableInput=table_input("events"))
    table = glue.get_table(DatabaseName=database, Name="events")["Table"]
    assert table["StorageDescriptor"]["Columns"][0] == {"Name": "id", "Type": "bigint"}
    assert table["VersionId"] == "1"
    glue.update_table(DatabaseName=database, TableInput=table_input("events", (("id", "bigint"),)))
    versions = glue.get_table_versions(DatabaseName=database, TableName="events")["TableVersions"]
    assert sorted(v["VersionId"] for v in versions) == ["1", "2"]
    glue.delete_table(DatabaseName=database, Name="events")
    with pytest.raises(ClientError) as e:
        glue.get_table(DatabaseName=database, Name="events")
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"


@pytest.mark.postgres_e2e
def test_get_tables_with_expression(glue, database):
    for name in ("clicks", "clicks_daily", "views"):
        glue.create_table(DatabaseName=database, TableInput=table_input(name))
    names = [t["Name"] for t in glue.get_tables(DatabaseName=database, Expression="clicks*")["TableList"]]
    assert names == ["clicks", "clicks_daily"]


@pytest.mark.postgres_e2e
def test_partitions_batch_and_expression(glue, database):
    glue.create_table(DatabaseName=database, TableInput=table_input("p", keys=("year", "month")))
    out = glue.batch_create_partition(DatabaseName=database, TableName="p", PartitionInputList=[
        {"Values": [y, m], "StorageDescriptor": {"Location": f"s3://bucket/p/year={y}/month={m}/"}}
        for y in ("2023", "2024") for m in ("01", "02")])
    assert out["Errors"] == []
    parts = glue.get_partitions(DatabaseName=database, TableName="p", Expression="year = '2024' AND month > '01'")
    assert [p["Values"] for p in parts["Partitions"]] == [["2024", "02"]]
    got = glue.batch_get_partition(DatabaseName=database, TableName="p",
                                   PartitionsToGet=[{"Values": ["2023", "01"]}, {"Values": ["1999", "01"]}])
    assert [p["Values"] for p in got["Partitions"]] == [["2023", "01"]]
    glue.batch_delete_partition(DatabaseName=database, TableName="p", PartitionsToDelete=[{"Values": ["2023", "01"]}])
    assert len(glue.get_partitions(DatabaseName=database, TableName="p")["Partitions"]) == 3
    dup = glue.batch_create_partition(DatabaseName=database, TableName="p", PartitionInputList=[
        {"Values": ["2024", "01"], "StorageDescriptor": {}}])
    assert dup["Errors"][0]["ErrorDetail"]["ErrorCode"] == "AlreadyExistsException"


def run_crawler(glue, name, timeout=30.0):
    glue.start_crawler(Name=name)
    states = set()
    deadline = time.time() + timeout
    while time.time() < deadline:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        states.add(crawler["State"])
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler, states
        time.sleep(0.05)
    raise AssertionError("crawler did not finish")


@pytest.fixture
def bucket(s3, unique_name):
    name = unique_name("gl")
    s3.create_bucket(Bucket=name)
    return name


@pytest.mark.postgres_e2e
def test_crawler_infers_json_with_hive_partitions(glue, s3, bucket, database, unique_name):
    for day in ("01", "02"):
        s3.put_object(Bucket=bucket, Key=f"clicks/year=2024/day={day}/part.json",
                      Body=b'{"user":"a","n":1,"price":1.5,"tags":["x"],"ctx":{"page":"/"}}\n'
                           b'{"user":"b","n":2,"price":2,"tags":[],"ctx":{"page":"/a"}}\n')
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/clicks/"}]})
    crawler, states = run_crawler(glue, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert "RUNNING" in states or "STOPPING" in states
    table = glue.get_table(DatabaseName=database, Name="clicks")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns == {"user": "string", "n": "int", "price": "double", "tags": "array<string>",
                       "ctx": "struct<page:string>"}
    assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "day"]
    assert table["Parameters"]["classification"] == "json"
    assert table["StorageDescriptor"]["Location"] == f"s3://{bucket}/clicks/"
    parts = glue.get_partitions(DatabaseName=database, TableName="clicks")["Partitions"]
    assert sorted(p["Values"] for p in parts) == [["2024", "01"], ["2024", "02"]]
    metrics = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert metrics["TablesCreated"] == 1


def test_crawler_date_style_partitions_and_gzip(glue, s3, bucket, database, unique_name):
    s3.put_object(Bucket=bucket, Key="fh/2024/01/15/10/stream-1.gz", Body=gzip.compress(b'{"a":1}\n'))
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/fh"}]})
    run_crawler(glue, name)
    table = glue.get_table(DatabaseName=database, Name="fh")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["partition_0", "partition_1", "partition_2",
                                                         "partition_3"]
    assert table["Parameters"]["compressionType"] == "gzip"
    parts = glue.get_partitions(DatabaseName=database, TableName="fh")["Partitions"]
    assert parts[0]["Values"] == ["2024", "01", "15", "10"]


def test_crawler_csv_header_detection(glue, s3, bucket, database, unique_name):
    s3.put_object(Bucket=bucket, Key="sales/data.csv", Body=b"region,amount,units\neu,1.5,3\nus,2.25,4\n")
    s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"eu,1.5,3\nus,2.25,4\n")
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/sales/"}, {"Path": f"s3://{bucket}/raw/"}]})
    run_crawler(glue, name)
    sales = glue.get_table(DatabaseName=database, Name="sales")["Table"]
    assert [(c["Name"], c["Type"]) for c in sales["StorageDescriptor"]["Columns"]] == [
        ("region", "string"), ("amount", "double"), ("units", "bigint")]
    assert sales["Parameters"]["skip.header.line.count"] == "1"
    raw = glue.get_table(DatabaseName=database, Name="raw")["Table"]
    assert [c["Name"] for c in raw["StorageDescriptor"]["Columns"]] == ["col0", "col1", "col2"]
    assert "skip.header.line.count" not in raw["Parameters"]


def test_crawler_parquet(glue, s3, bucket, database, unique_name):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int64()), "score": [0.5, 1.5]}), buffer)
    s3.put_object(Bucket=bucket, Key="pq/dt=2024-01-01/a.parquet", Body=buffer.getvalue())
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database, TablePrefix="x_",
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/pq/"}]})
    run_crawler(glue, name)
    table = glue.get_table(DatabaseName=database, Name="x_pq")["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [("id", "bigint"),
                                                                                        ("score", "double")]
    assert "Parquet" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]


def test_crawler_over_empty_prefix_succeeds_without_tables(glue, bucket, database, unique_name):
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/nothing/"}]})
    crawler, _ = run_crawler(glue, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert glue.get_tables(DatabaseName=database)["TableList"] == []


def test_crawler_updates_schema_on_recrawl(glue, s3, bucket, database, unique_name):
    s3.put_object(Bucket=bucket, Key="ev/a.json", Body=b'{"a":1}\n')
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/ev/"}]})
    run_crawler(glue, name)
    s3.put_object(Bucket=bucket, Key="ev/b.json", Body=b'{"a":2,"b":"new"}\n')
    run_crawler(glue, name)
    table = glue.get_table(DatabaseName=database, Name="ev")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["a", "b"]
    metrics = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert metrics["TablesUpdated"] == 1


def test_start_running_crawler_is_crawler_running(glue, s3, bucket, database, unique_name):
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{bucket}/x/"}]})
    glue.start_crawler(Name=name)
    with pytest.raises(ClientError) as e:
        glue.start_crawler(Name=name)
    assert e.value.response["Error"]["Code"] in ("CrawlerRunningException", "CrawlerStoppingException")


@pytest.mark.postgres_e2e
def test_crawler_schedule(glue, database, unique_name):
    name = unique_name("cr")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database, Schedule="cron(0 * * * ? *)",
                        Targets={"S3Targets": [{"Path": "s3://b/x/"}]})
    crawler = glue.get_crawler(Name=name)["Crawler"]
    assert crawler["Schedule"] == {"ScheduleExpression": "cron(0 * * * ? *)", "State": "SCHEDULED"}
    glue.stop_crawler_schedule(CrawlerName=name)
    assert glue.get_crawler(Name=name)["Crawler"]["Schedule"]["State"] == "NOT_SCHEDULED"
    with pytest.raises(ClientError) as e:
        glue.update_crawler_schedule(CrawlerName=name, Schedule="every hour")
    assert e.value.response["Error"]["Code"] == "InvalidInputException"


def test_missing_crawler_is_entity_not_found(glue):
    with pytest.raises(ClientError) as e:
        glue.start_crawler(Name="nope-nope")
    assert e.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_update_table_without_table_input_is_invalid_input(client):
    glue = client("glue")
    with pytest.raises(ClientError) as error:
        glue.update_table(DatabaseName="anything")
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
