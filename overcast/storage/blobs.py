"""Large bodies (S3 objects, Lambda code, Firehose output) as files under the data directory.

A blob is written to a temporary name in the same directory and renamed into place, so a reader
never sees a partial file and a crash leaves at most an orphaned temporary file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable


class BlobStore:
    def __init__(self, root: str):
        self.root = root
        os.makedirs(root, exist_ok=True)

    def path(self, key: str) -> str:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"invalid blob key {key!r}")
        return os.path.join(self.root, key)

    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        """Write a blob atomically; returns its size in bytes."""
        final = self.path(key)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        temporary = f"{final}.tmp-{uuid.uuid4().hex}"
        size = 0
        try:
            with open(temporary, "wb") as f:
                chunks = (data,) if isinstance(data, bytes | bytearray | memoryview) else data
                for chunk in chunks:
                    f.write(chunk)
                    size += len(chunk)
            os.replace(temporary, final)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return size

    def get(self, key: str) -> bytes:
        with open(self.path(key), "rb") as f:
            return f.read()

    def open(self, key: str):
        return open(self.path(key), "rb")

    def exists(self, key: str) -> bool:
        return os.path.exists(self.path(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass
