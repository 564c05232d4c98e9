"""$default: a client asks for the current count ({"action": "current"} or anything else)."""

import json
import os

import boto3

connections = boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])
stock = boto3.resource("dynamodb").Table(os.environ["STOCK_TABLE"])


def handler(event, context):
    item = connections.get_item(Key={"connectionId": event["requestContext"]["connectionId"]}).get("Item")
    page = item["page"] if item else None
    row = stock.get_item(Key={"productId": page}).get("Item") if page else None
    count = int(row["stock"]) if row else None
    return {"statusCode": 200, "body": json.dumps({"productId": page, "stock": count})}
