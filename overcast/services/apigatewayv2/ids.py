"""Identifiers in AWS's forms, for the control plane (provider.py), OpenAPI import and WebSocket
connections."""

from __future__ import annotations

import random
import string

_ID_CHARS = string.ascii_lowercase + string.digits
_ID_CHARS_MIXED = string.ascii_letters + string.digits


def new_id(length: int = 10) -> str:
    return "".join(random.choices(_ID_CHARS, k=length))


def connection_id() -> str:
    """An id in AWS's form: 16 characters ending in '=' (e.g. 'L0SM9cOFvHcCIhw='), without the
    '+' and '/' of base64 so that it is safe in @connections paths."""
    return "".join(random.choices(_ID_CHARS_MIXED, k=15)) + "="
