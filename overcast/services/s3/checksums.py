"""S3's checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256; MD5 for ETags and Content-MD5), and the
aws-chunked content encoding that SDKs use to stream uploads with trailing checksums.

CRC32C and CRC64NVME come from awscrt (the library botocore itself uses for them)."""

from __future__ import annotations

import base64
import hashlib
import zlib

from overcast.aws.errors import AwsError

try:  # botocore's own CRC library; without it CRC32C and CRC64NVME answer NotImplemented
    from awscrt import checksums as _crt
except ImportError:  # pragma: no cover - awscrt is a dependency
    _crt = None

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
DEFAULT_ALGORITHM = "CRC64NVME" if _crt is not None else "CRC32"  # what S3 computes when asked for none
FULL_OBJECT_ONLY = frozenset(("CRC64NVME",))


class _Crc:
    __slots__ = ("kind", "value", "_fn", "_width")

    def __init__(self, kind: str):
        self.kind = kind
        self.value = 0
        if kind == "CRC32":
            self._fn, self._width = zlib.crc32, 4
        else:
            if _crt is None:
                raise AwsError("NotImplemented", f"{kind} needs the awscrt package, which is not installed.", 501,
                               sender_fault=False)
            self._fn = _crt.crc32c if kind == "CRC32C" else _crt.crc64nvme
            self._width = 4 if kind == "CRC32C" else 8

    def update(self, data) -> None:
        self.value = self._fn(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(self._width, "big")


def new_hasher(algorithm: str):
    algorithm = algorithm.upper()
    if algorithm == "SHA1":
        return hashlib.sha1()
    if algorithm == "SHA256":
        return hashlib.sha256()
    if algorithm in ("CRC32", "CRC32C", "CRC64NVME"):
        return _Crc(algorithm)
    raise AwsError("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of "
                   "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def checksum_of(algorithm: str, data: bytes) -> str:
    h = new_hasher(algorithm)
    h.update(data)
    return b64(h.digest())


def combine_crc(algorithm: str, digests: list[tuple[bytes, int]]) -> str:
    """The full-object CRC of a multipart object from its parts' CRCs and sizes."""
    if _crt is None:
        raise AwsError("NotImplemented", "FULL_OBJECT multipart checksums need the awscrt package.", 501,
                       sender_fault=False)
    fn = {"CRC32": _crt.combine_crc32, "CRC32C": _crt.combine_crc32c, "CRC64NVME": _crt.combine_crc64nvme}[algorithm]
    width = 8 if algorithm == "CRC64NVME" else 4
    value = None
    for digest, size in digests:
        crc = int.from_bytes(digest, "big")
        value = crc if value is None else fn(value, crc, size)
    return b64((value or 0).to_bytes(width, "big"))


def composite(algorithm: str, part_checksums: list[str]) -> str:
    """A multipart object's COMPOSITE checksum: the checksum of the parts' checksums, "-N"."""
    h = new_hasher(algorithm)
    for value in part_checksums:
        h.update(base64.b64decode(value))
    return f"{b64(h.digest())}-{len(part_checksums)}"


EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class AwsChunkedDecoder:
    """Decodes `Content-Encoding: aws-chunked` bodies as they arrive:

        <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n ... 0[;...]\\r\\n[<trailer>:<value>\\r\\n]*\\r\\n

    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER). Chunk
    signatures are checked when a `check` (overcast.aws.signing.PayloadCheck) is given, that is
    when signatures are verified: each chunk's data is hashed as it passes."""

    __slots__ = ("_buffer", "_remaining", "_state", "trailers", "done", "_check", "_signature", "_hash")

    def __init__(self, check=None):
        self._buffer = b""
        self._remaining = 0
        self._state = 0  # 0 size line, 1 data, 2 data CRLF, 3 trailers, 4 done
        self.trailers: dict[str, str] = {}
        self.done = False
        self._check = check
        self._signature: str | None = None  # the current chunk's chunk-signature
        self._hash = None

    def feed(self, data: bytes) -> list:
        out = []
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        view = memoryview(data)
        pos, n = 0, len(data)
        check = self._check
        while pos < n:
            state = self._state
            if state == 1:
                take = min(self._remaining, n - pos)
                piece = view[pos:pos + take]
                out.append(piece)
                if check is not None:
                    self._hash.update(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = 2
                    if check is not None:
                        check.chunk(self._signature, self._hash.hexdigest())
            elif state == 2:
                if n - pos < 2:
                    break
                if data[pos:pos + 2] != b"\r\n":
                    raise _chunk_error()
                pos += 2
                self._state = 0
            elif state in (0, 3):
                end = data.find(b"\r\n", pos)
                if end < 0:
                    if n - pos > 8192:
                        raise _chunk_error()
                    break
                line = data[pos:end]
                pos = end + 2
                if state == 0:
                    size_text, _, extension = line.partition(b";")
                    try:
                        size = int(size_text.strip(), 16)
                    except ValueError:
                        raise _chunk_error() from None
                    if check is not None:
                        self._start_chunk(extension, size)
                    if size == 0:
                        self._state = 3
                    else:
                        self._remaining, self._state = size, 1
                elif not line:
                    self._state, self.done = 4, True
                    if check is not None and (self.trailers or check.signed.payload_hash.endswith("TRAILER")):
                        self._check_trailer()
                else:
                    name, _, value = line.partition(b":")
                    self.trailers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            else:
                pos = n
        if pos < n and self._state != 4:
            self._buffer = bytes(view[pos:])
        return out

    def _start_chunk(self, extension: bytes, size: int) -> None:
        name, _, value = extension.partition(b"=")
        self._signature = value.strip().decode("latin-1") if name.strip() == b"chunk-signature" else None
        if size == 0:
            self._check.chunk(self._signature, EMPTY_SHA256)
        else:
            self._hash = hashlib.sha256()

    def _check_trailer(self) -> None:
        signature = self.trailers.pop("x-amz-trailer-signature", None)
        canonical = "".join(f"{name}:{value}\n" for name, value in self.trailers.items())
        self._check.trailer(signature, canonical)


def _chunk_error() -> AwsError:
    return AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
