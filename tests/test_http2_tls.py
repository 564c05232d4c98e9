"""HTTP/2 and HTTPS on overcast's one port, beside plain HTTP/1.1 (docs/https.md): real clients —
httpx over HTTP/2 with prior knowledge and over TLS, the AWS SDK for JavaScript v3's Kinesis
client (HTTP/2 with prior knowledge to http://, by ALPN to https://, SubscribeToShard's event
stream), boto3 and the AWS CLI against https:// with the CA overcast made, `websockets` over wss://.

The Node test needs `node` and @aws-sdk/client-kinesis where OVERCAST_NODE_CLIENTS points (default
/tmp/overcast-node-clients; `.ci/run` installs it)."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import uuid

import boto3
import httpx
import pytest
import websockets
from botocore.config import Config as BotoConfig
from conftest import OvercastProcess

CLIENTS = os.environ.get("OVERCAST_NODE_CLIENTS", "/tmp/overcast-node-clients")
SIGNED = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"


@pytest.fixture(scope="module")
def port(endpoint) -> int:
    return int(endpoint.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def https(port) -> str:
    return f"https://localhost:{port}"


@pytest.fixture(scope="module")
def ca(endpoint, tmp_path_factory) -> str:
    """The authority overcast made, fetched as docs/https.md says."""
    answer = httpx.get(f"{endpoint}/_overcast/tls/ca.pem")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-pem-file"
    path = tmp_path_factory.mktemp("tls") / "overcast-ca.pem"
    path.write_bytes(answer.content)
    return str(path)


def sqs_call(client: httpx.Client, url: str, operation: str, body: dict) -> httpx.Response:
    return client.post(url, content=json.dumps(body), headers={
        "x-amz-target": f"AmazonSQS.{operation}", "content-type": "application/x-amz-json-1.0",
        "authorization": SIGNED.format(service="sqs")})


# -- HTTP/2 with prior knowledge (h2c) ---------------------------------------------------------


def test_httpx_http2_prior_knowledge_answers_an_aws_call(endpoint, unique_name):
    name = unique_name("h2c")
    with httpx.Client(http1=False, http2=True) as client:
        created = sqs_call(client, endpoint, "CreateQueue", {"QueueName": name})
        assert created.http_version == "HTTP/2"
        assert created.status_code == 200
        assert created.json()["QueueUrl"].endswith(f"/000000000000/{name}")
        missing = sqs_call(client, endpoint, "GetQueueUrl", {"QueueName": name + "-none"})
        assert missing.http_version == "HTTP/2" and missing.status_code == 400
        assert missing.json()["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
        # many requests at once on the one connection, each its own stream
        urls = [sqs_call(client, endpoint, "GetQueueUrl", {"QueueName": name}).json()["QueueUrl"] for _ in range(5)]
        assert set(urls) == {created.json()["QueueUrl"]}


def test_http2_streams_bodies_larger_than_the_flow_control_window(endpoint, client, unique_name):
    bucket = unique_name("h2body")
    client("s3").create_bucket(Bucket=bucket)
    body = os.urandom(3 * 1024 * 1024 + 17)  # past the 64 KiB initial window, both ways
    with httpx.Client(http1=False, http2=True) as h2:
        put = h2.put(f"{endpoint}/{bucket}/big", content=body, headers={"authorization": SIGNED.format(service="s3")})
        assert put.http_version == "HTTP/2" and put.status_code == 200, put.text
        got = h2.get(f"{endpoint}/{bucket}/big", headers={"authorization": SIGNED.format(service="s3")})
        assert got.status_code == 200 and got.content == body
    assert client("s3").get_object(Bucket=bucket, Key="big")["Body"].read() == body


async def _concurrent_h2(endpoint: str, name: str) -> list[int]:
    async with httpx.AsyncClient(http1=False, http2=True) as client:
        answers = await asyncio.gather(*(client.post(endpoint, content=json.dumps({"QueueName": f"{name}-{i}"}), headers={
            "x-amz-target": "AmazonSQS.CreateQueue", "content-type": "application/x-amz-json-1.0",
            "authorization": SIGNED.format(service="sqs")}) for i in range(20)))
        return [a.status_code for a in answers]


def test_http2_serves_concurrent_streams_on_one_connection(endpoint, unique_name):
    assert asyncio.run(_concurrent_h2(endpoint, unique_name("h2many"))) == [200] * 20


def test_a_broken_http2_connection_is_closed_and_the_server_serves_on(endpoint, port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x05\x04\x00\x00\x00\x00\x00abcde")
        received = b""
        while chunk := raw.recv(65536):  # SETTINGS, then GOAWAY (a SETTINGS frame of 5 bytes), closed
            received += chunk
        assert b"\x07" in received[9:]  # a GOAWAY frame (type 7) was sent
    assert httpx.get(f"{endpoint}/_overcast/health").status_code == 200


def test_an_http2_header_block_over_the_limit_closes_the_connection(endpoint):
    with httpx.Client(http1=False, http2=True) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{endpoint}/_overcast/health", headers={"x-big": "a" * 100_000})
    with httpx.Client(http1=False, http2=True) as client:
        assert client.get(f"{endpoint}/_overcast/health").status_code == 200


# -- HTTPS on the same port ---------------------------------------------------------------------


def test_tls_and_plain_http_on_the_same_port(endpoint, https, ca):
    plain = httpx.get(f"{endpoint}/_overcast/health")
    assert plain.status_code == 200 and plain.http_version == "HTTP/1.1"
    with httpx.Client(verify=ssl.create_default_context(cafile=ca), http2=True) as client:
        secure = client.get(f"{https}/_overcast/health")
        assert secure.status_code == 200 and secure.http_version == "HTTP/2"  # ALPN chose h2
    with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as client:
        assert client.get(f"{https}/_overcast/health").http_version == "HTTP/1.1"
    with pytest.raises(httpx.ConnectError):  # not trusted without the CA
        httpx.get(f"{https}/_overcast/health", verify=ssl.create_default_context(cafile=None))


@pytest.mark.parametrize("host", ["localhost", "abc123.execute-api.localhost.localstack.cloud",
                                  "my-bucket.s3.localhost.localstack.cloud", "sqs.eu-west-1.localhost.localstack.cloud",
                                  "site.s3-website-us-west-2.localhost", "u1.lambda-url.us-east-1.localhost.localstack.cloud",
                                  "localhost.localstack.cloud", "127.0.0.1"])
def test_the_certificate_names_the_hosts_overcast_hands_out(port, ca, host):
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_the_authority_is_limited_to_local_names(ca):
    from cryptography import x509

    with open(ca, "rb") as f:
        authority = x509.load_pem_x509_certificate(f.read())
    constraints = authority.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert {n.value for n in constraints.value.permitted_subtrees if isinstance(n, x509.DNSName)} == \
        {"localhost", "localhost.localstack.cloud"}


def test_boto3_over_https_with_the_ca(https, ca, unique_name):
    def make(service):
        return boto3.client(service, endpoint_url=https, region_name="us-east-1", verify=ca,
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=BotoConfig(retries={"max_attempts": 0}))
    sqs, s3 = make("sqs"), make("s3")
    url = sqs.create_queue(QueueName=unique_name("tls"))["QueueUrl"]
    assert url.startswith(f"{https}/000000000000/")  # the queue URL in the scheme the client used
    sqs.send_message(QueueUrl=url, MessageBody="over tls")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "over tls"
    bucket = unique_name("tls")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"


def test_aws_cli_over_https_with_ca_bundle(https, ca, unique_name):
    name = unique_name("cli-tls")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_PAGER": ""}
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    result = subprocess.run([aws, "--endpoint-url", https, "--ca-bundle", ca, "--output", "json", "sns", "create-topic",
                             "--name", name], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["TopicArn"].endswith(f":{name}")
    refused = subprocess.run([aws, "--endpoint-url", https, "sns", "list-topics"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert refused.returncode != 0 and "SSL" in refused.stderr  # without the CA: certificate not trusted


def test_get_api_answers_https_and_wss_endpoints_to_a_client_on_https(https, ca, endpoint, client):
    secure = boto3.client("apigatewayv2", endpoint_url=https, region_name="us-east-1", verify=ca,
                          aws_access_key_id="test", aws_secret_access_key="test")
    port = endpoint.rsplit(":", 1)[1]
    http_api = secure.create_api(Name="tls-http", ProtocolType="HTTP")
    assert http_api["ApiEndpoint"] == f"https://{http_api['ApiId']}.execute-api.localhost.localstack.cloud:{port}"
    ws_api = secure.get_api(ApiId=secure.create_api(Name="tls-ws", ProtocolType="WEBSOCKET",
                                                     RouteSelectionExpression="$request.body.action")["ApiId"])
    assert ws_api["ApiEndpoint"] == f"wss://{ws_api['ApiId']}.execute-api.localhost.localstack.cloud:{port}"
    # the same APIs read over plain HTTP answer the plain forms
    assert client("apigatewayv2").get_api(ApiId=ws_api["ApiId"])["ApiEndpoint"].startswith("ws://")


def test_wss_websocket_api_at_its_api_endpoint(https, ca, port):
    gw = boto3.client("apigatewayv2", endpoint_url=https, region_name="us-east-1", verify=ca,
                      aws_access_key_id="test", aws_secret_access_key="test")
    api = gw.create_api(Name="wss", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")
    integration = gw.create_integration(ApiId=api["ApiId"], IntegrationType="MOCK",
                                        RequestTemplates={"application/json": '{"statusCode": 200}'},
                                        TemplateSelectionExpression="\\$default")
    gw.create_integration_response(ApiId=api["ApiId"], IntegrationId=integration["IntegrationId"],
                                   IntegrationResponseKey="$default",
                                   ResponseTemplates={"application/json": '{"secure": true}'})
    route = gw.create_route(ApiId=api["ApiId"], RouteKey="$default", RouteResponseSelectionExpression="$default",
                            Target="integrations/" + integration["IntegrationId"])
    gw.create_route_response(ApiId=api["ApiId"], RouteId=route["RouteId"], RouteResponseKey="$default")
    gw.create_stage(ApiId=api["ApiId"], StageName="prod", AutoDeploy=True)
    url = f"{api['ApiEndpoint']}/prod"
    assert url.startswith("wss://")

    async def go():
        # the API's own host name, verified against the CA; resolved to this machine as
        # *.localhost.localstack.cloud is
        async with websockets.connect(url, ssl=ssl.create_default_context(cafile=ca), host="127.0.0.1",
                                      port=port) as ws:
            await ws.send("hello")
            return json.loads(await ws.recv())
    assert asyncio.run(asyncio.wait_for(go(), 30)) == {"secure": True}


def test_a_tls_handshake_that_fails_leaves_the_server_serving(endpoint, port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x00\x05hello")  # a handshake record that is no ClientHello
        assert raw.recv(100)[:1] in (b"", b"\x15")  # an alert, or just closed
    assert httpx.get(f"{endpoint}/_overcast/health").status_code == 200


def test_own_certificate_from_the_settings(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "my own")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("overcast.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server = OvercastProcess(env={"OVERCAST_TLS_CERT": str(tmp_path / "cert.pem"),
                                  "OVERCAST_TLS_KEY": str(tmp_path / "key.pem")})
    try:
        port = int(server.endpoint.rsplit(":", 1)[1])
        context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="overcast.test") as tls:
            tls.sendall(b"GET /_overcast/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        assert httpx.get(f"{server.endpoint}/_overcast/tls/ca.pem").status_code == 404  # nothing of overcast's to trust
    finally:
        server.stop()


# -- the AWS SDK for JavaScript v3 ------------------------------------------------------------

KINESIS_SCRIPT = r"""
import { createRequire } from 'node:module';
const require = createRequire(process.env.CLIENTS + '/node_modules/');
const k = require('@aws-sdk/client-kinesis');
const [endpoint, name] = process.argv.slice(2);
const client = new k.KinesisClient({ endpoint, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const out = {};
await client.send(new k.CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
let description;
for (let i = 0; i < 200; i++) {
  description = (await client.send(new k.DescribeStreamCommand({ StreamName: name }))).StreamDescription;
  if (description.StreamStatus === 'ACTIVE') break;
  await wait(50);
}
out.status = description.StreamStatus;
const shard = description.Shards[0].ShardId;
out.sequence = (await client.send(new k.PutRecordCommand({ StreamName: name, PartitionKey: 'p',
  Data: new TextEncoder().encode('first') }))).SequenceNumber;
const iterator = (await client.send(new k.GetShardIteratorCommand({ StreamName: name, ShardId: shard,
  ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
out.records = (await client.send(new k.GetRecordsCommand({ ShardIterator: iterator }))).Records
  .map((r) => new TextDecoder().decode(r.Data));
const consumer = (await client.send(new k.RegisterStreamConsumerCommand({ StreamARN: description.StreamARN,
  ConsumerName: 'reader' }))).Consumer;
for (let i = 0; i < 200; i++) {
  const c = await client.send(new k.DescribeStreamConsumerCommand({ ConsumerARN: consumer.ConsumerARN }));
  if (c.ConsumerDescription.ConsumerStatus === 'ACTIVE') break;
  await wait(50);
}
const subscription = await client.send(new k.SubscribeToShardCommand({ ConsumerARN: consumer.ConsumerARN,
  ShardId: shard, StartingPosition: { Type: 'TRIM_HORIZON' } }));
out.subscribed = [];
let putSecond = false;
for await (const event of subscription.EventStream) {
  if (!event.SubscribeToShardEvent) continue;
  for (const r of event.SubscribeToShardEvent.Records) out.subscribed.push(new TextDecoder().decode(r.Data));
  if (!putSecond) {  // a record put while subscribed arrives on the open stream
    putSecond = true;
    await client.send(new k.PutRecordCommand({ StreamName: name, PartitionKey: 'p', Data: new TextEncoder().encode('second') }));
  }
  if (out.subscribed.length >= 2) break;
}
console.log(JSON.stringify(out));
client.destroy();
process.exit(0);
"""


@pytest.mark.skipif(shutil.which("node") is None or
                    not os.path.isdir(os.path.join(CLIENTS, "node_modules", "@aws-sdk", "client-kinesis")),
                    reason=f"node and @aws-sdk/client-kinesis (npm install --prefix {CLIENTS} @aws-sdk/client-kinesis@3) "
                           "are needed")
@pytest.mark.parametrize("secure", [False, True], ids=["h2c", "https"])
def test_aws_sdk_for_javascript_kinesis_client(endpoint, https, ca, tmp_path, secure):
    script = tmp_path / "kinesis.mjs"
    script.write_text(KINESIS_SCRIPT)
    env = {**os.environ, "CLIENTS": CLIENTS, "NODE_NO_WARNINGS": "1"}
    if secure:
        env["NODE_EXTRA_CA_CERTS"] = ca  # the documented way to trust overcast's CA under Node
    result = subprocess.run(["node", str(script), https if secure else endpoint, f"node-{uuid.uuid4().hex[:8]}"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["status"] == "ACTIVE"
    assert out["records"] == ["first"]
    assert out["subscribed"] == ["first", "second"]


def test_a_function_url_over_https_passes_the_tls_version_and_cipher_on(client, port, ca, unique_name):
    # AWS's function URL events name the connection's TLS version and cipher suite (x-amzn-tls-*);
    # the certificate covers the URL's host (*.lambda-url.<region>.localhost.localstack.cloud)
    from lambda_functions import create_python

    lam = client("lambda")
    name = unique_name("url")
    create_python(lam, name, "import json\ndef handler(e, c):\n    return {'statusCode': 200, 'body': json.dumps(e['headers'])}\n")
    host = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"].split("//", 1)[1]
    host = host.rstrip("/").rsplit(":", 1)[0]
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
        version, cipher = tls.version(), tls.cipher()[0]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    headers = json.loads(body)
    assert (headers["x-amzn-tls-version"], headers["x-amzn-tls-cipher-suite"]) == (version, cipher)
    assert headers["x-forwarded-proto"] == "https" and headers["x-forwarded-port"] == str(port)
