"""SigV4 verification, when `OVERCAST_VERIFY_SIGNATURES` is on (off by default: then nothing here
runs). A request's signature is recomputed with the secret of its access key — a key the user
registered (`OVERCAST_CREDENTIALS`), or one overcast's STS or IAM issued — and compared.

The server sees the request as sent (raw path, raw query string, header values), so it rebuilds
the canonical request the way AWS's signers do: each query pair decoded and re-encoded with
SigV4's strict encoding and sorted; the path encoded once more for every service but S3 (whose
signers sign the path as sent); the headers the client listed in SignedHeaders, values trimmed.
botocore's signer cannot be reused as is: it chooses the headers to sign itself, while a verifier
must take the client's list.

S3 streaming uploads (aws-chunked, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) sign each chunk,
chained from the request's signature: ChunkChecker verifies them as the body is decoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from overcast.aws.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 900  # seconds: AWS's 15 minutes, both ways
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")


def unsigned_operation(operation) -> bool:
    """Whether AWS takes the operation (overcast.aws.models.OperationModel) without a signature, as
    its model says (`authtype: none`, or Smithy's noAuth): STS's AssumeRoleWithWebIdentity and
    SAML, Cognito's user operations (SignUp, InitiateAuth, GetUser, ...: the app client id or the
    access token is the credential), Cognito Identity's GetId and GetCredentialsForIdentity."""
    spec = operation.spec
    return spec.get("authtype") == "none" or "smithy.api#noAuth" in (spec.get("auth") or ())


def takes_unsigned(model) -> bool:
    """Whether any operation of the service (overcast.aws.models.ServiceModel) takes no signature;
    else an anonymous request is refused before it is parsed."""
    found = model.cache("signing").get("takes_unsigned")
    if found is None:
        found = model.cache("signing")["takes_unsigned"] = any(unsigned_operation(op) for op in model.operations.values())
    return found

_AUTH_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]*)")
_SPACES = re.compile(r"\s+")
_HEX64 = re.compile(r"[0-9a-f]{64}")

SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. Check your "
                     "AWS Secret Access Key and signing method. Consult the service documentation for details.")
S3_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. Check your "
                        "key and signing method.")
TOKEN_MESSAGE = "The security token included in the request is invalid."


@dataclass(slots=True)
class Credential:
    secret: str
    account: str
    session_token: str | None = None  # STS credentials must come with their token
    expiration: float | None = None


@dataclass(slots=True)
class Signed:
    """What a verified request was signed with: chunk signatures chain from it."""

    access_key: str
    account: str
    amz_date: str
    scope: str  # date/region/service/aws4_request
    signature: str
    signing_key: bytes
    payload_hash: str  # x-amz-content-sha256 (S3), or the body's hash


class SignatureFailure(Exception):
    """Why verification failed; `as_error(family)` words it as the service family answers."""

    def __init__(self, kind: str, **details):
        super().__init__(kind)
        self.kind = kind
        self.details = details

    def as_error(self, family: str) -> AwsError:
        return _ERRORS[self.kind](family, self.details)


def parse_credentials(text: str) -> dict[str, Credential]:
    """OVERCAST_CREDENTIALS: `AKID:SECRET[:ACCOUNT]` entries separated by commas, spaces or new
    lines; the account defaults to the key when it is 12 digits, else 000000000000. A value that
    starts with @ names a file holding such entries (lines starting with # are ignored)."""
    from overcast.aws.routing import account_for

    text = text.strip()
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = "\n".join(line for line in f.read().splitlines() if not line.lstrip().startswith("#"))
    found = {}
    for entry in re.split(r"[,\s]+", text):
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(f"OVERCAST_CREDENTIALS: {entry.split(':')[0]!r} is not ACCESS_KEY:SECRET[:ACCOUNT]")
        account = parts[2] if len(parts) == 3 else account_for(parts[0])
        if not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"OVERCAST_CREDENTIALS: the account of {parts[0]!r} must be 12 digits")
        found[parts[0]] = Credential(parts[1], account)
    return found


class RequestAccount:
    """The account a request to one of overcast's own endpoints acts for (Cognito's codes), as for
    an AWS API call: its signer's — the access key's when it is 12 digits, the account of a key
    overcast's STS or IAM issued, else the default account — with the signature checked when
    signatures are verified (then an unsigned request is refused: SignatureFailure("missing")).
    Unsigned requests, when signatures are not verified, act for the default account."""

    def __init__(self, providers):
        self.providers = providers
        config = providers.config
        self.verifier = Verifier(providers, parse_credentials(config.credentials)) if config.verify_signatures \
            else None

    async def of(self, request) -> str:
        if self.verifier is not None:
            signed = await self.verifier.verify(request)
            if signed is None:
                raise SignatureFailure("missing")
            return signed.account
        from overcast.aws.routing import account_for, route

        access_key = route(request).access_key
        if access_key[:4] in ("AKIA", "ASIA"):
            issued = await self.providers.account_for_key(access_key)
            if issued:
                return issued
        return account_for(access_key)


class Verifier:
    """Checks every AWS API request's signature (the gateway and S3's front call it)."""

    def __init__(self, providers, registered: dict[str, Credential]):
        self.providers = providers
        self.registered = registered
        self._keys: dict[tuple, bytes] = {}  # (secret, date, region, service) -> signing key

    async def credential(self, access_key: str) -> Credential | None:
        found = self.registered.get(access_key)
        if found is None and access_key[:4] in ("AKIA", "ASIA"):
            found = await (await self.providers.get("sts")).signing_credential(access_key)
        return found

    def signing_key(self, secret: str, date: str, region: str, service: str) -> bytes:
        cache_key = (secret, date, region, service)
        key = self._keys.get(cache_key)
        if key is None:
            if len(self._keys) > 1024:
                self._keys.clear()
            key = _hmac(("AWS4" + secret).encode(), date)
            for part in (region, service, "aws4_request"):
                key = _hmac(key, part)
            self._keys[cache_key] = key
        return key

    async def verify(self, request, s3: bool = False, s3_path: str = "") -> Signed | None:
        """The request's signature, verified; None for an anonymous request (the caller decides
        whether it may be). Raises SignatureFailure. `s3_path`: S3's /bucket/key as sent, which
        SigV2 signs even when the bucket is in the host name."""
        auth = request.headers.get("authorization")
        query = _query_pairs(request.query_string) if request.query_string else []
        presigned = auth is None and any(name == "X-Amz-Signature" for name, _ in query)
        if auth is None and not presigned:
            if any(name in ("AWSAccessKeyId", "Signature") for name, _ in query):
                if not s3:
                    raise SignatureFailure("unsupported")
                return await self._verify_v2(request, query, s3_path, None)
            return None
        if auth is not None and auth.startswith("AWS ") and s3:
            return await self._verify_v2(request, query, s3_path, auth[4:])
        if presigned:
            fields = {name[6:]: value for name, value in query if name.startswith("X-Amz-")}
            algorithm = fields.get("Algorithm", "")
            credential, signed_headers = fields.get("Credential", ""), fields.get("SignedHeaders", "")
            signature, amz_date = fields.get("Signature", ""), fields.get("Date", "")
            token = fields.get("Security-Token")
        else:
            algorithm, _, rest = auth.partition(" ")
            if algorithm != ALGORITHM:
                raise SignatureFailure("unsupported")
            parts = dict(_AUTH_FIELD.findall(rest))
            credential, signed_headers = parts.get("Credential", ""), parts.get("SignedHeaders", "")
            signature = parts.get("Signature", "")
            amz_date = request.headers.get("x-amz-date") or _http_date(request.headers.get("date", ""))
            token = request.headers.get("x-amz-security-token")
        if presigned and algorithm != ALGORITHM:
            raise SignatureFailure("unsupported")
        scope_parts = credential.split("/")
        if s3 and presigned and credential and signed_headers and signature and len(scope_parts) != 5:
            raise SignatureFailure("bad_credential")  # e.g. its slashes encoded twice
        if len(scope_parts) != 5 or scope_parts[4] != "aws4_request" or not signed_headers or not signature:
            raise SignatureFailure("incomplete", auth=auth or "", presigned=presigned)
        access_key, date, region, service, _ = scope_parts
        found = await self.credential(access_key)
        if found is None:
            raise SignatureFailure("unknown_key", access_key=access_key)
        if found.session_token is not None and token != found.session_token:
            raise SignatureFailure("bad_token", access_key=access_key)
        if found.expiration is not None and found.expiration < time.time():
            raise SignatureFailure("expired_token", access_key=access_key)
        moment = _parse_amz_date(amz_date)
        if moment is None or amz_date[:8] != date:
            raise SignatureFailure("incomplete", auth=auth or "", presigned=presigned, date=True)
        now = time.time()
        if presigned:
            _check_expiry(fields.get("Expires", ""), moment, now)
        elif abs(now - moment) > MAX_SKEW:
            raise SignatureFailure("skewed", amz_date=amz_date, now=now, future=moment > now)
        payload_hash = _payload_hash(request, s3, presigned)
        names = signed_headers.split(";")
        if presigned and s3:
            _check_all_signed(request, names)
        canonical = "\n".join((
            request.method,
            _canonical_path(request.raw_path or request.path, s3),
            _canonical_query(query, presigned),
            "".join(f"{name}:{_header_value(request, name)}\n" for name in names),
            signed_headers,
            payload_hash,
        ))
        scope = "/".join(scope_parts[1:])
        to_sign = f"{ALGORITHM}\n{amz_date}\n{scope}\n{_sha256(canonical.encode())}"
        key = self.signing_key(found.secret, date, region, service)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureFailure("mismatch", access_key=access_key, canonical=canonical, string_to_sign=to_sign,
                                   signature=signature)
        return Signed(access_key, found.account, amz_date, scope, signature, key, payload_hash)


    async def verify_post_policy(self, fields: dict) -> str:
        """A browser POST upload's policy signature (`fields`: the form's, names lower-cased): SigV4's
        hex HMAC of the base64 policy with the X-Amz-Credential's signing key, or SigV2's base64
        HMAC-SHA1 with the secret (S3's "Authenticating requests in browser-based uploads"). The
        signer's account."""
        policy = fields.get("policy", "")
        if "x-amz-signature" in fields:
            signature = fields["x-amz-signature"]
            scope = fields.get("x-amz-credential", "").split("/")
            if len(scope) != 5:
                raise SignatureFailure("bad_credential")
            access_key = scope[0]
        else:
            signature, access_key = fields.get("signature", ""), fields.get("awsaccesskeyid", "")
        found = await self.credential(access_key)
        if found is None:
            raise SignatureFailure("unknown_key", access_key=access_key)
        if found.session_token is not None and fields.get("x-amz-security-token") != found.session_token:
            raise SignatureFailure("bad_token", access_key=access_key)
        if "x-amz-signature" in fields:
            key = self.signing_key(found.secret, *scope[1:4])
            expected = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
        else:
            expected = base64.b64encode(hmac.new(found.secret.encode(), policy.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise SignatureFailure("mismatch", access_key=access_key, canonical="", string_to_sign=policy,
                                   signature=signature)
        return found.account

    async def _verify_v2(self, request, query: list, s3_path: str, header: str | None) -> Signed:
        """S3's legacy signatures (SigV2: `Authorization: AWS key:signature`, or the AWSAccessKeyId /
        Expires / Signature query of presigned URLs that boto3 still makes by default)."""
        fields = dict(query)
        if header is not None:
            access_key, _, signature = header.rpartition(":")
            date = "" if "x-amz-date" in request.headers else request.headers.get("date", "")
            moment = _parse_http_date(request.headers.get("x-amz-date") or request.headers.get("date", ""))
            if moment is None:
                raise SignatureFailure("v2_date")
            if abs(time.time() - moment) > MAX_SKEW:
                raise SignatureFailure("skewed", amz_date=_amz(moment), now=time.time(), future=moment > time.time())
        else:
            access_key, signature, date = fields.get("AWSAccessKeyId", ""), fields.get("Signature", ""), \
                fields.get("Expires", "")
            if not (access_key and signature and date):
                raise SignatureFailure("v2_incomplete")
            try:
                deadline = int(date)
            except ValueError:
                raise SignatureFailure("v2_date") from None
            if time.time() > deadline:
                raise SignatureFailure("expired_url", seconds=None, deadline=deadline, now=time.time())
        found = await self.credential(access_key)
        if found is None:
            raise SignatureFailure("unknown_key", access_key=access_key)
        token = request.headers.get("x-amz-security-token") or fields.get("x-amz-security-token")
        if found.session_token is not None and token != found.session_token:
            raise SignatureFailure("bad_token", access_key=access_key)
        amz = {}
        if header is None:  # a presigned URL carries the x-amz-* headers it signed in its query (botocore's
            # HmacV1QueryAuth moves them there)
            amz = {name.lower(): value for name, value in query if name.lower().startswith("x-amz-")}
        for name in request.headers:
            if name.startswith("x-amz-"):
                amz[name] = ",".join(v.strip() for v in request.header_values(name))
        from botocore.auth import HmacV1Auth  # here, not at the top: see _canonical_path

        subresources = sorted((n, v) for n, v in query if n in HmacV1Auth.QSAOfInterest)
        resource = (s3_path or request.raw_path) + ("?" + "&".join(f"{n}={v}" if v or n.startswith("response-")
                                                                   else n for n, v in subresources)
                                                    if subresources else "")
        to_sign = "\n".join((request.method, request.headers.get("content-md5", ""),
                             request.headers.get("content-type", ""), date)) + "\n" + \
            "".join(f"{n}:{amz[n]}\n" for n in sorted(amz)) + resource
        expected = base64.b64encode(hmac.new(found.secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise SignatureFailure("mismatch", access_key=access_key, canonical="", string_to_sign=to_sign,
                                   signature=signature)
        return Signed(access_key, found.account, "", "", signature, b"", UNSIGNED)


class PayloadCheck:
    """An S3 body checked as it is decoded: its SHA-256 against x-amz-content-sha256, or each
    aws-chunked chunk's signature (chained from the request's signature)."""

    __slots__ = ("signed", "_hash", "_previous", "chunked")

    def __init__(self, signed: Signed):
        self.signed = signed
        self.chunked = signed.payload_hash in STREAMING_SIGNED
        self._hash = hashlib.sha256() if _is_sha256(signed.payload_hash) else None
        self._previous = signed.signature

    @staticmethod
    def wanted(signed: Signed | None) -> bool:
        return signed is not None and (signed.payload_hash in STREAMING_SIGNED or _is_sha256(signed.payload_hash))

    def data(self, piece) -> None:
        """Decoded body bytes (the whole body for a plain upload)."""
        if self._hash is not None:
            self._hash.update(piece)

    def end(self) -> None:
        if self._hash is not None and self._hash.hexdigest() != self.signed.payload_hash:
            raise AwsError("XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was computed.", 400,
                           ClientComputedContentSHA256=self.signed.payload_hash,
                           S3ComputedContentSHA256=self._hash.hexdigest())

    def chunk(self, signature: str | None, digest: str) -> None:
        """One aws-chunked chunk's signature and the SHA-256 (hex) of its data."""
        s = self.signed
        to_sign = f"AWS4-HMAC-SHA256-PAYLOAD\n{s.amz_date}\n{s.scope}\n{self._previous}\n{EMPTY_SHA256}\n{digest}"
        self._chain(signature, to_sign)

    def trailer(self, signature: str | None, canonical_trailers: str) -> None:
        s = self.signed
        to_sign = (f"AWS4-HMAC-SHA256-TRAILER\n{s.amz_date}\n{s.scope}\n{self._previous}\n"
                   f"{_sha256(canonical_trailers.encode())}")
        self._chain(signature, to_sign)

    def _chain(self, signature: str | None, to_sign: str) -> None:
        expected = hmac.new(self.signed.signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(expected, signature):
            raise SignatureFailure("mismatch", access_key=self.signed.access_key, canonical="",
                                   string_to_sign=to_sign, signature=signature or "").as_error("s3")
        self._previous = expected


# -- canonical request -----------------------------------------------------------------------------


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query_string.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _canonical_query(pairs: list[tuple[str, str]], presigned: bool) -> str:
    encoded = sorted((quote(n, safe="-_.~"), quote(v, safe="-_.~")) for n, v in pairs
                     if not (presigned and n == "X-Amz-Signature"))
    return "&".join(f"{n}={v}" for n, v in encoded)


def _canonical_path(raw_path: str, s3: bool) -> str:
    if s3:
        return raw_path or "/"  # S3's signers sign the path as they send it
    # Imported on first use: botocore.auth/utils pull in botocore.compat, which imports awscrt
    # (~130 ms and ~4 MB at start-up) for a step that runs only when signatures are verified.
    from botocore.utils import normalize_url_path

    return quote(normalize_url_path(raw_path or "/"), safe="/~")


def _check_all_signed(request, signed: list[str]) -> None:
    """A presigned S3 URL signs every x-amz-* header sent with it (but the payload hash, which it
    does not sign): others are refused, named (AWS's recorded answers)."""
    unsigned = [name for name in request.headers
                if name.startswith("x-amz-") and name != "x-amz-content-sha256" and name not in signed]
    if unsigned:
        raise SignatureFailure("unsigned_headers", names=unsigned)


def _header_value(request, name: str) -> str:
    values = request.header_values(name)
    return ",".join(_SPACES.sub(" ", _as_signed(v).strip()) for v in values)


def _as_signed(value: str) -> str:
    """A header value as the client signed it: the HTTP layer hands the wire bytes decoded as
    ISO-8859-1, while SDKs sign the text and send it UTF-8-encoded (non-ASCII metadata, Content-
    Disposition file names), so the canonical request (hashed as UTF-8) must hold the text."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not UTF-8 on the wire: signed as its bytes
        return value


def _payload_hash(request, s3: bool, presigned: bool) -> str:
    declared = request.headers.get("x-amz-content-sha256")
    if s3:
        if presigned:
            return declared or UNSIGNED
        if declared is None:
            raise SignatureFailure("missing_sha256")
        return declared
    actual = _sha256(request.body)
    if declared is not None and declared != UNSIGNED and declared != actual:
        raise SignatureFailure("mismatch", access_key="", canonical="", string_to_sign="", signature="")
    return declared or actual


def _check_expiry(text: str, signed_at: float, now: float) -> None:
    try:
        seconds = int(text)
    except ValueError:
        raise SignatureFailure("incomplete", auth="", presigned=True) from None
    if now > signed_at + seconds:
        raise SignatureFailure("expired_url", seconds=seconds, deadline=signed_at + seconds, now=now)
    if signed_at - now > MAX_SKEW:
        raise SignatureFailure("skewed", amz_date=_amz(signed_at), now=now, future=True)


def _parse_amz_date(text: str) -> float | None:
    """20240131T235959Z -> epoch seconds (datetime checks the ranges; strptime is 5x slower)."""
    if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not (text[:8] + text[9:15]).isdigit():
        return None
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]),
                        int(text[13:15]), tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _parse_http_date(text: str) -> float | None:
    from email.utils import parsedate_to_datetime

    moment = _parse_amz_date(text)
    if moment is not None:
        return moment
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _http_date(text: str) -> str:
    """A `Date` header (RFC 7231) as SigV4's basic ISO 8601, when no X-Amz-Date came."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError, IndexError):
        return ""


def _amz(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y%m%dT%H%M%SZ")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_sha256(value: str) -> bool:
    return _HEX64.fullmatch(value) is not None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


# -- AWS's answers, per family: "query" (awsQuery services and SQS), "json" (awsJson and rest-json
# services), "s3" ------------------------------------------------------------------------------


def _missing(family, d):
    if family == "s3":
        return AwsError("AccessDenied", "Access Denied", 403)
    if family == "json":
        return AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    return AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def _unknown_key(family, d):
    if family == "s3":
        return AwsError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
                        403, AWSAccessKeyId=d["access_key"])
    return AwsError("UnrecognizedClientException" if family == "json" else "InvalidClientTokenId", TOKEN_MESSAGE, 403)


def _bad_token(family, d):
    if family == "s3":
        return AwsError("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)
    return _unknown_key(family, d)


def _expired_token(family, d):
    if family == "s3":
        return AwsError("ExpiredToken", "The provided token has expired.", 400)
    return AwsError("ExpiredTokenException" if family == "json" else "ExpiredToken",
                    "The security token included in the request is expired", 403)


def _mismatch(family, d):
    if family == "s3":
        fields = {"AWSAccessKeyId": d["access_key"], "StringToSign": d["string_to_sign"],
                  "SignatureProvided": d["signature"], "StringToSignBytes": _hex_bytes(d["string_to_sign"]),
                  "CanonicalRequest": d["canonical"], "CanonicalRequestBytes": _hex_bytes(d["canonical"])}
        return AwsError("SignatureDoesNotMatch", S3_SIGNATURE_MESSAGE, 403,
                        **{k: v for k, v in fields.items() if v})
    message = SIGNATURE_MESSAGE
    if d["canonical"]:
        message += (f"\n\nThe Canonical String for this request should have been\n'{d['canonical']}'\n\n"
                    f"The String-to-Sign should have been\n'{d['string_to_sign']}'\n")
    return AwsError("InvalidSignatureException" if family == "json" else "SignatureDoesNotMatch", message, 403)


def _hex_bytes(text: str) -> str:
    """A string's UTF-8 bytes as S3 lists them in SignatureDoesNotMatch (`50 55 54 0a ...`)."""
    return " ".join(f"{b:02x}" for b in text.encode())


def _unsigned_headers(family, d):
    return AwsError("AccessDenied", "There were headers present in the request which were not signed", 403,
                    HeadersNotSigned=", ".join(d["names"]))


def _bad_credential(family, d):
    return AwsError("AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; the "
                    "Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".", 400)


def _v2_incomplete(family, d):
    return AwsError("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                    "AWSAccessKeyId parameters", 403)


def _skewed(family, d):
    now = d["now"]
    if family == "s3":
        moment = _parse_amz_date(d["amz_date"]) or now
        return AwsError("RequestTimeTooSkewed",
                        "The difference between the request time and the current time is too large.", 403,
                        RequestTime=_iso(moment), ServerTime=_iso(now), MaxAllowedSkewMilliseconds="900000")
    if d["future"]:
        message = (f"Signature not yet current: {d['amz_date']} is still later than {_amz(now + MAX_SKEW)} "
                   f"({_amz(now)} + 15 min.)")
    else:
        message = (f"Signature expired: {d['amz_date']} is now earlier than {_amz(now - MAX_SKEW)} "
                   f"({_amz(now)} - 15 min.)")
    return AwsError("InvalidSignatureException" if family == "json" else "SignatureDoesNotMatch", message, 403)


def _expired_url(family, d):
    if family == "s3":
        return AwsError("AccessDenied", "Request has expired", 403,
                        X_Amz_Expires=None if d["seconds"] is None else str(d["seconds"]),
                        Expires=_iso(d["deadline"]), ServerTime=_iso(d["now"]))
    message = (f"Signature expired: {_amz(d['deadline'])} is now earlier than {_amz(d['now'])}")
    return AwsError("InvalidSignatureException" if family == "json" else "SignatureDoesNotMatch", message, 403)


def _incomplete(family, d):
    if family == "s3":
        if d.get("presigned"):
            return AwsError("AuthorizationQueryParametersError",
                            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                            "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.", 400)
        return AwsError("AuthorizationHeaderMalformed", "The authorization header is malformed; the Credential is "
                        "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".", 400)
    message = ("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"
               if d.get("date") else
               f"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. "
               f"Authorization={d['auth']}")
    return AwsError("IncompleteSignatureException" if family == "json" else "IncompleteSignature", message, 403)


def _unsupported(family, d):
    if family == "s3":
        return AwsError("InvalidRequest", "The authorization mechanism you have provided is not supported. Please "
                        "use AWS4-HMAC-SHA256.", 400)
    return AwsError("IncompleteSignatureException" if family == "json" else "IncompleteSignature",
                    "Only AWS4-HMAC-SHA256 signatures are supported.", 403)


def _v2_date(family, d):
    return AwsError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header", 403)


def _missing_sha256(family, d):
    return AwsError("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400)


_ERRORS = {"missing": _missing, "unknown_key": _unknown_key, "bad_token": _bad_token,
           "expired_token": _expired_token, "mismatch": _mismatch, "skewed": _skewed, "expired_url": _expired_url,
           "incomplete": _incomplete, "unsupported": _unsupported, "missing_sha256": _missing_sha256,
           "v2_date": _v2_date, "unsigned_headers": _unsigned_headers, "bad_credential": _bad_credential,
           "v2_incomplete": _v2_incomplete}
