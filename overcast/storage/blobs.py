"""Large bodies (S3 objects, Lambda code, Firehose output) as files under the data directory.

A blob is written to a temporary name in the same directory and renamed into place, so a reader
never sees a partial file and a crash leaves at most an orphaned temporary file (removed at the
next start-up, with the blobs no row refers to: see `leftovers` and engine/startup.py).
"""

from __future__ import annotations

import os
import shutil
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


def is_temporary(name: str) -> bool:
    """A name written before its rename into place: `x.tmp`, `x.tmp-<random>` (files, and the
    directories Lambda code is unpacked into)."""
    return name.endswith(".tmp") or ".tmp-" in name


def leftovers(root: str, prefixes: Iterable[str], before: float) -> tuple[list[str], dict[str, list[str]]]:
    """What a crash may have left under `root` (the data directory) from before `before` (epoch
    seconds; younger files belong to the running server): (temporary paths, {prefix: keys of the
    blobs under blobs/<prefix>}), the latter for their service to say which it still references.
    Walks the disk: call it in a thread."""
    temporary: list[str] = []
    blob_root = os.path.join(root, "blobs")
    for directory, dirs, files in os.walk(root):
        for name in [d for d in dirs if is_temporary(d)]:
            dirs.remove(name)
            temporary.append(os.path.join(directory, name))
        temporary.extend(os.path.join(directory, name) for name in files if is_temporary(name))
    temporary = [path for path in temporary if _older(path, before)]
    blobs: dict[str, list[str]] = {}
    for prefix in prefixes:
        keys = blobs[prefix] = []
        for directory, _dirs, files in os.walk(os.path.join(blob_root, prefix)):
            relative = os.path.relpath(directory, blob_root)
            keys.extend(f"{relative}/{name}" for name in files
                        if not is_temporary(name) and _older(os.path.join(directory, name), before))
    return temporary, blobs


def remove(paths: Iterable[str]) -> int:
    """Delete files and directories (a crash's leftovers); returns how many were removed."""
    removed = 0
    for path in paths:
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _older(path: str, before: float) -> bool:
    try:
        return os.lstat(path).st_mtime < before
    except FileNotFoundError:
        return False
