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


def deploy_change_set(cf, name: str, body: str, kind: str) -> list:
    """Deploy as `sam deploy` does: a change set of the template (CREATE or UPDATE) made, then
    executed; the stack's changes once it is complete."""
    change_set = cf.create_change_set(StackName=name, ChangeSetName=f"sam-{kind.lower()}", ChangeSetType=kind,
                                      TemplateBody=body, Capabilities=["CAPABILITY_IAM"])["Id"]
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig=FAST)
    changes = cf.describe_change_set(ChangeSetName=change_set)["Changes"]
    cf.execute_change_set(ChangeSetName=change_set)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    cf.get_waiter(waiter).wait(StackName=name, WaiterConfig=FAST)
    return changes


def settle(cf, name: str, seconds: float = 90) -> dict:
    """The stack once no operation is in progress (for outcomes the waiters treat as failures)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.1)
    raise AssertionError(f"stack {name} still {stack['StackStatus']}")
