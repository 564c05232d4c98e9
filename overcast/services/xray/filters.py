"""X-Ray filter expressions (GetTraceSummaries' FilterExpression), the subset docs/xray.md lists:

- boolean keywords `ok`, `error`, `fault`, `throttle`, `partial` (and `root` inside service{}),
  alone, negated with `!`, or compared `= true` / `!= false`;
- number keywords `responsetime`, `duration`, `http.status` with = != < <= > >=;
- string keywords `http.url`, `http.method`, `http.useragent`, `http.clientip`, `user`,
  `resource.arn`, and `name` / `type` inside service{}, with = != CONTAINS BEGINSWITH ENDSWITH,
  or alone (the field is set);
- `annotation.key` alone (set), negated (not set) or compared with any of those operators;
- `service("name") {filter}`, `service() {filter}`, `service(id(name: "n", type: "t"))`, and
  `edge("caller", "callee") {filter}` (the filter applies to the callee's segments);
- AND, OR (also `and`, `or`, `&&`, `||`; juxtaposed expressions are ANDed), parentheses, `!`.

Keywords are case-insensitive. Anything else (rootcause.*, group.*, json, ...) is refused with
InvalidRequestException rather than ignored.
"""

from __future__ import annotations

import re

from overcast.aws.errors import AwsError
from overcast.services.xray.segments import TraceData, flags, origin_of, status_of, walk

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<op><=|>=|!=|&&|\|\||[=<>!(){},:])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
    )""", re.VERBOSE)

BOOLEAN = {"ok", "error", "fault", "throttle", "partial", "root"}
NUMBER = {"responsetime", "duration", "http.status"}
STRING = {"http.url", "http.method", "http.useragent", "http.clientip", "user", "resource.arn", "name", "type"}
SEGMENT_ONLY = {"root", "name", "type"}
STRING_OPS = {"=", "!=", "contains", "beginswith", "endswith"}
NUMBER_OPS = {"=", "!=", "<", "<=", ">", ">="}


def invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


def compile_filter(text: str):
    """The expression as a function of a TraceData (and the account), or InvalidRequestException."""
    tokens = _tokenize(text)
    if not tokens:
        return None
    parser = _Parser(tokens)
    predicate = parser.parse_or(segment=False)
    if parser.pos != len(tokens):
        raise invalid(f"Invalid filter expression: unexpected {tokens[parser.pos][1]!r}.")
    return lambda trace: predicate(_TraceScope(trace))


def _tokenize(text: str) -> list[tuple[str, object]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise invalid(f"Invalid filter expression: unexpected character at {pos}.")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "number":
            value = float(value)
        elif kind == "word" and value.lower() in ("and", "or", "contains", "beginswith", "endswith", "true",
                                                   "false"):
            kind, value = "op", value.lower()
        tokens.append((kind, value))
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        if token[0] is None:
            raise invalid("Invalid filter expression: it ends too early.")
        self.pos += 1
        return token

    def expect(self, value) -> None:
        kind, got = self.take()
        if got != value:
            raise invalid(f"Invalid filter expression: expected {value!r}, found {got!r}.")

    def parse_or(self, segment: bool):
        parts = [self.parse_and(segment)]
        while self.peek()[1] in ("or", "||"):
            self.take()
            parts.append(self.parse_and(segment))
        return parts[0] if len(parts) == 1 else (lambda scope: any(p(scope) for p in parts))

    def parse_and(self, segment: bool):
        parts = [self.parse_unary(segment)]
        while True:
            kind, value = self.peek()
            if value in ("and", "&&"):
                self.take()
            elif kind is None or value in ("or", "||", ")", "}"):
                break
            parts.append(self.parse_unary(segment))
        return parts[0] if len(parts) == 1 else (lambda scope: all(p(scope) for p in parts))

    def parse_unary(self, segment: bool):
        if self.peek()[1] == "!":
            self.take()
            inner = self.parse_unary(segment)
            return lambda scope: not inner(scope)
        return self.parse_primary(segment)

    def parse_primary(self, segment: bool):
        kind, value = self.take()
        if value == "(":
            inner = self.parse_or(segment)
            self.expect(")")
            return inner
        if kind != "word":
            raise invalid(f"Invalid filter expression: unexpected {value!r}.")
        keyword = value.lower()
        if keyword in ("service", "edge") and self.peek()[1] == "(":
            if segment:
                raise invalid(f"Invalid filter expression: {keyword}() cannot be nested.")
            return self.parse_service() if keyword == "service" else self.parse_edge()
        return self.parse_comparison(value, segment)

    def parse_node(self):
        """A service's name (string or bare word) or id(name: "...", type: "...") -> (name, type)."""
        kind, value = self.peek()
        if kind == "word" and value.lower() == "id":
            self.take()
            self.expect("(")
            fields = {}
            while self.peek()[1] != ")":
                _, key = self.take()
                self.expect(":")
                fields[str(key).lower()] = self.take()[1]
                if self.peek()[1] == ",":
                    self.take()
            self.expect(")")
            return fields.get("name"), fields.get("type")
        if kind in ("string", "word"):
            self.take()
            return value, None
        raise invalid("Invalid filter expression: a service is named by a string or id(name: ..., type: ...).")

    def parse_block(self):
        if self.peek()[1] == "{":
            self.take()
            inner = self.parse_or(segment=True)
            self.expect("}")
            return inner
        return None

    def parse_service(self):
        self.expect("(")
        name = kind = None
        if self.peek()[1] != ")":
            name, kind = self.parse_node()
        self.expect(")")
        inner = self.parse_block()

        def test(scope):
            for seg in scope.trace.segments():
                if name is not None and seg.get("name") != name:
                    continue
                if kind is not None and origin_of(seg) != kind:
                    continue
                if inner is None or inner(_SegmentScope(seg, scope)):
                    return True
            return False

        return test

    def parse_edge(self):
        self.expect("(")
        source = self.parse_node()
        self.expect(",")
        target = self.parse_node()
        self.expect(")")
        inner = self.parse_block()

        def matches(seg, node) -> bool:
            return (node[0] is None or seg.get("name") == node[0]) and (node[1] is None or origin_of(seg) == node[1])

        def test(scope):
            owner = scope.owner()
            for seg in scope.trace.segments():
                caller = owner.get(seg.get("parent_id"))
                if caller is None or caller is seg or not matches(caller, source) or not matches(seg, target):
                    continue
                if inner is None or inner(_SegmentScope(seg, scope)):
                    return True
            return False

        return test

    def parse_comparison(self, word: str, segment: bool):
        keyword = word.lower()
        annotation = word[len("annotation."):] if keyword.startswith("annotation.") else None
        if annotation is None:
            if keyword not in BOOLEAN | NUMBER | STRING:
                raise invalid(f"Invalid filter expression: overcast does not support the keyword {word!r} "
                              "(see docs/xray.md).")
            if keyword in SEGMENT_ONLY and not segment:
                raise invalid(f"Invalid filter expression: {word!r} is only valid inside service() {{...}}.")
        op = self.peek()[1] if self.peek()[0] == "op" else None
        if op not in NUMBER_OPS | STRING_OPS:
            if annotation is None and keyword in NUMBER:
                raise invalid(f"Invalid filter expression: {word!r} needs a comparison.")
            if annotation is not None:
                return lambda scope: bool(scope.values(annotation=annotation))
            if keyword in BOOLEAN:
                return lambda scope: bool(scope.boolean(keyword))
            return lambda scope: any(v not in (None, "") for v in scope.values(keyword))
        self.take()
        kind, value = self.take()
        if kind == "op" and value in ("true", "false"):
            value = value == "true"
        elif kind not in ("string", "number", "word"):
            raise invalid(f"Invalid filter expression: {word!r} {op} needs a value.")
        if annotation is None and keyword in BOOLEAN:
            if not isinstance(value, bool) or op not in ("=", "!="):
                raise invalid(f"Invalid filter expression: {word!r} compares with = true or = false.")
            return lambda scope: (bool(scope.boolean(keyword)) == value) == (op == "=")
        if annotation is None and keyword in NUMBER and (op not in NUMBER_OPS or not isinstance(value, float)):
            raise invalid(f"Invalid filter expression: {word!r} compares with a number.")
        if annotation is None and keyword in STRING and op not in STRING_OPS:
            raise invalid(f"Invalid filter expression: {word!r} compares with =, !=, CONTAINS, BEGINSWITH "
                          "or ENDSWITH.")

        def test(scope):
            found = scope.values(annotation=annotation) if annotation is not None else scope.values(keyword)
            if op == "!=":
                return bool(found) and all(not _compare(v, "=", value) for v in found)
            return any(_compare(v, op, value) for v in found)

        return test


def _compare(left, op: str, right) -> bool:
    if left is None:
        return False
    if isinstance(right, bool) or isinstance(left, bool):
        return op == "=" and left == right
    if isinstance(right, float):
        if isinstance(left, str):
            try:
                left = float(left)
            except ValueError:
                return False
        return {"=": left == right, "<": left < right, "<=": left <= right, ">": left > right,
                ">=": left >= right}.get(op, False)
    left, right = str(left), str(right)
    if op == "=":
        return left == right
    if op == "contains":
        return right in left
    if op == "beginswith":
        return left.startswith(right)
    if op == "endswith":
        return left.endswith(right)
    return False


def _http(doc: dict, field: str):
    http = doc.get("http") if isinstance(doc.get("http"), dict) else {}
    if field == "status":
        return status_of(doc)
    request = http.get("request") if isinstance(http.get("request"), dict) else {}
    return request.get({"url": "url", "method": "method", "useragent": "user_agent", "clientip": "client_ip"}[field])


class _TraceScope:
    """Keywords on a whole trace: its root segment's status and HTTP fields, its duration, the
    users, resource ARNs and annotations of any of its segments and subsegments."""

    def __init__(self, trace: TraceData):
        self.trace = trace
        self.root = trace.root() or (trace.segments() or trace.documents or [{}])[0]
        self._owner = None

    def owner(self):
        if self._owner is None:
            self._owner = self.trace.owner_of()
        return self._owner

    def boolean(self, keyword: str) -> bool:
        if keyword == "partial":
            return self.trace.partial()
        return _status(self.root, keyword)

    def values(self, keyword: str | None = None, annotation: str | None = None) -> list:
        docs = list(self._every())
        if annotation is not None:
            return [d["annotations"][annotation] for d in docs
                    if isinstance(d.get("annotations"), dict) and annotation in d["annotations"]]
        if keyword == "responsetime":
            return [_took(self.root)]
        if keyword == "duration":
            return [self.trace.end() - self.trace.start()]
        if keyword.startswith("http."):
            return [_http(self.root, keyword[5:])]
        if keyword == "user":
            return [d.get("user") for d in docs if isinstance(d.get("user"), str)]
        if keyword == "resource.arn":
            return [d.get("resource_arn") for d in docs if isinstance(d.get("resource_arn"), str)]
        return []

    def _every(self):
        for doc in self.trace.documents:
            yield doc
            for sub, _ in walk(doc):
                yield sub


class _SegmentScope:
    """Keywords inside service() {...} / edge() {...}: one segment's own fields."""

    def __init__(self, segment: dict, trace_scope: _TraceScope):
        self.segment = segment
        self.trace_scope = trace_scope

    def boolean(self, keyword: str) -> bool:
        if keyword == "root":
            return self.segment is self.trace_scope.root
        if keyword == "partial":
            return self.segment.get("in_progress") is True
        return _status(self.segment, keyword)

    def values(self, keyword: str | None = None, annotation: str | None = None) -> list:
        seg = self.segment
        if annotation is not None:
            docs = [seg, *(sub for sub, _ in walk(seg))]
            return [d["annotations"][annotation] for d in docs
                    if isinstance(d.get("annotations"), dict) and annotation in d["annotations"]]
        if keyword in ("responsetime", "duration"):
            return [_took(seg)]
        if keyword.startswith("http."):
            return [_http(seg, keyword[5:])]
        if keyword == "name":
            return [seg.get("name")]
        if keyword == "type":
            return [origin_of(seg)]
        if keyword == "user":
            return [seg.get("user")]
        if keyword == "resource.arn":
            return [seg.get("resource_arn")]
        return []


def _status(doc: dict, keyword: str) -> bool:
    error, fault, throttle = flags(doc)
    if keyword == "ok":
        return not (error or fault or throttle)
    return {"error": error, "fault": fault, "throttle": throttle}.get(keyword, False)


def _took(doc: dict) -> float | None:
    end = doc.get("end_time")
    start = doc.get("start_time")
    if isinstance(end, int | float) and isinstance(start, int | float):
        return float(end) - float(start)
    return None
