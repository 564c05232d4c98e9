"""Deploy the GraphQL products example: a DynamoDB table, a Lambda function, a Cognito user pool
with an "editors" group, and an AppSync API with VTL and JavaScript resolvers and a subscription,
whose users sign in with the pool (AMAZON_COGNITO_USER_POOLS) and whose public reads take an API key.

    python examples/graphql-products/deploy.py     # against AWS_ENDPOINT_URL or http://localhost:4566

Prints the API id, its API key, the user pool and its app client, and the GraphQL and real-time
URLs as JSON.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
JS = {"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}


def read(*parts: str) -> str:
    with open(os.path.join(HERE, *parts)) as f:
        return f.read()


def clients(endpoint: str, region: str = "us-east-1"):
    kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    return (boto3.client("dynamodb", **kw), boto3.client("lambda", **kw), boto3.client("appsync", **kw),
            boto3.client("cognito-idp", **kw))


def deploy(endpoint: str, suffix: str | None = None, user_pool: tuple[str, str] | None = None) -> dict:
    """`user_pool`: (pool id, app client id) of an existing pool whose users the API should trust
    (one pool for all of an app's APIs); else a pool of its own."""
    suffix = suffix or uuid.uuid4().hex[:8]
    ddb, lam, appsync, idp = clients(endpoint)
    region = idp.meta.region_name
    if user_pool:
        pool, app = user_pool
    else:
        pool = idp.create_user_pool(PoolName=f"products-{suffix}", UsernameAttributes=["email"],
                                    AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
        app = idp.create_user_pool_client(UserPoolId=pool, ClientName="products-web", ExplicitAuthFlows=[
            "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="editors", Description="may change the catalogue")
    table = f"products-{suffix}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                           {"AttributeName": "category", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     GlobalSecondaryIndexes=[{"IndexName": "byCategory", "Projection": {"ProjectionType": "ALL"},
                                              "KeySchema": [{"AttributeName": "category", "KeyType": "HASH"}]}])
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.write(os.path.join(HERE, "functions", "pricing.py"), "pricing.py")
    fn = lam.create_function(FunctionName=f"pricing-{suffix}", Runtime="python3.12", Handler="pricing.handler",
                             Role="arn:aws:iam::000000000000:role/pricing", Code={"ZipFile": code.getvalue()})

    api = appsync.create_graphql_api(
        name=f"products-{suffix}", authenticationType="AMAZON_COGNITO_USER_POOLS",
        userPoolConfig={"userPoolId": pool, "awsRegion": region, "defaultAction": "ALLOW"},
        additionalAuthenticationProviders=[{"authenticationType": "API_KEY"}])["graphqlApi"]
    api_id = api["apiId"]
    appsync.start_schema_creation(apiId=api_id, definition=read("schema.graphql").encode())
    while (status := appsync.get_schema_creation_status(apiId=api_id))["status"] == "PROCESSING":
        time.sleep(0.2)
    if status["status"] != "SUCCESS":
        raise RuntimeError(f"schema creation failed: {status['details']}")
    key = appsync.create_api_key(apiId=api_id, description="graphql-products example")["apiKey"]["id"]

    appsync.create_data_source(apiId=api_id, name="products", type="AMAZON_DYNAMODB",
                               dynamodbConfig={"tableName": table, "awsRegion": "us-east-1"})
    appsync.create_data_source(apiId=api_id, name="pricing", type="AWS_LAMBDA",
                               lambdaConfig={"lambdaFunctionArn": fn["FunctionArn"]})
    response = read("resolvers", "result.vtl.response")
    for field in ("getProduct", "productsByCategory"):
        appsync.create_resolver(apiId=api_id, typeName="Query", fieldName=field, dataSourceName="products",
                                requestMappingTemplate=read("resolvers", f"{field}.vtl.request"),
                                responseMappingTemplate=response)
    for field in ("createProduct", "updatePrice"):
        appsync.create_resolver(apiId=api_id, typeName="Mutation", fieldName=field, dataSourceName="products",
                                runtime=JS, code=read("resolvers", "products.js"))
    # no templates: a direct Lambda resolver
    appsync.create_resolver(apiId=api_id, typeName="Product", fieldName="priceWithTax", dataSourceName="pricing")
    return {"apiId": api_id, "apiKey": key, "userPoolId": pool, "userPoolClientId": app, "graphqlUrl": api["uris"]["GRAPHQL"], "realtimeUrl": api["uris"]["REALTIME"],
            "pathGraphqlUrl": f"{endpoint}/_aws/appsync/{api_id}/graphql",
            "pathRealtimeUrl": endpoint.replace("http", "ws", 1) + f"/_aws/appsync/{api_id}/graphql/realtime"}


if __name__ == "__main__":
    print(json.dumps(deploy(os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")), indent=2))
