"""Deploy the webhook example: POST /webhook goes straight into an SQS queue through a VTL
mapping template (no Lambda); the caller gets 202 at once, and workers read the queue later.

    python examples/webhook-queue/deploy.py     # against AWS_ENDPOINT_URL or http://localhost:4566
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import boto3

# The body of the SQS SendMessage call, form-encoded: the webhook's JSON plus who sent it.
REQUEST_TEMPLATE = """Action=SendMessage&MessageBody=$util.urlEncode($input.body)\
&MessageAttribute.1.Name=source&MessageAttribute.1.Value.DataType=String\
&MessageAttribute.1.Value.StringValue=$util.urlEncode($input.params('X-Webhook-Source'))"""

RESPONSE_TEMPLATE = '{"accepted": true, "requestId": "$context.requestId"}'


def deploy(endpoint: str, suffix: str | None = None) -> dict:
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
    return {"url": f"{endpoint}/_aws/execute-api/{api_id}/live/webhook", "queueUrl": queue_url, "apiId": api_id}


if __name__ == "__main__":
    json.dump(deploy(os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")), sys.stdout, indent=2)
    print()
