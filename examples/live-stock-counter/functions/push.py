"""Push new stock counts to every connection watching that product page.

Triggered by the stock table's DynamoDB stream (an event source mapping), or invoked directly
with {"productId": "...", "stock": 3}."""

import json
import os

import boto3
from boto3.dynamodb.conditions import Key

connections = boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])
_clients = {}


def _updates(event):
    if "Records" in event:
        for record in event["Records"]:
            image = record.get("dynamodb", {}).get("NewImage")
            if record.get("eventName") in ("INSERT", "MODIFY") and image:
                yield image["productId"]["S"], int(image["stock"]["N"])
    elif "productId" in event:
        yield event["productId"], int(event["stock"])


def handler(event, context):
    sent = 0
    for product, count in _updates(event):
        message = json.dumps({"productId": product, "stock": count}).encode()
        watchers = connections.query(IndexName="page-index", KeyConditionExpression=Key("page").eq(product))["Items"]
        for item in watchers:
            endpoint = item["endpoint"]
            client = _clients.get(endpoint) or _clients.setdefault(
                endpoint, boto3.client("apigatewaymanagementapi", endpoint_url=endpoint))
            try:
                client.post_to_connection(ConnectionId=item["connectionId"], Data=message)
                sent += 1
            except client.exceptions.GoneException:
                connections.delete_item(Key={"connectionId": item["connectionId"]})
    return {"sent": sent}
