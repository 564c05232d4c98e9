"""Helpers IAM and STS share: identifiers, timestamps, input checks and pagination, in AWS's
formats and with AWS's error codes and messages."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
import string
import time

from overcast.aws.errors import AwsError

_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
UTC = datetime.UTC

# IAM's unique-id prefixes (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html)
ROLE_ID, USER_ID, GROUP_ID, POLICY_ID, PROFILE_ID = "AROA", "AIDA", "AGPA", "ANPA", "AIPA"
ACCESS_KEY, TEMPORARY_KEY = "AKIA", "ASIA"
SERVICE_CREDENTIAL_ID = "ACCA"  # a context-specific credential
SERVER_CERTIFICATE_ID = "ASCA"


def new_id(prefix: str, length: int = 17) -> str:
    """A unique id such as AROA + 17 upper-case letters and digits."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def stable_id(prefix: str, seed: str, length: int = 17) -> str:
    """An id derived from a seed, for things overcast did not create (AWS managed policies,
    roles that exist only in an ARN)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_ID_ALPHABET[b % len(_ID_ALPHABET)] for b in digest[:length])


def new_access_key_id(prefix: str = ACCESS_KEY) -> str:
    return new_id(prefix, 16)


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def new_service_password() -> str:
    """A service-specific credential's password: 44 characters, as CodeCommit's Git passwords."""
    return base64.b64encode(secrets.token_bytes(33)).decode()


def now() -> float:
    return round(time.time(), 3)


def as_datetime(epoch: float | None) -> datetime.datetime | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, UTC)


# -- input checks ------------------------------------------------------------------------------

NAME_PATTERN = r"[\w+=,.@-]+"
_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH = re.compile(r"(/)|(/[\x21-\x7e]+/)")
_PATH_PREFIX = re.compile(r"/[\x21-\x7f]*")


def _member(name: str) -> str:
    return name[:1].lower() + name[1:]


def validation_error(problems: list[str]) -> AwsError:
    noun = "error" if len(problems) == 1 else "errors"
    return AwsError("ValidationError", f"{len(problems)} validation {noun} detected: " + "; ".join(problems), 400)


def check_name(
    value, member: str, max_length: int, pattern: str = NAME_PATTERN, min_length: int = 1, ascii: bool = True
) -> str:
    """Check a name parameter as IAM does, answering ValidationError with AWS's wording."""
    if value is None:
        raise validation_error([f"Value null at '{_member(member)}' failed to satisfy constraint: Member must not be null"])
    problems = []
    if len(value) > max_length:
        problems.append(
            f"Value '{value}' at '{_member(member)}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {max_length}"
        )
    if len(value) < min_length:
        problems.append(
            f"Value '{value}' at '{_member(member)}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {min_length}"
        )
    if value and not re.fullmatch(pattern, value, re.ASCII if ascii else 0):
        problems.append(
            f"Value '{value}' at '{_member(member)}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )
    if problems:
        raise validation_error(problems)
    return value


def check_path(value: str | None, member: str = "Path", prefix: bool = False) -> str:
    if value is None:
        return "/"
    pattern = _PATH_PREFIX if prefix else _PATH
    if len(value) > 512 or not pattern.fullmatch(value):
        shown = r"\u002F[\u0021-\u007F]*" if prefix else r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
        raise validation_error(
            [f"Value '{value}' at '{_member(member)}' failed to satisfy constraint: Member must satisfy regular expression pattern: {shown}"]
        )
    return value


def check_range(value, member: str, low: int, high: int):
    if value is None:
        return None
    if value < low:
        raise validation_error(
            [f"Value '{value}' at '{_member(member)}' failed to satisfy constraint: Member must have value greater than or equal to {low}"]
        )
    if value > high:
        raise validation_error(
            [f"Value '{value}' at '{_member(member)}' failed to satisfy constraint: Member must have value less than or equal to {high}"]
        )
    return value


# -- pagination --------------------------------------------------------------------------------


def paginate(items: list, params: dict, key=lambda item: item) -> tuple[list, dict]:
    """Marker/MaxItems pagination over items sorted by `key`. Returns the page and the
    IsTruncated/Marker members to merge into the output."""
    max_items = check_range(params.get("MaxItems"), "MaxItems", 1, 1000) or 100
    marker = params.get("Marker")
    if marker:
        try:
            after = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidInput", "Invalid Marker.", 400) from None
        items = [item for item in items if key(item) > after]
    page = items[:max_items]
    if len(items) > max_items:
        last = key(page[-1])
        return page, {"IsTruncated": True, "Marker": base64.urlsafe_b64encode(last.encode()).decode()}
    return page, {"IsTruncated": False}
