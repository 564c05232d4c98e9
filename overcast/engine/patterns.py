"""The one event-pattern engine: EventBridge event patterns, SNS filter policies and Lambda
event-source-mapping FilterCriteria.

A pattern is compiled once into a matcher (closures over sets and pre-built predicates); matching
an event is then a walk over the pattern's fields only, failing fast on the first field that does
not match. Semantics follow AWS's documentation of event patterns:

- a field's value in the pattern is an array of alternatives (OR); fields are ANDed;
- a nested object in the pattern descends into the event's object (an array of objects in the
  event matches when one of its elements matches);
- an array in the event matches when any of its elements matches;
- operators: exact values (strings, numbers compared numerically, true, false, null), ``prefix``,
  ``suffix`` (each also with ``equals-ignore-case``), ``anything-but`` (a value, a list, or
  ``prefix`` / ``suffix`` / ``wildcard`` / ``equals-ignore-case``), ``numeric`` ranges,
  ``exists``, ``equals-ignore-case``, ``wildcard``, ``cidr``, and ``$or``.

``dialect="sns"`` restricts operators and limits to SNS filter policies (no wildcard, numbers
within ±1e9, at most five keys and 150 value combinations).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

import orjson

_MISSING = object()
_NUMBER = (int, float)


class PatternError(ValueError):
    """An invalid pattern; `reason` is the text AWS puts after "Reason: "."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Matcher:
    """A compiled pattern: `matches(event)` with the event as parsed JSON (a dict)."""

    __slots__ = ("pattern", "_test")

    def __init__(self, pattern: dict, test: Callable[[Any], bool]):
        self.pattern = pattern
        self._test = test

    def matches(self, event: Any) -> bool:
        return self._test(event)

    __call__ = matches


def load(text: str | bytes | dict) -> dict:
    """Parse a pattern's JSON text (dicts pass through)."""
    if isinstance(text, dict):
        return text
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise PatternError(f"Unexpected character or malformed JSON: {e}") from None
    if not isinstance(value, dict):
        raise PatternError("Filter is not an object")
    return value


def compile_pattern(pattern: str | bytes | dict, dialect: str = "events") -> Matcher:
    """Validate and compile a pattern; raises PatternError with AWS's reason."""
    parsed = load(pattern)
    compiler = _Compiler(dialect)
    test = compiler.object(parsed, top=True)
    if dialect == "sns":
        compiler.check_sns_limits(parsed)
    return Matcher(parsed, test)


def matches(pattern: str | dict, event: Any, dialect: str = "events") -> bool:
    return compile_pattern(pattern, dialect).matches(event)


# -- compilation ---------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, dialect: str):
        self.dialect = dialect
        self.sns = dialect == "sns"

    # objects: every field must match; $or: one of the alternatives
    def object(self, node: dict, top: bool = False) -> Callable[[Any], bool]:
        if not isinstance(node, dict):
            raise PatternError("Filter is not an object")
        checks: list[Callable[[dict], bool]] = []
        for key, value in node.items():
            if key == "$or":
                checks.append(self._or(value))
            elif isinstance(value, list):
                if "." in key:  # "a.b" names the key "a.b" or the nested path a → b
                    checks.append(self._field_dotted(key, self.leaf(key, value)))
                else:
                    checks.append(self._field_leaf(key, self.leaf(key, value)))
            elif isinstance(value, dict):
                if not value:
                    raise PatternError(f'Empty objects are not allowed: "{key}"')
                if "." in key:
                    checks.append(self._field_dotted(key, self.object(value), nested=True))
                else:
                    checks.append(self._field_nested(key, self.object(value)))
            else:
                raise PatternError(f'"{key}" must be an object or an array')
        checks = tuple(checks)

        if len(checks) == 1:
            only = checks[0]

            def test_one(event) -> bool:
                if type(event) is dict:
                    return only(event)
                if type(event) is list:  # arrays (of arrays) of objects: any of them
                    return any(test_one(e) for e in event)
                return False

            return test_one

        def test(event) -> bool:
            if type(event) is dict:
                for check in checks:
                    if not check(event):
                        return False
                return True
            if type(event) is list:
                return any(test(e) for e in event)
            return False

        return test

    def _or(self, value) -> Callable[[dict], bool]:
        if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
            raise PatternError("Value of $or must be an array of at least 2 objects")
        alternatives = tuple(self.object(v) for v in value)

        def check(event: dict) -> bool:
            for alternative in alternatives:
                if alternative(event):
                    return True
            return False

        return check

    @staticmethod
    def _field_nested(key: str, test: Callable) -> Callable[[dict], bool]:
        prefix = key + "."

        def check(event: dict) -> bool:
            value = event.get(key, _MISSING)
            if value is not _MISSING and test(value):
                return True
            # the event may name the path with dots ({"a.b": 1} is a → b, as AWS joins keys); looked
            # for only once the plain reading failed, so matching events pay nothing for it
            joined = {k[len(prefix):]: v for k, v in event.items() if type(k) is str and k.startswith(prefix)}
            if joined:
                return test({**value, **joined} if type(value) is dict else joined)
            return value is _MISSING and test({})  # exists:false below still matches an absent object

        return check

    @staticmethod
    def _field_leaf(key: str, test: Callable) -> Callable[[dict], bool]:
        def check(event: dict) -> bool:
            return test(event.get(key, _MISSING))

        return check

    @staticmethod
    def _field_dotted(key: str, test: Callable, nested: bool = False) -> Callable[[dict], bool]:
        parts = key.split(".")
        absent = {} if nested else _MISSING  # as _field_nested / _field_leaf see an absent field

        def values(node, at: int):
            """What the path parts[at:] reaches in `node`, each way of reading it."""
            if at == len(parts):
                yield node
                return
            if type(node) is not dict:
                return
            for end in range(at + 1, len(parts) + 1):
                child = node.get(".".join(parts[at:end]), _MISSING)
                if child is not _MISSING:
                    yield from values(child, end)

        def check(event: dict) -> bool:
            found = False
            for value in values(event, 0):
                found = True
                if test(value):
                    return True
            return False if found else test(absent)

        return check

    # leaves: an array of alternatives
    def leaf(self, key: str, values: list) -> Callable[[Any], bool]:
        if not values:  # AWS's recorded answer, SNS's and EventBridge's alike, names no key
            raise PatternError("Empty arrays are not allowed")
        strings: set[str] = set()
        numbers: set[float] = set()
        trues = falses = nulls = False
        predicates: list[Callable[[Any], bool]] = []
        exists: bool | None = None
        absent_ok = False
        for value in values:
            if isinstance(value, str):
                strings.add(value)
            elif isinstance(value, bool):
                if value:
                    trues = True
                else:
                    falses = True
            elif isinstance(value, _NUMBER):
                numbers.add(self._number(value))
            elif value is None:
                nulls = True
            elif isinstance(value, dict):
                if len(value) != 1:
                    raise PatternError("Only one key allowed in match expression")
                (op, arg), = value.items()
                if op == "exists":
                    if not isinstance(arg, bool):
                        raise PatternError("exists match pattern must be either true or false.")
                    if arg:
                        exists = True
                    else:
                        absent_ok = True
                    continue
                predicates.append(self.operator(op, arg))
            else:
                raise PatternError("Match value must be String, number, true, false, or null")
        predicates_t = tuple(predicates)
        any_value = exists is True

        def scalar(v) -> bool:
            t = type(v)
            if t is str:
                if v in strings:
                    return True
            elif t is bool:
                if (trues and v) or (falses and not v):
                    return True
            elif t is int or t is float:
                if v in numbers:
                    return True
            elif v is None:
                if nulls:
                    return True
            else:
                return False
            for predicate in predicates_t:
                if predicate(v):
                    return True
            return False

        def test(v) -> bool:
            if v is _MISSING:
                return absent_ok
            t = type(v)
            if t is list:
                if not v:
                    return False
                if any_value and any(type(e) is not dict and type(e) is not list for e in v):
                    return True
                for element in v:
                    if type(element) is not dict and type(element) is not list and scalar(element):
                        return True
                return False
            if t is dict:
                return absent_ok  # not a leaf: as if absent
            if any_value:
                return True
            return scalar(v)

        return test

    def _number(self, value) -> float:
        limit = 1e9 if self.sns else 5e9
        if not -limit <= value <= limit:
            if self.sns:
                raise PatternError("Numbers must be between -1000000000 and 1000000000 (inclusive)")
            raise PatternError("Value must be between -5.0E9 and 5.0E9, inclusive")
        return float(value)

    def operator(self, op: str, arg) -> Callable[[Any], bool]:
        if op == "prefix":
            return self._affix(arg, "prefix", str.startswith)
        if op == "suffix":
            return self._affix(arg, "suffix", str.endswith)
        if op == "equals-ignore-case":
            if not isinstance(arg, str):
                raise PatternError("equals-ignore-case match pattern must be a string")
            folded = arg.casefold()
            return lambda v: type(v) is str and v.casefold() == folded
        if op == "anything-but":
            return self._anything_but(arg)
        if op == "numeric":
            return self._numeric(arg)
        if op == "wildcard" and not self.sns:
            regex = _wildcard_regex(arg)
            return lambda v: type(v) is str and regex.fullmatch(v) is not None
        if op == "cidr":
            return _cidr(arg)
        raise PatternError(f"Unrecognized match type {op}")

    def _affix(self, arg, name: str, method) -> Callable[[Any], bool]:
        if isinstance(arg, dict) and list(arg) == ["equals-ignore-case"] and isinstance(arg["equals-ignore-case"], str):
            folded = arg["equals-ignore-case"].casefold()
            return lambda v: type(v) is str and method(v.casefold(), folded)
        if not isinstance(arg, str):
            raise PatternError(f"{name} match pattern must be a string")
        return lambda v: type(v) is str and method(v, arg)

    def _anything_but(self, arg) -> Callable[[Any], bool]:
        if isinstance(arg, dict):
            if len(arg) != 1:
                raise PatternError("Only one key allowed in match expression")
            (op, inner), = arg.items()
            # anything-but prefix / suffix / wildcard / equals-ignore-case: a string or a list of them;
            # a value they cannot apply to (a number, null, true, false) is "anything but" them
            if op == "prefix" or (op == "suffix" and not self.sns):  # SNS has no anything-but suffix
                if self.sns:  # SNS's recorded answers: one string, its own message
                    if not isinstance(inner, str):
                        raise PatternError(f"{op} match pattern must be a string")
                    if not inner:
                        raise PatternError(f"{op} match pattern must be a non-empty string")
                if isinstance(inner, dict):
                    raise PatternError("Value of anything-but must be an array or single string/number value.")
                items = inner if isinstance(inner, list) else [inner]
                if not all(isinstance(i, str) for i in items):
                    raise PatternError("prefix/suffix match pattern must be a string")
                if not items or not all(items):
                    raise PatternError("Null prefix/suffix not allowed")
                affixes = tuple(items)  # str.startswith / endswith take a tuple: any of them
                method = str.startswith if op == "prefix" else str.endswith
                return lambda v: type(v) is not str or not method(v, affixes)
            if op in ("equals-ignore-case", "wildcard") and not (self.sns and op == "wildcard"):
                items = inner if isinstance(inner, list) else [inner]
                if op == "equals-ignore-case":
                    if not items or not all(isinstance(i, str) for i in items):
                        raise PatternError("Inside anything-but/equals-ignore-case list, "
                                           "number|start|null|boolean is not supported.")
                    folded = {i.casefold() for i in items}
                    return lambda v: type(v) is not str or v.casefold() not in folded
                if not items:
                    raise PatternError("wildcard match pattern must be a string")
                regexes = [_wildcard_regex(i) for i in items]
                return lambda v: type(v) is not str or not any(r.fullmatch(v) for r in regexes)
            raise PatternError(f"Unsupported anything-but pattern: {op}")
        if not isinstance(arg, (list, str)) and not (isinstance(arg, _NUMBER) and not isinstance(arg, bool)):
            raise PatternError("Value of anything-but must be an array or single string/number value.")
        items = arg if isinstance(arg, list) else [arg]
        strings, numbers = set(), set()
        for item in items:
            if isinstance(item, str):
                strings.add(item)
            elif isinstance(item, _NUMBER) and not isinstance(item, bool):
                numbers.add(self._number(item))
            else:
                raise PatternError("Inside anything but list, start|null|boolean is not supported.")

        def test(v) -> bool:
            t = type(v)
            if t is str:
                return v not in strings
            if t is int or t is float:
                return v not in numbers
            return True  # true, false, null: not in a list of strings and numbers

        return test

    def _numeric(self, arg) -> Callable[[Any], bool]:
        _check_numeric_syntax(arg)
        if not isinstance(arg, list) or not arg:
            raise PatternError("Value of numeric must be an array.")
        if len(arg) % 2:
            raise PatternError("Value of numeric must be an array of operator and value pairs.")
        lower = upper = None
        equal = None
        for i in range(0, len(arg), 2):
            op, value = arg[i], arg[i + 1]
            if not isinstance(value, _NUMBER) or isinstance(value, bool):
                raise PatternError("Value of numeric must be numbers.")
            value = self._number(value)
            if op == "=":
                if len(arg) != 2:
                    raise PatternError("Value of = can only be used alone.")
                equal = value
            elif op in (">", ">="):
                if lower is not None:
                    raise PatternError("Bad numeric range: the lower bound is given twice.")
                lower = (value, op == ">=")
            elif op in ("<", "<="):
                if upper is not None:
                    raise PatternError("Bad numeric range: the upper bound is given twice.")
                upper = (value, op == "<=")
            else:
                raise PatternError(f"Unrecognized numeric range operator: {op}")
        if lower and upper and lower[0] > upper[0]:
            raise PatternError("Bad numeric range: the lower bound is greater than the upper bound.")
        if equal is not None:
            return lambda v: (type(v) is int or type(v) is float) and v == equal

        def test(v) -> bool:
            if type(v) is not int and type(v) is not float:
                return False
            if lower is not None and (v < lower[0] or (v == lower[0] and not lower[1])):
                return False
            if upper is not None and (v > upper[0] or (v == upper[0] and not upper[1])):
                return False
            return True

        return test

    # SNS's limits: five keys (fields) and 150 combinations of values
    def check_sns_limits(self, pattern: dict) -> None:
        keys, combinations = _count(pattern)
        if keys > 5:
            raise PatternError("Filter policy can not have more than 5 keys")
        if combinations > 150:
            raise PatternError("Filter policy is too complex")


def _count(node: dict, depth: int = 1) -> tuple[int, int]:
    """(keys, value combinations) of an SNS filter policy, as AWS counts them: $or alternatives add
    up; a nested object counts as its parent key only, and each of its values counts as many times
    as it is deep (AWS's example: 4 values 3 levels down, 3 values 2 levels down and 3 at the top
    make 3×4 × 2×3 × 1×3 = 216)."""
    keys, combinations = 0, 1
    for key, value in node.items():
        if key == "$or" and isinstance(value, list):
            total_keys, total_combinations = 0, 0
            for alternative in value:
                k, c = _count(alternative, depth) if isinstance(alternative, dict) else (0, 1)
                total_keys = max(total_keys, k)
                total_combinations += c
            keys += total_keys
            combinations *= max(total_combinations, 1)
        elif isinstance(value, dict):
            _, c = _count(value, depth + 1)
            keys += 1
            combinations *= c
        elif isinstance(value, list):
            keys += 1
            combinations *= max(len(value), 1) * depth
    return keys, combinations


def _wildcard_regex(pattern) -> re.Pattern:
    if not isinstance(pattern, str):
        raise PatternError("wildcard match pattern must be a string")
    if "**" in pattern:
        raise PatternError("Consecutive wildcard characters at pos " + str(pattern.index("**") + 1))
    parts, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _check_numeric_syntax(arg) -> None:
    """A numeric condition read as AWS reads it (SNS and EventBridge alike), with its messages: `=` or a bound alone, or a
    lower bound (`>`, `>=`) then an upper one (`<`, `<=`)."""
    def number(value) -> bool:
        return isinstance(value, _NUMBER) and not isinstance(value, bool)

    if not isinstance(arg, list):
        raise PatternError("Value of numeric must be an array.")
    if not arg:
        raise PatternError("Invalid member in numeric match: ]")
    first = arg[0]
    if not isinstance(first, str):
        raise PatternError(f"Invalid member in numeric match: {first}")
    if first not in ("=", "<", "<=", ">", ">="):
        raise PatternError(f"Unrecognized numeric range operator: {first}")
    if len(arg) < 2 or not number(arg[1]):
        raise PatternError(f"Value of {'equals' if first == '=' else first} must be numeric")
    if len(arg) == 2:
        return
    if first in ("=", "<", "<="):
        raise PatternError("Too many elements in numeric expression")
    second = arg[2]
    if not isinstance(second, str):
        raise PatternError(f"Bad value in numeric range: {second}")
    if second not in ("<", "<="):
        raise PatternError(f"Bad numeric range operator: {second}")
    if len(arg) < 4 or not number(arg[3]):
        raise PatternError(f"Value of {second} must be numeric")
    if len(arg) > 4:
        raise PatternError("Too many terms in numeric range expression")
    if arg[1] >= arg[3]:
        raise PatternError("Bottom must be less than top")


def _cidr(arg) -> Callable[[Any], bool]:
    if not isinstance(arg, str):
        raise PatternError("prefix match pattern must be a string")
    # AWS's checks (SNS's and EventBridge's alike), in AWS's order: one "/", integer mask bits, the address
    if arg.count("/") != 1:
        raise PatternError("Malformed CIDR, one '/' required")
    address, bits = arg.split("/")
    if not bits.isdigit():
        raise PatternError("Malformed CIDR, mask bits must be an integer")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise PatternError(f"Nonstandard IP address: {address}") from None
    try:
        network = ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise PatternError(f"Nonstandard IP address: {arg}") from None

    def test(v) -> bool:
        if type(v) is not str:
            return False
        try:
            return ipaddress.ip_address(v) in network
        except ValueError:
            return False

    return test
