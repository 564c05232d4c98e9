"""EventBridge Scheduler through boto3: groups, schedules (a real at() timer, and overcast's test
clock for rate/cron), templated and universal targets, retries and dead-letter queues."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from messaging_support import make_queue, receive

OFF = {"Mode": "OFF"}
ROLE = "arn:aws:iam::000000000000:role/scheduler"


@pytest.fixture(scope="module")
def scheduler(client):
    return client("scheduler")


@pytest.fixture(scope="module")
def sqs(client):
    return client("sqs")


def fire(endpoint, arn):
    request = urllib.request.Request(f"{endpoint}/_overcast/scheduler/fire?schedule={arn}", method="POST",
                                     headers={"X-Overcast-Request": "1"})
    return json.load(urllib.request.urlopen(request))


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.postgres_e2e
def test_at_schedule_fires_on_time_and_deletes_itself(scheduler, sqs, unique_name):
    url, arn = make_queue(sqs, unique_name("q"))
    when = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    name = unique_name("s")
    scheduler.create_schedule(Name=name, ScheduleExpression=f"at({when})", FlexibleTimeWindow=OFF,
                              ActionAfterCompletion="DELETE",
                              Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'})
    message = receive(sqs, url, timeout=8)[0]
    assert json.loads(message["Body"]) == {"at": when + "Z"}
    error, status = error_of(scheduler.get_schedule, Name=name)
    assert (error["Code"], status) == ("ResourceNotFoundException", 404)


@pytest.mark.postgres_e2e
def test_schedule_crud_and_defaults(scheduler, unique_name):
    name = unique_name("s")
    arn = scheduler.create_schedule(Name=name, ScheduleExpression="cron(0 9 ? * MON-FRI *)",
                                    ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow=OFF,
                                    Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x", "RoleArn": ROLE})["ScheduleArn"]
    assert arn == f"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{name}"
    got = scheduler.get_schedule(Name=name)
    assert (got["State"], got["GroupName"], got["ScheduleExpressionTimezone"]) == ("ENABLED", "default", "Europe/Paris")
    scheduler.update_schedule(Name=name, ScheduleExpression="rate(1 hour)", FlexibleTimeWindow=OFF, State="DISABLED",
                              Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x", "RoleArn": ROLE})
    assert scheduler.get_schedule(Name=name)["State"] == "DISABLED"
    assert name in [s["Name"] for s in scheduler.list_schedules(NamePrefix=name)["Schedules"]]
    error, status = error_of(scheduler.create_schedule, Name=name, ScheduleExpression="rate(1 hour)",
                             FlexibleTimeWindow=OFF, Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x",
                                                             "RoleArn": ROLE})
    assert (error["Code"], status) == ("ConflictException", 409)
    scheduler.delete_schedule(Name=name)


def test_invalid_schedule_expression(scheduler, unique_name):
    error, status = error_of(scheduler.create_schedule, Name=unique_name("s"), ScheduleExpression="cron(0 9 * * * *)",
                             FlexibleTimeWindow=OFF, Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x",
                                                             "RoleArn": ROLE})
    assert (error["Code"], status) == ("ValidationException", 400)


def test_schedule_expression_with_surrounding_spaces_is_refused(scheduler, unique_name):
    # AWS's recorded answer: the expression is quoted back as sent, spaces included
    error, status = error_of(scheduler.create_schedule, Name=unique_name("s"), ScheduleExpression=" rate(10 minutes)",
                             FlexibleTimeWindow=OFF, Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x",
                                                             "RoleArn": ROLE})
    assert (error["Code"], error["Message"], status) == \
        ("ValidationException", "Invalid Schedule Expression  rate(10 minutes).", 400)


@pytest.mark.postgres_e2e
def test_schedule_groups(scheduler, unique_name):
    group = unique_name("g")
    arn = scheduler.create_schedule_group(Name=group, Tags=[{"Key": "k", "Value": "v"}])["ScheduleGroupArn"]
    assert scheduler.get_schedule_group(Name=group)["State"] == "ACTIVE"
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    scheduler.create_schedule(Name="inside", GroupName=group, ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
                              Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x", "RoleArn": ROLE})
    scheduler.delete_schedule_group(Name=group)
    assert error_of(scheduler.get_schedule, Name="inside", GroupName=group)[0]["Code"] == "ResourceNotFoundException"
    assert error_of(scheduler.create_schedule, Name="x", GroupName=unique_name("nogroup"),
                    ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
                    Target={"Arn": "arn:aws:sqs:us-east-1:000000000000:x", "RoleArn": ROLE})[0]["Code"] == \
        "ResourceNotFoundException"


@pytest.mark.postgres_e2e
def test_fifo_queue_target_with_group(scheduler, sqs, endpoint, unique_name):
    url, arn = make_queue(sqs, unique_name("q") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true")
    schedule = scheduler.create_schedule(
        Name=unique_name("s"), ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "hello", "SqsParameters": {"MessageGroupId": "g1"}})["ScheduleArn"]
    fire(endpoint, schedule)
    message = receive(sqs, url)[0]
    assert (message["Body"], message["Attributes"]["MessageGroupId"]) == ("hello", "g1")


@pytest.mark.postgres_e2e
def test_universal_target_calls_the_api(scheduler, sqs, endpoint, unique_name):
    url, _ = make_queue(sqs, unique_name("q"))
    schedule = scheduler.create_schedule(
        Name=unique_name("s"), ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": ROLE,
                "Input": json.dumps({"QueueUrl": url, "MessageBody": "universal"})})["ScheduleArn"]
    fire(endpoint, schedule)
    assert receive(sqs, url)[0]["Body"] == "universal"


@pytest.mark.postgres_e2e
def test_eventbridge_target_puts_an_event(scheduler, sqs, client, endpoint, unique_name):
    events = client("events")
    bus = unique_name("bus")
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    rule = unique_name("r")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["my.scheduler"]}))
    url, qarn = make_queue(sqs, unique_name("q"))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": qarn}])
    schedule = scheduler.create_schedule(
        Name=unique_name("s"), ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
        Target={"Arn": bus_arn, "RoleArn": ROLE, "Input": '{"k": 1}',
                "EventBridgeParameters": {"DetailType": "tick", "Source": "my.scheduler"}})["ScheduleArn"]
    fire(endpoint, schedule)
    event = json.loads(receive(sqs, url)[0]["Body"])
    assert (event["detail-type"], event["detail"], event["resources"]) == ("tick", {"k": 1}, [schedule])


@pytest.mark.postgres_e2e
def test_failed_target_goes_to_dead_letter_queue(scheduler, sqs, endpoint, unique_name):
    dlq_url, dlq_arn = make_queue(sqs, unique_name("dlq"))
    schedule = scheduler.create_schedule(
        Name=unique_name("s"), ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
        Target={"Arn": f"arn:aws:sqs:us-east-1:000000000000:{unique_name('gone')}", "RoleArn": ROLE,
                "Input": "payload", "DeadLetterConfig": {"Arn": dlq_arn},
                "RetryPolicy": {"MaximumRetryAttempts": 0}})["ScheduleArn"]
    fire(endpoint, schedule)
    message = receive(sqs, dlq_url)[0]
    assert message["Body"] == "payload"
    assert message["MessageAttributes"]["X-Amz-Scheduler-Schedule-Arn"]["StringValue"] == schedule


def test_cli_create_and_get_schedule(aws_cli, unique_name):
    name = unique_name("s")
    target = json.dumps({"Arn": "arn:aws:sqs:us-east-1:000000000000:x", "RoleArn": ROLE})
    out = aws_cli("scheduler", "create-schedule", "--name", name, "--schedule-expression", "rate(1 hour)",
                  "--flexible-time-window", "Mode=OFF", "--target", target)
    assert out["ScheduleArn"].endswith(f"/default/{name}")
    got = aws_cli("scheduler", "get-schedule", "--name", name)
    assert (got["ScheduleExpression"], got["State"]) == ("rate(1 hour)", "ENABLED")


def test_a_target_without_a_retry_policy_gets_the_default_one(scheduler, unique_name):
    # AWS's defaults (24 hours, 185 attempts), which GetSchedule answers: LocalStack's recorded
    # GetSchedule of a schedule CloudFormation made without RetryPolicy shows them
    target = {"Arn": "arn:aws:sqs:us-east-1:000000000000:q", "RoleArn": ROLE}
    plain, partial = unique_name("retry"), unique_name("retry")
    scheduler.create_schedule(Name=plain, ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF, Target=target)
    scheduler.create_schedule(Name=partial, ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF,
                              Target={**target, "RetryPolicy": {"MaximumRetryAttempts": 3}})
    assert scheduler.get_schedule(Name=plain)["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert scheduler.get_schedule(Name=partial)["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 3}
