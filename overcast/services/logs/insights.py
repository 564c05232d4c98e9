"""A subset of the CloudWatch Logs Insights query language (CWLI), parsed once and run over log
events: `fields`, `display`, `filter`, `stats`, `sort`, `limit`, `parse`, `dedup`, with `#`
comments.

    fields @timestamp, @message, level as lvl | filter level = "ERROR" and latency > 100
        | stats count(*) as errors, avg(latency) by service, bin(5m) | sort errors desc | limit 10

Expressions: field names (`@timestamp`, `@message`, `@logStream`, `@log`, `@ingestionTime`, the
keys of a JSON event flattened with dots, or `backquoted names`), numbers, 'strings' or
"strings", /regular expressions/; `=`, `!=`, `<`, `<=`, `>`, `>=`, `like` (a string: substring; a
regex: search), `not like`, `=~`, `in [...]`, `not in [...]`, `and`, `or`, `not`, `+ - * / %`,
parentheses; functions `ispresent`, `isempty`, `isblank`, `strlen`, `tolower`, `toupper`,
`concat`, `abs`, `ceil`, `floor`, `coalesce`. Aggregates in `stats`: `count(*)`, `count(expr)`,
`count_distinct`, `sum`, `avg`, `min`, `max`; grouped `by` expressions and `bin(<n><unit>)`
(ms, s, m, h, d, w).

Other commands (unmask, pattern, diff, SOURCE, ...) and functions raise
`Unsupported`; text that is no query raises `Malformed` with the offending position. Both are
turned into AWS's errors by the provider.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import orjson

DEFAULT_FIELDS = ("@timestamp", "@message", "@logStream", "@log")
UNSUPPORTED_COMMANDS = {"unmask", "pattern", "diff", "anomaly", "unnest", "lookup", "source",
                        "filterindex", "head"}
_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


class Malformed(Exception):
    def __init__(self, message: str, start: int, end: int):
        super().__init__(message)
        self.start, self.end = start, end


class Unsupported(Exception):
    pass


# -- tokens ------------------------------------------------------------------------------------

@dataclass(slots=True)
class Token:
    kind: str  # name, number, string, regex, op, end
    text: str
    value: object
    start: int
    end: int


_OPS = ("!=", "<=", ">=", "=~", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", "[", "]", "|")
_NAME = re.compile(r"[@A-Za-z_][\w@.]*")  # @message, level, a.b.c (other names go in `backquotes`)
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":  # a comment, to the end of the line
            while i < n and text[i] != "\n":
                i += 1
        elif c in "'\"`":
            j, out = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            if j >= n:
                raise Malformed(f"unterminated quoted text at position {i}", i, n)
            kind = "name" if c == "`" else "string"
            tokens.append(Token(kind, text[i:j + 1], "".join(out), i, j + 1))
            i = j + 1
        elif c == "/" and (not tokens or tokens[-1].kind == "op" and tokens[-1].text not in (")", "]")
                           or tokens[-1].kind == "name" and tokens[-1].text.lower() in ("like", "in", "and", "or", "not",
                                                                                        "parse")
                           or len(tokens) > 1 and tokens[-2].kind == "name" and tokens[-2].text.lower() == "parse"):
            j = i + 1
            while j < n and text[j] != "/":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise Malformed(f"unterminated regular expression at position {i}", i, n)
            try:  # named groups as AWS (Java) writes them, (?<name>...), are Python's (?P<name>...)
                pattern = re.compile(_NAMED_GROUP.sub("(?P<", text[i + 1:j]))
            except re.error as e:
                raise Malformed(f"invalid regular expression {text[i:j + 1]}: {e}", i, j + 1) from None
            tokens.append(Token("regex", text[i:j + 1], pattern, i, j + 1))
            i = j + 1
        elif c in "0123456789":
            m = _NUMBER.match(text, i)
            j = m.end()
            unit = re.match(r"(ms|min|s|m|h|d|w)\b", text[j:])  # a period, as bin() takes it
            if unit:
                j += unit.end()
                tokens.append(Token("period", text[i:j], float(m.group()) * _UNITS[unit.group(1)], i, j))
            else:
                value = float(m.group())
                tokens.append(Token("number", m.group(), int(value) if value.is_integer() and "." not in m.group()
                                    else value, i, j))
            i = j
        elif m := _NAME.match(text, i):
            tokens.append(Token("name", m.group(), m.group(), i, m.end()))
            i = m.end()
        else:
            for op in _OPS:
                if text.startswith(op, i):
                    tokens.append(Token("op", op, op, i, i + len(op)))
                    i += len(op)
                    break
            else:
                raise Malformed(f"unexpected symbol found {c} at line {text.count(chr(10), 0, i) + 1} and "
                                f"position {i - text.rfind(chr(10), 0, i)}", i, i + 1)
    tokens.append(Token("end", "", None, n, n))
    return tokens


# -- expressions --------------------------------------------------------------------------------
# An expression compiles to a function of a row (a dict of field values) that returns its value.

def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _compare(op: str, a, b) -> bool:
    if a is None or b is None:
        return op == "!=" and (a is None) != (b is None)
    x, y = _number(a), _number(b)
    if x is None or y is None:
        x, y = _text(a), _text(b)
    return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _like(value, pattern) -> bool:
    if value is None:
        return False
    if isinstance(pattern, re.Pattern):
        return pattern.search(_text(value)) is not None
    return _text(pattern) in _text(value)


def _arith(op: str, a, b):
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return None
    if op in "/%" and y == 0:
        return None
    return {"+": x + y, "-": x - y, "*": x * y, "/": x / y, "%": x % y}[op]


def _is_blank(value) -> bool:
    return value is None or _text(value).strip() == ""


def _binary(op: str, left, right):
    return lambda row: _arith(op, left(row), right(row))


def _bin(width: int):
    """bin(period): the start of the period an event's @timestamp falls in."""
    def start(row):
        ts = _number(row.get("@timestamp"))
        return None if ts is None else Timestamp(int(ts) // width * width)
    return start


def _lookup(name: str):
    return lambda row: row.get(name)


FUNCTIONS = {
    "ispresent": (1, lambda v: v is not None),
    "isempty": (1, lambda v: v is None or _text(v) == ""),
    "isblank": (1, _is_blank),
    "strlen": (1, lambda v: None if v is None else len(_text(v))),
    "tolower": (1, lambda v: None if v is None else _text(v).lower()),
    "toupper": (1, lambda v: None if v is None else _text(v).upper()),
    "abs": (1, lambda v: None if _number(v) is None else abs(_number(v))),
    "ceil": (1, lambda v: None if _number(v) is None else math.ceil(_number(v))),
    "floor": (1, lambda v: None if _number(v) is None else math.floor(_number(v))),
    "concat": (None, lambda *vs: "".join(_text(v) for v in vs)),
    "coalesce": (None, lambda *vs: next((v for v in vs if v is not None), None)),
}
AGGREGATES = {"count", "count_distinct", "sum", "avg", "min", "max"}


@dataclass
class Aggregate:
    name: str  # the column's name: its alias, or the expression as written
    function: str
    argument: object  # a compiled expression, or None for count(*)


class Parser:
    def __init__(self, text: str, tokens: list[Token]):
        self.text, self.tokens, self.i = text, tokens, 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, token: Token | None = None):
        token = token or self.token
        shown = token.text or "end of query"
        raise Malformed(f"unexpected symbol found {shown} at line {self.text.count(chr(10), 0, token.start) + 1} "
                        f"and position {token.start - self.text.rfind(chr(10), 0, token.start)}", token.start, token.end)

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "name" and self.token.text.lower() in words

    def is_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect_op(self, op: str) -> None:
        if not self.is_op(op):
            self.fail()
        self.i += 1

    def source(self, start: int) -> str:
        """The query text from token `start` to the current one: an unaliased column's name."""
        return self.text[self.tokens[start].start:self.tokens[self.i - 1].end]

    # or > and > not > comparison > additive > multiplicative > unary > primary
    def expression(self):
        left = self.conjunction()
        while self.is_word("or"):
            self.i += 1
            right = self.conjunction()
            left = (lambda a, b: lambda row: bool(a(row)) or bool(b(row)))(left, right)
        return left

    def conjunction(self):
        left = self.negation()
        while self.is_word("and"):
            self.i += 1
            right = self.negation()
            left = (lambda a, b: lambda row: bool(a(row)) and bool(b(row)))(left, right)
        return left

    def negation(self):
        if self.is_word("not"):
            self.i += 1
            inner = self.negation()
            return lambda row: not inner(row)
        return self.comparison()

    def comparison(self):
        left = self.additive()
        negate = False
        if self.is_word("not") and self.tokens[self.i + 1].kind == "name" \
                and self.tokens[self.i + 1].text.lower() in ("like", "in"):
            negate = True
            self.i += 1
        if self.is_op("=", "!=", "<", "<=", ">", ">=") and not negate:
            op = self.next().text
            right = self.additive()
            return lambda row: _compare(op, left(row), right(row))
        if self.is_op("=~") and not negate:
            self.i += 1
            pattern = self.next()
            if pattern.kind != "regex":
                self.fail(pattern)
            return lambda row: _like(left(row), pattern.value)
        if self.is_word("like"):
            self.i += 1
            pattern = self.next()
            if pattern.kind not in ("regex", "string"):
                self.fail(pattern)
            return lambda row: _like(left(row), pattern.value) != negate
        if self.is_word("in"):
            self.i += 1
            self.expect_op("[")
            items = [self.additive()]
            while self.is_op(","):
                self.i += 1
                items.append(self.additive())
            self.expect_op("]")
            return lambda row: any(_compare("=", left(row), item(row)) for item in items) != negate
        if negate:
            self.fail()
        return left

    def additive(self):
        left = self.multiplicative()
        while self.is_op("+", "-"):
            op = self.next().text
            right = self.multiplicative()
            left = _binary(op, left, right)
        return left

    def multiplicative(self):
        left = self.unary()
        while self.is_op("*", "/", "%"):
            op = self.next().text
            right = self.unary()
            left = _binary(op, left, right)
        return left

    def unary(self):
        if self.is_op("-"):
            self.i += 1
            inner = self.unary()
            return lambda row: None if _number(inner(row)) is None else -_number(inner(row))
        return self.primary()

    def primary(self):
        token = self.next()
        if token.kind in ("number", "string", "regex"):
            value = token.value
            return lambda row: value
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect_op(")")
            return inner
        if token.kind == "name":
            if self.is_op("(") and token.text[:1] != "@":
                return self.call(token)
            if token.text.lower() in ("and", "or", "not", "like", "in", "by", "as", "asc", "desc"):
                self.fail(token)
            name = token.value
            return lambda row: row.get(name)
        self.fail(token)

    def call(self, token: Token):
        name = token.text.lower()
        if name in AGGREGATES:
            self.fail(token)  # only in stats
        if name == "bin":
            self.fail(token)  # only in stats ... by
        if name not in FUNCTIONS:
            raise Unsupported(f"Logs Insights function {token.text}()")
        arity, function = FUNCTIONS[name]
        self.expect_op("(")
        args = []
        if not self.is_op(")"):
            args.append(self.expression())
            while self.is_op(","):
                self.i += 1
                args.append(self.expression())
        self.expect_op(")")
        if arity is not None and len(args) != arity or not args:
            self.fail(token)
        return lambda row: function(*(arg(row) for arg in args))

    def named_list(self, allow_aggregates: bool = False):
        """`expr [as name]` items separated by commas: [(name, compiled)]."""
        return self._items(self.aggregate if allow_aggregates else self.expression)

    def _items(self, compile_item):
        """Items separated by commas, each compiled by `compile_item` and named by its source text
        or its `as` alias: [(name, compiled)]."""
        items = []
        while True:
            start = self.i
            compiled = compile_item()
            name = self.source(start)
            if self.is_word("as"):
                self.i += 1
                alias = self.next()
                if alias.kind != "name":
                    self.fail(alias)
                name = alias.value
            items.append((name, compiled))
            if not self.is_op(","):
                return items
            self.i += 1

    def aggregate(self):
        token = self.next()
        if token.kind != "name" or token.text.lower() not in AGGREGATES or not self.is_op("("):
            if token.kind == "name" and self.is_op("("):
                raise Unsupported(f"Logs Insights aggregation function {token.text}()")
            self.fail(token)
        self.expect_op("(")
        function = token.text.lower()
        argument = None
        if function == "count" and (self.is_op("*") or self.is_op(")")):
            if self.is_op("*"):
                self.i += 1
        else:
            argument = self.expression()
        self.expect_op(")")
        return (function, argument)

    def group_list(self):
        """`by` items: expressions or bin(period), each [as name]."""
        return self._items(self._group_item)

    def _group_item(self):
        if self.is_word("bin") and self.tokens[self.i + 1].text == "(":
            self.i += 2
            period = self.next()
            if period.kind not in ("period", "number") or not period.value:
                self.fail(period)
            self.expect_op(")")
            width = int(period.value) if period.kind == "period" else int(period.value * 1000)
            return _bin(width)
        return self.expression()


class Timestamp(int):
    """Milliseconds since the epoch, shown as Logs Insights shows times."""


# -- the query ---------------------------------------------------------------------------------

@dataclass
class Query:
    steps: list = field(default_factory=list)  # (command, data), in order
    has_stats: bool = False
    limit: int | None = None


def parse(text: str) -> Query:
    tokens = tokenize(text)
    query = Query()
    p = Parser(text, tokens)
    while p.token.kind != "end":
        command = p.next()
        if command.kind != "name":
            p.fail(command)
        name = command.text.lower()
        if name in UNSUPPORTED_COMMANDS:
            raise Unsupported(f"the Logs Insights command {command.text}")
        if name == "fields":
            query.steps.append(("fields", p.named_list()))
        elif name == "display":
            query.steps.append(("display", [n for n, _ in p.named_list()]))
        elif name == "filter":
            query.steps.append(("filter", p.expression()))
        elif name == "stats":
            if query.has_stats:
                raise Unsupported("a second stats command in one Logs Insights query")
            aggregates = [Aggregate(n, f, a) for n, (f, a) in p.named_list(allow_aggregates=True)]
            groups = []
            if p.is_word("by"):
                p.i += 1
                groups = p.group_list()
            query.steps.append(("stats", (aggregates, groups)))
            query.has_stats = True
        elif name == "sort":
            keys = []
            while True:
                start = p.i
                if p.token.kind == "name" and p.token.text.lower() in AGGREGATES and p.tokens[p.i + 1].text == "(":
                    p.aggregate()  # a stats column named as written: `sort count(*) desc`
                    expr = _lookup(p.source(start))
                else:
                    expr = p.expression()
                key_name = p.source(start)
                descending = False
                if p.is_word("asc", "desc"):
                    descending = p.next().text.lower() == "desc"
                keys.append((key_name, expr, descending))
                if not p.is_op(","):
                    break
                p.i += 1
            query.steps.append(("sort", keys))
        elif name == "parse":
            query.steps.append(("parse", _parse_command(p)))
        elif name == "dedup":
            names = [n for n, _ in p.named_list()]
            query.steps.append(("dedup", names))
        elif name == "limit":
            count = p.next()
            if count.kind != "number" or not isinstance(count.value, int) or count.value < 1:
                p.fail(count)
            query.steps.append(("limit", count.value))
        else:
            p.fail(command)
        if p.is_op("|"):
            p.i += 1
            if p.token.kind == "end":
                p.fail()
        elif p.token.kind != "end":
            p.fail()
    return query


def _parse_command(p: Parser):
    """`parse <field> "glob with * wildcards" as a, b` or `parse <field> /regex with (?<name>...)/`:
    (source expression, compiled regex, the names its groups fill)."""
    source = p.expression() if p.token.kind not in ("string", "regex") else _lookup("@message")
    pattern = p.next()
    if pattern.kind == "string":  # a glob: each * captures, the text between is literal
        parts = pattern.value.split("*")
        if len(parts) < 2:
            p.fail(pattern)
        body = "(.*?)".join(re.escape(part) for part in parts)
        if pattern.value.endswith("*"):  # the last wildcard takes the rest of the value
            body = body[:-len("(.*?)")] + "(.*)"
        regex = re.compile(("^" if pattern.value.startswith("*") else "") + body, re.DOTALL)
        if not p.is_word("as"):
            p.fail()
        p.i += 1
        names = []
        while True:
            token = p.next()
            if token.kind != "name":
                p.fail(token)
            names.append(token.value)
            if not p.is_op(","):
                break
            p.i += 1
        if len(names) != len(parts) - 1:
            raise Malformed(f"parse: {len(parts) - 1} wildcards but {len(names)} names", pattern.start, token.end)
        return source, regex, names
    if pattern.kind == "regex":  # named groups name the fields: (?<name>...) as AWS writes them
        regex = pattern.value
        if not regex.groupindex:
            raise Malformed("parse with a regular expression needs named groups: (?<name>...)", pattern.start,
                            pattern.end)
        return source, regex, list(regex.groupindex)
    p.fail(pattern)


def _apply_parse(data, row: dict) -> None:
    source, regex, names = data
    value = source(row)
    match = regex.search(_text(value)) if value is not None else None
    for i, name in enumerate(names, 1):
        found = (match.group(name) if regex.groupindex else match.group(i)) if match else None
        row[name] = found if found not in (None, "") else None


# -- running it --------------------------------------------------------------------------------

def flatten(message: str) -> dict:
    """The fields Logs Insights discovers in a JSON event: its keys, nested ones joined with dots
    and list items by index (`a.b`, `items.0`)."""
    if not message.startswith("{"):
        return {}
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError:
        return {}
    out: dict = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(f"{prefix}.{index}", item)
        elif len(out) < 1000:
            out[prefix] = value

    walk("", document) if isinstance(document, dict) else None
    return out


def show(value) -> str:
    if isinstance(value, Timestamp):
        seconds, millis = divmod(int(value), 1000)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return _text(value)


def _natural_key(value):
    """Logs Insights' natural order: text before numbers; numbers by value; text in chunks of
    digits (by length, then value) and of other characters (by code point)."""
    if value is None:
        return (0, ())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (2, value)
    text = _text(value)
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return (2, float(text))
    # a run of digits sits where its first digit does in code point order ("2345" before "@")
    chunks = tuple((0x30, 1, len(c), int(c)) if c[0] in "0123456789" else (ord(c[0]), 0, c, 0)
                   for c in re.findall(r"[0-9]+|[^0-9]+", text))
    return (1, chunks)


class Run:
    """One query's execution over the events fed to `add`, in any order."""

    def __init__(self, query: Query, limit: int):
        self.query = query
        self.limit = limit
        self.rows: list[dict] = []
        self.scanned = 0
        self.bytes = 0
        self.matched = 0
        stats_at = next((i for i, (command, _) in enumerate(query.steps) if command == "stats"), None)
        self.before = query.steps if stats_at is None else query.steps[:stats_at]
        self.after = [] if stats_at is None else query.steps[stats_at + 1:]
        self.stats = None if stats_at is None else query.steps[stats_at][1]
        self.groups: dict = {}

    def add(self, row: dict) -> None:
        """A log event's fields (@timestamp, @message, ... and @ptr)."""
        self.scanned += 1
        self.bytes += len(row["@message"].encode())
        row.update({k: v for k, v in flatten(row["@message"]).items() if k not in row})
        for command, data in self.before:
            if command == "filter":
                if not data(row):
                    return
            elif command == "fields":
                for name, compiled in data:
                    row[name] = compiled(row)
            elif command == "parse":
                _apply_parse(data, row)
        self.matched += 1
        if self.stats is None:
            self.rows.append(row)
        else:
            self._aggregate(row)

    def _aggregate(self, row: dict) -> None:
        aggregates, groups = self.stats
        key = tuple(compiled(row) for _, compiled in groups)
        state = self.groups.get(key)
        if state is None:
            state = self.groups[key] = [[0, 0.0, None, None, set()] for _ in aggregates]
        for aggregate, acc in zip(aggregates, state, strict=True):
            value = None if aggregate.argument is None else aggregate.argument(row)
            if aggregate.argument is not None and value is None:
                continue
            acc[0] += 1
            if aggregate.function == "count_distinct":
                acc[4].add(_text(value))
            elif aggregate.function in ("sum", "avg"):
                number = _number(value)
                if number is not None:
                    acc[1] += number
                else:
                    acc[0] -= 1
            elif aggregate.function in ("min", "max"):
                number = _number(value)
                candidate = number if number is not None else _text(value)
                current = acc[2]
                if current is None:
                    acc[2] = candidate
                elif isinstance(current, str) != isinstance(candidate, str):
                    if isinstance(current, str):  # numbers win over text
                        acc[2] = candidate
                elif candidate < current if aggregate.function == "min" else candidate > current:
                    acc[2] = candidate

    def finish(self) -> tuple[list[list[dict]], int]:
        """The result rows as GetQueryResults answers them, and how many there are before the limit."""
        if self.stats is not None:
            aggregates, groups = self.stats
            rows = []
            for key, state in self.groups.items():
                row = {name: value for (name, _), value in zip(groups, key, strict=True)}
                for aggregate, acc in zip(aggregates, state, strict=True):
                    if aggregate.function == "count":
                        row[aggregate.name] = acc[0]
                    elif aggregate.function == "count_distinct":
                        row[aggregate.name] = len(acc[4])
                    elif aggregate.function == "sum":
                        row[aggregate.name] = acc[1] if acc[0] else None
                    elif aggregate.function == "avg":
                        row[aggregate.name] = acc[1] / acc[0] if acc[0] else None
                    else:
                        row[aggregate.name] = acc[2]
                rows.append(row)
            if any(isinstance(v, Timestamp) for key in self.groups for v in key):
                rows.sort(key=lambda r: [_natural_key(r[name]) for name, _ in groups])
            columns = [name for name, _ in groups] + [a.name for a in aggregates]
            steps = self.after
        else:
            # without a sort, the newest events first
            rows = sorted(self.rows, key=lambda r: (r["@timestamp"], r["@ptr"]), reverse=True)
            columns = None
            steps = []
            for command, data in self.query.steps:
                if command == "fields":
                    columns = (columns or []) + [n for n, _ in data if n not in (columns or [])]
                elif command == "display":
                    columns = list(data)
            steps = [s for s in self.query.steps if s[0] in ("sort", "limit", "dedup")]
            columns = list(columns or DEFAULT_FIELDS)
        limit = self.limit
        for command, data in steps:
            if command == "filter":
                rows = [r for r in rows if data(r)]
            elif command == "fields":
                for r in rows:
                    for name, compiled in data:
                        r[name] = compiled(r)
                columns += [n for n, _ in data if n not in columns]
            elif command == "display":
                columns = list(data)
            elif command == "sort":
                for _name, expr, descending in reversed(data):
                    rows.sort(key=lambda r, expr=expr: _natural_key(expr(r)), reverse=descending)
            elif command == "parse":
                for r in rows:
                    _apply_parse(data, r)
            elif command == "dedup":  # the first row (in the order so far) of each combination of values
                seen, kept = set(), []
                for r in rows:
                    key = tuple(r.get(name) for name in data)
                    if None in key or (key := tuple(_text(v) for v in key)) not in seen:
                        seen.add(key)
                        kept.append(r)
                rows = kept
            elif command == "limit":
                limit = min(limit, data)
        total = len(rows)
        out = []
        for r in rows[:limit]:
            cells = [{"field": name, "value": show(r[name])} for name in columns if r.get(name) is not None]
            if self.stats is None:
                cells.append({"field": "@ptr", "value": r["@ptr"]})
            out.append(cells)
        return out, total
