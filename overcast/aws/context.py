"""What every provider method receives besides its parameters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # percent-decoded path
    raw_path: str  # path as sent, percent-encoded
    query_string: str  # raw query string, without '?'
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ","
    body: bytes
    scheme: str = "http"
    client: tuple | None = None

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


@dataclass(slots=True)
class HttpResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(slots=True)
class RequestContext:
    account: str
    region: str
    service: str  # botocore model name, e.g. "sqs"
    request: HttpRequest
    operation: str = ""
    protocol: str = ""
    access_key: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def endpoint(self) -> str:
        """The base URL the client used, e.g. http://localhost:4566 — used to build queue URLs."""
        return f"{self.request.scheme}://{self.request.host or 'localhost:4566'}"
