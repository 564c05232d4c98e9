"""The HTTP/1.1 connection's cost per request, no sockets: overcast's httptools protocol (the one
the server runs) fed N keep-alive requests whose ASGI app answers with an SQS-sized set of headers,
for deterministic instruction counts of a change to the server's read or write path.

    .venv/bin/python bench/http1_write.py [count]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/http1_write.py N

Instructions per request: run callgrind with two values of N and divide the difference of the
"Collected" totals by the difference of N (start-up cancels out).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import uvicorn  # noqa: E402
from uvicorn.server import ServerState  # noqa: E402

from overcast.connections import protocol_class  # noqa: E402

REQUEST = (b"POST / HTTP/1.1\r\nHost: localhost:4566\r\nContent-Type: application/x-amz-json-1.0\r\n"
           b"X-Amz-Target: AmazonSQS.SendMessage\r\nContent-Length: 2\r\n\r\n{}")
BODY = b'{"MD5OfMessageBody":"99914b932bd37a50b983c5e7c90ae93b","MessageId":"6b1f0a52-1f0e-4b8f"}'
HEADERS = [(b"x-amzn-RequestId", b"0b3f5c2e-6d1a-4c55-9f7e-2d7b3a9e1c44"), (b"content-type", b"application/x-amz-json-1.0"),
           (b"content-length", b"%d" % len(BODY)), (b"Access-Control-Allow-Origin", b"*")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


class Transport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.written = 0
        self.closing = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 4566), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data):
        self.written += len(data)

    def is_closing(self):
        return self.closing

    def close(self):
        self.closing = True

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


async def main(count: int) -> None:
    config = uvicorn.Config(app, access_log=False, date_header=True, server_header=False, lifespan="off")
    config.load()
    protocol = protocol_class(1 << 16, 64 * 1024, 60.0)(config, ServerState(), {}, asyncio.get_running_loop())
    transport = Transport()
    protocol.connection_made(transport)
    started = time.perf_counter()
    for _ in range(count):
        protocol.data_received(REQUEST)
        await protocol.cycle.message_event.wait()
        while not protocol.cycle.response_complete:
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    protocol.connection_lost(None)
    print(f"{count} requests, {transport.written:,} bytes written, {elapsed / count * 1e6:.1f} us/request")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
