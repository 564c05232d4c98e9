"""CloudWatch Logs Insights through boto3: StartQuery runs a query of the supported subset over
the stored events, GetQueryResults / DescribeQueries / GetLogRecord read it back; and the
language's parser and natural sort directly."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from overcast.services.logs import insights


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


@pytest.fixture
def group(logs, unique_name):
    """A group with five events a second apart: three JSON, two plain text."""
    name = "/test/" + unique_name("insights")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s1")
    now = int(time.time() * 1000)
    messages = [json.dumps({"level": "ERROR", "latency": 150, "user": {"id": "a"}}),
                json.dumps({"level": "INFO", "latency": 20, "user": {"id": "b"}}),
                json.dumps({"level": "ERROR", "latency": 300, "user": {"id": "a"}}),
                "plain event one", "plain event two"]
    logs.put_log_events(logGroupName=name, logStreamName="s1", logEvents=[
        {"timestamp": now - (5 - i) * 1000, "message": m} for i, m in enumerate(messages)])
    return name


def run(logs, group, query, **kwargs):
    now = int(time.time())
    query_id = logs.start_query(logGroupName=group, startTime=now - 600, endTime=now + 60, queryString=query,
                                **kwargs)["queryId"]
    out = logs.get_query_results(queryId=query_id)
    assert out["status"] == "Complete"
    return out


def rows(out) -> list[dict]:
    return [{cell["field"]: cell["value"] for cell in row} for row in out["results"]]


def test_fields_sort_and_limit_answer_the_newest_events_with_pointers(logs, group):
    out = run(logs, group, "fields @timestamp, @message | sort @timestamp desc | limit 2")
    got = rows(out)
    assert [r["@message"] for r in got] == ["plain event two", "plain event one"]
    assert [list(r) for r in got] == [["@timestamp", "@message", "@ptr"]] * 2
    assert len(got[0]["@timestamp"]) == len("2026-12-04 05:40:48.123")
    assert out["statistics"]["recordsScanned"] == 5.0 and out["statistics"]["recordsMatched"] == 5.0
    record = logs.get_log_record(logRecordPointer=got[0]["@ptr"])["logRecord"]
    assert record["@message"] == "plain event two" and record["@logStream"] == "s1"
    assert record["@log"] == f"000000000000:{group}"


def test_filter_on_json_fields_and_default_fields(logs, group):
    got = rows(run(logs, group, 'filter level = "ERROR" and latency > 100 and user.id = "a" | sort latency asc'))
    assert [json.loads(r["@message"])["latency"] for r in got] == [150, 300]
    assert list(got[0]) == ["@timestamp", "@message", "@logStream", "@log", "@ptr"]
    got = rows(run(logs, group, "fields @message | filter @message like /plain event/ and @message not like 'two'"))
    assert [r["@message"] for r in got] == ["plain event one"]
    got = rows(run(logs, group, "filter level in ['INFO', 'DEBUG'] | fields level, latency * 2 as double"))
    assert [(r["level"], r["double"]) for r in got] == [("INFO", "40")]


def test_stats_aggregate_by_field(logs, group):
    got = rows(run(logs, group, "filter ispresent(level) | stats count(*) as n, avg(latency), max(latency) by level "
                                "| sort n desc"))
    assert got == [{"level": "ERROR", "n": "2", "avg(latency)": "225", "max(latency)": "300"},
                   {"level": "INFO", "n": "1", "avg(latency)": "20", "max(latency)": "20"}]
    got = rows(run(logs, group, "stats count(*) by bin(1h)"))
    assert len(got) in (1, 2) and sum(int(r["count(*)"]) for r in got) == 5  # the hour may turn meanwhile


def test_describe_queries_shows_the_query_as_aws_records_it(logs, group, unique_name):
    now = int(time.time())
    query_id = logs.start_query(logGroupName=group, startTime=now - 3600, endTime=now + 300,
                                queryString="fields @message")["queryId"]
    queries = logs.describe_queries(logGroupName=group, status="Complete")["queries"]
    assert {"queryLanguage": "CWLI", "queryId": query_id, "status": "Complete", "logGroupName": group,
            "queryString": f'SOURCE "{group}" START={now - 3600}000 END={now + 300}999 | fields @message'} \
        == {k: v for k, v in queries[0].items() if k != "createTime"}
    assert logs.describe_queries(logGroupName=group, status="Scheduled")["queries"] == []
    empty = "/test/" + unique_name("empty")
    logs.create_log_group(logGroupName=empty)
    assert logs.describe_queries(logGroupName=empty)["queries"] == []


def test_bad_queries_answer_aws_errors(logs, group):
    now = int(time.time())
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName=group + "-none", startTime=now - 60, endTime=now, queryString="fields @message")
    assert error(e) == ("ResourceNotFoundException", f"Log group '{group}-none' does not exist for account ID "
                        "'000000000000'")
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName=group, startTime=now - 60, endTime=now, queryString="fields @message | limit 0")
    assert error(e)[0] == "MalformedQueryException"
    assert e.value.response["queryCompileError"]["location"] == {"startCharOffset": 24, "endCharOffset": 25}
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName=group, startTime=now, endTime=now - 60, queryString="fields @message")
    assert error(e)[0] == "InvalidParameterException"
    for kwargs in ({"queryString": "pattern @message"},
                   {"queryString": "SELECT * FROM x", "queryLanguage": "SQL"}):
        with pytest.raises(ClientError) as e:
            logs.start_query(logGroupName=group, startTime=now - 60, endTime=now, **kwargs)
        assert error(e)[0] == "NotImplemented" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as e:
        logs.get_query_results(queryId="00000000-0000-0000-0000-000000000000")
    assert error(e)[0] == "ResourceNotFoundException"
    query_id = logs.start_query(logGroupName=group, startTime=now - 60, endTime=now,
                                queryString="fields @message")["queryId"]
    with pytest.raises(ClientError) as e:  # it ran when it was started
        logs.stop_query(queryId=query_id)
    assert error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.get_log_record(logRecordPointer="not-a-pointer")
    assert error(e)[0] == "InvalidParameterException"


def test_natural_sort_order_as_aws_documents_it():
    values = ["a12345hfh", "0", "5A", "@", "A9876fghj", "111A", "!:", "A", "2345_"]
    query = insights.parse("sort v asc")
    run_ = insights.Run(query, 100)
    for i, v in enumerate(values):
        run_.add({"@timestamp": insights.Timestamp(i), "@message": "", "@ptr": str(i), "v": v})
    run_.query.steps = query.steps
    ordered = [row[-1]["value"] for row in run_.finish()[0]]
    by_ptr = [values[int(p)] for p in ordered]
    assert by_ptr == ["!:", "5A", "111A", "2345_", "@", "A", "A9876fghj", "a12345hfh", "0"]


@pytest.mark.parametrize("text", ["fields", "filter x =", "limit 0", "foo", "fields @message |", "filter x like",
                                  "filter 'open"])
def test_malformed_queries(text):
    with pytest.raises(insights.Malformed):
        insights.parse(text)


def test_a_query_nested_too_deeply_is_malformed_not_a_crash(logs, group):
    """Thousands of nested parentheses or chained operators: evaluated, or (past the interpreter's
    recursion limit, which differs between builds) refused as malformed; never a server error."""
    for text, value in [("fields " + "(" * 2000 + "1" + ")" * 2000 + " as n", "1"),
                        ("fields " + "+".join(["1"] * 4000) + " as n", "4000")]:
        try:
            out = run(logs, group, text)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "MalformedQueryException"
        else:
            assert {r["n"] for r in rows(out)} == {value}



def test_parse_with_a_glob_or_named_groups_and_dedup(logs, unique_name):
    name = "/test/" + unique_name("parse")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = int(time.time() * 1000)
    messages = ["user=alice method=GET latency=12", "user=bob method=POST latency=30",
                "user=alice method=GET latency=7", "garbage"]
    logs.put_log_events(logGroupName=name, logStreamName="s",
                        logEvents=[{"timestamp": now - 10_000 + i, "message": m} for i, m in enumerate(messages)])
    got = rows(run(logs, name, 'parse @message "user=* method=* latency=*" as user, method, latency '
                               "| filter ispresent(user) | stats sum(latency) as total by user | sort total desc"))
    assert got == [{"user": "bob", "total": "30"}, {"user": "alice", "total": "19"}]
    got = rows(run(logs, name, "parse @message /user=(?<u>\\w+) method=(?<m>\\w+)/ | filter ispresent(u) "
                               "| sort @timestamp asc | dedup u | display u, m"))
    assert [(r["u"], r["m"]) for r in got] == [("alice", "GET"), ("bob", "POST")]
    with pytest.raises(ClientError) as e:  # one name per wildcard
        run(logs, name, 'parse @message "user=* method=*" as user')
    assert error(e)[0] == "MalformedQueryException"
