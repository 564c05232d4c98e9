"""S3's request id headers, shared by every module that answers S3 requests (front, POST uploads,
websites) and by Step Functions' error causes: S3's ids are 16 upper-case hex characters, with a
base64 host id beside them."""

from __future__ import annotations

import base64


def s3_ids(request_id: str) -> tuple[str, str]:
    """A request id in S3's form, and the host id (extended request id) beside it."""
    rid = request_id if len(request_id) == 16 else request_id.replace("-", "")[:16].upper()
    return rid, base64.b64encode(f"overcast/{rid}".encode()).decode()


def request_id_headers(ctx) -> list[tuple[str, str]]:
    rid, host_id = s3_ids(ctx.request_id)
    ctx.request_id = rid
    # S3 names itself in Server on every answer (AWS's recorded answers)
    return [("x-amz-request-id", rid), ("x-amz-id-2", host_id), ("Server", "AmazonS3")]
