"""CloudWatch Logs filter patterns: for unstructured events terms, "quoted phrases", ?alternatives
and -exclusions; for space-delimited events `[ip, user, ..., status = 4*, bytes > 1000]`.
JSON patterns ({ $.x = ... }) and regular expressions (%...%) are not supported yet and answer
InvalidParameterException."""

from __future__ import annotations

import re

from overcast.aws.errors import AwsError

_TOKEN = re.compile(r'\s*(-|\?)?("((?:[^"\\]|\\.)*)"|[^\s"]+)')


def compile_pattern(pattern: str | None):
    """A predicate message -> bool for the pattern."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("["):
        return _space_delimited(text)
    if text.startswith("{"):
        raise AwsError("InvalidParameterException",
                       "JSON filter patterns are not supported by overcast yet; use terms, quoted phrases or "
                       "space-delimited patterns.")
    required, optional, excluded = [], [], []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise AwsError("InvalidParameterException", "Invalid character(s) in term")
        pos = m.end()
        sign, raw, quoted = m.group(1), m.group(2), m.group(3)
        term = quoted.replace('\\"', '"') if quoted is not None else raw
        if sign == "-":
            excluded.append(term)
        elif sign == "?":
            optional.append(term)
        else:
            required.append(term)

    def match(message: str) -> bool:
        if any(t in message for t in excluded):
            return False
        if optional and not any(t in message for t in optional):
            return False
        return all(t in message for t in required)

    return match


# -- space-delimited patterns ------------------------------------------------------------------------
# The event is split at spaces, except that what is between [ and ] or between double quotes is one
# field (without its brackets or quotes). The pattern names one field per comma-separated item, in
# order; `...` stands for any number of fields. Without `...` the event must have exactly as many
# fields as the pattern. An item may carry conditions: `name = value`, `!=`, and for numbers `<`,
# `<=`, `>`, `>=`; a string value may use `*` as a wildcard; conditions combine with `&&` and `||`.

_EVENT_FIELD = re.compile(r'\[[^\]]*\]|"[^"]*"|\S+')
_CONDITION = re.compile(r'\s*([A-Za-z_][\w.-]*)\s*(!=|<=|>=|=|<|>)\s*("(?:[^"\\]|\\.)*"|[^\s&|]+)\s*')
_NAME = re.compile(r"\s*[A-Za-z_][\w.-]*\s*")


def _invalid(pattern: str) -> AwsError:
    return AwsError("InvalidParameterException", f"Invalid space-delimited filter pattern: {pattern}")


def _event_fields(message: str) -> list[str]:
    fields = []
    for token in _EVENT_FIELD.findall(message):
        if len(token) >= 2 and (token[0], token[-1]) in (("[", "]"), ('"', '"')):
            token = token[1:-1]
        fields.append(token)
    return fields


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _condition(name: str, op: str, raw: str, pattern: str):
    """A predicate field value -> bool."""
    if raw.startswith('"'):
        raw, quoted = raw[1:-1].replace('\\"', '"'), True
    else:
        quoted = False
    number = None if quoted else _number(raw)
    if op in ("<", "<=", ">", ">="):
        if number is None:
            raise _invalid(pattern)
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op]

        def numeric(value: str) -> bool:
            got = _number(value)
            return got is not None and compare(got, number)

        return numeric
    if number is not None:
        def equal(value: str) -> bool:
            got = _number(value)
            return got == number if got is not None else value == raw
    else:
        regex = re.compile("".join(".*" if c == "*" else re.escape(c) for c in raw), re.DOTALL)

        def equal(value: str) -> bool:
            return regex.fullmatch(value) is not None

    return equal if op == "=" else (lambda value: not equal(value))


def _item(text: str, pattern: str):
    """(field name or "...", predicate or None) of one comma-separated item."""
    stripped = text.strip()
    if stripped == "...":
        return "...", None
    if _NAME.fullmatch(text):
        return stripped, None
    # name = a || name = b && name > c: && binds tighter than ||, as usual
    alternatives = []
    name = None
    for alternative in stripped.split("||"):
        conjuncts = []
        for part in alternative.split("&&"):
            m = _CONDITION.fullmatch(part)
            if m is None or (name is not None and m.group(1) != name):
                raise _invalid(pattern)
            name = m.group(1)
            conjuncts.append(_condition(*m.groups(), pattern))
        alternatives.append(conjuncts)
    return name, lambda value: any(all(c(value) for c in conj) for conj in alternatives)


def _space_delimited(pattern: str):
    if not pattern.endswith("]"):
        raise _invalid(pattern)
    body = pattern[1:-1].strip()
    items = [_item(part, pattern) for part in body.split(",")] if body else []
    if sum(1 for name, _ in items if name == "...") > 1:
        raise _invalid(pattern)
    ellipsis = next((i for i, (name, _) in enumerate(items) if name == "..."), None)
    before = items if ellipsis is None else items[:ellipsis]
    after = [] if ellipsis is None else items[ellipsis + 1:]

    def match(message: str) -> bool:
        fields = _event_fields(message)
        if ellipsis is None and len(fields) != len(items):
            return False
        if len(fields) < len(before) + len(after):
            return False
        chosen = list(zip(before, fields[:len(before)], strict=True)) + list(
            zip(after, fields[len(fields) - len(after):], strict=True))
        return all(test is None or test(value) for (_, test), value in chosen)

    return match
