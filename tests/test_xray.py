"""AWS X-Ray through boto3, the AWS CLI, the X-Ray SDK for Python and raw daemon datagrams:
PutTraceSegments' checks and UnprocessedTraceSegments, in-progress segments replaced by complete
ones, independent subsegments joined to their segment, trace summaries and filter expressions,
the trace and service graphs, the sampling API, the daemon's UDP port, and durability."""

from __future__ import annotations

import json
import os
import random
import socket
import time

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client


@pytest.fixture(scope="module")
def xray(client):
    return client("xray")


def trace_id(at: float | None = None) -> str:
    return f"1-{int(at or time.time()):08x}-{os.urandom(12).hex()}"


def segment_id() -> str:
    return os.urandom(8).hex()


def document(tid: str, sid: str | None = None, name: str = "web", start: float | None = None, took: float = 0.05,
             **fields) -> dict:
    start = time.time() - 1 if start is None else start
    doc = {"name": name, "id": sid or segment_id(), "trace_id": tid, "start_time": start, "end_time": start + took}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def put(xray, *docs) -> list[dict]:
    out = xray.put_trace_segments(TraceSegmentDocuments=[d if isinstance(d, str) else json.dumps(d) for d in docs])
    return out["UnprocessedTraceSegments"]


def summaries(xray, expression: str | None = None, **kwargs) -> list[dict]:
    now = time.time()
    params = {"StartTime": now - 300, "EndTime": now + 60, **kwargs}
    if expression:
        params["FilterExpression"] = expression
    found = []
    for page in xray.get_paginator("get_trace_summaries").paginate(**params):
        found += page["TraceSummaries"]
    return found


def ids_of(xray, expression: str) -> set[str]:
    return {s["Id"] for s in summaries(xray, expression)}


# -- PutTraceSegments ------------------------------------------------------------------------------

@pytest.mark.postgres_e2e
def test_put_trace_segments_accepts_a_minimal_segment(xray):
    tid = trace_id()
    assert put(xray, document(tid)) == []
    traces = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    assert [t["Id"] for t in traces] == [tid]


@pytest.mark.parametrize("change, code", [
    ({"id": None}, "MissingId"),
    ({"id": "XYZ"}, "InvalidId"),
    ({"name": None}, "MissingName"),
    ({"name": "bad<name>"}, "InvalidName"),
    ({"name": "n" * 201}, "InvalidName"),
    ({"trace_id": None}, "MissingTraceId"),
    ({"trace_id": "1-abc"}, "InvalidTraceId"),
    ({"start_time": None}, "MissingStartTime"),
    ({"start_time": "yesterday"}, "InvalidStartTime"),
    ({"end_time": None}, "MissingEndTime"),
    ({"end_time": "later"}, "InvalidEndTime"),
    ({"parent_id": "nope"}, "InvalidParentId"),
])
def test_a_malformed_segment_is_unprocessed_with_xrays_error_code(xray, change, code):
    doc = document(trace_id())
    for key, value in change.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    [refused] = put(xray, doc)
    assert refused["ErrorCode"] == code
    assert refused["Message"] == f"Invalid segment. ErrorCode: {code}"
    if "id" in doc and code != "InvalidId":
        assert refused["Id"] == doc["id"]


def test_a_trace_id_older_than_thirty_days_is_invalid(xray):
    doc = document(trace_id(time.time() - 31 * 86400))
    [refused] = put(xray, doc)
    assert refused == {"Id": doc["id"], "ErrorCode": "InvalidTraceId",
                       "Message": "Invalid segment. ErrorCode: InvalidTraceId"}


def test_an_empty_array_is_refused_for_its_missing_id(xray):
    assert put(xray, "[]") == [{"ErrorCode": "MissingId", "Message": "Invalid segment. ErrorCode: MissingId"}]


def test_a_document_that_is_not_json_is_unprocessed(xray):
    [refused] = put(xray, '{"name": "web", ')
    assert refused["ErrorCode"] == "MalformedJson"


def test_a_nested_subsegment_without_end_is_refused_under_its_segments_id(xray):
    doc = document(trace_id(), subsegments=[{"name": "db", "id": segment_id(), "start_time": time.time()}])
    [refused] = put(xray, doc)
    assert refused == {"Id": doc["id"], "ErrorCode": "MissingEndTime",
                       "Message": "Invalid subsegment. ErrorCode: MissingEndTime, Cause: null"}


def test_an_independent_subsegment_needs_a_parent(xray):
    doc = document(trace_id(), type="subsegment")
    [refused] = put(xray, doc)
    assert refused["ErrorCode"] == "MissingParentId"
    assert refused["Message"] == "Invalid subsegment. ErrorCode: MissingParentId, Cause: null"


def test_a_document_over_64_kb_is_unprocessed(xray):
    doc = document(trace_id(), metadata={"default": {"blob": "x" * 70_000}})
    [refused] = put(xray, doc)
    assert refused["Id"] == doc["id"] and refused["ErrorCode"] == "SegmentTooLarge"


def test_only_the_bad_documents_of_a_batch_are_refused(xray):
    tid = trace_id()
    good, bad = document(tid), document(tid, name="")
    [refused] = put(xray, good, bad)
    assert refused["Id"] == bad["id"]
    [trace] = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    assert [s["Id"] for s in trace["Segments"]] == [good["id"]]


def test_an_in_progress_segment_is_replaced_by_the_complete_one(xray):
    tid, sid = trace_id(), segment_id()
    start = time.time() - 2
    assert put(xray, {"name": "long-job", "id": sid, "trace_id": tid, "start_time": start, "in_progress": True}) == []
    [summary] = [s for s in summaries(xray) if s["Id"] == tid]
    assert summary["IsPartial"] is True
    assert put(xray, document(tid, sid, name="long-job", start=start, took=1.5)) == []
    [trace] = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    [seg] = trace["Segments"]
    body = json.loads(seg["Document"])
    assert "in_progress" not in body and body["end_time"] == pytest.approx(start + 1.5)
    [summary] = [s for s in summaries(xray) if s["Id"] == tid]
    assert summary["IsPartial"] is False and summary["ResponseTime"] == pytest.approx(1.5)


# -- BatchGetTraces --------------------------------------------------------------------------------

@pytest.mark.postgres_e2e
def test_batch_get_traces_puts_independent_subsegments_in_their_segment(xray):
    tid, sid, sub_id, inner_id = trace_id(), segment_id(), segment_id(), segment_id()
    start = time.time() - 1
    put(xray, document(tid, sid, start=start, took=0.5),
        document(tid, sub_id, name="DynamoDB", start=start + 0.1, took=0.2, type="subsegment", parent_id=sid,
                 namespace="aws", aws={"operation": "GetItem", "table_name": "orders"}),
        document(tid, inner_id, name="marshal", start=start + 0.15, took=0.01, type="subsegment", parent_id=sub_id))
    [trace] = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    assert trace["Id"] == tid and trace["Duration"] == pytest.approx(0.5) and trace["LimitExceeded"] is False
    [seg] = trace["Segments"]
    body = json.loads(seg["Document"])
    [sub] = body["subsegments"]
    assert sub["id"] == sub_id and sub["name"] == "DynamoDB" and sub["aws"]["operation"] == "GetItem"
    assert "type" not in sub and "parent_id" not in sub
    assert [s["id"] for s in sub["subsegments"]] == [inner_id]


def test_batch_get_traces_lists_unknown_ids_as_unprocessed(xray):
    known = trace_id()
    put(xray, document(known))
    unknown = trace_id()
    out = xray.batch_get_traces(TraceIds=[known, unknown])
    assert [t["Id"] for t in out["Traces"]] == [known]
    assert out["UnprocessedTraceIds"] == [unknown]


@pytest.mark.postgres_e2e
def test_segments_are_kept_per_account(client):
    tid = trace_id()
    mine, theirs = client("xray", access_key="111111111111"), client("xray", access_key="222222222222")
    put(mine, document(tid))
    assert [t["Id"] for t in mine.batch_get_traces(TraceIds=[tid])["Traces"]] == [tid]
    assert theirs.batch_get_traces(TraceIds=[tid])["Traces"] == []


# -- GetTraceSummaries -----------------------------------------------------------------------------

@pytest.mark.postgres_e2e
def test_a_summary_describes_the_trace(xray):
    tid, sid = trace_id(), segment_id()
    start = time.time() - 3
    put(xray, document(tid, sid, name="api.example.com", start=start, took=0.8, user="alice",
                       origin="AWS::EC2::Instance", annotations={"gameid": "817DL6VO", "level": 3},
                       http={"request": {"method": "POST", "url": "https://api.example.com/games",
                                         "user_agent": "curl/8", "client_ip": "10.0.0.1"},
                             "response": {"status": 502}},
                       resource_arn="arn:aws:ec2:us-east-1:000000000000:instance/i-1"),
        document(tid, name="backend", start=start + 0.1, took=1.2, parent_id=sid))
    [summary] = [s for s in summaries(xray) if s["Id"] == tid]
    assert summary["Duration"] == pytest.approx(1.3) and summary["ResponseTime"] == pytest.approx(0.8)
    assert summary["HasFault"] is True and summary["HasError"] is False and summary["HasThrottle"] is False
    assert summary["Http"] == {"HttpURL": "https://api.example.com/games", "HttpStatus": 502, "HttpMethod": "POST",
                               "UserAgent": "curl/8", "ClientIp": "10.0.0.1"}
    assert summary["EntryPoint"] == {"Name": "api.example.com", "Names": ["api.example.com"],
                                     "AccountId": "000000000000", "Type": "AWS::EC2::Instance"}
    assert {s["Name"] for s in summary["ServiceIds"]} == {"api.example.com", "backend"}
    assert summary["Annotations"]["gameid"][0]["AnnotationValue"] == {"StringValue": "817DL6VO"}
    assert summary["Annotations"]["level"][0]["AnnotationValue"] == {"NumberValue": 3.0}
    assert summary["Users"] == [{"UserName": "alice", "ServiceIds": [summary["EntryPoint"]]}]
    assert summary["ResourceARNs"] == [{"ARN": "arn:aws:ec2:us-east-1:000000000000:instance/i-1"}]


def test_summaries_are_limited_to_the_time_range(xray):
    tid = trace_id()
    put(xray, document(tid))
    now = time.time()
    later = xray.get_trace_summaries(StartTime=now + 3600, EndTime=now + 7200)["TraceSummaries"]
    assert tid not in {s["Id"] for s in later}
    by_id = xray.get_trace_summaries(StartTime=now - 120, EndTime=now + 60, TimeRangeType="TraceId")["TraceSummaries"]
    assert tid in {s["Id"] for s in by_id}


@pytest.mark.postgres_e2e
def test_summaries_come_in_pages(client):
    # an account no other test uses: X-Ray's summaries include overcast's own traces of the
    # account (ring.py), and other test files call other services as 333333333333
    xray = client("xray", access_key=str(random.randrange(10**11, 10**12)))
    tids = [trace_id() for _ in range(130)]
    put(xray, *[document(t) for t in tids[:65]])
    put(xray, *[document(t) for t in tids[65:]])
    now = time.time()
    first = xray.get_trace_summaries(StartTime=now - 300, EndTime=now + 60)
    assert len(first["TraceSummaries"]) == 100 and first["NextToken"]
    second = xray.get_trace_summaries(StartTime=now - 300, EndTime=now + 60, NextToken=first["NextToken"])
    assert "NextToken" not in second
    assert {s["Id"] for s in first["TraceSummaries"] + second["TraceSummaries"]} == set(tids)


def test_a_bad_next_token_is_an_invalid_request(xray):
    now = time.time()
    with pytest.raises(ClientError) as e:
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now, NextToken="nope")
    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


@pytest.fixture(scope="module")
def shop(client):
    """Three traces in an account of their own: a checkout that faulted in payments, a slow
    browse, and a throttled search by bob."""
    xray = client("xray", access_key="444444444444")
    start = time.time() - 10
    checkout, browse, search = trace_id(), trace_id(), trace_id()
    front = segment_id()
    put(xray,
        document(checkout, front, name="shop-api", start=start, took=0.3, annotations={"cart": "c-1"},
                 http={"request": {"method": "POST", "url": "https://shop/api/checkout"}, "response": {"status": 200}}),
        document(checkout, name="payments", start=start + 0.05, took=0.2, parent_id=front, fault=True,
                 http={"response": {"status": 503}}),
        document(browse, name="shop-api", start=start + 1, took=6.0, user="alice",
                 http={"request": {"method": "GET", "url": "https://shop/api/items"}, "response": {"status": 200}}),
        document(search, name="search", start=start + 2, took=0.1, user="bob", throttle=True, error=True,
                 http={"request": {"method": "GET", "url": "https://shop/search?q=x"}, "response": {"status": 429}}))
    return xray, {"checkout": checkout, "browse": browse, "search": search}


@pytest.mark.parametrize("expression, expected", [
    ('service("payments")', {"checkout"}),
    ('service("payments") { fault }', {"checkout"}),
    ('service("payments") { ok }', set()),
    ('service() { fault }', {"checkout"}),
    ('!service("payments")', {"browse", "search"}),
    ('edge("shop-api", "payments") { fault }', {"checkout"}),
    ('service("shop-api") { root = true }', {"checkout", "browse"}),
    ("fault", set()),
    ("ok", {"checkout", "browse"}),
    ("!ok", {"search"}),
    ("error AND throttle", {"search"}),
    ("throttle = false", {"checkout", "browse"}),
    ("responsetime > 5", {"browse"}),
    ("duration >= 5 AND duration <= 8", {"browse"}),
    ("http.status = 429", {"search"}),
    ("http.status != 200", {"search"}),
    ('http.url CONTAINS "/api/"', {"checkout", "browse"}),
    ('http.url BEGINSWITH "https://shop/search"', {"search"}),
    ('http.method = "GET" AND responseTime < 1', {"search"}),
    ('user = "alice" OR user = "bob"', {"browse", "search"}),
    ('user CONTAINS ""', {"browse", "search"}),
    ('annotation.cart = "c-1"', {"checkout"}),
    ("annotation.cart", {"checkout"}),
    ("!annotation.cart", {"browse", "search"}),
    ('(ok AND partial) OR (http.status = 429)', {"search"}),
    ("ok !partial duration < 3", {"checkout"}),
])
def test_filter_expressions(shop, expression, expected):
    xray, traces = shop
    names = {v: k for k, v in traces.items()}
    assert {names[i] for i in ids_of(xray, expression) if i in names} == expected


@pytest.mark.parametrize("expression", [
    'rootcause.fault.service { name = "Auth" }',
    "group.name = \"high_response_time\"",
    "responsetime > ",
    'service("a"',
    "http.status CONTAINS 5",
    "root",
    "fault = maybe",
])
def test_an_unsupported_or_malformed_filter_is_an_invalid_request(xray, expression):
    now = time.time()
    with pytest.raises(ClientError) as e:
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now, FilterExpression=expression)
    assert e.value.response["Error"]["Code"] == "InvalidRequestException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- graphs ----------------------------------------------------------------------------------------

def test_the_trace_graph_has_a_node_per_service_and_an_edge_per_call(shop):
    xray, traces = shop
    services = xray.get_trace_graph(TraceIds=[traces["checkout"]])["Services"]
    by_name = {s["Name"]: s for s in services}
    assert set(by_name) == {"shop-api", "payments"}
    api, payments = by_name["shop-api"], by_name["payments"]
    assert api["Root"] is True and payments["Root"] is False
    [edge] = api["Edges"]
    assert edge["ReferenceId"] == payments["ReferenceId"]
    assert edge["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1
    assert payments["SummaryStatistics"]["TotalCount"] == 1 and payments["SummaryStatistics"]["OkCount"] == 0


@pytest.mark.postgres_e2e
def test_the_service_graph_covers_the_time_range(shop):
    xray, _ = shop
    now = time.time()
    services = xray.get_service_graph(StartTime=now - 300, EndTime=now + 60)["Services"]
    by_name = {s["Name"]: s for s in services}
    assert {"shop-api", "payments", "search"} <= set(by_name)
    assert by_name["shop-api"]["SummaryStatistics"]["TotalCount"] == 2
    assert by_name["search"]["SummaryStatistics"]["ErrorStatistics"]["ThrottleCount"] == 1


# -- sampling and telemetry ------------------------------------------------------------------------

def test_get_sampling_rules_answers_the_default_rule(xray):
    [record] = xray.get_sampling_rules()["SamplingRuleRecords"]
    rule = record["SamplingRule"]
    assert rule["RuleName"] == "Default" and rule["Priority"] == 10000
    assert rule["FixedRate"] == 0.05 and rule["ReservoirSize"] == 1
    assert rule["RuleARN"] == "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default"
    for key in ("ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath", "ResourceARN"):
        assert rule[key] == "*"


def test_get_sampling_targets_gives_the_default_rules_quota(xray):
    now = time.time()
    out = xray.get_sampling_targets(SamplingStatisticsDocuments=[
        {"RuleName": "Default", "ClientID": "a" * 24, "Timestamp": now, "RequestCount": 10, "SampledCount": 2},
        {"RuleName": "missing", "ClientID": "a" * 24, "Timestamp": now, "RequestCount": 1, "SampledCount": 0}])
    [target] = out["SamplingTargetDocuments"]
    assert target["RuleName"] == "Default" and target["FixedRate"] == 0.05 and target["ReservoirQuota"] == 1
    assert target["Interval"] == 10 and target["ReservoirQuotaTTL"].timestamp() > now
    assert [u["RuleName"] for u in out["UnprocessedStatistics"]] == ["missing"]


def test_put_telemetry_records_is_accepted(xray):
    xray.put_telemetry_records(TelemetryRecords=[{"Timestamp": time.time(), "SegmentsReceivedCount": 1,
                                                  "SegmentsSentCount": 1}], Hostname="build-host")


def test_the_aws_cli_puts_and_reads_back_a_trace(aws_cli):
    tid = trace_id()
    out = aws_cli("xray", "put-trace-segments", "--trace-segment-documents", json.dumps(document(tid)))
    assert out["UnprocessedTraceSegments"] == []
    traces = aws_cli("xray", "batch-get-traces", "--trace-ids", tid)["Traces"]
    assert [t["Id"] for t in traces] == [tid]


# -- the daemon's UDP port and the X-Ray SDK -------------------------------------------------------

def daemon_address(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.rsplit("/", 1)[1].rsplit(":", 1)
    return "127.0.0.1", int(port)


def wait_for_trace(xray, tid: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
    deadline = time.time() + timeout
    while True:
        traces = xray.batch_get_traces(TraceIds=[tid])["Traces"]
        if traces and len(traces[0]["Segments"]) >= count:
            return [json.loads(s["Document"]) for s in traces[0]["Segments"]]
        if time.time() > deadline:
            raise AssertionError(f"trace {tid} did not arrive")
        time.sleep(0.05)


def test_the_daemon_port_takes_segments_over_udp(xray, endpoint):
    tid = trace_id()
    doc = document(tid, name="udp-service")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"not a daemon datagram", daemon_address(endpoint))
        sock.sendto(b'{"format": "json", "version": 1}\n' + json.dumps(doc).encode(), daemon_address(endpoint))
    [got] = wait_for_trace(xray, tid)
    assert got["id"] == doc["id"] and got["name"] == "udp-service"


def test_the_xray_sdk_sends_its_segments_to_overcast(xray, endpoint):
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

    host, port = daemon_address(endpoint)
    recorder = AWSXRayRecorder()
    recorder.configure(daemon_address=f"{host}:{port}", sampling=False, context_missing="LOG_ERROR",
                       service="sdk-checkout")
    segment = recorder.begin_segment("sdk-checkout")
    segment.put_annotation("order", "o-42")
    segment.set_user("carol")
    with recorder.in_subsegment("reserve-stock") as sub:
        sub.put_metadata("items", 3)
    recorder.end_segment()
    tid = segment.trace_id
    [got] = wait_for_trace(xray, tid)
    assert got["name"] == "sdk-checkout" and got["annotations"] == {"order": "o-42"} and got["user"] == "carol"
    assert [s["name"] for s in got["subsegments"]] == ["reserve-stock"]
    assert tid in ids_of(xray, 'annotation.order = "o-42"')


def test_the_xray_sdks_sampling_client_reads_the_rules_unsigned(endpoint):
    """The SDK's centralized sampling calls GetSamplingRules and GetSamplingTargets without a
    signature, through the daemon's TCP address: overcast answers them there."""
    from aws_xray_sdk.core.sampling.connector import ServiceConnector

    host, port = daemon_address(endpoint)
    connector = ServiceConnector()
    connector.setup_xray_client(ip=host, port=port, client=None)
    rules = connector.fetch_sampling_rules()
    assert [r.name for r in rules] == ["Default"] and rules[0].rate == 0.05
    rules[0].increment_request_count()
    targets, modified = connector.fetch_sampling_target(rules)
    assert targets["Default"]["quota"] == 1 and targets["Default"]["rate"] == 0.05


# -- durability ------------------------------------------------------------------------------------

def test_acknowledged_segments_survive_kill_9(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        xray = make_client(server.endpoint, "xray")
        tid = trace_id()
        assert put(xray, document(tid)) == []
        server.stop(kill=True)
        server = OvercastProcess(data_dir=str(tmp_path))
        xray = make_client(server.endpoint, "xray")
        assert [t["Id"] for t in xray.batch_get_traces(TraceIds=[tid])["Traces"]] == [tid]
    finally:
        server.stop()


# -- X-Ray segments and overcast's own trace -------------------------------------------------------

def traced(client, header: str):
    """The client sends `header` as X-Amzn-Trace-Id on every call."""
    def add(request, **_):
        request.headers["X-Amzn-Trace-Id"] = header
    client.meta.events.register("before-sign.*.*", add)
    return client


def ring_trace(endpoint: str, tid: str, count: int, timeout: float = 15.0) -> list[dict]:
    """The spans of a trace in overcast's ring (/_overcast/traces/{id}), once `count` arrived."""
    deadline = time.time() + timeout
    while True:
        answer = httpx.get(f"{endpoint}/_overcast/traces/{tid}")
        spans = answer.json()["spans"] if answer.status_code == 200 else []
        if len(spans) >= count and all(s["end"] is not None for s in spans):
            return spans
        if time.time() > deadline:
            raise AssertionError(f"trace {tid}: {spans}")
        time.sleep(0.05)


@pytest.mark.postgres_e2e
def test_segments_join_the_trace_of_overcasts_own_spans(client, xray, endpoint):
    """An application's segment calls SQS with its subsegment as parent: the segment and the
    subsegment become spans of the same trace as overcast's SQS span, and X-Ray reads the three
    together (overcast's span as a segment whose parent is the subsegment)."""
    tid, app_id, call_id = trace_id(), segment_id(), segment_id()
    sqs = traced(client("sqs"), f"Root={tid};Parent={call_id};Sampled=1")
    start = time.time()
    sqs.list_queues()
    put(xray, document(tid, app_id, name="checkout", start=start - 0.01, took=0.5, subsegments=[
        {"name": "SQS", "id": call_id, "start_time": start - 0.005, "end_time": start + 0.3, "namespace": "aws",
         "aws": {"operation": "ListQueues"}}]))
    spans = {s["spanId"]: s for s in ring_trace(endpoint, tid, 3)}
    api = next(s for s in spans.values() if s["kind"] == "api" and s["name"] == "SQS.ListQueues")
    assert api["parentId"] == call_id
    assert spans[call_id]["kind"] == "xray" and spans[call_id]["parentId"] == app_id
    assert spans[call_id]["name"] == "SQS" and spans[call_id]["operation"] == "ListQueues"
    assert spans[app_id]["kind"] == "xray" and spans[app_id]["parentId"] is None and spans[app_id]["name"] == "checkout"
    assert json.loads(spans[app_id]["request"])["id"] == app_id  # the document as sent

    [trace] = xray.batch_get_traces(TraceIds=[tid])["Traces"]
    documents = {s["Id"]: json.loads(s["Document"]) for s in trace["Segments"]}
    assert set(documents) == {app_id, api["spanId"]}
    own = documents[api["spanId"]]
    assert own["name"] == "SQS" and own["origin"] == "AWS::SQS::Queue" and own["parent_id"] == call_id
    assert own["aws"] == {"operation": "ListQueues", "region": "us-east-1", "account_id": "000000000000"}
    assert own["http"] == {"response": {"status": 200}}

    [summary] = [s for s in summaries(xray, 'service("SQS")') if s["Id"] == tid]
    assert summary["EntryPoint"]["Name"] == "checkout"
    assert {s["Name"] for s in summary["ServiceIds"]} == {"checkout", "SQS"}
    services = {s["Name"]: s for s in xray.get_trace_graph(TraceIds=[tid])["Services"]}
    [edge] = services["checkout"]["Edges"]
    assert edge["ReferenceId"] == services["SQS"]["ReferenceId"]


def test_an_in_progress_segment_is_an_open_span_until_it_completes(xray, endpoint):
    tid, sid = trace_id(), segment_id()
    start = time.time() - 1
    put(xray, {"name": "batch-job", "id": sid, "trace_id": tid, "start_time": start, "in_progress": True})
    deadline = time.time() + 10
    while True:
        answer = httpx.get(f"{endpoint}/_overcast/traces/{tid}")
        if answer.status_code == 200:
            break
        assert time.time() < deadline
        time.sleep(0.05)
    [span] = answer.json()["spans"]
    assert span["spanId"] == sid and span["end"] is None
    put(xray, document(tid, sid, name="batch-job", start=start, took=0.75, fault=True,
                       cause={"exceptions": [{"type": "TimeoutError", "message": "took too long"}]}))
    [span] = ring_trace(endpoint, tid, 1)
    assert span["end"] == pytest.approx(start + 0.75) and span["durationMs"] == pytest.approx(750, abs=1)
    assert span["status"] == "error" and span["error"] == "TimeoutError: took too long"


def test_the_xray_api_does_not_see_its_own_calls(client, endpoint):
    own = trace_id()
    traced(client("xray"), f"Root={own};Sampled=1").get_trace_summaries(StartTime=time.time() - 60,
                                                                        EndTime=time.time() + 60)
    ring_trace(endpoint, own, 1)  # overcast recorded the call
    assert own not in {s["Id"] for s in summaries(client("xray"))}


XRAY_FUNCTION = '''
import os

import boto3
from aws_xray_sdk.core import patch, xray_recorder

patch(["boto3"])


def handler(event, context):
    with xray_recorder.in_subsegment("reserve-stock") as sub:
        sub.put_annotation("order", event["order"])
        boto3.client("sqs").list_queues()
    return {"trace": os.environ["_X_AMZN_TRACE_ID"], "daemon": os.environ["AWS_XRAY_DAEMON_ADDRESS"]}
'''


def _installed(distribution: str) -> dict[str, bytes]:
    """A distribution's files as pip installed them, to package into a function's zip."""
    from importlib.metadata import distribution as find

    found = find(distribution)
    files = {}
    for path in found.files:
        name = str(path)
        if name.endswith(".pyc") or ".dist-info/" in name or name.startswith(".."):
            continue
        files[name] = path.locate().read_bytes()
    return files


def test_the_xray_sdk_in_a_function_joins_the_invocations_trace(client, xray, endpoint, unique_name):
    """AWS's X-Ray SDK for Python, packaged in the function's zip: its subsegments reach overcast's
    daemon port (AWS_XRAY_DAEMON_ADDRESS) and join the invocation's trace (_X_AMZN_TRACE_ID), and
    the SQS call it makes (boto3 patched) is a child of its subsegment."""
    from lambda_functions import ROLE, zip_files

    lam = client("lambda")
    name = unique_name("xray-fn")
    code = zip_files({"app.py": XRAY_FUNCTION, **_installed("aws-xray-sdk"), **_installed("wrapt")})
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": code}, Timeout=30, TracingConfig={"Mode": "Active"})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    tid = trace_id()
    out = traced(client("lambda"), f"Root={tid};Sampled=1").invoke(FunctionName=name,
                                                                    Payload=json.dumps({"order": "o-7"}))
    result = json.loads(out["Payload"].read())
    assert "FunctionError" not in out, result
    assert result["trace"].startswith(f"Root={tid};Parent=") and result["daemon"].endswith(endpoint.rsplit(":", 1)[1])
    facade = result["trace"].split("Parent=")[1].split(";")[0]

    spans = ring_trace(endpoint, tid, 5)
    by_name = {s["name"]: s for s in spans}
    stock, call = by_name["reserve-stock"], by_name["sqs"]  # the SDK names an AWS call's subsegment by its service
    assert stock["kind"] == "xray" and stock["parentId"] == facade  # the invocation's span
    assert stock["attributes"]["annotation.order"] == "o-7" and stock["attributes"]["xray.service"] == name
    assert call["kind"] == "xray" and call["parentId"] == stock["spanId"] and call["operation"] == "ListQueues"
    api = by_name["SQS.ListQueues"]
    assert api["kind"] == "api" and api["parentId"] == call["spanId"]
    assert any(s["spanId"] == facade for s in spans)

    [trace] = wait_for_trace_segments(xray, tid)
    documents = [json.loads(s["Document"]) for s in trace["Segments"]]
    function = next(d for d in documents if d["id"] == facade)
    assert function["name"] == name and function["origin"] == "AWS::Lambda::Function"
    [nested] = function["subsegments"]
    assert nested["name"] == "reserve-stock" and nested["annotations"] == {"order": "o-7"}
    assert [s["name"] for s in nested["subsegments"]] == ["sqs"]
    assert tid in ids_of(xray, f'service("{name}") AND annotation.order = "o-7"')


def wait_for_trace_segments(xray, tid: str, timeout: float = 10.0) -> list[dict]:
    deadline = time.time() + timeout
    while True:
        traces = xray.batch_get_traces(TraceIds=[tid])["Traces"]
        if traces and any("subsegments" in s["Document"] for s in traces[0]["Segments"]):
            return traces
        if time.time() > deadline:
            raise AssertionError(f"trace {tid}: {traces}")
        time.sleep(0.05)


# -- the console -----------------------------------------------------------------------------------

def test_the_console_lists_traces_and_shows_one(browser, xray, endpoint):
    tid, sid = trace_id(), segment_id()
    put(xray, document(tid, sid, name="console-shop", took=0.25, http={"response": {"status": 502}},
                       subsegments=[{"name": "inventory", "id": segment_id(), "start_time": time.time() - 0.99,
                                     "end_time": time.time() - 0.9}]))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(f"{endpoint}/_overcast/console/#/xray")
        row = page.locator("tr", has_text=tid)
        row.wait_for(timeout=15_000)
        assert "console-shop" in row.inner_text() and "fault" in row.inner_text()
        row.click()
        page.wait_for_selector("pre.json >> text=inventory", timeout=15_000)
        page.locator("main tr", has_text="console-shop").first.wait_for()
        assert problems == []
    finally:
        context.close()
