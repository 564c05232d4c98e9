"""Deploy the live stock counter to overcast (or AWS): two DynamoDB tables, four functions, a
WebSocket API, and the stream mapping that pushes stock changes.

    python deploy.py                 # AWS_ENDPOINT_URL, default http://localhost:4566
"""

from __future__ import annotations

import io
import os
import time
import uuid
import zipfile

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
ROLE = "arn:aws:iam::000000000000:role/live-stock-counter"


def _client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(os.path.join(HERE, "functions", f"{name}.py"), f"{name}.py")
    return buffer.getvalue()


def deploy(endpoint: str | None = None, suffix: str | None = None) -> dict:
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566")
    suffix = suffix or uuid.uuid4().hex[:6]
    ddb, lam, gw = (_client(s, endpoint) for s in ("dynamodb", "lambda", "apigatewayv2"))
    connections_table, stock_table = f"stock-connections-{suffix}", f"stock-{suffix}"
    ddb.create_table(
        TableName=connections_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "connectionId", "AttributeType": "S"},
                              {"AttributeName": "page", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "page-index", "KeySchema": [{"AttributeName": "page", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])
    stream_arn = ddb.create_table(
        TableName=stock_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "productId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "productId", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]["LatestStreamArn"]
    environment = {"Variables": {"CONNECTIONS_TABLE": connections_table, "STOCK_TABLE": stock_table}}
    arns = {}
    for name in ("connect", "disconnect", "current", "push"):
        arns[name] = lam.create_function(
            FunctionName=f"stock-{name}-{suffix}", Runtime="python3.12", Handler=f"{name}.handler", Role=ROLE,
            Code={"ZipFile": _zip(name)}, Timeout=30, Environment=environment)["FunctionArn"]
    api = gw.create_api(Name=f"live-stock-counter-{suffix}", ProtocolType="WEBSOCKET",
                        RouteSelectionExpression="$request.body.action")
    api_id = api["ApiId"]
    for route_key, function in (("$connect", "connect"), ("$disconnect", "disconnect"), ("$default", "current")):
        integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arns[function])
        route = gw.create_route(ApiId=api_id, RouteKey=route_key, Target="integrations/" + integration["IntegrationId"],
                                **({"RouteResponseSelectionExpression": "$default"} if route_key == "$default" else {}))
        if route_key == "$default":
            gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
    streaming = True
    try:
        lam.create_event_source_mapping(FunctionName=arns["push"], EventSourceArn=stream_arn,
                                        StartingPosition="LATEST", BatchSize=10)
    except Exception as e:  # no stream mappings: push by invoking the function directly
        print(f"(no DynamoDB stream mapping: {e}; invoke {arns['push']} directly to push)")
        streaming = False
    return {"api_id": api_id, "url": f"{api['ApiEndpoint']}/prod", "stock_table": stock_table,
            "connections_table": connections_table, "push_function": arns["push"], "streaming": streaming,
            "endpoint": endpoint, "path_url": f"{endpoint.replace('http', 'ws', 1)}/_aws/execute-api/{api_id}/prod"}


def set_stock(endpoint: str, stock_table: str, product: str, count: int) -> None:
    _client("dynamodb", endpoint).put_item(TableName=stock_table, Item={"productId": {"S": product},
                                                                         "stock": {"N": str(count)}})


if __name__ == "__main__":
    started = time.time()
    info = deploy()
    print(f"deployed in {time.time() - started:.1f} s")
    for key, value in info.items():
        print(f"  {key}: {value}")
    print(f"\nopen index.html?url={info['path_url']}&page=product-1 and run:\n"
          f"  python -c \"import deploy; deploy.set_stock('{info['endpoint']}', '{info['stock_table']}', 'product-1', 5)\"")
