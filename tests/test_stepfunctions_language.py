"""Amazon States Language as AWS documents it: input and output processing (JSONPath and JSONata),
intrinsic functions, Choice rules, Wait, Parallel, Map, Retry and Catch, variables."""

from __future__ import annotations

import json
import time

import pytest
from sfn_support import history, output, run, run_sync, sfn_client


@pytest.fixture(scope="module")
def sfn(endpoint):
    return sfn_client(endpoint)


def test_input_and_output_processing_follows_the_documented_order(sfn, unique_name):
    # AWS's "Input and Output Processing" example: InputPath -> Parameters -> ResultSelector -> ResultPath -> OutputPath
    definition = {"StartAt": "A", "States": {"A": {
        "Type": "Pass", "InputPath": "$.library", "Parameters": {"title.$": "$.book", "count": 2},
        "ResultPath": "$.result", "OutputPath": "$.result", "End": True}}}
    described = run(sfn, unique_name("io"), definition, {"library": {"book": "Dune"}, "other": 1})
    assert output(described) == {"title": "Dune", "count": 2}


def test_result_path_null_keeps_the_input_and_result_selector_reshapes(sfn, unique_name):
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": None, "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"x.$": "$.k"}, "ResultPath": "$.deep.nested", "End": True}}}
    described = run(sfn, unique_name("rp"), definition, {"k": "v"})
    assert output(described) == {"k": "v", "deep": {"nested": {"x": "v"}}}


def test_intrinsic_functions(sfn, unique_name):
    parameters = {
        "format.$": "States.Format('Hello, {} {}!', $.first, $.last)",
        "json.$": "States.StringToJson($.text)",
        "text.$": "States.JsonToString($.obj)",
        "array.$": "States.Array(1, 'two', $.first)",
        "parts.$": "States.ArrayPartition($.nums, 2)",
        "contains.$": "States.ArrayContains($.nums, 3)",
        "range.$": "States.ArrayRange(1, 9, 2)",
        "item.$": "States.ArrayGetItem($.nums, 1)",
        "length.$": "States.ArrayLength($.nums)",
        "unique.$": "States.ArrayUnique($.dups)",
        "b64.$": "States.Base64Encode('Data to encode')",
        "decoded.$": "States.Base64Decode('RGF0YSB0byBlbmNvZGU=')",
        "hash.$": "States.Hash('input data', 'SHA-1')",
        "merged.$": "States.JsonMerge($.obj, $.more, false)",
        "sum.$": "States.MathAdd($.n, -3)",
        "split.$": "States.StringSplit('1,2,3,4,5', ',')",
        "nested.$": "States.ArrayLength(States.Array(1, 2, 3))",
        "context.$": "$$.State.Name",
    }
    value = {"first": "Ada", "last": "Lovelace", "text": "{\"a\":1}", "obj": {"a": 1}, "more": {"b": 2},
             "nums": [1, 2, 3, 4, 5], "dups": [1, 2, 2, 3, 1], "n": 10}
    described = run(sfn, unique_name("fn"), {"StartAt": "Fns", "States": {
        "Fns": {"Type": "Pass", "Parameters": parameters, "End": True}}}, value)
    result = output(described)
    assert result["format"] == "Hello, Ada Lovelace!"
    assert result["json"] == {"a": 1} and json.loads(result["text"]) == {"a": 1}
    assert result["array"] == [1, "two", "Ada"]
    assert result["parts"] == [[1, 2], [3, 4], [5]]
    assert result["contains"] is True
    assert result["range"] == [1, 3, 5, 7, 9]
    assert result["item"] == 2 and result["length"] == 5
    assert result["unique"] == [1, 2, 3]
    assert result["b64"] == "RGF0YSB0byBlbmNvZGU=" and result["decoded"] == "Data to encode"
    assert result["hash"] == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    assert result["merged"] == {"a": 1, "b": 2}
    assert result["sum"] == 7
    assert result["split"] == ["1", "2", "3", "4", "5"]
    assert result["nested"] == 3
    assert result["context"] == "Fns"


def test_an_intrinsic_given_bad_arguments_fails_with_intrinsic_failure(sfn, unique_name):
    described = run(sfn, unique_name("fnbad"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"x.$": "States.ArrayPartition($.n, 0)"}, "End": True}}}, {"n": [1]})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.IntrinsicFailure"


def test_a_path_that_selects_nothing_fails_with_states_runtime(sfn, unique_name):
    described = run(sfn, unique_name("nopath"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$.missing", "End": True}}}, {"k": 1})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "$.missing" in described["cause"]


CHOICE = {"StartAt": "C", "States": {
    "C": {"Type": "Choice", "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"And": [{"Variable": "$.value", "IsPresent": True}, {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                 {"Variable": "$.value", "NumericLessThan": 30}], "Next": "Twenties"},
        {"Variable": "$.name", "StringMatches": "log-*.txt", "Next": "Log"},
        {"Variable": "$.when", "TimestampLessThanPath": "$.limit", "Next": "Early"},
    ], "Default": "Other"},
    "Public": {"Type": "Pass", "Result": "public", "End": True},
    "Twenties": {"Type": "Pass", "Result": "twenties", "End": True},
    "Log": {"Type": "Pass", "Result": "log", "End": True},
    "Early": {"Type": "Pass", "Result": "early", "End": True},
    "Other": {"Type": "Pass", "Result": "other", "End": True}}}


@pytest.mark.parametrize("value, expected", [
    ({"type": "Public"}, "public"),
    ({"type": "Private", "value": 25}, "twenties"),
    ({"type": "Private", "value": 35, "name": "log-2024.txt"}, "log"),
    ({"type": "Private", "name": "x", "when": "2024-01-01T00:00:00Z", "limit": "2025-01-01T00:00:00Z"}, "early"),
    ({"type": "Private", "value": 5, "name": "x", "when": "2026-01-01T00:00:00Z", "limit": "2025-01-01T00:00:00Z"},
     "other"),
])
def test_choice_rules(sfn, unique_name, value, expected):
    assert output(run_sync(sfn, unique_name("choice"), CHOICE, value)) == expected


def test_a_choice_rule_on_a_missing_variable_fails_with_states_runtime(sfn, unique_name):
    described = run_sync(sfn, unique_name("choicemissing"), CHOICE, {"type": "Private"})
    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"
    assert "$.name" in described["cause"]


def test_choice_without_a_match_or_default_fails_no_choice_matched(sfn, unique_name):
    described = run_sync(sfn, unique_name("nochoice"), {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
        "D": {"Type": "Succeed"}}}, {"x": 2})
    assert described["status"] == "FAILED" and described["error"] == "States.NoChoiceMatched"


def test_fail_state_gives_its_error_and_cause(sfn, unique_name):
    described = run(sfn, unique_name("fail"), {"StartAt": "F", "States": {
        "F": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "because"}}}, {"e": "Custom.Error"})
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Custom.Error", "because")
    types = [e["type"] for e in history(sfn, described["executionArn"])]
    assert types == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


def test_wait_state_waits_on_a_timer(sfn, unique_name):
    started = time.monotonic()
    described = run(sfn, unique_name("wait"), {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}, {"s": 1})
    assert output(described) == {"s": 1}
    assert time.monotonic() - started >= 1.0
    events = history(sfn, described["executionArn"])
    assert [e["type"] for e in events] == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited",
                                           "ExecutionSucceeded"]
    assert events[-1]["previousEventId"] == events[-2]["id"]


def test_parallel_collects_branch_outputs_in_order(sfn, unique_name):
    described = run_sync(sfn, unique_name("par"), {"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0, "Next": "A"},
                                        "A": {"Type": "Pass", "Result": 1, "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": True}}}]}}})
    assert output(described) == [1, 2]


def test_a_failing_parallel_branch_is_caught_with_its_error(sfn, unique_name):
    described = run_sync(sfn, unique_name("parfail"), {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "x"}}}],
              "Catch": [{"ErrorEquals": ["Branch.Broke"], "ResultPath": "$.err", "Next": "Done"}]},
        "Done": {"Type": "Pass", "End": True}}}, {"in": 1})
    assert output(described) == {"in": 1, "err": {"Error": "Branch.Broke", "Cause": "x"}}


def test_inline_map_with_item_selector_and_context(sfn, unique_name):
    described = run_sync(sfn, unique_name("map"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": True,
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "shared.$": "$.shared"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I",
                          "States": {"I": {"Type": "Pass", "End": True}}}}}},
        {"items": ["a", "b", "c"], "shared": 7})
    assert output(described) == [{"index": 0, "value": "a", "shared": 7}, {"index": 1, "value": "b", "shared": 7},
                                 {"index": 2, "value": "c", "shared": 7}]


def test_jsonata_arguments_output_and_variables(sfn, unique_name):
    definition = {"QueryLanguage": "JSONata", "StartAt": "Sum", "States": {
        "Sum": {"Type": "Pass", "Assign": {"total": "{% $sum($states.input.prices) %}", "n": 3},
                "Output": "{% $states.input %}", "Next": "Choose"},
        "Choose": {"Type": "Choice", "Choices": [{"Condition": "{% $total > 10 %}", "Next": "Big"}],
                   "Default": "Small"},
        "Big": {"Type": "Pass", "Output": {"size": "big", "total": "{% $total %}", "count": "{% $n %}",
                                           "state": "{% $states.context.State.Name %}"}, "End": True},
        "Small": {"Type": "Pass", "Output": {"size": "small"}, "End": True}}}
    described = run_sync(sfn, unique_name("jsonata"), definition, {"prices": [5, 6, 7]})
    assert output(described) == {"size": "big", "total": 18, "count": 3, "state": "Big"}


def test_a_failing_jsonata_expression_is_a_query_evaluation_error(sfn, unique_name):
    described = run_sync(sfn, unique_name("jsonatabad"), {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": "{% $error('nope') %}", "End": True}}})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.QueryEvaluationError"
    assert "nope" in described["cause"]


def test_output_over_256_kib_fails_with_data_limit_exceeded(sfn, unique_name):
    described = run_sync(sfn, unique_name("big"), {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": "{% $join([1..70000].('abcd')) %}", "End": True}}})
    assert described["status"] == "FAILED" and described["error"] == "States.DataLimitExceeded"
    # the cause names the state (AWS's recorded history), and no Catch takes a state's own output over it
    assert described["cause"] == ("The state/task 'A' returned a result with a size exceeding the maximum number "
                                  "of bytes service limit.")


def test_execution_timeout_seconds_times_the_execution_out(sfn, unique_name):
    described = run(sfn, unique_name("timeout"), {"TimeoutSeconds": 1, "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 30, "End": True}}})
    assert described["status"] == "TIMED_OUT"
    assert history(sfn, described["executionArn"])[-1]["type"] == "ExecutionTimedOut"
