"""Drains the webhook queue (an SQS event source mapping, batches of up to 10) into DynamoDB.

A message that cannot be stored is reported back as a batch item failure: only it returns to
the queue, and after the queue's maxReceiveCount it moves to the dead-letter queue."""

import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            body = json.loads(record["body"])
            source = record.get("messageAttributes", {}).get("source", {}).get("stringValue", "unknown")
            table.put_item(Item={
                "id": record["messageId"],
                "source": source,
                "receivedAt": int(record["attributes"]["SentTimestamp"]),
                "payload": json.dumps(body),
            })
        except Exception as error:  # a poison message: report it alone
            print(f"could not store {record['messageId']}: {error}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
