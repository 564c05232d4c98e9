"""A small JSONPath evaluator: what API Gateway's `$input.path()` / `$input.json()` and AppSync's
templates use: `$`, `.name`, `['name']`, `[n]` (negative too), `[*]`, `.*` and `..name`."""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"""\.\.(?P<deep>[^.\[]+)|\.(?P<name>[^.\[]+)|\[\s*(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<idx>-?\d+)|(?P<star>\*))\s*\]""")


class JsonPathError(ValueError):
    pass


@lru_cache(maxsize=2048)
def compile_path(path: str) -> tuple:
    path = path.strip()
    if not path.startswith("$"):
        path = "$." + path if path else "$"
    steps, pos = [], 1
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            raise JsonPathError(f"Invalid JSONPath expression: {path}")
        if m.group("deep") is not None:
            steps.append(("deep", m.group("deep")))
        elif m.group("name") is not None:
            name = m.group("name")
            steps.append(("star", None) if name == "*" else ("key", name))
        elif m.group("sq") is not None or m.group("dq") is not None:
            steps.append(("key", m.group("sq") if m.group("sq") is not None else m.group("dq")))
        elif m.group("idx") is not None:
            steps.append(("index", int(m.group("idx"))))
        else:
            steps.append(("star", None))
        pos = m.end()
    return tuple(steps)


def _deep(value, name, out):
    if isinstance(value, dict):
        if name in value:
            out.append(value[name])
        for v in value.values():
            _deep(v, name, out)
    elif isinstance(value, list):
        for v in value:
            _deep(v, name, out)


def evaluate(document, path: str):
    """The value at `path`; a list when the path has a wildcard or `..`; None when absent."""
    steps = compile_path(path)
    values, multi = [document], False
    for kind, arg in steps:
        nxt = []
        for value in values:
            if kind == "key":
                if isinstance(value, dict) and arg in value:
                    nxt.append(value[arg])
            elif kind == "index":
                if isinstance(value, list) and -len(value) <= arg < len(value):
                    nxt.append(value[arg])
            elif kind == "star":
                multi = True
                if isinstance(value, dict):
                    nxt.extend(value.values())
                elif isinstance(value, list):
                    nxt.extend(value)
            else:
                multi = True
                _deep(value, arg, nxt)
        values = nxt
    if multi:
        return values
    return values[0] if values else None
