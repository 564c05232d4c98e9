"""Large bodies (S3 objects, Lambda code, Firehose output, Athena results): `BlobStore`.

Two stores keep the same interface, so that the services never see where a body lives:

- `FileBlobStore` (SQLite, the default): files under the data directory. A blob is written to a
  temporary name in the same directory and renamed into place, so a reader never sees a partial
  file and a crash leaves at most an orphaned temporary file (removed at the next start-up, with
  the blobs no row refers to: see `local_leftovers`, `orphans` and engine/startup.py).
- `PostgresBlobStore` (cluster mode, overcast/storage/pgblobs.py): chunks of a table in the
  database, the one thing a cluster's nodes share (docs/cluster.md says why).

Bodies move in and out in pieces (`create` -> a sink to `write` to and `commit`; `open` -> a
reader to `seek` and `read`), a megabyte or so at a time, so that no object is held whole in
memory. All methods block: the services call them in a thread (asyncio.to_thread), except for
bodies small enough to move in one go.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from typing import BinaryIO


class BlobSink:
    """A blob being written: `write` pieces in order, then `commit` (it appears whole, replacing
    any blob of the same key) or `abort` (nothing remains)."""

    size = 0

    def write(self, data) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class BlobStore:
    local: BlobStore  # a store on this machine's disk, for caches of this node alone (Athena's)

    def put(self, key: str, data: bytes | Iterable[bytes]) -> int:
        """Write a blob atomically; returns its size in bytes."""
        sink = self.create(key)
        try:
            for chunk in (data,) if isinstance(data, bytes | bytearray | memoryview) else data:
                sink.write(chunk)
        except BaseException:
            sink.abort()
            raise
        sink.commit()
        return sink.size

    def create(self, key: str) -> BlobSink:
        raise NotImplementedError

    def get(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def open(self, key: str) -> BinaryIO:
        """A reader of the blob (read, seek, tell, close; a context manager); FileNotFoundError
        when there is none."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def concatenate(self, keys: list[str], key: str) -> int:
        """A new blob `key` made of the given blobs end to end; returns its size."""
        raise NotImplementedError

    def local_path(self, key: str) -> str:
        """A file on this machine holding the blob's bytes, for code that needs a path (Lambda
        unpacks a zip). Only for blobs whose key names their content: a copy may be reused."""
        raise NotImplementedError

    def clear(self, prefix: str) -> None:
        """Delete every blob under `prefix/` (a service's reset)."""
        raise NotImplementedError

    def orphan_candidates(self, prefixes: list[str], before: float) -> dict[str, list[str]]:
        """{prefix: keys of the blobs under it written before `before`} (epoch seconds), for
        their service to say which it still references (engine/startup.py)."""
        raise NotImplementedError

    def drop_unfinished(self, before: float) -> int:
        """Remove blobs begun before `before` and never committed (a crash's); returns how many."""
        return 0

    def may_have_leftovers(self) -> bool:
        """Whether a start-up sweep could find anything (cheap: nothing to sweep in a fresh store)."""
        return True


class _FileSink(BlobSink):
    def __init__(self, path: str):
        self.path = path
        self.tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.file = open(self.tmp, "wb")
        self.size = 0

    def write(self, data) -> None:
        self.file.write(data)
        self.size += len(data)

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


class FileBlobStore(BlobStore):
    def __init__(self, root: str):
        self.root = root
        self.local = self
        os.makedirs(root, exist_ok=True)

    def path(self, key: str) -> str:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"invalid blob key {key!r}")
        return os.path.join(self.root, key)

    def create(self, key: str) -> BlobSink:
        return _FileSink(self.path(key))

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

    def concatenate(self, keys: list[str], key: str) -> int:
        sink = _FileSink(self.path(key))
        try:
            out = sink.file
            for part in keys:
                with open(self.path(part), "rb") as src:
                    left = os.fstat(src.fileno()).st_size
                    sink.size += left
                    out.flush()
                    while left > 0:
                        try:
                            n = os.copy_file_range(src.fileno(), out.fileno(), left)
                        except OSError:
                            n = 0
                        if n <= 0:
                            out.write(src.read())
                            out.flush()
                            break
                        left -= n
        except BaseException:
            sink.abort()
            raise
        sink.commit()
        return sink.size

    def local_path(self, key: str) -> str:
        return self.path(key)

    def clear(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    def orphan_candidates(self, prefixes: list[str], before: float) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for prefix in prefixes:
            keys = found[prefix] = []
            for directory, _dirs, files in os.walk(os.path.join(self.root, prefix)):
                relative = os.path.relpath(directory, self.root)
                keys.extend(f"{relative}/{name}" for name in files
                            if not is_temporary(name) and _older(os.path.join(directory, name), before))
        return found

    def may_have_leftovers(self) -> bool:
        return _has_files(self.root)


def is_temporary(name: str) -> bool:
    """A name written before its rename into place: `x.tmp`, `x.tmp-<random>` (files, and the
    directories Lambda code is unpacked into)."""
    return name.endswith(".tmp") or ".tmp-" in name


def local_leftovers(root: str, before: float) -> list[str]:
    """The temporary files and directories a crash may have left under `root` (the data
    directory) from before `before` (epoch seconds; younger ones belong to the running server).
    Walks the disk: call it in a thread."""
    temporary: list[str] = []
    for directory, dirs, files in os.walk(root):
        for name in [d for d in dirs if is_temporary(d)]:
            dirs.remove(name)
            temporary.append(os.path.join(directory, name))
        temporary.extend(os.path.join(directory, name) for name in files if is_temporary(name))
    return [path for path in temporary if _older(path, before)]


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


def _has_files(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(True for _ in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False
