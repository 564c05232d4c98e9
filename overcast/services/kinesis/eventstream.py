"""The `application/vnd.amazon.eventstream` binary framing (what SubscribeToShard answers with):
each message is [total length][headers length][prelude CRC][headers][payload][message CRC],
big-endian, CRC32; headers here are strings (type 7)."""

from __future__ import annotations

import struct
import zlib


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v


def message(headers: dict[str, str], payload: bytes) -> bytes:
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def event(event_type: str, payload: bytes) -> bytes:
    return message({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                   payload)


def exception(code: str, text: str) -> bytes:
    return message({":exception-type": code, ":content-type": "application/json", ":message-type": "exception"},
                   b'{"message":"' + text.replace('"', "'").encode() + b'"}')
