"""Reserve stock for an order: fails with OutOfStock when the order asks for more than 10."""

import json
import os

import boto3

orders = boto3.resource("dynamodb").Table(os.environ["TABLE"])


class OutOfStock(Exception):
    pass


def handler(event, context):
    if event["quantity"] > 10:
        raise OutOfStock(f"only 10 left of {event['item']}")
    orders.put_item(Item={"id": event["orderId"], "item": event["item"], "quantity": event["quantity"],
                          "status": "RESERVED"})
    return {"reserved": True, "order": json.loads(json.dumps(event))}
