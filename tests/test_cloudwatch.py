"""CloudWatch metrics through boto3 (awsJson 1.0) and the awsQuery form older clients send:
PutMetricData, ListMetrics, GetMetricStatistics, GetMetricData and AWS's errors."""

from __future__ import annotations

import datetime
import json
import struct
import time

import httpx
import pytest
from botocore.exceptions import ClientError

UTC = datetime.UTC


@pytest.fixture(scope="module")
def cw(client):
    return client("cloudwatch")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


def minute(offset: int = 0) -> datetime.datetime:
    """The start of the current minute (minus `offset` minutes), so that points land in known periods."""
    now = int(time.time()) // 60 * 60
    return datetime.datetime.fromtimestamp(now - offset * 60, UTC)


@pytest.mark.postgres_e2e
def test_put_metric_data_then_statistics_per_period(cw, unique_name):
    ns = unique_name("ns")
    dims = [{"Name": "Service", "Value": "api"}, {"Name": "Env", "Value": "dev"}]
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": minute(2), "Value": 10, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims[::-1], "Timestamp": minute(2), "Value": 30, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": minute(1), "Values": [5, 7], "Counts": [2, 1],
         "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": minute(1), "Unit": "Milliseconds",
         "StatisticValues": {"SampleCount": 2, "Sum": 40, "Minimum": 15, "Maximum": 25}},
    ])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims, StartTime=minute(5),
                                   EndTime=minute(-1), Period=60,
                                   Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    assert out["Label"] == "Latency"
    points = sorted(out["Datapoints"], key=lambda p: p["Timestamp"])
    assert [(p["Timestamp"], p["SampleCount"], p["Sum"], p["Average"], p["Minimum"], p["Maximum"], p["Unit"])
            for p in points] == [(minute(2), 2.0, 40.0, 20.0, 10.0, 30.0, "Milliseconds"),
                                 (minute(1), 5.0, 57.0, 11.4, 5.0, 25.0, "Milliseconds")]
    # a metric is its exact set of dimensions: one of them alone names another (empty) metric
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims[:1], StartTime=minute(5),
                                   EndTime=minute(-1), Period=60, Statistics=["Sum"])
    assert out["Datapoints"] == []


@pytest.mark.postgres_e2e
def test_list_metrics_filters_by_namespace_name_and_dimensions(cw, unique_name):
    ns = unique_name("ns")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "A", "Dimensions": [{"Name": "D", "Value": "1"}], "Value": 1},
        {"MetricName": "A", "Dimensions": [{"Name": "D", "Value": "2"}], "Value": 1},
        {"MetricName": "B", "Value": 1}])
    got = cw.list_metrics(Namespace=ns)["Metrics"]
    assert sorted((m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in got) == [
        ("A", (("D", "1"),)), ("A", (("D", "2"),)), ("B", ())]
    assert len(cw.list_metrics(Namespace=ns, MetricName="A")["Metrics"]) == 2
    assert len(cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "D"}])["Metrics"]) == 2
    got = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "D", "Value": "2"}], RecentlyActive="PT3H")["Metrics"]
    assert got == [{"Namespace": ns, "MetricName": "A", "Dimensions": [{"Name": "D", "Value": "2"}]}]


@pytest.mark.postgres_e2e
def test_get_metric_data_answers_each_query_newest_first(cw, unique_name):
    ns = unique_name("ns")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Hits", "Timestamp": minute(3), "Value": 1}, {"MetricName": "Hits", "Timestamp": minute(3), "Value": 2},
        {"MetricName": "Hits", "Timestamp": minute(1), "Value": 5}])
    out = cw.get_metric_data(StartTime=minute(10), EndTime=minute(-1), MetricDataQueries=[
        {"Id": "sum", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Hits"}, "Period": 60, "Stat": "Sum"}},
        {"Id": "max", "Label": "peak", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Hits"}, "Period": 60,
                                                        "Stat": "Maximum"}},
        {"Id": "hidden", "ReturnData": False,
         "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Hits"}, "Period": 60, "Stat": "Sum"}}])
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert set(results) == {"sum", "max"}
    assert results["sum"]["Timestamps"] == [minute(1), minute(3)] and results["sum"]["Values"] == [5.0, 3.0]
    assert results["sum"]["Label"] == "Hits Sum" and results["sum"]["StatusCode"] == "Complete"  # stats differ
    assert results["max"]["Label"] == "peak" and results["max"]["Values"] == [5.0, 2.0]


def test_bad_metric_requests_answer_aws_errors(cw, unique_name):
    cases = [
        (lambda: cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1}]),
         ("InvalidParameterValue", "The value AWS/EC2 for parameter Namespace is invalid.")),
        (lambda: cw.put_metric_data(Namespace="ns", MetricData=[{"MetricName": "m", "Value": 1,
                                                                 "StatisticValues": {"SampleCount": 1, "Sum": 1,
                                                                                     "Minimum": 1, "Maximum": 1}}]),
         ("InvalidParameterCombination", "The parameters MetricData.member.1.Value and "
          "MetricData.member.1.StatisticValues are mutually exclusive and you have specified both.")),
        (lambda: cw.put_metric_data(Namespace="ns", MetricData=[{"MetricName": "m", "Values": [1, 2], "Counts": [1]}]),
         ("InvalidParameterValue", "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be "
          "of the same size.")),
        (lambda: cw.get_metric_statistics(Namespace="ns", MetricName="m", StartTime=minute(0), EndTime=minute(5),
                                          Period=60, Statistics=["Sum"]),
         ("InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")),
        (lambda: cw.get_metric_statistics(Namespace="ns", MetricName="m", StartTime=minute(2000), EndTime=minute(0),
                                          Period=60, Statistics=["Sum"]),
         ("InvalidParameterCombination", "You have requested up to 2000 datapoints, which exceeds the limit of 1440. "
          "You may reduce the datapoints requested by increasing Period, or decreasing the time range.")),
        (lambda: cw.get_metric_statistics(Namespace="ns", MetricName="m", StartTime=minute(5), EndTime=minute(0),
                                          Period=45, Statistics=["Sum"]),
         ("InvalidParameterValue", "The parameter Period must be 1, 5, 10, 30, or a multiple of 60.")),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == expected
    for call in (lambda: cw.get_metric_statistics(Namespace="ns", MetricName="m", StartTime=minute(5),
                                                  EndTime=minute(0), Period=60, ExtendedStatistics=["tm99"]),
                 lambda: cw.get_metric_data(StartTime=minute(5), EndTime=minute(0),
                                            MetricDataQueries=[{"Id": "e", "Expression": "SUM(METRICS())"}])):
        with pytest.raises(ClientError) as e:
            call()
        assert error(e)[0] == "NotImplemented"


def test_the_query_protocol_of_older_clients(endpoint, unique_name):
    ns = unique_name("ns")
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/monitoring/aws4_request, "
                                "SignedHeaders=host, Signature=x",
               "Content-Type": "application/x-www-form-urlencoded"}
    body = (f"Action=PutMetricData&Version=2010-08-01&Namespace={ns}&MetricData.member.1.MetricName=Q"
            "&MetricData.member.1.Value=3")
    assert httpx.post(endpoint, content=body, headers=headers).status_code == 200
    answer = httpx.post(endpoint, content=f"Action=ListMetrics&Version=2010-08-01&Namespace={ns}", headers=headers)
    assert answer.status_code == 200 and "<ListMetricsResult>" in answer.text and "<MetricName>Q</MetricName>" in answer.text
    answer = httpx.post(endpoint, content="Action=PutMetricData&Version=2010-08-01&Namespace=AWS/x"
                                          "&MetricData.member.1.MetricName=Q&MetricData.member.1.Value=3", headers=headers)
    assert answer.status_code == 400 and "<Code>InvalidParameterValue</Code>" in answer.text


def test_smithy_rpc_v2_cbor_clients(endpoint, unique_name):
    """The protocol CloudWatch's model lists first, which newer SDKs may pick: botocore's own
    serializer and parser for it, forced on a client."""
    import boto3
    from botocore.parsers import create_parser
    from botocore.serialize import create_serializer

    client = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client._serializer = create_serializer("smithy-rpc-v2-cbor")
    client._response_parser = create_parser("smithy-rpc-v2-cbor")
    client.meta.service_model.resolved_protocol = "smithy-rpc-v2-cbor"
    ns = unique_name("ns")
    client.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "C", "Timestamp": minute(1), "Value": 4}])
    assert client.list_metrics(Namespace=ns)["Metrics"] == [{"Namespace": ns, "MetricName": "C", "Dimensions": []}]
    out = client.get_metric_statistics(Namespace=ns, MetricName="C", StartTime=minute(5), EndTime=minute(-1),
                                       Period=60, Statistics=["Sum"])
    assert [(p["Timestamp"], p["Sum"]) for p in out["Datapoints"]] == [(minute(1), 4.0)]
    with pytest.raises(ClientError) as e:
        client.put_metric_data(Namespace="AWS/x", MetricData=[{"MetricName": "C", "Value": 4}])
    assert error(e) == ("InvalidParameterValue", "The value AWS/x for parameter Namespace is invalid.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


RAW_AUTH = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/monitoring/aws4_request, "
                             "SignedHeaders=host, Signature=x"}
TARGET = "GraniteServiceVersion20100801"


def raw_json(endpoint, operation, body, query_mode=None):
    headers = {**RAW_AUTH, "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{TARGET}.{operation}"}
    if query_mode is not None:
        headers["x-amzn-query-mode"] = query_mode
    return httpx.post(endpoint, content=json.dumps(body), headers=headers)


def raw_cbor(endpoint, operation, body, query_mode=None):
    import cbor2

    headers = {**RAW_AUTH, "Content-Type": "application/cbor", "Accept": "application/cbor",
               "Smithy-Protocol": "rpc-v2-cbor"}
    if query_mode is not None:
        headers["x-amzn-query-mode"] = query_mode
    return httpx.post(f"{endpoint}/service/{TARGET}/operation/{operation}", content=cbor2.dumps(body), headers=headers)


def test_get_metric_data_numbers_as_aws_writes_them_in_each_protocol(endpoint, unique_name):
    """AWS's recorded GetMetricData answers (LocalStack's test_basic_operations_multiple_protocols):
    awsQuery writes the double 41 as 41.0, awsJson the timestamps as JSON floats, Smithy RPC v2 CBOR
    its lists and maps with indefinite length and the timestamps as tag 1 holding a double."""
    import cbor2

    ns = unique_name("ns")
    at = int(minute(1).timestamp())
    put = raw_cbor(endpoint, "PutMetricData", {"Namespace": ns, "MetricData": [
        {"MetricName": "m", "Value": 23, "Timestamp": cbor2.CBORTag(1, at)},
        {"MetricName": "m", "Value": 18, "Timestamp": cbor2.CBORTag(1, at)}]})
    # an operation without output: an empty body, without a Content-Type (the RPC v2 CBOR vectors' no_output)
    assert (put.status_code, put.content, put.headers.get("content-type")) == (200, b"", None)
    query = {"MetricDataQueries": [{"Id": "some", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"},
                                                                 "Period": 60, "Stat": "Sum"}}],
             "StartTime": at - 120, "EndTime": at + 300}

    answer = raw_json(endpoint, "GetMetricData", query)
    assert answer.status_code == 200
    assert f'"Timestamps":[{at}.0],"Values":[41.0]'.encode() in answer.content, answer.content
    assert answer.json()["MetricDataResults"][0]["Timestamps"] == [float(at)]

    answer = raw_cbor(endpoint, "GetMetricData", {**query, "StartTime": cbor2.CBORTag(1, at - 120),
                                                  "EndTime": cbor2.CBORTag(1, at + 300)})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/cbor"
    body = answer.content
    assert body.startswith(b"\xbfqMetricDataResults\x9f\xbf"), body  # indefinite map, list, map
    assert b"Timestamps\x9f\xc1\xfb" + struct.pack(">d", at) + b"\xff" in body, body
    assert b"Values\x9f\xfb" + struct.pack(">d", 41.0) + b"\xff" in body, body
    assert body.endswith(b"hMessages\x9f\xff\xff")
    assert cbor2.loads(body)["MetricDataResults"][0]["Values"] == [41.0]

    form = (f"Action=GetMetricData&Version=2010-08-01&MetricDataQueries.member.1.Id=some"
            f"&MetricDataQueries.member.1.MetricStat.Metric.Namespace={ns}"
            "&MetricDataQueries.member.1.MetricStat.Metric.MetricName=m&MetricDataQueries.member.1.MetricStat.Period=60"
            f"&MetricDataQueries.member.1.MetricStat.Stat=Sum&StartTime={at - 120}&EndTime={at + 300}")
    answer = httpx.post(endpoint, content=form, headers={**RAW_AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    stamp = datetime.datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (f"<Timestamps><member>{stamp}</member></Timestamps><Values><member>41.0</member></Values>"
            in answer.text), answer.text


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_errors_of_raw_json_and_cbor_clients(endpoint, unique_name, protocol):
    """AWS's recorded answers (LocalStack's test_exception_serializing_with_no_shape_in_spec): the
    model's constraints answered as com.amazon.coral.validate#ValidationException, CloudWatch's own
    errors in its namespace, and a query-compatible error's awsQuery status (ResourceNotFound: 404)
    only to a client that sends x-amzn-query-mode: true; 400 to any other."""
    import cbor2

    post, decode = (raw_json, json.loads) if protocol == "json" else (raw_cbor, cbor2.loads)
    name = unique_name("alarm")
    invalid = post(endpoint, "SetAlarmState", {"AlarmName": name, "StateValue": "INVALID", "StateReason": "t"}, "false")
    assert invalid.status_code == 400
    assert decode(invalid.content) == {
        "__type": "com.amazon.coral.validate#ValidationException",
        "message": "1 validation error detected: Value 'INVALID' at 'stateValue' failed to satisfy constraint: "
                   "Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"}
    assert invalid.headers["x-amzn-query-error"] == "ValidationError;Sender"
    for query_mode, status in ((None, 400), ("false", 400), ("true", 404)):
        missing = post(endpoint, "SetAlarmState", {"AlarmName": name, "StateValue": "OK", "StateReason": "t"},
                       query_mode)
        assert missing.status_code == status, (query_mode, missing.content)
        assert decode(missing.content) == {"__type": "com.amazonaws.cloudwatch.v2010_08_01#ResourceNotFound"}
        assert missing.headers["x-amzn-query-error"] == "ResourceNotFound;Sender"


def test_boto3_reads_the_query_compatible_error(cw, unique_name):
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName=unique_name("alarm"), StateValue="OK", StateReason="t")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_values_with_a_value_are_refused_but_with_a_statistic_set_accepted(cw, unique_name):
    ns = unique_name("ns")
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1.5, "Values": [1.0, 10.0]}])
    assert error(e) == ("InvalidParameterCombination", "The parameters MetricData.member.1.Value and "
                        "MetricData.member.1.Values are mutually exclusive and you have specified both.")
    # AWS accepts this pair (LocalStack's recorded test); the statistic set is what is kept
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Timestamp": minute(1), "Values": [1.0, 10.0],
                                                  "StatisticValues": {"SampleCount": 10, "Sum": 55, "Minimum": 1,
                                                                      "Maximum": 10}}])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=minute(3), EndTime=minute(-1), Period=60,
                                   Statistics=["SampleCount", "Sum"])
    assert [(p["SampleCount"], p["Sum"]) for p in out["Datapoints"]] == [(10.0, 55.0)]


def test_each_unit_is_a_data_point_of_its_own(cw, unique_name):
    ns = unique_name("ns")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m", "Timestamp": minute(1), "Value": 1, "Unit": "Seconds"},
        {"MetricName": "m", "Timestamp": minute(1), "Value": 5, "Unit": "Count"},
        {"MetricName": "m", "Timestamp": minute(1), "Value": 10}])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=minute(3), EndTime=minute(-1), Period=60,
                                   Statistics=["Average"])
    assert sorted((p["Unit"], p["Average"]) for p in out["Datapoints"]) == [("Count", 5.0), ("None", 10.0),
                                                                           ("Seconds", 1.0)]
    out = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=minute(3), EndTime=minute(-1), Period=60,
                                   Statistics=["Average"], Unit="Count")
    assert [(p["Unit"], p["Average"]) for p in out["Datapoints"]] == [("Count", 5.0)]


@pytest.mark.postgres_e2e
def test_get_metric_data_labels_and_pages(cw, unique_name):
    ns = unique_name("ns")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Timestamp": minute(i), "Value": i}
                                                 for i in range(1, 6)])

    def query(qid, stat, period):
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"}, "Period": period, "Stat": stat}}

    labels = {r["Id"]: r["Label"] for r in cw.get_metric_data(
        StartTime=minute(10), EndTime=minute(-1),
        MetricDataQueries=[query("a", "Sum", 60), query("b", "Minimum", 120)])["MetricDataResults"]}
    assert labels == {"a": "m Sum 60", "b": "m Minimum 120"}
    labels = {r["Id"]: r["Label"] for r in cw.get_metric_data(
        StartTime=minute(10), EndTime=minute(-1),
        MetricDataQueries=[query("a", "Sum", 60), query("b", "Sum", 120)])["MetricDataResults"]}
    assert labels == {"a": "m 60", "b": "m 120"}
    first = cw.get_metric_data(StartTime=minute(10), EndTime=minute(-1), MaxDatapoints=3,
                               MetricDataQueries=[query("a", "Sum", 60)])
    assert first["MetricDataResults"][0]["Values"] == [1.0, 2.0, 3.0]
    assert first["MetricDataResults"][0]["StatusCode"] == "PartialData" and first["NextToken"]
    second = cw.get_metric_data(StartTime=minute(10), EndTime=minute(-1), MaxDatapoints=3, NextToken=first["NextToken"],
                                MetricDataQueries=[query("a", "Sum", 60)])
    assert second["MetricDataResults"][0]["Values"] == [4.0, 5.0] and "NextToken" not in second
    assert second["MetricDataResults"][0]["StatusCode"] == "Complete"


BODY = json.dumps({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
                                "properties": {"metrics": [["AWS/EC2", "CPUUtilization"]], "region": "us-east-1"}}]})


@pytest.mark.postgres_e2e
def test_dashboards_are_put_read_listed_and_deleted(cw, unique_name):
    name = unique_name("dash")
    assert cw.put_dashboard(DashboardName=name, DashboardBody=BODY)["DashboardValidationMessages"] == []
    got = cw.get_dashboard(DashboardName=name)
    assert (got["DashboardName"], got["DashboardBody"]) == (name, BODY)
    assert got["DashboardArn"] == f"arn:aws:cloudwatch::000000000000:dashboard/{name}"
    entries = cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    assert [(e["DashboardName"], e["Size"], e["DashboardArn"]) for e in entries] == [(name, len(BODY), got["DashboardArn"])]
    assert cw.list_dashboards(DashboardNamePrefix=name + "-none")["DashboardEntries"] == []
    # global: another region sees the same dashboards
    other = boto3_client_in(cw, "eu-west-1")
    assert [e["DashboardName"] for e in other.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]] == [name]
    with pytest.raises(ClientError) as e:  # all or none
        cw.delete_dashboards(DashboardNames=[name, name + "-none"])
    assert error(e)[0] == "ResourceNotFound" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    cw.delete_dashboards(DashboardNames=[name])
    with pytest.raises(ClientError) as e:
        cw.get_dashboard(DashboardName=name)
    assert error(e) == ("ResourceNotFound", f"Dashboard {name} does not exist")


def boto3_client_in(client, region: str):
    import boto3

    return boto3.client("cloudwatch", endpoint_url=client.meta.endpoint_url, region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_bad_dashboards_answer_aws_errors(cw, unique_name):
    with pytest.raises(ClientError) as e:
        cw.put_dashboard(DashboardName=unique_name("d") + ":invalid", DashboardBody=BODY)
    assert error(e) == ("InvalidParameterValue", "The value for field DashboardName contains invalid characters. It "
                        "can only contain alphanumerics, dash (-) and underscore (_).\n")
    with pytest.raises(ClientError) as e:
        cw.put_dashboard(DashboardName=unique_name("d"), DashboardBody="[not an object")
    assert error(e)[0] == "InvalidParameterInput"
    assert e.value.response["dashboardValidationMessages"][0]["DataPath"] == "/dashboardBody"


@pytest.mark.postgres_e2e
def test_points_are_stored_at_their_resolution(cw, unique_name):
    # AWS keeps a standard-resolution point (the default StorageResolution, 60) at its minute, a
    # high-resolution one (1) at its second: a point put 30 s into a minute counts in a query that
    # ends 10 s into it only when it is of standard resolution
    at, ns = minute(5), unique_name("ns")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "standard", "Timestamp": at + datetime.timedelta(seconds=30.5),
         "StatisticValues": {"SampleCount": 5, "Sum": 150, "Minimum": 20, "Maximum": 40}},
        {"MetricName": "high", "Timestamp": at + datetime.timedelta(seconds=30.5), "Value": 7, "StorageResolution": 1}])

    def points(metric, start, end):
        return cw.get_metric_statistics(Namespace=ns, MetricName=metric, StartTime=start, EndTime=end,
                                        Period=60 if metric == "standard" else 1,
                                        Statistics=["Sum", "Average", "Minimum", "Maximum", "SampleCount"])["Datapoints"]

    early = at + datetime.timedelta(seconds=10)
    [point] = points("standard", at, early)
    assert point["Timestamp"] == at
    assert {k: point[k] for k in ("Sum", "Average", "Minimum", "Maximum", "SampleCount")} == {
        "Sum": 150, "Average": 30, "Minimum": 20, "Maximum": 40, "SampleCount": 5}
    assert points("high", at, early) == []
    [point] = points("high", at + datetime.timedelta(seconds=30), at + datetime.timedelta(seconds=31))
    assert point["Timestamp"] == at + datetime.timedelta(seconds=30) and point["Sum"] == 7
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "StorageResolution": 30}])
    assert error(e) == ("InvalidParameterValue",
                        "The value 30 for parameter MetricData.member.1.StorageResolution is invalid.")


def test_percentiles_of_values_put(cw, unique_name):
    """Percentiles (nearest rank) of the raw values; statistic sets of several values have none, as on AWS."""
    ns = unique_name("ns")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Timestamp": minute(1), "Values": [1, 2, 3, 4, 100], "Counts": [1, 1, 1, 1, 1]},
        {"MetricName": "Latency", "Timestamp": minute(2), "StatisticValues": {"SampleCount": 5, "Sum": 50,
                                                                             "Minimum": 1, "Maximum": 20}}])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", StartTime=minute(3), EndTime=minute(0),
                                   Period=60, ExtendedStatistics=["p50", "p99"], Statistics=["Sum"])
    points = sorted(out["Datapoints"], key=lambda p: p["Timestamp"])
    assert points[0]["Sum"] == 50 and points[0]["ExtendedStatistics"] == {}
    assert points[1]["Sum"] == 110 and points[1]["ExtendedStatistics"] == {"p50": 3.0, "p99": 100.0}
    data = cw.get_metric_data(StartTime=minute(3), EndTime=minute(0), MetricDataQueries=[
        {"Id": "p", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Latency"}, "Period": 60,
                                   "Stat": "p80"}}])
    assert data["MetricDataResults"][0]["Values"] == [4.0]
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(Namespace=ns, MetricName="Latency", StartTime=minute(3), EndTime=minute(0),
                                 Period=60, ExtendedStatistics=["p101"])
    assert error(e) == ("InvalidParameterValue", "The value p101 for parameter ExtendedStatistics is not supported.")


def test_start_time_is_rounded_down_to_the_minute(cw, unique_name):
    """CloudWatch rounds a recent StartTime down to its minute: a point put now is in a query that starts now."""
    ns = unique_name("ns")
    now = datetime.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 4, "Timestamp": now}])
    out = cw.get_metric_data(StartTime=now, EndTime=now + datetime.timedelta(seconds=60), MetricDataQueries=[
        {"Id": "m", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}])
    assert out["MetricDataResults"][0]["Values"] == [4.0]
    stats = cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now,
                                     EndTime=now + datetime.timedelta(seconds=60), Period=60, Statistics=["Sum"])
    assert [p["Sum"] for p in stats["Datapoints"]] == [4.0]
    with pytest.raises(ClientError) as e:  # the check takes StartTime as given
        cw.get_metric_data(StartTime=now, EndTime=now, MetricDataQueries=[
            {"Id": "m", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}])
    assert error(e) == ("InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
