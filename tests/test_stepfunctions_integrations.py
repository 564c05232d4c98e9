"""Task states through overcast's own services: Lambda (both forms), AWS SDK integrations, the
optimized SQS/DynamoDB/SNS integrations, callbacks with task tokens, activities, nested executions,
and Distributed Map over S3."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time

import pytest
from lambda_functions import create_python
from messaging_support import make_queue, receive
from sfn_support import ROLE, create, history, output, run, run_sync, sfn_client, wait_done

FLAKY = """
import json, os
COUNTER = {"n": 0}

class Flaky(Exception):
    pass

def handler(event, context):
    COUNTER["n"] += 1
    if event.get("fail_times", 0) >= COUNTER["n"]:
        raise Flaky("attempt %d failed" % COUNTER["n"])
    if event.get("always") == "boom":
        raise ValueError("boom")
    return {"ok": True, "attempt": COUNTER["n"], "echo": event.get("value")}
"""

DOUBLER = """
def handler(event, context):
    if "Items" in event:
        return [{"n": int(row["n"]) * 2} for row in event["Items"]]
    return {"n": int(event["n"]) * 2}
"""


@pytest.fixture(scope="module")
def sfn(endpoint):
    return sfn_client(endpoint)


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


def make_function(lam, name, code) -> str:
    return create_python(lam, name, code, Timeout=30)["FunctionArn"]


def test_lambda_task_retries_then_succeeds(sfn, lam, unique_name):
    function = make_function(lam, unique_name("flaky"), FLAKY)
    described = run(sfn, unique_name("retry"), {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": function, "End": True,
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0}]}}},
        {"fail_times": 1, "value": 5})
    assert output(described) == {"ok": True, "attempt": 2, "echo": 5}
    types = [e["type"] for e in history(sfn, described["executionArn"])]
    assert types.count("LambdaFunctionFailed") == 1 and types.count("LambdaFunctionSucceeded") == 1
    assert types[:4] == ["ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted"]


def test_lambda_error_is_caught_by_its_error_type(sfn, lam, unique_name):
    function = make_function(lam, unique_name("boom"), FLAKY)
    described = run(sfn, unique_name("catch"), {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName": function, "Payload": {"always": "boom"}}, "Next": "Never",
              "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Handled"}]},
        "Never": {"Type": "Fail"},
        "Handled": {"Type": "Pass", "End": True}}}, {"order": 1})
    result = output(described)
    assert result["order"] == 1 and result["error"]["Error"] == "ValueError"
    assert json.loads(result["error"]["Cause"])["errorMessage"] == "boom"


def test_a_lambda_task_whose_input_is_a_string_or_number_passes_it_as_json(sfn, lam, unique_name):
    # a Map's items are often plain strings: the function gets the JSON value, as on AWS (it was
    # sent unquoted, and Lambda refused it as a body that is no JSON)
    function = make_function(lam, unique_name("identity"), "def handler(event, context):\n    return event\n")
    described = run(sfn, unique_name("scalars"), {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": function, "End": True}}}}}},
        ["HelloWorld", 7, "", None, {"k": "v"}])
    assert described["status"] == "SUCCEEDED", described
    assert output(described) == ["HelloWorld", 7, "", None, {"k": "v"}]


@pytest.mark.parametrize("optimized", [False, True])
def test_a_task_result_over_256_kib_fails_the_task_and_is_caught(sfn, lam, unique_name, optimized):
    """AWS's recorded histories (LocalStack's error_handling/test_states_errors.py): the task fails
    with States.DataLimitExceeded, naming the function (a function ARN as Resource) or the service
    (lambda:invoke); States.ALL catches it, unlike a state's own output over the limit."""
    function = make_function(lam, unique_name("large"), "def handler(event, context):\n    return 'a' * 263000\n")
    task = {"Type": "Task", "Resource": function, "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}
    if optimized:
        task.update(Resource="arn:aws:states:::lambda:invoke", Parameters={"FunctionName": function})
    described = run(sfn, unique_name("limit"), {"StartAt": "T", "States": {
        "T": task, "Done": {"Type": "Succeed"}, "Caught": {"Type": "Pass", "End": True}}}, {})
    cause = (f"The state/task '{'lambda' if optimized else function}' returned a result with a size exceeding "
             "the maximum number of bytes service limit.")
    assert output(described) == {"Error": "States.DataLimitExceeded", "Cause": cause}
    failed = [e for e in history(sfn, described["executionArn"])
              if e["type"] in ("TaskFailed", "LambdaFunctionFailed")][0]
    details = failed.get("taskFailedEventDetails") or failed["lambdaFunctionFailedEventDetails"]
    assert (details["error"], details["cause"]) == ("States.DataLimitExceeded", cause)
    if optimized:
        assert (details["resourceType"], details["resource"]) == ("lambda", "invoke")


def test_optimized_lambda_invoke_answers_with_payload_and_status(sfn, lam, unique_name):
    function = make_function(lam, unique_name("opt"), FLAKY)
    described = run(sfn, unique_name("optimized"), {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "ResultSelector": {"payload.$": "$.Payload", "status.$": "$.StatusCode"}, "End": True}}}, {"value": "x"})
    assert output(described) == {"payload": {"ok": True, "attempt": 1, "echo": "x"}, "status": 200}


def test_unknown_function_fails_with_lambda_resource_not_found(sfn, unique_name):
    described = run(sfn, unique_name("nofn"), {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:does-not-exist", "End": True}}})
    assert described["status"] == "FAILED"
    assert described["error"] == "Lambda.ResourceNotFoundException"


def test_aws_sdk_and_optimized_dynamodb_integrations(sfn, client, unique_name):
    ddb = client("dynamodb")
    table = unique_name("tbl")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    definition = {"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"id": {"S.$": "$.id"}, "qty": {"N": "3"}}},
                "ResultPath": None, "Next": "Get"},
        "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.id"}}},
                "ResultSelector": {"qty.$": "$.Item.qty.N"}, "Next": "Missing"},
        "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                    "Parameters": {"TableName": "no-such-table", "Key": {"id": {"S": "x"}}},
                    "Catch": [{"ErrorEquals": ["DynamoDb.ResourceNotFoundException"], "ResultPath": "$.caught",
                               "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    result = output(run(sfn, unique_name("ddb"), definition, {"id": "order-1"}))
    assert result["qty"] == "3"
    assert result["caught"]["Error"] == "DynamoDb.ResourceNotFoundException"
    assert ddb.get_item(TableName=table, Key={"id": {"S": "order-1"}})["Item"]["qty"] == {"N": "3"}


def test_wait_for_task_token_with_sqs_and_send_task_success(sfn, client, unique_name):
    sqs = client("sqs")
    url, _ = make_queue(sqs, unique_name("cb"))
    arn = create(sfn, unique_name("callback"), {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
        "ResultPath": "$.approval", "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"order": 7}))["executionArn"]
    body = json.loads(receive(sqs, url)[0]["Body"])
    assert body["order"] == 7
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=body["token"], output=json.dumps({"approved": True}))
    assert output(wait_done(sfn, execution)) == {"order": 7, "approval": {"approved": True}}
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):  # a token answers once
        sfn.send_task_success(taskToken=body["token"], output="{}")


def test_send_task_failure_fails_the_task_with_its_error(sfn, client, unique_name):
    sqs = client("sqs")
    url, _ = make_queue(sqs, unique_name("cbf"))
    arn = create(sfn, unique_name("callbackfail"), {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": url, "MessageBody.$": "$$.Task.Token"}, "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = receive(sqs, url)[0]["Body"]
    sfn.send_task_failure(taskToken=token, error="Rejected", cause="by a human")
    described = wait_done(sfn, execution)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Rejected", "by a human")


def test_unknown_task_token_answers_task_does_not_exist(sfn):
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_success(taskToken="0" * 64, output="{}")


def test_activity_worker_gets_the_task_and_answers(sfn, unique_name):
    activity = sfn.create_activity(name=unique_name("act"))["activityArn"]
    arn = create(sfn, unique_name("activity"), {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": activity, "End": True}}})
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": 1}))["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="w1")
    assert json.loads(task["input"]) == {"job": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"done": 1}))
    assert output(wait_done(sfn, execution)) == {"done": 1}


def test_get_activity_task_waits_for_work_without_polling(sfn, unique_name):
    activity = sfn.create_activity(name=unique_name("actwait"))["activityArn"]
    arn = create(sfn, unique_name("actwaitm"), {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": activity, "End": True}}})
    timer = threading.Timer(0.5, lambda: sfn.start_execution(stateMachineArn=arn, input='{"late": true}'))
    timer.start()
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"late": True}
    sfn.send_task_failure(taskToken=task["taskToken"], error="Nope")


def test_start_execution_sync_runs_a_nested_state_machine(sfn, unique_name):
    child = create(sfn, unique_name("child"), {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}}})
    described = run(sfn, unique_name("parent"), {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}},
        "OutputPath": "$.Output", "End": True}}}, {"n": 21})
    assert output(described) == {"doubled": 42}


def test_distributed_map_over_a_csv_in_s3_with_batches_and_result_writer(sfn, lam, client, unique_name):
    s3 = client("s3")
    bucket = unique_name("dmap")
    s3.create_bucket(Bucket=bucket)
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["n"])
    for i in range(250):
        writer.writerow([i])
    s3.put_object(Bucket=bucket, Key="input.csv", Body=rows.getvalue().encode())
    function = make_function(lam, unique_name("doubler"), DOUBLER)
    definition = {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "End": True, "MaxConcurrency": 4,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket": bucket, "Key": "input.csv"}},
        "ItemBatcher": {"MaxItemsPerBatch": 100},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "Double",
                          "States": {"Double": {"Type": "Task", "Resource": function, "End": True}}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                         "Parameters": {"Bucket": bucket, "Prefix": "results"}}}}}
    described = run(sfn, unique_name("distributed"), definition, timeout=60)
    result = output(described)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=result["ResultWriterDetails"]["Key"])["Body"].read())
    assert manifest["MapRunArn"] == result["MapRunArn"]
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    records = json.loads(s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read())
    assert len(records) == 3 and all(r["Status"] == "SUCCEEDED" for r in records)
    doubled = sorted(item["n"] for r in records for item in json.loads(r["Output"]))
    assert doubled == [2 * i for i in range(250)]
    map_run = sfn.describe_map_run(mapRunArn=result["MapRunArn"])
    assert map_run["status"] == "SUCCEEDED" and map_run["itemCounts"]["succeeded"] == 3
    children = sfn.list_executions(mapRunArn=result["MapRunArn"])["executions"]
    assert len(children) == 3 and {c["status"] for c in children} == {"SUCCEEDED"}
    assert sfn.list_map_runs(executionArn=described["executionArn"])["mapRuns"][0]["mapRunArn"] == result["MapRunArn"]


def test_distributed_map_failures_over_the_threshold_fail_the_map(sfn, unique_name):
    definition = {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "End": True, "ToleratedFailureCount": 1,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                          "StartAt": "Check", "States": {
                              "Check": {"Type": "Choice", "Choices": [
                                  {"Variable": "$.bad", "BooleanEquals": True, "Next": "Bad"}], "Default": "Good"},
                              "Bad": {"Type": "Fail", "Error": "Item.Bad"},
                              "Good": {"Type": "Succeed"}}}}}}
    described = run(sfn, unique_name("dmapfail"), definition, [{"bad": True}, {"bad": True}, {"bad": False}])
    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"


def test_execution_status_changes_reach_eventbridge(sfn, client, unique_name):
    events, sqs = client("events"), client("sqs")
    url, queue_arn = make_queue(sqs, unique_name("sfnevents"))
    name = unique_name("evm")
    rule = unique_name("sfnrule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.states"],
                                                        "detail": {"status": ["SUCCEEDED"]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
    described = run(sfn, name, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, {"x": 1})
    event = json.loads(receive(sqs, url)[0]["Body"])
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["detail"]["executionArn"] == described["executionArn"]
    assert event["detail"]["status"] == "SUCCEEDED"


def test_express_machine_runs_lambda_synchronously(sfn, lam, unique_name):
    function = make_function(lam, unique_name("expr"), DOUBLER)
    described = run_sync(sfn, unique_name("exprm"), {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": function, "End": True}}}, {"n": 4})
    assert output(described) == {"n": 8}
    assert described["billingDetails"]["billedDurationInMilliseconds"] >= 100


def test_role_arn_of_the_machine_is_in_the_context(sfn, unique_name):
    described = run(sfn, unique_name("ctx"), {"StartAt": "A", "States": {"A": {
        "Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn", "name.$": "$$.StateMachine.Name"},
        "End": True}}})
    assert output(described)["role"] == ROLE


def test_an_eventbridge_rule_starts_an_execution_with_the_event(sfn, client, unique_name):
    events = client("events")
    machine = create(sfn, unique_name("ebtarget"), {"StartAt": "A", "States": {"A": {
        "Type": "Pass", "Parameters": {"source.$": "$.source", "order.$": "$.detail.order"}, "End": True}}})
    rule = unique_name("startsfn")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "sfn", "Arn": machine, "RoleArn": ROLE}])
    events.put_events(Entries=[{"Source": "shop.orders", "DetailType": "placed", "Detail": json.dumps({"order": 9})}])
    deadline = time.monotonic() + 10
    while not (executions := sfn.list_executions(stateMachineArn=machine)["executions"]):
        assert time.monotonic() < deadline, "the rule started no execution"
        time.sleep(0.05)
    assert output(wait_done(sfn, executions[0]["executionArn"])) == {"source": "shop.orders", "order": 9}


def test_an_api_gateway_service_integration_starts_an_execution(sfn, client, endpoint, unique_name):
    from apigateway_support import Api

    machine = create(sfn, unique_name("restsfn"), {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    api = Api(client("apigateway"), endpoint, "start-sfn")
    template = '{"stateMachineArn": "' + machine + '", "input": "$util.escapeJavaScript($input.body)"}'
    api.method("/orders", "POST", {
        "type": "AWS", "integrationHttpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:states:action/StartExecution",
        "credentials": "arn:aws:iam::000000000000:role/apigateway-sfn",
        "requestTemplates": {"application/json": template},
    }, {"200": {"responseTemplates": {"application/json": "$input.body"}}})
    api.deploy()
    response = api.call("POST", "/orders", json={"order": 5})
    assert response.status_code == 200, response.text
    execution = response.json()["executionArn"]
    assert output(wait_done(sfn, execution)) == {"order": 5}


def test_the_http_task_calls_an_endpoint(sfn, unique_name):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            body = json.dumps({"accepted": True}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        described = run(sfn, unique_name("http"), {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": f"http://127.0.0.1:{server.server_address[1]}/hook", "Method": "POST",
                           "RequestBody": {"order.$": "$.order"}},
            "ResultSelector": {"status.$": "$.StatusCode", "body.$": "$.ResponseBody"}, "End": True}}}, {"order": 3})
    finally:
        server.shutdown()
    assert output(described) == {"status": 200, "body": {"accepted": True}}
    assert seen == [{"order": 3}]


def test_athena_query_runs_to_completion_with_the_sync_pattern(sfn, client, unique_name):
    bucket = unique_name("athena-sfn")
    client("s3").create_bucket(Bucket=bucket)
    described = run(sfn, unique_name("athena"), {"StartAt": "Query", "States": {"Query": {
        "Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
        "Parameters": {"QueryString": "SELECT 1 AS one", "ResultConfiguration": {
            "OutputLocation": f"s3://{bucket}/results/"}},
        "ResultSelector": {"state.$": "$.QueryExecution.Status.State"}, "End": True}}}, timeout=60)
    assert output(described) == {"state": "SUCCEEDED"}


def test_the_aws_cli_lists_and_describes_state_machines(sfn, aws_cli, unique_name):
    name = unique_name("cli")
    arn = create(sfn, name, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    assert arn in [m["stateMachineArn"] for m in aws_cli("stepfunctions", "list-state-machines")["stateMachines"]]
    assert aws_cli("stepfunctions", "describe-state-machine", "--state-machine-arn", arn)["name"] == name


@pytest.mark.parametrize("task, error, cause", [
    # the optimized integrations (AWS's Java SDK 1): the service's name and the error's code in the cause,
    # an error the model does not list named by the SDK's exception for the service
    ({"Resource": "arn:aws:states:::dynamodb:putItem", "Parameters": {"TableName": "none", "Item.$": "$.nothing"}},
     "DynamoDB.AmazonDynamoDBException",
     r"1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null "
     r"\(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException; Request ID: [0-9a-f-]{36}; "
     r"Proxy: null\)"),
    ({"Resource": "arn:aws:states:::sns:publish",
      "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:000000000000:none", "Message": "x"}},
     "SNS.NotFoundException",
     r".* \(Service: AmazonSNS; Status Code: 404; Error Code: NotFound; Request ID: [0-9a-f-]{36}; Proxy: null\)"),
    # SQS through AWS's Java SDK 1, which speaks awsQuery to it: the error's awsQuery code
    ({"Resource": "arn:aws:states:::sqs:sendMessage",
      "Parameters": {"QueueUrl": "http://localhost:4566/000000000000/none", "MessageBody": "x"}},
     "SQS.QueueDoesNotExistException",
     r".* \(Service: AmazonSQS; Status Code: 400; Error Code: AWS\.SimpleQueueService\.NonExistentQueue; "
     r"Request ID: [0-9a-f-]{36}; Proxy: null\)"),
    ({"Resource": "arn:aws:states:::states:startExecution",
      "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:none"}},
     "StepFunctions.StateMachineDoesNotExistException",
     r"State Machine Does Not Exist: 'arn:aws:states:us-east-1:000000000000:stateMachine:none' \(Service: "
     r"AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: [0-9a-f-]{36}; Proxy: null\)"),
    ({"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "none"}},
     "Lambda.ResourceNotFoundException",
     r"Function not found: arn:aws:lambda:us-east-1:000000000000:function:none:\$LATEST \(Service: AWSLambda; "
     r"Status Code: 404; Error Code: ResourceNotFoundException; Request ID: [0-9a-f-]{36}; Proxy: null\)"),
    # the AWS SDK integrations (Java SDK 2): no error code in the cause; S3 adds its extended request id
    ({"Resource": "arn:aws:states:::aws-sdk:s3:getObject", "Parameters": {"Bucket": "no-such-bucket-here", "Key": "k"}},
     "S3.NoSuchBucketException",
     r"The specified bucket does not exist \(Service: S3, Status Code: 404, Request ID: [0-9A-F]{16}, "
     r"Extended Request ID: [A-Za-z0-9+/=]+\)"),  # (S3's own form of request ids, as in its answers)
    ({"Resource": "arn:aws:states:::aws-sdk:secretsmanager:createSecret",
      "Parameters": {"Name": "not a valid name", "SecretString": "x"}},
     "SecretsManager.SecretsManagerException",
     r"Invalid name\..* \(Service: SecretsManager, Status Code: 400, Request ID: [0-9a-f-]{36}\)"),
])
def test_a_service_error_is_named_and_described_as_aws_sdk_reports_it(sfn, unique_name, task, error, cause):
    described = run(sfn, unique_name("sdkerror"), {"StartAt": "T", "States": {"T": {"Type": "Task", **task, "End": True}}},
                    {"nothing": None})
    assert described["status"] == "FAILED"
    assert described["error"] == error
    assert re.fullmatch(cause, described["cause"]), described["cause"]
