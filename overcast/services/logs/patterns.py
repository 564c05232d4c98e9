"""CloudWatch Logs filter patterns: for unstructured events terms, "quoted phrases", ?alternatives
and -exclusions; for space-delimited events `[ip, user, ..., status = 4*, bytes > 1000]`; for
JSON events `{ $.level = "ERROR" && ($.latency > 100 || $.user.id NOT EXISTS) }`. Regular
expressions (%...%) are not supported yet and answer InvalidParameterException."""

from __future__ import annotations

import re

import orjson

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
        return _json_pattern(text)
    required, optional, excluded = [], [], []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise AwsError("InvalidParameterException", "Invalid character(s) in term")
        pos = m.end()
        sign, raw, quoted = m.group(1), m.group(2), m.group(3)
        _refuse_regex(raw)
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


def _refuse_regex(value: str) -> None:
    if len(value) > 2 and value.startswith("%") and value.endswith("%"):
        raise AwsError("InvalidParameterException", "Regular expressions in filter patterns (%...%) are not "
                       "supported by overcast yet.")


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
    _refuse_regex(raw)
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


# -- JSON patterns -------------------------------------------------------------------------------------
# { SELECTOR OP VALUE } with SELECTOR `$.a.b[0].c`; OP `=` / `!=` against a string ("quoted", or a
# bare word; `*` is a wildcard) or a number, `<` `<=` `>` `>=` against a number; `SELECTOR IS TRUE`
# / `IS FALSE` / `IS NULL` / `NOT EXISTS`; `&&`, `||` and parentheses. An event that is
# not a JSON object matches no JSON pattern.

_JSON_TOKEN = re.compile(r'\s*(\$(?:\.[A-Za-z_@$][\w@$-]*|\[\d+\]|\.\*|\[\*\])*|&&|\|\||!=|<=|>=|=|<|>|\(|\)|'
                         r'"(?:[^"\\]|\\.)*"|[^\s()&|=!<>"]+)')
_MISSING = object()


def _json_invalid(pattern: str) -> AwsError:
    return AwsError("InvalidParameterException", f"Invalid JSON filter pattern: {pattern}")


def _select(document, path: list):
    """The values a selector reaches (a `[*]` or `.*` step fans out)."""
    values = [document]
    for step in path:
        found = []
        for value in values:
            if step == "*":
                found += list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
            elif isinstance(step, int):
                if isinstance(value, list) and step < len(value):
                    found.append(value[step])
            elif isinstance(value, dict) and step in value:
                found.append(value[step])
        values = found
    return values


def select(document, selector: str) -> list:
    """The values a JSON selector (`$.a.b[0]`, as in JSON patterns) reaches in a document."""
    return _select(document, _selector(selector))


def _selector(text: str) -> list:
    path: list = []
    for m in re.finditer(r"\.([A-Za-z_@$][\w@$-]*|\*)|\[(\d+|\*)\]", text[1:]):
        name = m.group(1) if m.group(1) is not None else m.group(2)
        path.append(int(name) if name.isdigit() and m.group(2) is not None else name)
    return path


def _json_compare(op: str, raw: str, pattern: str):
    _refuse_regex(raw)
    quoted = raw.startswith('"')
    text = raw[1:-1].replace('\\"', '"') if quoted else raw
    number = None if quoted else _number(text)
    if op in ("<", "<=", ">", ">="):
        if number is None:
            raise _json_invalid(pattern)
        compare = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[op]
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and compare(float(v), number)
    if number is not None:
        def equal(v) -> bool:
            return isinstance(v, int | float) and not isinstance(v, bool) and float(v) == number
    else:
        regex = re.compile("".join(".*" if c == "*" else re.escape(c) for c in text), re.DOTALL)

        def equal(v) -> bool:
            return isinstance(v, str) and regex.fullmatch(v) is not None
    return equal if op == "=" else (lambda v: not equal(v))


def _json_pattern(pattern: str):
    if not pattern.endswith("}"):
        raise _json_invalid(pattern)
    body = pattern[1:-1]
    tokens, pos = [], 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        m = _JSON_TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            raise _json_invalid(pattern)
        tokens.append(m.group(1))
        pos = m.end()
    at = 0

    def peek(offset: int = 0):
        return tokens[at + offset] if at + offset < len(tokens) else None

    def take():
        nonlocal at
        if at >= len(tokens):
            raise _json_invalid(pattern)
        at += 1
        return tokens[at - 1]

    def primary():
        if peek() == "(":
            take()
            inner = disjunction()
            if take() != ")":
                raise _json_invalid(pattern)
            return inner
        selector = take()
        if not selector.startswith("$"):
            raise _json_invalid(pattern)
        path = _selector(selector)
        word = (peek() or "").upper()
        if word == "IS":
            take()
            what = take().upper()
            wanted = {"TRUE": True, "FALSE": False, "NULL": None}.get(what, _MISSING)
            if wanted is _MISSING:
                raise _json_invalid(pattern)
            return lambda doc: any(v is wanted for v in _select(doc, path))
        if word == "NOT" and (peek(1) or "").upper() == "EXISTS":
            take(), take()
            return lambda doc: not _select(doc, path)
        op = take()
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise _json_invalid(pattern)
        test = _json_compare(op, take(), pattern)
        if op == "!=":  # a missing property is not "different"
            return lambda doc: bool(values := _select(doc, path)) and all(test(v) for v in values)
        return lambda doc: any(test(v) for v in _select(doc, path))

    def conjunction():
        parts = [primary()]
        while peek() == "&&":
            take()
            parts.append(primary())
        return parts[0] if len(parts) == 1 else (lambda doc: all(p(doc) for p in parts))

    def disjunction():
        parts = [conjunction()]
        while peek() == "||":
            take()
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else (lambda doc: any(p(doc) for p in parts))

    predicate = disjunction()
    if at != len(tokens):
        raise _json_invalid(pattern)

    def match(message: str) -> bool:
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        return isinstance(document, dict | list) and predicate(document)

    return match
