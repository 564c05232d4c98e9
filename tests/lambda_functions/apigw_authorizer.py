CALLS = {"n": 0}


def handler(event, context):
    CALLS["n"] += 1
    if event["type"] == "TOKEN":
        token = event["authorizationToken"]
    else:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        token = headers.get("x-token", "") + (event.get("queryStringParameters") or {}).get("who", "")
    if token.endswith("fail"):
        raise Exception("Unauthorized")
    if token.endswith("broken"):
        return {"nope": True}
    effect = "Deny" if token.endswith("deny") else "Allow"
    base = event["methodArn"].split("/")[0]
    resource = base + "/*/GET/only-this" if token.endswith("narrow") else base + "/*"
    out = {"principalId": "user-" + token,
           "policyDocument": {"Version": "2012-10-17",
                              "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
           "context": {"tier": "gold", "calls": CALLS["n"], "vip": True}}
    if token.startswith("key-"):
        out["usageIdentifierKey"] = token[len("key-"):]
    return out
