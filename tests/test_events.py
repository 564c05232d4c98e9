"""EventBridge through boto3 and the AWS CLI: buses, rules, PutEvents, targets, input
transformation, schedules (fired through overcast's test clock), retries and dead-letter queues,
archives and replays, API destinations."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from messaging_support import HttpSubscriber, forwarder, make_queue, receive


@pytest.fixture(scope="module")
def events(client):
    return client("events")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]


def rule_to_queue(events, sqs, unique_name, pattern, bus="default", **target):
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), EventBusName=bus)
    url, arn = make_queue(sqs, unique_name("q"))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn, **target}])
    return name, url


def entry(source, detail, detail_type="thing happened", bus=None, **extra):
    out = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), **extra}
    if bus:
        out["EventBusName"] = bus
    return out


def test_put_events_matches_rule_and_delivers_event_to_sqs(events, sqs, unique_name):
    source = unique_name("app")
    _, url = rule_to_queue(events, sqs, unique_name, {"source": [source], "detail": {"state": ["on"]}})
    result = events.put_events(Entries=[entry(source, {"state": "off"}), entry(source, {"state": "on"},
                                                                                 Resources=["arn:x"])])
    assert result["FailedEntryCount"] == 0
    event_id = result["Entries"][1]["EventId"]
    messages = receive(sqs, url, count=2, timeout=2)
    assert len(messages) == 1
    event = json.loads(messages[0]["Body"])
    assert event["id"] == event_id
    assert (event["source"], event["detail-type"], event["detail"]) == (source, "thing happened", {"state": "on"})
    assert (event["version"], event["account"], event["region"], event["resources"]) == \
        ("0", "000000000000", "us-east-1", ["arn:x"])
    assert event["time"].endswith("Z")


def test_put_events_reports_entry_errors(events, unique_name):
    result = events.put_events(Entries=[
        {"Source": "a", "DetailType": "b", "Detail": "{not json"},
        {"Source": "a", "DetailType": "b"},
        entry("a", {}, bus=unique_name("nobus")),
        entry("a", {"ok": 1}),
    ])
    # an event for a bus that does not exist is accepted and dropped (AWS's recorded answer)
    assert result["FailedEntryCount"] == 2
    codes = [e.get("ErrorCode") for e in result["Entries"]]
    assert codes == ["MalformedDetail", "InvalidArgument", None, None]
    assert "EventId" in result["Entries"][2]
    assert result["Entries"][0]["ErrorMessage"] == "Detail is malformed."
    assert result["Entries"][1]["ErrorMessage"] == "Parameter Detail is not valid. Reason: Detail is a required argument."


def test_more_than_ten_entries_are_quoted_as_aws_prints_them(events):
    entries = [{"Source": "s", "DetailType": "t", "Detail": '{"n": 1}', "EventBusName": "b"}] * 11
    error = error_of(events.put_events, Entries=entries)
    one = ('PutEventsRequestEntry(time=null, source=s, resources=null, detailType=t, detail={"n": 1}, '
           "eventBusName=b, traceHeader=null, kmsKeyIdentifier=null, internalMetadata=null)")
    assert error == {"Code": "ValidationException",
                     "Message": f"1 validation error detected: Value '[{', '.join([one] * 11)}]' at 'entries' failed "
                                "to satisfy constraint: Member must have length less than or equal to 10"}


def test_put_events_total_size_limit_is_1_mb(events):
    big = "x" * 600_000
    error = error_of(events.put_events, Entries=[entry("a", {"v": big}), entry("a", {"v": big})])
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Total size of the entries in the request is over the limit."


def test_invalid_event_pattern(events, unique_name):
    error = error_of(events.put_rule, Name=unique_name("rule"), EventPattern=json.dumps({"source": "aws.ec2"}))
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"].startswith("Event pattern is not valid. Reason: ")


def test_invalid_schedule_expression(events, unique_name):
    for expression in ("rate(1 minutes)", "cron(0 10 * * * *)", "every day", " rate(10 minutes)"):
        error = error_of(events.put_rule, Name=unique_name("rule"), ScheduleExpression=expression)
        assert (error["Code"], error["Message"]) == ("ValidationException", "Parameter ScheduleExpression is not valid.")


def test_put_permission_everyone_condition_and_replaced_statement(events, unique_name):
    bus = unique_name("bus")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="123456789012", StatementId="one")
    for _ in range(2):  # the same statement id again replaces it
        events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId="all",
                              Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1"})
    policy = json.loads(events.describe_event_bus(Name=bus)["Policy"])
    assert policy["Statement"] == [
        {"Sid": "one", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
         "Action": "events:PutEvents", "Resource": arn},
        {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": arn,
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]


def test_remove_permission_of_a_missing_statement(events, unique_name):
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    for _ in range(2):  # without a policy, then with one that lacks the statement
        error = error_of(events.remove_permission, EventBusName=bus, StatementId="non-existing-sid")
        assert error == {"Code": "ResourceNotFoundException", "Message": "Statement with the provided id does not exist."}
        events.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="123456789012", StatementId="s1")
    events.remove_permission(EventBusName=bus, StatementId="s1")
    assert "s1" not in events.describe_event_bus(Name=bus).get("Policy", "")


def test_tags_of_missing_rules_and_buses(events, unique_name):
    arn = "arn:aws:events:us-east-1:000000000000:"
    for resource, message in [(f"rule/{unique_name('r')}", "Rule {} does not exist on EventBus default."),
                              (f"rule/b1/{unique_name('r')}", "Rule {} does not exist on EventBus b1."),
                              (f"event-bus/{unique_name('b')}", "Event bus {} does not exist.")]:
        expected = {"Code": "ResourceNotFoundException", "Message": message.format(resource.rsplit("/", 1)[1])}
        assert error_of(events.list_tags_for_resource, ResourceARN=arn + resource) == expected
        assert error_of(events.tag_resource, ResourceARN=arn + resource, Tags=[{"Key": "k", "Value": "v"}]) == expected
        assert error_of(events.untag_resource, ResourceARN=arn + resource, TagKeys=["k"]) == expected


def test_rule_needs_pattern_or_schedule(events, unique_name):
    error = error_of(events.put_rule, Name=unique_name("rule"))
    assert error["Message"] == "Parameter(s) EventPattern or ScheduleExpression must be specified."


def test_test_event_pattern(events):
    event = {"id": "1", "account": "1", "source": "aws.ec2", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
             "detail-type": "x", "detail": {"n": 5}, "resources": []}
    assert events.test_event_pattern(EventPattern=json.dumps({"detail": {"n": [{"numeric": [">", 1]}]}}),
                                     Event=json.dumps(event))["Result"] is True
    assert events.test_event_pattern(EventPattern=json.dumps({"source": ["aws.s3"]}),
                                     Event=json.dumps(event))["Result"] is False
    error = error_of(events.test_event_pattern, EventPattern=json.dumps({"a": [{"bogus": 1}]}), Event=json.dumps(event))
    assert error["Message"] == "Event pattern is not valid. Reason: Unrecognized match type bogus"


def pattern_result(events, pattern, detail):
    event = {"id": "1", "account": "1", "source": "s", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
             "detail-type": "x", "detail": detail}
    try:
        return events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(event))["Result"]
    except ClientError as e:
        return e.response["Error"]["Message"].removeprefix("Event pattern is not valid. Reason: ")


def test_event_pattern_anything_but_prefix_suffix_wildcard_and_ignore_case(events):
    # AWS's recorded answers: lists of prefixes / suffixes; a value they cannot apply to (a number,
    # null) is "anything but" them; an absent field is not
    but = lambda op, arg: {"detail": {"s": [{"anything-but": {op: arg}}]}}  # noqa: E731
    assert pattern_result(events, but("prefix", ["init", "test"]), {"s": "post-init"}) is True
    assert pattern_result(events, but("prefix", ["init", "post"]), {"s": "post-init"}) is False
    assert pattern_result(events, but("suffix", [".txt", ".jpg"]), {"s": "a.jpg"}) is False
    assert pattern_result(events, but("suffix", [".txt", ".jpg"]), {}) is False
    for op, arg in [("prefix", "init"), ("suffix", ".txt"), ("wildcard", "*/dir/*"), ("equals-ignore-case", "x")]:
        assert pattern_result(events, but(op, arg), {"s": None}) is True
        assert pattern_result(events, but(op, arg), {"s": 12}) is True
    for op, arg, reason in [
            ("prefix", 123, "prefix/suffix match pattern must be a string"),
            ("suffix", [None, ".txt"], "prefix/suffix match pattern must be a string"),
            ("prefix", "", "Null prefix/suffix not allowed"),
            ("suffix", {"equals-ignore-case": ".png"}, "Value of anything-but must be an array or single string/number value."),
            ("wildcard", [123, "*/dir/*"], "wildcard match pattern must be a string"),
            ("equals-ignore-case", [123], "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")]:
        assert pattern_result(events, but(op, arg), {"s": "x"}) == reason
    assert pattern_result(events, {"detail": {"s": [{"anything-but": None}]}}, {"s": "x"}) == \
        "Value of anything-but must be an array or single string/number value."


def test_event_pattern_validation_messages_and_dotted_keys(events):
    for pattern, reason in [
            ({"detail": {"s": []}}, "Empty arrays are not allowed"),
            ({"detail": {"s": [{"cidr": "bad-filter"}]}}, "Malformed CIDR, one '/' required"),
            ({"detail": {"s": [{"cidr": "bad-/64filter"}]}}, "Malformed CIDR, mask bits must be an integer"),
            ({"detail": {"s": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}}, "Nonstandard IP address: xxxx:db8:1234:1a00::"),
            ({"detail": {"s": [{"numeric": [">", 0, ">", 0]}]}}, "Bad numeric range operator: >"),
            ({"detail": {"s": [{"numeric": [">", 0, "<"]}]}}, "Value of < must be numeric"),
            ({"detail": {"s": [{"numeric": 10}]}}, "Value of numeric must be an array.")]:
        assert pattern_result(events, pattern, {"s": 3}) == reason
    # AWS joins keys with dots: "a.b" in the pattern or in the event names the path a → b
    assert pattern_result(events, {"detail": {"state.status": ["running"]}}, {"state": {"status": "running"}}) is True
    assert pattern_result(events, {"detail": {"state": {"status": ["running"]}}}, {"state.status": "running"}) is True
    assert pattern_result(events, {"detail": {"state": {"status": ["running"]}}}, {"state.status": "stopped"}) is False


def test_test_event_pattern_refuses_an_event_without_its_required_fields(events):
    for event in (["plain string"], {"testEvent": "value"}):
        error = error_of(events.test_event_pattern, EventPattern=json.dumps({"source": ["s"]}), Event=json.dumps(event))
        assert error == {"Code": "ValidationException", "Message": "Parameter Event is not valid."}


def test_custom_bus_rules_only_see_their_bus(events, sqs, unique_name):
    bus = unique_name("bus")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    assert arn.endswith(f":event-bus/{bus}")
    source = unique_name("app")
    _, url = rule_to_queue(events, sqs, unique_name, {"source": [source]}, bus=bus)
    events.put_events(Entries=[entry(source, {"where": "default"}), entry(source, {"where": "custom"}, bus=bus)])
    messages = receive(sqs, url, count=2, timeout=2)
    assert [json.loads(m["Body"])["detail"]["where"] for m in messages] == ["custom"]
    assert bus in [b["Name"] for b in events.list_event_buses()["EventBuses"]]


def test_disabled_rule_does_not_match(events, sqs, unique_name):
    source = unique_name("app")
    name, url = rule_to_queue(events, sqs, unique_name, {"source": [source]})
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.put_events(Entries=[entry(source, {})])
    assert receive(sqs, url, timeout=1.5) == []


@pytest.mark.postgres_e2e
def test_rule_with_targets_cannot_be_deleted(events, sqs, unique_name):
    name, _ = rule_to_queue(events, sqs, unique_name, {"source": ["x"]})
    assert error_of(events.delete_rule, Name=name)["Message"] == "Rule can't be deleted since it has targets."
    events.remove_targets(Rule=name, Ids=["q"])
    events.delete_rule(Name=name)
    assert error_of(events.describe_rule, Name=name)["Code"] == "ResourceNotFoundException"


def test_input_constant_and_input_path(events, sqs, unique_name):
    source = unique_name("app")
    name, url = rule_to_queue(events, sqs, unique_name, {"source": [source]}, Input='{"fixed": true}')
    url2, arn2 = make_queue(sqs, unique_name("q"))
    events.put_targets(Rule=name, Targets=[{"Id": "path", "Arn": arn2, "InputPath": "$.detail.inner"}])
    events.put_events(Entries=[entry(source, {"inner": {"a": 1}})])
    assert json.loads(receive(sqs, url)[0]["Body"]) == {"fixed": True}
    assert json.loads(receive(sqs, url2)[0]["Body"]) == {"a": 1}


@pytest.mark.postgres_e2e
def test_input_transformer(events, sqs, unique_name):
    source = unique_name("app")
    template = '{"instance": <instance>, "text": "instance <instance> is <state>", "rule": "<aws.events.rule-name>"}'
    name, url = rule_to_queue(events, sqs, unique_name, {"source": [source]}, InputTransformer={
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
        "InputTemplate": template})
    events.put_events(Entries=[entry(source, {"instance-id": "i-123", "state": "running"})])
    assert json.loads(receive(sqs, url)[0]["Body"]) == {"instance": "i-123", "text": "instance i-123 is running",
                                                        "rule": name}


@pytest.mark.postgres_e2e
def test_fifo_queue_target_with_message_group(events, sqs, unique_name):
    source = unique_name("app")
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    url, arn = make_queue(sqs, unique_name("q") + ".fifo", FifoQueue="true")
    error = events.put_targets(Rule=name, Targets=[{"Id": "f", "Arn": arn}])
    assert error["FailedEntryCount"] == 1
    events.put_targets(Rule=name, Targets=[{"Id": "f", "Arn": arn, "SqsParameters": {"MessageGroupId": "grp"}}])
    events.put_events(Entries=[entry(source, {"n": 1})])
    message = receive(sqs, url)[0]
    assert message["Attributes"]["MessageGroupId"] == "grp"


@pytest.mark.postgres_e2e
def test_sns_target(events, sqs, client, unique_name):
    sns = client("sns")
    topic = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    url, qarn = make_queue(sqs, unique_name("q"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    source = unique_name("app")
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": topic}])
    events.put_events(Entries=[entry(source, {"via": "sns"})])
    assert json.loads(receive(sqs, url)[0]["Body"])["detail"] == {"via": "sns"}


@pytest.mark.postgres_e2e
def test_another_bus_as_target(events, sqs, unique_name):
    bus = unique_name("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique_name("app")
    _, url = rule_to_queue(events, sqs, unique_name, {"source": [source]}, bus=bus)
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "bus", "Arn": bus_arn}])
    events.put_events(Entries=[entry(source, {"hop": 1})])
    assert json.loads(receive(sqs, url)[0]["Body"])["detail"] == {"hop": 1}


def test_bus_in_another_region_receives_a_new_event_id(events, sqs, client, unique_name):
    west_events, west_sqs = client("events", region="us-west-2"), client("sqs", region="us-west-2")
    west_bus = unique_name("bus")
    west_arn = west_events.create_event_bus(Name=west_bus)["EventBusArn"]
    source = unique_name("app")
    _, west_url = rule_to_queue(west_events, west_sqs, unique_name, {"source": [source]}, bus=west_bus)
    same_bus = unique_name("bus")
    same_arn = events.create_event_bus(Name=same_bus)["EventBusArn"]
    _, same_url = rule_to_queue(events, sqs, unique_name, {"source": [source]}, bus=same_bus)
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "west", "Arn": west_arn}, {"Id": "same", "Arn": same_arn}])
    event_id = events.put_events(Entries=[entry(source, {"hop": 1})])["Entries"][0]["EventId"]
    west = json.loads(receive(west_sqs, west_url)[0]["Body"])
    same = json.loads(receive(sqs, same_url)[0]["Body"])
    # as AWS's recorded answers show: a new id in another Region, the event's own Region kept
    assert west["id"] != event_id and (west["region"], west["detail"]) == ("us-east-1", {"hop": 1})
    assert same["id"] == event_id


@pytest.mark.postgres_e2e
def test_state_machine_target_execution_is_named_after_the_event(events, client, unique_name):
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(
        name=unique_name("sm"), roleArn="arn:aws:iam::000000000000:role/r",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    source = unique_name("app")
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "sm", "Arn": machine, "RoleArn": "arn:aws:iam::000000000000:role/r"}])
    event_id = events.put_events(Entries=[entry(source, {"run": 1})])["Entries"][0]["EventId"]
    deadline = time.time() + 10
    executions = []
    while time.time() < deadline and not executions:
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        time.sleep(0.1)
    assert len(executions) == 1 and executions[0]["name"].startswith(event_id + "_")
    execution = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(execution["input"])["detail"] == {"run": 1}


def test_api_gateway_target_calls_the_deployed_stage(events, client, unique_name):
    apigw = client("apigateway")
    server = HttpSubscriber()
    try:
        api = apigw.create_rest_api(name=unique_name("api"))["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        orders = apigw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
        resource = apigw.create_resource(restApiId=api, parentId=orders, pathPart="{id}")["id"]
        apigw.put_method(restApiId=api, resourceId=resource, httpMethod="POST", authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="POST", type="HTTP_PROXY",
                              integrationHttpMethod="POST", uri=server.url)
        apigw.create_deployment(restApiId=api, stageName="test")
        source = unique_name("app")
        name = unique_name("rule")
        rule_arn = events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))["RuleArn"]
        events.put_targets(Rule=name, Targets=[{
            "Id": "api", "Arn": f"arn:aws:execute-api:us-east-1:000000000000:{api}/test/POST/orders/*",
            "RoleArn": "arn:aws:iam::000000000000:role/r",
            "HttpParameters": {"PathParameterValues": ["o-1"], "HeaderParameters": {"x-order": "yes"},
                               "QueryStringParameters": {"q": "1"}}}])
        root = "1-67f4141f-e1cd7672871da115129f8b19"
        traced = client("events")
        traced.meta.events.register("before-send.events.PutEvents", lambda request, **_: request.headers.__setitem__(
            "X-Amzn-Trace-Id", f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1"))
        traced.put_events(Entries=[entry(source, {"api": True})])
        request = server.wait(1)[0]
        assert json.loads(request["body"])["detail"] == {"api": True}
        assert f"Root={root}" in request["headers"]["x-amzn-trace-id"]  # the event's trace goes on
        assert request["headers"]["x-order"] == "yes" and request["headers"]["x-amz-source-arn"] == rule_arn
        assert "q=1" in request["path"]
    finally:
        server.close()


@pytest.mark.postgres_e2e
def test_missing_target_goes_to_dead_letter_queue(events, sqs, unique_name):
    source = unique_name("app")
    dlq_url, dlq_arn = make_queue(sqs, unique_name("dlq"))
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    gone = f"arn:aws:lambda:us-east-1:000000000000:function:{unique_name('gone')}"
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": gone, "DeadLetterConfig": {"Arn": dlq_arn},
                                            "RetryPolicy": {"MaximumRetryAttempts": 2}}])
    events.put_events(Entries=[entry(source, {"lost": False})])
    message = receive(sqs, dlq_url)[0]
    assert json.loads(message["Body"])["detail"] == {"lost": False}
    attributes = message["MessageAttributes"]
    assert attributes["TARGET_ARN"]["StringValue"] == gone
    assert attributes["RULE_ARN"]["StringValue"].endswith(f":rule/{name}")
    assert attributes["ERROR_CODE"]["StringValue"] == "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_lambda_target_receives_event(events, sqs, client, unique_name):
    lam = client("lambda")
    sink_url, _ = make_queue(sqs, unique_name("sink"))
    function_arn = forwarder(lam, unique_name("fn"), sink_url)
    source = unique_name("app")
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": function_arn}])
    events.put_events(Entries=[entry(source, {"to": "lambda"})])
    event = json.loads(receive(sqs, sink_url, timeout=20)[0]["Body"])
    assert event["detail"] == {"to": "lambda"} and event["source"] == source


@pytest.mark.postgres_e2e
def test_logs_target(events, client, unique_name):
    logs = client("logs")
    group = "/aws/events/" + unique_name("g")
    logs.create_log_group(logGroupName=group)
    source = unique_name("app")
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "logs", "Arn": f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"}])
    events.put_events(Entries=[entry(source, {"logged": True})])
    deadline = time.time() + 5
    found = []
    while time.time() < deadline and not found:
        found = logs.filter_log_events(logGroupName=group).get("events", [])
        time.sleep(0.1)
    assert json.loads(found[0]["message"])["detail"] == {"logged": True}


@pytest.mark.postgres_e2e
def test_scheduled_rule_fires_with_scheduled_event(events, sqs, endpoint, unique_name):
    name = unique_name("rule")
    arn = events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")["RuleArn"]
    url, qarn = make_queue(sqs, unique_name("q"))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": qarn}])
    request = urllib.request.Request(f"{endpoint}/_overcast/events/fire?rule={arn}", method="POST",
                                     headers={"X-Overcast-Request": "1"})
    assert json.load(urllib.request.urlopen(request))["fired"] == arn
    event = json.loads(receive(sqs, url)[0]["Body"])
    assert (event["source"], event["detail-type"], event["resources"], event["detail"]) == \
        ("aws.events", "Scheduled Event", [arn], {})


def test_schedule_only_on_default_bus(events, unique_name):
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    error = error_of(events.put_rule, Name=unique_name("rule"), ScheduleExpression="rate(1 hour)", EventBusName=bus)
    assert error["Message"] == "ScheduleExpression is supported only on the default event bus."


@pytest.mark.postgres_e2e
def test_archive_and_replay(events, sqs, unique_name):
    bus = unique_name("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    source = unique_name("app")
    archive = unique_name("arch")
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn,
                                        EventPattern=json.dumps({"source": [source]}))["ArchiveArn"]
    start = datetime.now(UTC) - timedelta(seconds=5)
    events.put_events(Entries=[entry(source, {"n": i}, bus=bus) for i in range(3)])
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 3
    name, url = rule_to_queue(events, sqs, unique_name, {"source": [source]}, bus=bus)
    rule_arn = events.describe_rule(Name=name, EventBusName=bus)["Arn"]
    replay = unique_name("replay")
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=start,
                        EventEndTime=datetime.now(UTC) + timedelta(seconds=5),
                        Destination={"Arn": bus_arn, "FilterArns": [rule_arn]})
    bodies = [json.loads(m["Body"]) for m in receive(sqs, url, count=3)]
    assert sorted(b["detail"]["n"] for b in bodies) == [0, 1, 2]
    assert {b["replay-name"] for b in bodies} == {replay}
    assert events.describe_replay(ReplayName=replay)["State"] == "COMPLETED"


@pytest.mark.postgres_e2e
def test_api_destination_calls_endpoint_with_api_key(events, unique_name):
    server = HttpSubscriber()
    try:
        connection = events.create_connection(
            Name=unique_name("conn"), AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}})
        assert connection["ConnectionState"] == "AUTHORIZED"
        destination = events.create_api_destination(
            Name=unique_name("dest"), ConnectionArn=connection["ConnectionArn"],
            InvocationEndpoint=server.url, HttpMethod="POST")["ApiDestinationArn"]
        source = unique_name("app")
        name = unique_name("rule")
        events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
        events.put_targets(Rule=name, Targets=[{"Id": "api", "Arn": destination,
                                                "RoleArn": "arn:aws:iam::000000000000:role/r"}])
        events.put_events(Entries=[entry(source, {"http": True})])
        request = server.wait(1)[0]
        assert request["headers"]["x-api-key"] == "secret"
        assert json.loads(request["body"])["detail"] == {"http": True}
    finally:
        server.close()


def test_targets_are_listed_in_the_order_they_were_put(events, sqs, unique_name):
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    _, arn = make_queue(sqs, unique_name("q"))
    events.put_targets(Rule=name, Targets=[{"Id": "zeta", "Arn": arn}, {"Id": "alpha", "Arn": arn}])
    events.put_targets(Rule=name, Targets=[{"Id": "mid", "Arn": arn}, {"Id": "zeta", "Arn": arn, "Input": "{}"}])
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["zeta", "alpha", "mid"]


def test_list_targets_and_rule_names_by_target(events, sqs, unique_name):
    name, _ = rule_to_queue(events, sqs, unique_name, {"source": ["x"]})
    target = events.list_targets_by_rule(Rule=name)["Targets"][0]
    assert events.list_rule_names_by_target(TargetArn=target["Arn"])["RuleNames"] == [name]


def test_cli_put_events(aws_cli, events, sqs, unique_name):
    source = unique_name("app")
    _, url = rule_to_queue(events, sqs, unique_name, {"source": [source]})
    out = aws_cli("events", "put-events", "--entries", json.dumps([entry(source, {"cli": True})]))
    assert out["FailedEntryCount"] == 0
    assert json.loads(receive(sqs, url)[0]["Body"])["detail"] == {"cli": True}


def test_lambda_on_success_destination_puts_event_on_bus(events, sqs, client, unique_name):
    from lambda_functions import create_python

    lam = client("lambda")
    bus = unique_name("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    _, url = rule_to_queue(events, sqs, unique_name, {"source": ["lambda"]}, bus=bus)
    name = unique_name("fn")
    create_python(lam, name, "def handler(event, context):\n    return 'done'\n")
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": bus_arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"x": 2}')
    event = json.loads(receive(sqs, url, timeout=20)[0]["Body"])
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["detail"]["responsePayload"] == "done"
    assert event["detail"]["requestPayload"] == {"x": 2}


def test_kinesis_target_with_partition_key_path(events, client, unique_name):
    from overcast.services import SERVICES

    if "kinesis" not in SERVICES:
        pytest.skip("overcast has no Kinesis yet")
    kinesis = client("kinesis")
    stream = unique_name("s")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    for _ in range(100):
        description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
        if description["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.05)
    source = unique_name("app")
    name = unique_name("rule")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "k", "Arn": description["StreamARN"],
                                            "KinesisParameters": {"PartitionKeyPath": "$.detail.customer"}}])
    events.put_events(Entries=[entry(source, {"customer": "c-42"})])
    shard = description["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    deadline, records = time.time() + 5, []
    while not records and time.time() < deadline:
        records = kinesis.get_records(ShardIterator=iterator)["Records"]
        time.sleep(0.05)
    assert records[0]["PartitionKey"] == "c-42"
    assert json.loads(records[0]["Data"])["detail"] == {"customer": "c-42"}


@pytest.mark.postgres_e2e
def test_list_rules_pages_with_an_opaque_token(events, unique_name):
    prefix = unique_name("page")
    for i in range(5):
        events.put_rule(Name=f"{prefix}-{i}", EventPattern=json.dumps({"source": ["s"]}))
    first = events.list_rules(NamePrefix=prefix, Limit=3)
    assert [r["Name"] for r in first["Rules"]] == [f"{prefix}-{i}" for i in range(3)]
    assert not first["NextToken"].isdigit()  # opaque, as AWS's tokens are
    rest = events.list_rules(NamePrefix=prefix, Limit=3, NextToken=first["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == [f"{prefix}-3", f"{prefix}-4"] and "NextToken" not in rest


def test_a_rule_takes_at_most_five_targets(events, unique_name):
    rule = unique_name("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["s"]}))
    targets = [{"Id": f"t{i}", "Arn": f"arn:aws:sqs:us-east-1:000000000000:q{i}"} for i in range(6)]
    error = error_of(events.put_targets, Rule=rule, Targets=targets)
    assert error == {"Code": "LimitExceededException",
                     "Message": "The requested resource exceeds the maximum number allowed."}
