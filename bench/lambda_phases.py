"""Where a warm Lambda invoke's time goes, in process (the ASGI app called directly, no client):
the server's work before the event reaches the runtime (request in -> event written to its parked
GET /next), the runtime's turn (event written -> its /response read), the server's work after
(/response read -> answer sent), beside a GetAccountSettings on the same app (request in -> answer).
The sandbox is a real runtime process (awslambdaric), as in a server.

    .venv/bin/python bench/lambda_phases.py [invokes]
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import statistics
import sys
import tempfile
import time
import zipfile

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inprocess import rest  # noqa: E402

from overcast.config import Config  # noqa: E402
from overcast.runtime import api  # noqa: E402
from overcast.runtime.sandbox import Sandbox  # noqa: E402
from overcast.server import OvercastApp  # noqa: E402

marks: dict[str, float] = {}


def _mark_event(respond):
    def wrapped(self, status, body=b"", headers=None):
        if headers and headers[0][0] == "Lambda-Runtime-Aws-Request-Id":  # the event, to the parked GET /next
            marks["event"] = time.perf_counter()
        return respond(self, status, body, headers)
    return wrapped


def _mark_response(on_request):
    def wrapped(self, conn, method, target, headers, body):
        if method == "POST":
            marks["response"] = time.perf_counter()
        return on_request(self, conn, method, target, headers, body)
    return wrapped


async def run(count: int) -> None:
    api.RuntimeConnection.respond = _mark_event(api.RuntimeConnection.respond)
    Sandbox.on_request = _mark_response(Sandbox.on_request)
    app = OvercastApp(Config(data_dir=tempfile.mkdtemp(prefix="overcast-phases-"), ephemeral=True))
    app.open()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'hello': 'world'}\n")
    status, body = await rest(app, "lambda", "POST", "/2015-03-31/functions", orjson.dumps({
        "FunctionName": "bench", "Runtime": "python3.11", "Handler": "app.handler",
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Code": {"ZipFile": base64.b64encode(archive.getvalue()).decode()}}))
    assert status == 201, body
    before, runtime, after, invokes, floor = [], [], [], [], []
    for n in range(count + 50):  # the first 50: warm-up
        start = time.perf_counter()
        status, body = await rest(app, "lambda", "POST", "/2015-03-31/functions/bench/invocations", b'{"n": 1}')
        end = time.perf_counter()
        assert status == 200, body
        await asyncio.sleep(0.0005)  # what follows the answer (the log lines' write, the runtime's 202)
        floor_start = time.perf_counter()
        status, _ = await rest(app, "lambda", "GET", "/2016-08-19/account-settings/", b"")
        floor_end = time.perf_counter()
        assert status == 200
        if n >= 50:
            before.append(marks["event"] - start)
            runtime.append(marks["response"] - marks["event"])
            after.append(end - marks["response"])
            invokes.append(end - start)
            floor.append(floor_end - floor_start)
    await app.close()

    def p50(values: list[float]) -> float:
        return statistics.median(values) * 1e6

    print(f"load average {os.getloadavg()[0]:.1f}, {count} warm invokes, p50 in us:")
    print(f"  invoke {p50(invokes):.0f} = server before the event {p50(before):.0f} + runtime {p50(runtime):.0f}"
          f" + server after the /response {p50(after):.0f}")
    print(f"  GetAccountSettings {p50(floor):.0f}")


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
