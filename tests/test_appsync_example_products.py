"""examples/graphql-products, deployed by deploy.py and as a CloudFormation stack, and exercised:
users of its Cognito pool sign in; queries, mutations (VTL, JS, Lambda) by the "editors" group
only, reads with the API key, and a subscription over the real-time endpoint with a user's token."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import io
import json
import os
import re
import zipfile

import httpx
import jwt
import pytest
import websockets
from botocore.exceptions import ClientError
from cognito_support import signed_up_user

FAST = {"Delay": 0.2, "MaxAttempts": 300}

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "graphql-products")


def _deploy(endpoint):
    spec = importlib.util.spec_from_file_location("example_graphql_products", os.path.join(ROOT, "deploy.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.deploy(endpoint)


def test_graphql_products_example_end_to_end(endpoint):
    exercise(endpoint, _deploy(endpoint))


def exercise(endpoint: str, out: dict) -> None:
    """Sign-ins, queries, mutations (VTL, JS, Lambda) and a subscription on the deployed example."""
    url = out["pathGraphqlUrl"]
    pool, app = out["userPoolId"], out["userPoolClientId"]
    editor = signed_up_user(endpoint, pool, app, "eve@example.com", groups=("editors",))["IdToken"]
    editor_id = jwt.decode(editor, options={"verify_signature": False})["sub"]
    reader = signed_up_user(endpoint, pool, app, "rob@example.com")["IdToken"]

    def gql(text, variables=None, token=editor):
        headers = {"Authorization": token} if token else {"x-api-key": out["apiKey"]}
        r = httpx.post(url, json={"query": text, "variables": variables or {}}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    async def scenario():
        # a signed-in reader subscribes with the ID token (AppSync's header for user pools)
        header = base64.b64encode(json.dumps({"host": "example", "Authorization": reader}).encode()).decode()
        async with websockets.connect(f"{out['pathRealtimeUrl']}?header={header}&payload=e30=",
                                      subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            data = json.dumps({"query": 'subscription { onProductChanged(category: "home") { id name price updatedBy } }'})
            await ws.send(json.dumps({"id": "1", "type": "start", "payload": {
                "data": data, "extensions": {"authorization": {"host": "example", "Authorization": reader}}}}))
            while json.loads(await ws.recv())["type"] != "start_ack":
                pass
            created = await asyncio.to_thread(gql, 'mutation($i: ProductInput!) { createProduct(input: $i) { id name category price updatedBy } }',
                                              {"i": {"name": "Lamp", "category": "home", "price": 20.0}})
            product = created["data"]["createProduct"]
            await asyncio.to_thread(gql, 'mutation { createProduct(input: {name: "Bike", category: "sport", price: 300}) { id category } }')
            while (msg := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] == "ka":
                pass
            assert msg["payload"]["data"]["onProductChanged"] == {"id": product["id"], "name": "Lamp", "price": 20.0,
                                                                  "updatedBy": editor_id}
            return product

    product = asyncio.run(scenario())
    got = gql('query($id: ID!) { getProduct(id: $id) { name priceWithTax fr: priceWithTax(country: "FR") } }', {"id": product["id"]})
    assert got == {"data": {"getProduct": {"name": "Lamp", "priceWithTax": 23.8, "fr": 24.0}}}
    updated = gql('mutation($id: ID!) { updatePrice(id: $id, price: 25) { price updatedAt updatedBy } }', {"id": product["id"]})
    assert updated["data"]["updatePrice"]["price"] == 25.0
    assert updated["data"]["updatePrice"]["updatedBy"] == editor_id
    # readers and the API key read the catalogue, but only editors change it
    page = gql('{ productsByCategory(category: "home") { items { name } nextToken } }', token=reader)
    assert page == {"data": {"productsByCategory": {"items": [{"name": "Lamp"}], "nextToken": None}}}
    assert gql('query($id: ID!) { getProduct(id: $id) { price } }', {"id": product["id"]}, token=None) == {
        "data": {"getProduct": {"price": 25.0}}}
    for token in (reader, None):
        refused = gql('mutation($id: ID!) { updatePrice(id: $id, price: 1) { price } }', {"id": product["id"]}, token=token)
        assert refused["data"] == {"updatePrice": None}
        assert refused["errors"][0]["errorType"] == "Unauthorized"
        assert refused["errors"][0]["message"] == "Not Authorized to access updatePrice on type Mutation"
    anonymous = httpx.post(url, json={"query": "{ getProduct(id: \"x\") { id } }"})
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["errorType"] == "UnauthorizedException"
    missing = gql('mutation { updatePrice(id: "nope", price: 1) { id } }')
    assert missing["errors"][0]["errorType"] == "DynamoDB:ConditionalCheckFailedException"
    negative = gql('mutation { createProduct(input: {name: "x", category: "home", price: -1}) { id } }')
    assert negative["errors"][0] == {**negative["errors"][0], "errorType": "ValidationError",
                                     "message": "A price cannot be negative"}


def _package(client, bucket: str) -> str:
    """What `sam deploy` does before it deploys: the function's code zipped, and the schema, mapping
    templates and resolver code uploaded, the template pointing at them in S3."""
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.write(os.path.join(ROOT, "functions", "pricing.py"), "pricing.py")
    s3.put_object(Bucket=bucket, Key="functions.zip", Body=buffer.getvalue())
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = f.read().replace("CodeUri: functions/", f"CodeUri: s3://{bucket}/functions.zip")

    def upload(match: re.Match) -> str:
        with open(os.path.join(ROOT, match.group(2)), "rb") as f:
            s3.put_object(Bucket=bucket, Key=match.group(2), Body=f.read())
        return f"{match.group(1)}S3Location: s3://{bucket}/{match.group(2)}"

    return re.sub(r"(\w*)S3Location: (\S+)", upload, template)


def test_graphql_products_template_deployed_as_a_stack(endpoint, client, unique_name):
    cf = client("cloudformation")
    name = unique_name("products")
    change_set = cf.create_change_set(StackName=name, ChangeSetName="deploy", ChangeSetType="CREATE",
                                      TemplateBody=_package(client, unique_name("products-artifacts")),
                                      Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])["Id"]
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig=FAST)
    cf.execute_change_set(ChangeSetName=change_set)
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=FAST)
    out = {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    api_id = out["ApiId"]
    assert out["GraphQLUrl"].startswith(f"http://{api_id}.appsync-api.us-east-1.") and out["ApiKey"].startswith("da2-")
    exercise(endpoint, {"apiKey": out["ApiKey"], "userPoolId": out["UserPoolId"], "userPoolClientId": out["UserPoolClientId"],
                        "pathGraphqlUrl": f"{endpoint}/_aws/appsync/{api_id}/graphql",
                        "pathRealtimeUrl": endpoint.replace("http", "ws", 1) + f"/_aws/appsync/{api_id}/graphql/realtime"})
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(ClientError):
        client("appsync").get_graphql_api(apiId=api_id)
