"""Deploy the REST API example: a DynamoDB table, a Lambda function, and an API Gateway REST API
with JSON-Schema request validation and an API key in a usage plan (throttle and quota).

    python examples/rest-api/deploy.py          # against AWS_ENDPOINT_URL or http://localhost:4566

Prints the invoke URL and the API key as JSON.
"""

from __future__ import annotations

import io
import json
import os
import sys
import uuid
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
ITEM_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Item",
    "type": "object",
    "required": ["name", "price"],
    "properties": {"name": {"type": "string", "minLength": 1}, "price": {"type": "number", "minimum": 0}},
    "additionalProperties": False,
}


def clients(endpoint: str, region: str = "us-east-1"):
    kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    return (boto3.client("dynamodb", **kw), boto3.client("lambda", **kw), boto3.client("apigateway", **kw))


def deploy(endpoint: str, suffix: str | None = None) -> dict:
    suffix = suffix or uuid.uuid4().hex[:8]
    ddb, lam, apigw = clients(endpoint)
    table = f"items-{suffix}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.write(os.path.join(HERE, "src", "handler.py"), "handler.py")
    fn = lam.create_function(FunctionName=f"items-{suffix}", Runtime="python3.12", Handler="handler.handler",
                             Role="arn:aws:iam::000000000000:role/items", Code={"ZipFile": code.getvalue()},
                             Environment={"Variables": {"TABLE_NAME": table}}, Timeout=10)
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn['FunctionArn']}/invocations"

    api = apigw.create_rest_api(name=f"items-{suffix}")
    api_id, root = api["id"], api["rootResourceId"]
    apigw.create_model(restApiId=api_id, name="Item", contentType="application/json", schema=json.dumps(ITEM_SCHEMA))
    validator = apigw.create_request_validator(restApiId=api_id, name="body", validateRequestBody=True)["id"]
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    for resource, method, validated in ((items, "GET", False), (items, "POST", True), (item, "GET", False),
                                        (item, "PUT", True), (item, "DELETE", False)):
        extra = {"requestValidatorId": validator, "requestModels": {"application/json": "Item"}} if validated else {}
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE",
                         apiKeyRequired=True, **extra)
        apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
    apigw.create_deployment(restApiId=api_id, stageName="prod")

    key = apigw.create_api_key(name=f"items-{suffix}", enabled=True)
    plan = apigw.create_usage_plan(name=f"items-{suffix}", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                   throttle={"rateLimit": 50, "burstLimit": 20},
                                   quota={"limit": 10000, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"url": f"{endpoint}/_aws/execute-api/{api_id}/prod", "apiId": api_id, "apiKey": key["value"],
            "usagePlanId": plan["id"], "apiKeyId": key["id"], "table": table}


if __name__ == "__main__":
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
    json.dump(deploy(endpoint), sys.stdout, indent=2)
    print()
