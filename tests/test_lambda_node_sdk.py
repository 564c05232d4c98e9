"""Node.js functions find the AWS SDK for JavaScript v3 without bundling it, as on AWS's nodejs18.x
and later runtimes (runtime/node_sdk.py): from CommonJS and from ES modules, after the function's
own node_modules (a bundled SDK wins); and an https:// request to overcast's host with no port
(CDK's custom-resource handlers answer CloudFormation that way) reaches overcast, with the https
module and with fetch, redirects to https:// URLs of overcast's included."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from lambda_functions import ROLE, zip_files

from tests.deploy_tools import node_sdk

CJS = """
const { DynamoDBClient, PutItemCommand, GetItemCommand } = require("@aws-sdk/client-dynamodb");
const client = new DynamoDBClient({});
exports.handler = async (event) => {
  await client.send(new PutItemCommand({ TableName: event.table, Item: { id: { S: "cjs" } } }));
  const got = await client.send(new GetItemCommand({ TableName: event.table, Key: { id: { S: "cjs" } } }));
  return { item: got.Item, from: require.resolve("@aws-sdk/client-dynamodb") };
};
"""

ESM = """
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async (event) => {
  await documents.send(new PutCommand({ TableName: event.table, Item: { id: "esm", n: 2 } }));
  const got = await documents.send(new GetCommand({ TableName: event.table, Key: { id: "esm" } }));
  return { item: got.Item, from: import.meta.resolve("@aws-sdk/lib-dynamodb") };
};
"""

BUNDLED = {
    "node_modules/@aws-sdk/client-dynamodb/package.json": json.dumps(
        {"name": "@aws-sdk/client-dynamodb", "version": "0.0.0-bundled", "main": "index.js"}),
    "node_modules/@aws-sdk/client-dynamodb/index.js": "exports.bundled = true;\n",
    "index.js": "exports.handler = async () => require('@aws-sdk/client-dynamodb').bundled === true;\n",
    "esm.mjs": "import sdk from '@aws-sdk/client-dynamodb';\nexport const handler = async () => sdk.bundled === true;\n",
}

# What CDK's custom-resource handlers do with the ResponseURL: keep its hostname and path, and PUT
# over https (port 443).
HTTPS_PUT = """
const https = require("https");
const url = require("url");
exports.handler = (event) => new Promise((resolve, reject) => {
  const parsed = url.parse(event.url);
  const body = JSON.stringify({ Status: "SUCCESS" });
  const request = https.request({ hostname: parsed.hostname, path: parsed.path, method: "PUT",
                                  headers: { "content-type": "", "content-length": Buffer.byteLength(body) } },
                                (response) => { response.resume(); resolve(response.statusCode); });
  request.on("error", reject);
  request.end(body);
});
"""


@pytest.fixture(scope="module")
def sdk():
    return node_sdk()


@pytest.fixture(scope="module")
def lam(client):
    return client("lambda")


@pytest.fixture(scope="module")
def table(client, sdk):
    name = "node-sdk-items"
    ddb = client("dynamodb")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return name


def create_node(lam, name: str, files: dict, handler: str = "index.handler") -> None:
    lam.create_function(FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler=handler, Timeout=30,
                        Code={"ZipFile": zip_files(files)})


def invoke(lam, name: str, payload: dict | None = None):
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode())
    body = json.loads(answer["Payload"].read())
    assert answer.get("FunctionError") is None, body
    return body


def _sdk_as_seen(sdk: str) -> str:
    """Where a function finds the SDK: at /var/runtime/node_modules as on AWS, when overcast runs as
    root (its sandbox's own mounts); else in its installed directory."""
    return "/var/runtime/node_modules" if os.geteuid() == 0 else os.path.realpath(sdk)


def test_commonjs_function_requires_the_sdk_it_does_not_bundle(lam, client, sdk, table, unique_name):
    name = unique_name("node-sdk")
    create_node(lam, name, {"index.js": CJS})
    body = invoke(lam, name, {"table": table})
    assert body["item"] == {"id": {"S": "cjs"}}
    assert body["from"].startswith(_sdk_as_seen(sdk) + os.sep)
    assert client("dynamodb").get_item(TableName=table, Key={"id": {"S": "cjs"}})["Item"] == {"id": {"S": "cjs"}}


def test_es_module_function_imports_the_sdk_it_does_not_bundle(lam, sdk, table, unique_name):
    name = unique_name("node-esm")
    create_node(lam, name, {"index.mjs": ESM})
    body = invoke(lam, name, {"table": table})
    assert body["item"] == {"id": "esm", "n": 2}
    assert body["from"].startswith("file://" + _sdk_as_seen(sdk) + os.sep)


@pytest.mark.parametrize("handler", ["index.handler", "esm.handler"])
def test_a_bundled_sdk_wins_over_the_runtimes(lam, sdk, unique_name, handler):
    name = unique_name("node-bundled")
    create_node(lam, name, BUNDLED, handler=handler)
    assert invoke(lam, name) is True


def test_https_to_overcasts_host_without_a_port_reaches_overcast(lam, client, sdk, unique_name):
    s3 = client("s3")
    bucket = unique_name("responses")
    s3.create_bucket(Bucket=bucket)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "answer"}, ExpiresIn=600)
    name = unique_name("node-https")
    create_node(lam, name, {"index.js": HTTPS_PUT})
    assert invoke(lam, name, {"url": url}) == 200
    assert json.loads(s3.get_object(Bucket=bucket, Key="answer")["Body"].read()) == {"Status": "SUCCESS"}


FETCH = """
exports.handler = async (event) => {
  const response = await fetch(event.url, event.init);
  return { status: response.status, text: await response.text() };
};
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_fetch_over_https_to_overcast_follows_its_redirects(lam, client, unique_name):
    s3 = client("s3")
    site, moved = unique_name("site"), unique_name("moved")
    s3.create_bucket(Bucket=site)
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    s3.put_object(Bucket=site, Key="a/index.html", Body=b"the page", ContentType="text/html")
    s3.create_bucket(Bucket=moved)  # every request: 301 to https://{site}'s website host, the same path
    s3.put_bucket_website(Bucket=moved, WebsiteConfiguration={"RedirectAllRequestsTo": {
        "HostName": f"{site}.s3-website.localhost.localstack.cloud", "Protocol": "https"}})
    name = unique_name("node-fetch")
    create_node(lam, name, {"index.js": FETCH})
    url = f"https://{moved}.s3-website.localhost.localstack.cloud/a/"
    assert invoke(lam, name, {"url": url}) == {"status": 200, "text": "the page"}
    assert invoke(lam, name, {"url": url, "init": {"redirect": "manual"}})["status"] == 301
    s3.put_object(Bucket=site, Key="direct.txt", Body=b"direct")
    direct = f"https://{site}.s3-website.localhost.localstack.cloud/direct.txt"
    assert invoke(lam, name, {"url": direct}) == {"status": 200, "text": "direct"}
