"""Helpers for the Step Functions tests: a client that does not prefix hosts with `sync-`, and
machines run to completion."""

from __future__ import annotations

import json
import time

from conftest import make_client

ROLE = "arn:aws:iam::000000000000:role/sfn-role"


def sfn_client(endpoint: str, **kwargs):
    # StartSyncExecution's endpoint has a `sync-` host prefix: a local endpoint must not get one
    return make_client(endpoint, "stepfunctions", inject_host_prefix=False, **kwargs)


def create(sfn, name: str, definition: dict, kind: str = "STANDARD", **kwargs) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, type=kind,
                                    **kwargs)["stateMachineArn"]


def wait_done(sfn, execution_arn: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_arn} still RUNNING after {timeout} s")
        time.sleep(0.05)


def run(sfn, name: str, definition: dict, value=None, timeout: float = 20.0) -> dict:
    """Create a STANDARD machine, start it with `value`, and return DescribeExecution at the end."""
    arn = create(sfn, name, definition)
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps({} if value is None else value))
    return wait_done(sfn, started["executionArn"], timeout)


def run_sync(sfn, name: str, definition: dict, value=None) -> dict:
    """An EXPRESS machine through StartSyncExecution."""
    arn = create(sfn, name, definition, "EXPRESS")
    return sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({} if value is None else value))


def output(described: dict):
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def history(sfn, execution_arn: str) -> list[dict]:
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=execution_arn, **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events
