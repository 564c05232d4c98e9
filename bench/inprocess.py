"""The request path in one process, no sockets: the ASGI app called with synthetic scopes, for
deterministic instruction counts of a change too small to see through a shared machine's noise.

    .venv/bin/python bench/inprocess.py OP [count] [--profile] [--bytecodes] [--tracing off] [--otlp http://collector:4318]
    # OP: sqs-send | sqs-receive | ddb-get | ddb-put | ddb-query | sns-publish (10 SQS subscriptions)
    #     | apigw-mock (a REST API's MOCK method) | apigw-mock-logged (its stage writing an access log)
    #     | s3-put (1 KiB) | lambda-invoke (a warm Python function; its sandbox is another process)
    #     | ssm-get (GetParameter of 100 String parameters)
    #     | cognito-password | cognito-srp | cognito-jwt
    #     | appsync-query (a GraphQL query, one field resolved by a NONE data source's VTL templates)
    #     | appsync-query-logged (the same with logConfig fieldLogLevel ALL: CloudWatch Logs written)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/inprocess.py OP N

Instructions per request: run callgrind twice with different N (e.g. 100 and 300) and divide the
difference of the "Collected" totals by the difference of N: start-up and set-up cancel out.
--bytecodes: the Python bytecodes the measured requests executed, counted per function (sys.settrace's
opcode events), printed as JSON on stdout: exact, and in seconds rather than valgrind's minutes
(bench/trace_cost.py --bytecodes compares tracing on and off with it).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from urllib.parse import quote

import orjson

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import srp_client  # noqa: E402

from overcast.config import Config  # noqa: E402
from overcast.server import OvercastApp  # noqa: E402

AUTH = b"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"


def scope(service: str, target: str) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 4566),
        "headers": [
            (b"host", b"localhost:4566"),
            (b"user-agent", b"Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux lang/python#3.12"),
            (b"accept-encoding", b"identity"),
            (b"content-type", b"application/x-amz-json-1.0"),
            (b"x-amz-target", target.encode()),
            (b"x-amz-date", b"20260101T000000Z"),
            (b"authorization", AUTH.replace(b"{service}", service.encode())),
            (b"amz-sdk-invocation-id", b"2b7f1f2e-0000-4000-8000-000000000000"),
            (b"amz-sdk-request", b"attempt=1; max=1"),
        ],
    }


def _serve(app, s, receive, send):
    """The request served in an asyncio task of its own, in a copy of this context, as uvicorn serves
    each request (what tracing's front door relies on: overcast.tracing.open_api's `own_task`)."""
    return asyncio.get_running_loop().create_task(app(s, receive, send))


async def call(app, service: str, target: str, body: bytes) -> tuple[int, bytes]:
    s = scope(service, target)
    s["headers"] = s["headers"] + [(b"content-length", str(len(body)).encode())]
    if service in ("cognito-idp", "ssm"):  # awsJson 1.1
        s["headers"] = [(k, b"application/x-amz-json-1.1" if k == b"content-type" else v) for k, v in s["headers"]]
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await _serve(app, s, receive, send)
    return sent[0]["status"], sent[1]["body"]


async def query(app, service: str, body: bytes) -> tuple[int, bytes]:
    """An awsQuery call (form-encoded POST)."""
    s = scope(service, "")
    s["headers"] = [(k, v) for k, v in s["headers"] if k not in (b"x-amz-target", b"content-type")] + [
        (b"content-type", b"application/x-www-form-urlencoded; charset=utf-8"),
        (b"content-length", str(len(body)).encode())]
    return await _exchange(app, s, body)


async def rest(app, service: str, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    """A REST call (S3: path-style), the body in one message as uvicorn hands a small one over."""
    s = scope(service, "")
    s.update(method=method, path=path, raw_path=path.encode())
    s["headers"] = [(k, v) for k, v in s["headers"] if k not in (b"x-amz-target", b"content-type")] + [
        (b"content-type", b"application/octet-stream"), (b"content-length", str(len(body)).encode())]
    return await _exchange(app, s, body)


async def graphql(app, path: str, body: bytes, api_key: str) -> tuple[int, bytes]:
    """A GraphQL POST to an AppSync API's path-form URL, with its API key."""
    s = scope("appsync", "")
    s.update(path=path, raw_path=path.encode())
    s["headers"] = [(b"host", b"localhost:4566"), (b"content-type", b"application/json"),
                    (b"x-api-key", api_key.encode()), (b"content-length", str(len(body)).encode())]
    return await _exchange(app, s, body)


async def execute_api(app, path: str) -> tuple[int, bytes]:
    """A GET to a REST API's stage at its path-form URL (unsigned, as a browser or curl sends it)."""
    s = scope("apigateway", "")
    s.update(method="GET", path=path, raw_path=path.encode())
    s["headers"] = [(b"host", b"localhost:4566"), (b"content-length", b"0")]
    return await _exchange(app, s, b"")


async def _exchange(app, s: dict, body: bytes) -> tuple[int, bytes]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await _serve(app, s, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def prepare(op: str, count: int, tracing: bool = True):
    """The app with the op's resources made, warmed up and the trace ring full: (app, request, send),
    `request(n)` the n-th request's (service, target, body) and `send` what serves one."""
    data_dir = tempfile.mkdtemp(prefix="overcast-inprocess-")
    otlp_endpoint = sys.argv[sys.argv.index("--otlp") + 1] if "--otlp" in sys.argv else ""
    app = OvercastApp(Config(data_dir=data_dir, ephemeral=True, tracing=tracing, otlp_endpoint=otlp_endpoint))
    app.open()
    if otlp_endpoint:  # spans exported to an OTLP/HTTP collector at that address, as `overcast start` does
        from overcast.tracing import otlp

        otlp.start(app.config)
    ddb = "DynamoDB_20120810."
    status, body = await call(app, "sqs", "AmazonSQS.CreateQueue", b'{"QueueName":"bench"}')
    queue_url = orjson.loads(body)["QueueUrl"]
    await call(app, "dynamodb", ddb + "CreateTable", orjson.dumps({
        "TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]}))
    for start in range(0, 1000, 25):
        await call(app, "dynamodb", ddb + "BatchWriteItem", orjson.dumps({"RequestItems": {"bench": [
            {"PutRequest": {"Item": {"pk": {"S": f"user-{i % 10}"}, "sk": {"N": str(i)},
                                     "name": {"S": "a short order event"}, "total": {"N": "42.5"}}}}
            for i in range(start, start + 25)]}}))

    topic_arn = None
    if op == "sns-publish":
        # the same signing key every run (made once): generating one costs a random number of
        # instructions (its prime search), which would swamp the per-request difference
        import shutil

        keys = os.path.join(tempfile.gettempdir(), "overcast-inprocess-sns")
        if not os.path.exists(os.path.join(keys, "signing-key.pem")):
            from overcast.services.sns.signing import Signer

            Signer.in_directory(keys)
        shutil.copytree(keys, os.path.join(data_dir, "sns"), dirs_exist_ok=True)
        status, body = await query(app, "sns", b"Action=CreateTopic&Name=bench")
        topic_arn = body.split(b"<TopicArn>")[1].split(b"</TopicArn>")[0].decode()
        for i in range(10):
            await call(app, "sqs", "AmazonSQS.CreateQueue", orjson.dumps({"QueueName": f"fan-{i}"}))
            await query(app, "sns", b"Action=Subscribe&Protocol=sqs&TopicArn=" + quote(topic_arn).encode() +
                        b"&Endpoint=" + quote(f"arn:aws:sqs:us-east-1:000000000000:fan-{i}").encode())
    if op == "s3-put":
        await rest(app, "s3", "PUT", "/bench", b"")
    if op == "ssm-get":
        for i in range(100):
            await call(app, "ssm", "AmazonSSM.PutParameter", orjson.dumps(
                {"Name": f"/bench/p-{i}", "Value": f"value {i}", "Type": "String"}))
    if op == "sqs-receive":  # 3,000 messages, whatever the count (so that set-up cancels out): enough for 2,950
        assert count <= 2950, "sqs-receive: at most 2950 requests"
        for start in range(0, 3000, 10):
            status, body = await call(app, "sqs", "AmazonSQS.SendMessageBatch", orjson.dumps({
                "QueueUrl": queue_url, "Entries": [{"Id": str(i), "MessageBody": "hello from wrk, a short order event"}
                                                   for i in range(start, start + 10)]}))
            assert status == 200, body
    if op == "lambda-invoke":
        import base64
        import io
        import zipfile

        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("app.py", "def handler(event, context):\n    return {'hello': 'world'}\n")
        status, body = await rest(app, "lambda", "POST", "/2015-03-31/functions", orjson.dumps({
            "FunctionName": "bench", "Runtime": "python3.11", "Handler": "app.handler",
            "Role": "arn:aws:iam::000000000000:role/bench",
            "Code": {"ZipFile": base64.b64encode(archive.getvalue()).decode()}}))
        assert status == 201, body

    graphql_path = mock_path = None
    if op.startswith("apigw-mock"):  # a REST API's MOCK method; apigw-mock-logged: its stage writes an access log
        status, body = await rest(app, "apigateway", "POST", "/restapis", b'{"name": "bench"}')
        api = orjson.loads(body)
        status, body = await rest(app, "apigateway", "POST", f"/restapis/{api['id']}/resources/{api['rootResourceId']}",
                                  b'{"pathPart": "mock"}')
        resource = f"/restapis/{api['id']}/resources/{orjson.loads(body)['id']}/methods/GET"
        for path, params in ((resource, {"authorizationType": "NONE"}),
                             (resource + "/integration", {"type": "MOCK", "requestTemplates": {
                                 "application/json": '{"statusCode": 200}'}}),
                             (resource + "/responses/200", {}),
                             (resource + "/integration/responses/200", {"responseTemplates": {
                                 "application/json": '{"ok": true}'}})):
            status, body = await rest(app, "apigateway", "PUT", path, orjson.dumps(params))
            assert status in (200, 201), body
        status, body = await rest(app, "apigateway", "POST", f"/restapis/{api['id']}/deployments",
                                  b'{"stageName": "test"}')
        assert status == 201, body
        if op == "apigw-mock-logged":
            await call(app, "logs", "Logs_20140328.CreateLogGroup", b'{"logGroupName": "access"}')
            status, body = await rest(app, "apigateway", "PATCH", f"/restapis/{api['id']}/stages/test", orjson.dumps(
                {"patchOperations": [
                    {"op": "replace", "path": "/accessLogSettings/destinationArn",
                     "value": "arn:aws:logs:us-east-1:000000000000:log-group:access"},
                    {"op": "replace", "path": "/accessLogSettings/format",
                     "value": "$context.requestId $context.httpMethod $context.path $context.status"}]}))
            assert status == 200, body
        mock_path = f"/_aws/execute-api/{api['id']}/test/mock"
    if op.startswith("appsync-query"):
        import base64

        config = {"name": "bench", "authenticationType": "API_KEY"}
        if op == "appsync-query-logged":
            config["logConfig"] = {"fieldLogLevel": "ALL", "cloudWatchLogsRoleArn": "arn:aws:iam::000000000000:role/l"}
        status, body = await rest(app, "appsync", "POST", "/v1/apis", orjson.dumps(config))
        assert status == 200, body
        api_id = orjson.loads(body)["graphqlApi"]["apiId"]
        for path, params in (
                ("schemacreation", {"definition": base64.b64encode(b"type Query { hello(name: String): String }").decode()}),
                ("apikeys", {}), ("datasources", {"name": "none", "type": "NONE"}),
                ("types/Query/resolvers", {"fieldName": "hello", "dataSourceName": "none",
                                           "requestMappingTemplate": '{"version": "2018-05-29", "payload": "hi $ctx.args.name"}',
                                           "responseMappingTemplate": "$util.toJson($ctx.result)"})):
            status, body = await rest(app, "appsync", "POST", f"/v1/apis/{api_id}/{path}", orjson.dumps(params))
            assert status == 200, body
            if path == "apikeys":
                api_key = orjson.loads(body)["apiKey"]["id"]
        graphql_path = f"/_aws/appsync/{api_id}/graphql"

    def request(n: int) -> tuple[str, str, bytes]:
        if mock_path is not None:
            return "execute-api", mock_path, b""
        if op.startswith("appsync-query"):
            return "appsync", graphql_path, orjson.dumps({"query": "query Q($n: String) { hello(name: $n) }",
                                                          "variables": {"n": f"u{n % 10}"}})
        if op == "sqs-send":
            return "sqs", "AmazonSQS.SendMessage", orjson.dumps(
                {"QueueUrl": queue_url, "MessageBody": "hello from wrk, a short order event"})
        if op == "sqs-receive":
            return "sqs", "AmazonSQS.ReceiveMessage", orjson.dumps({"QueueUrl": queue_url, "MaxNumberOfMessages": 1,
                                                                  "VisibilityTimeout": 600})
        if op == "lambda-invoke":
            return "lambda", "/2015-03-31/functions/bench/invocations", b'{"order": 42}'
        if op == "ddb-get":
            return "dynamodb", ddb + "GetItem", orjson.dumps(
                {"TableName": "bench", "Key": {"pk": {"S": f"user-{n % 10}"}, "sk": {"N": str(n % 1000)}}})
        if op == "ddb-put":
            return "dynamodb", ddb + "PutItem", orjson.dumps({"TableName": "bench", "Item": {
                "pk": {"S": f"w-{n}"}, "sk": {"N": "1"}, "name": {"S": "a short order event"}, "total": {"N": "42.5"}}})
        if op == "ddb-query":
            return "dynamodb", ddb + "Query", orjson.dumps({
                "TableName": "bench", "KeyConditionExpression": "pk = :p", "Limit": 100,
                "ExpressionAttributeValues": {":p": {"S": f"user-{n % 10}"}}})
        if op == "sns-publish":
            return "sns", "", b"Action=Publish&Version=2010-03-31&TopicArn=" + quote(topic_arn).encode() + \
                b"&Message=a+short+order+event%2C+fanned+out"
        if op == "s3-put":
            return "s3", f"/bench/obj/{n}", b"x" * 1024
        if op == "ssm-get":
            return "ssm", "AmazonSSM.GetParameter", orjson.dumps({"Name": f"/bench/p-{n % 100}"})
        raise SystemExit(f"unknown op {op}")

    def send(service, target, body):
        if service == "execute-api":
            return execute_api(app, target)
        if service == "appsync":
            return graphql(app, target, body, api_key)
        if service == "sns":
            return query(app, service, body)
        if service == "s3":
            return rest(app, service, "PUT", target, body)
        if service == "lambda":
            return rest(app, service, "POST", target, body)
        return call(app, service, target, body)

    for n in range(50):  # warm-up (the table: 10 partitions user-0..9 of 100 items each): every cache filled
        status, body = await send(*request(n))
        assert status == 200, body
    for _ in range(app.config.trace_traces):  # the trace ring full, as in any run past its first 1,000 requests:
        status, _ = await call(app, "sqs", "AmazonSQS.ListQueues", b"{}")  # each request measured evicts the oldest
        assert status == 200
    if op == "ddb-query":
        assert orjson.loads(body)["Count"] == 100, body
    return app, request, send


async def run(op: str, count: int, tracing: bool = True) -> None:
    if op.startswith("cognito-"):
        data_dir = tempfile.mkdtemp(prefix="overcast-inprocess-")
        app = OvercastApp(Config(data_dir=data_dir, ephemeral=True, tracing=tracing))
        app.open()
        return await _cognito(app, op, count)
    app, request, send = await prepare(op, count, tracing)
    requests = [request(n + 50) for n in range(count)]
    counting = "--bytecodes" in sys.argv
    if counting:  # every opcode of every frame, by (file, function)
        executed: dict[str, int] = {}

        def tracer(frame, event, arg):
            frame.f_trace_opcodes = True
            if event == "opcode":
                code = frame.f_code
                name = code.co_filename
                name = os.path.relpath(name, ROOT) if name.startswith(ROOT) else os.path.basename(name)
                where = f"{name}:{code.co_name}"
                executed[where] = executed.get(where, 0) + 1
            return tracer

        sys.settrace(tracer)
    started = time.perf_counter()
    for service, target, body in requests:
        status, answer = await send(service, target, body)
        assert status == 200, answer
    elapsed = time.perf_counter() - started
    if counting:
        sys.settrace(None)
        print(orjson.dumps({"requests": count, "bytecodes": executed}).decode())
    print(f"{op}: {count} requests in {elapsed:.3f} s, {elapsed / count * 1e6:.1f} us/request", file=sys.stderr)
    await app.close()


async def _cognito(app, op: str, count: int, users: int = 20) -> None:
    """Sign-ins of `users` users in turn: InitiateAuth USER_PASSWORD_AUTH, or the SRP exchange
    (InitiateAuth USER_SRP_AUTH + RespondToAuthChallenge PASSWORD_VERIFIER). Only the server's
    calls are timed, in wall-clock time and in CPU time of the whole process and of the event loop's
    thread (the password hash, the token signatures and SRP's exponentiations run on worker threads,
    which release the GIL): the client's half of SRP is computed in between, off the clocks. The
    bound on 2 idle cores is the lower of 2 / CPU and 1 / the event loop's CPU."""
    idp = "AWSCognitoIdentityProviderService."

    async def cognito(target: str, params: dict) -> dict:
        status, body = await call(app, "cognito-idp", idp + target, orjson.dumps(params))
        assert status == 200, body
        return orjson.loads(body)

    pool = (await cognito("CreateUserPool", {"PoolName": "bench"}))["UserPool"]["Id"]
    client = (await cognito("CreateUserPoolClient", {"UserPoolId": pool, "ClientName": "bench", "ExplicitAuthFlows": [
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}))["UserPoolClient"]["ClientId"]
    for i in range(users):
        await cognito("AdminCreateUser", {"UserPoolId": pool, "Username": f"user{i}", "MessageAction": "SUPPRESS"})
        await cognito("AdminSetUserPassword", {"UserPoolId": pool, "Username": f"user{i}", "Password": "Passw0rd!",
                                               "Permanent": True})
    timed = [0.0, 0.0, 0.0]  # wall, CPU of the process, CPU of the event loop's thread

    async def timed_call(target: str, params: dict) -> dict:
        wall, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
        answer = await cognito(target, params)
        timed[0] += time.perf_counter() - wall
        timed[1] += time.process_time() - cpu
        timed[2] += time.thread_time() - loop
        return answer

    async def sign_in(n: int) -> None:
        name = f"user{n % users}"
        if op == "cognito-password":
            await timed_call("InitiateAuth", {"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH",
                                              "AuthParameters": {"USERNAME": name, "PASSWORD": "Passw0rd!"}})
            return
        if op != "cognito-srp":
            raise SystemExit(f"unknown op {op}")
        a, big_a = srp_client.start()
        challenge = await timed_call("InitiateAuth", {"ClientId": client, "AuthFlow": "USER_SRP_AUTH",
                                                      "AuthParameters": {"USERNAME": name, "SRP_A": big_a}})
        answer = srp_client.claim(pool, name, "Passw0rd!", a, big_a, challenge["ChallengeParameters"])
        await timed_call("RespondToAuthChallenge", {"ClientId": client, "ChallengeName": "PASSWORD_VERIFIER",
                                                    "Session": challenge["Session"], "ChallengeResponses": answer})

    if op == "cognito-jwt":
        return await _token_checks(app, pool, client, count)

    for n in range(users):  # warm-up: every user signed in once
        await sign_in(n)
    timed[:] = [0.0, 0.0, 0.0]
    for n in range(count):
        await sign_in(n)
    cpu, loop = timed[1] / count, timed[2] / count
    print(f"{op}: {count} sign-ins, each {timed[0] / count * 1e3:.3f} ms of wall-clock time, "
          f"{cpu * 1e3:.3f} ms of CPU time ({loop * 1e3:.3f} ms on the event loop's thread, the rest on "
          f"worker threads): at most {min(2 / cpu, 1 / loop):,.0f}/s on 2 idle cores", file=sys.stderr)
    await app.close()


async def _token_checks(app, pool: str, client: str, count: int) -> None:
    """What a token check costs a request once the pool's key is known, as the authorizers call
    it: an HTTP API JWT authorizer on the pool's issuer (authorizers.check_jwt), and the in-process
    verification of API Gateway's COGNITO_USER_POOLS authorizers and AppSync (verify.verify)."""
    from overcast.services.apigatewayv2.authorizers import check_jwt
    from overcast.services.cognitoidp import verify

    status, body = await call(app, "cognito-idp", "AWSCognitoIdentityProviderService.InitiateAuth", orjson.dumps({
        "ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "user0", "PASSWORD": "Passw0rd!"}}))
    result = orjson.loads(body)["AuthenticationResult"]
    authorizer = {"Name": "pool", "IdentitySource": ["$request.header.Authorization"], "JwtConfiguration": {
        "Issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool}", "Audience": [client]}}
    source = {"headers": {"authorization": f"Bearer {result['AccessToken']}"}}
    providers = app.providers
    fresh = []  # tokens no check has seen: what the first request with a new token costs
    for n in range(min(count, 200)):
        status, body = await call(app, "cognito-idp", "AWSCognitoIdentityProviderService.InitiateAuth", orjson.dumps({
            "ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": f"user{n % 20}", "PASSWORD": "Passw0rd!"}}))
        fresh.append(orjson.loads(body)["AuthenticationResult"]["AccessToken"])
    await check_jwt(authorizer, {}, source, providers)
    wall, cpu = time.perf_counter(), time.process_time()
    for token in fresh:
        await check_jwt(authorizer, {}, {"headers": {"authorization": f"Bearer {token}"}}, providers)
    print(f"HTTP API JWT authorizer, a token's first request: {(time.perf_counter() - wall) / len(fresh) * 1e6:.1f} us "
          f"wall-clock, {(time.process_time() - cpu) / len(fresh) * 1e6:.1f} us CPU per check", file=sys.stderr)
    for name, check in (
            ("HTTP API JWT authorizer (check_jwt)", lambda: check_jwt(authorizer, {}, source, providers)),
            ("COGNITO_USER_POOLS / AppSync (verify.verify, ID token)",
             lambda: verify.verify(providers, {pool}, result["IdToken"])),
            ("COGNITO_USER_POOLS with scopes (verify.verify, access token)",
             lambda: verify.verify(providers, {pool}, result["AccessToken"], "access"))):
        await check()  # the key parsed and cached
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            await check()
        print(f"{name}: {(time.perf_counter() - wall) / count * 1e6:.1f} us wall-clock, "
              f"{(time.process_time() - cpu) / count * 1e6:.1f} us CPU per check", file=sys.stderr)
    await app.close()


def main() -> None:
    op = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 2000
    profile = "--profile" in sys.argv
    tracing = not ("--tracing" in sys.argv and sys.argv[sys.argv.index("--tracing") + 1] == "off")
    if profile:
        import cProfile
        import pstats

        cProfile.runctx("asyncio.run(run(op, count, tracing))", globals(), {"op": op, "count": count, "tracing": tracing},
                        "/tmp/inprocess.prof")
        pstats.Stats("/tmp/inprocess.prof").sort_stats("tottime").print_stats(35)
    else:
        asyncio.run(run(op, count, tracing))


if __name__ == "__main__":
    main()
