"""Deploy the REST API example: a DynamoDB table, a Lambda function, a Cognito user pool, and an
API Gateway REST API with JSON-Schema request validation, an API key in a usage plan (throttle
and quota), and a Cognito user pool authorizer on the methods that change items. The OPTIONS
methods answer browsers' CORS preflights, so a web app on another origin can call it.

    python examples/rest-api/deploy.py          # against AWS_ENDPOINT_URL or http://localhost:4566

Prints the invoke URL, the API key, the user pool and its app client as JSON.
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


CORS_HEADERS = {"Access-Control-Allow-Origin": "'*'", "Access-Control-Allow-Methods": "'GET,POST,PUT,DELETE,OPTIONS'",
                "Access-Control-Allow-Headers": "'Authorization,Content-Type,X-Api-Key'"}


def clients(endpoint: str, region: str = "us-east-1"):
    kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    return (boto3.client("dynamodb", **kw), boto3.client("lambda", **kw), boto3.client("apigateway", **kw),
            boto3.client("cognito-idp", **kw))


def user_pool(idp, suffix: str) -> tuple[dict, str]:
    """Users sign up with their email address (confirmed by a code) and sign in with SRP, as
    Amplify does, or with their password."""
    pool = idp.create_user_pool(PoolName=f"items-{suffix}", UsernameAttributes=["email"],
                                AutoVerifiedAttributes=["email"])["UserPool"]
    app = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="items-web", ExplicitAuthFlows=[
        "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    return pool, app["ClientId"]


def cors_preflight(apigw, api_id: str, resource: str) -> None:
    """The OPTIONS method the console's "Enable CORS" makes: a MOCK answer, no key, no sign-in."""
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod="OPTIONS", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api_id, resourceId=resource, httpMethod="OPTIONS", statusCode="200",
                              responseParameters={f"method.response.header.{h}": False for h in CORS_HEADERS})
    apigw.put_integration_response(restApiId=api_id, resourceId=resource, httpMethod="OPTIONS", statusCode="200",
                                   responseParameters={f"method.response.header.{h}": v for h, v in CORS_HEADERS.items()},
                                   responseTemplates={"application/json": ""})


def deploy(endpoint: str, suffix: str | None = None) -> dict:
    suffix = suffix or uuid.uuid4().hex[:8]
    ddb, lam, apigw, idp = clients(endpoint)
    pool, app = user_pool(idp, suffix)
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
    # signed-in users only, for the methods that change items: an ID token of the pool in Authorization
    authorizer = apigw.create_authorizer(restApiId=api_id, name="users", type="COGNITO_USER_POOLS",
                                         providerARNs=[pool["Arn"]],
                                         identitySource="method.request.header.Authorization")["id"]
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    for resource, method, validated, signed_in in ((items, "GET", False, False), (items, "POST", True, True),
                                                   (item, "GET", False, False), (item, "PUT", True, True),
                                                   (item, "DELETE", False, True)):
        extra = {"requestValidatorId": validator, "requestModels": {"application/json": "Item"}} if validated else {}
        if signed_in:
            extra.update(authorizationType="COGNITO_USER_POOLS", authorizerId=authorizer)
        else:
            extra.update(authorizationType="NONE")
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, apiKeyRequired=True, **extra)
        apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
    for resource in (items, item):
        cors_preflight(apigw, api_id, resource)
    for response in ("DEFAULT_4XX", "DEFAULT_5XX"):  # a browser may read API Gateway's own errors too (401, 403, 429)
        apigw.put_gateway_response(restApiId=api_id, responseType=response, responseParameters={
            "gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
    apigw.create_deployment(restApiId=api_id, stageName="prod")

    key = apigw.create_api_key(name=f"items-{suffix}", enabled=True)
    plan = apigw.create_usage_plan(name=f"items-{suffix}", apiStages=[{"apiId": api_id, "stage": "prod"}],
                                   throttle={"rateLimit": 50, "burstLimit": 20},
                                   quota={"limit": 10000, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return {"url": f"{endpoint}/_aws/execute-api/{api_id}/prod", "apiId": api_id, "apiKey": key["value"],
            "usagePlanId": plan["id"], "apiKeyId": key["id"], "table": table, "userPoolId": pool["Id"],
            "userPoolClientId": app}


if __name__ == "__main__":
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
    json.dump(deploy(endpoint), sys.stdout, indent=2)
    print()
