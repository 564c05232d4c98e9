import base64
import json
import time


def handler(event, context):
    if "httpMethod" in event:  # Lambda proxy (payload 1.0)
        q = event.get("queryStringParameters") or {}
        mode = q.get("mode")
        if mode == "echo":  # answer the request's body as the function's result
            return json.loads(event["body"])
        if mode == "malformed":
            return {"hello": "world"}
        if mode == "error":
            raise Exception("boom")
        if mode == "sleep":
            time.sleep(float(q.get("s", "2")))
        if mode == "binary":
            return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                    "body": base64.b64encode(b"\x89PNG\x00\xff").decode(), "isBase64Encoded": True}
        return {"statusCode": int(q.get("status", 200)),
                "headers": {"Content-Type": "application/json", "X-Custom": "yes"},
                "multiValueHeaders": {"X-Multi": ["a", "b"]},
                "body": json.dumps(event)}
    if event.get("fail"):
        raise Exception(event["fail"])
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"received": event}
