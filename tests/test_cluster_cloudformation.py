"""CloudFormation in a cluster (docs/cluster.md): a stack's operation runs on the node that
received its request; a node killed with kill -9 in the middle of one: a live node rolls it back
within the stated time, as a single node does after its restart (tests/test_cloudformation_
durability.py), once. Skips without a reachable PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import time
import uuid

from cluster_support import create_database, start_nodes, stop_nodes
from conftest import make_client

from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

TAKEOVER = LEASE_SECONDS + HEARTBEAT_SECONDS  # a dead node is known dead within this (storage/coordination.py)

WAITING = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: %s}
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    DependsOn: Queue
    Properties: {Handle: !Ref Handle, Timeout: 600}
"""


def until(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_a_killed_nodes_stack_operation_is_rolled_back_by_a_live_node_once(request):
    db_url, drop = create_database("overcast_cfn_kill")
    nodes = start_nodes(db_url, 3)
    request.node.funcargs["nodes"] = nodes  # their logs in the report of a failure (conftest.py)
    try:
        victim, survivor, other = nodes
        queue = f"cfn-{uuid.uuid4().hex[:10]}"
        cf = make_client(victim.endpoint, "cloudformation")
        cf.create_stack(StackName="interrupted", TemplateBody=WAITING % queue)
        stack_id = cf.describe_stacks(StackName="interrupted")["Stacks"][0]["StackId"]
        cf = make_client(survivor.endpoint, "cloudformation")
        sqs = make_client(other.endpoint, "sqs")

        def waiting():
            resources = {r["LogicalResourceId"]: r["ResourceStatus"]
                         for r in cf.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]}
            return resources.get("Wait") == "CREATE_IN_PROGRESS"

        until(waiting, 60)
        assert sqs.list_queues(QueueNamePrefix=queue)["QueueUrls"]
        victim.stop(kill=True)
        killed = time.monotonic()
        until(lambda: cf.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] != "CREATE_IN_PROGRESS",
              TAKEOVER + 15)
        took = time.monotonic() - killed
        print(f"a killed node's stack operation taken over by another node {took:.1f} s after kill -9")
        stack = until(lambda: (s := cf.describe_stacks(StackName=stack_id)["Stacks"][0])["StackStatus"] in (
            "ROLLBACK_COMPLETE", "ROLLBACK_FAILED") and s, 30)
        time.sleep(2)  # (a second node rolling it back too would add its events now)
        events = cf.describe_stack_events(StackName=stack_id)["StackEvents"]
        queues = sqs.list_queues(QueueNamePrefix=queue).get("QueueUrls", [])
        resources = cf.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]
    finally:
        stop_nodes(nodes)
        drop()
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    stack_events = [e for e in events if e["LogicalResourceId"] == "interrupted"]
    assert [e["ResourceStatus"] for e in stack_events].count("ROLLBACK_IN_PROGRESS") == 1  # rolled back once
    assert [e.get("ResourceStatusReason") for e in stack_events if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"] \
        == ["the overcast node running the stack's operation stopped while it was in progress"]
    assert [e["ResourceStatus"] for e in stack_events].count("ROLLBACK_COMPLETE") == 1
    assert queues == [] and resources == []
    assert took <= TAKEOVER + 1, took  # (1 s for this test's polling on a loaded machine)


# (its wait fails after 8 s: an update that went on running where it started would roll the
# stack back a second time then)
UPDATED = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: %s}
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    DependsOn: Queue
    Properties: {Handle: !Ref Handle, Timeout: 8}
  Added:
    Type: AWS::SQS::Queue
    Properties: {QueueName: %s-added}
"""


def test_cancel_update_stack_made_on_another_node_stops_the_update_where_it_runs(request):
    db_url, drop = create_database("overcast_cfn_cancel")
    nodes = start_nodes(db_url, 2)
    request.node.funcargs["nodes"] = nodes
    try:
        runner, other = nodes
        queue = f"cfn-{uuid.uuid4().hex[:10]}"
        cf = make_client(runner.endpoint, "cloudformation")
        cf.create_stack(StackName="cancelled", TemplateBody=WAITING.split("  Handle:")[0] % queue)
        cf.get_waiter("stack_create_complete").wait(StackName="cancelled", WaiterConfig={"Delay": 0.5})
        cf.update_stack(StackName="cancelled", TemplateBody=UPDATED % (queue, queue))
        updated = time.monotonic()
        sqs = make_client(other.endpoint, "sqs")
        until(lambda: sqs.list_queues(QueueNamePrefix=f"{queue}-added").get("QueueUrls"), 60)  # the update waits
        make_client(other.endpoint, "cloudformation").cancel_update_stack(StackName="cancelled")
        stack = until(lambda: (s := cf.describe_stacks(StackName="cancelled")["Stacks"][0])["StackStatus"] in (
            "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED") and s, 30)
        time.sleep(max(0.0, updated + 12 - time.monotonic()))  # (past the wait's 8 s: a second rollback shows)
        events = cf.describe_stack_events(StackName="cancelled")["StackEvents"]
        added = sqs.list_queues(QueueNamePrefix=f"{queue}-added").get("QueueUrls", [])
        kept = sqs.list_queues(QueueNamePrefix=queue).get("QueueUrls", [])
    finally:
        stop_nodes(nodes)
        drop()
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    statuses = [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == "cancelled"]
    assert statuses.count("UPDATE_ROLLBACK_IN_PROGRESS") == 1 and statuses.count("UPDATE_ROLLBACK_COMPLETE") == 1
    assert [e.get("ResourceStatusReason") for e in events if e["LogicalResourceId"] == "cancelled"
            and e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"] == ["Stack update cancelled"]
    assert added == [] and len(kept) == 1  # the update's queue removed, the stack's own kept
