"""AWS errors as providers raise them; the protocol layer renders them in the wire format."""

from __future__ import annotations


class AwsError(Exception):
    """An error AWS would answer with.

    `code` is the error's name as the service model knows it (the error shape's name, e.g.
    "QueueDoesNotExist", or a common code such as "ValidationException"). The protocol layer
    looks the code up in the model for the status and the awsQuery-compatible code.
    """

    def __init__(self, code: str, message: str = "", status: int = 400, sender_fault: bool = True, **fields):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault
        self.fields = fields  # extra members of the error shape, serialized beside the message

    def __repr__(self) -> str:
        return f"AwsError({self.code!r}, {self.message!r}, {self.status})"


# Common errors every service answers with (AWS's "common errors" list).
def validation_error(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def missing_parameter(name: str) -> AwsError:
    return AwsError("MissingParameter", f"The request must contain the parameter {name}.", 400)


def invalid_parameter_value(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def not_implemented(what: str) -> AwsError:
    return AwsError("NotImplemented", f"{what} is not implemented by overcast yet.", 501, sender_fault=False)


def internal_error(message: str = "We encountered an internal error. Please try again.") -> AwsError:
    return AwsError("InternalFailure", message, 500, sender_fault=False)


def nested_too_deeply(code: str = "ValidationException") -> AwsError:
    """A request whose values nest deeper than overcast can walk (the last guard behind each
    service's own nesting limits): refused as invalid input, never a 500."""
    return AwsError(code, "The request is nested too deeply to be processed.", 400)
