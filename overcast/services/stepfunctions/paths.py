"""The JSONPath query language of Amazon States Language: paths (InputPath, OutputPath, ItemsPath),
reference paths (ResultPath), payload templates (Parameters, ResultSelector, ItemSelector: keys
ending in `.$` take a path, a context path `$$.` or an intrinsic function), and the `States.*`
intrinsic functions.

Paths are compiled once per text (jsonpath-ng's extended parser, which knows filters and slices,
as AWS's Jayway-based evaluator does) and cached.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import uuid
from contextvars import ContextVar
from functools import lru_cache

import orjson
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as _parse_jsonpath

from overcast.services.stepfunctions.errors import StatesError

# -- paths ------------------------------------------------------------------------------------------

# The variables (Assign) of the state being run: in JSONPath a path `$name` or `$name.field...`
# reads variable `name`. The interpreter sets them around each state; each asyncio task (a Parallel
# branch, a Map iteration) has its own, so concurrent branches never see each other's.
VARIABLES: ContextVar[dict | None] = ContextVar("stepfunctions_variables", default=None)
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

_SIMPLE = re.compile(r"^\$((\.[A-Za-z_][\w-]*)|(\['[^']*'\])|(\[\d+\]))*$")
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\['([^']*)'\]|\[(\d+)\]")


@lru_cache(maxsize=4096)
def _compile(path: str):
    if _SIMPLE.match(path):  # the common case, walked without the general evaluator
        return tuple((m.group(1) or m.group(2)) if m.group(3) is None else int(m.group(3))
                     for m in _STEP.finditer(path, 1))
    try:
        return _parse_jsonpath(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as e:  # the parser raises plain Exceptions too
        raise ValueError(f"invalid JSONPath {path!r}: {e}") from None


def variable_reference(path: str) -> tuple[str, str] | None:
    """`$name.rest` -> ("name", "$.rest"); None for a path into the input (`$`, `$.x`, `$[0]`, `$$`)."""
    m = _VARIABLE.match(path)
    return None if m is None else (m.group(1), "$" + path[m.end():])


def is_valid_path(path: str) -> bool:
    """A path into the input, the context (`$$.`) or a variable (`$name`)."""
    if not isinstance(path, str) or not path.startswith("$"):
        return False
    reference = variable_reference(path)
    if reference is not None:
        path = reference[1]
    elif path.startswith("$$"):
        path = path[1:]
    try:
        _compile(path)
    except ValueError:
        return False
    return True


def is_valid_intrinsic(text: str) -> bool:
    if not isinstance(text, str) or not text.startswith("States."):
        return False
    try:
        parse_intrinsic(text)
    except ValueError:
        return False
    return True


def is_reference_path(path: str) -> bool:
    """A reference path names one node: no wildcards, filters or slices (ResultPath)."""
    return isinstance(path, str) and bool(_SIMPLE.match(path))


def select(document, path: str, field: str = "InputPath"):
    """The value `path` selects from `document` (or from a variable, `$name...`); States.Runtime
    when it selects nothing or is no path."""
    reference = variable_reference(path)
    if reference is not None:
        name, rest = reference
        variables = VARIABLES.get() or {}
        if name not in variables:
            raise StatesError("States.Runtime", f"An error occurred while executing the state. Invalid path "
                                                f"'{path}': the variable '{name}' is not defined")
        return select(variables[name], rest, field)
    try:
        compiled = _compile(path)
    except ValueError as e:
        raise StatesError("States.Runtime", f"An error occurred while executing the state. {e}") from None
    if isinstance(compiled, tuple):
        value = document
        for step in compiled:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    raise _no_match(field, path, document)
                value = value[step]
            else:
                if not isinstance(value, dict) or step not in value:
                    raise _no_match(field, path, document)
                value = value[step]
        return value
    try:
        matches = compiled.find(document)
    except Exception as e:  # (jsonpath-ng's filters raise what they meet, e.g. comparing a string and a number)
        raise StatesError("States.Runtime", f"An error occurred while executing the state. Invalid path "
                                            f"'{path}': {e}") from None
    if not matches:
        if "[?" in path or "*" in path or ".." in path or ":" in path:
            return []  # an indefinite path that matches nothing is an empty list
        raise _no_match(field, path, document)
    if len(matches) == 1 and not ("[?" in path or "*" in path or ".." in path or ":" in path):
        return matches[0].value
    return [m.value for m in matches]


class PathNotFound(StatesError):
    """A path that selects nothing in its document (AWS words it by the field it is in)."""


def _no_match(field: str, path: str, document) -> StatesError:
    if field == "ResultPath":
        return StatesError("States.Runtime", f"Invalid path '{path}'")
    return PathNotFound("States.Runtime", f"An error occurred while executing the state. Invalid path '{path}' : "
                                          f"No results for path: {_bracketed(path)}")


def _bracketed(path: str) -> str:
    """A simple path as AWS's evaluator prints it: `$.a.b[0]` -> `$['a']['b'][0]`."""
    compiled = _compile(path)
    if not isinstance(compiled, tuple):
        return path
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f"['{step}']" for step in compiled)


def put(document, path: str, value):
    """ResultPath: `value` placed at `path` in a copy of `document` ($ replaces it, null drops it)."""
    if path is None:
        return document
    try:
        steps = _compile(path)
    except ValueError as e:
        raise StatesError("States.Runtime", f"Invalid path '{path}': {e}") from None
    if not steps:
        return value
    if not isinstance(steps, tuple):
        raise StatesError("States.Runtime", f"Invalid path '{path}': ResultPath must be a reference path")
    root = _copy(document) if isinstance(document, dict | list) else {}
    if not isinstance(root, dict) and not isinstance(steps[0], int):
        root = {}
    node = root
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise StatesError("States.Runtime", f"Unable to apply ResultPath '{path}' to the input")
            if last:
                node[step] = value
            else:
                node[step] = _copy(node[step]) if isinstance(node[step], dict | list) else {}
                node = node[step]
        else:
            if not isinstance(node, dict):
                raise StatesError("States.Runtime",
                                  f"Unable to apply ResultPath '{path}' to input: the target is not an object")
            if last:
                node[step] = value
            else:
                child = node.get(step)
                node[step] = _copy(child) if isinstance(child, dict | list) else {}
                node = node[step]
    return root


def _copy(value):
    return dict(value) if isinstance(value, dict) else list(value)


# -- payload templates ------------------------------------------------------------------------------

def resolve_template(template, document, context: dict, field: str = "Parameters"):
    """Parameters / ResultSelector / ItemSelector: a copy of `template` with every `key.$` value
    replaced by what its path, context path or intrinsic function yields, under the key without `.$`."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                out[key[:-2]] = evaluate_value(value, document, context, key)
            else:
                out[key] = resolve_template(value, document, context, field)
        return out
    if isinstance(template, list):
        return [resolve_template(v, document, context, field) for v in template]
    return template


def evaluate_value(expression: str, document, context: dict, field: str = "Parameters"):
    """`field` is the key (`name.$`) or the field (ErrorPath, CausePath) the expression is in."""
    if expression.startswith("$"):
        source = context if expression.startswith("$$") else document
        try:
            return select(source, expression[1:] if expression.startswith("$$") else expression, field)
        except PathNotFound:
            if not (field.endswith(".$") or field in ("ErrorPath", "CausePath")):
                raise  # the *Path fields word it as the path's own error
            raise StatesError("States.Runtime", f"An error occurred while executing the state. The JSONPath "
                                                f"'{expression}' specified for the field '{field}' could not be found "
                                                f"in the input '{orjson.dumps(source).decode()}'") from None
    if expression.startswith("States."):
        return call_intrinsic(expression, document, context)
    raise StatesError("States.Runtime", f"The value for the field '{expression}' must be a valid JSONPath or "
                                        "a valid intrinsic function call")


# -- intrinsic functions ----------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|"""
                    r"""(?P<fn>States\.[A-Za-z0-9]+)\s*\(|(?P<path>\$\$?[^,()\s]*)|(?P<lit>null|true|false)|"""
                    r"""(?P<close>\))|(?P<comma>,))""")


@lru_cache(maxsize=2048)
def parse_intrinsic(text: str) -> tuple:
    """States.Format('{}', $.a) -> ("fn", "States.Format", (("lit", "{}"), ("path", "$.a")))."""
    node, pos = _parse_call(text, 0)
    if text[pos:].strip():
        raise ValueError(f"unexpected text after the function call: {text[pos:]!r}")
    return node


def _parse_call(text: str, pos: int):
    m = _TOKEN.match(text, pos)
    if m is None or m.group("fn") is None:
        raise ValueError(f"expected an intrinsic function at {pos}")
    name, pos, args = m.group("fn"), m.end(), []
    while True:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"unexpected text at {pos}: {text[pos:pos + 20]!r}")
        if m.group("close") is not None:
            return ("fn", name, tuple(args)), m.end()
        if args:
            if m.group("comma") is None:
                raise ValueError(f"expected ',' at {pos}")
            pos = m.end()
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ValueError(f"unexpected text at {pos}")
        if m.group("fn") is not None:
            node, pos = _parse_call(text, m.start())
            args.append(node)
            continue
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            args.append(("lit", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("num") is not None:
            number = m.group("num")
            args.append(("lit", float(number) if any(c in number for c in ".eE") else int(number)))
        elif m.group("path") is not None:
            args.append(("path", m.group("path")))
        elif m.group("lit") is not None:
            args.append(("lit", {"null": None, "true": True, "false": False}[m.group("lit")]))
        else:
            raise ValueError(f"unexpected {m.group(0)!r} at {pos}")
        pos = m.end()


def call_intrinsic(text: str, document, context: dict):
    try:
        node = parse_intrinsic(text)
    except ValueError as e:
        raise StatesError("States.Runtime", f"Invalid intrinsic function {text!r}: {e}") from None
    return _call(node, document, context)


def _call(node, document, context):
    kind, value = node[0], node[1]
    if kind == "lit":
        return value
    if kind == "path":
        return evaluate_value(value, document, context)
    args = [_call(a, document, context) for a in node[2]]
    function = INTRINSICS.get(value)
    if function is None:
        raise StatesError("States.Runtime", f"Unknown intrinsic function {value}")
    try:
        return function(*args)
    except StatesError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, OverflowError) as e:
        raise StatesError("States.IntrinsicFailure", f"Invalid arguments in {value}: {e}") from None


def _format(template: str, *args):
    if not isinstance(template, str):
        raise ValueError("the first argument must be a string")
    parts = re.split(r"(?<!\\)\{\}", template)
    if len(parts) - 1 != len(args):
        raise ValueError(f"the template has {len(parts) - 1} placeholders and {len(args)} arguments were given")
    out = parts[0]
    for arg, part in zip(args, parts[1:], strict=True):
        out += _format_value(arg) + part
    return out.replace("\\{", "{").replace("\\}", "}")


def _format_value(value) -> str:
    """An argument of States.Format as AWS prints it: objects and arrays as Java prints maps and
    lists (`{Arg1=1, Arg2=[]}`), strings bare, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return orjson.dumps(value).decode()


def _array_partition(array, size):
    if not isinstance(array, list) or not isinstance(size, int) or size <= 0:
        raise ValueError("expects an array and a positive integer")
    return [array[i:i + size] for i in range(0, len(array), size)]


def _array_range(start, end, step):
    if not all(isinstance(v, int) for v in (start, end, step)) or step == 0:
        raise ValueError("expects three integers and a non-zero step")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > 1000:
        raise ValueError("the range is limited to 1000 elements")
    return values


def _hash(data, algorithm):
    names = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
    if algorithm not in names:
        raise ValueError(f"unsupported algorithm {algorithm}; use one of {', '.join(names)}")
    text = data if isinstance(data, str) else orjson.dumps(data).decode()
    return hashlib.new(names[algorithm], text.encode()).hexdigest()


def _json_merge(a, b, deep):
    if deep is not False:
        raise ValueError("only a shallow merge (false) is supported by States.JsonMerge")
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise ValueError("expects two JSON objects")
    return {**a, **b}


def _math_random(start, end, seed=None):
    rng = random.Random(seed) if seed is not None else random
    return rng.randint(int(start), int(end) - 1) if end > start else int(start)


def _math_add(a, b):
    if not all(isinstance(v, int | float) for v in (a, b)):
        raise ValueError("expects two numbers")
    # AWS rounds each argument to an integer first, half up (1.5 -> 2, -1.5 -> -1), as its recorded answers show
    return sum(math.floor(v + 0.5) if isinstance(v, float) else v for v in (a, b))


def _string_split(text, separators):
    if not isinstance(text, str) or not isinstance(separators, str):
        raise ValueError("expects two strings")
    pattern = "[" + re.escape(separators) + "]+"
    return [p for p in re.split(pattern, text) if p]


def _unique(array):
    seen, out = set(), []
    for v in array:
        key = orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _json_to_string(value):
    return orjson.dumps(value).decode()


def _string_to_json(text):
    if not isinstance(text, str):
        raise ValueError("expects a string")
    return orjson.loads(text) if text.strip() else None


def _array_get_item(array, index):
    if not isinstance(array, list) or not isinstance(index, int):
        raise ValueError("expects an array and an index")
    return array[index]


def _base64_decode(text):
    return base64.b64decode(text, validate=True).decode()


INTRINSICS = {
    "States.Format": _format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": lambda *values: list(values),
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": lambda array, value: value in array,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": lambda array: len(array) if isinstance(array, list) else _bad("expects an array"),
    "States.ArrayUnique": _unique,
    "States.Base64Encode": lambda text: base64.b64encode(text.encode()).decode(),
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": lambda: str(uuid.uuid4()),
}


def _bad(message):
    raise ValueError(message)


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not (
        isinstance(value, float) and (math.isnan(value) or math.isinf(value)))
