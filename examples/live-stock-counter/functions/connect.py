"""$connect: remember the connection and the product page it watches."""

import os
import time

import boto3

table = boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])


def handler(event, context):
    ctx = event["requestContext"]
    page = (event.get("queryStringParameters") or {}).get("page")
    if not page:
        return {"statusCode": 400, "body": "page query parameter required"}
    table.put_item(Item={
        "connectionId": ctx["connectionId"],
        "page": page,
        # where the push function reaches this connection (as AWS's docs build it)
        "endpoint": f"https://{ctx['domainName']}/{ctx['stage']}",
        "connectedAt": int(time.time()),
    })
    return {"statusCode": 200}
