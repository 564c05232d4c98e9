"""Gateway responses: the failures a REST API answers with one of API Gateway's gateway response
types, shared by the data plane's modules (runtime, authorizers, integrations, mapping)."""

from __future__ import annotations

# (status, x-amzn-ErrorType, default message) per gateway response type
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
    "INVALID_API_KEY": (403, "ForbiddenException", "Forbidden"),
    "ACCESS_DENIED": (403, "AccessDeniedException", "User is not authorized to access this resource"),
    "UNAUTHORIZED": (401, "UnauthorizedException", "Unauthorized"),
    "INVALID_SIGNATURE": (403, "InvalidSignatureException", "Invalid signature"),
    "EXPIRED_TOKEN": (403, "ExpiredTokenException", "The security token included in the request is expired"),
    "THROTTLED": (429, "TooManyRequestsException", "Too Many Requests"),
    "QUOTA_EXCEEDED": (429, "LimitExceededException", "Limit Exceeded"),
    "BAD_REQUEST_BODY": (400, "BadRequestException", "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "BadRequestException", "Missing required request parameters"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "UnsupportedMediaTypeException", "Unsupported Media Type"),
    "REQUEST_TOO_LARGE": (413, "RequestTooLargeException", "Request Too Long"),
    "RESOURCE_NOT_FOUND": (404, "NotFoundException", "Not Found"),
    "INTEGRATION_FAILURE": (504, "InternalServerErrorException", "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "InternalServerErrorException", "Endpoint request timed out"),
    "API_CONFIGURATION_ERROR": (500, "InternalServerErrorException", "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "AuthorizerConfigurationException", None),
    "AUTHORIZER_FAILURE": (500, "AuthorizerFailureException", None),
    "DEFAULT_5XX": (500, "InternalServerErrorException", "Internal server error"),
    "DEFAULT_4XX": (400, "BadRequestException", "Bad Request"),
    "WAF_FILTERED": (403, "ForbiddenException", "Forbidden"),
}


class GatewayError(Exception):
    """A failure answered with a gateway response."""

    def __init__(self, kind: str, message: str | None = None, status: int | None = None, body: bytes | None = None):
        super().__init__(kind)
        self.kind = kind
        default_status, self.error_type, default_message = GATEWAY_ERRORS[kind]
        self.message = message if message is not None else default_message
        self.status = status or default_status
        self.body = body  # a fixed body (AWS's capital-M "Message" answers)
