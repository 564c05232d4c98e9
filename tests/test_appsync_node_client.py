"""AWS's own JavaScript client (Amplify v6, `aws-amplify/api`) against overcast: a query, a
mutation and a subscription over the real-time endpoint, with Node.

Needs `node` and the npm packages installed where OVERCAST_NODE_CLIENTS points (default
/tmp/overcast-node-clients); skipped otherwise:

    npm install --prefix /tmp/overcast-node-clients --no-audit --no-fund aws-amplify@6 ws@8

Amplify always dials `wss://`; overcast serves plain `ws://`, so the script's WebSocket downgrades
the scheme (the only shim)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from appsync_support import create_api, graphql_url

CLIENTS = os.environ.get("OVERCAST_NODE_CLIENTS", "/tmp/overcast-node-clients")

SCRIPT = r"""
import WebSocket from 'ws';
globalThis.WebSocket = class extends WebSocket {
  constructor(url, protocols) { super(String(url).replace(/^wss:\/\//, 'ws://'), protocols); }
};
const { Amplify } = await import('aws-amplify');
const { generateClient } = await import('aws-amplify/api');
const [endpoint, apiKey] = process.argv.slice(2);
Amplify.configure({ API: { GraphQL: { endpoint, region: 'us-east-1', defaultAuthMode: 'apiKey', apiKey } } });
const client = generateClient();
const received = new Promise((resolve, reject) => {
  client.graphql({ query: 'subscription { onAddPost(author: "node") { id author title } }' })
    .subscribe({ next: ({ data }) => resolve(data), error: (e) => reject(new Error(JSON.stringify(e))) });
  setTimeout(() => reject(new Error('no subscription data within 15 s')), 15000);
});
await new Promise((r) => setTimeout(r, 1000));
const pinged = await client.graphql({ query: '{ ping }' });
await client.graphql({ query: 'mutation { addPost(id: "x", author: "someone else") { id author title } }' });
const added = await client.graphql({ query: 'mutation { addPost(id: "n1", author: "node", title: "from node") { id author title } }' });
console.log(JSON.stringify({ query: pinged.data, mutation: added.data, subscription: await received }));
process.exit(0);
"""

SCHEMA = """
type Query { ping: String }
type Mutation { addPost(id: ID!, author: String!, title: String): Post }
type Post { id: ID! author: String title: String }
type Subscription { onAddPost(author: String): Post @aws_subscribe(mutations: ["addPost"]) }
"""


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(CLIENTS, "node_modules", "aws-amplify")),
                    reason=f"node and aws-amplify (npm install --prefix {CLIENTS} aws-amplify@6 ws@8) are needed")
def test_amplify_client_queries_mutates_and_subscribes(client, endpoint, unique_name):
    appsync = client("appsync")
    api_id, key = create_api(appsync, unique_name("amplify"), SCHEMA)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="ping", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": "pong"}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    appsync.create_resolver(apiId=api_id, typeName="Mutation", fieldName="addPost", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    script = os.path.join(CLIENTS, f"appsync-{unique_name('s')}.mjs")
    with open(script, "w") as f:
        f.write(SCRIPT)
    try:
        run = subprocess.run(["node", script, graphql_url(endpoint, api_id), key], capture_output=True, text=True,
                             timeout=60, cwd=CLIENTS)
    finally:
        os.unlink(script)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    post = {"id": "n1", "author": "node", "title": "from node"}
    assert out == {"query": {"ping": "pong"}, "mutation": {"addPost": post}, "subscription": {"onAddPost": post}}
