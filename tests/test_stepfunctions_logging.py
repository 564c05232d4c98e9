"""Step Functions logging to CloudWatch Logs: a LoggingConfiguration is checked as AWS checks it,
and executions write their history events, filtered by level, to the log group (AWS's recorded
answers: LocalStack's `stepfunctions/v2/logs` and `test_sfn_api_logs.py` snapshots)."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from cfn_support import wait
from conftest import make_client
from error_support import client_error
from sfn_support import ROLE, create, sfn_client, wait_done

PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "End": True}}}
ONE = ("InvalidLoggingConfiguration", "Invalid Logging Configuration: Must specify exactly one Log Destination.")
NOT_FOUND = ("InvalidLoggingConfiguration", "Invalid Logging Configuration: Log Destination not found.")
NO_STAR = ("InvalidLoggingConfiguration",
           "Invalid Logging Configuration: Log Group ARN must be provided with '*' qualifier.")
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "it failed"}}}


@pytest.fixture(scope="module")
def sfn(endpoint):
    return sfn_client(endpoint)


@pytest.fixture(scope="module")
def logs(endpoint):
    return make_client(endpoint, "logs")


@pytest.fixture
def group(logs, unique_name):
    """A new log group's (name, ARN as DescribeLogGroups gives it: ending in ':*')."""
    name = f"/aws/vendedlogs/states/{unique_name('sfn-logs')}"
    logs.create_log_group(logGroupName=name)
    return name, logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]


def logging(arn: str, level: str = "ALL", include: bool = False) -> dict:
    return {"level": level, "includeExecutionData": include,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]}


def logged(logs, group_name: str, count: int, timeout: float = 10.0) -> list[dict]:
    """The events of the group's execution streams, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group_name)["logStreams"]
                   if s["logStreamName"].startswith("states/")]
        events = [json.loads(e["message"]) for stream in streams for e in logs.get_log_events(
            logGroupName=group_name, logStreamName=stream, startFromHead=True)["events"]]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


def execute(sfn, arn: str, value: dict | None = None) -> dict:
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(value or {}))
    return wait_done(sfn, started["executionArn"])


def test_every_event_is_logged_at_level_all_without_execution_data(sfn, logs, group, unique_name):
    name, arn = group
    machine = create(sfn, unique_name("all"), PASS, loggingConfiguration=logging(arn))
    described = execute(sfn, machine, {"secret": 1})
    events = logged(logs, name, 4)
    assert [(e["type"], e["id"], e["previous_event_id"]) for e in events] == [
        ("ExecutionStarted", "1", "0"), ("PassStateEntered", "2", "0"), ("PassStateExited", "3", "2"),
        ("ExecutionSucceeded", "4", "3")]
    assert events[0]["details"] == {"roleArn": ROLE}
    assert events[1]["details"] == {"name": "A"} and events[3]["details"] == {}
    for event in events:
        assert event["execution_arn"] == described["executionArn"]
        assert event["redrive_count"] == "0" and event["event_timestamp"].isdigit()
    # the stream AWS makes when it sets the delivery up
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=name)["logStreams"]]
    assert "log_stream_created_by_aws_to_validate_log_delivery_subscriptions" in streams


def test_execution_data_is_logged_when_included(sfn, logs, group, unique_name):
    name, arn = group
    machine = create(sfn, unique_name("data"), PASS, loggingConfiguration=logging(arn, include=True))
    execute(sfn, machine, {"in": 1})
    events = logged(logs, name, 4)
    assert json.loads(events[0]["details"]["input"]) == {"in": 1}  # (as given: a string)
    assert events[0]["details"]["inputDetails"] == {"truncated": False}
    assert json.loads(events[2]["details"]["output"]) == {"x": 1}
    assert json.loads(events[3]["details"]["output"]) == {"x": 1}


@pytest.mark.parametrize("level,expected", [
    ("ERROR", ["FailStateEntered", "ExecutionFailed"]), ("FATAL", ["ExecutionFailed"])])
def test_error_and_fatal_levels_log_only_failures(sfn, logs, group, unique_name, level, expected):
    name, arn = group
    machine = create(sfn, unique_name(level.lower()), FAIL, loggingConfiguration=logging(arn, level))
    assert execute(sfn, machine)["status"] == "FAILED"
    events = logged(logs, name, len(expected))
    assert [e["type"] for e in events] == expected
    assert events[-1]["details"] == {"cause": "it failed", "error": "SomeFailure"}


def test_a_succeeding_execution_logs_nothing_at_level_error(sfn, logs, group, unique_name):
    name, arn = group
    machine = create(sfn, unique_name("quiet"), PASS, loggingConfiguration=logging(arn, "ERROR"))
    execute(sfn, machine)
    logged_fail = create(sfn, unique_name("loud"), FAIL, loggingConfiguration=logging(arn, "ERROR"))
    execute(sfn, logged_fail)  # (a failure after it: once its events are in, the success's would be too)
    assert [e["type"] for e in logged(logs, name, 2)] == ["FailStateEntered", "ExecutionFailed"]


def test_express_executions_are_logged(sfn, logs, group, unique_name):
    name, arn = group
    machine = create(sfn, unique_name("express"), PASS, "EXPRESS", loggingConfiguration=logging(arn))
    answer = sfn.start_sync_execution(stateMachineArn=machine, input="{}")
    events = logged(logs, name, 4)
    assert [e["type"] for e in events] == ["ExecutionStarted", "PassStateEntered", "PassStateExited",
                                          "ExecutionSucceeded"]
    assert {e["execution_arn"] for e in events} == {answer["executionArn"]}


def test_executions_of_a_machine_share_its_stream(sfn, logs, group, unique_name):
    name, arn = group
    machine = create(sfn, unique_name("runs"), PASS, loggingConfiguration=logging(arn))
    for _ in range(3):
        execute(sfn, machine)
    assert len(logged(logs, name, 12)) == 12


def test_describe_shows_the_configuration_with_its_defaults(sfn, group, unique_name):
    _, arn = group
    bare = create(sfn, unique_name("bare"), PASS, loggingConfiguration={})
    assert sfn.describe_state_machine(stateMachineArn=bare)["loggingConfiguration"] == {
        "level": "OFF", "includeExecutionData": False}
    empty = create(sfn, unique_name("empty"), PASS, loggingConfiguration={"destinations": []})
    assert sfn.describe_state_machine(stateMachineArn=empty)["loggingConfiguration"] == {
        "level": "OFF", "includeExecutionData": False, "destinations": []}
    off = create(sfn, unique_name("off"), PASS, loggingConfiguration=logging(arn, "OFF", True))
    assert sfn.describe_state_machine(stateMachineArn=off)["loggingConfiguration"] == logging(arn, "OFF", True)


@pytest.mark.parametrize("level", ["ALL", "ERROR", "FATAL"])
def test_a_level_other_than_off_needs_exactly_one_destination(sfn, unique_name, level):
    with pytest.raises(ClientError) as refused:
        create(sfn, unique_name("nodest"), PASS, loggingConfiguration={"level": level})
    assert client_error(refused)[1:] == ONE


def test_two_destinations_are_refused(sfn, logs, group, unique_name):
    _, arn = group
    config = logging(arn)
    config["destinations"] *= 2
    with pytest.raises(ClientError) as refused:
        create(sfn, unique_name("twodest"), PASS, loggingConfiguration=config)
    assert client_error(refused)[1:] == ONE


def test_a_missing_log_group_is_refused(sfn, logs, group, unique_name):
    name, arn = group
    logs.delete_log_group(logGroupName=name)
    with pytest.raises(ClientError) as refused:
        create(sfn, unique_name("gone"), PASS, loggingConfiguration=logging(arn))
    assert client_error(refused)[1:] == NOT_FOUND


def test_a_log_group_arn_without_its_star_is_refused(sfn, group, unique_name):
    _, arn = group
    with pytest.raises(ClientError) as refused:
        create(sfn, unique_name("nostar"), PASS, loggingConfiguration=logging(arn[:-2]))
    assert client_error(refused)[1:] == NO_STAR


def test_update_checks_and_changes_the_configuration(sfn, logs, group, unique_name):
    name, arn = group
    machine = create(sfn, unique_name("upd"), FAIL, loggingConfiguration=logging(arn))
    sfn.update_state_machine(stateMachineArn=machine, loggingConfiguration=logging(arn, "FATAL"))
    assert sfn.describe_state_machine(stateMachineArn=machine)["loggingConfiguration"]["level"] == "FATAL"
    with pytest.raises(ClientError) as refused:
        sfn.update_state_machine(stateMachineArn=machine, loggingConfiguration={"level": "ALL"})
    assert client_error(refused)[1:] == ONE
    execute(sfn, machine)
    assert [e["type"] for e in logged(logs, name, 1)] == ["ExecutionFailed"]


def test_a_cloudformation_state_machine_logs_to_its_stack_log_group(client, sfn, logs, unique_name):
    cf = client("cloudformation")
    stack = unique_name("sfn-logs-stack")
    template = {"Resources": {
        "Group": {"Type": "AWS::Logs::LogGroup"},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": ROLE, "DefinitionString": json.dumps(PASS),
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True, "Destinations": [
                {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Group", "Arn"]}}}]}}}}}
    cf.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    wait(cf, "stack_create_complete", stack)
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cf.describe_stack_resources(StackName=stack)["StackResources"]}
    execute(sfn, resources["Machine"], {"from": "cfn"})
    events = logged(logs, resources["Group"], 4)
    assert [e["type"] for e in events] == ["ExecutionStarted", "PassStateEntered", "PassStateExited",
                                          "ExecutionSucceeded"]
    assert json.loads(events[0]["details"]["input"]) == {"from": "cfn"}
    cf.delete_stack(StackName=stack)
