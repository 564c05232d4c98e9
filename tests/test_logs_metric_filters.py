"""CloudWatch Logs metric filters through boto3: Put/Describe/DeleteMetricFilter, and the
CloudWatch data points the events written to the group make."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

UTC = datetime.UTC


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


@pytest.fixture(scope="module")
def cw(client):
    return client("cloudwatch")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


@pytest.fixture
def group(logs, unique_name):
    name = "/test/" + unique_name("mf")
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def transformation(ns, name, value="1", **extra):
    return [{"metricNamespace": ns, "metricName": name, "metricValue": value, **extra}]


def test_metric_filters_are_put_described_and_deleted(logs, group, unique_name):
    ns = unique_name("ns")
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=transformation(ns, "Errors", defaultValue=0))
    logs.put_metric_filter(logGroupName=group, filterName="latency", filterPattern="{ $.latency > 0 }",
                           metricTransformations=transformation(ns, "Latency", "$.latency", unit="Milliseconds"))
    got = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in got] == ["errors", "latency"]
    assert got[0]["metricTransformations"] == [{"metricNamespace": ns, "metricName": "Errors", "metricValue": "1",
                                               "defaultValue": 0.0}]
    assert got[0]["logGroupName"] == group and got[0]["filterPattern"] == "ERROR"
    assert got[0]["applyOnTransformedLogs"] is False and isinstance(got[0]["creationTime"], int)
    assert [f["filterName"] for f in logs.describe_metric_filters(metricName="Latency", metricNamespace=ns)[
        "metricFilters"]] == ["latency"]
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group, filterNamePrefix="err")[
        "metricFilters"]] == ["errors"]
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 2
    logs.delete_metric_filter(logGroupName=group, filterName="errors")
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]] == ["latency"]
    with pytest.raises(ClientError) as e:
        logs.delete_metric_filter(logGroupName=group, filterName="errors")
    assert error(e) == ("ResourceNotFoundException", "The specified metric filter does not exist.")


def test_matching_events_become_cloudwatch_data_points(logs, cw, group, unique_name):
    ns = unique_name("ns")
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=transformation(ns, "Errors"))
    logs.put_metric_filter(logGroupName=group, filterName="latency", filterPattern="{ $.latency > 0 }",
                           metricTransformations=transformation(ns, "Latency", "$.latency",
                                                                dimensions={"Service": "$.service"},
                                                                unit="Milliseconds"))
    now = int(time.time() * 1000)
    messages = ["ERROR disk full", "all good", "ERROR again",
                json.dumps({"latency": 120, "service": "api"}), json.dumps({"latency": 80, "service": "api"}),
                json.dumps({"latency": 5})]  # no service: no data point
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])
    start = datetime.datetime.fromtimestamp(now / 1000 - 600, UTC)
    end = datetime.datetime.fromtimestamp(now / 1000 + 600, UTC)
    errors = cw.get_metric_statistics(Namespace=ns, MetricName="Errors", StartTime=start, EndTime=end, Period=1200,
                                      Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(p["Sum"], p["SampleCount"]) for p in errors] == [(2.0, 2.0)]
    latency = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Service", "Value": "api"}],
                                       StartTime=start, EndTime=end, Period=1200,
                                       Statistics=["Average", "Maximum"])["Datapoints"]
    assert [(p["Average"], p["Maximum"], p["Unit"]) for p in latency] == [(100.0, 120.0, "Milliseconds")]
    metrics = cw.list_metrics(Namespace=ns)["Metrics"]
    assert sorted(m["MetricName"] for m in metrics) == ["Errors", "Latency"]


def test_a_default_value_is_put_when_nothing_matched(logs, cw, group, unique_name):
    ns = unique_name("ns")
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=transformation(ns, "Errors", defaultValue=0))
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": "fine"}])
    points = cw.get_metric_statistics(Namespace=ns, MetricName="Errors",
                                      StartTime=datetime.datetime.fromtimestamp(now / 1000 - 600, UTC),
                                      EndTime=datetime.datetime.fromtimestamp(now / 1000 + 600, UTC), Period=1200,
                                      Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(p["Sum"], p["SampleCount"]) for p in points] == [(0.0, 1.0)]


def test_bad_metric_filters_answer_aws_errors(logs, group):
    ok = transformation("ns", "m")
    cases = [
        (dict(logGroupName=group + "-none", filterName="f", filterPattern="x", metricTransformations=ok),
         ("ResourceNotFoundException", "The specified log group does not exist.")),
        (dict(logGroupName=group, filterName="f", filterPattern="x",
              metricTransformations=ok + transformation("ns", "m2")),
         "InvalidParameterException"),
        (dict(logGroupName=group, filterName="f", filterPattern="{ $.a = ", metricTransformations=ok),
         "InvalidParameterException"),
        (dict(logGroupName=group, filterName="f", filterPattern="x", metricTransformations=transformation("ns", "m", "x")),
         "InvalidParameterException"),
        (dict(logGroupName=group, filterName="f", filterPattern="x",
              metricTransformations=transformation("ns", "m", dimensions={"D": "$.d"}, defaultValue=0)),
         "InvalidParameterException"),
        (dict(logGroupName=group, filterName="f", filterPattern="[a, b]",
              metricTransformations=transformation("ns", "m", "$b")), "NotImplemented"),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as e:
            logs.put_metric_filter(**kwargs)
        assert (error(e) if isinstance(expected, tuple) else error(e)[0]) == expected
    with pytest.raises(ClientError) as e:
        logs.describe_metric_filters(metricName="m")
    assert error(e)[0] == "InvalidParameterException"
    for name in range(100):
        logs.put_metric_filter(logGroupName=group, filterName=f"f{name}", filterPattern="x", metricTransformations=ok)
    with pytest.raises(ClientError) as e:
        logs.put_metric_filter(logGroupName=group, filterName="one-more", filterPattern="x", metricTransformations=ok)
    assert error(e) == ("LimitExceededException", "Resource limit exceeded.")


def test_a_metric_filter_still_emits_after_a_restart(tmp_path):
    from conftest import OvercastProcess, make_client

    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        logs = make_client(server.endpoint, "logs")
        logs.create_log_group(logGroupName="g")
        logs.create_log_stream(logGroupName="g", logStreamName="s")
        logs.put_metric_filter(logGroupName="g", filterName="f", filterPattern="ERROR",
                               metricTransformations=transformation("ns", "Errors"))
        server.stop()
        server = OvercastProcess(data_dir=str(tmp_path))  # its first request is to CloudWatch Logs
        now = int(time.time() * 1000)
        make_client(server.endpoint, "logs").put_log_events(logGroupName="g", logStreamName="s",
                                                            logEvents=[{"timestamp": now, "message": "ERROR x"}])
        points = make_client(server.endpoint, "cloudwatch").get_metric_statistics(
            Namespace="ns", MetricName="Errors", StartTime=datetime.datetime.fromtimestamp(now / 1000 - 600, UTC),
            EndTime=datetime.datetime.fromtimestamp(now / 1000 + 600, UTC), Period=1200, Statistics=["Sum"])
        assert [p["Sum"] for p in points["Datapoints"]] == [1.0]
    finally:
        server.stop()


def test_a_namespace_with_a_colon_is_accepted_as_aws_accepts_it(logs, group):
    namespace = "A.B-c_d/1#2:metricNamespace"  # AWS's recorded answer, though the model's pattern refuses ':'
    logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="x",
                           metricTransformations=transformation(namespace, "metricName"))
    got = logs.describe_metric_filters(metricName="metricName", metricNamespace=namespace)["metricFilters"]
    assert [(f["filterName"], f["logGroupName"]) for f in got] == [("f", group)]
