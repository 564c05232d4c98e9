"""WebSocket APIs with real connections (the `websockets` library), Lambda backends, and the
@connections management API — from the test and from inside a function (boto3, endpoint built
from requestContext.domainName and stage as AWS's docs show)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import websockets
import websockets.exceptions
from apigatewayv2_support import WS_BACKEND, drain, function_arn, websocket_api, ws_url
from botocore.exceptions import ClientError
from conftest import OvercastProcess, make_client, stored_rows


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


@pytest.fixture(scope="module")
def gw(client):
    return client("apigatewayv2")


@pytest.fixture(scope="module")
def backend(client):
    """(function ARN, queue URL where it records every event)."""
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=f"ws-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = function_arn(client("lambda"), f"ws-{uuid.uuid4().hex[:10]}", WS_BACKEND, Timeout=10,
                       Environment={"Variables": {"QUEUE_URL": queue_url}})
    return arn, queue_url


@pytest.fixture(scope="module")
def api(gw, backend):
    api_id, _ = websocket_api(gw, backend[0], routes=("$connect", "$disconnect", "$default", "push", "fail", "custom"),
                              two_way=("$default", "push", "fail", "custom"))
    return api_id


class Recorder:
    """The events the backend recorded, per connection: a test opens its connection with a
    unique `t=` query parameter and asks for the events of that connection."""

    def __init__(self, sqs, queue_url):
        self.sqs, self.queue_url = sqs, queue_url
        self.seen: list[dict] = []

    def of(self, marker: str, routes: set[str], timeout: float = 20.0) -> dict[str, dict]:
        deadline = time.time() + timeout
        while True:
            connection = next((e["requestContext"]["connectionId"] for e in self.seen
                               if (e.get("queryStringParameters") or {}).get("t") == marker), None)
            found = {e["requestContext"]["routeKey"]: e for e in self.seen
                     if connection and e["requestContext"]["connectionId"] == connection}
            if routes <= set(found) or time.time() > deadline:
                return found
            self.seen += drain(self.sqs, self.queue_url, 1, timeout=1)


@pytest.fixture(scope="module")
def recorder(client, backend):
    return Recorder(client("sqs"), backend[1])


@pytest.fixture
def marker():
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def mgmt(endpoint):
    return make_client(endpoint, "apigatewaymanagementapi")


@pytest.mark.postgres_e2e
def test_connect_event_carries_headers_query_and_request_context(api, endpoint, recorder, marker):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query=f"a=1&a=2&b=x&t={marker}"),
                                      additional_headers={"X-Custom": "v"}, user_agent_header="ua/1") as ws:
            await ws.send("hi")
            await ws.recv()
    run(go())
    found = recorder.of(marker, {"$connect", "$default", "$disconnect"})
    connect = found["$connect"]
    context = connect["requestContext"]
    assert context["eventType"] == "CONNECT" and context["apiId"] == api and context["stage"] == "prod"
    assert context["domainName"].startswith(f"{api}.execute-api.localhost.localstack.cloud:")
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["messageDirection"] == "IN"
    assert isinstance(context["connectedAt"], int) and isinstance(context["requestTimeEpoch"], int)
    assert context["requestId"] and context["extendedRequestId"]
    assert connect["headers"]["X-Custom"] == "v"
    assert connect["multiValueHeaders"]["X-Custom"] == ["v"]
    assert connect["queryStringParameters"] == {"a": "2", "b": "x", "t": marker}
    assert connect["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"], "t": [marker]}
    assert connect["isBase64Encoded"] is False


@pytest.mark.postgres_e2e
def test_message_event_has_body_message_id_and_connection_id(api, endpoint, recorder, marker):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query=f"t={marker}")) as ws:
            await ws.send("plain text")
            return await ws.recv()
    assert run(go()) == "echo:plain text"
    found = recorder.of(marker, {"$connect", "$default"})
    message = found["$default"]
    assert message["body"] == "plain text" and message["isBase64Encoded"] is False
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["requestContext"]["messageId"]
    assert message["requestContext"]["connectionId"] == found["$connect"]["requestContext"]["connectionId"]


@pytest.mark.postgres_e2e
def test_disconnect_event_on_client_close(api, endpoint, recorder, marker):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query=f"t={marker}")) as ws:
            await ws.close(code=1000, reason="bye")
    run(go())
    found = recorder.of(marker, {"$connect", "$disconnect"})
    context = found["$disconnect"]["requestContext"]
    assert context["eventType"] == "DISCONNECT"
    assert context["disconnectStatusCode"] == 1000
    assert context["disconnectReason"] == "bye"


@pytest.mark.postgres_e2e
def test_route_selection_expression_picks_custom_route(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api)) as ws:
            await ws.send(json.dumps({"action": "custom", "n": 1}))
            return json.loads(await ws.recv())
    answer = run(go())
    assert answer["route"] == "custom"
    assert answer["event"]["requestContext"]["routeKey"] == "custom"


def test_unknown_action_and_non_json_go_to_default(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api)) as ws:
            await ws.send(json.dumps({"action": "nothing-like-it"}))
            first = await ws.recv()
            await ws.send("{not json")
            return first, await ws.recv()
    first, second = run(go())
    assert first.startswith("echo:") and second == "echo:{not json"


def test_no_matching_route_without_default_answers_forbidden(gw, backend, endpoint):
    api_id, _ = websocket_api(gw, backend[0], routes=("only",), two_way=("only",))

    async def go():
        async with websockets.connect(ws_url(endpoint, api_id)) as ws:
            await ws.send(json.dumps({"action": "other"}))
            return json.loads(await ws.recv())
    answer = run(go())
    assert answer["message"] == "Forbidden"
    assert answer["connectionId"] and answer["requestId"]


def test_nested_route_selection_path(gw, backend, endpoint):
    api_id, _ = websocket_api(gw, backend[0], routes=("deep",), two_way=("deep",), expression="$request.body.meta.kind")

    async def go():
        async with websockets.connect(ws_url(endpoint, api_id)) as ws:
            await ws.send(json.dumps({"meta": {"kind": "deep"}}))
            return json.loads(await ws.recv())
    assert run(go())["route"] == "deep"


def test_integration_failure_answers_internal_server_error(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api)) as ws:
            await ws.send(json.dumps({"action": "fail"}))
            return json.loads(await ws.recv())
    answer = run(go())
    assert answer["message"] == "Internal server error" and answer["connectionId"]


@pytest.mark.postgres_e2e
def test_route_added_while_connected_applies_to_next_message(gw, backend, endpoint):
    api_id, _ = websocket_api(gw, backend[0], routes=("$default",))

    async def go():
        async with websockets.connect(ws_url(endpoint, api_id)) as ws:
            await ws.send(json.dumps({"action": "later"}))
            before = await ws.recv()
            integration_id = gw.get_integrations(ApiId=api_id)["Items"][0]["IntegrationId"]
            route = gw.create_route(ApiId=api_id, RouteKey="later", Target="integrations/" + integration_id,
                                    RouteResponseSelectionExpression="$default")
            gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
            await ws.send(json.dumps({"action": "later"}))
            return before, json.loads(await ws.recv())
    before, after = run(go())
    assert before.startswith("echo:") and after["route"] == "later"


def test_binary_frame_is_base64_in_event(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api)) as ws:
            await ws.send(b"\x00\x01\xff")
            return await ws.recv()
    assert run(go()) == "echo:AAH/"


def test_connect_refused_when_integration_answers_non_2xx(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query="refuse=401")):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(go())
    assert error.value.response.status_code == 401


def test_connect_answer_with_invalid_status_refuses_with_500(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query="refuse=999")):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(go())
    assert error.value.response.status_code == 500


def test_connect_refused_with_500_when_function_fails(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query="crash=1")):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(go())
    assert error.value.response.status_code == 500


def test_handshake_to_missing_api_is_404(endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, "missing123")):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(go())
    assert error.value.response.status_code == 404


def test_handshake_to_missing_stage_is_403(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, stage="nostage")):
            pass
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(go())
    assert error.value.response.status_code == 403


def test_host_form_endpoint_from_get_api_works(gw, api, endpoint):
    api_endpoint = gw.get_api(ApiId=api)["ApiEndpoint"]
    port = endpoint.rsplit(":", 1)[1]

    async def go():
        # no DNS here: connect to 127.0.0.1 with the host name GetApi returned
        async with websockets.connect(f"ws://127.0.0.1:{port}/prod",
                                      additional_headers={"Host": api_endpoint.split("://", 1)[1]}) as ws:
            await ws.send("via host")
            return await ws.recv()
    assert run(go()) == "echo:via host"


def test_oversize_message_closes_with_1009(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api), max_size=None) as ws:
            await ws.send("x" * (128 * 1024 + 1))
            await ws.wait_closed()
            return ws.close_code
    assert run(go()) == 1009


def test_bad_input_on_one_connection_leaves_others_working(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api)) as good:
            async with websockets.connect(ws_url(endpoint, api), max_size=None) as bad:
                await bad.send(b"\xff\xfe\x00garbage")
                await bad.send("{" * 1000)
                await bad.send("x" * (200 * 1024))
                await bad.wait_closed()
            await good.send("still here")
            return bad.close_code, await good.recv()
    code, answer = run(go())
    assert code == 1009 and answer == "echo:still here"


@pytest.mark.postgres_e2e
def test_lambda_pushes_through_management_api_with_boto3(api, endpoint):
    async def go():
        async with websockets.connect(ws_url(endpoint, api)) as ws:
            await ws.send(json.dumps({"action": "push", "data": 7}))
            return [json.loads(await ws.recv()), json.loads(await ws.recv())]
    answers = run(go())
    assert {"pushed": 7} in answers
    assert {"sourceIp": "127.0.0.1"} in answers


@pytest.mark.postgres_e2e
def test_management_api_post_get_delete(api, endpoint, mgmt, recorder, marker):
    async def go():
        async with websockets.connect(ws_url(endpoint, api, query=f"t={marker}"), user_agent_header="agent/2") as ws:
            await ws.send("who")
            await ws.recv()
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(None, lambda: recorder.of(marker, {"$connect"}))
            connection_id = found["$connect"]["requestContext"]["connectionId"]
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: mgmt.post_to_connection(ConnectionId=connection_id, Data=b"from test"))
            pushed = await ws.recv()
            info = await loop.run_in_executor(None, lambda: mgmt.get_connection(ConnectionId=connection_id))
            await loop.run_in_executor(None, lambda: mgmt.delete_connection(ConnectionId=connection_id))
            await ws.wait_closed()
            return pushed, info, connection_id
    pushed, info, connection_id = run(go())
    assert pushed == "from test"
    assert info["Identity"]["SourceIp"] == "127.0.0.1" and info["Identity"]["UserAgent"] == "agent/2"
    assert info["ConnectedAt"] <= info["LastActiveAt"]
    disconnect = recorder.of(marker, {"$disconnect"})["$disconnect"]
    assert disconnect["requestContext"]["connectionId"] == connection_id
    with pytest.raises(ClientError) as error:
        mgmt.get_connection(ConnectionId=connection_id)
    assert error.value.response["Error"]["Code"] == "GoneException"


def test_post_to_unknown_connection_is_gone(mgmt):
    with pytest.raises(ClientError) as error:
        mgmt.post_to_connection(ConnectionId="AAAAAAAAAAAAAA=", Data=b"x")
    assert error.value.response["Error"]["Code"] == "GoneException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_post_over_128_kb_is_payload_too_large(mgmt):
    with pytest.raises(ClientError) as error:
        mgmt.post_to_connection(ConnectionId="AAAAAAAAAAAAAA=", Data=b"x" * (128 * 1024 + 1))
    assert error.value.response["Error"]["Code"] == "PayloadTooLargeException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_management_api_on_the_api_host_with_stage(api, endpoint, recorder, marker):
    port = endpoint.rsplit(":", 1)[1]
    host_endpoint = f"http://{api}.execute-api.localhost.localstack.cloud:{port}/prod"
    # boto3 sends to the host name: point it at 127.0.0.1 and keep the Host header
    client = make_client(f"http://127.0.0.1:{port}/_aws/execute-api/{api}/prod", "apigatewaymanagementapi")
    assert host_endpoint  # the form functions build (tested from inside a Lambda above)

    async def go():
        async with websockets.connect(ws_url(endpoint, api, query=f"t={marker}")) as ws:
            await ws.send("x")
            await ws.recv()
            found = await asyncio.get_running_loop().run_in_executor(None, lambda: recorder.of(marker, {"$connect"}))
            connection_id = found["$connect"]["requestContext"]["connectionId"]
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: client.post_to_connection(ConnectionId=connection_id, Data=b"path form"))
            return await ws.recv()
    assert run(go()) == "path form"


@pytest.mark.postgres_e2e
def test_request_authorizer_on_connect(gw, client, backend, endpoint):
    code = ("def handler(event, context):\n"
            "    ok = (event.get('queryStringParameters') or {}).get('token') == 'good'\n"
            "    return {'principalId': 'u', 'policyDocument': {'Version': '2012-10-17', 'Statement': [\n"
            "        {'Action': 'execute-api:Invoke', 'Effect': 'Allow' if ok else 'Deny', 'Resource': event['methodArn']}]},\n"
            "        'context': {'user': 'u1'}}\n")
    authorizer_arn = function_arn(client("lambda"), f"wsauth-{uuid.uuid4().hex[:8]}", code)
    api = gw.create_api(Name="wsauth", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    api_id = api["ApiId"]
    authorizer = gw.create_authorizer(ApiId=api_id, Name="a", AuthorizerType="REQUEST", AuthorizerUri=authorizer_arn,
                                      IdentitySource=["route.request.querystring.token"])
    integration = gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=backend[0])
    gw.create_route(ApiId=api_id, RouteKey="$connect", Target="integrations/" + integration["IntegrationId"],
                    AuthorizationType="CUSTOM", AuthorizerId=authorizer["AuthorizerId"])
    route = gw.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/" + integration["IntegrationId"],
                            RouteResponseSelectionExpression="$default")
    gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)

    async def allowed():
        async with websockets.connect(ws_url(endpoint, api_id, query="token=good")) as ws:
            await ws.send("in")
            return await ws.recv()

    async def denied(query):
        async with websockets.connect(ws_url(endpoint, api_id, query=query)):
            pass
    assert run(allowed()) == "echo:in"
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(denied("token=bad"))
    assert error.value.response.status_code == 403
    with pytest.raises(websockets.exceptions.InvalidStatus) as error:
        run(denied(""))
    assert error.value.response.status_code == 401


def test_mock_integration_route_response(gw, endpoint):
    api_id = gw.create_api(Name="mock", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                        RequestTemplates={"application/json": '{"statusCode": 200}'},
                                        TemplateSelectionExpression="\\$default")
    gw.create_integration_response(ApiId=api_id, IntegrationId=integration["IntegrationId"],
                                   IntegrationResponseKey="$default",
                                   ResponseTemplates={"application/json": '{"mock": true}'})
    route = gw.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/" + integration["IntegrationId"],
                            RouteResponseSelectionExpression="$default")
    gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)

    async def go():
        async with websockets.connect(ws_url(endpoint, api_id)) as ws:
            await ws.send("anything")
            return json.loads(await ws.recv())
    assert run(go()) == {"mock": True}


# -- timers: a server of its own with short limits --------------------------------------------


@pytest.fixture(scope="module")
def short_server():
    server = OvercastProcess(env={"OVERCAST_WEBSOCKET_IDLE_SECONDS": "1", "OVERCAST_WEBSOCKET_MAX_SECONDS": "3"})
    yield server.endpoint
    server.stop()


def _short_api(endpoint):
    gw, lam, sqs = (make_client(endpoint, s) for s in ("apigatewayv2", "lambda", "sqs"))
    queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = function_arn(lam, f"ws-{uuid.uuid4().hex[:8]}", WS_BACKEND, Environment={"Variables": {"QUEUE_URL": queue_url}})
    api_id, _ = websocket_api(gw, arn)
    return api_id, sqs, queue_url


def test_idle_connection_is_closed_and_disconnect_fires(short_server):
    api_id, sqs, queue_url = _short_api(short_server)

    async def go():
        async with websockets.connect(ws_url(short_server, api_id)) as ws:
            started = time.monotonic()
            await ws.wait_closed()
            return ws.close_code, time.monotonic() - started
    code, waited = run(go())
    assert code == 1001 and 0.5 < waited < 4  # idle limit 1 s (armed at the handshake)
    found = {e["requestContext"]["routeKey"]: e for e in drain(sqs, queue_url, 2)}
    assert found["$disconnect"]["requestContext"]["disconnectStatusCode"] == 1001


def test_activity_keeps_connection_open_until_max_duration(short_server):
    api_id, _, _ = _short_api(short_server)

    async def go():
        started = time.monotonic()  # (the limit counts from the handshake: $connect's cold start is in it)
        async with websockets.connect(ws_url(short_server, api_id)) as ws:

            async def drain():  # the backend's replies, however late a loaded machine makes them
                async for _ in ws:
                    pass

            replies = asyncio.ensure_future(drain())
            try:
                while True:  # a client frame every 0.3 s: never idle for the 1 s limit
                    await ws.send("ping")
                    await asyncio.sleep(0.3)
            except websockets.exceptions.ConnectionClosed:
                return ws.close_code, time.monotonic() - started
            finally:
                replies.cancel()
    code, lived = run(go())
    assert code == 1001 and 2.0 < lived < 6  # duration limit 3 s, despite activity


def test_restart_clears_stale_connections_and_keeps_apis(tmp_path):
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        gw = make_client(server.endpoint, "apigatewayv2")
        api_id = gw.create_api(Name="restart", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
        integration = gw.create_integration(ApiId=api_id, IntegrationType="MOCK")
        gw.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/" + integration["IntegrationId"])
        gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
        http_api_id = gw.create_api(Name="restart-http", ProtocolType="HTTP")["ApiId"]
        gw.create_route(ApiId=http_api_id, RouteKey="GET /x")  # no integration: answers 500
        gw.create_stage(ApiId=http_api_id, StageName="$default", AutoDeploy=True)
        domain = f"r-{uuid.uuid4().hex[:8]}.example.com"
        gw.create_domain_name(DomainName=domain)
        gw.create_api_mapping(DomainName=domain, ApiId=http_api_id, Stage="$default")

        async def hold():
            ws = await websockets.connect(ws_url(server.endpoint, api_id))
            await ws.send("x")
            return ws
        asyncio.run(asyncio.wait_for(hold(), 30))
        assert stored_rows(tmp_path, "SELECT COUNT(*) FROM apigwv2_connections") == [(1,)]
    finally:
        server.stop(kill=True)
    server = OvercastProcess(data_dir=str(tmp_path))
    try:
        # cleared at start-up, before any API Gateway call
        assert stored_rows(tmp_path, "SELECT COUNT(*) FROM apigwv2_connections") == [(0,)]
        import httpx

        port = server.endpoint.rsplit(":", 1)[1]
        served = httpx.get(f"http://127.0.0.1:{port}/x", headers={"host": domain})  # custom domain, after restart
        assert served.status_code == 500 and served.json() == {"message": "Internal Server Error"}
        gw = make_client(server.endpoint, "apigatewayv2")
        assert gw.get_api(ApiId=api_id)["Name"] == "restart"
    finally:
        server.stop()


def test_aws_cli_post_to_unknown_connection_reports_gone(aws_cli):
    result = aws_cli("apigatewaymanagementapi", "post-to-connection", "--connection-id", "AAAAAAAAAAAAAAA=",
                     "--data", "hi", check=False)
    assert result.returncode != 0 and "GoneException" in result.stderr


def test_management_api_on_one_api_cannot_reach_another_apis_connections(gw, endpoint):
    def mock_api():
        api_id = gw.create_api(Name="iso", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
        integration = gw.create_integration(ApiId=api_id, IntegrationType="MOCK")
        gw.create_integration_response(ApiId=api_id, IntegrationId=integration["IntegrationId"],
                                       IntegrationResponseKey="$default",
                                       ResponseTemplates={"application/json": "${context.connectionId}"})
        route = gw.create_route(ApiId=api_id, RouteKey="$default", Target="integrations/" + integration["IntegrationId"],
                                RouteResponseSelectionExpression="$default")
        gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
        gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
        return api_id
    first, second = mock_api(), mock_api()
    port = endpoint.rsplit(":", 1)[1]
    other = make_client(f"http://127.0.0.1:{port}/_aws/execute-api/{second}/prod", "apigatewaymanagementapi")
    own = make_client(f"http://127.0.0.1:{port}/_aws/execute-api/{first}/prod", "apigatewaymanagementapi")

    async def go():
        async with websockets.connect(ws_url(endpoint, first)) as ws:
            await ws.send("who am i")
            connection_id = await ws.recv()
            loop = asyncio.get_running_loop()
            with pytest.raises(ClientError) as error:
                await loop.run_in_executor(None, lambda: other.post_to_connection(ConnectionId=connection_id, Data=b"x"))
            await loop.run_in_executor(None, lambda: own.post_to_connection(ConnectionId=connection_id, Data=b"mine"))
            return error.value.response["Error"]["Code"], await ws.recv()
    assert run(go()) == ("GoneException", "mine")
