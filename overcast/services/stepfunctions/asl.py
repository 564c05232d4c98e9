"""Amazon States Language definitions: parsed, and checked the way CreateStateMachine and
ValidateStateMachineDefinition check them (each problem a diagnostic with AWS's code and the
JSON pointer of its place: SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET, UNREACHABLE_STATE,
INVALID_JSON_DESCRIPTION, ...)."""

from __future__ import annotations

import re
from datetime import datetime

import orjson

from overcast.services.stepfunctions import paths

STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
TERMINAL = {"Succeed", "Fail"}

COMMON = {"Type", "Comment", "QueryLanguage", "Assign"}
JSONPATH_IO = {"InputPath", "OutputPath"}
JSONATA_IO = {"Output"}
# The fields each state type may have, by query language (ASL spec and the JSONata additions).
FIELDS = {
    "Pass": ({"Next", "End", "Result", "ResultPath", "Parameters"} | JSONPATH_IO, {"Next", "End"} | JSONATA_IO),
    "Task": ({"Next", "End", "Resource", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch",
              "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"}
             | JSONPATH_IO,
             {"Next", "End", "Resource", "Arguments", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds",
              "Credentials"} | JSONATA_IO),
    "Choice": ({"Choices", "Default"} | JSONPATH_IO, {"Choices", "Default"} | JSONATA_IO),
    "Wait": ({"Next", "End", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"} | JSONPATH_IO,
             {"Next", "End", "Seconds", "Timestamp"} | JSONATA_IO),
    "Succeed": (JSONPATH_IO, JSONATA_IO),
    "Fail": ({"Error", "Cause", "ErrorPath", "CausePath"}, {"Error", "Cause"}),
    "Parallel": ({"Next", "End", "Branches", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"}
                 | JSONPATH_IO, {"Next", "End", "Branches", "Arguments", "Retry", "Catch"} | JSONATA_IO),
    "Map": ({"Next", "End", "Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "Parameters", "ItemReader",
             "ItemBatcher", "ResultWriter", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage",
             "ToleratedFailurePercentagePath", "ToleratedFailureCount", "ToleratedFailureCountPath", "Label",
             "ResultSelector", "ResultPath", "Retry", "Catch"} | JSONPATH_IO,
            {"Next", "End", "ItemProcessor", "Items", "ItemSelector", "ItemReader", "ItemBatcher", "ResultWriter",
             "MaxConcurrency", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label", "Retry", "Catch"}
            | JSONATA_IO),
}
_ARN = re.compile(r"^arn:aws[\w-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+$")
_JSONATA = re.compile(r"^\{%(.*)%\}$", re.S)
COMPARATORS = {
    f"{kind}{op}{suffix}"
    for kind in ("String", "Numeric", "Timestamp")
    for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    for suffix in ("", "Path")
} | {"BooleanEquals", "BooleanEqualsPath", "StringMatches", "IsNull", "IsPresent", "IsNumeric", "IsString",
     "IsBoolean", "IsTimestamp"}


class Diagnostics:
    def __init__(self):
        self.items: list[dict] = []
        self.machine_language = "JSONPath"  # the whole machine's QueryLanguage

    def error(self, code: str, message: str, location: str) -> None:
        self.items.append({"severity": "ERROR", "code": code, "message": message, "location": location})

    def warning(self, code: str, message: str, location: str) -> None:
        self.items.append({"severity": "WARNING", "code": code, "message": message, "location": location})

    @property
    def errors(self) -> list[dict]:
        return [d for d in self.items if d["severity"] == "ERROR"]


def parse(text: str) -> tuple[dict | None, Diagnostics]:
    """The definition and its diagnostics; None when it is not a JSON object."""
    found = Diagnostics()
    try:
        definition = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        found.error("INVALID_JSON_DESCRIPTION", str(e), "/")
        return None, found
    if not isinstance(definition, dict):
        found.error("INVALID_JSON_DESCRIPTION", "The definition must be a JSON object", "/")
        return None, found
    language = definition.get("QueryLanguage", "JSONPath")
    if language not in ("JSONPath", "JSONata"):
        found.error("SCHEMA_VALIDATION_FAILED", f"Value is not one of [JSONPath, JSONata]: {language}", "/QueryLanguage")
        language = "JSONPath"
    names: set[str] = set()
    found.machine_language = language  # (a machine that is JSONata as a whole has no JSONPath state)
    _check_machine(definition, "", language, found, names)
    return definition, found


def invalid_definition_message(diagnostics: list[dict]) -> str:
    """CreateStateMachine's InvalidDefinition text for the definition's errors."""
    parts = [f"{d['code']}: {d['message']} at {d['location']}" for d in diagnostics[:10]]
    return "Invalid State Machine Definition: '" + ", ".join(parts) + "'"


def _check_machine(machine: dict, where: str, language: str, found: Diagnostics, names: set[str]) -> None:
    start, states = machine.get("StartAt"), machine.get("States")
    for key in ("StartAt", "States"):
        if key not in machine:
            found.error("SCHEMA_VALIDATION_FAILED", f"These fields are required: [{key}]", where or "/")
    if not isinstance(states, dict) or not states:
        if "States" in machine:
            found.error("SCHEMA_VALIDATION_FAILED", "The field 'States' must be a non-empty object", f"{where}/States")
        return
    if start is not None and start not in states:
        found.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}", f"{where}/StartAt")
    for name, state in states.items():
        location = f"{where}/States/{name}"
        if name in names:
            found.error("DUPLICATE_STATE_NAME", f"Duplicate State name: {name}", location)
        names.add(name)
        if len(name) > 80:
            found.error("SCHEMA_VALIDATION_FAILED", "State names must be at most 80 characters", location)
        if not isinstance(state, dict):
            found.error("SCHEMA_VALIDATION_FAILED", "A state must be a JSON object", location)
            continue
        if found.machine_language == "JSONata" and state.get("QueryLanguage") == "JSONPath":
            found.error("SCHEMA_VALIDATION_FAILED",
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", location)
            continue
        _check_state(name, state, states, location, state.get("QueryLanguage", language), found, names)
    _check_reachable(start, states, where, found)


def _check_state(name, state, states, location, language, found: Diagnostics, names) -> None:
    kind = state.get("Type")
    if kind is None:
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Type]", location)
        return
    if kind not in STATE_TYPES:
        found.error("SCHEMA_VALIDATION_FAILED", f"Value is not one of {sorted(STATE_TYPES)}: {kind}", f"{location}/Type")
        return
    if language not in ("JSONPath", "JSONata"):
        found.error("SCHEMA_VALIDATION_FAILED", f"Value is not one of [JSONPath, JSONata]: {language}",
                    f"{location}/QueryLanguage")
        return
    allowed = FIELDS[kind][0 if language == "JSONPath" else 1] | COMMON
    for field in state:
        if field not in allowed:
            found.error("SCHEMA_VALIDATION_FAILED", f"Field '{field}' is not supported"
                        + (f" with QueryLanguage {language}" if field in FIELDS[kind][0] | FIELDS[kind][1] else ""),
                        f"{location}/{field}")
    if kind not in TERMINAL and kind != "Choice":
        has_next, end = "Next" in state, state.get("End") is True
        if has_next and end:
            found.error("SCHEMA_VALIDATION_FAILED", "Only one of 'Next' or 'End' can be set", location)
        elif not has_next and not end:
            found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next or End]", location)
        if has_next and state["Next"] not in states:
            found.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {state['Next']}", f"{location}/Next")
    if language == "JSONPath":
        for field in ("InputPath", "OutputPath", "ItemsPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath"):
            value = state.get(field)
            if field in ("ErrorPath", "CausePath") and paths.is_valid_intrinsic(value):
                continue  # (a Fail state's error and cause may be built by an intrinsic function)
            if value is not None and not paths.is_valid_path(value):
                found.error("SCHEMA_VALIDATION_FAILED", f"The value for the field '{field}' must be a valid JSONPath",
                            f"{location}/{field}")
        value = state.get("ResultPath")
        if value is not None and not paths.is_reference_path(value):
            found.error("SCHEMA_VALIDATION_FAILED", "The value for the field 'ResultPath' must be a valid "
                        "JSONPath reference path", f"{location}/ResultPath")
    check = _CHECKS.get(kind)
    if check:
        check(state, states, location, language, found, names)
    for i, retrier in enumerate(state.get("Retry") or []):
        _check_errors(retrier, f"{location}/Retry[{i}]", found, last=i == len(state["Retry"]) - 1)
        for field in ("MaxAttempts", "IntervalSeconds", "MaxDelaySeconds"):
            value = retrier.get(field)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                found.error("SCHEMA_VALIDATION_FAILED", f"The field '{field}' must be a non-negative integer",
                            f"{location}/Retry[{i}]/{field}")
        if retrier.get("JitterStrategy") not in (None, "FULL", "NONE"):
            found.error("SCHEMA_VALIDATION_FAILED", "Value is not one of [FULL, NONE]",
                        f"{location}/Retry[{i}]/JitterStrategy")
    for i, catcher in enumerate(state.get("Catch") or []):
        _check_errors(catcher, f"{location}/Catch[{i}]", found, last=i == len(state["Catch"]) - 1)
        target = catcher.get("Next")
        if target is None:
            found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]", f"{location}/Catch[{i}]")
        elif target not in states:
            found.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", f"{location}/Catch[{i}]/Next")


def _check_errors(rule: dict, location: str, found: Diagnostics, last: bool) -> None:
    errors = rule.get("ErrorEquals")
    if not isinstance(errors, list) or not errors:
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [ErrorEquals]", location)
        return
    if "States.ALL" in errors and (len(errors) > 1 or not last):
        found.error("SCHEMA_VALIDATION_FAILED", "States.ALL must appear alone in the last ErrorEquals",
                    f"{location}/ErrorEquals")


def _check_task(state, states, location, language, found, names) -> None:
    resource = state.get("Resource")
    if resource is None:
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Resource]", location)
    elif not isinstance(resource, str) or not (_ARN.match(resource) or _JSONATA.match(resource)):
        found.error("SCHEMA_VALIDATION_FAILED", "Value is not a valid resource ARN", f"{location}/Resource")


def _check_choice(state, states, location, language, found, names) -> None:
    choices = state.get("Choices")
    if not isinstance(choices, list) or not choices:
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Choices]", location)
        return
    for i, rule in enumerate(choices):
        where = f"{location}/Choices[{i}]"
        if not isinstance(rule, dict):
            found.error("SCHEMA_VALIDATION_FAILED", "A choice rule must be a JSON object", where)
            continue
        if "Next" not in rule:
            found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]", where)
        elif rule["Next"] not in states:
            found.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {rule['Next']}", f"{where}/Next")
        if language == "JSONata":
            if "Condition" not in rule:
                found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Condition]", where)
        else:
            _check_rule(rule, where, found)
    default = state.get("Default")
    if default is not None and default not in states:
        found.error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {default}", f"{location}/Default")


def _check_rule(rule: dict, where: str, found: Diagnostics) -> None:
    if "And" in rule or "Or" in rule:
        for key in ("And", "Or"):
            for j, inner in enumerate(rule.get(key) or []):
                _check_rule(inner, f"{where}/{key}[{j}]", found)
        return
    if "Not" in rule:
        _check_rule(rule["Not"], f"{where}/Not", found)
        return
    operators = [k for k in rule if k in COMPARATORS]
    if len(operators) != 1:
        found.error("SCHEMA_VALIDATION_FAILED", "A choice rule must have exactly one comparison operator", where)
    variable = rule.get("Variable")
    if not isinstance(variable, str) or not (variable.startswith("$") and
                                             paths.is_valid_path(variable.removeprefix("$"))
                                             if variable.startswith("$$") else paths.is_valid_path(variable)):
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Variable]" if variable is None else
                    "The value for the field 'Variable' must be a valid JSONPath", f"{where}/Variable")


def _check_wait(state, states, location, language, found, names) -> None:
    given = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in state]
    if len(given) != 1:
        found.error("SCHEMA_VALIDATION_FAILED", "Exactly one of [Seconds, Timestamp, SecondsPath, TimestampPath] "
                    "must be set", location)
    jsonata = language == "JSONata"  # (a JSONPath state's {% %} is a plain string, no expression)
    seconds = state.get("Seconds")
    if seconds is not None and not (jsonata and isinstance(seconds, str) and _JSONATA.match(seconds)) and (
            not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0):
        found.error("SCHEMA_VALIDATION_FAILED", "The field 'Seconds' must be a non-negative integer",
                    f"{location}/Seconds")
    timestamp = state.get("Timestamp")
    if isinstance(timestamp, str) and not (jsonata and _JSONATA.match(timestamp)) and not is_rfc3339(timestamp):
        found.error("SCHEMA_VALIDATION_FAILED", "String does not match RFC3339 timestamp", f"{location}/Timestamp")


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.I)


def is_rfc3339(text: str) -> bool:
    """A date, `T`, a time and `Z` or an offset, each part in range."""
    if not _RFC3339.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_parallel(state, states, location, language, found, names) -> None:
    branches = state.get("Branches")
    if not isinstance(branches, list) or not branches:
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [Branches]", location)
        return
    for i, branch in enumerate(branches):
        if isinstance(branch, dict):
            _check_machine(branch, f"{location}/Branches[{i}]", branch.get("QueryLanguage", language), found, names)


def _check_map(state, states, location, language, found, names) -> None:
    processor = state.get("ItemProcessor", state.get("Iterator"))
    if not isinstance(processor, dict):
        found.error("SCHEMA_VALIDATION_FAILED", "These fields are required: [ItemProcessor]", location)
        return
    key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
    config = processor.get("ProcessorConfig") or {}
    if config.get("Mode", "INLINE") not in ("INLINE", "DISTRIBUTED"):
        found.error("SCHEMA_VALIDATION_FAILED", "Value is not one of [INLINE, DISTRIBUTED]",
                    f"{location}/{key}/ProcessorConfig/Mode")
    if config.get("Mode") != "DISTRIBUTED":
        for field in ("ItemReader", "ItemBatcher", "ResultWriter"):
            if field in state:
                found.error("SCHEMA_VALIDATION_FAILED", f"Field '{field}' is only supported in DISTRIBUTED mode",
                            f"{location}/{field}")
    _check_machine(processor, f"{location}/{key}", processor.get("QueryLanguage", language), found, names)


_CHECKS = {"Task": _check_task, "Choice": _check_choice, "Wait": _check_wait, "Parallel": _check_parallel,
           "Map": _check_map}


def _check_reachable(start, states: dict, where: str, found: Diagnostics) -> None:
    seen, todo = set(), [start] if start in states else []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states.get(name)
        if not isinstance(state, dict):
            continue
        targets = [state.get("Next"), state.get("Default")]
        targets += [c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)]
        targets += [c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict)]
        todo.extend(t for t in targets if t in states and t not in seen)
    for name in states:
        if name not in seen and start in states:
            found.error("UNREACHABLE_STATE", f"State \"{name}\" is not reachable.", f"{where}/States/{name}")
    terminal = any(isinstance(s, dict) and (s.get("End") is True or s.get("Type") in TERMINAL)
                   for s in states.values())
    if not terminal:
        found.error("MISSING_END_STATE", "Workflow has no terminal state", where or "/")


def is_jsonata(value) -> bool:
    return isinstance(value, str) and _JSONATA.match(value) is not None


def jsonata_text(value: str) -> str:
    return _JSONATA.match(value).group(1)


# -- variable references (DescribeStateMachine's variableReferences) ------------------------------

_VARIABLE_NAME = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")
_REFERENCE_FIELDS = {"InputPath", "OutputPath", "ItemsPath", "Variable"}  # besides `...Path` and `.$` keys
_NESTED = {"Branches", "ItemProcessor", "Iterator"}  # their states are listed under their own names


def variable_references(definition: dict) -> dict[str, list[str]]:
    """The variables each JSONPath state reads (`$name` in its paths, `.$` templates and intrinsic
    functions), sorted, by state name; JSONata expressions are not listed, as on AWS."""
    out: dict[str, list[str]] = {}
    _machine_references(definition, definition.get("QueryLanguage", "JSONPath"), out)
    return out


def _machine_references(machine: dict, language: str, out: dict) -> None:
    for name, state in (machine.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        state_language = state.get("QueryLanguage", language)
        if state_language == "JSONPath":
            names: set[str] = set()
            _collect(state, names)
            if names:
                out[name] = sorted(names)
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                _machine_references(branch, state_language, out)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, dict):
            _machine_references(processor, state_language, out)


def _collect(value, names: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, names)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in _NESTED:
                continue
            if isinstance(item, str) and (key.endswith(".$") or key.endswith("Path") or key in _REFERENCE_FIELDS):
                names.update(m.group(1) for m in _VARIABLE_NAME.finditer(item))
            else:
                _collect(item, names)


# What a Map state's Label may not contain (AWS's "Map state" page): whitespace, brackets, wildcards,
# these special characters and control characters.
_LABEL_FORBIDDEN = set(' ?*<>{}[]:;,\\|^~$#%&`"') | {chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))}


def express_problems(machine: dict, where: str = "") -> list[dict]:
    """What an EXPRESS machine may not have, as CreateStateMachine's diagnostics: tasks that wait
    for a callback (`.waitForTaskToken`), for a job's end (`.sync`) or for an activity worker."""
    found = []
    for name, state in (machine.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        path = f"{where}/States/{name}"
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str):
            message = None
            if resource.endswith(".waitForTaskToken"):  # (AWS's text has a space before " at")
                message = "Express state machine does not support '.waitForTaskToken' service integration "
            elif resource.endswith((".sync", ".sync:2")):
                message = "Express state machine does not support '.sync' service integration"
            elif resource.startswith("arn:") and ":activity:" in resource:
                message = "Express state machine does not support Activity ARN"
            if message:
                found.append({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": message,
                              "location": f"{path}/Resource"})
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                found += express_problems(branch, f"{path}/Branches[{index}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                found += express_problems(state[key], f"{path}/{key}")
    return found


def map_label_problem(machine: dict) -> str | None:
    """What is wrong with the first bad Map `Label` in the machine (its branches and item
    processors included), or None."""
    for state in (machine.get("States") or {}).values():
        if not isinstance(state, dict):
            continue
        label = state.get("Label")
        if state.get("Type") == "Map" and isinstance(label, str):
            if not label:
                return "Label cannot be empty"
            if len(label) > 40:
                return "Label cannot exceed 40 characters"
            bad = next((c for c in label if c in _LABEL_FORBIDDEN), None)
            if bad is not None:
                return f"Label contains invalid character: {bad!r}"  # (AWS shows the character escaped)
        inner = [state.get("ItemProcessor") or state.get("Iterator")] + list(state.get("Branches") or [])
        for sub in inner:
            problem = map_label_problem(sub) if isinstance(sub, dict) else None
            if problem is not None:
                return problem
    return None
