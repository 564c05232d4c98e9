"""Athena through boto3 and pyathena: Trino SQL run by DuckDB over Glue tables' S3 data."""

from __future__ import annotations

import io
import json
import time

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def athena(client):
    return client("athena")


@pytest.fixture
def s3(client):
    return client("s3")


@pytest.fixture
def glue(client):
    return client("glue")


@pytest.fixture
def env(s3, glue, unique_name):
    """A bucket of clicks (JSON lines, Hive partitions by day) and a database."""
    bucket = unique_name("ath")
    s3.create_bucket(Bucket=bucket)
    db = unique_name("db").replace("-", "_")
    glue.create_database(DatabaseInput={"Name": db})
    rows = {
        "2024-01-15": [{"user": "a", "page": "/", "ts": "2024-01-15T10:15:00Z", "ms": 120, "tags": ["x", "y"],
                        "meta": '{"ref":{"src":"google"}}'},
                       {"user": "b", "page": "/buy", "ts": "2024-01-15T10:45:00Z", "ms": 80, "tags": ["x"],
                        "meta": '{"ref":{"src":"bing"}}'}],
        "2024-01-16": [{"user": "a", "page": "/buy", "ts": "2024-01-16T11:05:00Z", "ms": 200, "tags": [],
                        "meta": '{"ref":{"src":"google"}}'}],
    }
    for day, docs in rows.items():
        s3.put_object(Bucket=bucket, Key=f"clicks/day={day}/part-0.json",
                      Body="".join(json.dumps(d) + "\n" for d in docs).encode())
    return {"bucket": bucket, "db": db, "output": f"s3://{bucket}/results/"}


def run(athena, env, sql, wait=True, **kw):
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": env["db"]},
                                       ResultConfiguration={"OutputLocation": env["output"]}, **kw)["QueryExecutionId"]
    if not wait:
        return qid
    deadline = time.time() + 30
    while time.time() < deadline:
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.05)
    raise AssertionError("query did not finish")


def rows(athena, qid, skip_header=True):
    out = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    data = [[c.get("VarCharValue") for c in r["Data"]] for r in out]
    return data[1:] if skip_header else data


def ok(athena, env, sql, **kw):
    execution = run(athena, env, sql, **kw)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    return execution


CREATE = """
CREATE EXTERNAL TABLE clicks (
  `user` string, page string, ts string, ms int, tags array<string>, meta string
)
PARTITIONED BY (day string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://{bucket}/clicks/'
"""


@pytest.fixture
def clicks(athena, env):
    ok(athena, env, CREATE.format(bucket=env["bucket"]))
    ok(athena, env, "MSCK REPAIR TABLE clicks")
    return env


def test_create_external_table_registers_in_glue(athena, glue, clicks):
    table = glue.get_table(DatabaseName=clicks["db"], Name="clicks")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["user", "page", "ts", "ms", "tags", "meta"]
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "string"}]
    parts = glue.get_partitions(DatabaseName=clicks["db"], TableName="clicks")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["2024-01-15", "2024-01-16"]


@pytest.mark.postgres_e2e
def test_select_group_by_with_header_and_column_info(athena, clicks):
    execution = ok(athena, clicks, "SELECT page, count(*) AS n, sum(ms) AS total FROM clicks GROUP BY page ORDER BY page")
    result = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    data = [[c.get("VarCharValue") for c in r["Data"]] for r in result["ResultSet"]["Rows"]]
    assert data == [["page", "n", "total"], ["/", "1", "120"], ["/buy", "2", "280"]]
    info = result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in info] == [("page", "varchar"), ("n", "bigint"), ("total", "bigint")]
    assert execution["StatementType"] == "DML"
    stats = execution["Statistics"]
    assert stats["DataScannedInBytes"] > 0
    assert "EngineExecutionTimeInMillis" in stats and "TotalExecutionTimeInMillis" in stats


def test_results_written_to_output_location(athena, s3, clicks):
    execution = ok(athena, clicks, "SELECT page FROM clicks WHERE ms > 100 ORDER BY page")
    qid = execution["QueryExecutionId"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{clicks['output']}{qid}.csv"
    body = s3.get_object(Bucket=clicks["bucket"], Key=f"results/{qid}.csv")["Body"].read()
    assert body == b'"page"\n"/"\n"/buy"\n'
    s3.head_object(Bucket=clicks["bucket"], Key=f"results/{qid}.csv.metadata")


def test_partition_pruning_scans_less(athena, clicks):
    everything = ok(athena, clicks, "SELECT count(*) FROM clicks")
    one_day = ok(athena, clicks, "SELECT count(*) FROM clicks WHERE day = '2024-01-16'")
    assert rows(athena, one_day["QueryExecutionId"]) == [["1"]]
    assert one_day["Statistics"]["DataScannedInBytes"] < everything["Statistics"]["DataScannedInBytes"]


def test_trino_functions(athena, clicks):
    sql = """
    SELECT date_trunc('hour', from_iso8601_timestamp(ts)) AS hour,
           approx_distinct("user") AS users,
           max(json_extract_scalar(meta, '$.ref.src')) AS src
    FROM clicks WHERE day = '2024-01-15' GROUP BY 1
    """
    execution = ok(athena, clicks, sql)
    assert rows(athena, execution["QueryExecutionId"]) == [["2024-01-15 10:00:00.000 UTC", "2", "google"]]


def test_unnest_arrays_and_maps(athena, clicks):
    execution = ok(athena, clicks, "SELECT tag, count(*) AS n FROM clicks CROSS JOIN UNNEST(tags) AS t(tag) "
                                   "GROUP BY tag ORDER BY tag")
    assert rows(athena, execution["QueryExecutionId"]) == [["x", "2"], ["y", "1"]]
    execution = ok(athena, clicks, "SELECT cardinality(ARRAY[1, 2, 3]), element_at(MAP(ARRAY['k'], ARRAY[7]), 'k')")
    assert rows(athena, execution["QueryExecutionId"]) == [["3", "7"]]


def test_bad_sql_fails_with_reason(athena, clicks):
    execution = run(athena, clicks, "SELEC page FROM clicks")
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert "SYNTAX_ERROR" in status["StateChangeReason"] or "line" in status["StateChangeReason"]
    assert status["AthenaError"]["ErrorCategory"] == 2


def test_missing_table_fails_table_not_found(athena, env):
    execution = run(athena, env, "SELECT * FROM nothing_here")
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"].startswith("TABLE_NOT_FOUND")


def test_unknown_column_fails(athena, clicks):
    execution = run(athena, clicks, "SELECT nope FROM clicks")
    assert execution["Status"]["State"] == "FAILED"
    assert "nope" in execution["Status"]["StateChangeReason"]


def test_table_over_missing_data_returns_no_rows(athena, env):
    ok(athena, env, f"CREATE EXTERNAL TABLE empty_t (a int) STORED AS PARQUET LOCATION 's3://{env['bucket']}/none/'")
    execution = ok(athena, env, "SELECT count(*) FROM empty_t")
    assert rows(athena, execution["QueryExecutionId"]) == [["0"]]


@pytest.mark.postgres_e2e
def test_get_query_results_paging(athena, clicks):
    execution = ok(athena, clicks, "SELECT ms FROM clicks ORDER BY ms")
    qid = execution["QueryExecutionId"]
    first = athena.get_query_results(QueryExecutionId=qid, MaxResults=2)
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in first["ResultSet"]["Rows"]] == [["ms"], ["80"]]
    second = athena.get_query_results(QueryExecutionId=qid, MaxResults=2, NextToken=first["NextToken"])
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in second["ResultSet"]["Rows"]] == [["120"], ["200"]]
    assert "NextToken" not in second


def test_null_values_have_no_varcharvalue(athena, env):
    execution = ok(athena, env, "SELECT CAST(NULL AS varchar) AS x, 'y' AS y")
    data = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["ResultSet"]["Rows"][1]["Data"]
    assert data == [{}, {"VarCharValue": "y"}]


def test_show_and_describe(athena, clicks):
    assert rows(athena, ok(athena, clicks, "SHOW TABLES")["QueryExecutionId"], False) == [["clicks"]]
    assert [clicks["db"]] in rows(athena, ok(athena, clicks, "SHOW DATABASES")["QueryExecutionId"], False)
    assert rows(athena, ok(athena, clicks, "SHOW PARTITIONS clicks")["QueryExecutionId"], False) == [
        ["day=2024-01-15"], ["day=2024-01-16"]]
    described = rows(athena, ok(athena, clicks, "DESCRIBE clicks")["QueryExecutionId"], False)
    assert described[0][0].split("\t")[0].strip() == "user"


@pytest.mark.postgres_e2e
def test_ctas_writes_parquet_and_registers_table(athena, s3, glue, clicks):
    execution = ok(athena, clicks, f"CREATE TABLE daily WITH (format='PARQUET', "
                                   f"external_location='s3://{clicks['bucket']}/daily/') AS "
                                   "SELECT day, count(*) AS n FROM clicks GROUP BY day")
    assert athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["UpdateCount"] == 2
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=clicks["bucket"], Prefix="daily/")["Contents"]]
    assert keys and all(k.endswith(".parquet") for k in keys)
    table = glue.get_table(DatabaseName=clicks["db"], Name="daily")["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [("day", "string"),
                                                                                        ("n", "bigint")]
    again = ok(athena, clicks, "SELECT n FROM daily ORDER BY day")
    assert rows(athena, again["QueryExecutionId"]) == [["2"], ["1"]]


def test_ctas_partitioned(athena, glue, clicks):
    ok(athena, clicks, "CREATE TABLE bypage WITH (format='PARQUET', partitioned_by=ARRAY['page']) AS "
                       "SELECT \"user\", ms, page FROM clicks")
    table = glue.get_table(DatabaseName=clicks["db"], Name="bypage")["Table"]
    assert table["PartitionKeys"] == [{"Name": "page", "Type": "string"}]
    execution = ok(athena, clicks, "SELECT count(*) FROM bypage WHERE page = '/buy'")
    assert rows(athena, execution["QueryExecutionId"]) == [["2"]]


def test_drop_table(athena, glue, clicks):
    ok(athena, clicks, "DROP TABLE clicks")
    with pytest.raises(ClientError):
        glue.get_table(DatabaseName=clicks["db"], Name="clicks")
    assert run(athena, clicks, "DROP TABLE clicks")["Status"]["State"] == "FAILED"
    ok(athena, clicks, "DROP TABLE IF EXISTS clicks")


def test_alter_table_add_partition(athena, glue, env):
    ok(athena, env, CREATE.format(bucket=env["bucket"]))
    ok(athena, env, "ALTER TABLE clicks ADD IF NOT EXISTS PARTITION (day='2024-01-15')")
    execution = ok(athena, env, "SELECT count(*) FROM clicks")
    assert rows(athena, execution["QueryExecutionId"]) == [["2"]]


@pytest.mark.postgres_e2e
def test_query_crawled_csv_table(athena, s3, glue, env):
    s3.put_object(Bucket=env["bucket"], Key="sales/a.csv", Body=b"region,amount\neu,1.5\nus,2.5\neu,3\n")
    glue.create_crawler(Name=env["db"] + "_cr", Role="arn:aws:iam::000000000000:role/x", DatabaseName=env["db"],
                        Targets={"S3Targets": [{"Path": f"s3://{env['bucket']}/sales/"}]})
    glue.start_crawler(Name=env["db"] + "_cr")
    for _ in range(200):
        if glue.get_crawler(Name=env["db"] + "_cr")["Crawler"].get("LastCrawl"):
            break
        time.sleep(0.05)
    execution = ok(athena, env, "SELECT region, sum(amount) FROM sales GROUP BY region ORDER BY region")
    assert rows(athena, execution["QueryExecutionId"]) == [["eu", "4.5"], ["us", "2.5"]]


def test_query_parquet_table(athena, s3, env):
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}), buffer)
    s3.put_object(Bucket=env["bucket"], Key="pq/x.parquet", Body=buffer.getvalue())
    ok(athena, env, f"CREATE EXTERNAL TABLE pq (id bigint, v string) STORED AS PARQUET "
                    f"LOCATION 's3://{env['bucket']}/pq/'")
    execution = ok(athena, env, "SELECT v FROM pq WHERE id >= 2 ORDER BY id")
    assert rows(athena, execution["QueryExecutionId"]) == [["b"], ["c"]]


def test_output_location_required(athena, env):
    with pytest.raises(ClientError) as e:
        athena.start_query_execution(QueryString="SELECT 1")
    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


@pytest.mark.postgres_e2e
def test_workgroup_output_location(athena, env, unique_name):
    wg = unique_name("wg")
    athena.create_work_group(Name=wg, Configuration={"ResultConfiguration": {"OutputLocation": env["output"]}})
    assert athena.get_work_group(WorkGroup=wg)["WorkGroup"]["State"] == "ENABLED"
    qid = athena.start_query_execution(QueryString="SELECT 1 AS one", WorkGroup=wg)["QueryExecutionId"]
    for _ in range(200):
        state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
        if state == "SUCCEEDED":
            break
        time.sleep(0.05)
    assert rows(athena, qid) == [["1"]]
    assert qid in athena.list_query_executions(WorkGroup=wg)["QueryExecutionIds"]
    assert wg in [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]
    athena.delete_work_group(WorkGroup=wg)


def test_batch_get_query_execution(athena, env):
    qid = ok(athena, env, "SELECT 1")["QueryExecutionId"]
    out = athena.batch_get_query_execution(QueryExecutionIds=[qid, "00000000-0000-0000-0000-000000000000"])
    assert [q["QueryExecutionId"] for q in out["QueryExecutions"]] == [qid]
    assert len(out["UnprocessedQueryExecutionIds"]) == 1


@pytest.mark.postgres_e2e
def test_named_queries(athena, env):
    nid = athena.create_named_query(Name="n", Database=env["db"], QueryString="SELECT 1")["NamedQueryId"]
    assert athena.get_named_query(NamedQueryId=nid)["NamedQuery"]["QueryString"] == "SELECT 1"
    assert nid in athena.list_named_queries()["NamedQueryIds"]
    athena.delete_named_query(NamedQueryId=nid)
    with pytest.raises(ClientError):
        athena.get_named_query(NamedQueryId=nid)


def test_prepared_statement_execute_using(athena, clicks, unique_name):
    athena.create_prepared_statement(StatementName="by_page", WorkGroup="primary",
                                     QueryStatement="SELECT count(*) FROM clicks WHERE page = ?")
    execution = ok(athena, clicks, "EXECUTE by_page USING '/buy'")
    assert rows(athena, execution["QueryExecutionId"]) == [["2"]]
    execution = ok(athena, clicks, "SELECT count(*) FROM clicks WHERE ms > ?", ExecutionParameters=["100"])
    assert rows(athena, execution["QueryExecutionId"]) == [["2"]]
    athena.delete_prepared_statement(StatementName="by_page", WorkGroup="primary")


def test_stop_query_execution(athena, env):
    qid = run(athena, env, "SELECT count(*) FROM range(3000000000) a", wait=False)
    athena.stop_query_execution(QueryExecutionId=qid)
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
    assert state == "CANCELLED"


def test_pyathena(clicks, endpoint):
    pyathena = pytest.importorskip("pyathena")
    conn = pyathena.connect(s3_staging_dir=clicks["output"], region_name="us-east-1", endpoint_url=endpoint,
                            schema_name=clicks["db"], aws_access_key_id="test", aws_secret_access_key="test",
                            poll_interval=0.05)
    cursor = conn.cursor()
    cursor.execute("SELECT page, count(*) AS n FROM clicks GROUP BY page ORDER BY page")
    assert cursor.fetchall() == [("/", 1), ("/buy", 2)]
    assert [d[0] for d in cursor.description] == ["page", "n"]


def test_query_orc_table(athena, s3, env):
    import pyarrow as pa
    import pyarrow.orc as orc

    buffer = io.BytesIO()
    orc.write_table(pa.table({"id": [1, 2], "name": ["x", "y"]}), buffer)
    s3.put_object(Bucket=env["bucket"], Key="orc/a.orc", Body=buffer.getvalue())
    ok(athena, env, f"CREATE EXTERNAL TABLE o (id bigint, name string) STORED AS ORC LOCATION 's3://{env['bucket']}/orc/'")
    execution = ok(athena, env, "SELECT name FROM o WHERE id = 2")
    assert rows(athena, execution["QueryExecutionId"]) == [["y"]]


def test_explain(athena, clicks):
    execution = ok(athena, clicks, "EXPLAIN SELECT count(*) FROM clicks")
    assert rows(athena, execution["QueryExecutionId"])


def test_aws_cli_start_and_get(aws_cli, clicks):
    started = aws_cli("athena", "start-query-execution", "--query-string", "SELECT count(*) AS n FROM clicks",
                      "--query-execution-context", f"Database={clicks['db']}",
                      "--result-configuration", f"OutputLocation={clicks['output']}")
    qid = started["QueryExecutionId"]
    for _ in range(100):
        state = aws_cli("athena", "get-query-execution", "--query-execution-id", qid)["QueryExecution"]["Status"]["State"]
        if state == "SUCCEEDED":
            break
        time.sleep(0.1)
    result = aws_cli("athena", "get-query-results", "--query-execution-id", qid)
    assert result["ResultSet"]["Rows"][1]["Data"] == [{"VarCharValue": "3"}]


def test_bytes_scanned_cutoff(athena, clicks, unique_name):
    wg = unique_name("wg")
    athena.create_work_group(Name=wg, Configuration={"ResultConfiguration": {"OutputLocation": clicks["output"]},
                                                     "BytesScannedCutoffPerQuery": 10_000_000})
    athena.update_work_group(WorkGroup=wg, ConfigurationUpdates={"BytesScannedCutoffPerQuery": 10_485_760})
    assert athena.get_work_group(WorkGroup=wg)["WorkGroup"]["Configuration"]["BytesScannedCutoffPerQuery"] == 10_485_760
    execution = run(athena, clicks, "SELECT count(*) FROM clicks", WorkGroup=wg)
    assert execution["Status"]["State"] == "SUCCEEDED"


@pytest.mark.postgres_e2e
def test_insert_into_partitioned_json_table(athena, clicks):
    execution = ok(athena, clicks, "INSERT INTO clicks (\"user\", page, ms, day) VALUES ('c', '/new', 5, '2024-01-17')")
    assert athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["UpdateCount"] == 1
    again = ok(athena, clicks, "SELECT \"user\", page, ms FROM clicks WHERE day = '2024-01-17'")
    assert rows(athena, again["QueryExecutionId"]) == [["c", "/new", "5"]]


def test_insert_into_parquet_table_from_select(athena, clicks):
    ok(athena, clicks, f"CREATE EXTERNAL TABLE agg (page string, n bigint) STORED AS PARQUET "
                       f"LOCATION 's3://{clicks['bucket']}/agg/'")
    ok(athena, clicks, "INSERT INTO agg SELECT page, count(*) FROM clicks GROUP BY page")
    execution = ok(athena, clicks, "SELECT page, n FROM agg ORDER BY page")
    assert rows(athena, execution["QueryExecutionId"]) == [["/", "1"], ["/buy", "2"]]
    bad = run(athena, clicks, "INSERT INTO agg SELECT page FROM clicks")
    assert bad["Status"]["State"] == "FAILED" and "mismatched" in bad["Status"]["StateChangeReason"]


@pytest.mark.postgres_e2e
def test_views(athena, glue, clicks):
    ok(athena, clicks, "CREATE VIEW buyers AS SELECT \"user\", ms FROM clicks WHERE page = '/buy'")
    view = glue.get_table(DatabaseName=clicks["db"], Name="buyers")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW"
    assert view["ViewOriginalText"].startswith("/* Presto View: ")
    execution = ok(athena, clicks, "SELECT count(*), sum(ms) FROM buyers")
    assert rows(athena, execution["QueryExecutionId"]) == [["2", "280"]]
    ok(athena, clicks, "CREATE OR REPLACE VIEW buyers AS SELECT \"user\" FROM clicks WHERE page = '/'")
    assert rows(athena, ok(athena, clicks, "SELECT * FROM buyers")["QueryExecutionId"]) == [["a"]]
    ok(athena, clicks, "DROP VIEW buyers")
    assert run(athena, clicks, "SELECT * FROM buyers")["Status"]["StateChangeReason"].startswith("TABLE_NOT_FOUND")


def test_firehose_parquet_crawled_and_queried(athena, glue, client, env):
    """The clickstream path with format conversion: Firehose writes Parquet under YYYY/MM/dd/HH/,
    the crawler finds partition_0..3, Athena reads it."""
    firehose, s3 = client("firehose"), client("s3")
    glue.create_table(DatabaseName=env["db"], TableInput={"Name": "schema_src", "StorageDescriptor": {"Columns": [
        {"Name": "page", "Type": "string"}, {"Name": "ms", "Type": "int"}]}})
    name = env["db"].replace("_", "-")
    firehose.create_delivery_stream(
        DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": f"arn:aws:s3:::{env['bucket']}",
            "Prefix": "pq-events/", "ErrorOutputPrefix": "pq-errors/",
            "BufferingHints": {"IntervalInSeconds": 0, "SizeInMBs": 64},
            "DataFormatConversionConfiguration": {
                "SchemaConfiguration": {"DatabaseName": env["db"], "TableName": "schema_src",
                                        "RoleARN": "arn:aws:iam::000000000000:role/r"},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}})
    firehose.put_record_batch(DeliveryStreamName=name, Records=[
        {"Data": json.dumps({"page": p, "ms": m}).encode()} for p, m in (("/a", 1), ("/b", 2), ("/a", 3))])
    for _ in range(100):
        if s3.list_objects_v2(Bucket=env["bucket"], Prefix="pq-events/").get("Contents"):
            break
        time.sleep(0.1)
    glue.create_crawler(Name=name, Role="arn:aws:iam::000000000000:role/r", DatabaseName=env["db"],
                        Targets={"S3Targets": [{"Path": f"s3://{env['bucket']}/pq-events/"}]})
    glue.start_crawler(Name=name)
    for _ in range(200):
        if glue.get_crawler(Name=name)["Crawler"].get("LastCrawl"):
            break
        time.sleep(0.05)
    table = glue.get_table(DatabaseName=env["db"], Name="pq_events")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["partition_0", "partition_1", "partition_2", "partition_3"]
    execution = ok(athena, env, "SELECT page, sum(ms) FROM pq_events GROUP BY page ORDER BY page")
    assert rows(athena, execution["QueryExecutionId"]) == [["/a", "4"], ["/b", "2"]]


def test_tag_without_a_key_is_invalid_request(client):
    athena = client("athena")
    with pytest.raises(ClientError) as error:
        athena.tag_resource(ResourceARN="arn:aws:athena:us-east-1:000000000000:workgroup/primary", Tags=[{"Value": "v"}])
    assert error.value.response["Error"]["Code"] == "InvalidRequestException"
