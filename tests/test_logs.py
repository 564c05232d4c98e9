"""CloudWatch Logs through boto3 and the CLI: groups, streams, events, paging tokens, filter
patterns, retention and tags — and the logs Lambda writes."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


def now_ms() -> int:
    return int(time.time() * 1000)


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


@pytest.fixture
def stream(logs, unique_name):
    group = "/test/" + unique_name("group")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s1")
    return group, "s1"


def put(logs, group, stream, messages, start=None):
    start = start or now_ms()
    events = [{"timestamp": start + i, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


@pytest.mark.postgres_e2e
def test_create_log_group_is_described(logs, unique_name):
    group = "/test/" + unique_name("g")
    logs.create_log_group(logGroupName=group)
    [found] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["logGroupName"] == group
    assert found["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    assert found["creationTime"] > 0 and "retentionInDays" not in found


def test_create_log_group_twice_answers_already_exists(logs, unique_name):
    group = "/test/" + unique_name("g")
    logs.create_log_group(logGroupName=group)
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=group)
    assert error(e)[0] == "ResourceAlreadyExistsException"


@pytest.mark.postgres_e2e
def test_delete_log_group_then_describe_is_empty(logs, unique_name):
    group = "/test/" + unique_name("g")
    logs.create_log_group(logGroupName=group)
    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    with pytest.raises(ClientError) as e:
        logs.delete_log_group(logGroupName=group)
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_describe_log_groups_pages(logs, unique_name):
    prefix = "/page/" + unique_name("p")
    for i in range(5):
        logs.create_log_group(logGroupName=f"{prefix}/{i}")
    names = [g["logGroupName"] for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 2}) for g in page["logGroups"]]
    assert names == [f"{prefix}/{i}" for i in range(5)]


def test_put_log_events_into_missing_stream_answers_not_found(logs, stream):
    group, _ = stream
    with pytest.raises(ClientError) as e:
        put(logs, group, "nope", ["x"])
    assert error(e) == ("ResourceNotFoundException", "The specified log stream does not exist.")


@pytest.mark.postgres_e2e
def test_get_log_events_from_head_returns_them_in_order(logs, stream):
    group, name = stream
    put(logs, group, name, ["one", "two", "three"])
    out = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)
    assert [e["message"] for e in out["events"]] == ["one", "two", "three"]
    assert out["nextForwardToken"].startswith("f/") and out["nextBackwardToken"].startswith("b/")


@pytest.mark.postgres_e2e
def test_get_log_events_forward_token_pages_and_then_repeats(logs, stream):
    group, name = stream
    put(logs, group, name, [f"m{i}" for i in range(5)])
    first = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True, limit=2)
    second = logs.get_log_events(logGroupName=group, logStreamName=name, nextToken=first["nextForwardToken"], limit=2)
    third = logs.get_log_events(logGroupName=group, logStreamName=name, nextToken=second["nextForwardToken"], limit=2)
    end = logs.get_log_events(logGroupName=group, logStreamName=name, nextToken=third["nextForwardToken"], limit=2)
    assert [e["message"] for e in first["events"] + second["events"] + third["events"]] == [f"m{i}" for i in range(5)]
    assert end["events"] == [] and end["nextForwardToken"] == third["nextForwardToken"]


def test_get_log_events_without_start_from_head_returns_the_latest(logs, stream):
    group, name = stream
    put(logs, group, name, [f"m{i}" for i in range(5)])
    out = logs.get_log_events(logGroupName=group, logStreamName=name, limit=2)
    assert [e["message"] for e in out["events"]] == ["m3", "m4"]
    back = logs.get_log_events(logGroupName=group, logStreamName=name, nextToken=out["nextBackwardToken"], limit=2)
    assert [e["message"] for e in back["events"]] == ["m1", "m2"]


def test_get_log_events_time_window(logs, stream):
    group, name = stream
    start = now_ms()
    put(logs, group, name, ["a", "b", "c"], start=start)
    out = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True, startTime=start + 1,
                              endTime=start + 2)
    assert [e["message"] for e in out["events"]] == ["b"]


def test_filter_log_events_by_term_and_phrase(logs, stream):
    group, name = stream
    put(logs, group, name, ["ERROR disk full", "INFO all good", "ERROR network down", "WARN disk slow"])
    by_term = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")
    assert [e["message"] for e in by_term["events"]] == ["ERROR disk full", "ERROR network down"]
    both = logs.filter_log_events(logGroupName=group, filterPattern="ERROR disk")
    assert [e["message"] for e in both["events"]] == ["ERROR disk full"]
    phrase = logs.filter_log_events(logGroupName=group, filterPattern='"all good"')
    assert [e["message"] for e in phrase["events"]] == ["INFO all good"]
    either = logs.filter_log_events(logGroupName=group, filterPattern="?WARN ?INFO")
    assert [e["message"] for e in either["events"]] == ["INFO all good", "WARN disk slow"]
    excluded = logs.filter_log_events(logGroupName=group, filterPattern="disk -WARN")
    assert [e["message"] for e in excluded["events"]] == ["ERROR disk full"]
    assert by_term["events"][0]["logStreamName"] == name and by_term["events"][0]["eventId"]


@pytest.mark.postgres_e2e
def test_filter_log_events_with_json_patterns(logs, stream):
    group, name = stream
    events = [{"level": "ERROR", "latency": 150, "user": {"id": "u1", "roles": ["admin"]}, "ok": False},
              {"level": "ERROR", "latency": 20, "user": {"id": "u2", "roles": ["dev"]}, "ok": True},
              {"level": "INFO", "latency": 500, "trace": None}]
    put(logs, group, name, [json.dumps(e) for e in events] + ["level ERROR, not JSON"])

    def found(pattern):
        return [json.loads(e["message"]) for e in
                logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]]

    assert found('{ $.level = "ERROR" }') == events[:2]
    assert found("{ $.level = ERR* }") == events[:2]
    assert found("{ $.latency > 100 }") == [events[0], events[2]]
    assert found('{ $.level = "ERROR" && ($.latency > 100 || $.user.id = "u2") }') == events[:2]
    assert found('{ $.level != "ERROR" }') == [events[2]]
    assert found('{ $.user.roles[0] = "dev" }') == [events[1]]
    assert found("{ $.ok IS FALSE }") == [events[0]]
    assert found("{ $.trace IS NULL }") == [events[2]]
    assert found("{ $.user NOT EXISTS }") == [events[2]]
    with pytest.raises(ClientError) as e:
        found("{ $.latency > fast }")
    assert error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:  # regular expressions are not supported yet: said, not misread
        found("%ERR.*%")
    assert error(e)[0] == "InvalidParameterException" and "not supported" in error(e)[1]


def test_filter_log_events_with_space_delimited_patterns(logs, stream):
    group, name = stream
    lines = ['127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
             '10.0.0.2 - - [10/Oct/2000:13:26:01 -0700] "GET /missing.html HTTP/1.0" 404 310',
             '10.0.0.3 - - [10/Oct/2000:13:27:44 -0700] "POST /form HTTP/1.0" 410 12',
             "a shorter line"]
    put(logs, group, name, lines)

    def found(pattern):
        return [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]]

    # fields split at spaces, [..] and ".." being one field each; a pattern without ... needs as many fields
    assert found("[ip, user, username, timestamp, request, status_code, bytes]") == lines[:3]
    assert found("[ip, user, username, timestamp, request, status_code = 404, bytes]") == [lines[1]]
    assert found("[ip, user, username, timestamp, request, status_code = 4*, bytes > 100]") == [lines[1]]
    assert found("[..., status_code = 404 || status_code = 410, bytes]") == lines[1:3]
    assert found("[ip = 10.*, ..., bytes < 100]") == [lines[2]]
    assert found("[..., request = *.html*, status_code != 200, bytes]") == [lines[1]]
    assert found("[first, second]") == []
    with pytest.raises(ClientError) as e:
        found("[a > many]")
    assert error(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_filter_log_events_pages_with_next_token(logs, stream):
    group, name = stream
    put(logs, group, name, [f"m{i}" for i in range(5)])
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, PaginationConfig={"PageSize": 2})
    assert [e["message"] for page in pages for e in page["events"]] == [f"m{i}" for i in range(5)]


@pytest.mark.postgres_e2e
def test_describe_log_streams_reports_event_times(logs, stream):
    group, name = stream
    start = now_ms()
    put(logs, group, name, ["a", "b"], start=start)
    [found] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert found["logStreamName"] == name
    assert found["firstEventTimestamp"] == start and found["lastEventTimestamp"] == start + 1


def test_retention_policy_is_set_and_removed(logs, stream):
    group, _ = stream
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 7
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def test_retention_policy_with_invalid_days_answers_invalid_parameter(logs, stream):
    group, _ = stream
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    assert error(e)[0] == "InvalidParameterException"


@pytest.mark.postgres_e2e
def test_tags_on_log_groups(logs, stream):
    group, _ = stream
    arn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"b": "2"}


@pytest.mark.postgres_e2e
def test_lambda_writes_start_end_report_to_its_log_group(client, logs, unique_name):
    lam = client("lambda")
    name = unique_name("logged")
    create_python(lam, name, "def handler(e, c):\n    print('hello from the function')\n    return 1\n")
    first = lam.invoke(FunctionName=name)["ResponseMetadata"]["RequestId"]
    second = lam.invoke(FunctionName=name)["ResponseMetadata"]["RequestId"]
    group = f"/aws/lambda/{name}"
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"].startswith(time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()))
    messages = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                                          startFromHead=True)["events"]]
    # each event a line with its newline, as AWS delivers them
    assert f"START RequestId: {first} Version: $LATEST\n" in messages
    assert "hello from the function\n" in messages
    assert f"END RequestId: {second}\n" in messages
    reports = [m for m in messages if m.startswith("REPORT")]
    assert len(reports) == 2
    assert "Init Duration: " in reports[0] and "Init Duration" not in reports[1]
    assert reports[1].endswith("\t\n")  # (AWS's REPORT line ends with a tab)
    parts = dict(p.split(": ", 1) for p in reports[1].rstrip("\t\n").split("\t")[1:])
    assert parts["Memory Size"] == "128 MB"
    assert float(parts["Duration"].split()[0]) > 0
    assert int(parts["Billed Duration"].split()[0]) >= 1


def test_cli_reads_lambda_logs(aws_cli, client, unique_name):
    lam = client("lambda")
    name = unique_name("clilog")
    create_python(lam, name, "def handler(e, c):\n    print('cli can see me')\n")
    lam.invoke(FunctionName=name)
    out = aws_cli("logs", "filter-log-events", "--log-group-name", f"/aws/lambda/{name}", "--filter-pattern",
                  '"cli can see me"')
    assert [e["message"] for e in out["events"]] == ["cli can see me\n"]
    assert json.dumps(out)


@pytest.mark.postgres_e2e
def test_retention_hides_and_deletes_expired_events(logs, stream):
    group, name = stream
    old = now_ms() - 2 * 86_400_000
    put(logs, group, name, ["old one"], start=old)
    put(logs, group, name, ["new one"])
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    got = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["new one"]
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == ["new one"]


# -- validation and ListLogGroups, as AWS's recorded answers show them ----------------------------

def test_limits_over_10000_answer_invalid_parameter(logs, stream):
    group, name = stream
    for call in (lambda: logs.get_log_events(logGroupName=group, logStreamName=name, limit=10001),
                 lambda: logs.filter_log_events(logGroupName=group, limit=10001)):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' "
                            "failed to satisfy constraint: Member must have value less than or equal to 10000")


def test_log_group_name_over_512_characters_answers_its_own_message(logs):
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="a" * 513)
    assert error(e) == ("InvalidParameterException",
                        "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")


def test_describe_log_streams_with_name_and_identifier_answers_validation(logs, stream):
    group, _ = stream
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group, logGroupIdentifier=group)
    assert error(e) == ("ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")


def test_list_log_groups_matches_a_case_sensitive_regular_expression(logs, unique_name):
    base = unique_name("List")
    names = [f"/list/{base}-a", f"/list/{base}-b", f"/other/{base}-c"]
    for name in names:
        logs.create_log_group(logGroupName=name)
    found = logs.list_log_groups(logGroupNamePattern=base)["logGroups"]
    assert [g["logGroupName"] for g in found] == names
    assert found[0] == {"logGroupName": names[0], "logGroupClass": "STANDARD",
                        "logGroupArn": f"arn:aws:logs:us-east-1:000000000000:log-group:{names[0]}"}
    assert logs.list_log_groups(logGroupNamePattern=base.lower())["logGroups"] == []
    prefixed = logs.list_log_groups(logGroupNamePattern=f"^/list/{base}|^/nomatch")["logGroups"]
    assert [g["logGroupName"] for g in prefixed] == names[:2]
    page = logs.list_log_groups(logGroupNamePattern=base, limit=2)
    assert len(page["logGroups"]) == 2
    rest = logs.list_log_groups(logGroupNamePattern=base, limit=2, nextToken=page["nextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == names[2:] and "nextToken" not in rest
    assert logs.list_log_groups(logGroupNamePattern="no-such-group-xyz")["logGroups"] == []


def test_a_log_group_keeps_the_class_it_was_created_with(logs, unique_name):
    base = unique_name("Class")
    logs.create_log_group(logGroupName=f"/class/{base}-ia", logGroupClass="INFREQUENT_ACCESS")
    logs.create_log_group(logGroupName=f"/class/{base}-std")
    described = logs.describe_log_groups(logGroupNamePrefix=f"/class/{base}")["logGroups"]
    assert [(g["logGroupName"], g["logGroupClass"]) for g in described] == [
        (f"/class/{base}-ia", "INFREQUENT_ACCESS"), (f"/class/{base}-std", "STANDARD")]
    only_ia = logs.describe_log_groups(logGroupNamePrefix=f"/class/{base}", logGroupClass="INFREQUENT_ACCESS")
    assert [g["logGroupName"] for g in only_ia["logGroups"]] == [f"/class/{base}-ia"]
    listed = logs.list_log_groups(logGroupNamePattern=base, logGroupClass="STANDARD")["logGroups"]
    assert [(g["logGroupName"], g["logGroupClass"]) for g in listed] == [(f"/class/{base}-std", "STANDARD")]
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=f"/class/{base}-bad", logGroupClass="COLD")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_resource_policies_are_replaced_by_name_and_limited_to_ten(logs, unique_name):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents",
                      "Principal": {"Service": "route53.amazonaws.com"}, "Resource": "*"}]})
    before = {p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]}
    names = [unique_name("pol") for _ in range(10 - len(before))]
    try:
        for name in names:
            answer = logs.put_resource_policy(policyName=name, policyDocument=doc)["resourcePolicy"]
            assert (answer["policyName"], answer["policyDocument"], answer["policyScope"]) == (name, doc, "ACCOUNT")
        with pytest.raises(ClientError) as e:
            logs.put_resource_policy(policyName=unique_name("pol"), policyDocument=doc)
        assert error(e) == ("LimitExceededException", "Resource limit exceeded.")
        replaced = doc.replace("route53", "delivery.logs")
        assert logs.put_resource_policy(policyName=names[0], policyDocument=replaced)["resourcePolicy"]["policyDocument"] \
            == replaced
        found = {p["policyName"]: p["policyDocument"] for p in logs.describe_resource_policies()["resourcePolicies"]}
        assert found[names[0]] == replaced and found[names[-1]] == doc
        with pytest.raises(ClientError) as e:
            logs.put_resource_policy(policyName=names[0], policyDocument="not json")
        assert error(e)[0] == "InvalidParameterException"
    finally:
        for name in names:
            logs.delete_resource_policy(policyName=name)


def test_a_next_token_that_holds_no_position_answers_invalid_parameter(logs, stream):
    import base64

    group, _ = stream
    token = base64.urlsafe_b64encode(b'"abc"').decode()  # decodes, but to no list position
    for call in (lambda: logs.describe_destinations(nextToken=token),
                 lambda: logs.describe_resource_policies(nextToken=token),
                 lambda: logs.describe_subscription_filters(logGroupName=group, nextToken=token)):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("InvalidParameterException", "The specified nextToken is invalid.")
