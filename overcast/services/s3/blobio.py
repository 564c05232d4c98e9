"""Object bodies in the blob store (files, or PostgreSQL in cluster mode): streamed in from the
request (hashing as they go), streamed out in ranges, copied and concatenated. Blob I/O and
hashing run in a thread, a megabyte at a time, so the event loop keeps serving other requests
while a large object moves."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator

from overcast.aws.context import BodyStream
from overcast.aws.errors import AwsError
from overcast.services.s3.checksums import AwsChunkedDecoder, new_hasher
from overcast.storage import BlobStore

BATCH = 1 << 20  # bytes handed to the writer thread at a time
WINDOW = 4  # batches in flight (written and hashed in threads) while more are received
READ_CHUNK = 1 << 20
INLINE = 256 * 1024  # bodies up to this size are written on the event loop in one go
INLINE_DB = 64 * 1024  # objects up to this size live in the database row, not in a file


class Payload:
    """A request body as the provider sees it: chunks (aws-chunked already decoded) and, once
    read, the trailers that came after them."""

    def __init__(self, stream: BodyStream | None, body: bytes = b"", chunked: bool = False, check=None):
        self.stream = stream
        self.body = body
        # check: overcast.aws.signing.PayloadCheck when signatures are verified (chunk signatures
        # are checked by the decoder; a plain body's hash here)
        self.decoder = AwsChunkedDecoder(check if check is not None and check.chunked else None) if chunked else None
        self.check = check if check is not None and not check.chunked else None
        self.size = 0

    @property
    def trailers(self) -> dict[str, str]:
        return self.decoder.trailers if self.decoder is not None else {}

    async def chunks(self) -> AsyncIterator:
        decoder = self.decoder
        if self.stream is None:
            source = _once(self.body)
        else:
            source = self.stream.chunks()
        check = self.check
        async for chunk in source:
            if decoder is None:
                self.size += len(chunk)
                if check is not None:
                    check.data(chunk)
                yield chunk
            else:
                for piece in decoder.feed(chunk):
                    self.size += len(piece)
                    if check is not None:
                        check.data(piece)
                    yield piece
        if decoder is not None and not decoder.done:
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly")
        if check is not None:
            check.end()

    async def read(self, limit: int) -> bytes:
        parts, size = [], 0
        async for chunk in self.chunks():
            parts.append(bytes(chunk))
            size += len(chunk)
            if size > limit:
                raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        return b"".join(parts)

    async def drain(self) -> None:
        if self.stream is not None:
            await self.stream.drain()


async def _once(body: bytes):
    if body:
        yield body


def new_blob_key() -> str:
    name = uuid.uuid4().hex
    return f"s3/{name[:2]}/{name}"


class BlobWriter:
    """Writes a new blob through the store's sink, hashing MD5 and the asked-for checksums on the
    way; `commit` makes it appear whole."""

    def __init__(self, blobs: BlobStore, algorithms=(), inline_limit: int = 0):
        self.inline_limit = inline_limit
        self.data: bytes | None = None  # the body, when it was small enough to keep in the database
        self._blobs = blobs
        self.key = None  # named when a blob is needed (_open)
        self.md5 = hashlib.md5()
        self.hashers = {alg: new_hasher(alg) for alg in algorithms}
        self.size = 0
        self._sink = None

    def _open(self):
        self.key = new_blob_key()
        self._sink = self._blobs.create(self.key)

    def _write(self, batch: list) -> None:
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        self._write_file(data)
        self._hash(data)

    def _write_file(self, data) -> None:
        self._sink.write(data)
        self.size += len(data)

    def _hash(self, data) -> None:
        self.md5.update(data)
        for h in self.hashers.values():
            h.update(data)

    async def _write_async(self, batch: list, previous: asyncio.Future | None) -> None:
        """Write and hash a batch in two threads at once (both release the GIL): MD5 is the
        slowest step of an upload, and the disk write overlaps it. Batches are chained so they
        are written and hashed in order while the loop goes on receiving the next ones."""
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        if previous is not None:
            await previous
        await asyncio.gather(asyncio.to_thread(self._write_file, data), asyncio.to_thread(self._hash, data))

    async def write_from(self, chunks: AsyncIterator, limit: int | None = None) -> None:
        """Write the chunks; a body that ends within INLINE bytes is written on the loop in one
        go (cheaper than thread hand-offs), a bigger one a megabyte at a time in threads."""
        in_flight: list[asyncio.Future] = []  # batches being written and hashed, oldest first
        batch, size = [], 0
        opened = False
        try:
            async for chunk in chunks:
                batch.append(chunk)
                size += len(chunk)
                if size >= BATCH:
                    if not opened:
                        await asyncio.to_thread(self._open)
                        opened = True
                    previous = in_flight[-1] if in_flight else None
                    in_flight.append(asyncio.ensure_future(self._write_async(batch, previous)))
                    batch, size = [], 0
                    if len(in_flight) > WINDOW:  # bound memory: at most WINDOW MiB waiting
                        await in_flight.pop(0)
                    if limit is not None and self.size > limit:
                        raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
            if not opened and self.inline_limit and size <= self.inline_limit:
                self.data = b"".join(bytes(c) for c in batch)
                self._hash(self.data)
                self.size = len(self.data)
                self.key = None
                return
            if not opened and size <= INLINE:
                self._open()
                if batch:
                    self._write(batch)
                return
            if not opened:
                await asyncio.to_thread(self._open)
            while in_flight:
                await in_flight.pop(0)
            if batch:
                await asyncio.to_thread(self._write, batch)
        except BaseException:
            for future in in_flight:
                try:
                    await future
                except Exception:
                    pass
            await asyncio.to_thread(self.abort)
            raise

    async def finish(self) -> None:
        """Rename the blob into place (in a thread unless it is small)."""
        if self.data is not None:
            return
        if self.size <= INLINE:
            self.commit()
        else:
            await asyncio.to_thread(self.commit)

    def write_bytes(self, data: bytes) -> None:
        self._open()
        self._write([data])

    def commit(self) -> None:
        self._sink.commit()

    def abort(self) -> None:
        if self.data is not None or self._sink is None:
            return
        self._sink.abort()

    def checksum(self, algorithm: str) -> bytes:
        return self.hashers[algorithm].digest()


class BlobBody:
    """A response body read from a blob: `length` bytes from `start`."""

    def __init__(self, blobs: BlobStore, key: str, start: int, length: int):
        self.blobs, self.key, self.start, self.length = blobs, key, start, length

    def __aiter__(self):
        return self._read()

    async def _read(self):
        """Chunks of the range; the next chunk is read (in a thread) while this one is sent."""
        f = await asyncio.to_thread(self.blobs.open, self.key)
        try:
            if self.start:
                f.seek(self.start)
            left = self.length
            pending = asyncio.ensure_future(asyncio.to_thread(f.read, min(READ_CHUNK, left))) if left else None
            while pending is not None:
                chunk = await pending
                left -= len(chunk)
                pending = None
                if chunk and left > 0:
                    pending = asyncio.ensure_future(asyncio.to_thread(f.read, min(READ_CHUNK, left)))
                if not chunk:
                    break
                yield chunk
        finally:
            if pending is not None:
                try:
                    await pending
                except Exception:
                    pass
            await asyncio.to_thread(f.close)


def copy_range_into(writer: BlobWriter, blobs: BlobStore, key: str, start: int, length: int) -> None:
    """Copy a byte range of a blob into a writer (in the calling thread), hashing it."""
    if writer._sink is None:
        writer._open()
    with blobs.open(key) as src:
        src.seek(start)
        left = length
        while left > 0:
            data = src.read(min(READ_CHUNK * 4, left))
            if not data:
                break
            writer._write([data])
            left -= len(data)


def concatenate(blobs: BlobStore, keys: list[str]) -> tuple[str, int]:
    """A new blob made of the given blobs end to end (in the calling thread); returns (key, size)."""
    key = new_blob_key()
    return key, blobs.concatenate(keys, key)
