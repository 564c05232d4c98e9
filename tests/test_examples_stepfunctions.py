"""examples/order-workflow, deployed and exercised against the test server: an order through the
HTTP API, approved (and another rejected) by a human through a task token; a CSV priced by a
Distributed Map."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os

import httpx
from messaging_support import receive
from sfn_support import sfn_client, wait_done

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "order-workflow",
                       "deploy.py")


def _deploy(endpoint):
    spec = importlib.util.spec_from_file_location("example_order_workflow", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.deploy(endpoint)


def _execution_of(sfn, machine: str, order_id: str) -> str:
    for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"])["orderId"] == order_id:
            return execution["executionArn"]
    raise AssertionError(f"no execution for {order_id}")


def test_order_is_reserved_approved_by_a_human_and_confirmed(endpoint, client):
    out = _deploy(endpoint)
    sfn, sqs, ddb = sfn_client(endpoint), client("sqs"), client("dynamodb")
    started = httpx.post(out["url"], json={"orderId": "o-1", "item": "lamp", "quantity": 2}, timeout=30)
    assert started.status_code == 200, started.text
    execution = started.json()["executionArn"]
    request = json.loads(receive(sqs, out["approvalsUrl"], timeout=30)[0]["Body"])
    assert request["order"]["orderId"] == "o-1" and request["order"]["reservation"] == {"reserved": True}
    assert ddb.get_item(TableName=out["table"], Key={"id": {"S": "o-1"}})["Item"]["status"] == {"S": "RESERVED"}
    sfn.send_task_success(taskToken=request["token"], output=json.dumps({"approved": True}))
    described = wait_done(sfn, execution, timeout=30)
    assert described["status"] == "SUCCEEDED", described
    assert ddb.get_item(TableName=out["table"], Key={"id": {"S": "o-1"}})["Item"]["status"] == {"S": "CONFIRMED"}


def test_out_of_stock_order_is_rejected_without_asking(endpoint):
    out = _deploy(endpoint)
    sfn = sfn_client(endpoint)
    started = httpx.post(out["url"], json={"orderId": "o-2", "item": "lamp", "quantity": 50}, timeout=30)
    described = wait_done(sfn, started.json()["executionArn"], timeout=30)
    assert (described["status"], described["error"]) == ("FAILED", "OrderRejected")


def test_a_csv_of_order_lines_is_priced_by_a_distributed_map(endpoint, client):
    out = _deploy(endpoint)
    sfn, s3 = sfn_client(endpoint), client("s3")
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["line", "quantity", "unit_price"])
    for i in range(2500):
        writer.writerow([i, i % 5 + 1, "2.50"])
    s3.put_object(Bucket=out["bucket"], Key="lines.csv", Body=rows.getvalue().encode())
    execution = sfn.start_execution(stateMachineArn=out["pricingMachine"], input=json.dumps({"key": "lines.csv"}))
    described = wait_done(sfn, execution["executionArn"], timeout=60)
    result = json.loads(described["output"])
    manifest = json.loads(s3.get_object(Bucket=out["bucket"], Key=result["ResultWriterDetails"]["Key"])["Body"].read())
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    batches = [json.loads(r["Output"]) for r in
               json.loads(s3.get_object(Bucket=out["bucket"], Key=succeeded["Key"])["Body"].read())]
    assert len(batches) == 25 and sum(b["rows"] for b in batches) == 2500
    assert round(sum(b["total"] for b in batches), 2) == round(sum((i % 5 + 1) * 2.5 for i in range(2500)), 2)
