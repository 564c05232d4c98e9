"""Asynchronous (Event) invocations: queued durably, retried with back-off, delivered to
OnSuccess / OnFailure destinations and dead-letter queues. These tests run their own overcast with
short retry delays (OVERCAST_LAMBDA_RETRY_DELAY) and a short idle timeout (OVERCAST_LAMBDA_IDLE_SECONDS)."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import OvercastProcess, make_client
from lambda_functions import create_python, source


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = OvercastProcess(data_dir=str(tmp_path_factory.mktemp("async-data")),
                              env={"OVERCAST_LAMBDA_RETRY_DELAY": "0.1", "OVERCAST_LAMBDA_THROTTLE_DELAY": "0.1",
                                   "OVERCAST_LAMBDA_IDLE_SECONDS": "1"})
    yield process
    process.stop()


@pytest.fixture(scope="module")
def lam(server):
    return make_client(server.endpoint, "lambda")


@pytest.fixture(scope="module")
def sqs(server):
    return make_client(server.endpoint, "sqs")


def queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, count=1, timeout=10.0) -> list[dict]:
    """Receive (and delete) until `count` distinct messages arrived."""
    messages, deadline = {}, time.time() + timeout
    while len(messages) < count and time.time() < deadline:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        for message in got:
            messages[message["MessageId"]] = message
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return list(messages.values())


FLAKY = """
import json, os
def handler(event, context):
    print("attempt for", event)
    if event.get("fail"):
        raise RuntimeError("failing on purpose")
    return {"done": event}
"""


def test_event_invoke_runs_and_delivers_on_success(lam, sqs, unique_name):
    url, arn = queue(sqs, unique_name("ok"))
    name = unique_name("fn")
    create_python(lam, name, FLAKY)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    out = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 1}))
    assert out["StatusCode"] == 202
    [message] = receive(sqs, url)
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestContext"]["requestId"] == out["ResponseMetadata"]["RequestId"]
    assert record["requestPayload"] == {"n": 1}
    assert record["responsePayload"] == {"done": {"n": 1}}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}


def test_event_invoke_failure_is_retried_twice_then_sent_on_failure(lam, sqs, unique_name):
    url, arn = queue(sqs, unique_name("fail"))
    name = unique_name("fn")
    create_python(lam, name, FLAKY)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnFailure": {"Destination": arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True}))
    [message] = receive(sqs, url)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "failing on purpose"


def test_maximum_retry_attempts_zero_fails_after_one_attempt(lam, sqs, unique_name):
    url, arn = queue(sqs, unique_name("fail0"))
    name = unique_name("fn")
    create_python(lam, name, FLAKY)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True}))
    [message] = receive(sqs, url)
    assert json.loads(message["Body"])["requestContext"]["approximateInvokeCount"] == 1


def test_an_s3_bucket_keeps_failures_under_awss_prefix_for_the_function(server, lam, unique_name):
    """AWS: an S3 bucket is an OnFailure destination only; the invocation record is the JSON
    object aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>."""
    s3 = make_client(server.endpoint, "s3")
    bucket = unique_name("failures").lower()
    s3.create_bucket(Bucket=bucket)
    name = unique_name("fn")
    create_python(lam, name, FLAKY)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):  # never for successes
        lam.put_function_event_invoke_config(FunctionName=name,
                                             DestinationConfig={"OnSuccess": {"Destination": f"arn:aws:s3:::{bucket}"}})
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}})
    out = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True}))
    deadline, keys = time.time() + 15, []
    while not keys and time.time() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        time.sleep(0.2)
    [key] = keys
    assert re.fullmatch(rf"aws/lambda/async/{name}/\d{{4}}/\d\d/\d\d/\d{{4}}-\d\d-\d\dT\d\d\.\d\d\.\d\d-[0-9a-f-]{{36}}", key), key
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ContentType"] == "application/json"
    record = json.loads(got["Body"].read())
    assert record["requestContext"]["requestId"] == out["ResponseMetadata"]["RequestId"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"fail": True}
    assert record["responsePayload"]["errorMessage"] == "failing on purpose"


def test_zero_reserved_concurrency_fails_the_event_at_once(lam, sqs, unique_name):
    # a function that may not run: the event goes to OnFailure unattempted, condition
    # ZeroReservedConcurrency and approximateInvokeCount 0, as AWS records it
    url, arn = queue(sqs, unique_name("zero"))
    name = unique_name("fn")
    create_python(lam, name, FLAKY)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    out = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": 2}))
    assert out["StatusCode"] == 202
    [message] = receive(sqs, url)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "ZeroReservedConcurrency"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestContext"]["requestId"] == out["ResponseMetadata"]["RequestId"]
    assert record["requestPayload"] == {"n": 2}
    assert "responseContext" not in record and "responsePayload" not in record


def test_dead_letter_queue_gets_the_original_event(lam, sqs, unique_name):
    url, arn = queue(sqs, unique_name("dlq"))
    name = unique_name("fn")
    create_python(lam, name, FLAKY, DeadLetterConfig={"TargetArn": arn})
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
    out = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True, "id": 7}))
    [message] = receive(sqs, url)
    assert json.loads(message["Body"]) == {"fail": True, "id": 7}
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == out["ResponseMetadata"]["RequestId"]
    assert attributes["ErrorMessage"]["StringValue"] == "failing on purpose"


def test_many_event_invokes_all_complete(lam, sqs, unique_name):
    url, arn = queue(sqs, unique_name("many"))
    name = unique_name("fn")
    create_python(lam, name, FLAKY)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    for i in range(30):
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"i": i}))
    messages = receive(sqs, url, count=30, timeout=20)
    got = [json.loads(m["Body"])["requestPayload"]["i"] for m in messages]
    assert sorted(got) == list(range(30))


def test_event_invoke_payload_over_1mb_answers_too_large(lam, unique_name):
    from botocore.exceptions import ClientError

    name = unique_name("fn")
    create_python(lam, name, source("echo.py"))
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"x": "y" * (1024 * 1024 + 1)}))
    assert e.value.response["Error"]["Code"] == "RequestEntityTooLargeException"


def test_queued_events_survive_a_restart(tmp_path, unique_name):
    data_dir = str(tmp_path / "data")
    env = {"OVERCAST_LAMBDA_RETRY_DELAY": "0.1", "OVERCAST_LAMBDA_CONCURRENCY": "10"}
    # one Event invocation at a time: while the first sleeps, the others wait in the queue
    first = OvercastProcess(data_dir=data_dir, env={**env, "OVERCAST_LAMBDA_ASYNC_CONCURRENCY": "1"})
    lam = make_client(first.endpoint, "lambda")
    sqs = make_client(first.endpoint, "sqs")
    url, arn = queue(sqs, "survivors")
    name = unique_name("fn")
    create_python(lam, name, "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n"
                             "    return event\n", Timeout=10)
    lam.put_function_event_invoke_config(FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}})
    for i in range(3):
        payload = json.dumps({"i": i, "sleep": 3 if i == 0 else 0})
        assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=payload)["StatusCode"] == 202
    first.stop(kill=True)
    second = OvercastProcess(data_dir=data_dir, env=env)
    try:
        lam = make_client(second.endpoint, "lambda")
        sqs = make_client(second.endpoint, "sqs")
        # events 1 and 2 were queued behind event 0, which was running (or about to) when the server
        # was killed: all three run on the new server (event 0 again, as an interrupted attempt does)
        messages = receive(sqs, sqs.get_queue_url(QueueName="survivors")["QueueUrl"], count=3, timeout=15)
        assert sorted(json.loads(m["Body"])["requestPayload"]["i"] for m in messages) == [0, 1, 2]
    finally:
        second.stop()


STARTED = """
import json, os, time, boto3
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=event["started"], MessageBody=json.dumps(event["i"]))
    time.sleep(event["sleep"])
    return {}
"""


def test_an_event_running_when_the_server_is_killed_runs_again_after_the_restart(tmp_path, unique_name):
    # (as on AWS, an asynchronous invocation is at least once: the interrupted attempt left no outcome)
    data_dir = str(tmp_path / "data")
    first = OvercastProcess(data_dir=data_dir)
    lam = make_client(first.endpoint, "lambda")
    sqs = make_client(first.endpoint, "sqs")
    started, _ = queue(sqs, "started")
    name = unique_name("fn")
    create_python(lam, name, STARTED, Timeout=60)
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"i": 1, "sleep": 60, "started": started}))
    [message] = receive(sqs, started, timeout=30)
    assert json.loads(message["Body"]) == 1
    first.stop(kill=True)
    second = OvercastProcess(data_dir=data_dir)
    try:
        sqs = make_client(second.endpoint, "sqs")
        [message] = receive(sqs, sqs.get_queue_url(QueueName="started")["QueueUrl"], timeout=30)
        assert json.loads(message["Body"]) == 1  # started again by the new server, without a request
    finally:
        second.stop()


def test_account_concurrency_limit_throttles_with_reason(tmp_path, unique_name):
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    server = OvercastProcess(env={"OVERCAST_LAMBDA_CONCURRENCY": "2"})
    try:
        lam = make_client(server.endpoint, "lambda")
        name = unique_name("fn")
        create_python(lam, name, source("misbehave.py"), Timeout=5)
        assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 2

        def call(_):
            try:
                lam.invoke(FunctionName=name, Payload=json.dumps({"action": "sleep", "seconds": 1.5}))
                return "ok"
            except ClientError as e:
                return e.response["Error"]["Code"] + ":" + e.response.get("Reason", "")

        with ThreadPoolExecutor(3) as pool:
            results = sorted(pool.map(call, range(3)))
        assert results == ["TooManyRequestsException:ConcurrentInvocationLimitExceeded", "ok", "ok"]
    finally:
        server.stop()


def test_another_functions_reserved_concurrency_shrinks_the_pool_an_invocation_may_use(tmp_path, unique_name):
    # limit 10: 8 reserved by one function leaves 2 for the others (read per invocation: store.get_invocable)
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    server = OvercastProcess(env={"OVERCAST_LAMBDA_CONCURRENCY": "10"})
    try:
        lam = make_client(server.endpoint, "lambda")
        name, reserving = unique_name("fn"), unique_name("reserving")
        create_python(lam, name, source("misbehave.py"), Timeout=5)
        create_python(lam, reserving, source("misbehave.py"))
        lam.put_function_concurrency(FunctionName=reserving, ReservedConcurrentExecutions=8)
        assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 2

        def call(_):
            try:
                lam.invoke(FunctionName=name, Payload=json.dumps({"action": "sleep", "seconds": 1.5}))
                return "ok"
            except ClientError as e:
                return e.response["Error"]["Code"] + ":" + e.response.get("Reason", "")

        with ThreadPoolExecutor(3) as pool:
            results = sorted(pool.map(call, range(3)))
        assert results == ["TooManyRequestsException:ConcurrentInvocationLimitExceeded", "ok", "ok"]
        lam.delete_function_concurrency(FunctionName=reserving)  # the pool is whole again
        with ThreadPoolExecutor(3) as pool:
            assert list(pool.map(call, range(3))) == ["ok"] * 3
    finally:
        server.stop()


def test_idle_sandbox_is_reaped_after_the_idle_timeout(lam, unique_name):
    import os

    name = unique_name("fn")
    create_python(lam, name, "import os\ndef handler(e, c):\n    return os.getpid()\n")
    first = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == first  # warm
    deadline = time.time() + 5
    while os.path.exists(f"/proc/{first}") and time.time() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{first}")
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) != first


def test_a_sandbox_used_within_each_idle_timeout_is_kept(lam, unique_name):
    # the reaper's timer is armed once per idle period: when it fires on a sandbox used since, it
    # waits for the rest of that sandbox's idle time (OVERCAST_LAMBDA_IDLE_SECONDS is 1 here)
    name = unique_name("fn")
    create_python(lam, name, "import os\ndef handler(e, c):\n    return os.getpid()\n")
    pids = set()
    for _ in range(5):
        pids.add(json.loads(lam.invoke(FunctionName=name)["Payload"].read()))
        time.sleep(0.6)
    assert len(pids) == 1


def test_a_retry_due_after_the_maximum_age_fails_the_event_at_once(tmp_path, unique_name):
    # AWS does not wait for a retry that would come after MaximumEventAgeInSeconds: the event goes
    # to OnFailure at once, condition EventAgeExceeded, with the attempt's outcome (here the first
    # retry is due in 120 s, the event's maximum age is 60 s)
    process = OvercastProcess(data_dir=str(tmp_path / "data"), env={"OVERCAST_LAMBDA_RETRY_DELAY": "120"})
    try:
        lam, sqs = make_client(process.endpoint, "lambda"), make_client(process.endpoint, "sqs")
        url, arn = queue(sqs, unique_name("age"))
        name = unique_name("fn")
        create_python(lam, name, FLAKY)
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60,
                                             DestinationConfig={"OnFailure": {"Destination": arn}})
        started = time.time()
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fail": True}))
        [message] = receive(sqs, url, timeout=20)
        assert time.time() - started < 20
        record = json.loads(message["Body"])
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 1
        assert record["responseContext"]["functionError"] == "Unhandled"
        assert record["responsePayload"]["errorMessage"] == "failing on purpose"
    finally:
        process.stop()
