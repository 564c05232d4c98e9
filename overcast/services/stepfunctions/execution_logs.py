"""Execution history to CloudWatch Logs: a state machine's LoggingConfiguration, checked as AWS
checks it, and the log events its executions write ("Logging in CloudWatch Logs", Step Functions
Developer Guide).

Each history event an execution records becomes one log event, a JSON object: the event's id,
type and details (its `...EventDetails` member), `previous_event_id`, `event_timestamp` (epoch
milliseconds), `execution_arn` and `redrive_count`, all ids and numbers as strings, as AWS writes
them. The level picks the event types (ALL: every one; ERROR: failures, aborts and time-outs;
FATAL: only the execution's own failure, abort or time-out); `includeExecutionData: false` leaves
out the execution data (inputs, outputs, task parameters, assigned variables).
"""

from __future__ import annotations

import hashlib
import time

import orjson

from overcast.aws.errors import AwsError

OFF = {"level": "OFF", "includeExecutionData": False}

FATAL_EVENTS = frozenset(("ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"))
ERROR_EVENTS = FATAL_EVENTS | frozenset((
    "ActivityFailed", "ActivityScheduleFailed", "ActivityTimedOut", "FailStateEntered",
    "LambdaFunctionFailed", "LambdaFunctionScheduleFailed", "LambdaFunctionStartFailed", "LambdaFunctionTimedOut",
    "MapIterationAborted", "MapIterationFailed", "MapRunAborted", "MapRunFailed", "MapStateAborted", "MapStateFailed",
    "ParallelStateAborted", "ParallelStateFailed", "TaskFailed", "TaskStartFailed", "TaskStateAborted",
    "TaskSubmitFailed", "TaskTimedOut", "WaitStateAborted"))

# what includeExecutionData=false leaves out of an event's details
_EXECUTION_DATA = frozenset(("input", "inputDetails", "output", "outputDetails", "parameters",
                             "assignedVariables", "assignedVariablesDetails"))

# the stream AWS makes in a log group when a delivery to it is set up
VALIDATION_STREAM = "log_stream_created_by_aws_to_validate_log_delivery_subscriptions"


def _invalid(why: str) -> AwsError:
    return AwsError("InvalidLoggingConfiguration", f"Invalid Logging Configuration: {why}")


def normalized(config: dict | None) -> dict:
    """The configuration as DescribeStateMachine shows it: what was given, level OFF and
    includeExecutionData false where left out."""
    return {**OFF, **(config or {})}


def destination(config: dict, group_exists) -> tuple[str, str, str] | None:
    """Check a configuration as CreateStateMachine and UpdateStateMachine do; the log group it
    writes to, (account, region, name), or None when it writes nowhere (level OFF).
    `group_exists(account, region, name)` says whether the group is there."""
    destinations = config.get("destinations") or []
    if len(destinations) > 1 or (config["level"] != "OFF" and len(destinations) != 1):
        raise _invalid("Must specify exactly one Log Destination.")
    if not destinations:
        return None
    arn = (destinations[0].get("cloudWatchLogsLogGroup") or {}).get("logGroupArn") or ""
    if not arn.endswith(":*"):
        raise _invalid("Log Group ARN must be provided with '*' qualifier.")
    group = group_of(config)
    if group is None or not group_exists(*group):
        raise _invalid("Log Destination not found.")
    return group if config["level"] != "OFF" else None


def group_of(config: dict) -> tuple[str, str, str] | None:
    """(account, region, name) of the log group a configuration names, None if it names none."""
    destinations = config.get("destinations") or []
    arn = (destinations[0].get("cloudWatchLogsLogGroup") or {}).get("logGroupArn") or "" if destinations else ""
    parts = arn.split(":")
    if len(parts) != 8 or parts[0] != "arn" or parts[2] != "logs" or parts[5] != "log-group" or not parts[6]:
        return None
    return parts[4], parts[3], parts[6]


def wanted(level: str, event_type: str) -> bool:
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type in ERROR_EVENTS
    if level == "FATAL":
        return event_type in FATAL_EVENTS
    return False


def message(event: dict, execution_arn: str, include_data: bool, redrive_count: int) -> str:
    details = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
    if not include_data:
        details = {k: v for k, v in details.items() if k not in _EXECUTION_DATA}
    return orjson.dumps({
        "id": str(event["id"]), "type": event["type"], "details": details,
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": str(int(event["timestamp"] * 1000)), "execution_arn": execution_arn,
        "redrive_count": str(redrive_count)}).decode()


def stream_name(machine_arn: str, machine_name: str, at: float) -> str:
    """The stream a machine's executions write to: one per machine and minute, so that the
    executions of a minute read together, as in AWS's groups."""
    minute = time.strftime("%Y-%m-%d-%H-%M", time.gmtime(at))
    return f"states/{machine_name}/{minute}/{hashlib.sha1(machine_arn.encode()).hexdigest()[:8]}"
