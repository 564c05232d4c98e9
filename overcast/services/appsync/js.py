"""APPSYNC_JS resolvers and functions, run in V8 through mini-racer.

Why V8 (mini-racer): AppSync's runtime is modern JavaScript (ES2020+: arrow functions, spread,
template literals, optional chaining), which rules out dukpy (ES5). mini-racer embeds V8 in the
process: no subprocess round trip per resolver (a persistent Node process would cost an IPC hop
per call), ~0.1 ms per call, and a sandbox with no file, network or process access — only what
overcast's runtime.js puts in it. Each piece of code is transformed once (its
`@aws-appsync/utils` imports bound to runtime.js's implementation, `export` removed), compiled
into the shared context and kept by hash; calls are bounded by a timeout."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field

import orjson

from overcast.services.appsync.errors import ErrorAppender, ResolverError

_CONTEXT = None
_LOADED: set[str] = set()
TIMEOUT_MS = 2000

_IMPORT = re.compile(
    r"""^\s*import\s+(?:type\s+)?(?P<what>[\s\S]*?)\s+from\s+['"](?P<module>[^'"]+)['"]\s*;?""", re.M)
_EXPORT = re.compile(r"^(\s*)export\s+(?!default)(?=(async\s+)?function|const|let|var|class)", re.M)
_EXPORT_LIST = re.compile(r"^\s*export\s*\{[^}]*\}\s*;?", re.M)
_EXPORT_DEFAULT = re.compile(r"^(\s*)export\s+default\s+", re.M)


def _bindings(what: str, source: str) -> str:
    what = what.strip()
    if what.startswith("* as "):
        return f"const {what[5:].strip()} = {source};"
    out = []
    default, _, rest = what.partition("{") if "{" in what else (what, "", "")
    default = default.strip().rstrip(",").strip()
    if default:
        out.append(f"const {default} = {source};")
    if rest:
        names = rest.split("}", 1)[0]
        parts = []
        for item in names.split(","):
            item = item.strip()
            if not item:
                continue
            item = re.sub(r"^type\s+", "", item)
            name, _, alias = item.partition(" as ")
            parts.append(f"{name.strip()}: {alias.strip()}" if alias else name.strip())
        if parts:
            out.append(f"const {{ {', '.join(parts)} }} = {source};")
    return " ".join(out)


def transform(code: str) -> str:
    """ES module source -> a script body; raises ResolverError for imports other than AppSync's."""
    def replace_import(match):
        module = match.group("module")
        if module == "@aws-appsync/utils":
            return _bindings(match.group("what"), "__appsync")
        if module == "@aws-appsync/utils/dynamodb":
            return _bindings(match.group("what"), "__appsync_ddb")
        raise ResolverError(f"Unsupported import '{module}': only @aws-appsync/utils modules can be imported.", "Code")
    body = _IMPORT.sub(replace_import, code)
    body = _EXPORT_LIST.sub("", body)
    body = _EXPORT_DEFAULT.sub(r"\1const __default = ", body)
    return _EXPORT.sub(r"\1", body)


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        from py_mini_racer import MiniRacer

        ctx = MiniRacer()
        with open(os.path.join(os.path.dirname(__file__), "runtime.js")) as f:
            ctx.eval(f.read())
        _CONTEXT = ctx
    return _CONTEXT


async def _eval(source: str):
    import asyncio

    try:
        return await asyncio.wait_for(_context().eval_cancelable(source), TIMEOUT_MS / 1000)
    except TimeoutError:
        raise ResolverError(f"Execution timed out after {TIMEOUT_MS} ms.", "Code") from None


async def _load(code: str) -> str:
    key = hashlib.sha1(code.encode()).hexdigest()
    if key in _LOADED:
        return key
    body = transform(code)
    wrapper = (f"globalThis.__modules['{key}'] = (function () {{ 'use strict';\n{body}\n;return {{"
               "request: typeof request === 'function' ? request : undefined, "
               "response: typeof response === 'function' ? response : undefined }; })();")
    try:
        await _eval(wrapper)
    except ResolverError:
        raise
    except Exception as e:
        raise ResolverError(_js_message(e), "Code") from None
    _LOADED.add(key)
    return key


def _js_message(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def check(code: str) -> str | None:
    """None when the code compiles, else the problem (CreateResolver / EvaluateCode)."""
    try:
        body = transform(code)
    except ResolverError as e:
        return e.message
    try:
        # compiles without running anything, so no timeout is needed
        _context().eval(f"(function () {{ new Function({orjson.dumps(body).decode()}); }})()")
    except Exception as e:
        return _js_message(e)
    return None


@dataclass
class Outcome:
    value: object = None
    early: bool = False
    error: ResolverError | None = None
    stash: dict | None = None
    appended: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    levels: list = field(default_factory=list)  # [console method, text] per line of `logs`
    filter: object = None


async def evaluate(code: str, function: str, context: dict, env=None, meta: dict | None = None) -> Outcome:
    try:
        key = await _load(code)
    except ResolverError as e:
        return Outcome(error=e)
    ctx = dict(context)
    if env is not None:
        ctx["env"] = env
    try:
        args = ", ".join(orjson.dumps(a).decode() for a in (key, function, orjson.dumps(ctx, default=str).decode(),
                                                               orjson.dumps(meta or {}).decode()))
        raw = await _eval(f"__run({args})")
    except ResolverError as e:
        return Outcome(error=e)
    except Exception as e:
        return Outcome(error=ResolverError(_js_message(e), "Code"))
    out = orjson.loads(raw)
    lines = out.get("logs") or []
    outcome = Outcome(value=out.get("value"), early=bool(out.get("early")), stash=out.get("stash"),
                      logs=[text for _, text in lines], levels=lines, filter=out.get("filter"))
    outcome.appended = [ResolverError(e.get("message"), e.get("errorType"), e.get("data"), e.get("errorInfo"))
                        for e in out.get("errors") or []]
    if out.get("error") is not None:
        e = out["error"]
        outcome.error = ResolverError(e.get("message"), e.get("type"), e.get("data"), e.get("info"))
    return outcome


async def run(engine, call, code: str, function: str, context: dict, pipeline_function: dict | None = None) -> Outcome:
    """Run `function` of a resolver's code for a call; its stash changes and appended errors are
    kept, util.error raises ResolverError. With CloudWatch Logs on (state.log), its console lines
    and its evaluation entry are logged."""
    state = call.state
    meta = {"field": call.info.field_name, "parent": call.info.parent_type.name, "authType": state.auth_mode}
    outcome = await evaluate(code, function, context, env=state.api.api.get("environmentVariables") or {}, meta=meta)
    log = state.log
    if log is not None and log.level:
        log.console(outcome.levels)
        if outcome.error is None:
            response = function == "response"
            log.mapping(call, "ResponseFunctionEvaluation" if response else "RequestFunctionEvaluation", context,
                        outcome.value, function=pipeline_function, response=response)
    if outcome.stash is not None:
        call.stash.clear()
        call.stash.update(outcome.stash)
    appender = ErrorAppender(call)
    for error in outcome.appended:
        appender.append(error)
    if outcome.filter is not None and state.subscription is not None:
        state.subscription.filters = outcome.filter
    if outcome.error is not None:
        raise outcome.error
    return outcome
