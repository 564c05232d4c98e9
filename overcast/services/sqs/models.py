"""SQS domain logic without I/O: queue attributes and their validation, message attribute
validation and AWS's MD5 digests, receipt handles, queue names and URLs."""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import struct
from dataclasses import dataclass, field

import orjson

from overcast.aws.errors import AwsError

# AWS raised SQS's message size limit (the MaximumMessageSize maximum and default, and the
# SendMessageBatch total) from 256 KiB to 1 MiB in August 2025; botocore's model documents
# 1 MiB. Change these two constants to emulate the older limit.
MAX_MESSAGE_SIZE = 1_048_576
DEFAULT_MAX_MESSAGE_SIZE = 1_048_576

DEDUP_WINDOW_MS = 5 * 60 * 1000
# How long a deleted queue's name stays unavailable (QueueDeletedRecently): AWS's 60 s. Tests
# shorten it to see a stack deployment wait it out; nothing else should set it.
DELETED_RECENTLY_SECONDS = float(os.environ.get("OVERCAST_SQS_DELETED_RECENTLY_SECONDS", "60"))
PURGE_INTERVAL_SECONDS = 60

FIFO_SUFFIX = ".fifo"

# Attribute name -> default value, for every queue (as GetQueueAttributes reports them).
STANDARD_DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(DEFAULT_MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
FIFO_DEFAULTS = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
FIFO_ONLY = frozenset(FIFO_DEFAULTS)
SETTABLE = frozenset(
    {
        *STANDARD_DEFAULTS,
        *FIFO_DEFAULTS,
        "Policy",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
    }
)
COMPUTED = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "QueueArn",
    }
)
ALL_QUEUE_ATTRIBUTES = SETTABLE | COMPUTED
# The order GetQueueAttributes(All) lists them in.
ATTRIBUTE_ORDER = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)

_INT_RANGES = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
_BOOLEANS = frozenset({"FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled"})
_ENUMS = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# the complement of AWS's allowed set (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
# [#x10000-#x10FFFF]), spelt as the few ranges outside it: the same matches, compiled in a tenth
# of the time (the allowed set's huge ranges took ~3 ms of the first SQS call); a search costs
# ~1.5% more (130 instructions for a 120-character body, of a request's hundreds of thousands)
_INVALID_BODY_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The same test of an ASCII body longer than a short message (str.isascii() reads a flag): its bytes
# mapped to 0 (one of the control characters above) or 1 and the result searched for a 0, two C loops
# of a few instructions a byte where the search's character-class test costs ~40 (an SNS envelope of
# ~900 characters to each of ten queues: 0.57 us instead of 2.3 us each). The search then finds which.
_ASCII_VALIDITY = bytes(0 if c < 0x20 and c not in (0x09, 0x0A, 0x0D) else 1 for c in range(256))
_ATTRIBUTE_NAME = re.compile(r"^[\w.-]{1,256}$")  # \w: letters and digits of any script (AWS takes "attr.1øßä")
_DEDUP_ID = re.compile(r"^[!-~]{1,128}$")  # alphanumerics and punctuation, as AWS documents


def invalid_attribute_value(name: str) -> AwsError:
    return AwsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")


def unknown_attribute(name: str) -> AwsError:
    return AwsError("InvalidAttributeName", f"Unknown Attribute {name}.")


def invalid_parameter(message: str) -> AwsError:
    # over the JSON protocol AWS names it InvalidParameterValueException (query code InvalidParameterValue)
    return AwsError("InvalidParameterValue", message, _json_type="InvalidParameterValueException")


def missing_parameter(name: str) -> AwsError:
    # over the JSON protocol AWS names it MissingRequiredParameterException (query code MissingParameter)
    return AwsError("MissingParameter", f"The request must contain the parameter {name}.",
                    _json_type="MissingRequiredParameterException")


def queue_does_not_exist(ctx=None) -> AwsError:
    if ctx is not None and ctx.protocol == "query":  # AWS's older wording, kept for awsQuery
        return AwsError("QueueDoesNotExist", "The specified queue does not exist for this wsdl version.")
    return AwsError("QueueDoesNotExist", "The specified queue does not exist.")


# -- queues ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Queue:
    """A queue's settings, parsed once; cached in memory, the database stays the truth."""

    id: int
    account: str
    region: str
    name: str
    attributes: dict[str, str]  # the settable attributes that are set (defaults included)
    tags: dict[str, str]
    created: int  # epoch seconds
    modified: int
    purged_at: float | None = None
    # the DeduplicationScope the queue was created with: AWS keeps deduplicating so after
    # SetQueueAttributes changes the attribute (as LocalStack's AWS-recorded snapshots show)
    created_dedup_scope: str | None = None
    arn: str = ""
    fifo: bool = False
    visibility_timeout: int = 30
    delay: int = 0
    max_size: int = DEFAULT_MAX_MESSAGE_SIZE
    retention_ms: int = 345_600_000
    wait: int = 0
    content_dedup: bool = False
    dedup_by_group: bool = False
    dlq_arn: str | None = None
    max_receive_count: int = 0
    redrive_allow: dict | None = field(default=None)

    def __post_init__(self) -> None:
        a = self.attributes
        self.arn = f"arn:aws:sqs:{self.region}:{self.account}:{self.name}"
        self.fifo = a.get("FifoQueue") == "true"
        self.visibility_timeout = int(a.get("VisibilityTimeout", 30))
        self.delay = int(a.get("DelaySeconds", 0))
        self.max_size = int(a.get("MaximumMessageSize", DEFAULT_MAX_MESSAGE_SIZE))
        self.retention_ms = int(a.get("MessageRetentionPeriod", 345_600)) * 1000
        self.wait = int(a.get("ReceiveMessageWaitTimeSeconds", 0))
        self.content_dedup = a.get("ContentBasedDeduplication") == "true"
        self.dedup_by_group = (self.created_dedup_scope or a.get("DeduplicationScope")) == "messageGroup"
        redrive = a.get("RedrivePolicy")
        if redrive:
            policy = orjson.loads(redrive)
            self.dlq_arn = policy.get("deadLetterTargetArn")
            self.max_receive_count = int(policy.get("maxReceiveCount", 10))
        allow = a.get("RedriveAllowPolicy")
        self.redrive_allow = orjson.loads(allow) if allow else None

    def url(self, endpoint: str) -> str:
        return f"{endpoint}/{self.account}/{self.name}"

    def allows_as_dlq_source(self, source_arn: str) -> bool:
        """This queue's RedriveAllowPolicy lets `source_arn` use it as its dead-letter queue."""
        policy = self.redrive_allow
        if not policy:
            return True
        permission = policy.get("redrivePermission", "allowAll")
        if permission == "denyAll":
            return False
        if permission == "byQueue":
            return source_arn in (policy.get("sourceQueueArns") or [])
        return True


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """arn:aws:sqs:{region}:{account}:{name} -> (account, region, name)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
        return None
    return parts[4], parts[3], parts[5]


def validate_queue_name(name: str, fifo: bool) -> None:
    if fifo:
        if not _FIFO_QUEUE_NAME.match(name):
            raise invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length."
            )
    elif not _QUEUE_NAME.match(name):
        raise invalid_parameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")


@functools.lru_cache(maxsize=4096)  # a function of the string alone; a client or an SNS fan-out repeats a few
def split_queue_url(url: str) -> tuple[str | None, str]:
    """A queue URL's (account, name) from its last two path segments; a bare name -> (None, name)."""
    url = url.strip()
    if "/" not in url:
        return None, url
    path = url.split("://", 1)[-1]
    path = path.split("?", 1)[0].rstrip("/")
    segments = path.split("/")
    if len(segments) >= 3 and segments[-2].isdigit() and len(segments[-2]) == 12:
        return segments[-2], segments[-1]
    return "", ""  # not a queue URL


def normalize_attributes(attributes: dict, *, creating: bool, fifo: bool) -> dict[str, str]:
    """Check names and values of CreateQueue/SetQueueAttributes attributes; returns them
    normalized (canonical booleans and integers) as strings."""
    result: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in SETTABLE:
            raise unknown_attribute(name)
        if name in FIFO_ONLY and not fifo:  # FifoQueue=false too: AWS knows none of them on standard queues
            if name in ("DeduplicationScope", "FifoThroughputLimit"):  # high throughput's, worded so
                raise AwsError("InvalidAttributeName", f"You can specify the {name} only when FifoQueue is set to true.")
            raise unknown_attribute(name)
        if name == "FifoQueue" and not creating:
            raise AwsError("InvalidAttributeValue",
                           "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
        value = "" if value is None else str(value)
        if name in _INT_RANGES:
            low, high = _INT_RANGES[name]
            try:
                number = int(value)
            except ValueError:
                raise invalid_attribute_value(name) from None
            if not low <= number <= high:
                raise invalid_attribute_value(name)
            value = str(number)
        elif name in _BOOLEANS:
            if value.lower() not in ("true", "false"):
                raise invalid_attribute_value(name)
            value = value.lower()
        elif name in _ENUMS:
            if value not in _ENUMS[name]:
                raise invalid_attribute_value(name)
        elif name == "Policy":
            if value:
                try:
                    if not isinstance(orjson.loads(value), dict):
                        raise ValueError
                except ValueError:
                    raise invalid_attribute_value(name) from None
        elif name == "RedrivePolicy":
            value = _normalize_redrive_policy(value)
        elif name == "RedriveAllowPolicy":
            value = _normalize_redrive_allow_policy(value)
        result[name] = value
    return result


def _normalize_redrive_policy(value: str) -> str:
    if not value:
        return ""

    def bad(reason: str) -> AwsError:
        return invalid_parameter(f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}")

    try:
        policy = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise bad("Redrive policy is not a valid JSON map.") from None
    if not isinstance(policy, dict):
        raise bad("Redrive policy is not a valid JSON map.")
    unknown = set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise bad("Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
    if "deadLetterTargetArn" not in policy:
        raise bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    if "maxReceiveCount" not in policy:
        raise bad("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
    try:
        count = int(policy["maxReceiveCount"])
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 1000:
        raise bad(f"Invalid value for maxReceiveCount: {policy['maxReceiveCount']}, valid values are from 1 to 1000 both inclusive.")
    if not isinstance(policy["deadLetterTargetArn"], str) or parse_arn(policy["deadLetterTargetArn"]) is None:
        raise bad("Invalid value for deadLetterTargetArn.")
    return orjson.dumps({"deadLetterTargetArn": policy["deadLetterTargetArn"], "maxReceiveCount": count}).decode()


def _normalize_redrive_allow_policy(value: str) -> str:
    if not value:
        return ""

    def bad(reason: str) -> AwsError:
        return invalid_parameter(f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: {reason}")

    try:
        policy = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise bad("Amazon SQS can't parse the policy. Please check the format.") from None
    if not isinstance(policy, dict):
        raise bad("Amazon SQS can't parse the policy. Please check the format.")
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise bad("Invalid value for redrivePermission. Valid values are allowAll, denyAll and byQueue.")
    sources = policy.get("sourceQueueArns")
    if permission == "byQueue":
        if not isinstance(sources, list) or not sources:
            raise bad("sourceQueueArns must be specified when redrivePermission is byQueue.")
        if len(sources) > 10:
            raise bad("Up to 10 sourceQueueArns can be specified.")
    elif sources:
        raise bad("sourceQueueArns is only allowed when redrivePermission is byQueue.")
    return orjson.dumps(policy).decode()


def same_attribute_value(name: str, a: str | None, b: str | None) -> bool:
    """CreateQueue's idempotency check: JSON attributes compare as JSON."""
    if a == b:
        return True
    if name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy") and a and b:
        try:
            return orjson.loads(a) == orjson.loads(b)
        except orjson.JSONDecodeError:
            return False
    return False


# -- messages --------------------------------------------------------------------------------


def find_invalid_character(body: str) -> str | None:
    if len(body) > 64 and body.isascii() and b"\x00" not in body.encode().translate(_ASCII_VALIDITY):
        return None
    match = _INVALID_BODY_CHAR.search(body)
    return None if match is None else match.group()


def invalid_body(char: str) -> AwsError:
    return AwsError(
        "InvalidMessageContents",
        f"Invalid binary character '#x{ord(char):X}' was found in the message body, the set of allowed characters is "
        "#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
    )


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _pack(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_attributes(attributes: dict) -> str:
    """AWS's digest of message (or message system) attributes: for each attribute sorted by
    name, length-prefixed UTF-8 name and data type, one transport byte (1 string, 2 binary),
    then the length-prefixed value."""
    out = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        out += _pack(name.encode())
        out += _pack(value["DataType"].encode())
        if value.get("StringValue") is not None:
            out += b"\x01" + _pack(value["StringValue"].encode())
        else:
            out += b"\x02" + _pack(_as_bytes(value.get("BinaryValue") or b""))
    return md5_hex(bytes(out))


def _as_bytes(value) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def validate_message_attributes(attributes: dict) -> int:
    """Check user message attributes as AWS does; returns their size in bytes (name + type + value)."""
    if len(attributes) > 10:
        raise invalid_parameter(f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10].")
    size = 0
    for name, value in attributes.items():
        if not name:
            raise invalid_parameter("The request must contain non-empty message attribute name.")
        lowered = name.lower()
        if (
            not _ATTRIBUTE_NAME.match(name)
            or lowered.startswith("aws.")
            or lowered.startswith("amazon.")
            or name.startswith(".")
            or name.endswith(".")
            or ".." in name
        ):
            raise invalid_parameter(f"Message (user) attribute name '{name}' is invalid.")
        if not isinstance(value, dict):
            raise invalid_parameter(f"The message attribute '{name}' must contain non-empty message attribute value.")
        data_type = value.get("DataType") or ""
        if not data_type:
            raise invalid_parameter(f"The message attribute '{name}' must contain non-empty message attribute type.")
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary") or len(data_type) > 256 or data_type.endswith("."):
            raise invalid_parameter(
                f"The type of message (user) attribute '{name}' is invalid. "
                "You must use only the following supported type prefixes: Binary, Number, String."
            )
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise invalid_parameter("Message attribute list values in SendMessage operation are not supported.")
        if base == "Binary":
            data = value.get("BinaryValue")
            if data is None or len(data) == 0:
                raise invalid_parameter(
                    f"The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                )
            size += len(data)
        else:
            text = value.get("StringValue")
            if text is None or text == "":
                raise invalid_parameter(f"Message (user) attribute '{name}' must contain a non-empty value of type "
                                        f"'{base}'.")
            if base == "Number":
                try:
                    float(text)
                except ValueError:
                    raise invalid_parameter(f"Can't cast the value of message (user) attribute '{name}' to a number.") from None
            elif find_invalid_character(text) is not None:
                # in a body AWS answers InvalidMessageContents, in an attribute's value
                # InvalidParameterValue (LocalStack's AWS-validated
                # test_invalid_string_attributes_cause_invalid_parameter_value_error)
                raise invalid_parameter(
                    f"Invalid binary character '#x{ord(find_invalid_character(text)):X}' was found in the message attribute "
                    f"'{name}', the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
                )
            size += len(text.encode())
        size += len(name.encode()) + len(data_type.encode())
    return size


def validate_system_attributes(attributes: dict) -> None:
    for name, value in attributes.items():
        if name != "AWSTraceHeader":
            raise invalid_parameter(f"Message system attribute name '{name}' is invalid.")
        if not isinstance(value, dict) or value.get("DataType") != "String":
            raise invalid_parameter(f"The message system attribute '{name}' must be of type 'String'.")
        if not value.get("StringValue"):
            raise invalid_parameter(
                f"The message system attribute '{name}' must contain non-empty message attribute value for message attribute type 'String'."
            )


def encode_attributes(attributes: dict) -> str:
    """Message attributes as stored: JSON, binary values base64-encoded."""
    stored = {}
    for name, value in attributes.items():
        entry = {"DataType": value["DataType"]}
        if value.get("StringValue") is not None:
            entry["StringValue"] = value["StringValue"]
        else:
            entry["BinaryValue"] = base64.b64encode(_as_bytes(value["BinaryValue"])).decode()
        stored[name] = entry
    return orjson.dumps(stored).decode()


def decode_attributes(stored: str) -> dict:
    attributes = orjson.loads(stored)
    for value in attributes.values():
        if "BinaryValue" in value:
            value["BinaryValue"] = base64.b64decode(value["BinaryValue"])
    return attributes


def select_attributes(attributes: dict, names: list[str]) -> dict:
    """ReceiveMessage's MessageAttributeNames: All, * and .*, prefix.* and exact names. As AWS
    answered (LocalStack's recorded test_receive_message_message_attribute_names_filters), "Hel.*"
    selects every name that starts with "Hel" ("Hello" and "Help.Me")."""
    if not names:
        return {}
    if "All" in names or "*" in names or ".*" in names:
        return attributes
    prefixes = tuple(n[:-2] for n in names if n.endswith(".*"))
    exact = set(names)
    return {k: v for k, v in attributes.items() if k in exact or (prefixes and k.startswith(prefixes))}


def validate_dedup_id(value: str, parameter: str) -> None:
    if not _DEDUP_ID.match(value):
        raise invalid_parameter(
            f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only include alphanumeric and "
            "punctuation characters. 1 to 128 in length."
        )


def valid_batch_id(entry_id) -> bool:
    return isinstance(entry_id, str) and _BATCH_ID.match(entry_id) is not None


# -- receipt handles -------------------------------------------------------------------------


def make_receipt_handle(queue_id: int, row_id: int, message_id: str, token: str) -> str:
    raw = f"{queue_id}:{row_id}:{message_id}:{token}".encode()
    return base64.b64encode(raw).decode()


def parse_receipt_handle(handle: str) -> tuple[int, int, str] | None:
    """(queue_id, row_id, message_id) of a receipt handle this server issued, else None. The
    message id guards against a row id that SQLite reused after the message was deleted."""
    try:
        raw = base64.b64decode(handle, validate=True).decode()
        queue_id, row_id, message_id, _token = raw.split(":")
        return int(queue_id), int(row_id), message_id
    except (ValueError, UnicodeDecodeError):
        return None


def expired_receipt_handle(handle: str) -> AwsError:
    return invalid_parameter(f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.")


def invalid_receipt_handle(handle: str) -> AwsError:
    return AwsError("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')
