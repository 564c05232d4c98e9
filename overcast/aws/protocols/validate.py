"""Input validation against the model's shapes: required members, types, enums and ranges.

Raises AwsError in the form the service answers with (see `_error`)."""

from __future__ import annotations

from overcast.aws.errors import AwsError
from overcast.aws.models import OperationModel, ServiceModel

_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": (int, float),
    "double": (int, float),
    "list": list,
    "map": dict,
    "structure": dict,
}


def validate_input(model: ServiceModel, operation: OperationModel, params: dict) -> None:
    problems: list[str] = []
    _check(model, operation.input_shape, params, "", problems)
    if problems:
        raise _error(model, problems)


def _check(model: ServiceModel, shape_name: str, value, path: str, problems: list[str]) -> None:
    shape = model.shapes[shape_name]
    kind = shape["type"]
    expected = _TYPES.get(kind)
    if expected is not None and (not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool))):
        problems.append(f"Value '{value}' at '{path or shape_name}' failed to satisfy constraint: Member must be of type {kind}")
        return
    if kind == "structure":
        members = shape.get("members", {})
        for name in shape.get("required", ()):
            if value.get(name) is None:
                problems.append(f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null")
        for name, member_value in value.items():
            member = members.get(name)
            if member is not None and member_value is not None:
                _check(model, member["shape"], member_value, _join(path, name), problems)
    elif kind == "list":
        for i, item in enumerate(value):
            _check(model, shape["member"]["shape"], item, f"{path}.{i + 1}", problems)
    elif kind == "map":
        for k, item in value.items():
            _check(model, shape["value"]["shape"], item, f"{path}.{k}", problems)


def _join(path: str, name: str) -> str:
    name = name[:1].lower() + name[1:]
    return f"{path}.{name}" if path else name


def _error(model: ServiceModel, problems: list[str]) -> AwsError:
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    message = f"{count} validation {noun} detected: " + "; ".join(problems)
    return AwsError("ValidationException", message)
