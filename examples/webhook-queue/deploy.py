"""Deploy the webhook example: POST /webhook goes straight into an SQS queue through a VTL
mapping template (no Lambda); the caller gets 202 at once. A consumer function, fed by an SQS
event source mapping, stores each webhook in DynamoDB; poison messages go to a dead-letter queue.

    python examples/webhook-queue/deploy.py     # against AWS_ENDPOINT_URL or http://localhost:4566
"""

from __future__ import annotations

import io
import json
import os
import sys
import uuid
import zipfile

import boto3

# The body of the SQS SendMessage call, form-encoded: the webhook's JSON plus who sent it.
REQUEST_TEMPLATE = """Action=SendMessage&MessageBody=$util.urlEncode($input.body)\
&MessageAttribute.1.Name=source&MessageAttribute.1.Value.DataType=String\
&MessageAttribute.1.Value.StringValue=$util.urlEncode($input.params('X-Webhook-Source'))"""

RESPONSE_TEMPLATE = '{"accepted": true, "requestId": "$context.requestId"}'


HERE = os.path.dirname(os.path.abspath(__file__))


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(os.path.join(HERE, "functions", f"{name}.py"), f"{name}.py")
    return buffer.getvalue()


def deploy_consumer(kw: dict, account: str, queue_url: str, suffix: str) -> dict:
    """SQS -> Lambda -> DynamoDB: the consumer function, its table, and the mapping that feeds it
    (batches of 10, partial batch failures; after 2 receives a message goes to the DLQ)."""
    sqs, ddb, lam = (boto3.client(s, **kw) for s in ("sqs", "dynamodb", "lambda"))
    table = f"webhooks-{suffix}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    dlq_url = sqs.create_queue(QueueName=f"webhooks-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={
        "VisibilityTimeout": "5",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    function = lam.create_function(
        FunctionName=f"webhook-consumer-{suffix}", Runtime="python3.12", Handler="consumer.handler",
        Role=f"arn:aws:iam::{account}:role/webhook-consumer", Code={"ZipFile": _zip("consumer")}, Timeout=5,
        Environment={"Variables": {"TABLE": table}})["FunctionArn"]
    lam.create_event_source_mapping(FunctionName=function, EventSourceArn=queue_arn, BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    return {"table": table, "dlqUrl": dlq_url, "consumer": function}


def deploy(endpoint: str, suffix: str | None = None, consumer: bool = True) -> dict:
    suffix = suffix or uuid.uuid4().hex[:8]
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    sqs, apigw, sts = boto3.client("sqs", **kw), boto3.client("apigateway", **kw), boto3.client("sts", **kw)
    account = sts.get_caller_identity()["Account"]
    queue = f"webhooks-{suffix}"
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]

    api = apigw.create_rest_api(name=f"webhooks-{suffix}")
    api_id = api["id"]
    hook = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="webhook")["id"]
    apigw.put_method(restApiId=api_id, resourceId=hook, httpMethod="POST", authorizationType="NONE",
                     requestParameters={"method.request.header.X-Webhook-Source": False})
    apigw.put_integration(
        restApiId=api_id, resourceId=hook, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:sqs:path/{account}/{queue}",
        credentials=f"arn:aws:iam::{account}:role/apigateway-sqs",
        requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
        requestTemplates={"application/json": REQUEST_TEMPLATE},
        passthroughBehavior="NEVER",
    )
    apigw.put_method_response(restApiId=api_id, resourceId=hook, httpMethod="POST", statusCode="202")
    apigw.put_integration_response(restApiId=api_id, resourceId=hook, httpMethod="POST", statusCode="202",
                                   selectionPattern="2\\d\\d", responseTemplates={"application/json": RESPONSE_TEMPLATE})
    apigw.put_method_response(restApiId=api_id, resourceId=hook, httpMethod="POST", statusCode="500")
    apigw.put_integration_response(restApiId=api_id, resourceId=hook, httpMethod="POST", statusCode="500",
                                   responseTemplates={"application/json": '{"accepted": false}'})
    apigw.create_deployment(restApiId=api_id, stageName="live")
    out = {"url": f"{endpoint}/_aws/execute-api/{api_id}/live/webhook", "queueUrl": queue_url, "apiId": api_id}
    if consumer:
        out.update(deploy_consumer(kw, account, queue_url, suffix))
    return out


if __name__ == "__main__":
    json.dump(deploy(os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")), sys.stdout, indent=2)
    print()
