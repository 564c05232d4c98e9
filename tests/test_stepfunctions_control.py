"""The Step Functions control plane: state machines, versions, aliases, activities, executions,
histories, validation, TestState, tags, and the errors AWS answers for bad input; and STANDARD
executions surviving kill -9."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client
from messaging_support import receive
from sfn_support import ROLE, create, history, output, run, sfn_client, wait_done

PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def sfn(endpoint):
    return sfn_client(endpoint)


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def message(excinfo) -> str:
    return excinfo.value.response["Error"]["Message"]


@pytest.mark.postgres_e2e
def test_create_describe_list_and_delete_a_state_machine(sfn, unique_name):
    name = unique_name("sm")
    arn = create(sfn, name, PASS, tags=[{"key": "team", "value": "orders"}])
    assert arn == f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["name"] == name and described["status"] == "ACTIVE" and described["type"] == "STANDARD"
    assert json.loads(described["definition"]) == PASS and described["roleArn"] == ROLE
    assert described["loggingConfiguration"]["level"] == "OFF"
    assert any(m["stateMachineArn"] == arn for m in sfn.list_state_machines()["stateMachines"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "orders"}]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert code(e) == "StateMachineDoesNotExist"


def test_creating_the_same_machine_twice_is_idempotent_and_a_different_one_conflicts(sfn, unique_name):
    name = unique_name("idem")
    arn = create(sfn, name, PASS)
    assert create(sfn, name, PASS) == arn
    with pytest.raises(ClientError) as e:
        create(sfn, name, {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}})
    assert code(e) == "StateMachineAlreadyExists"


@pytest.mark.parametrize("definition, expected", [
    ({"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}}, "MISSING_TRANSITION_TARGET"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}, "MISSING_TRANSITION_TARGET"),
    ({"StartAt": "A", "States": {"A": {"Type": "Bogus", "End": True}}}, "SCHEMA_VALIDATION_FAILED"),
    ({"StartAt": "A", "States": {"A": {"Type": "Task", "End": True}}}, "SCHEMA_VALIDATION_FAILED"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}, "B": {"Type": "Succeed"}}}, "UNREACHABLE_STATE"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "Next": "A"}}}, "SCHEMA_VALIDATION_FAILED"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "Arguments": {}}}}, "SCHEMA_VALIDATION_FAILED"),
])
def test_invalid_definitions_answer_invalid_definition_with_the_diagnostic(sfn, unique_name, definition, expected):
    with pytest.raises(ClientError) as e:
        create(sfn, unique_name("bad"), definition)
    assert code(e) == "InvalidDefinition"
    assert message(e).startswith("Invalid State Machine Definition: '")
    assert expected in message(e)
    validated = sfn.validate_state_machine_definition(definition=json.dumps(definition))
    assert validated["result"] == "FAIL"
    assert expected in {d["code"] for d in validated["diagnostics"]}


def test_definition_that_is_not_json_answers_invalid_json_description(sfn, unique_name):
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name=unique_name("nojson"), definition="{not json", roleArn=ROLE)
    assert code(e) == "InvalidDefinition" and "INVALID_JSON_DESCRIPTION" in message(e)
    assert sfn.validate_state_machine_definition(definition=json.dumps(PASS))["result"] == "OK"


def test_bad_names_and_role_arns_are_refused(sfn):
    with pytest.raises(ClientError) as e:
        create(sfn, "has space", PASS)
    assert code(e) == "InvalidName"
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name="okname", definition=json.dumps(PASS), roleArn="not-an-arn")
    assert code(e) == "InvalidArn"


@pytest.mark.postgres_e2e
def test_versions_and_aliases(sfn, unique_name):
    arn = create(sfn, unique_name("ver"), PASS)
    v1 = sfn.publish_state_machine_version(stateMachineArn=arn, description="first")["stateMachineVersionArn"]
    assert v1 == f"{arn}:1"
    assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == v1  # same revision
    revision = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": "v2", "End": True}}}), publish=True)
    v2 = revision["stateMachineVersionArn"]
    assert v2 == f"{arn}:2"
    assert [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=arn)[
        "stateMachineVersions"]] == [v2, v1]
    alias = sfn.create_state_machine_alias(name="live", routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 100}])["stateMachineAliasArn"]
    assert alias == f"{arn}:live"
    execution = sfn.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
    described = wait_done(sfn, execution)
    assert output(described) == {} and described["stateMachineAliasArn"] == alias
    assert described["stateMachineVersionArn"] == v1
    with pytest.raises(ClientError) as e:
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    assert code(e) == "ConflictException"
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v2, "weight": 100}])
    assert output(wait_done(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])) == "v2"
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert code(e) == "ResourceNotFound"


@pytest.mark.postgres_e2e
def test_execution_names_are_unique_and_inputs_checked(sfn, unique_name):
    arn = create(sfn, unique_name("names"), {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5,
                                                                               "End": True}}})
    first = sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a":1}')
    assert sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a":1}')["executionArn"] == \
        first["executionArn"]  # the same request while it runs
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=arn, name="run-1", input='{"a":2}')
    assert code(e) == "ExecutionAlreadyExists"
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=arn, input="{bad json")
    assert code(e) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"x": "y" * 262_144}))
    assert code(e) == "ValidationException"  # the model's length constraint on input (256 KiB)
    assert "input" in message(e)
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=arn + "-missing")
    assert code(e) == "StateMachineDoesNotExist"
    sfn.stop_execution(executionArn=first["executionArn"], error="Stopped.ByTest", cause="enough")


@pytest.mark.postgres_e2e
def test_stop_execution_aborts_and_records_why(sfn, unique_name):
    arn = create(sfn, unique_name("stop"), {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60,
                                                                              "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.stop_execution(executionArn=execution, error="Stopped.ByTest", cause="enough")
    described = wait_done(sfn, execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Stopped.ByTest", "enough")
    last = history(sfn, execution)[-1]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Stopped.ByTest", "cause": "enough"}
    stop_date = described["stopDate"]
    assert sfn.stop_execution(executionArn=execution)["stopDate"] == stop_date  # already stopped: unchanged


@pytest.mark.postgres_e2e
def test_list_executions_filters_by_status_and_pages(sfn, unique_name):
    arn = create(sfn, unique_name("list"), PASS)
    arns = [sfn.start_execution(stateMachineArn=arn)["executionArn"] for _ in range(3)]
    for execution in arns:
        wait_done(sfn, execution)
    page = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED", maxResults=2)
    assert len(page["executions"]) == 2 and "nextToken" in page
    rest = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED", nextToken=page["nextToken"])
    assert {e["executionArn"] for e in page["executions"] + rest["executions"]} == set(arns)
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []


@pytest.mark.postgres_e2e
def test_history_pages_and_reverses(sfn, unique_name):
    described = run(sfn, unique_name("hist"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}}})
    execution = described["executionArn"]
    page = sfn.get_execution_history(executionArn=execution, maxResults=2)
    assert [e["id"] for e in page["events"]] == [1, 2]
    rest = sfn.get_execution_history(executionArn=execution, nextToken=page["nextToken"])["events"]
    assert [e["id"] for e in rest] == [3, 4, 5, 6]
    reverse = sfn.get_execution_history(executionArn=execution, reverseOrder=True)["events"]
    assert [e["type"] for e in reverse][:2] == ["ExecutionSucceeded", "PassStateExited"]
    started = page["events"][0]["executionStartedEventDetails"]
    assert started["roleArn"] == ROLE and json.loads(started["input"]) == {}


@pytest.mark.postgres_e2e
def test_describe_state_machine_for_execution_gives_the_definition_it_ran(sfn, unique_name):
    arn = create(sfn, unique_name("forexec"), PASS)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    wait_done(sfn, execution)
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(
        {"StartAt": "Z", "States": {"Z": {"Type": "Succeed"}}}))
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=execution)["definition"]) == PASS


def test_unknown_execution_answers_execution_does_not_exist(sfn):
    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn="arn:aws:states:us-east-1:000000000000:execution:nope:nope")
    assert code(e) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn="not-an-arn")
    assert code(e) == "InvalidArn"


def test_start_sync_execution_on_a_standard_machine_is_refused(sfn, unique_name):
    arn = create(sfn, unique_name("notexpress"), PASS)
    with pytest.raises(ClientError) as e:
        sfn.start_sync_execution(stateMachineArn=arn)
    assert code(e) == "StateMachineTypeNotSupported"


@pytest.mark.postgres_e2e
def test_redrive_restarts_a_failed_execution_at_the_failed_state(sfn, client, unique_name):
    ddb = client("dynamodb")
    table = unique_name("redrive")
    definition = {"StartAt": "Mark", "States": {
        "Mark": {"Type": "Pass", "Result": "marked", "ResultPath": "$.mark", "Next": "Read"},
        "Read": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
                 "Parameters": {"TableName": table}, "ResultSelector": {"status.$": "$.Table.TableStatus"},
                 "End": True}}}
    failed = run(sfn, unique_name("redrivem"), definition)
    assert failed["status"] == "FAILED" and failed["error"] == "DynamoDb.ResourceNotFoundException"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    sfn.redrive_execution(executionArn=failed["executionArn"])
    described = wait_done(sfn, failed["executionArn"])
    assert output(described) == {"status": "ACTIVE"} and described["redriveCount"] == 1
    types = [e["type"] for e in history(sfn, failed["executionArn"])]
    assert "ExecutionRedriven" in types and types.count("PassStateEntered") == 1


def test_test_state_runs_one_state_in_isolation(sfn):
    state = {"Type": "Pass", "InputPath": "$.person", "Parameters": {"greeting.$": "States.Format('hi {}', $.name)"},
             "ResultPath": "$.out", "Next": "Elsewhere"}
    result = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input=json.dumps({"person": {"name": "Ada"}}),
                            inspectionLevel="DEBUG")
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"person": {"name": "Ada"}, "out": {"greeting": "hi Ada"}}
    assert result["nextState"] == "Elsewhere"
    data = result["inspectionData"]
    assert json.loads(data["afterInputPath"]) == {"name": "Ada"}
    assert json.loads(data["afterParameters"]) == {"greeting": "hi Ada"}
    assert json.loads(data["afterResultPath"])["out"] == {"greeting": "hi Ada"}
    failing = sfn.test_state(definition=json.dumps({"Type": "Fail", "Error": "E", "Cause": "C"}), roleArn=ROLE)
    assert (failing["status"], failing["error"], failing["cause"]) == ("FAILED", "E", "C")


def test_test_state_reports_retriable_and_caught_errors(sfn):
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
            "Parameters": {"TableName": "no-such-table"}, "End": True}
    retried = dict(task, Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}])
    result = sfn.test_state(definition=json.dumps(retried), roleArn=ROLE)
    assert (result["status"], result["error"]) == ("RETRIABLE", "DynamoDb.ResourceNotFoundException")
    caught = dict(task, Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}])
    result = sfn.test_state(definition=json.dumps(caught), roleArn=ROLE, input="{}")
    assert (result["status"], result["nextState"]) == ("CAUGHT_ERROR", "Handle")
    assert json.loads(result["output"])["error"]["Error"] == "DynamoDb.ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_activities_create_describe_list_delete(sfn, unique_name):
    name = unique_name("activity")
    arn = sfn.create_activity(name=name)["activityArn"]
    assert sfn.create_activity(name=name)["activityArn"] == arn
    assert sfn.describe_activity(activityArn=arn)["name"] == name
    assert any(a["activityArn"] == arn for a in sfn.list_activities()["activities"])
    sfn.delete_activity(activityArn=arn)
    with pytest.raises(ClientError) as e:
        sfn.describe_activity(activityArn=arn)
    assert code(e) == "ActivityDoesNotExist"


def test_another_account_cannot_see_the_machine(endpoint, sfn, unique_name):
    arn = create(sfn, unique_name("acct"), PASS)
    other = sfn_client(endpoint, access_key="111111111111")
    with pytest.raises(ClientError) as e:
        other.describe_state_machine(stateMachineArn=arn)
    assert code(e) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as e:
        other.start_execution(stateMachineArn=arn)
    assert code(e) == "StateMachineDoesNotExist"


def test_a_standard_execution_resumes_after_kill_9(tmp_path):
    data_dir = str(tmp_path / "data")
    server = OvercastProcess(data_dir=data_dir)
    try:
        sfn = sfn_client(server.endpoint)
        sqs = make_client(server.endpoint, "sqs")
        url = sqs.create_queue(QueueName="tokens")["QueueUrl"]
        waiting = create(sfn, "waits", {"StartAt": "Before", "States": {
            "Before": {"Type": "Pass", "Result": 1, "ResultPath": "$.before", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 2, "Next": "After"},
            "After": {"Type": "Pass", "Result": 2, "ResultPath": "$.after", "End": True}}})
        callback = create(sfn, "calls", {"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": url, "MessageBody.$": "$$.Task.Token"}, "End": True}}})
        wait_execution = sfn.start_execution(stateMachineArn=waiting, input='{"n": 1}')["executionArn"]
        call_execution = sfn.start_execution(stateMachineArn=callback)["executionArn"]
        token = receive(sqs, url, timeout=30)[0]["Body"]
        deadline = time.monotonic() + 30
        while "WaitStateEntered" not in [e["type"] for e in history(sfn, wait_execution)]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        killed_at = time.time()
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=data_dir)
    try:
        sfn = sfn_client(server.endpoint)
        described = wait_done(sfn, wait_execution, timeout=30)
        assert output(described) == {"n": 1, "before": 1, "after": 2}
        assert time.time() - killed_at < 30  # the Wait ended on its timer after the restart, not never
        types = [e["type"] for e in history(sfn, wait_execution)]
        assert types.count("PassStateEntered") == 2  # Before ran once; only the Wait was entered again
        sfn.send_task_success(taskToken=token, output='{"answered": "after restart"}')
        assert output(wait_done(sfn, call_execution, timeout=30)) == {"answered": "after restart"}
    finally:
        server.stop()


def test_a_distributed_map_runs_again_after_kill_9_and_its_queued_children_go(tmp_path):
    """Killed while a Distributed Map's children run (on PostgreSQL two at a time, the rest queued
    in the database): after the restart the Map state runs again from its start, the children the
    killed server had started end ABORTED, and nothing of the first map run is left queued."""
    from conftest import TEST_DATABASES, stored_rows

    data_dir = str(tmp_path / "data")
    env = {"OVERCAST_SFN_MAP_CHILD_CONCURRENCY": "2"}
    machine_definition = {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}}}}
    server = OvercastProcess(data_dir=data_dir, env=env)
    try:
        sfn = sfn_client(server.endpoint)
        execution = sfn.start_execution(stateMachineArn=create(sfn, "dmap", machine_definition),
                                        input=json.dumps(list(range(5))))["executionArn"]
        deadline = time.monotonic() + 30
        while not sfn.list_map_runs(executionArn=execution)["mapRuns"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first_run = sfn.list_map_runs(executionArn=execution)["mapRuns"][0]["mapRunArn"]
        while len(sfn.list_executions(mapRunArn=first_run, statusFilter="RUNNING")["executions"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.stop(kill=True)
    if TEST_DATABASES is not None:  # (on PostgreSQL the children are queued in the database: 2 running, 3 waiting)
        assert len(stored_rows(data_dir, "SELECT id FROM sfn_map_children")) == 5
    server = OvercastProcess(data_dir=data_dir, env=env)
    try:
        sfn = sfn_client(server.endpoint)
        assert output(wait_done(sfn, execution, timeout=30)) == list(range(5))
        runs = sfn.list_map_runs(executionArn=execution)["mapRuns"]
        assert len(runs) == 2  # the Map state ran again, as a map run of its own
        first = {c["status"] for c in sfn.list_executions(mapRunArn=first_run)["executions"]}
        assert first == {"ABORTED"}, first
        assert stored_rows(data_dir, "SELECT id FROM sfn_map_children") == []
    finally:
        server.stop()
