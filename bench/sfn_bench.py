"""Step Functions: EXPRESS executions/s, STANDARD state transitions/s, and a Distributed Map of
10,000 items over a Lambda.

    .venv/bin/python bench/sfn_bench.py [express-executions] [standard-executions]

Targets (issue "Step Functions"): a 20-state Pass/Choice machine >= 500 EXPRESS executions/s
through StartSyncExecution; STANDARD state transitions >= 5,000/s; a Distributed Map of 10,000
items in batches of 100 over a trivial Lambda <= 20 s on 2 cores.

EXPRESS is driven by 8 client threads over raw HTTP (no SDK overhead); STANDARD transitions are
counted from the histories and timed server-side (first start to last stop date).
"""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from common import Server, json_call

ROLE = "arn:aws:iam::000000000000:role/bench"


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}, max_pool_connections=64, inject_host_prefix=False))


def twenty_states() -> dict:
    """Ten Pass states and ten Choice states, alternating: 20 transitions per execution."""
    states = {}
    for i in range(10):
        states[f"P{i}"] = {"Type": "Pass", "Result": i, "ResultPath": f"$.p{i}", "Next": f"C{i}"}
        last = i == 9
        states[f"C{i}"] = {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True,
                                                          "Next": "Done" if last else f"P{i + 1}"}],
                           "Default": "Done"}
    states["Done"] = {"Type": "Succeed"}
    return {"StartAt": "P0", "States": states}


def express(endpoint: str, sfn, count: int) -> float:
    arn = sfn.create_state_machine(name="express20", definition=json.dumps(twenty_states()), roleArn=ROLE,
                                   type="EXPRESS")["stateMachineArn"]
    body = json.dumps({"stateMachineArn": arn, "input": json.dumps({"go": True})}).encode()

    def one(_):
        status, reply = json_call(endpoint, "states", "AWSStepFunctions.StartSyncExecution", body)
        assert status == 200 and b'"SUCCEEDED"' in reply, reply[:200]

    for _ in range(50):
        one(0)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def standard(sfn, count: int) -> tuple[float, int]:
    arn = sfn.create_state_machine(name="standard20", definition=json.dumps(twenty_states()),
                                   roleArn=ROLE)["stateMachineArn"]
    with ThreadPoolExecutor(8) as pool:
        executions = list(pool.map(lambda _: sfn.start_execution(stateMachineArn=arn, input='{"go": true}')[
            "executionArn"], range(count)))
    first, last = None, None
    for execution in executions:
        while True:
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.02)
        assert described["status"] == "SUCCEEDED", described
        first = min(first or described["startDate"], described["startDate"])
        last = max(last or described["stopDate"], described["stopDate"])
    events = sfn.get_execution_history(executionArn=executions[0], maxResults=1000)["events"]
    transitions = sum(1 for e in events if e["type"].endswith("StateEntered"))
    return transitions * count / (last - first).total_seconds(), transitions


def distributed_map(sfn, lam, s3) -> float:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return len(event['Items'])\n")
    function = lam.create_function(FunctionName="count-items", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                   Code={"ZipFile": buffer.getvalue()})["FunctionArn"]
    s3.create_bucket(Bucket="dmap-bench")
    s3.put_object(Bucket="dmap-bench", Key="items.json", Body=json.dumps([{"i": i} for i in range(10_000)]).encode())
    definition = {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "End": True, "MaxConcurrency": 20,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "dmap-bench", "Key": "items.json"}},
        "ItemBatcher": {"MaxItemsPerBatch": 100},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "Count", "States": {"Count": {"Type": "Task", "Resource": function,
                                                                   "End": True}}}}}}
    arn = sfn.create_state_machine(name="dmap", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    started = time.perf_counter()
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    assert described["status"] == "SUCCEEDED", described
    assert sum(json.loads(described["output"])) == 10_000
    return elapsed


def main() -> None:
    express_count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    standard_count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    server = Server()
    try:
        sfn = client(server.endpoint, "stepfunctions")
        rate = express(server.endpoint, sfn, express_count)
        print(f"EXPRESS 20-state StartSyncExecution: {rate:,.0f} executions/s (target 500)")
        transitions, per = standard(sfn, standard_count)
        print(f"STANDARD: {transitions:,.0f} state transitions/s over {standard_count} executions of {per} "
              "transitions (target 5,000)")
        elapsed = distributed_map(sfn, client(server.endpoint, "lambda"), client(server.endpoint, "s3"))
        print(f"Distributed Map, 10,000 items in batches of 100 over a Lambda: {elapsed:.1f} s (target 20 s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
