"""The control plane's errors in API Gateway v2's shapes, shared by the provider and OpenAPI import."""

from __future__ import annotations

from overcast.aws.errors import AwsError


def not_found(what: str) -> AwsError:
    return AwsError("NotFoundException", f"Invalid {what} identifier specified", 404)


def bad_request(message: str) -> AwsError:
    return AwsError("BadRequestException", message, 400)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 409)
