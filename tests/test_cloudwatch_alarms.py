"""CloudWatch alarms through boto3 against a real server: metric alarms evaluated against the
data put (ALARM when the data crosses the threshold, TreatMissingData), their SNS actions
delivered to a subscribed SQS queue, the EventBridge state change event, composite alarms,
SetAlarmState, history, DescribeAlarms' filters, tags, and AWS's errors for bad input."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from lambda_functions import create_python, source


@pytest.fixture(scope="module")
def cw(client):
    return client("cloudwatch")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


def state_of(cw, name: str, kinds=("MetricAlarm",)) -> dict:
    out = cw.describe_alarms(AlarmNames=[name], AlarmTypes=list(kinds))
    return (out["MetricAlarms"] + out["CompositeAlarms"])[0]


def wait_for(check, timeout: float = 10.0):
    deadline = time.time() + timeout
    while True:
        result = check()
        if result or time.time() > deadline:
            return result
        time.sleep(0.1)


def topic_with_queue(client, unique_name) -> tuple[str, str]:
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    url = sqs.create_queue(QueueName=unique_name("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def receive(client, url: str, timeout: float = 10.0) -> list[dict]:
    sqs = client("sqs")
    deadline = time.time() + timeout
    while time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [json.loads(m["Body"]) for m in messages]
    return []


def test_alarm_goes_to_alarm_when_data_crosses_threshold_and_notifies_sns(cw, client, unique_name):
    ns, name = unique_name("ns"), unique_name("alarm")
    topic, url = topic_with_queue(client, unique_name)
    dims = [{"Name": "Host", "Value": "a"}]
    cw.put_metric_alarm(AlarmName=name, AlarmDescription="latency too high", Namespace=ns, MetricName="Latency",
                        Dimensions=dims, Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=100,
                        ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic], Unit="Milliseconds")
    alarm = state_of(cw, name)
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    assert alarm["Threshold"] == 100.0 and alarm["Dimensions"] == dims

    # below the threshold: OK (both points in one minute: the alarm evaluates that minute's average)
    now = time.time()
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Value": 50, "Unit": "Milliseconds", "Timestamp": now}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "OK")
    # the average crosses it: ALARM, and the SNS action publishes the alarm's message
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Value": 300, "Unit": "Milliseconds", "Timestamp": now}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "ALARM")
    alarm = state_of(cw, name)
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [175.0 (")
    assert alarm["StateReason"].endswith(")] was greater than the threshold (100.0).")
    data = json.loads(alarm["StateReasonData"])
    assert data["recentDatapoints"] == [175.0] and data["threshold"] == 100.0 and data["statistic"] == "Average"
    assert data["evaluatedDatapoints"][0]["sampleCount"] == 2.0

    notifications = receive(client, url)
    assert len(notifications) == 1
    assert notifications[0]["Subject"] == f'ALARM: "{name}" in US East (N. Virginia)'
    message = json.loads(notifications[0]["Message"])
    assert message["AlarmName"] == name and message["NewStateValue"] == "ALARM"
    assert message["OldStateValue"] == "OK" and message["AlarmDescription"] == "latency too high"
    assert message["Region"] == "US East (N. Virginia)" and message["AWSAccountId"] == "000000000000"
    assert message["Trigger"]["Statistic"] == "AVERAGE" and message["Trigger"]["StatisticType"] == "Statistic"
    assert message["Trigger"]["Dimensions"] == [{"value": "a", "name": "Host"}]

    history = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ["Alarm updated from OK to ALARM",
                                                      "Alarm updated from INSUFFICIENT_DATA to OK"]
    assert json.loads(history[0]["HistoryData"])["newState"]["stateValue"] == "ALARM"
    actions = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert actions[0]["HistorySummary"] == f"Successfully executed action {topic}"
    cw.delete_alarms(AlarmNames=[name])


def test_alarm_counts_only_its_unit_and_datapoints_to_alarm(cw, unique_name):
    ns, name = unique_name("ns"), unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Errors", Statistic="Sum", Period=60,
                        EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=5,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
                        Unit="Count")
    now = time.time()
    # one breaching minute of three: not enough for 2 of 3; data of another unit is not counted
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Errors", "Value": 9, "Unit": "Count", "Timestamp": now - 120},
        {"MetricName": "Errors", "Value": 100, "Unit": "Seconds", "Timestamp": now - 60}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "OK")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 5, "Unit": "Count",
                                                  "Timestamp": now - 60}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "ALARM")
    assert "(minimum 2 datapoints for OK -> ALARM transition)" in state_of(cw, name)["StateReason"]
    cw.delete_alarms(AlarmNames=[name])


def test_missing_data_treated_as_breaching_alarms_without_data(cw, unique_name):
    name = unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, Namespace=unique_name("ns"), MetricName="Heartbeat", Statistic="SampleCount",
                        Period=60, EvaluationPeriods=2, Threshold=1, ComparisonOperator="LessThanThreshold",
                        TreatMissingData="breaching")
    # the timer evaluates it within a minute; data arriving for the metric evaluates it at once
    cw.put_metric_data(Namespace=state_of(cw, name)["Namespace"], MetricData=[
        {"MetricName": "Heartbeat", "Value": 1, "Timestamp": time.time() - 600}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "ALARM")
    assert state_of(cw, name)["StateReason"] == ("Threshold Crossed: no datapoints were received for 2 periods and 2 "
                                                 "missing datapoints were treated as [Breaching].")
    cw.delete_alarms(AlarmNames=[name])


def test_percentile_alarm(cw, unique_name):
    ns, name = unique_name("ns"), unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Latency", ExtendedStatistic="p90", Period=60,
                        EvaluationPeriods=1, Threshold=50, ComparisonOperator="GreaterThanThreshold")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Latency", "Values": [1, 2, 3, 100],
                                                  "Counts": [3, 3, 3, 1]}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "OK")  # p90 of 10 samples is 3
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Latency", "Values": [200], "Counts": [5]}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "ALARM")
    cw.delete_alarms(AlarmNames=[name])


def test_alarm_on_metrics_query_and_describe_alarms_for_metric(cw, unique_name):
    ns, name = unique_name("ns"), unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold",
                        Metrics=[{"Id": "m1", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Jobs"},
                                                             "Period": 60, "Stat": "Maximum"}, "ReturnData": True}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Jobs", "Value": 11}])
    assert wait_for(lambda: state_of(cw, name)["StateValue"] == "ALARM")
    found = cw.describe_alarms_for_metric(Namespace=ns, MetricName="Jobs")["MetricAlarms"]
    assert [a["AlarmName"] for a in found] == [name]
    assert cw.describe_alarms_for_metric(Namespace=ns, MetricName="Other")["MetricAlarms"] == []
    cw.delete_alarms(AlarmNames=[name])


def test_set_alarm_state_runs_actions_unless_disabled(cw, client, unique_name):
    name = unique_name("alarm")
    topic, url = topic_with_queue(client, unique_name)
    cw.put_metric_alarm(AlarmName=name, Namespace=unique_name("ns"), MetricName="m", Statistic="Sum", Period=300,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="ignore", AlarmActions=[topic], OKActions=[topic])
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing")
    alarm = state_of(cw, name)
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "testing")
    message = json.loads(receive(client, url)[0]["Message"])
    assert (message["NewStateValue"], message["NewStateReason"]) == ("ALARM", "testing")

    cw.disable_alarm_actions(AlarmNames=[name])
    assert state_of(cw, name)["ActionsEnabled"] is False
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="back")
    assert state_of(cw, name)["StateValue"] == "OK"
    assert receive(client, url, timeout=2) == []
    cw.enable_alarm_actions(AlarmNames=[name])
    assert state_of(cw, name)["ActionsEnabled"] is True
    cw.delete_alarms(AlarmNames=[name])


def test_state_change_event_on_default_bus(cw, client, unique_name):
    events, sqs = client("events"), client("sqs")
    name = unique_name("alarm")
    url = sqs.create_queue(QueueName=unique_name("events"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.cloudwatch"],
                                                        "detail-type": ["CloudWatch Alarm State Change"],
                                                        "detail": {"alarmName": [name]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    cw.put_metric_alarm(AlarmName=name, Namespace=unique_name("ns"), MetricName="m", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        ActionsEnabled=False)
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="by hand")
    event = receive(client, url)[0]
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"]
    assert event["detail"]["state"]["value"] == "ALARM" and event["detail"]["state"]["reason"] == "by hand"
    assert event["detail"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] == "m"
    events.remove_targets(Rule=rule, Ids=["q"])
    events.delete_rule(Name=rule)
    cw.delete_alarms(AlarmNames=[name])


def test_composite_alarm_follows_its_rule(cw, client, unique_name):
    a, b, parent = unique_name("a"), unique_name("b"), unique_name("composite")
    topic, url = topic_with_queue(client, unique_name)
    for name in (a, b):
        cw.put_metric_alarm(AlarmName=name, Namespace=unique_name("ns"), MetricName="m", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                            TreatMissingData="ignore")
    a_arn = state_of(cw, a)["AlarmArn"]
    cw.put_composite_alarm(AlarmName=parent, AlarmRule=f'ALARM("{a_arn}") AND NOT ALARM({b})',
                           AlarmActions=[topic], Tags=[{"Key": "team", "Value": "core"}])
    composite = state_of(cw, parent, ("CompositeAlarm",))
    assert composite["StateValue"] == "OK"  # evaluated at creation
    assert cw.describe_alarms(AlarmNames=[parent])["CompositeAlarms"] == []  # AlarmTypes defaults to metric alarms
    cw.set_alarm_state(AlarmName=a, StateValue="ALARM", StateReason="x")
    composite = state_of(cw, parent, ("CompositeAlarm",))
    assert composite["StateValue"] == "ALARM"
    assert json.loads(composite["StateReasonData"])["triggeringAlarms"][0]["arn"] == a_arn
    message = json.loads(receive(client, url)[0]["Message"])
    assert message["AlarmRule"] == composite["AlarmRule"]
    assert message["TriggeringChildren"][0]["Arn"] == a_arn
    cw.set_alarm_state(AlarmName=b, StateValue="ALARM", StateReason="y")
    assert state_of(cw, parent, ("CompositeAlarm",))["StateValue"] == "OK"
    children = cw.describe_alarms(ChildrenOfAlarmName=parent, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert sorted(x["AlarmName"] for x in children["MetricAlarms"]) == sorted([a, b])
    parents = cw.describe_alarms(ParentsOfAlarmName=a, AlarmTypes=["CompositeAlarm"])
    assert [x["AlarmName"] for x in parents["CompositeAlarms"]] == [parent]
    assert cw.list_tags_for_resource(ResourceARN=composite["AlarmArn"])["Tags"] == [{"Key": "team", "Value": "core"}]
    cw.delete_alarms(AlarmNames=[parent, a, b])


def test_composite_alarm_rule_errors(cw, unique_name):
    with pytest.raises(ClientError) as e:
        cw.put_composite_alarm(AlarmName=unique_name("c"), AlarmRule='ALARM("nope-' + unique_name("x") + '")')
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert "in the alarm rule do not exist" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        cw.put_composite_alarm(AlarmName=unique_name("c"), AlarmRule="ALARM(x) AND")
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_describe_alarms_filters_and_pages(cw, unique_name):
    prefix = unique_name("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average",
                            Period=60, EvaluationPeriods=1, Threshold=80, ComparisonOperator="GreaterThanThreshold",
                            TreatMissingData="ignore")
    cw.set_alarm_state(AlarmName=names[1], StateValue="ALARM", StateReason="r")
    first = cw.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == names[:2]
    rest = cw.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == names[2:4]
    alarming = cw.describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")["MetricAlarms"]
    assert [a["AlarmName"] for a in alarming] == [names[1]]
    with pytest.raises(ClientError) as e:
        cw.describe_alarms(NextToken="garbage")
    assert e.value.response["Error"]["Code"] == "InvalidNextToken"
    cw.delete_alarms(AlarmNames=names)
    assert cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []


def test_alarm_tags(cw, unique_name):
    name = unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, Namespace="n", MetricName="m", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        Tags=[{"Key": "env", "Value": "prod"}])
    arn = state_of(cw, name)["AlarmArn"]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "1"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["env"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    cw.delete_alarms(AlarmNames=[name])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    with pytest.raises(ClientError) as e:
        cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "1"}])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_alarm_state_survives_restart_of_the_provider_timer(cw, unique_name):
    """The alarm is durable: what PutMetricAlarm and SetAlarmState acknowledged is read back."""
    name = unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, Namespace="n", MetricName="m", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="kept", StateReasonData='{"a": 1}')
    alarm = state_of(cw, name)
    assert alarm["StateReasonData"] == '{"a": 1}'
    assert alarm["StateTransitionedTimestamp"] >= alarm["AlarmConfigurationUpdatedTimestamp"]
    cw.delete_alarms(AlarmNames=[name])


@pytest.mark.parametrize("kwargs, code, message", [
    ({"Statistic": "Sum", "ExtendedStatistic": "p99"}, "InvalidParameterCombination",
     "The parameters Statistic and ExtendedStatistic are mutually exclusive and you have specified both."),
    ({}, "MissingParameter", "The parameter Statistic or ExtendedStatistic must be specified."),
    ({"Statistic": "Sum", "Period": 45}, "InvalidParameterValue",
     "The parameter Period must be 10, 20, 30, or a multiple of 60."),
    ({"Statistic": "Sum", "EvaluationPeriods": 2, "DatapointsToAlarm": 3}, "ValidationError",
     "DatapointsToAlarm must be less than or equal to EvaluationPeriods."),
    ({"Statistic": "Sum", "Period": 3600, "EvaluationPeriods": 200}, "InvalidParameterValue",
     "The evaluation period (Period * EvaluationPeriods) must not exceed 7 days."),
    ({"ExtendedStatistic": "p101"}, "InvalidParameterValue",
     "The value p101 for parameter ExtendedStatistic is not supported."),
    ({"Statistic": "Sum", "AlarmActions": ["not-an-arn"]}, "ValidationError", "Invalid arn syntax: not-an-arn"),
])
def test_put_metric_alarm_errors(cw, unique_name, kwargs, code, message):
    params = {"AlarmName": unique_name("bad"), "Namespace": "n", "MetricName": "m", "Period": 60,
              "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold", **kwargs}
    with pytest.raises(ClientError) as e:
        cw.put_metric_alarm(**params)
    assert error(e) == (code, message)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_set_alarm_state_errors(cw, unique_name):
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName=unique_name("none"), StateValue="OK", StateReason="x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName="x", StateValue="INVALID", StateReason="x")
    assert error(e) == ("ValidationError", "1 validation error detected: Value 'INVALID' at 'stateValue' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]")
    name = unique_name("alarm")
    cw.put_metric_alarm(AlarmName=name, Namespace="n", MetricName="m", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x", StateReasonData="{not json")
    assert error(e) == ("InvalidFormat", "Data was not syntactically valid JSON")
    cw.delete_alarms(AlarmNames=[name])


def test_unsupported_alarm_features_answer_not_implemented(cw, unique_name):
    with pytest.raises(ClientError) as e:
        cw.put_metric_alarm(AlarmName=unique_name("a"), Namespace="n", MetricName="m", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                            AlarmActions=["arn:aws:automate:us-east-1:ec2:stop"])
    assert e.value.response["Error"]["Code"] == "NotImplemented"


def test_lambda_publishes_its_metrics_and_an_alarm_sees_them(cw, client, unique_name):
    lam = client("lambda")
    name = unique_name("fn")
    create_python(lam, name, source("misbehave.py"))
    alarm = unique_name("alarm")
    dims = [{"Name": "FunctionName", "Value": name}]
    cw.put_metric_alarm(AlarmName=alarm, Namespace="AWS/Lambda", MetricName="Errors", Dimensions=dims,
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=0,
                        ComparisonOperator="GreaterThanThreshold")
    lam.invoke(FunctionName=name, Payload=json.dumps({}))
    lam.invoke(FunctionName=name, Payload=json.dumps({"action": "raise"}))

    def sums():
        now = time.time()
        out = cw.get_metric_data(StartTime=now - 300, EndTime=now + 60, MetricDataQueries=[
            {"Id": m.lower(), "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": m, "Dimensions": dims},
                                             "Period": 3600, "Stat": "Sum"}} for m in ("Invocations", "Errors")])
        return [sum(r["Values"]) for r in out["MetricDataResults"]]

    assert wait_for(lambda: sums() == [2.0, 1.0])
    # counts are written as statistic sets, but answer as two samples of 1 and 0 would
    now = time.time()
    stats = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Errors", Dimensions=dims,
                                     StartTime=now - 300, EndTime=now + 60, Period=3600,
                                     Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"])
    assert [(p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"], p["Average"]) for p in stats["Datapoints"]] \
        == [(2.0, 1.0, 0.0, 1.0, 0.5)]
    durations = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Duration", Dimensions=dims,
                                         StartTime=now - 300, EndTime=now + 60, Period=3600,
                                         Statistics=["SampleCount"], ExtendedStatistics=["p50"])
    assert durations["Datapoints"][0]["SampleCount"] == 2.0 and durations["Datapoints"][0]["ExtendedStatistics"]["p50"] > 0
    assert wait_for(lambda: state_of(cw, alarm)["StateValue"] == "ALARM")
    cw.delete_alarms(AlarmNames=[alarm])


def test_alarms_are_evaluated_again_after_kill_9(tmp_path):
    """An alarm and its state are committed before the answer; after a kill -9 and a restart its
    timer is set again and it is evaluated (here: a breaching alarm without data goes to ALARM)."""
    from conftest import OvercastProcess, make_client

    env = {"OVERCAST_CLOUDWATCH_EVALUATION_SECONDS": "1"}
    server = OvercastProcess(data_dir=str(tmp_path), env=env)
    try:
        cw = make_client(server.endpoint, "cloudwatch")
        cw.put_metric_alarm(AlarmName="kept", Namespace="n", MetricName="m", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                            TreatMissingData="breaching")
        cw.set_alarm_state(AlarmName="kept", StateValue="OK", StateReason="set by hand")
        server.stop(kill=True)

        server = OvercastProcess(data_dir=str(tmp_path), env=env)
        cw = make_client(server.endpoint, "cloudwatch")
        history = cw.describe_alarm_history(AlarmName="kept", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
        assert any(json.loads(h["HistoryData"])["newState"] == {"stateValue": "OK", "stateReason": "set by hand"}
                   for h in history)
        assert wait_for(lambda: state_of(cw, "kept")["StateValue"] == "ALARM", timeout=15)
        assert state_of(cw, "kept")["StateReason"].startswith("Threshold Crossed: no datapoints were received")
    finally:
        server.stop()


def test_sqs_publishes_its_metrics_and_an_alarm_sees_them(cw, client, unique_name):
    sqs = client("sqs")
    name = unique_name("watched")
    dims = [{"Name": "QueueName", "Value": name}]
    alarm = unique_name("alarm")
    cw.put_metric_alarm(AlarmName=alarm, Namespace="AWS/SQS", MetricName="NumberOfMessagesSent", Dimensions=dims,
                        Statistic="SampleCount", Period=60, EvaluationPeriods=1, Threshold=0,
                        ComparisonOperator="GreaterThanThreshold")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.receive_message(QueueUrl=url)  # empty
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "ab"}, {"Id": "b", "MessageBody": "abc"}])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    for message in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert wait_for(lambda: state_of(cw, alarm)["StateValue"] == "ALARM")

    def sums():
        now = time.time()
        names = ("NumberOfMessagesSent", "SentMessageSize", "NumberOfEmptyReceives", "NumberOfMessagesReceived",
                 "NumberOfMessagesDeleted")
        out = cw.get_metric_data(StartTime=now - 300, EndTime=now + 60, MetricDataQueries=[
            {"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": n, "Dimensions": dims},
                                           "Period": 3600, "Stat": "Sum"}} for i, n in enumerate(names)])
        return [sum(r["Values"]) for r in out["MetricDataResults"]]

    assert wait_for(lambda: sums() == [3.0, 10.0, 1.0, float(len(got)), float(len(got))])
    cw.delete_alarms(AlarmNames=[alarm])
