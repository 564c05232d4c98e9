"""AppSync's VTL on the shared engine (overcast/vtl): `$util` with its AppSync members
($util.dynamodb, $util.time, $util.transform, $util.error, $util.appendError, $util.autoId, ...),
`$ctx`/`$context`, `$extensions`, `#return`, and values rendered as Java's Velocity renders them
(true/false, maps as {a=1}) — inside AppSync templates only."""

from __future__ import annotations

import json
import random
import re
from functools import lru_cache

import airspeed

from overcast import tracing, vtl
from overcast.services.appsync import utils
from overcast.services.appsync.errors import EarlyReturn, ResolverError

# AppSync's lists print as Java's, `[a, b]`, each item in Java's form too
_java_text = vtl.java_printer(lambda items, text: "[" + ", ".join(text(v) for v in items) + "]")


# AppSync's Velocity prints values as Java does; a null reference as its own text
_JAVA = vtl.Rendering(_java_text)


def _install_methods() -> None:
    extra = airspeed.__additional_methods__
    for kind, methods in {
        list: {"addAll": lambda s, xs: s.extend(xs) or True, "clear": lambda s: s.clear(),
               "subList": lambda s, a, b: s[a:b], "containsAll": lambda s, xs: all(x in s for x in xs)},
        dict: {"putIfAbsent": lambda s, k, v: s.setdefault(k, v), "keys": lambda s: list(s.keys()),
               "getOrDefault": lambda s, k, d: s.get(k, d), "clear": lambda s: s.clear(),
               "entrySet": lambda s: [{"key": k, "value": v} for k, v in s.items()]},
        str: {"isBlank": lambda s: not s.strip()},
    }.items():
        table = extra.setdefault(kind, {})
        for name, fn in methods.items():
            table.setdefault(name, fn)


_install_methods()

_RETURN = re.compile(r"#return\b(\s*\()?|#\{return\}(\s*\()?")


@lru_cache(maxsize=4096)
def compile_template(text: str):
    """AppSync template text -> compiled airspeed template (cached by text). `#return` becomes a
    call that ends the template."""
    def replace(match):
        return "$__return.value(" if (match.group(1) or match.group(2)) else "$__return.none()"
    source = _RETURN.sub(replace, text) if "#return" in text or "#{return}" in text else text
    return vtl.compile_template(source)


class _Return:
    def value(self, value=None):
        raise EarlyReturn(value, True)

    def none(self):
        raise EarlyReturn(None, False)


_RETURNER = _Return()


# -- $util ----------------------------------------------------------------------------------------


class DynamoDbUtil:
    def toDynamoDB(self, v):  # noqa: N802 - VTL names
        return utils.to_dynamodb(v)

    def toDynamoDBJson(self, v):  # noqa: N802
        return vtl.to_json(utils.to_dynamodb(v))

    def toString(self, v):  # noqa: N802
        return {"S": v}

    def toStringJson(self, v):  # noqa: N802
        return vtl.to_json({"S": v})

    def toStringSet(self, v):  # noqa: N802
        return {"SS": list(v)}

    def toStringSetJson(self, v):  # noqa: N802
        return vtl.to_json({"SS": list(v)})

    def toNumber(self, v):  # noqa: N802
        return {"N": v}

    def toNumberJson(self, v):  # noqa: N802
        return vtl.to_json({"N": v})

    def toNumberSet(self, v):  # noqa: N802
        return {"NS": list(v)}

    def toNumberSetJson(self, v):  # noqa: N802
        return vtl.to_json({"NS": list(v)})

    def toBinary(self, v):  # noqa: N802
        return {"B": v}

    def toBinaryJson(self, v):  # noqa: N802
        return vtl.to_json({"B": v})

    def toBinarySet(self, v):  # noqa: N802
        return {"BS": list(v)}

    def toBinarySetJson(self, v):  # noqa: N802
        return vtl.to_json({"BS": list(v)})

    def toBoolean(self, v):  # noqa: N802
        return {"BOOL": bool(v)}

    def toBooleanJson(self, v):  # noqa: N802
        return vtl.to_json({"BOOL": bool(v)})

    def toNull(self):  # noqa: N802
        return {"NULL": True}

    def toNullJson(self):  # noqa: N802
        return vtl.to_json({"NULL": True})

    def toList(self, v):  # noqa: N802
        return {"L": [utils.to_dynamodb(x) for x in v]}

    def toListJson(self, v):  # noqa: N802
        return vtl.to_json(self.toList(v))

    def toMap(self, v):  # noqa: N802
        return {"M": utils.to_map_values(v)}

    def toMapJson(self, v):  # noqa: N802
        return vtl.to_json(self.toMap(v))

    def toMapValues(self, v):  # noqa: N802
        return utils.to_map_values(v)

    def toMapValuesJson(self, v):  # noqa: N802
        return vtl.to_json(utils.to_map_values(v))


class TimeUtil:
    def nowISO8601(self):  # noqa: N802
        return utils.now_iso8601()

    def nowEpochSeconds(self):  # noqa: N802
        import time

        return int(time.time())

    def nowEpochMilliSeconds(self):  # noqa: N802
        import time

        return int(time.time() * 1000)

    def nowFormatted(self, pattern, tz=None):  # noqa: N802
        return utils.now_formatted(pattern, tz)

    def parseFormattedToEpochMilliSeconds(self, text, pattern, tz=None):  # noqa: N802
        return utils.parse_formatted_to_epoch_ms(text, pattern, tz)

    def parseISO8601ToEpochMilliSeconds(self, text):  # noqa: N802
        return utils.parse_iso8601_to_epoch_ms(text)

    def epochMilliSecondsToSeconds(self, ms):  # noqa: N802
        return int(ms) // 1000

    def epochMilliSecondsToISO8601(self, ms):  # noqa: N802
        return utils.epoch_ms_to_iso8601(ms)

    def epochMilliSecondsToFormatted(self, ms, pattern, tz=None):  # noqa: N802
        return utils.epoch_ms_to_formatted(ms, pattern, tz)


class TransformUtil:
    def toDynamoDBFilterExpression(self, value):  # noqa: N802
        out = utils.to_dynamodb_filter_expression(value)
        return vtl.to_json(out) if out is not None else None

    def toDynamoDBConditionExpression(self, value):  # noqa: N802
        return self.toDynamoDBFilterExpression(value)

    def toSubscriptionFilter(self, value, ignored=None, rules=None):  # noqa: N802
        return utils.to_subscription_filter(value, ignored, rules)


class ListUtil:
    def copyAndRetainAll(self, items, keep):  # noqa: N802
        return [x for x in items if x in keep]

    def copyAndRemoveAll(self, items, drop):  # noqa: N802
        return [x for x in items if x not in drop]

    def sortList(self, items, descending, prop=None):  # noqa: N802
        key = (lambda x: x.get(prop)) if prop else None
        return sorted(items, key=key, reverse=bool(descending))


class MapUtil:
    def copyAndRetainAllKeys(self, m, keys):  # noqa: N802
        return {k: v for k, v in m.items() if k in keys}

    def copyAndRemoveAllKeys(self, m, keys):  # noqa: N802
        return {k: v for k, v in m.items() if k not in keys}


class StrUtil:
    def toUpper(self, s):  # noqa: N802
        return str(s).upper()

    def toLower(self, s):  # noqa: N802
        return str(s).lower()

    def toReplace(self, s, a, b):  # noqa: N802
        return str(s).replace(a, b)

    def normalize(self, s, form):
        import unicodedata

        return unicodedata.normalize(str(form).upper(), str(s))


class MathUtil:
    def roundNum(self, x):  # noqa: N802
        return int(round(x))

    def minVal(self, a, b):  # noqa: N802
        return min(a, b)

    def maxVal(self, a, b):  # noqa: N802
        return max(a, b)

    def randomDouble(self):  # noqa: N802
        return random.random()

    def randomWithinRange(self, a, b):  # noqa: N802
        return random.randint(int(a), int(b))


class LogUtil:
    """$util.log: `info` and `error` lines, to the request's CloudWatch Logs when its API has a
    logConfig (cwlogs.RequestLog.console: its fieldLogLevel decides), else kept on the util as
    [level, text] (EvaluateMappingTemplate's `logs`). With more arguments, each `{}` of the message
    takes the next one's text."""

    __slots__ = ("util",)

    def __init__(self, util):
        self.util = util

    def _line(self, level: str, message, args) -> str:
        text = message if isinstance(message, str) else _java_text(message)
        for arg in args:
            if "{}" not in text:
                break
            text = text.replace("{}", arg if isinstance(arg, str) else _java_text(arg), 1)
        call = getattr(self.util._errors, "call", None)  # (an ErrorAppender in a request)
        log = call.state.log if call is not None else None
        if log is not None:
            log.console([(level, text)])
            return ""
        if self.util.log_lines is None:
            self.util.log_lines = []
        self.util.log_lines.append([level, text])
        return ""

    def info(self, message=None, *args):
        return self._line("info", message, args)

    def error(self, message=None, *args):
        return self._line("error", message, args)


class AppSyncUtil(vtl.Util):
    """$util for one resolver evaluation (appendError writes into `errors`)."""

    dynamodb = DynamoDbUtil()
    time = TimeUtil()
    transform = TransformUtil()
    list = ListUtil()
    map = MapUtil()
    str = StrUtil()
    math = MathUtil()

    def __init__(self, errors: list, auth_type: str | None = None, field=None):
        self._errors = errors
        self._auth_type = auth_type
        self._field = field  # (fieldName, parentTypeName)
        self.log_lines: list | None = None  # $util.log's [level, text] lines

    @property
    def log(self) -> LogUtil:
        return LogUtil(self)

    def qr(self, *_args):
        return ""

    def quiet(self, *_args):
        return ""

    def toJson(self, value):  # noqa: N802
        return vtl.to_json(value)

    def autoId(self):  # noqa: N802
        return utils.auto_id()

    def autoUlid(self):  # noqa: N802
        return utils.auto_ulid()

    def autoKsuid(self):  # noqa: N802
        return utils.auto_ksuid()

    def error(self, message=None, error_type=None, data=None, error_info=None):
        raise ResolverError(message, error_type, data, error_info)

    def appendError(self, message=None, error_type=None, data=None, error_info=None):  # noqa: N802
        self._errors.append(ResolverError(message, error_type, data, error_info))
        return ""

    def unauthorized(self):
        field, parent = self._field or ("", "")
        raise ResolverError(f"Not Authorized to access {field} on type {parent}", "Unauthorized")

    def validate(self, condition, message, error_type=None, data=None):
        if not condition:
            raise ResolverError(message, error_type, data)
        return ""

    def isNull(self, v):  # noqa: N802
        return v is None

    def isNullOrEmpty(self, v):  # noqa: N802
        return v is None or (hasattr(v, "__len__") and len(v) == 0)

    def isNullOrBlank(self, v):  # noqa: N802
        return v is None or (isinstance(v, str) and not v.strip())

    def defaultIfNull(self, v, d):  # noqa: N802
        return d if v is None else v

    def defaultIfNullOrEmpty(self, v, d):  # noqa: N802
        return d if self.isNullOrEmpty(v) else v

    def defaultIfNullOrBlank(self, v, d):  # noqa: N802
        return d if self.isNullOrBlank(v) else v

    def isString(self, v):  # noqa: N802
        return isinstance(v, str)

    def isNumber(self, v):  # noqa: N802
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def isBoolean(self, v):  # noqa: N802
        return isinstance(v, bool)

    def isList(self, v):  # noqa: N802
        return isinstance(v, list)

    def isMap(self, v):  # noqa: N802
        return isinstance(v, dict)

    def typeOf(self, v):  # noqa: N802
        if v is None:
            return "Null"
        if isinstance(v, bool):
            return "Boolean"
        if isinstance(v, (int, float)):
            return "Number"
        if isinstance(v, str):
            return "String"
        if isinstance(v, list):
            return "List"
        if isinstance(v, dict):
            return "Map"
        return "Object"

    def matches(self, pattern, text):
        return re.fullmatch(pattern, str(text)) is not None

    def authType(self):  # noqa: N802
        return {"API_KEY": "API Key Authorization", "AWS_IAM": "IAM Authorization",
                "AMAZON_COGNITO_USER_POOLS": "User Pool Authorization", "OPENID_CONNECT": "Open ID Connect Authorization",
                "AWS_LAMBDA": "Lambda Authorization"}.get(self._auth_type or "", "")

    def escapeJavaScript(self, text):  # noqa: N802
        return vtl.escape_javascript(text)


class Extensions:
    """$extensions: subscription filters set by a subscription's resolver."""

    def __init__(self):
        self.subscription_filter = None
        self.invalidations = []

    def setSubscriptionFilter(self, value):  # noqa: N802
        self.subscription_filter = json.loads(value) if isinstance(value, str) else value
        return ""

    def setSubscriptionInvalidationFilter(self, value):  # noqa: N802
        return ""

    def invalidateSubscriptions(self, value):  # noqa: N802
        self.invalidations.append(value)
        return ""

    def evictFromApiCache(self, *_args):  # noqa: N802
        return ""


def render(text: str, context: dict, util: AppSyncUtil, extensions: Extensions | None = None) -> str:
    """Render an AppSync template, as the span AppSync.MappingTemplate; raises ResolverError
    (template errors, $util.error) or EarlyReturn (#return, no failure)."""
    with tracing.hop("appsync", "MappingTemplate", request=text) as span:
        try:
            out = _render(text, context, util, extensions)
        except EarlyReturn as early:
            span.set("earlyReturn", True)
            returned = early
        else:
            span.set_response(out)
            return out
    raise returned


def _render(text: str, context: dict, util: AppSyncUtil, extensions: Extensions | None = None) -> str:
    try:
        template = compile_template(text)
    except vtl.VtlError as e:
        raise ResolverError(str(e), "MappingTemplate") from None
    namespace = {"ctx": context, "context": context, "util": util, "utils": util, "__return": _RETURNER,
                 "extensions": extensions or Extensions()}
    try:
        with vtl.rendered_as(_JAVA):
            return template.merge(namespace)
    except (ResolverError, EarlyReturn):
        raise
    except Exception as e:  # airspeed's TemplateError, and Python errors from called methods
        cause = e  # airspeed wraps what a called method raised in TemplateExecutionError(s)
        while isinstance(cause, airspeed.TemplateExecutionError) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, (ResolverError, EarlyReturn)):
            raise cause from None
        raise ResolverError(f"{type(cause).__name__}: {cause}", "MappingTemplate") from None


def parse_output(text: str, what: str = "template"):
    """A rendered template's JSON; AppSync rejects output that is not JSON."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError as e:
        raise ResolverError(f"Unable to parse the JSON document: '{e}'", "MappingTemplate") from None
