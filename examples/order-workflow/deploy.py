"""Deploy the order workflow: POST /orders on an HTTP API starts a Step Functions execution
directly (the StepFunctions-StartExecution integration, no Lambda in between). The workflow
reserves stock in DynamoDB, waits for a human to approve through a task token sent to an SQS
queue, and records the decision. A second state machine prices a CSV of order lines in S3 with a
Distributed Map over a Lambda, 100 rows per batch.

    python examples/order-workflow/deploy.py     # against AWS_ENDPOINT_URL or http://localhost:4566
"""

from __future__ import annotations

import io
import json
import os
import sys
import uuid
import zipfile

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(os.path.join(HERE, "functions", f"{name}.py"), f"{name}.py")
    return buffer.getvalue()


def order_workflow(reserve_arn: str, notify_arn: str, table: str) -> dict:
    return {
        "Comment": "Reserve, ask a human, record the decision",
        "StartAt": "Reserve",
        "States": {
            "Reserve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": reserve_arn, "Payload.$": "$"},
                        "ResultSelector": {"reserved.$": "$.Payload.reserved"}, "ResultPath": "$.reservation",
                        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}],
                        "Catch": [{"ErrorEquals": ["OutOfStock"], "ResultPath": "$.error", "Next": "Rejected"}],
                        "Next": "Approve"},
            "Approve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {"FunctionName": notify_arn,
                                       "Payload": {"token.$": "$$.Task.Token", "order.$": "$"}},
                        "ResultPath": "$.approval", "TimeoutSeconds": 86400, "Next": "Decided"},
            "Decided": {"Type": "Choice", "Choices": [
                {"Variable": "$.approval.approved", "BooleanEquals": True, "Next": "Confirm"}],
                "Default": "Cancel"},
            "Confirm": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                        "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.orderId"}},
                                       "UpdateExpression": "SET #s = :s",
                                       "ExpressionAttributeNames": {"#s": "status"},
                                       "ExpressionAttributeValues": {":s": {"S": "CONFIRMED"}}},
                        "ResultPath": None, "End": True},
            "Cancel": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                       "Parameters": {"TableName": table, "Key": {"id": {"S.$": "$.orderId"}},
                                      "UpdateExpression": "SET #s = :s",
                                      "ExpressionAttributeNames": {"#s": "status"},
                                      "ExpressionAttributeValues": {":s": {"S": "CANCELLED"}}},
                       "ResultPath": None, "Next": "Rejected"},
            "Rejected": {"Type": "Fail", "Error": "OrderRejected", "Cause": "The order was not approved"},
        },
    }


def pricing_workflow(price_arn: str, bucket: str) -> dict:
    return {
        "StartAt": "PriceLines",
        "States": {
            "PriceLines": {
                "Type": "Map", "MaxConcurrency": 10,
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                               "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                               "Parameters": {"Bucket": bucket, "Key.$": "$.key"}},
                "ItemBatcher": {"MaxItemsPerBatch": 100},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                                  "StartAt": "Price",
                                  "States": {"Price": {"Type": "Task", "Resource": price_arn, "End": True}}},
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                                 "Parameters": {"Bucket": bucket, "Prefix": "pricing-results"}},
                "End": True},
        },
    }


def deploy(endpoint: str, suffix: str | None = None) -> dict:
    suffix = suffix or uuid.uuid4().hex[:8]
    kw = dict(endpoint_url=endpoint, region_name="us-east-1",
              aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    sqs, ddb, lam, s3, apigw, sts = (boto3.client(s, **kw) for s in
                                     ("sqs", "dynamodb", "lambda", "s3", "apigatewayv2", "sts"))
    sfn = boto3.client("stepfunctions", config=Config(inject_host_prefix=False), **kw)
    account = sts.get_caller_identity()["Account"]
    role = f"arn:aws:iam::{account}:role/order-workflow"
    table = f"orders-{suffix}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    approvals = sqs.create_queue(QueueName=f"approvals-{suffix}")["QueueUrl"]

    def function(name: str, **env) -> str:
        return lam.create_function(FunctionName=f"{name}-{suffix}", Runtime="python3.12", Handler=f"{name}.handler",
                                   Role=role, Code={"ZipFile": _zip(name)}, Timeout=30,
                                   Environment={"Variables": env})["FunctionArn"]

    reserve = function("reserve", TABLE=table)
    notify = function("notify", APPROVALS_URL=approvals)
    price = function("price_rows")
    orders = sfn.create_state_machine(name=f"orders-{suffix}", roleArn=role,
                                      definition=json.dumps(order_workflow(reserve, notify, table)))["stateMachineArn"]
    bucket = f"order-lines-{suffix}"
    s3.create_bucket(Bucket=bucket)
    pricing = sfn.create_state_machine(name=f"pricing-{suffix}", roleArn=role,
                                       definition=json.dumps(pricing_workflow(price, bucket)))["stateMachineArn"]

    api = apigw.create_api(Name=f"orders-{suffix}", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationSubtype="StepFunctions-StartExecution",
        PayloadFormatVersion="1.0", CredentialsArn=role,
        RequestParameters={"StateMachineArn": orders, "Input": "$request.body"})
    apigw.create_route(ApiId=api["ApiId"], RouteKey="POST /orders", Target=f"integrations/{integration['IntegrationId']}")
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    # the path form works on any machine; api["ApiEndpoint"] needs *.localhost.localstack.cloud to resolve
    return {"url": f"{endpoint}/_aws/execute-api/{api['ApiId']}/orders", "apiEndpoint": api["ApiEndpoint"],
            "ordersMachine": orders, "pricingMachine": pricing,
            "table": table, "approvalsUrl": approvals, "bucket": bucket}


if __name__ == "__main__":
    out = deploy(os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"))
    json.dump(out, sys.stdout, indent=2)
    print()
