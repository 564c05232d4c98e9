"""Helpers for the CloudFormation tests."""

from __future__ import annotations

import time


def own_tags(tags):
    """A resource's tags without the aws:cloudformation:* ones CloudFormation adds to everything it
    tags (tests/test_cloudformation_stack_behaviour.py checks those): a {key: value} map or a list
    of {Key, Value}."""
    if isinstance(tags, dict):
        return {k: v for k, v in tags.items() if not k.startswith("aws:")}
    return [t for t in tags if not t["Key"].startswith("aws:")]


FAST = {"Delay": 0.2, "MaxAttempts": 300}  # the waiters' polling, at overcast's pace


def wait(cf, waiter: str, name: str) -> dict:
    """The stack once a CloudFormation waiter (stack_create_complete, ...) is satisfied."""
    cf.get_waiter(waiter).wait(StackName=name, WaiterConfig=FAST)
    return cf.describe_stacks(StackName=name)["Stacks"][0]


def settle(cf, name: str, seconds: float = 90) -> dict:
    """The stack once no operation is in progress (for outcomes the waiters treat as failures)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.1)
    raise AssertionError(f"stack {name} still {stack['StackStatus']}")
