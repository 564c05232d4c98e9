"""Function and layer code: zips stored as content-addressed blobs, unpacked once per code version."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import uuid
import zipfile

from overcast.aws.errors import AwsError

MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 262_144_000


def unzip_error() -> AwsError:
    return AwsError("InvalidParameterValueException",
                    "Could not unzip uploaded file. Please check your file, then try to upload again.", Type="User")


def inspect_zip(data: bytes) -> tuple[str, str]:
    """Validate a zip; returns (CodeSha256 base64, sha hex).

    Everything that would make unpacking fail at the first invoke is refused here, at upload, as
    Lambda refuses a package it cannot unzip: a corrupt archive or member (CRCs checked), a path
    that is absolute or climbs out with `..`, a name the file system cannot hold, and one path
    that is both a file and a directory (`a` beside `a/b`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            total = sum(info.file_size for info in infos)
            if total < MAX_UNZIPPED:
                _check_paths(infos)
                if archive.testzip() is not None:
                    raise unzip_error()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError):
        # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression method
        raise unzip_error() from None
    if total >= MAX_UNZIPPED:  # "smaller than": a package of exactly the limit is refused (AWS's recorded answer)
        raise AwsError("InvalidParameterValueException", f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes",
                       Type="User")
    digest = hashlib.sha256(data).digest()
    return base64.b64encode(digest).decode(), digest.hex()


MAX_NAME_BYTES = 255  # one path component, as Linux file systems allow
MAX_PATH_BYTES = 4095


def _check_paths(infos: list) -> None:
    files: set[tuple] = set()
    directories: set[tuple] = set()
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = tuple(p for p in name.split("/") if p not in ("", "."))
        if name.startswith("/") or ".." in parts:
            raise unzip_error()
        if len(name.encode()) > MAX_PATH_BYTES or any(len(p.encode()) > MAX_NAME_BYTES for p in parts):
            raise unzip_error()
        if not parts:
            continue
        directories.update(parts[:i] for i in range(1, len(parts)))
        (directories if info.is_dir() else files).add(parts)
    if files & directories:
        raise unzip_error()


def unpack(zip_path: str, target: str) -> str:
    """Unpack a zip into `target` once (atomic rename of a temporary directory); keeps Unix modes."""
    if os.path.isdir(target):
        return target
    temporary = f"{target}.tmp-{uuid.uuid4().hex}"
    os.makedirs(temporary)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                name = info.filename
                parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
                if not parts or ".." in parts:
                    continue
                destination = os.path.join(temporary, *parts)
                if info.is_dir():
                    os.makedirs(destination, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(destination), exist_ok=True)
                with archive.open(info) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(destination, mode | stat.S_IRUSR)
        try:
            os.rename(temporary, target)
        except OSError:  # another unpack won the race
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return target
