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


PREDEFINED = ("aws.events.event", "aws.events.event.json", "aws.events.rule-arn", "aws.events.rule-name",
              "aws.events.event.ingestion-time")


def check_transformer(transformer: dict, target_id: str) -> None:
    paths = transformer.get("InputPathsMap") or {}
    if len(paths) > 100:
        raise TransformError("InputPathsMap has more than 100 entries")
    for name, path in paths.items():
        if name.startswith("aws.events."):
            raise TransformError(f"Input transformer InputPathsMap key {name} is reserved")
        check_path(path)
    if "InputTemplate" not in transformer:
        raise TransformError("InputTemplate is required")
    # AWS's recorded answer: a placeholder that names neither a key of InputPathsMap nor a
    # predefined variable is refused when the target is put, not when an event arrives
    for name in _PLACEHOLDER.findall(transformer["InputTemplate"]):
        if name not in paths and name not in PREDEFINED:
            raise TransformError(f"InputTemplate for target {target_id} contains invalid placeholder {name}.")


def target_input(target: dict, event: dict, event_text: str, rule_arn: str, rule_name: str,
                 ingestion_time: str) -> str | None:
    """The body a target receives for an event; None when the InputTransformer cannot make valid
    JSON of this event (AWS then does not deliver it to the target)."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        value = select(event, target["InputPath"])
        return "null" if value is _MISSING else orjson.dumps(value).decode()
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: select(event, path) for name, path in (transformer.get("InputPathsMap") or {}).items()}
        # <aws.events.event> is the event without its detail, and (as AWS's recorded answers
        # show) with the detail type as "detailType"
        values["aws.events.event"] = {"version": event.get("version"), "id": event.get("id"),
                                      "detailType": event.get("detail-type"), "source": event.get("source"),
                                      "account": event.get("account"), "time": event.get("time"),
                                      "region": event.get("region"), "resources": event.get("resources")}
        values["aws.events.event.json"] = event
        values["aws.events.rule-arn"] = rule_arn
        values["aws.events.rule-name"] = rule_name
        values["aws.events.event.ingestion-time"] = ingestion_time
        try:
            return render(transformer["InputTemplate"], values)
        except TransformError:
            return None
    return event_text


def _text(value) -> str:
    """A value as text: a string as it is, a missing value as nothing, others as JSON without
    their quotes ({a:1,b:x}, [HIGH]) — the form AWS's recorded answers show in a text template."""
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode().replace('"', "")


def render(template: str, values: dict) -> str:
    """Fill <name> placeholders. A template that is a JSON object or array: outside a string a
    value goes in as JSON (a missing one as ""), inside a string as text, and an object or a list
    inside a string cannot be valid JSON (TransformError). Any other template (a quoted string,
    plain text): every value goes in as text, escaped inside quotes."""
    json_template = template.lstrip().startswith(("{", "["))
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
                    if json_template and isinstance(value, (dict, list)):
                        raise TransformError(f"{match.group(1)} is not a string value")
                    out.append(orjson.dumps(_text(value)).decode()[1:-1])
                elif not json_template:
                    out.append(_text(value))
                else:
                    out.append('""' if value is _MISSING else orjson.dumps(value).decode())
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
