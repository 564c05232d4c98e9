"""Step Functions in a cluster (docs/cluster.md, docs/stepfunctions.md): the calls that reach a
running execution work from any node. An execution started on node A waits on a task token;
SendTaskSuccess / SendTaskFailure made on node B wake it at once (a notification, no polling),
StopExecution on B aborts it and cancels its task on A, SendTaskHeartbeat on B keeps a
HeartbeatSeconds task on A alive, and an activity worker long-polling on B gets a task A
scheduled. Skips without a reachable PostgreSQL, except in CI (tests/cluster_support.py)."""

from __future__ import annotations

import json
import statistics
import time
import uuid

import pytest
from cluster_support import create_database, start_nodes, stop_nodes
from conftest import make_client
from sfn_support import create, history, sfn_client, wait_done


@pytest.fixture(scope="module")
def endpoints():
    url, drop = create_database("overcast_sfn")
    nodes = start_nodes(url, 2)
    yield [node.endpoint for node in nodes]
    stop_nodes(nodes)
    drop()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def token_of(sqs, url: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return json.loads(m["Body"])["token"]
    raise AssertionError("no task token was sent")


def callback_machine(sfn, url: str, heartbeat: int | None = None, leak_url: str | None = None) -> str:
    """Ask (sqs:sendMessage.waitForTaskToken); with `leak_url`, a task that is still running after
    its heartbeat timeout sends a message there (it must not once the execution was stopped)."""
    ask = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
           "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}
    states = {"Ask": ask}
    if heartbeat:
        ask["HeartbeatSeconds"] = heartbeat
    if leak_url:
        ask["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Leak"}]
        states["Leak"] = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                          "Parameters": {"QueueUrl": leak_url, "MessageBody": "still running"}, "End": True}
    return create(sfn, name("cb"), {"StartAt": "Ask", "States": states})


def test_send_task_success_on_another_node_wakes_the_execution_at_once(endpoints):
    a, b = sfn_client(endpoints[0]), sfn_client(endpoints[1])
    sqs = make_client(endpoints[1], "sqs")
    url = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
    machine = callback_machine(a, url)
    latencies = []
    for i in range(5):
        execution = a.start_execution(stateMachineArn=machine)["executionArn"]
        token = token_of(sqs, url)
        assert a.describe_execution(executionArn=execution)["status"] == "RUNNING"
        sent = time.time()
        b.send_task_success(taskToken=token, output=json.dumps({"approved": i}))
        described = wait_done(b, execution, timeout=10)
        assert described["status"] == "SUCCEEDED", described
        assert json.loads(described["output"]) == {"approved": i}
        latencies.append(described["stopDate"].timestamp() - sent)  # the same machine's clock
        with pytest.raises(b.exceptions.TaskDoesNotExist):  # a token answers once, on any node
            b.send_task_success(taskToken=token, output="{}")
    print(f"\nSendTaskSuccess on node B -> execution on node A SUCCEEDED: "
          f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
          f"({[round(x * 1000) for x in latencies]})")
    assert max(latencies) < 2.0, latencies  # a notification, not a poll or a heartbeat's period


def test_send_task_failure_on_another_node_fails_the_task(endpoints):
    a, b = sfn_client(endpoints[0]), sfn_client(endpoints[1])
    sqs = make_client(endpoints[0], "sqs")
    url = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
    execution = a.start_execution(stateMachineArn=callback_machine(a, url))["executionArn"]
    b.send_task_failure(taskToken=token_of(sqs, url), error="Rejected", cause="by a human")
    described = wait_done(a, execution, timeout=10)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Rejected", "by a human")


def test_a_token_answered_on_two_nodes_at_once_is_answered_once(endpoints):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    clients = [sfn_client(endpoint) for endpoint in endpoints]
    sqs = make_client(endpoints[0], "sqs")
    url = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
    machine = callback_machine(clients[0], url)
    for _ in range(5):
        execution = clients[0].start_execution(stateMachineArn=machine)["executionArn"]
        token = token_of(sqs, url)
        barrier = Barrier(2)

        def answer(i, token=token, barrier=barrier):
            barrier.wait()
            try:
                clients[i].send_task_success(taskToken=token, output=json.dumps({"node": i}))
                return i
            except (clients[i].exceptions.TaskDoesNotExist, clients[i].exceptions.TaskTimedOut):
                # the other node's answer came first: its token is answered (TaskDoesNotExist), or
                # its execution has already finished with that answer (TaskTimedOut, as AWS
                # answers for a token of an execution that is over)
                return None

        with ThreadPoolExecutor(2) as pool:
            answered = [i for i in pool.map(answer, range(2)) if i is not None]
        assert len(answered) == 1, answered
        described = wait_done(clients[1], execution, timeout=10)
        assert json.loads(described["output"]) == {"node": answered[0]}


def test_stop_execution_on_another_node_cancels_the_task_where_it_runs(endpoints):
    a, b = sfn_client(endpoints[0]), sfn_client(endpoints[1])
    sqs = make_client(endpoints[0], "sqs")
    url = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
    leak = sqs.create_queue(QueueName=name("leak"))["QueueUrl"]
    execution = a.start_execution(stateMachineArn=callback_machine(a, url, heartbeat=2, leak_url=leak))["executionArn"]
    token = token_of(sqs, url)
    b.stop_execution(executionArn=execution, error="Stopped", cause="on node B")
    described = a.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Stopped", "on node B")
    # had the task gone on running on node A, its heartbeat timeout (2 s) would be caught and the
    # Leak state would send a message
    assert sqs.receive_message(QueueUrl=leak, WaitTimeSeconds=5).get("Messages", []) == []
    events = history(a, execution)
    assert events[-1]["type"] == "ExecutionAborted"
    assert [e["type"] for e in events].count("ExecutionAborted") == 1
    assert "TaskFailed" not in [e["type"] for e in events]
    assert a.describe_execution(executionArn=execution)["status"] == "ABORTED"
    with pytest.raises(a.exceptions.TaskDoesNotExist):
        a.send_task_success(taskToken=token, output="{}")


def test_heartbeats_sent_to_another_node_keep_the_task_alive(endpoints):
    a, b = sfn_client(endpoints[0]), sfn_client(endpoints[1])
    sqs = make_client(endpoints[0], "sqs")
    url = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
    machine = callback_machine(a, url, heartbeat=2)
    execution = a.start_execution(stateMachineArn=machine)["executionArn"]
    token = token_of(sqs, url)
    until = time.monotonic() + 6  # three times HeartbeatSeconds
    while time.monotonic() < until:
        b.send_task_heartbeat(taskToken=token)
        time.sleep(0.7)
        assert a.describe_execution(executionArn=execution)["status"] == "RUNNING"
    b.send_task_success(taskToken=token, output=json.dumps({"alive": True}))
    described = wait_done(a, execution, timeout=10)
    assert described["status"] == "SUCCEEDED", described
    # and without heartbeats the same task times out on node A
    execution = a.start_execution(stateMachineArn=machine)["executionArn"]
    token_of(sqs, url)
    described = wait_done(b, execution, timeout=10)
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")


def test_an_activity_worker_on_another_node_gets_the_task_at_once(endpoints):
    a, b = sfn_client(endpoints[0]), sfn_client(endpoints[1])
    activity = a.create_activity(name=name("act"))["activityArn"]
    machine = create(a, name("activity"), {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": activity, "End": True}}})
    import threading

    got = {}

    def poll():  # a long poll on node B, waiting before the task exists
        got["task"] = b.get_activity_task(activityArn=activity, workerName="w")
        got["at"] = time.time()

    worker = threading.Thread(target=poll)
    worker.start()
    time.sleep(1)
    started = time.time()
    execution = a.start_execution(stateMachineArn=machine, input=json.dumps({"job": 1}))["executionArn"]
    worker.join(30)
    assert json.loads(got["task"]["input"]) == {"job": 1}
    assert got["at"] - started < 2.0
    b.send_task_success(taskToken=got["task"]["taskToken"], output=json.dumps({"done": 1}))
    assert wait_done(a, execution, timeout=10)["status"] == "SUCCEEDED"


def test_a_live_node_takes_over_the_executions_of_a_node_killed_with_kill_9():
    """Node A killed while its executions wait (a task token, a Wait): node B resumes them at
    their checkpointed states within LEASE_SECONDS + HEARTBEAT_SECONDS of the kill."""
    from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

    url, drop = create_database("overcast_sfn_kill")
    nodes = start_nodes(url, 2)
    try:
        a, b = sfn_client(nodes[0].endpoint), sfn_client(nodes[1].endpoint)
        sqs = make_client(nodes[1].endpoint, "sqs")
        queue = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
        waiting = a.start_execution(stateMachineArn=callback_machine(a, queue))["executionArn"]
        token = token_of(sqs, queue)
        timed = a.start_execution(stateMachineArn=create(a, name("wait"), {"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "waited", "End": True}}}))["executionArn"]
        time.sleep(0.5)  # (the Wait's checkpoint committed)
        nodes[0].process.kill()
        killed = time.time()
        nodes[0].process.wait(10)
        b.send_task_success(taskToken=token, output=json.dumps({"after": "kill"}))  # stored; no node waits yet
        done = wait_done(b, waiting, timeout=30)
        taken_over = time.time() - killed
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"after": "kill"}
        print(f"\nan execution of a node killed with kill -9 finished on another node {taken_over:.1f} s after "
              f"the kill (bound {LEASE_SECONDS + HEARTBEAT_SECONDS:.0f} s)")
        assert taken_over < LEASE_SECONDS + HEARTBEAT_SECONDS + 2
        done = wait_done(b, timed, timeout=30)
        assert (done["status"], done["output"]) == ("SUCCEEDED", '"waited"')
        for execution in (waiting, timed):  # each state ran once: the history has one end
            types = [e["type"] for e in history(b, execution)]
            assert types.count("ExecutionSucceeded") == 1 and types[-1] == "ExecutionSucceeded", types
    finally:
        stop_nodes(nodes)
        drop()


def test_sync_parents_and_children_taken_over_by_two_nodes_still_wake():
    """Parents waiting on children (startExecution.sync:2), all on node A, killed: nodes B and C
    take them over between them, so a parent may run on B and its child on C; the child's end
    reaches the parent across nodes."""
    from overcast.storage.coordination import HEARTBEAT_SECONDS, LEASE_SECONDS

    url, drop = create_database("overcast_sfn_sync")
    nodes = start_nodes(url, 3)
    try:
        a, b = sfn_client(nodes[0].endpoint), sfn_client(nodes[1].endpoint)
        sqs = make_client(nodes[1].endpoint, "sqs")
        queue = sqs.create_queue(QueueName=name("tokens"))["QueueUrl"]
        child = callback_machine(a, queue)
        parent = create(a, name("parent"), {"StartAt": "Run", "States": {"Run": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child, "Name.$": "$.child", "Input": {}},
            "OutputPath": "$.Output", "End": True}}})
        parents = [a.start_execution(stateMachineArn=parent, input=json.dumps({"child": name("child")}))[
            "executionArn"] for _ in range(6)]
        tokens = [token_of(sqs, queue) for _ in parents]
        time.sleep(0.5)
        nodes[0].process.kill()
        nodes[0].process.wait(10)
        # once B and C resumed them (each parent's task starts its child again: the same, still running)
        time.sleep(LEASE_SECONDS + HEARTBEAT_SECONDS + 2)
        for i, token in enumerate(tokens):
            b.send_task_success(taskToken=token, output=json.dumps({"child": i}))
        outputs = [wait_done(b, arn, timeout=30) for arn in parents]
        assert all(done["status"] == "SUCCEEDED" for done in outputs), outputs
        assert sorted(json.loads(done["output"])["child"] for done in outputs) == list(range(len(parents)))
    finally:
        stop_nodes(nodes)
        drop()
