"""EventBridge archives and replays: AWS's answers for an unknown bus, archive or time window,
and ListReplays' filters (boto3 against overcast)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def events(client):
    return client("events")


def error_of(call, **kwargs):
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]


def bus_arn(name: str) -> str:
    return f"arn:aws:events:us-east-1:000000000000:event-bus/{name}"


def test_unknown_bus_archive_and_window(events, unique_name):
    missing = unique_name("nobus")
    assert error_of(events.list_archives, EventSourceArn=bus_arn(missing)) == {
        "Code": "ResourceNotFoundException", "Message": f"Event bus {missing} does not exist."}
    bus = unique_name("bus")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive = events.create_archive(ArchiveName=unique_name("arch"), EventSourceArn=arn)["ArchiveArn"]
    now = datetime.now(UTC)
    window = {"EventStartTime": now - timedelta(minutes=1), "EventEndTime": now}
    assert error_of(events.start_replay, ReplayName=unique_name("r"), EventSourceArn=archive,
                    Destination={"Arn": bus_arn(missing)}, **window) == {
        "Code": "ResourceNotFoundException", "Message": f"Event bus {missing} does not exist."}
    assert error_of(events.start_replay, ReplayName=unique_name("r"), EventSourceArn=archive,
                    Destination={"Arn": bus_arn("default")}, **window) == {
        "Code": "ValidationException",
        "Message": "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."}
    gone = unique_name("noarch")
    assert error_of(events.start_replay, ReplayName=unique_name("r"),
                    EventSourceArn=f"arn:aws:events:us-east-1:000000000000:archive/{gone}",
                    Destination={"Arn": arn}, **window) == {
        "Code": "ValidationException",
        "Message": f"Parameter EventSourceArn is not valid. Reason: Archive {gone} does not exist."}
    assert error_of(events.start_replay, ReplayName=unique_name("r"), EventSourceArn=archive,
                    Destination={"Arn": arn}, EventStartTime=now, EventEndTime=now - timedelta(seconds=10)) == {
        "Code": "ValidationException",
        "Message": "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."}


def test_list_replays_by_event_source_and_state(events, unique_name):
    archives = []
    for _ in range(2):
        arn = events.create_event_bus(Name=unique_name("bus"))["EventBusArn"]
        archives.append((events.create_archive(ArchiveName=unique_name("arch"), EventSourceArn=arn)["ArchiveArn"], arn))
    now = datetime.now(UTC)
    names = []
    for archive, arn in archives:
        names.append(unique_name("replay"))
        events.start_replay(ReplayName=names[-1], EventSourceArn=archive, Destination={"Arn": arn},
                            EventStartTime=now - timedelta(minutes=1), EventEndTime=now)
    deadline = time.time() + 10
    while time.time() < deadline and any(events.describe_replay(ReplayName=n)["State"] != "COMPLETED" for n in names):
        time.sleep(0.1)
    listed = events.list_replays(EventSourceArn=archives[0][0])["Replays"]
    assert [r["ReplayName"] for r in listed] == [names[0]]
    assert listed[0]["EventSourceArn"] == archives[0][0] and listed[0]["State"] == "COMPLETED"
    assert events.list_replays(EventSourceArn=archives[1][0], State="RUNNING")["Replays"] == []
