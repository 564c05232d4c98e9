"""The Velocity Template Language engine overcast's services share (API Gateway mapping
templates, AppSync resolvers): airspeed, a maintained VTL implementation, with the Java methods
templates written for AWS expect, and the `$util` basics both services offer.

    template = compile_template(text)          # parsed once, cached by text
    output = render(template, {"input": ..., "util": Util(), ...}, rendering)

Each service's Velocity prints values its own way (Java's forms, null references): a Rendering
says how, for the templates rendered with it; without one, airspeed's (Python's) forms.

Rendering errors raise VtlError; callers map it to their service's answer."""

from __future__ import annotations

import base64
import contextlib
import contextvars
import json
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import quote, unquote_plus

import airspeed

from overcast.vtl import jsonpath

__all__ = ["VtlError", "Util", "Rendering", "rendered_as", "compile_template", "render", "jsonpath", "to_json",
           "java_map_text"]


class VtlError(Exception):
    """A template that does not parse or fails while rendering."""


def _java_string_methods():
    return {
        "toUpperCase": lambda s: s.upper(),
        "toLowerCase": lambda s: s.lower(),
        "trim": lambda s: s.strip(),
        "isEmpty": lambda s: not s,
        "endsWith": lambda s, x: s.endswith(x),
        "equals": lambda s, x: s == x,
        "equalsIgnoreCase": lambda s, x: isinstance(x, str) and s.lower() == x.lower(),
        "indexOf": lambda s, x: s.find(x),
        "lastIndexOf": lambda s, x: s.rfind(x),
        "substring": lambda s, a, b=None: s[a:b] if b is not None else s[a:],
        "split": lambda s, sep: re.split(sep, s),
        "replace": lambda s, a, b: s.replace(a, b),
        "charAt": lambda s, i: s[i],
        "toString": lambda s: s,
        "concat": lambda s, x: s + x,
    }


def _install_java_methods() -> None:
    extra = airspeed.__additional_methods__
    extra.setdefault(str, {}).update(_java_string_methods())
    extra.setdefault(list, {}).update({
        "isEmpty": lambda s: not s,
        "remove": lambda s, i: s.pop(i),
        "indexOf": lambda s, x: s.index(x) if x in s else -1,
        "toString": lambda s: to_json(s),
    })
    extra.setdefault(dict, {}).update({
        "size": lambda s: len(s),
        "get": lambda s, k: s.get(k),
        "containsKey": lambda s, k: k in s,
        "values": lambda s: list(s.values()),
        "entrySet": lambda s: [{"key": k, "value": v} for k, v in s.items()],
        "remove": lambda s, k: s.pop(k, None),
        "toString": lambda s: _to_string(s),
    })
    for kind in (int, float):
        extra.setdefault(kind, {}).update({"toString": lambda s: str(s), "intValue": lambda s: int(s),
                                           "doubleValue": lambda s: float(s)})
    extra.setdefault(bool, {}).update({"toString": lambda s: "true" if s else "false",
                                       "booleanValue": lambda s: s})


class Rendering:
    """How a service's Velocity prints what a reference yields: `text` gives a value that is not
    a string its text; `null`, when not None, is what a null reference prints (else the
    reference's own text, `$x`, as Velocity prints it by default)."""

    __slots__ = ("text", "null", "null_is_empty")

    def __init__(self, text: Callable[[object], str], null: str | None = None, null_is_empty: bool = False):
        self.text = text
        self.null = null
        # == and != take a null side as the empty string (API Gateway's recorded answers:
        # `$missing != ''` is false, `$missing == $null` and `$missing == ""` are true)
        self.null_is_empty = null_is_empty


_RENDERING: contextvars.ContextVar[Rendering | None] = contextvars.ContextVar("vtl_rendering", default=None)


@contextlib.contextmanager
def rendered_as(rendering: Rendering):
    """Templates merged inside print values as `rendering` says."""
    token = _RENDERING.set(rendering)
    try:
        yield
    finally:
        _RENDERING.reset(token)


def java_map_text(value: dict, text: Callable[[object], str]) -> str:
    """A map as Java's AbstractMap.toString prints it, `{a=1, b=x}`, each value by `text`."""
    return "{" + ", ".join(f"{k}={v if isinstance(v, str) else text(v)}" for k, v in value.items()) + "}"


def java_printer(list_text: Callable[[list, Callable[[object], str]], str]) -> Callable[[object], str]:
    """How a service's Velocity prints a value in Java's forms: true/false, null, a map as
    `{a=1, b=x}`; lists differ between services (`list_text(items, text)` prints them)."""
    def text(value) -> str:
        if value is True:
            return "true"
        if value is False:
            return "false"
        if value is None:
            return "null"
        if isinstance(value, dict):
            return java_map_text(value, text)
        if isinstance(value, (list, tuple)):
            return list_text(value, text)
        return str(value)
    return text


def _to_string(value) -> str:
    """Java's toString() of a map: in the active rendering's form."""
    rendering = _RENDERING.get()
    return rendering.text(value) if rendering is not None else java_map_text(value, str)


def _patch_reference_rendering() -> None:
    """airspeed writes str(value) for a reference, and the reference's text for a null: inside
    rendered_as, the rendering's forms instead (airspeed is patched once, for every template)."""
    original = airspeed.FormalReference.evaluate_raw

    def evaluate_raw(self, stream, namespace, loader):
        rendering = _RENDERING.get()
        if rendering is None:
            return original(self, stream, namespace, loader)
        value = None
        if self.expression is not None:
            value = self.expression.calculate(namespace, loader)
        if value is None:
            if self.alternate is not None:
                value = self.alternate.calculate(namespace, loader)
            elif self.silent and self.expression is not None:
                value = ""
            elif rendering.null is not None and self.expression is not None:
                value = rendering.null
            else:
                value = self.my_text()
        stream.write(value if isinstance(value, str) else rendering.text(value))

    airspeed.FormalReference.evaluate_raw = evaluate_raw


def _patch_equality() -> None:
    """== and != as the active rendering compares: for a rendering with null_is_empty, a null
    side is the empty string (airspeed compares as Python does)."""
    def equality(compare):
        def apply(a, b):
            if a is None or b is None:
                rendering = _RENDERING.get()
                if rendering is not None and rendering.null_is_empty:
                    return compare("" if a is None else a, "" if b is None else b)
            return compare(a, b)
        return apply

    ops = airspeed.BinaryOperator.OPERATORS
    for name, compare in (("==", operator.eq), ("eq", operator.eq), ("!=", operator.ne), ("ne", operator.ne)):
        ops[name] = equality(compare)


def _patch_set_targets() -> None:
    """#set's left side as Velocity 1.7 takes it: `$a.b.c`, with names that hold hyphens after
    the first (`$context.requestOverride.header.X-Amz-Target`) and map keys in brackets
    (`$map[$key]`, `$context["requestOverride"].querystring["x"]`); airspeed takes dotted
    names only."""
    head = re.compile(r"\s*\$([a-z_][a-z0-9_]*)", re.S | re.I)
    dotted = re.compile(r"\.([a-z_][a-z0-9_-]*)", re.S | re.I)

    def parse(self):
        self.identity_match(self.START)
        name, = self.require_match(head, "place")
        path = []
        while True:
            try:
                path.append(self.identity_match(dotted)[0])
            except airspeed.NoMatch:
                try:
                    path.append(self.next_element(airspeed.ArrayIndex))
                except airspeed.NoMatch:
                    break
        self.name, self.path = name, path
        self.require_match(self.EQUALS, "=")
        self.value = self.require_next_element(airspeed.Expression, "expression")
        self.require_match(self.END, "closing paren")

    def evaluate_raw(self, stream, namespace, loader):
        value = self.value.calculate(namespace, loader)
        if not self.path:
            namespace.set_inherited(self.name, value)
            return
        keys = [k if isinstance(k, str) else k.calculate(namespace, loader) for k in self.path]
        target = namespace[self.name]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    airspeed.SetDirective.parse = parse
    airspeed.SetDirective.evaluate_raw = evaluate_raw
    # a double-quoted literal may hold \' (kept as written, as Velocity keeps it: AWS's PutEvents
    # example template calls .replaceAll("\'","'")); airspeed refused it
    airspeed.InterpolatedStringLiteral.STRING = re.compile(r'"((?:\\["nrbt\\\\\\$\']|[^"\\])*)"', re.S)


_install_java_methods()
_patch_reference_rendering()
_patch_equality()
_patch_set_targets()


@lru_cache(maxsize=4096)
def compile_template(text: str) -> airspeed.Template:
    """Parse a template once; parsed templates are shared by every caller with the same text."""
    template = airspeed.Template(text)
    try:
        template.ensure_compiled()
    except airspeed.TemplateError as e:
        raise VtlError(str(e)) from None
    return template


def render(template: airspeed.Template | str, namespace: dict, rendering: Rendering | None = None) -> str:
    if isinstance(template, str):
        template = compile_template(template)
    try:
        if rendering is None:
            return template.merge(namespace)
        with rendered_as(rendering):
            return template.merge(namespace)
    except VtlError:
        raise
    except Exception as e:  # airspeed raises TemplateError, and Python errors from called methods
        raise VtlError(f"{type(e).__name__}: {e}") from None


def to_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


_JS_ESCAPES = {'"': '\\"', "'": "\\'", "\\": "\\\\", "/": "\\/", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\b": "\\b", "\f": "\\f"}


def escape_javascript(text) -> str:
    """Java's StringEscapeUtils.escapeJavaScript, as AWS applies it: quotes (single quotes too),
    backslashes, control characters; '/' is escaped as well."""
    if text is None:
        return ""
    out = []
    for ch in str(text):
        escaped = _JS_ESCAPES.get(ch)
        if escaped is None:
            code = ord(ch)
            escaped = f"\\u{code:04X}" if code < 0x20 or code > 0x7E else ch
        out.append(escaped)
    return "".join(out)


class Util:
    """`$util` methods both API Gateway and AppSync provide."""

    def escapeJavaScript(self, text):  # noqa: N802 - VTL names
        return escape_javascript(text)

    def parseJson(self, text):  # noqa: N802
        try:
            return json.loads(text)
        except (TypeError, ValueError) as e:
            raise VtlError(f"Unable to parse JSON: {e}") from None

    def toJson(self, value):  # noqa: N802
        return to_json(value)

    def urlEncode(self, text):  # noqa: N802
        # java.net.URLEncoder: space as "+", only letters, digits and "*-._" left as they are
        return quote(str(text if text is not None else ""), safe="*-._").replace("%20", "+").replace("~", "%7E")

    def urlDecode(self, text):  # noqa: N802
        return unquote_plus(str(text if text is not None else ""))

    def base64Encode(self, text):  # noqa: N802
        data = text.encode() if isinstance(text, str) else bytes(text or b"")
        return base64.b64encode(data).decode()

    def base64Decode(self, text):  # noqa: N802
        try:
            return base64.b64decode(str(text or "")).decode("utf-8", "replace")
        except ValueError as e:
            raise VtlError(f"Invalid base64: {e}") from None
