"""S3's request id headers, shared by every module that answers S3 requests (front, POST uploads,
websites): S3's ids are 16 upper-case hex characters, with a base64 host id beside them."""

from __future__ import annotations

import base64


def request_id_headers(ctx) -> list[tuple[str, str]]:
    rid = ctx.request_id
    if len(rid) != 16:
        rid = ctx.request_id = rid.replace("-", "")[:16].upper()
    host_id = base64.b64encode(f"overcast/{rid}".encode()).decode()
    # S3 names itself in Server on every answer (AWS's recorded answers)
    return [("x-amz-request-id", rid), ("x-amz-id-2", host_id), ("Server", "AmazonS3")]
