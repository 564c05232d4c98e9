"""Pure logic of the analytics services: Firehose prefixes and JQ paths, Hive types, Athena's
SQL handling (classification, DDL parsing, translation, partition predicates), crawler inference."""

from __future__ import annotations

import datetime

import pytest

from overcast.services.athena import sql
from overcast.services.firehose import prefixes
from overcast.services.firehose.provider import jq_path, parse_metadata_query
from overcast.services.glue import crawler, types

WHEN = datetime.datetime(2024, 3, 9, 7, 5, 2, tzinfo=datetime.UTC).timestamp()


def test_default_time_prefix_is_utc_hours():
    assert prefixes.evaluate(None, WHEN) == "2024/03/09/07/"
    assert prefixes.evaluate("raw/", WHEN) == "raw/2024/03/09/07/"
    assert prefixes.evaluate(None, WHEN, "processing-failed") == "processing-failed/2024/03/09/07/"


def test_timestamp_expressions_use_java_patterns():
    assert prefixes.evaluate("dt=!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/", WHEN) == "dt=2024-03-09/h=07/"
    assert prefixes.evaluate("!{timestamp:yyyy'-week-'DDD}/", WHEN) == "2024-week-069/"


def test_partition_key_expressions():
    out = prefixes.evaluate("c=!{partitionKeyFromQuery:c}/k=!{partitionKeyFromLambda:k}/", WHEN, None,
                            {"c": "acme"}, {"k": "view"})
    assert out == "c=acme/k=view/"


def test_object_name_format():
    name = prefixes.object_name("clicks", 3, WHEN, ".gz")
    assert name.startswith("clicks-3-2024-03-09-07-05-02-") and name.endswith(".gz")


def test_prefix_validation():
    with pytest.raises(prefixes.PrefixError):
        prefixes.validate("a/!{timestamp:yyyy}/", None, False)
    with pytest.raises(prefixes.PrefixError):
        prefixes.validate("a/!{partitionKeyFromQuery:x}/", "e/", False)
    prefixes.validate("a/!{partitionKeyFromQuery:x}/", "e/!{firehose:error-output-type}/", True)


def test_jq_paths():
    assert parse_metadata_query('{a: .x.y, "b": .list[1], c: ."odd key"}') == [
        ("a", ".x.y"), ("b", ".list[1]"), ("c", '."odd key"')]
    doc = {"x": {"y": 5}, "list": [1, 2], "odd key": "z"}
    assert [jq_path(doc, p) for _, p in parse_metadata_query('{a: .x.y, b: .list[1], c: ."odd key"}')] == [5, 2, "z"]
    assert jq_path(doc, ".missing.deeper") is None


def test_hive_types_map_to_duckdb_and_arrow():
    node = types.parse("array<struct<a:int,b:map<string,double>>>")
    assert types.to_duckdb(node) == 'STRUCT("a" INTEGER, "b" MAP(VARCHAR, DOUBLE))[]'
    assert types.to_duckdb(types.parse("decimal(10,2)")) == "DECIMAL(10,2)"
    assert str(types.to_arrow(types.parse("struct<a:bigint>"))) == "struct<a: int64>"
    with pytest.raises(ValueError):
        types.parse("array<")


def test_statement_classification():
    assert sql.classify("-- hi\nSELECT 1") == ("DML", "SELECT")
    assert sql.classify("CREATE EXTERNAL TABLE t (a int) LOCATION 's3://b/'")[0] == "DDL"
    assert sql.classify("CREATE TABLE t AS SELECT 1") == ("DML", "CREATE_TABLE_AS_SELECT")
    assert sql.classify("SHOW TABLES")[0] == "UTILITY"


def test_create_external_table_parsing():
    db, table, if_not_exists = sql.parse_create_external(
        "CREATE EXTERNAL TABLE IF NOT EXISTS logs.requests (`ts` string COMMENT 'when', m map<string,int>) "
        "PARTITIONED BY (dt string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' "
        "LOCATION 's3://b/requests/' TBLPROPERTIES ('skip.header.line.count'='1')", "default")
    assert (db, table["Name"], if_not_exists) == ("logs", "requests", True)
    assert table["StorageDescriptor"]["Columns"] == [{"Name": "ts", "Type": "string", "Comment": "when"},
                                                     {"Name": "m", "Type": "map<string,int>"}]
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"]["field.delim"] == "\t"
    assert table["Parameters"]["skip.header.line.count"] == "1"
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]


def test_partition_predicate_keeps_only_partition_conjuncts():
    tree = sql.parse_select("SELECT * FROM t WHERE t.year = '2024' AND page = '/' AND month IN ('01', '02')")
    assert sql.partition_predicate(tree, {"year", "month"}) == "(year = '2024') AND (month IN ('01', '02'))"


def test_tables_are_replaced_by_views():
    tree = sql.parse_select("WITH x AS (SELECT 1) SELECT * FROM awsdatacatalog.db1.clicks c JOIN x ON true")
    tables = sql.tables_of(tree, "default")
    assert [(d, n) for d, n, _ in tables] == [("db1", "clicks")]
    out = sql.to_duckdb(tree, {"__default__": "default", ("db1", "clicks"): "t0_clicks"})
    assert '"t0_clicks" AS c' in out


def test_parameters_substitute_outside_quotes():
    assert sql.substitute("SELECT '?' , ? , ?", ["1", "'a'"]) == "SELECT '?' , 1 , 'a'"
    with pytest.raises(sql.QueryError):
        sql.substitute("SELECT ?", [])


def test_crawler_csv_without_header_and_json_types():
    inferred = crawler.infer("x.csv", b"1,a\n2,b\n")
    assert inferred.classification == "csv" and not inferred.header
    assert inferred.columns == [("col0", "bigint"), ("col1", "string")]
    inferred = crawler.infer("x.json", b'{"a": 1, "b": [1.5]}{"a": 3000000000}\n')
    assert inferred.columns == [("a", "bigint"), ("b", "array<double>")]


def test_crawler_partition_names():
    assert crawler.partition_keys([["year=2024", "01"], ["year=2023", "12"]]) == ["year", "partition_1"]


def test_custom_time_zone():
    assert prefixes.evaluate(None, WHEN, zone="Asia/Tokyo") == "2024/03/09/16/"
    assert prefixes.object_name("s", 1, WHEN, zone="Asia/Tokyo").startswith("s-1-2024-03-09-16-05-02-")
    assert not prefixes.valid_zone("Mars/Olympus")
