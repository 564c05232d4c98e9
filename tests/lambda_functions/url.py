import json


def handler(event, context):
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-custom": "yes"},
        "body": json.dumps({"method": event["requestContext"]["http"]["method"], "path": event["rawPath"],
                            "query": event.get("queryStringParameters"), "body": event.get("body"),
                            "version": event["version"]}),
    }
