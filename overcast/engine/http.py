"""A small asyncio HTTP/1.1 client for outgoing deliveries (SNS HTTP/S subscriptions, EventBridge
API destinations): one request per connection, a timeout, no dependencies."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

_SSL: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    # Local HTTPS endpoints are usually self-signed: deliveries do not verify certificates.
    global _SSL
    if _SSL is None:
        _SSL = ssl.create_default_context()
        _SSL.check_hostname = False
        _SSL.verify_mode = ssl.CERT_NONE
    return _SSL


class HttpError(Exception):
    """The request could not be made (connection refused, timeout, bad URL)."""


async def request(method: str, url: str, body: bytes = b"", headers: dict | None = None,
                  timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """Send one request; returns (status, lower-cased headers, body)."""
    try:
        return await asyncio.wait_for(_request(method, url, body, headers or {}), timeout)
    except TimeoutError:
        raise HttpError(f"timed out after {timeout} s") from None
    except (OSError, ValueError, asyncio.IncompleteReadError) as e:
        raise HttpError(str(e) or type(e).__name__) from None


async def _request(method, url, body, headers):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=_ssl_context() if secure else None,
        server_hostname=parts.hostname if secure else None,
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise OSError("connection closed without a response")
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            response_headers[name.strip().lower()] = value.strip()
        if "content-length" in response_headers:
            data = await reader.readexactly(int(response_headers["content-length"]))
        elif response_headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readline()
                    break
                chunks.append(await reader.readexactly(size))
                await reader.readline()
            data = b"".join(chunks)
        else:
            data = await reader.read(10 * 1024 * 1024)
        return status, response_headers, data
    finally:
        writer.close()
