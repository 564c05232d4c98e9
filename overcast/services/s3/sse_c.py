"""SSE-C: server-side encryption with a key the client sends on every request
(x-amz-server-side-encryption-customer-algorithm / -key / -key-MD5).

As AWS does, the key itself is never stored: an object keeps the key's MD5 (which S3 answers) and a
salted HMAC of it, and every read, copy or part upload must present the same key (AWS's
"ServerSideEncryptionCustomerKeys" user guide). Like SSE-KMS in overcast, the body is kept as
written in overcast's data directory: SSE-C decides who may read, not how the bytes are laid out
on overcast's disk (docs/s3.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from overcast.aws.errors import AwsError

ALGORITHM = "AES256"
_ARGUMENT = "x-amz-server-side-encryption"
_STORED_PARAMETERS = ("The object was stored using a form of Server Side Encryption. The correct parameters must be "
                      "provided to retrieve the object.")
_WRONG_KEY = "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
_PART_MISSING = ("The multipart upload initiate requested encryption. Subsequent part requests must include the "
                 "appropriate encryption parameters.")


def _invalid(message: str, value: str | None = None, code: str = "InvalidArgument") -> AwsError:
    fields = {"ArgumentName": _ARGUMENT}
    if value is not None:
        fields["ArgumentValue"] = value
    return AwsError(code, message, 400, **fields)


def requested_key(params, prefix: str = "SSECustomer", other_encryption: str | None = None) -> bytes | None:
    """The customer key a request gives (`prefix`: SSECustomer, or CopySourceSSECustomer for a copy's
    source), validated as S3 validates it; None when the request gives none. `other_encryption`: the
    request's x-amz-server-side-encryption, which SSE-C excludes."""
    algorithm, key, md5 = (params.get(prefix + name) for name in ("Algorithm", "Key", "KeyMD5"))
    if algorithm is None and key is None and md5 is None:
        return None
    if other_encryption is not None:
        raise _invalid("Server Side Encryption with Customer provided key is incompatible with the encryption "
                       "method specified", other_encryption)
    if algorithm is None:
        raise _invalid("Requests specifying Server Side Encryption with Customer provided keys must provide a valid "
                       "encryption algorithm.")
    if algorithm != ALGORITHM:
        raise _invalid("The Encryption request you specified is not valid. Supported value: AES256.", algorithm,
                       "InvalidEncryptionAlgorithmError")
    if key is None:
        raise _invalid("Requests specifying Server Side Encryption with Customer provided keys must provide an "
                       "appropriate secret key.")
    try:
        raw = base64.b64decode(key, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:  # AES-256: a 256-bit key
        raise _invalid("The secret key was invalid for the specified algorithm.")
    if md5 is None or base64.b64encode(hashlib.md5(raw).digest()).decode() != md5:
        raise _invalid("The calculated MD5 hash of the key did not match the hash that was provided.")
    return raw


def sealed(key: bytes) -> dict:
    """What an object (or a multipart upload) keeps of its customer key: its MD5, answered on every
    request, and a salted HMAC that later requests' keys are checked against."""
    salt = secrets.token_hex(16)
    return {"KeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode(), "Salt": salt,
            "Hmac": hmac.new(bytes.fromhex(salt), key, hashlib.sha256).hexdigest()}


def _matches(seal: dict, key: bytes) -> bool:
    digest = hmac.new(bytes.fromhex(seal["Salt"]), key, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, seal["Hmac"])


def check_read(meta: dict, params, prefix: str = "SSECustomer") -> None:
    """A read (GET, HEAD, attributes, a copy's source) of an object: an SSE-C object needs its key,
    any other object refuses one."""
    seal = meta.get("SSECustomer")
    given = params.get(prefix + "Algorithm") or params.get(prefix + "Key") or params.get(prefix + "KeyMD5")
    if seal is None:
        if given:
            raise AwsError("InvalidRequest", "The encryption parameters are not applicable to this object.")
        return
    if not given:
        raise AwsError("InvalidRequest", _STORED_PARAMETERS)
    algorithm = params.get(prefix + "Algorithm")
    if algorithm is not None and algorithm != ALGORITHM:
        raise _invalid("The Encryption request you specified is not valid. Supported value: AES256.", algorithm,
                       "InvalidEncryptionAlgorithmError")
    try:
        key = requested_key(params, prefix)
    except AwsError:  # a key that is not the object's, whatever is wrong with it
        raise AwsError("AccessDenied", _WRONG_KEY, 403) from None
    if key is None or not _matches(seal, key):
        raise AwsError("AccessDenied", _WRONG_KEY, 403)


def check_part(upload_meta: dict, params) -> None:
    """An UploadPart of an upload created with (or without) a customer key must give the same one."""
    seal = upload_meta.get("SSECustomer")
    key = requested_key(params)
    if (seal is None) != (key is None):
        raise AwsError("InvalidRequest", _PART_MISSING)
    if seal is not None and not _matches(seal, key):
        raise AwsError("InvalidRequest", "The provided encryption parameters did not match the ones used originally.")


def answer(meta: dict) -> dict:
    """The SSE-C members of an answer about an object or upload kept with a customer key."""
    seal = meta.get("SSECustomer")
    return {"SSECustomerAlgorithm": ALGORITHM, "SSECustomerKeyMD5": seal["KeyMD5"]} if seal else {}
