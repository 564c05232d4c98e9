"""CloudWatch Logs filter patterns for unstructured events: terms, "quoted phrases", ?alternatives
and -exclusions. JSON ({ $.x = ... }) and space-delimited ([a, b]) patterns are not supported yet
and answer InvalidParameterException."""

from __future__ import annotations

import re

from overcast.aws.errors import AwsError

_TOKEN = re.compile(r'\s*(-|\?)?("((?:[^"\\]|\\.)*)"|[^\s"]+)')


def compile_pattern(pattern: str | None):
    """A predicate message -> bool for the pattern."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{") or text.startswith("["):
        raise AwsError("InvalidParameterException",
                       "JSON and space-delimited filter patterns are not supported by overcast yet; "
                       "use terms and quoted phrases.")
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
