"""The CRUD function behind the REST API: items in DynamoDB, one Lambda proxy integration.

Creating, replacing and deleting need a signed-in user (the API's Cognito authorizer checked the
ID token; its claims arrive in requestContext.authorizer.claims): an item belongs to the user who
created it, and only that user may change or delete it."""

import json
import os
import uuid
from decimal import Decimal

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _answer(status, body=None):
    return {"statusCode": status, "headers": {"Content-Type": "application/json",
                                              "Access-Control-Allow-Origin": "*"},
            "body": json.dumps(body, default=_number) if body is not None else ""}


def _number(value):
    if isinstance(value, Decimal):  # DynamoDB numbers come back as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(type(value).__name__)


def _claims(event) -> dict:
    return ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}


def handler(event, context):
    method = event["httpMethod"]
    item_id = (event.get("pathParameters") or {}).get("id")
    claims = _claims(event)
    if method == "GET" and item_id is None:
        return _answer(200, {"items": TABLE.scan().get("Items", [])})
    if method == "POST":
        item = json.loads(event["body"], parse_float=Decimal)
        item.update(id=str(uuid.uuid4()), owner=claims["sub"], ownerEmail=claims.get("email", ""))
        TABLE.put_item(Item=item)
        return _answer(201, item)
    if method == "GET":
        item = TABLE.get_item(Key={"id": item_id}).get("Item")
        return _answer(200, item) if item else _answer(404, {"message": "not found"})
    existing = TABLE.get_item(Key={"id": item_id}).get("Item")
    if existing is not None and existing.get("owner") != claims["sub"]:
        return _answer(403, {"message": "only the user who created an item can change it"})
    if method == "PUT":
        item = {**json.loads(event["body"], parse_float=Decimal), "id": item_id, "owner": claims["sub"],
                "ownerEmail": claims.get("email", "")}
        TABLE.put_item(Item=item)
        return _answer(200, item)
    if method == "DELETE":
        TABLE.delete_item(Key={"id": item_id})
        return _answer(204)
    return _answer(405, {"message": "method not allowed"})
