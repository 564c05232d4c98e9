"""The X-Ray daemon's UDP port, served by overcast itself.

The X-Ray SDKs do not call PutTraceSegments: they send each segment or subsegment as one UDP
datagram, `{"format": "json", "version": 1}` + newline + the document, to the daemon at
AWS_XRAY_DAEMON_ADDRESS (Lambda sets it for every function). overcast listens on UDP at its own
port number (OVERCAST_XRAY_DAEMON_PORT chooses another, or `off`), gives that address to its
functions, and takes each datagram as PutTraceSegments would. The X-Ray API itself is not signed
over this path: like the daemon, overcast files the segment under the account and region of the
trace it belongs to (a function's invocation), else the default account and us-east-1.
"""

from __future__ import annotations

import asyncio
import logging

import orjson

log = logging.getLogger("overcast.xray")

HEADER = {"format": "json", "version": 1}
MAX_WAITING = 1000  # datagrams kept while the X-Ray provider starts


class DaemonProtocol(asyncio.DatagramProtocol):
    def __init__(self, providers):
        self.providers = providers
        self.provider = None
        self.waiting: list[bytes] = []

    def datagram_received(self, data: bytes, addr) -> None:
        header, newline, body = data.partition(b"\n")
        try:
            valid = newline and orjson.loads(header) == HEADER
        except orjson.JSONDecodeError:
            valid = False
        if not valid:
            log.debug("X-Ray daemon port: a datagram without the daemon header from %s dropped", addr)
            return
        if self.provider is None:
            if len(self.waiting) < MAX_WAITING:
                self.waiting.append(body)
            if len(self.waiting) == 1:
                asyncio.get_running_loop().create_task(self._load())
            return
        self._take(body)

    async def _load(self) -> None:
        try:
            self.provider = await self.providers.get("xray")
        except Exception:
            log.exception("the X-Ray provider did not start; segments from the daemon port dropped")
            self.waiting.clear()
            return
        waiting, self.waiting = self.waiting, []
        for body in waiting:
            self._take(body)

    def _take(self, body: bytes) -> None:
        try:
            self.provider.ingest_daemon(body.decode("utf-8", "replace"))
        except Exception:
            log.exception("a segment from the X-Ray daemon port could not be stored")


async def listen(providers, host: str, port: int):
    """Listen for daemon datagrams on (host, port); returns the transport and the address bound,
    or (None, None) when the port cannot be had (logged once)."""
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: DaemonProtocol(providers), local_addr=(host, port))
    except OSError as e:
        log.warning("the X-Ray daemon port %s:%s is not available (%s); functions' X-Ray SDKs cannot send segments",
                    host, port, e)
        return None, None
    bound = transport.get_extra_info("sockname")
    shown = "127.0.0.1" if bound[0] in ("0.0.0.0", "::") else bound[0]
    return transport, f"{shown}:{bound[1]}"
