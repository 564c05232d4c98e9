"""API Gateway WebSocket connections at scale: hold N idle connections, then PostToConnection to
1,000 of them and time until every one has its message.

    .venv/bin/python bench/websocket_bench.py [connections=5000] [posts=1000]

Each connection is a socket on both ends (client and server here, one machine): 5,000 connections
need ~10,000 file descriptors. The bench raises its own soft limit (RLIMIT_NOFILE) to the hard
limit, and the server it starts inherits it; raise the hard limit with `ulimit -n 20000` (or
more) in the shell when it is lower.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boto3  # noqa: E402
import websockets  # noqa: E402
from common import AUTH, Server  # noqa: E402


def raise_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(wanted, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def make_api(endpoint: str) -> str:
    gw = boto3.client("apigatewayv2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    api_id = gw.create_api(Name="bench", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action")["ApiId"]
    integration = gw.create_integration(ApiId=api_id, IntegrationType="MOCK",
                                        RequestTemplates={"application/json": '{"statusCode": 200}'})
    # a route that answers the connection its id: {"action": "whoami"}
    gw.create_integration_response(ApiId=api_id, IntegrationId=integration["IntegrationId"],
                                   IntegrationResponseKey="$default",
                                   ResponseTemplates={"application/json": "${context.connectionId}"})
    route = gw.create_route(ApiId=api_id, RouteKey="whoami", Target="integrations/" + integration["IntegrationId"],
                            RouteResponseSelectionExpression="$default")
    gw.create_route_response(ApiId=api_id, RouteId=route["RouteId"], RouteResponseKey="$default")
    gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
    return api_id


POSTERS = 4


def post_many(endpoint: str, connection_ids: list[str]) -> int:
    """PostToConnection to each id over one keep-alive connection; returns how many got 200."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"authorization": AUTH.format(service="execute-api"), "content-type": "application/json"}
    ok = 0
    for connection_id in connection_ids:
        conn.request("POST", f"/@connections/{connection_id}", body=b'{"stock": 3}', headers=headers)
        response = conn.getresponse()
        response.read()
        ok += response.status == 200
    conn.close()
    return ok


async def main(count: int, posts: int, pool) -> None:
    limit = raise_file_limit(2 * count + 500)
    if limit < 2 * count + 200:
        print(f"open-file limit {limit} is too low for {count} connections: run `ulimit -n {2 * count + 500}`")
        return
    server = Server()
    try:
        endpoint = server.endpoint
        api_id = make_api(endpoint)
        url = f"ws://{endpoint.split('://', 1)[1]}/_aws/execute-api/{api_id}/prod"
        rss_before = server.rss_mb()
        started = time.perf_counter()
        sockets: list = []
        errors = 0

        async def open_one():
            nonlocal errors
            try:
                ws = await websockets.connect(url, compression=None, open_timeout=60, ping_interval=None)
                sockets.append(ws)
            except Exception as e:  # noqa: BLE001
                errors += 1
                if errors <= 3:
                    print("connect failed:", repr(e))

        batch = 200
        for i in range(0, count, batch):
            await asyncio.gather(*(open_one() for _ in range(min(batch, count - i))))
        opened = time.perf_counter() - started
        print(f"{len(sockets)} connections open in {opened:.2f} s ({len(sockets) / opened:.0f}/s), {errors} errors; "
              f"server RSS {rss_before:.0f} -> {server.rss_mb():.0f} MB")

        # every connection learns its id
        ids = []
        for ws in sockets[:posts]:
            await ws.send('{"action": "whoami"}')
        for ws in sockets[:posts]:
            ids.append(await asyncio.wait_for(ws.recv(), 30))
        await asyncio.sleep(1.0)
        alive = sum(1 for ws in sockets if ws.state.name == "OPEN")
        print(f"after 1 s idle: {alive}/{len(sockets)} still open")

        # the posts come from other processes (a backend fanning out), so that this process's
        # event loop only receives
        receivers = [asyncio.ensure_future(ws.recv()) for ws in sockets[:posts]]
        loop = asyncio.get_running_loop()
        chunks = [ids[i::POSTERS] for i in range(POSTERS)]
        started = time.perf_counter()
        results = await asyncio.gather(*(loop.run_in_executor(pool, post_many, endpoint, chunk) for chunk in chunks))
        posted = time.perf_counter() - started
        received = await asyncio.wait_for(asyncio.gather(*receivers), 30)
        delivered = time.perf_counter() - started
        ok = sum(results)
        right = sum(1 for r in received if r == '{"stock": 3}')
        print(f"PostToConnection x{len(ids)} from {POSTERS} processes: {ok} answered 200 in {posted:.2f} s; all {right} delivered in "
              f"{delivered:.2f} s ({len(ids) / delivered:.0f}/s)   target: 1,000 within 2 s")
        # message round trips on one connection: route selection, MOCK integration, route response
        ws = sockets[0]
        times = []
        for _ in range(1000):
            begin = time.perf_counter()
            await ws.send('{"action": "whoami"}')
            await ws.recv()
            times.append((time.perf_counter() - begin) * 1000)
        times.sort()
        print(f"message round trip (MOCK route, x1000, {len(sockets)} connections open): "
              f"p50 {times[500]:.2f} ms  p99 {times[990]:.2f} ms")
        started = time.perf_counter()
        await asyncio.gather(*(ws.close() for ws in sockets))
        print(f"closed {len(sockets)} connections in {time.perf_counter() - started:.2f} s; "
              f"server RSS {server.rss_mb():.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(POSTERS) as workers:  # started before any socket is opened
        list(workers.map(abs, range(POSTERS)))
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, int(sys.argv[2]) if len(sys.argv) > 2 else 1000,
                         workers))
