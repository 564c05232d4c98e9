"""Ask a human to approve an order: the task token goes to the approvals queue with the order."""

import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["APPROVALS_URL"],
                     MessageBody=json.dumps({"token": event["token"], "order": event["order"]}))
    return {"asked": True}
