"""Step Functions answers as AWS recorded them (LocalStack's AWS-validated snapshots, issue 14):
history event ids, revision ids, page tokens, validation messages, empty Fail states, the
context object, and variables (Assign, `$name`) in JSONPath states."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from botocore.exceptions import ClientError
from sfn_support import ROLE, create, history, output, run, sfn_client, wait_done

PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "End": True}}}


@pytest.fixture(scope="module")
def sfn(endpoint):
    return sfn_client(endpoint)


def test_the_first_state_entered_has_previous_event_id_zero(sfn, unique_name):
    described = run(sfn, unique_name("prev"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}}})
    events = history(sfn, described["executionArn"])
    assert [(e["type"], e["id"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 1, 0), ("PassStateEntered", 2, 0), ("PassStateExited", 3, 2),
        ("PassStateEntered", 4, 3), ("PassStateExited", 5, 4), ("ExecutionSucceeded", 6, 5)]


def test_a_stopped_execution_aborted_event_names_no_previous_event(sfn, unique_name):
    arn = create(sfn, unique_name("stop"), {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60,
                                                                              "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.stop_execution(executionArn=execution)
    assert wait_done(sfn, execution)["status"] == "ABORTED"
    events = history(sfn, execution)
    assert [(e["type"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 0), ("WaitStateEntered", 0), ("ExecutionAborted", 0)]


def test_a_machine_has_a_revision_id_only_once_updated(sfn, unique_name):
    arn = create(sfn, unique_name("rev"), PASS)
    assert "revisionId" not in sfn.describe_state_machine(stateMachineArn=arn)
    first = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps({**PASS, "Comment": "1"}))
    assert sfn.describe_state_machine(stateMachineArn=arn)["revisionId"] == first["revisionId"]
    # the same parameters again: no new revision
    again = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps({**PASS, "Comment": "1"}))
    assert again["revisionId"] == first["revisionId"]
    second = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps({**PASS, "Comment": "2"}))
    assert second["revisionId"] != first["revisionId"]


def test_a_machine_never_updated_publishes_its_initial_revision(sfn, unique_name):
    """PublishStateMachineVersion's documented name for the revision of a machine without a
    revision id is INITIAL; once updated, INITIAL no longer matches."""
    arn = create(sfn, unique_name("initial"), PASS)
    version = sfn.publish_state_machine_version(stateMachineArn=arn, revisionId="INITIAL")
    assert version["stateMachineVersionArn"] == f"{arn}:1"
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps({**PASS, "Comment": "1"}))
    with pytest.raises(ClientError) as e:
        sfn.publish_state_machine_version(stateMachineArn=arn, revisionId="INITIAL")
    assert e.value.response["Error"]["Code"] == "ConflictException"


def test_list_executions_pages_with_opaque_tokens_and_aws_messages(sfn, unique_name):
    arn = create(sfn, unique_name("page"), PASS)
    for i in range(3):
        wait_done(sfn, sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"])
    page = sfn.list_executions(stateMachineArn=arn, maxResults=2)
    assert len(page["executions"]) == 2 and not page["nextToken"].isdigit()
    rest = sfn.list_executions(stateMachineArn=arn, maxResults=2, nextToken=page["nextToken"])
    assert len(rest["executions"]) == 1 and "nextToken" not in rest
    with pytest.raises(ClientError) as e:
        sfn.list_executions(stateMachineArn=arn, maxResults=1001)
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have "
        "value less than or equal to 1000")
    with pytest.raises(ClientError) as e:
        sfn.list_executions(stateMachineArn=arn, nextToken="x" * 3097)
    assert e.value.response["Error"]["Message"].endswith(
        "at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 3096")
    with pytest.raises(ClientError) as e:
        sfn.list_executions(stateMachineArn=arn, statusFilter="succeeded")
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must "
        "satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]")


def test_a_fail_state_without_error_or_cause_leaves_them_out(sfn, unique_name):
    described = run(sfn, unique_name("empty"), {"StartAt": "F", "States": {"F": {"Type": "Fail"}}})
    assert described["status"] == "FAILED" and "error" not in described and "cause" not in described
    assert history(sfn, described["executionArn"])[-1]["executionFailedEventDetails"] == {}


def test_fail_error_path_and_cause_path_take_intrinsic_functions(sfn, unique_name):
    described = run(sfn, unique_name("failfn"), {"StartAt": "F", "States": {"F": {
        "Type": "Fail", "ErrorPath": "States.Format('{}.Custom', $.e)", "CausePath": "States.JsonToString($.c)"}}},
        {"e": "My", "c": {"why": 1}})
    assert (described["error"], described["cause"]) == ("My.Custom", '{"why":1}')


def test_retry_count_is_in_the_context_of_retriable_states_only(sfn, unique_name):
    result = output(run(sfn, unique_name("ctx"), {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"state.$": "$$.State"}, "End": True}}}))
    assert set(result["state"]) == {"Name", "EnteredTime"}


def test_jsonpath_states_assign_and_read_variables(sfn, unique_name):
    described = run(sfn, unique_name("vars"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"limit": 2, "who.$": "$.name", "whole.$": "$"}, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$limit", "NumericEquals": 2, "Next": "B"}]},
        "B": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hi {}', $who)", "n.$": "$whole.name",
                                             "limit.$": "$limit"}, "End": True}}}, {"name": "ana"})
    assert output(described) == {"greeting": "hi ana", "n": "ana", "limit": 2}


def test_an_undefined_variable_fails_the_execution_with_states_runtime(sfn, unique_name):
    described = run(sfn, unique_name("novar"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"v.$": "$missing"}, "End": True}}})
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"


def test_a_variable_path_is_valid_at_create_state_machine(sfn, unique_name):
    arn = sfn.create_state_machine(name=unique_name("vpath"), roleArn=ROLE, definition=json.dumps({
        "StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"s": 1}, "Next": "W"},
                                   "W": {"Type": "Wait", "SecondsPath": "$s", "End": True}}}))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert wait_done(sfn, execution)["status"] == "SUCCEEDED"


def test_state_exited_lists_the_assigned_variables(sfn, unique_name):
    described = run(sfn, unique_name("assigned"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"items": ["a", "b"]}, "End": True}}})
    exited = history(sfn, described["executionArn"])[2]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"items": '["a","b"]'}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


def test_map_iterations_and_exit_are_linked_as_aws_links_them(sfn, unique_name):
    described = run(sfn, unique_name("maplinks"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True}}}, [1, 2])
    events = [(e["id"], e["previousEventId"], e["type"]) for e in history(sfn, described["executionArn"])]
    assert events == [
        (1, 0, "ExecutionStarted"), (2, 0, "MapStateEntered"), (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"), (5, 4, "PassStateEntered"), (6, 5, "PassStateExited"),
        (7, 6, "MapIterationSucceeded"), (8, 6, "MapIterationStarted"), (9, 8, "PassStateEntered"),
        (10, 9, "PassStateExited"), (11, 10, "MapIterationSucceeded"), (12, 11, "MapStateSucceeded"),
        (13, 11, "MapStateExited"), (14, 13, "ExecutionSucceeded")]


def test_a_failing_parallel_branch_fails_the_state_after_the_branch_event(sfn, unique_name):
    described = run(sfn, unique_name("parfail"), {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}],
        "End": True}}})
    events = [(e["id"], e["previousEventId"], e["type"]) for e in history(sfn, described["executionArn"])]
    assert events == [(1, 0, "ExecutionStarted"), (2, 0, "ParallelStateEntered"), (3, 2, "ParallelStateStarted"),
                      (4, 3, "FailStateEntered"), (5, 4, "ParallelStateFailed"), (6, 5, "ExecutionFailed")]


def test_states_runtime_is_not_caught_even_when_named(sfn, unique_name):
    described = run(sfn, unique_name("runtime"), {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Next": "T"},
        "T": {"Type": "Map", "ItemsPath": "$.nothing", "ItemProcessor": {"StartAt": "X", "States": {
            "X": {"Type": "Pass", "End": True}}}, "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "C"}],
            "End": True},
        "C": {"Type": "Pass", "End": True}}}, {"nothing": 1})
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"
    assert described["cause"] == ("An error occurred while executing the state 'T' (entered at the event id #4). "
                                  "Map state input must be an array but was: 1")
    assert [e["type"] for e in history(sfn, described["executionArn"])][-2:] == ["MapStateEntered",
                                                                                 "ExecutionFailed"]


def test_a_failing_jsonata_expression_is_an_evaluation_failed_event(sfn, unique_name):
    described = run(sfn, unique_name("evalfail"), {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "Items": "{% 1 %}", "ItemProcessor": {"StartAt": "X", "States": {
            "X": {"Type": "Pass", "End": True}}}, "End": True}}})
    cause = ("An error occurred while executing the state 'M' (entered at the event id #2). The JSONata expression "
             "'1' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was "
             "'number' for value: 1")
    assert (described["error"], described["cause"]) == ("States.QueryEvaluationError", cause)
    events = history(sfn, described["executionArn"])
    assert [(e["type"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 0), ("MapStateEntered", 0), ("EvaluationFailed", 0), ("MapStateFailed", 3),
        ("ExecutionFailed", 4)]
    assert events[2]["evaluationFailedEventDetails"] == {"error": "States.QueryEvaluationError", "cause": cause,
                                                         "location": "Items", "state": "M"}


def test_a_max_concurrency_path_to_no_number_fails_with_aws_cause(sfn, unique_name):
    described = run(sfn, unique_name("maxconc"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.limit", "ItemProcessor": {
            "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "End": True}}},
        {"items": [1], "limit": "NoNumber"})
    assert described["cause"] == ("An error occurred while executing the state 'M' (entered at the event id #2). "
                                  'The MaxConcurrencyPath field refers to value "NoNumber" which is not a valid '
                                  "integer: $.limit")


@pytest.mark.parametrize("timestamp", ["2016-12-05 21:29:29Z", "2016-12-05T21:29:29", "2016-13-05T21:29:29Z",
                                       "{% '2016-03-14T01:59:00Z' %}"])  # (JSONata only in a JSONata state)
def test_a_wait_timestamp_that_is_not_rfc3339_is_an_invalid_definition(sfn, unique_name, timestamp):
    with pytest.raises(ClientError) as e:
        create(sfn, unique_name("ts"), {"StartAt": "W", "States": {"W": {"Type": "Wait", "Timestamp": timestamp,
                                                                          "End": True}}})
    assert e.value.response["Error"]["Code"] == "InvalidDefinition"
    assert "SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/W/Timestamp" in \
        e.value.response["Error"]["Message"]


def test_a_caught_parallel_failure_is_failed_then_exited(sfn, unique_name):
    described = run(sfn, unique_name("parcatch"), {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "Next": "C"},
        "C": {"Type": "Pass", "End": True}}})
    events = [(e["id"], e["previousEventId"], e["type"]) for e in history(sfn, described["executionArn"])]
    assert events[3:6] == [(4, 3, "FailStateEntered"), (5, 4, "ParallelStateFailed"), (6, 5, "ParallelStateExited")]
    assert output(described)["Error"] == "Boom"


def test_jsonata_map_input_that_is_no_array_is_an_evaluation_failure(sfn, unique_name):
    described = run(sfn, unique_name("mapinput"), {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
        "End": True}}}, {"not": "an array"})
    assert described["error"] == "States.QueryEvaluationError" and "cause" not in described
    events = history(sfn, described["executionArn"])
    assert events[2]["evaluationFailedEventDetails"] == {"error": "States.QueryEvaluationError", "state": "M"}


@pytest.mark.parametrize("choice_input, expected", [({"input_value": 42}, "CORRECT"), ({"input_value": 1}, "INCORRECT")])
def test_a_choice_assigns_the_matching_rule_or_the_default_variables(sfn, unique_name, choice_input, expected):
    described = run(sfn, unique_name("choiceassign"), {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.input_value", "NumericEquals": 42,
                                             "Assign": {"status": "CORRECT"}, "Next": "F"}],
              "Assign": {"status": "INCORRECT"}, "Default": "F"},
        "F": {"Type": "Pass", "Parameters": {"result.$": "$status"}, "End": True}}}, choice_input)
    assert output(described) == {"result": expected}


def test_jsonata_max_items_of_an_item_reader_is_evaluated(sfn, client, unique_name):
    s3 = client("s3")
    bucket = unique_name("maxitems")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="items.json", Body=json.dumps([1, 2, 3, 4]).encode())
    described = run(sfn, unique_name("maxitems"), {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                                      "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $maxItems := 2 %}"},
                                      "Arguments": {"Bucket": bucket, "Key": "items.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "End": True}}})
    assert output(described) == [1, 2]


def test_a_timestamp_path_to_no_rfc3339_timestamp_fails_with_aws_cause(sfn, unique_name):
    described = run(sfn, unique_name("tspath"), {"StartAt": "W", "States": {"W": {
        "Type": "Wait", "TimestampPath": "$.at", "End": True}}}, {"at": "2016-13-05T21:29:29Z"})
    assert described["cause"] == (
        "An error occurred while executing the state 'W' (entered at the event id #2). The TimestampPath parameter "
        "does not reference a valid ISO-8601 extended offset date-time format string: $.at == 2016-13-05T21:29:29Z")
    described = run(sfn, unique_name("secpath"), {"StartAt": "W", "States": {"W": {
        "Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": True}}})
    assert described["cause"] == (
        "An error occurred while executing the state 'W' (entered at the event id #2). The SecondsPath parameter "
        "does not reference an input value: $.input.waitSeconds")


@pytest.mark.parametrize("seconds, problem", [(1.5, "cannot be parsed as a long value"),
                                              (-1, "references a negative value")])
def test_a_seconds_path_to_no_whole_non_negative_number_fails_with_aws_cause(sfn, unique_name, seconds, problem):
    described = run(sfn, unique_name("secs"), {"StartAt": "W", "States": {"W": {
        "Type": "Wait", "SecondsPath": "$.s", "End": True}}}, {"s": seconds})
    assert described["cause"] == ("An error occurred while executing the state 'W' (entered at the event id #2). "
                                  f"The SecondsPath parameter {problem}: $.s == {seconds}")


def test_describe_state_machine_lists_the_variables_each_jsonpath_state_reads(sfn, unique_name):
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$list", "ItemProcessor": {"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Parameters": {"v.$": "States.Format('{} {}', $y, $x)", "c.$": "$$.Map.Item"},
                  "End": True}}}, "Next": "J"},
        "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $x %}", "End": True}}}
    arn = create(sfn, unique_name("refs"), definition)
    assert sfn.describe_state_machine(stateMachineArn=arn)["variableReferences"] == {"M": ["list"], "P": ["x", "y"]}
    plain = create(sfn, unique_name("norefs"), PASS)
    assert "variableReferences" not in sfn.describe_state_machine(stateMachineArn=plain)


def test_the_context_start_time_is_the_start_date_to_the_millisecond(sfn, unique_name):
    described = run(sfn, unique_name("start"), {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime"}, "End": True}}})
    start = described["startDate"].astimezone(UTC)
    assert output(described)["t"] == f"{start.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z"


def test_a_map_states_legacy_parameters_select_each_item(sfn, unique_name):
    described = run(sfn, unique_name("legacy"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "Parameters": {"constant": "c", "value.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}, ["a", "b"])
    assert output(described) == [{"constant": "c", "value": "a"}, {"constant": "c", "value": "b"}]


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_input_and_output_paths_may_select_from_the_context_object(sfn, unique_name, field):
    described = run(sfn, unique_name("ctxpath"), {"StartAt": "P", "States": {"P": {
        "Type": "Pass", field: "$$.Execution.Input", "End": True}}}, {"v": 1})
    assert output(described) == {"v": 1}


def test_step_functions_adds_its_own_functions_to_jsonata(sfn, unique_name):
    """$partition, $range, $hash, $random (seeded), $uuid and $parse, as AWS documents them; a
    one-number $range is that number, as AWS answers."""
    described = run(sfn, unique_name("jsonatafn"), {"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {
        "Type": "Pass", "End": True, "Output": {
            "partition": "{% $partition([0, 1, 2, 3], 3) %}", "range": "{% $range(0, 10, 3) %}",
            "single": "{% $range(1, 9, 9) %}", "hash": "{% $hash('abc', 'SHA-256') %}",
            "seeded": "{% $random(7) = $random(7) %}", "unseeded": "{% $random() < 1 %}",
            "uuid": "{% $uuid() %}", "parsed": "{% $parse($states.input.text) %}"}}}},
        {"text": '{"a": [1, 2]}'})
    result = output(described)
    assert result.pop("uuid")[14] == "4"  # a version 4 UUID
    assert result == {"partition": [[0, 1, 2], [3]], "range": [0, 3, 6, 9], "single": 1,
                      "hash": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                      "seeded": True, "unseeded": True, "parsed": {"a": [1, 2]}}


def test_jsonata_parse_of_no_json_is_a_query_evaluation_error(sfn, unique_name):
    described = run(sfn, unique_name("jsonataparse"), {"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True, "Output": "{% $parse('x') %}"}}})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.QueryEvaluationError"


def _machine_with_two_versions(sfn, name):
    arn = create(sfn, name, PASS)
    first = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps({**PASS, "Comment": "2"}))
    second = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
    return arn, first, second


@pytest.mark.parametrize("routing, message", [
    (lambda arn, v1, v2: [{"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v1, "weight": 50}],
     "Routing configuration must contain distinct state machine version ARNs. Received: [{v1}, {v1}]"),
    (lambda arn, v1, v2: [{"stateMachineVersionArn": arn, "weight": 100}],
     "Routing configuration must contain state machine version ARNs. Received: [{arn}]"),
    (lambda arn, v1, v2: [{"stateMachineVersionArn": v1, "weight": 70}, {"stateMachineVersionArn": v2, "weight": 29}],
     "Sum of routing configuration weights must equal 100. Received: [70, 29]"),
    (lambda arn, v1, v2: [{"stateMachineVersionArn": v1, "weight": 101}],
     "1 validation error detected: Value '101' at 'routingConfiguration.1.member.weight' failed to satisfy "
     "constraint: Member must have value less than or equal to 100"),
])
def test_create_alias_checks_its_routing_as_aws_does(sfn, unique_name, routing, message):
    arn, v1, v2 = _machine_with_two_versions(sfn, unique_name("aliasck"))
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine_alias(name="live", routingConfiguration=routing(arn, v1, v2))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == message.format(arn=arn, v1=v1)


def test_a_missing_alias_is_deleted_without_error_and_not_updated(sfn, unique_name):
    arn = create(sfn, unique_name("noalias"), PASS)
    sfn.delete_state_machine_alias(stateMachineAliasArn=f"{arn}:gone")
    with pytest.raises(ClientError) as e:
        sfn.update_state_machine_alias(stateMachineAliasArn=f"{arn}:gone", description="x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    assert e.value.response["Error"]["Message"] == "Request references a resource that does not exist."
    with pytest.raises(ClientError) as e:
        sfn.list_state_machine_aliases(stateMachineArn=arn, nextToken="InvalidToken")
    assert e.value.response["Error"]["Message"] == "Invalid Token: 'Invalid token'"


def test_a_deleted_versions_number_is_not_reused(sfn, unique_name):
    arn, _, second = _machine_with_two_versions(sfn, unique_name("vnum"))
    sfn.delete_state_machine_version(stateMachineVersionArn=second)
    assert sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"] == f"{arn}:3"


def test_version_description_needs_publish_and_versions_are_not_updated(sfn, unique_name):
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name=unique_name("vdesc"), definition=json.dumps(PASS), roleArn=ROLE,
                                 versionDescription="d")
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (
        "ValidationException", "Version description can only be set when publish is true")
    arn, first, _ = _machine_with_two_versions(sfn, unique_name("vupd"))
    with pytest.raises(ClientError) as e:
        sfn.update_state_machine(stateMachineArn=first, definition=json.dumps(PASS))
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (
        "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{first}'")


@pytest.mark.parametrize("state, cause", [
    ({"Type": "Pass", "Parameters": {"value.$": "$.missing"}, "End": True},
     "The JSONPath '$.missing' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"),
    ({"Type": "Pass", "Parameters": {"value.$": "$$.Execution.Input.missing"}, "End": True},
     "The JSONPath '$$.Execution.Input.missing' specified for the field 'value.$' could not be found in the input"),
    ({"Type": "Fail", "ErrorPath": "$.missing"},
     "The JSONPath '$.missing' specified for the field 'ErrorPath' could not be found in the input '{\"a\":1}'"),
    ({"Type": "Pass", "InputPath": "$.missing.deeper[0]", "End": True},
     "Invalid path '$.missing.deeper[0]' : No results for path: $['missing']['deeper'][0]"),
])
def test_a_path_that_selects_nothing_is_worded_by_its_field(sfn, unique_name, state, cause):
    described = run(sfn, unique_name("nopath"), {"StartAt": "S", "States": {"S": state}}, {"a": 1})
    assert described["error"] == "States.Runtime"
    assert described["cause"].startswith("An error occurred while executing the state 'S' (entered at the event "
                                         f"id #2). {cause}")


def test_a_jsonata_expression_that_returns_nothing_fails_the_field(sfn, unique_name):
    described = run(sfn, unique_name("undef"), {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {
        "Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": True}}})
    cause = ("An error occurred while executing the state 'S' (entered at the event id #2). The JSONata expression "
             "'$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).")
    assert (described["error"], described["cause"]) == ("States.QueryEvaluationError", cause)


def test_jsonata_null_values_and_variables_stay_null(sfn, unique_name):
    described = run(sfn, unique_name("null"), {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"nothing": None}, "Next": "B"},
        "B": {"Type": "Pass", "Output": {"variable": "{% $nothing %}", "field": "{% $states.input.a %}",
                                         "literal": "{% null %}"}, "End": True}}}, {"a": None})
    assert output(described) == {"variable": None, "field": None, "literal": None}


def _read_csv_map(sfn, client, unique_name, body: str, reader_config: dict, value=None):
    s3 = client("s3")
    bucket = unique_name("csvreader")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="items.csv", Body=body.encode())
    return run(sfn, unique_name("csvmap"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                                      "ReaderConfig": {"InputType": "CSV", **reader_config},
                                      "Parameters": {"Bucket": bucket, "Key": "items.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "End": True}}}, value)


def test_a_short_csv_row_has_empty_strings_for_its_missing_fields(sfn, client, unique_name):
    described = _read_csv_map(sfn, client, unique_name, "H1,H2,H3\na,b,c\nd\n", {"CSVHeaderLocation": "FIRST_ROW"})
    assert output(described) == [{"H1": "a", "H2": "b", "H3": "c"}, {"H1": "d", "H2": "", "H3": ""}]


@pytest.mark.parametrize("reader_config, value, cause", [
    ({"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["H", "H"]}, None, "CSV headers cannot contain duplicates."),
    ({"CSVHeaderLocation": "FIRST_ROW", "MaxItemsPath": "$.max"}, {"max": -1}, "field MaxItems must be positive"),
])
def test_an_item_reader_failure_fails_the_map_run(sfn, client, unique_name, reader_config, value, cause):
    described = _read_csv_map(sfn, client, unique_name, "A,B\n1,2\n", reader_config, value)
    assert (described["error"], described["cause"]) == ("States.ItemReaderFailed", cause)
    events = history(sfn, described["executionArn"])
    assert [(e["type"], e["id"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 1, 0), ("MapStateEntered", 2, 0), ("MapStateStarted", 3, 2), ("MapRunStarted", 4, 3),
        ("MapRunFailed", 5, 4), ("MapStateFailed", 6, 5), ("ExecutionFailed", 7, 6)]
    assert events[4]["mapRunFailedEventDetails"] == {"error": "States.ItemReaderFailed", "cause": cause}


def test_map_paths_take_numbers_written_as_strings(sfn, client, unique_name):
    """AWS reads "2" from MaxItemsPath and "1" from ToleratedFailure*Path as numbers; 1.5 is no integer."""
    described = _read_csv_map(sfn, client, unique_name, "A\n1\n2\n3\n", {"MaxItemsPath": "$.max"}, {"max": "2"})
    assert output(described) == [{"A": "1"}, {"A": "2"}]
    described = _read_csv_map(sfn, client, unique_name, "A\n1\n", {"MaxItemsPath": "$.max"}, {"max": 1.5})
    assert (described["error"], described["cause"]) == (
        "States.Runtime", "An error occurred while executing the state 'M' (entered at the event id #2). The "
                          "MaxItemsPath field refers to value \"1.5\" which is not a valid integer: $.max")
    described = run(sfn, unique_name("tolerated"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "ToleratedFailurePercentagePath": "$.percent",
        "ToleratedFailureCountPath": "$.count", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "End": True}}},
        {"items": [1], "percent": "1", "count": "1"})
    assert output(described) == [1]


def test_states_format_prints_objects_as_aws_and_math_add_rounds_its_arguments(sfn, unique_name):
    described = run(sfn, unique_name("format"), {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
        "text.$": "States.Format('fst={} snd={}', $.object, $.list)",
        "sums.$": "States.Array(States.MathAdd($.a, $.b), States.MathAdd($.c, 0), States.MathAdd($.d, 0))"},
        "End": True}}}, {"object": {"Arg1": 1, "Arg2": []}, "list": [1, "x", None], "a": 1.5, "b": 1.51,
                         "c": -1.5, "d": 2.5})
    assert output(described) == {"text": "fst={Arg1=1, Arg2=[]} snd=[1, x, null]", "sums": [4, -1, 3]}


FAILING_ITEM = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
RETRY_ONCE = [{"ErrorEquals": ["E"], "MaxAttempts": 1, "IntervalSeconds": 1, "BackoffRate": 1}]


def test_a_failed_map_iteration_links_the_map_events_after_it_to_its_last_event(sfn, unique_name):
    described = run(sfn, unique_name("mapretry"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "ItemProcessor": FAILING_ITEM, "Retry": RETRY_ONCE, "End": True}}},
        {"items": [1]})
    events = history(sfn, described["executionArn"])
    assert [(e["type"], e["id"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 1, 0), ("MapStateEntered", 2, 0), ("MapStateStarted", 3, 2),
        ("MapIterationStarted", 4, 3), ("FailStateEntered", 5, 4), ("MapIterationFailed", 6, 5),
        ("MapStateStarted", 7, 5), ("MapIterationStarted", 8, 7), ("FailStateEntered", 9, 8),
        ("MapIterationFailed", 10, 9), ("MapStateFailed", 11, 9), ("ExecutionFailed", 12, 11)]


def test_a_retried_parallel_starts_again_after_the_failed_branch(sfn, unique_name):
    described = run(sfn, unique_name("parretry"), {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "Branches": [FAILING_ITEM], "Retry": RETRY_ONCE, "End": True}}})
    events = history(sfn, described["executionArn"])
    assert [(e["type"], e["id"], e["previousEventId"]) for e in events] == [
        ("ExecutionStarted", 1, 0), ("ParallelStateEntered", 2, 0), ("ParallelStateStarted", 3, 2),
        ("FailStateEntered", 4, 3), ("ParallelStateStarted", 5, 4), ("FailStateEntered", 6, 5),
        ("ParallelStateFailed", 7, 6), ("ExecutionFailed", 8, 7)]


def test_a_jsonpath_wait_state_assigns_variables(sfn, unique_name):
    described = run(sfn, unique_name("waitassign"), {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 0, "Assign": {"foo": "oof", "x.$": "$.x"}, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"foo.$": "$foo", "x.$": "$x"}, "End": True}}}, {"x": 1})
    assert output(described) == {"foo": "oof", "x": 1}
    exited = next(e for e in history(sfn, described["executionArn"]) if e["type"] == "WaitStateExited")
    assert exited["stateExitedEventDetails"]["assignedVariables"] == {"foo": '"oof"', "x": "1"}


def test_csv_items_list_their_columns_in_aws_order(sfn, client, unique_name):
    """AWS's recorded CSV items put the columns in its Java hash map's order, not the file's."""
    described = _read_csv_map(sfn, client, unique_name, "0,True,{}\na,b,c\n", {"CSVHeaderLocation": "FIRST_ROW"})
    assert described["output"] == '[{"0":"a","{}":"c","True":"b"}]'
    described = _read_csv_map(sfn, client, unique_name, "H1,\na,b\n", {"CSVHeaderLocation": "FIRST_ROW"})
    assert described["output"] == '[{"":"b","H1":"a"}]'


@pytest.mark.parametrize("label, problem", [
    ("label_ ", "[\"Label contains invalid character: ' '\"]"),
    ("label_\x01", "[\"Label contains invalid character: '\\\\x01'\"]"),  # (escaped, then listed)
    ("", "['Label cannot be empty']"),
    ("x" * 41, "['Label cannot exceed 40 characters']"),
])
def test_a_map_label_is_checked_at_create_state_machine(sfn, unique_name, label, problem):
    definition = json.dumps({"StartAt": "M", "States": {"M": {
        "Type": "Map", "Label": label, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}, "End": True}}})
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name=unique_name("label"), definition=definition, roleArn=ROLE)
    assert e.value.response["Error"]["Code"] == "InvalidDefinition"
    assert e.value.response["Error"]["Message"] == f"Error=ValueError Args={problem} in definition '{definition}'."


@pytest.mark.parametrize("resource,problem", [
    ("arn:aws:states:::sqs:sendMessage.waitForTaskToken",
     "Express state machine does not support '.waitForTaskToken' service integration  at /States/T/Resource"),
    ("arn:aws:states:::states:startExecution.sync:2",
     "Express state machine does not support '.sync' service integration at /States/T/Resource"),
    ("arn:aws:states:us-east-1:000000000000:activity:worker",
     "Express state machine does not support Activity ARN at /States/T/Resource")])
def test_an_express_machine_refuses_tasks_that_wait(sfn, unique_name, resource, problem):
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    with pytest.raises(ClientError) as refused:
        create(sfn, unique_name("express-wait"), definition, "EXPRESS")
    assert refused.value.response["Error"] == {
        "Code": "InvalidDefinition",
        "Message": f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {problem}'"}
    create(sfn, unique_name("standard-wait"), definition)  # a STANDARD machine may


def test_an_express_execution_has_no_description_or_history(sfn, unique_name):
    arn = create(sfn, unique_name("express-arn"), PASS, "EXPRESS")
    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    for call in (sfn.describe_execution, sfn.stop_execution, sfn.get_execution_history):
        with pytest.raises(ClientError) as refused:
            call(executionArn=answer["executionArn"])
        assert refused.value.response["Error"] == {
            "Code": "InvalidArn", "Message": "Invalid Arn: 'Resource type not valid in this context: express'"}


def test_a_failed_sync_execution_answers_output_details(sfn, unique_name):
    arn = create(sfn, unique_name("express-fail"), {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}},
                 "EXPRESS")
    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert answer["status"] == "FAILED" and answer["outputDetails"] == {"included": True}
    assert "output" not in answer


def test_validate_reports_what_an_express_machine_may_not_have(sfn):
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(definition), type="EXPRESS")
    assert answer["result"] == "FAIL"
    assert answer["diagnostics"] == [{
        "severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "location": "/States/T/Resource",
        "message": "Express state machine does not support '.waitForTaskToken' service integration "}]
    standard = sfn.validate_state_machine_definition(definition=json.dumps(definition), type="STANDARD")
    assert standard["result"] == "OK"


def test_a_state_cannot_go_back_to_jsonpath_in_a_jsonata_machine(sfn, unique_name):
    definition = {"QueryLanguage": "JSONata", "StartAt": "Pass", "States": {
        "Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}}}
    answer = sfn.validate_state_machine_definition(definition=json.dumps(definition))
    assert answer["diagnostics"] == [{
        "severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "location": "/States/Pass",
        "message": "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"}]
    with pytest.raises(ClientError) as refused:
        create(sfn, unique_name("downgrade"), definition)
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"


def test_a_jsonata_state_may_hold_jsonpath_states_in_a_jsonpath_machine(sfn):
    definition = {"StartAt": "Map", "QueryLanguage": "JSONPath", "States": {"Map": {
        "Type": "Map", "QueryLanguage": "JSONata", "End": True, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Pass",
            "States": {"Pass": {"QueryLanguage": "JSONPath", "Type": "Pass", "End": True}}}}}}
    assert sfn.validate_state_machine_definition(definition=json.dumps(definition))["result"] == "OK"


def test_a_service_task_scheduled_event_carries_its_timeout(sfn, unique_name):
    # TaskScheduledEventDetails.timeoutInSeconds: the task's TimeoutSeconds, when it has one (as a
    # Lambda function resource's LambdaFunctionScheduled has)
    task = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:listQueues", "Parameters": {}, "End": True}
    for extra, expected in (({"TimeoutSeconds": 30}, {"timeoutInSeconds": 30}), ({}, {})):
        described = run(sfn, unique_name("timeout"), {"StartAt": "T", "States": {"T": {**task, **extra}}})
        assert described["status"] == "SUCCEEDED"
        scheduled = [e for e in history(sfn, described["executionArn"]) if e["type"] == "TaskScheduled"][0]
        details = scheduled["taskScheduledEventDetails"]
        assert {k: v for k, v in details.items() if k == "timeoutInSeconds"} == expected
        assert details["resource"] == "listQueues" and details["resourceType"] == "aws-sdk:sqs"
