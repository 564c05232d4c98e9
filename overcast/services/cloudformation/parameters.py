"""Template parameters: declared types, defaults, constraints (with CloudFormation's messages),
NoEcho, and the values Ref answers for them."""

from __future__ import annotations

import re

from overcast.services.cloudformation.template import format_error, validation_error

_PARAMETER_KEYS = frozenset({"Type", "Default", "NoEcho", "AllowedValues", "AllowedPattern", "MaxLength", "MinLength",
                             "MaxValue", "MinValue", "Description", "ConstraintDescription"})
_SIMPLE = frozenset({"String", "Number", "CommaDelimitedList", "List<Number>"})
MASK = "****"


def check_declarations(template: dict) -> None:
    for name, spec in (template.get("Parameters") or {}).items():
        if not isinstance(spec, dict):
            raise format_error(f"Every Parameters object must contain a Type member. [{name}]")
        for key in spec:
            if key not in _PARAMETER_KEYS:
                raise format_error(f"Invalid template parameter property '{key}'")
        kind = spec.get("Type")
        if kind is None:
            raise format_error(f"Every Parameters object must contain a Type member. [{name}]")
        if not _known_type(str(kind)):
            raise format_error(f"Unrecognized parameter type: {kind}")


def _known_type(kind: str) -> bool:
    if kind in _SIMPLE:
        return True
    inner = kind[5:-1] if kind.startswith("List<") and kind.endswith(">") else kind
    return inner.startswith("AWS::") or inner in _SIMPLE


def is_ssm_type(kind: str) -> bool:
    return kind.startswith("AWS::SSM::Parameter::")


def resolve(template: dict, given: list[dict], previous: dict | None = None) -> dict[str, str]:
    """The parameters' raw string values (given, previous with UsePreviousValue, or defaults),
    checked against their constraints. -> name -> string as given."""
    declared = template.get("Parameters") or {}
    unknown = [p.get("ParameterKey") for p in given if p.get("ParameterKey") not in declared]
    if unknown:
        raise validation_error(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    values: dict[str, str] = {}
    for p in given:
        key = p["ParameterKey"]
        if p.get("UsePreviousValue"):
            if previous is None or key not in previous:
                raise validation_error(f"Invalid input for parameter key {key}. Cannot specify usePreviousValue "
                                       "as true for a parameter key not in the previous template")
            values[key] = previous[key]
        elif p.get("ParameterValue") is not None:
            values[key] = p["ParameterValue"]
    missing = []
    for name, spec in declared.items():
        if name not in values:
            if "Default" in spec:
                default = spec["Default"]
                values[name] = ",".join(str(v) for v in default) if isinstance(default, list) else _text(default)
            else:
                missing.append(name)
    if missing:
        raise validation_error(f"Parameters: [{', '.join(missing)}] must have values")
    for name, spec in declared.items():
        check_value(name, spec, values[name])
    return values


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def check_value(name: str, spec: dict, value: str) -> None:
    kind = str(spec.get("Type"))
    items = [v.strip() for v in value.split(",")] if kind.startswith("List<") or kind == "CommaDelimitedList" else [value]
    if kind == "Number" or kind == "List<Number>":
        for item in items:
            if _number(item) is None:
                raise validation_error(f"Parameter '{name}' must be a number.")
    description = spec.get("ConstraintDescription")
    allowed = spec.get("AllowedValues")
    for item in items:
        if allowed is not None and item not in [_text(a) for a in allowed]:
            raise validation_error(f"Parameter '{name}' must be one of AllowedValues")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(str(pattern), item) is None:
            raise validation_error(f"Parameter '{name}' failed to satisfy constraint: {description}" if description
                                   else f"Parameter '{name}' must match pattern {pattern}")
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            raise validation_error(f"Parameter '{name}' must contain at least {spec['MinLength']} characters")
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            raise validation_error(f"Parameter '{name}' must contain at most {spec['MaxLength']} characters")
        number = _number(item)
        if "MinValue" in spec and number is not None and number < float(spec["MinValue"]):
            raise validation_error(f"Parameter '{name}' must be a number not less than {spec['MinValue']}")
        if "MaxValue" in spec and number is not None and number > float(spec["MaxValue"]):
            raise validation_error(f"Parameter '{name}' must be a number not greater than {spec['MaxValue']}")


def ref_values(template: dict, raw: dict[str, str], resolved: dict[str, str] | None = None) -> dict:
    """What Ref answers for each parameter: lists for list types, the text otherwise. `resolved`
    holds the values of SSM-typed parameters, looked up by the caller."""
    out = {}
    for name, spec in (template.get("Parameters") or {}).items():
        kind = str(spec.get("Type"))
        value = (resolved or {}).get(name, raw[name])
        ssm_value = "AWS::SSM::Parameter::Value<"  # (its type: what the parameter's value is)
        inner = kind[len(ssm_value):-1] if kind.startswith(ssm_value) else None
        if kind == "CommaDelimitedList" or kind.startswith("List<") or (
                inner is not None and (inner == "CommaDelimitedList" or inner.startswith("List<"))):
            out[name] = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        else:
            out[name] = value
    return out


def api_parameters(template: dict, raw: dict[str, str], resolved: dict | None = None) -> list[dict]:
    """The Parameters member of DescribeStacks: NoEcho values masked."""
    out = []
    for name, spec in (template.get("Parameters") or {}).items():
        no_echo = str(spec.get("NoEcho", "false")).lower() == "true"
        entry = {"ParameterKey": name, "ParameterValue": MASK if no_echo else raw[name]}
        if resolved and name in resolved:
            entry["ResolvedValue"] = resolved[name]
        out.append(entry)
    return out
