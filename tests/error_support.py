"""What a refused boto3 call answered, for asserting AWS's error: (HTTP status, code, message)."""

from __future__ import annotations


def client_error(excinfo) -> tuple[int, str, str]:
    """`excinfo`: pytest.raises(ClientError)'s."""
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]
