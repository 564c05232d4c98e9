"""EventBridge input transformers through boto3, as AWS's recorded answers show them: values in a
text template and inside JSON strings, missing values, objects and lists, the predefined
variables, the events a template cannot turn into valid JSON, and PutTargets' refusals."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from messaging_support import make_queue, receive

DETAIL = {"payload": {"acc_id": "a-1", "sf_id": "baz"}, "single": ["HIGH"], "multi": ["ACTIVE", "INACTIVE"],
          "valid": True, "count": 3}
PATHS = {"id": "$.detail.payload.acc_id", "payload": "$.detail.payload", "single": "$.detail.single",
         "multi": "$.detail.multi", "valid": "$.detail.valid", "count": "$.detail.count",
         "missing": "$.detail.not_there"}


@pytest.fixture(scope="module")
def events(client):
    return client("events")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


def transformed(events, sqs, unique_name, *templates):
    """One rule with a queue per template; the bodies each queue received for one event (None
    when nothing arrived)."""
    source = unique_name("app")
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    urls = []
    for i, template in enumerate(templates):
        url, arn = make_queue(sqs, unique_name("q"))
        urls.append(url)
        events.put_targets(Rule=rule, Targets=[{"Id": f"t{i}", "Arn": arn, "InputTransformer": {
            "InputPathsMap": PATHS, "InputTemplate": template}}])
    events.put_events(Entries=[{"Source": source, "DetailType": "thing", "Detail": json.dumps(DETAIL)}])
    bodies = []
    for url in urls:
        messages = receive(sqs, url, timeout=2)
        bodies.append(messages[0]["Body"] if messages else None)
    return rule, bodies


def test_text_template_inserts_values_as_text(events, sqs, unique_name):
    _, (quoted, plain) = transformed(
        events, sqs, unique_name,
        '"id <id>, payload <payload>, lists <single> <multi>, <valid> <count>, missing [<missing>]"',
        "<id> is <valid>")
    # objects and lists lose their quotes in a text template (AWS: {acc_id:0a787ecb-4015,sf_id:baz})
    assert json.loads(quoted) == "id a-1, payload {acc_id:a-1,sf_id:baz}, lists [HIGH] [ACTIVE,INACTIVE], true 3, " \
                                 "missing []"
    assert plain == "a-1 is true"


def test_json_template_values_in_and_out_of_strings(events, sqs, unique_name):
    _, (body,) = transformed(
        events, sqs, unique_name,
        '{"id": <id>, "path": "users/<id>/again/<id>", "payload": <payload>, "list": [<id>, "x"], '
        '"single": <single>, "valid": <valid>, "missing": <missing>, "in": "[<missing>]"}')
    assert json.loads(body) == {"id": "a-1", "path": "users/a-1/again/a-1", "payload": {"acc_id": "a-1", "sf_id": "baz"},
                                "list": ["a-1", "x"], "single": ["HIGH"], "valid": True, "missing": "", "in": "[]"}


def test_object_or_list_inside_a_json_string_is_not_delivered(events, sqs, unique_name):
    _, bodies = transformed(events, sqs, unique_name, '{"payload": "<payload>"}', '{"single": "x <single>"}',
                            '{"ok": "<id>"}')
    assert bodies[:2] == [None, None]
    assert json.loads(bodies[2]) == {"ok": "a-1"}


def test_predefined_variables(events, sqs, unique_name):
    rule, (body, text) = transformed(
        events, sqs, unique_name, '{"event": <aws.events.event>, "json": <aws.events.event.json>}',
        '"<aws.events.rule-name> <aws.events.rule-arn> <aws.events.event.ingestion-time>"')
    body = json.loads(body)
    # without its detail, and with the detail type as detailType (AWS's recorded answer)
    assert set(body["event"]) == {"version", "id", "detailType", "source", "account", "time", "region", "resources"}
    assert body["event"]["detailType"] == "thing"
    assert body["json"]["detail"] == DETAIL and body["json"]["detail-type"] == "thing"
    name, arn, when = json.loads(text).split(" ")
    assert name == rule and arn.endswith(f":rule/{rule}") and when.endswith("Z")


def test_put_targets_refuses_unknown_placeholder_and_two_inputs(events, sqs, unique_name):
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["x"]}))
    _, arn = make_queue(sqs, unique_name("q"))
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule=rule, Targets=[{"Id": "t1", "Arn": arn, "InputTransformer": {
            "InputPathsMap": {"a": "$.detail.a"}, "InputTemplate": '"<a> and <b>"'}}])
    assert info.value.response["Error"] == {
        "Code": "ValidationException", "Message": "InputTemplate for target t1 contains invalid placeholder b."}
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule=rule, Targets=[{"Id": "t2", "Arn": arn, "InputPath": "$.detail", "InputTransformer": {
            "InputPathsMap": {"a": "$.detail.a"}, "InputTemplate": '"<a>"'}}])
    assert info.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Only one of Input, InputPath, or InputTransformer must be provided for target t2."}
    assert events.list_targets_by_rule(Rule=rule)["Targets"] == []
