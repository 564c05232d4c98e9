"""What a target receives: the whole event, a constant Input, an InputPath, or an InputTransformer
(InputPathsMap + InputTemplate, with AWS's predefined <aws.events.*> variables)."""

from __future__ import annotations

import re

import orjson

_MISSING = object()
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


class TransformError(ValueError):
    pass


def check_path(path: str) -> None:
    if not isinstance(path, str) or not path.startswith("$"):
        raise TransformError(f"Invalid JsonPath: {path}")
    rest = path[1:]
    position = 0
    while position < len(rest):
        match = _PATH_PART.match(rest, position)
        if match is None:
            raise TransformError(f"Invalid JsonPath: {path}")
        position = match.end()


def select(document, path: str):
    """A simple JSONPath ($.a.b, $.a[0], $['a']) into a parsed document; _MISSING when absent."""
    value = document
    rest = path[1:]
    position = 0
    while position < len(rest):
        match = _PATH_PART.match(rest, position)
        if match is None:
            return _MISSING
        position = match.end()
        key, index, quoted, double = match.groups()
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
        else:
            name = key if key is not None else (quoted if quoted is not None else double)
            if name == "*" and isinstance(value, (dict, list)):
                continue
            if not isinstance(value, dict) or name not in value:
                return _MISSING
            value = value[name]
    return value


def check_transformer(transformer: dict) -> None:
    paths = transformer.get("InputPathsMap") or {}
    if len(paths) > 100:
        raise TransformError("InputPathsMap has more than 100 entries")
    for name, path in paths.items():
        if name.startswith("aws.events."):
            raise TransformError(f"Input transformer InputPathsMap key {name} is reserved")
        check_path(path)
    if "InputTemplate" not in transformer:
        raise TransformError("InputTemplate is required")


def target_input(target: dict, event: dict, event_text: str, rule_arn: str, rule_name: str,
                 ingestion_time: str) -> str:
    """The body a target receives for an event."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        value = select(event, target["InputPath"])
        return "null" if value is _MISSING else orjson.dumps(value).decode()
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: select(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
        values["aws.events.event"] = event
        values["aws.events.event.json"] = event
        values["aws.events.rule-arn"] = rule_arn
        values["aws.events.rule-name"] = rule_name
        values["aws.events.event.ingestion-time"] = ingestion_time
        return render(transformer["InputTemplate"], values)
    return event_text


def render(template: str, values: dict) -> str:
    """Fill <name> placeholders: inside a JSON string a value goes in as text, outside as JSON."""
    out = []
    in_string = False
    i = 0
    length = len(template)
    while i < length:
        c = template[i]
        if c == "<":
            match = _PLACEHOLDER.match(template, i)
            if match and match.group(1) in values:
                value = values[match.group(1)]
                if in_string:
                    if value is _MISSING or value is None:
                        text = ""
                    elif isinstance(value, str):
                        text = value
                    else:
                        text = orjson.dumps(value).decode()
                    out.append(orjson.dumps(text).decode()[1:-1])
                else:
                    out.append("null" if value is _MISSING else orjson.dumps(value).decode())
                i = match.end()
                continue
        if c == "\\" and in_string and i + 1 < length:
            out.append(template[i:i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        out.append(c)
        i += 1
    return "".join(out)
