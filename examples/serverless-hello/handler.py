import json


def hello(event, context):
    return {"statusCode": 200, "body": json.dumps({"hello": "serverless"})}


def worker(event, context):
    print("received", len(event["Records"]))
    return {}
