"""Shared by the S3 tests: clients, a fresh bucket per test, and raw signed-looking requests."""

from __future__ import annotations

import httpx
from botocore.exceptions import ClientError

AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/s3/aws4_request, SignedHeaders=host, Signature=0"


def auth(region: str = "us-east-1") -> dict:
    return {"Authorization": AUTH.format(region=region)}


def raw(endpoint: str, method: str, path: str, region: str = "us-east-1", headers: dict | None = None, **kwargs):
    """One request with httpx, carrying an S3 credential scope (signatures are not checked)."""
    return httpx.request(method, f"{endpoint}{path}", headers={**auth(region), **(headers or {})}, timeout=30,
                         **kwargs)


def error_of(excinfo) -> dict:
    error: ClientError = excinfo.value
    return {**error.response["Error"], "Status": error.response["ResponseMetadata"]["HTTPStatusCode"]}
