"""Amazon S3: buckets and their configurations, objects streamed to and from disk, versions,
multipart uploads, object lock, lifecycle expiration and event notifications.

HTTP quirks (addressing, presigned URLs, CORS, websites, POST uploads, error bodies, streaming)
live in front.py; this module gets parsed parameters and returns output dicts. Object bodies are
blobs; a GetObject answer carries a BlobBody that the front streams out.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import functools
import hashlib
import ipaddress
import logging
import quopri
import re
import secrets
import time
import zoneinfo
from contextlib import contextmanager
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import orjson

from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.s3 import access, sse_c
from overcast.services.s3 import acl as acls
from overcast.services.s3 import checksums as ck
from overcast.services.s3.blobio import (
    INLINE_DB,
    BlobBody,
    BlobWriter,
    Payload,
    concatenate,
    copy_range_into,
)
from overcast.services.s3.notifications import Notifier
from overcast.services.s3.store import Bucket, Obj, S3Store
from overcast.storage import BlobStore
from overcast.storage.coordination import WorkKind

log = logging.getLogger("overcast.s3")

UTC = datetime.UTC
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# headers stored with an object and answered on GET/HEAD: (param name, output name)
_STORED_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl",
                   "Expires", "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId",
                   "BucketKeyEnabled", "StorageClass")
# the storage classes of a general purpose bucket (OUTPOSTS, SNOW, EXPRESS_ONEZONE... are other kinds')
_STORAGE_CLASSES = frozenset(("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                              "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"))
# archived: not readable until restored (RestoreObject, which overcast does not implement)
_ARCHIVED = frozenset(("GLACIER", "DEEP_ARCHIVE"))
# bucket configurations stored as given: operation suffix -> (config key, error code, message)
def _bucket_tag_set(bucket) -> list:
    """A bucket's TagSet as PutBucketTagging stored it ({"Tagging": {"TagSet": [...]}})."""
    return ((bucket.config.get("tagging") or {}).get("Tagging") or {}).get("TagSet") or []


CONFIGS = {
    "Tagging": ("tagging", "NoSuchTagSet", "The TagSet does not exist"),
    "Cors": ("cors", "NoSuchCORSConfiguration", "The CORS configuration does not exist"),
    "Policy": ("policy", "NoSuchBucketPolicy", "The bucket policy does not exist"),
    "LifecycleConfiguration": ("lifecycle", "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"),
    "Encryption": ("encryption", None, None),
    "OwnershipControls": ("ownership", None, None),
    "Website": ("website", "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"),
    "Accelerate": ("accelerate", None, None),
    "RequestPayment": ("request_payment", None, None),
    "Logging": ("logging", None, None),
    "Replication": ("replication", "ReplicationConfigurationNotFoundError", "The replication configuration was not found"),
}
_DEFAULTS = {
    "encryption": {"ServerSideEncryptionConfiguration": {"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}},
    "ownership": {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
    "public_access_block": {"PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}},
    "accelerate": {},
    "request_payment": {"Payer": "BucketOwner"},
    "logging": {},
}
# defaults a bucket is created with that DeleteX really removes: GetX then answers this error
_DELETABLE_DEFAULTS = {
    "ownership": ("OwnershipControlsNotFoundError", "The bucket ownership controls were not found"),
    "public_access_block": ("NoSuchPublicAccessBlockConfiguration",
                            "The public access block configuration was not found"),
}
_OBJECT_OWNERSHIP = ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced")


def now() -> float:
    return time.time()


def etag_of(md5_digest: bytes) -> str:
    return f'"{md5_digest.hex()}"'


_VERSION_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"


def new_version_id() -> str:
    """32 characters of letters, digits, "." and "_", as S3's version ids are; the last 4 check the
    first 28, so that an id S3 never made is told apart from one that is gone (AWS answers
    InvalidArgument for the first, as its own ids check themselves)."""
    body = "".join(secrets.choice(_VERSION_ALPHABET) for _ in range(28))
    return body + _version_check(body)


def _version_check(body: str) -> str:
    digest = hashlib.sha256(b"s3-version:" + body.encode()).digest()
    return "".join(_VERSION_ALPHABET[b % 64] for b in digest[:4])


def made_version_id(version_id: str) -> bool:
    """Whether an id that names no version could be one of ours (else it is malformed)."""
    return len(version_id) == 32 and _version_check(version_id[:28]) == version_id[28:]


def to_ts(value: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(value, UTC)


def listed_ts(value: float) -> datetime.datetime:
    """A time in a listing (ListObjects(V2), ListObjectVersions, ListMultipartUploads, ListParts):
    S3 lists them in whole seconds (`2023-11-15T12:02:40.000Z`), as AWS's recorded answers show."""
    return datetime.datetime.fromtimestamp(int(value), UTC)


def no_such_bucket(name: str) -> AwsError:
    return AwsError("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=name)


def no_such_key(key: str) -> AwsError:
    return AwsError("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def no_such_upload(upload_id: str) -> AwsError:
    return AwsError("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the "
                    "upload may have been aborted or completed.", 404, UploadId=upload_id)


def precondition_failed(condition: str) -> AwsError:
    return AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412,
                    Condition=condition)


def malformed_xml() -> AwsError:
    return AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                    "published schema")


_NO_VALUE = object()


def invalid_argument(message: str, name: str | None = None, value=None) -> AwsError:
    """InvalidArgument; with `value=_NO_VALUE` the error names the argument without its value, as
    S3 answers for some headers."""
    fields = {}
    if name is not None:
        fields = {"ArgumentName": name}
        if value is not _NO_VALUE:
            fields["ArgumentValue"] = "" if value is None else str(value)
    return AwsError("InvalidArgument", message, 400, **fields)


def validate_bucket_name(name: str) -> None:
    ok = bool(_BUCKET_NAME.match(name)) and ".." not in name and ".-" not in name and "-." not in name
    if ok and not (name.startswith("xn--") or name.startswith("sthree-") or name.endswith("-s3alias")
                   or name.endswith("--ol-s3") or name.endswith(".mrap") or name.endswith("--x-s3")):
        try:
            ipaddress.IPv4Address(name)
        except ValueError:
            return
    raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400, BucketName=name)


def _etag_matches(etag: str, condition: str) -> bool:
    bare = etag.strip('"')
    for item in condition.split(","):
        item = item.strip()
        if item == "*" or item.strip('"') == bare or item.removeprefix("W/").strip('"') == bare:
            return True
    return False


def _encode(value: str | None, url: bool):
    if value is None or not url:
        return value
    return quote_plus(value, safe="/")


class S3Provider(Provider):
    service = "s3"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = S3Store(self.db)
        self.store.forget_bucket = providers.coordination.cache("s3-buckets", self.store.drop_bucket, self.store.forget)
        self.notifier = Notifier(self)
        self._orphans: list[str] | None = None  # blob files to delete once _atomic's transaction commits
        self._reaper: asyncio.TimerHandle | None = None
        # On a cluster, lifecycle expiry runs on the one node holding the lease "s3:lifecycle"
        # (storage/coordination.py); the others tell it when a bucket's rules change (channel
        # "s3"). One node: it is this node's.
        coordination = providers.coordination
        self._coordination = coordination
        self._channel = coordination.channel("s3")
        self._reaps = self._channel is None
        self._lifecycle = WorkKind("s3", lambda: ("s3:lifecycle",), self._take_lifecycle, self._give_lifecycle)
        if self._channel is not None:
            self._channel.subscribe(self._lifecycle_changed, self._lifecycle_changed)
            coordination.on_nodes_gone(lambda: self.notifier.spawn(self.notifier.take_over()))

    async def start(self) -> None:
        self._kms = await self.providers.get("kms")  # the keys of SSE-KMS objects
        if self._channel is not None:
            self._coordination.register(self._lifecycle)
            await self.notifier.take_over()  # the notifications dead nodes left undelivered
            return
        self._schedule_reaper(1.0)
        self.notifier.resume()  # notifications committed before a crash or a stop

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None

    def reset(self) -> None:
        """After `overcast reset` deleted every row: drop the cached buckets and the bodies."""
        self.store.forget()
        self.blobs.clear("s3")

    # -- helpers -------------------------------------------------------------------------------

    def _bucket(self, name: str) -> Bucket:
        bucket = self.store.bucket(name) if name else None
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    @contextmanager
    def _atomic(self):
        """One transaction for an object write and the notifications it emits (their outbox rows
        commit with it, see Notifier.emit). Body files the write orphans are deleted only once it
        has committed: a rollback must find them still there. No await inside."""
        if self._orphans is not None:  # nested: the outermost block commits and deletes
            yield
            return
        self._orphans = orphans = []
        try:
            with self.store.transaction():
                yield
        finally:
            self._orphans = None
        self._delete_blobs(orphans)

    def _delete_blobs(self, keys) -> None:
        if self._orphans is not None:
            self._orphans.extend(keys)
            return
        for key in keys:
            if key and not self.store.blob_in_use(key):
                self.blobs.delete(key)

    def _object(self, bucket: Bucket, key: str, version_id: str | None, method: str = "GET",
                refuse_marker: bool = False) -> Obj:
        """The object (version) a request names. `refuse_marker`: a latest delete marker is 405
        MethodNotAllowed rather than NoSuchKey (tagging and PutObjectAcl, AWS's recorded answers)."""
        if version_id is not None:
            # a bucket never versioned has only "null" versions: any other id is malformed to S3
            if version_id != "null" and (not bucket.versioning or not _valid_version_id(version_id)):
                raise invalid_argument("Invalid version id specified", "versionId", version_id)
            obj = self.store.version(bucket.name, key, version_id)
            if obj is None:
                raise AwsError("NoSuchVersion", "The specified version does not exist.", 404, Key=key,
                               VersionId=version_id)
            if obj.delete_marker:  # a delete marker can only be deleted (Allow, as AWS answers)
                raise AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405,
                               Method=method, ResourceType="DeleteMarker",
                               _headers={"x-amz-delete-marker": "true", "x-amz-version-id": obj.version_id,
                                         "Last-Modified": _http_date(obj.modified), "Allow": "DELETE"})
            return obj
        obj = self.store.latest(bucket.name, key)
        if obj is None:
            raise no_such_key(key)
        if obj.delete_marker and refuse_marker:
            raise AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405,
                           Method=method, ResourceType="DeleteMarker",
                           _headers={"x-amz-delete-marker": "true", "x-amz-version-id": obj.version_id})
        if obj.delete_marker:
            raise AwsError("NoSuchKey", "The specified key does not exist.", 404, Key=key,
                           _headers={"x-amz-delete-marker": "true", "x-amz-version-id": obj.version_id})
        return obj

    # -- the API other services use (Lambda code from S3, Firehose output later) ---------------

    async def read_object(self, account: str, region: str, bucket: str, key: str,
                          version_id: str | None = None) -> bytes:
        """An object's body (NoSuchBucket / NoSuchKey / NoSuchVersion as AwsError) for a service
        acting for `account` (Lambda code, Athena and Glue reads): another account's bucket only
        when its policy allows that account s3:GetObject (AccessDenied otherwise)."""
        found = self._bucket(bucket)
        access.check_account(account, found, key)
        obj = self._object(found, key, version_id)
        if obj.blob is None:
            return self.store.data(obj)
        return await asyncio.to_thread(self.blobs.get, obj.blob)

    async def write_object(self, account: str, region: str, bucket: str, key: str, data: bytes,
                           content_type: str = "binary/octet-stream", metadata: dict | None = None) -> dict:
        """Store an object as PutObject would (notifications included) for a service acting for
        `account` (Firehose, Athena, Step Functions output); returns ETag and VersionId. Another
        account's bucket only when its policy allows that account s3:PutObject."""
        from overcast.services.s3.notifications import _internal_ctx

        found = self.store.bucket(bucket) if bucket else None
        if found is not None:
            access.check_account(account, found, key, "s3:PutObject")
        ctx = _internal_ctx("s3", account, region, "PutObject")
        return await self.put_object(ctx, {"Bucket": bucket, "Key": key, "Body": Payload(None, data),
                                           "ContentType": content_type, "Metadata": metadata})

    # -- buckets -------------------------------------------------------------------------------

    def create_bucket(self, ctx, params):
        name = params["Bucket"]
        validate_bucket_name(name)
        config = params.get("CreateBucketConfiguration") or {}
        constraint = config.get("LocationConstraint")
        region = ctx.region
        if region == "us-east-1":
            if constraint == "us-east-1":
                raise AwsError("InvalidLocationConstraint", "The specified location-constraint is not valid", 400,
                               LocationConstraint=constraint)
            if constraint:
                if not _REGION.match(constraint) and constraint != "EU":
                    raise AwsError("InvalidLocationConstraint", "The specified location-constraint is not valid",
                                   400, LocationConstraint=constraint)
                region = "eu-west-1" if constraint == "EU" else constraint
        elif not constraint:
            raise AwsError("IllegalLocationConstraintException", "The unspecified location constraint is "
                           "incompatible for the region specific endpoint this request was sent to.", 400)
        elif constraint != region and not (constraint == "EU" and region == "eu-west-1"):
            # outside us-east-1 any other constraint, a region's or not, is this error (AWS's recorded answers)
            raise AwsError("IllegalLocationConstraintException", f"The {constraint} location constraint is "
                           "incompatible for the region specific endpoint this request was sent to.", 400)
        tags = config.get("Tags")
        if tags:
            if any(isinstance(t, dict) and (t.get("Key") or "").startswith("aws:") for t in tags):
                raise AwsError("InvalidTag", 'User-defined tag keys can\'t start with "aws:". This prefix is reserved '
                               'for system tags. Remove "aws:" from your tag keys and try again.')
            _check_tag_set(tags)
        existing = self.store.bucket(name)
        if existing is not None:
            if existing.account != ctx.account:
                raise AwsError("BucketAlreadyExists", "The requested bucket name is not available. The bucket "
                               "namespace is shared by all users of the system. Please select a different name "
                               "and try again.", 409, BucketName=name)
            if existing.region == "us-east-1" and ctx.region == "us-east-1" and not tags:
                return {"Location": f"/{name}", "BucketArn": f"arn:aws:s3:::{name}"}  # us-east-1 answers 200 to its owner (AWS's legacy rule)
            raise AwsError("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded "
                           "and you already own it.", 409, BucketName=name)
        lock = bool(params.get("ObjectLockEnabledForBucket"))
        bucket = Bucket(name, ctx.account, region, now(), "Enabled" if lock else "", lock, {})
        if lock:
            bucket.config["object_lock"] = {"ObjectLockEnabled": "Enabled"}
        if tags:  # CreateBucketConfiguration's Tags are the bucket's tag set
            bucket.config[CONFIGS["Tagging"][0]] = {"Tagging": {"TagSet": [{"Key": t["Key"], "Value": t["Value"]}
                                                                           for t in tags]}}
        if constraint == "EU":  # eu-west-1's legacy name: GetBucketLocation answers it as given
            bucket.config["location"] = "EU"
        ownership = params.get("ObjectOwnership")
        if ownership is not None and ownership not in _OBJECT_OWNERSHIP:
            raise invalid_argument(f"Invalid x-amz-object-ownership header: {ownership}", "x-amz-object-ownership",
                                   _NO_VALUE)
        if ownership:
            bucket.config["ownership"] = {"OwnershipControls": {"Rules": [{"ObjectOwnership": ownership}]}}
        self._bucket_acl_from(bucket, params)
        self.store.create_bucket(bucket)
        location = f"/{name}" if region == "us-east-1" else f"http://{name}.s3.localhost.localstack.cloud:4566/"
        return {"Location": location, "BucketArn": f"arn:aws:s3:::{name}"}

    def head_bucket(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        return {"BucketRegion": bucket.region, "BucketLocationType": None, "AccessPointAlias": False,
                "BucketArn": f"arn:aws:s3:::{bucket.name}"}

    def delete_bucket(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        if not self.store.bucket_is_empty(bucket.name):
            message = "The bucket you tried to delete is not empty"
            if bucket.versioning:  # AWS's words for a versioned bucket
                message += ". You must delete all versions in the bucket."
            raise AwsError("BucketNotEmpty", message, 409, BucketName=bucket.name)
        self.store.delete_bucket(bucket.name)
        return {}

    def list_buckets(self, ctx, params):
        limit = params.get("MaxBuckets") or 10_000
        if limit < 1 or limit > 10_000:
            raise invalid_argument("Argument max-buckets must be an integer between 1 and 10000", "max-buckets", limit)
        after = ""
        token = params.get("ContinuationToken")
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise invalid_argument("The continuation token provided is incorrect", "continuation-token",
                                       token) from None
        region = params.get("BucketRegion")
        if region is not None and region not in _aws_regions():
            raise invalid_argument(f"Argument value {region} is not a valid AWS Region", "bucket-region", _NO_VALUE)
        prefix = params.get("Prefix") or ""
        rows = self.store.buckets(ctx.account, after, prefix, params.get("BucketRegion"), limit + 1)
        out = {
            "Buckets": [{"Name": b.name, "CreationDate": listed_ts(b.created), "BucketRegion": b.region,
                         "BucketArn": f"arn:aws:s3:::{b.name}"} for b in rows[:limit]],
            "Owner": _owner(ctx.account),
            "Prefix": params.get("Prefix"),
        }
        if len(rows) > limit:
            out["ContinuationToken"] = base64.urlsafe_b64encode(rows[limit - 1].name.encode()).decode()
        return out

    def get_bucket_location(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        return {"LocationConstraint": None if bucket.region == "us-east-1" else
                bucket.config.get("location", bucket.region)}

    def put_bucket_versioning(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        status = (params.get("VersioningConfiguration") or {}).get("Status")
        if status is None:  # a configuration without Status (AWS's recorded answer)
            raise AwsError("IllegalVersioningConfigurationException", "The Versioning element must be specified")
        if status not in ("Enabled", "Suspended"):
            raise malformed_xml()
        if bucket.object_lock and status == "Suspended":
            raise AwsError("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the "
                           "versioning state cannot be changed.", 409)
        bucket.versioning = status
        self.store.save_bucket(bucket)
        return {}

    def get_bucket_versioning(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        return {"Status": bucket.versioning or None}

    def get_bucket_acl(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        return acls.answered(bucket, bucket.config.get("acl"), _owner(bucket.account)["ID"])

    def put_bucket_acl(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        if not self._bucket_acl_from(bucket, params, body=True):
            raise acls.missing(ctx.request.body)
        self.store.save_bucket(bucket)
        return {}

    def _bucket_acl_from(self, bucket: Bucket, params, body: bool = False) -> bool:
        """Keep the ACL a request (CreateBucket; PutBucketAcl with `body`) sets on the bucket, in its
        configuration, if its settings allow it; whether the request set one. With ACLs disabled the
        owner-only ACL it may set is the default: kept as no ACL."""
        owner_id = _owner(bucket.account)["ID"]
        acl = acls.from_request(params, owner_id, owner_id, body=body)
        if acl is None:
            return False
        if not body:  # CreateBucket: its ACL against the Object Ownership it creates the bucket with
            bucket.config["acl"] = acl
            acls.check_ownership_change(bucket, acls.ownership(bucket), owner_id)
        else:
            acls.check_settable(bucket, acl, owner_id)
        if acls.ownership(bucket) == "BucketOwnerEnforced":
            bucket.config.pop("acl", None)
        else:
            bucket.config["acl"] = acl
        return True

    def get_bucket_policy_status(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        policy = bucket.config.get("policy", {}).get("Policy") or ""
        public = '"*"' in policy.replace(" ", "") and '"Allow"' in policy
        return {"PolicyStatus": {"IsPublic": public}}

    # generic stored configurations --------------------------------------------------------------

    def _put_config(self, ctx, params, key: str, payload_name: str):
        bucket = self._bucket(params["Bucket"])
        value = params.get(payload_name)
        if value is None:
            raise malformed_xml()
        self._check_config(key, value)
        if key == "ownership":
            acls.check_ownership_change(bucket, value["Rules"][0]["ObjectOwnership"], _owner(bucket.account)["ID"])
        bucket.config[key] = {payload_name: plain(value)}
        self.store.save_bucket(bucket)
        if key == "lifecycle":
            self._schedule_reaper(0.05)
        return {}

    def _get_config(self, ctx, params, key: str, error: str | None, message: str | None, payload_name: str):
        bucket = self._bucket(params["Bucket"])
        stored = bucket.config.get(key)
        if stored is None:
            if key in _DELETABLE_DEFAULTS and key in bucket.config:  # deleted: the default is gone too
                error, message = _DELETABLE_DEFAULTS[key]
            if error is not None:
                raise AwsError(error, message, 404, BucketName=bucket.name)
            stored = _DEFAULTS.get(key, {})
        value = stored.get(payload_name, stored)
        return value

    def _delete_config(self, ctx, params, key: str):
        bucket = self._bucket(params["Bucket"])
        if key in _DELETABLE_DEFAULTS:  # kept as None: a bucket without the key has the default
            bucket.config[key] = None
        else:
            bucket.config.pop(key, None)
        self.store.save_bucket(bucket)
        return {}

    def _check_config(self, key: str, value) -> None:
        if key == "policy":
            try:
                doc = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'") from None
            if not isinstance(doc, dict) or "Statement" not in doc:
                raise AwsError("MalformedPolicy", "Missing required field Statement")
        elif key == "tagging":
            tags = value.get("TagSet") or []
            _check_tag_set(tags)
            if len(tags) > 50:
                raise AwsError("BadRequest", "Bucket tag count cannot be greater than 50")
        elif key == "cors":
            rules = value.get("CORSRules") or []
            if not rules or len(rules) > 100:
                raise malformed_xml()
            for rule in rules:
                for method in rule.get("AllowedMethods") or []:
                    if method not in ("GET", "PUT", "HEAD", "POST", "DELETE"):
                        raise AwsError("InvalidRequest", "Found unsupported HTTP method in CORS config. "
                                       f"Unsupported method is {method}")  # AWS's recorded answer
        elif key == "lifecycle":
            for rule in value.get("Rules") or []:
                _check_lifecycle_rule(rule)
        elif key == "ownership":
            rules = value.get("Rules") or []
            if len(rules) != 1 or rules[0].get("ObjectOwnership") not in _OBJECT_OWNERSHIP:
                raise malformed_xml()
        elif key == "encryption":
            rules = value.get("Rules") or []
            if len(rules) != 1:  # exactly one rule (AWS's recorded answers)
                raise malformed_xml()
            default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
            if default.get("KMSMasterKeyID") and default.get("SSEAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
                raise invalid_argument("a KMSMasterKeyID is not applicable if the default sse algorithm is not "
                                       "aws:kms or aws:kms:dsse", "ApplyServerSideEncryptionByDefault", _NO_VALUE)
        elif key == "website":
            check_website(value)

    def put_public_access_block(self, ctx, params):
        return self._put_config(ctx, params, "public_access_block", "PublicAccessBlockConfiguration")

    def get_public_access_block(self, ctx, params):
        value = self._get_config(ctx, params, "public_access_block", None, None, "x")
        # a flag the configuration left out is off (AWS's recorded answers)
        flags = value.get("PublicAccessBlockConfiguration") or {}
        return {"PublicAccessBlockConfiguration": {name: bool(flags.get(name)) for name in (
            "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}}

    def delete_public_access_block(self, ctx, params):
        return self._delete_config(ctx, params, "public_access_block")

    def put_object_lock_configuration(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        config = params.get("ObjectLockConfiguration")
        if config is None or config.get("ObjectLockEnabled") != "Enabled":
            raise malformed_xml()
        if "Rule" in config and not (config["Rule"] or {}).get("DefaultRetention"):
            raise malformed_xml()  # a Rule must hold a DefaultRetention (AWS's recorded answers)
        if not bucket.object_lock:
            if bucket.versioning != "Enabled":
                raise AwsError("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object "
                               "Lock configuration", 409)
            bucket.object_lock = True
        rule = (config.get("Rule") or {}).get("DefaultRetention")
        if rule is not None:
            if rule.get("Mode") not in ("GOVERNANCE", "COMPLIANCE") or (("Days" in rule) == ("Years" in rule)):
                raise malformed_xml()
        bucket.config["object_lock"] = config
        self.store.save_bucket(bucket)
        return {}

    def get_object_lock_configuration(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        config = bucket.config.get("object_lock")
        if not bucket.object_lock or config is None:
            raise AwsError("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for "
                           "this bucket", 404, BucketName=bucket.name)
        return {"ObjectLockConfiguration": config}

    # notifications ----------------------------------------------------------------------------

    async def put_bucket_notification_configuration(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        config = params.get("NotificationConfiguration") or {}
        await self.notifier.validate(bucket, config, bool(params.get("SkipDestinationValidation")))
        bucket.config["notification"] = config
        self.store.save_bucket(bucket)
        if not params.get("SkipDestinationValidation"):
            await self.notifier.test_event(bucket, config)
        return {}

    def get_bucket_notification_configuration(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        return bucket.config.get("notification") or {}

    # -- stored bucket configurations (Put/Get/Delete, written out from CONFIGS) --------------

    def put_bucket_tagging(self, ctx, params):
        given = (params.get('Tagging') or {}).get('TagSet') or []
        refused = reserved_tags.refused(ctx, [t.get('Key') or '' for t in given])
        if refused:
            raise AwsError('InvalidTag', 'System tags cannot be added/updated by requester', TagKey=refused[0])
        if not given and ctx.caller != 'cloudformation' and not self._reserved_bucket_tags(params['Bucket'], set()):
            # an empty TagSet is the same as DeleteBucketTagging (AWS's recorded answers)
            return self._delete_config(ctx, params, CONFIGS['Tagging'][0])
        if ctx.caller != 'cloudformation':  # the set replaces the user's tags, not AWS's (aws:*), which stay
            given = given + self._reserved_bucket_tags(params['Bucket'], {t.get('Key') for t in given})
            params = {**params, 'Tagging': {**params['Tagging'], 'TagSet': given}}
        return self._put_config(ctx, params, CONFIGS['Tagging'][0], 'Tagging')

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's buckets in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        out = []
        for bucket in self.store.buckets(ctx.account, "", "", ctx.region, 1_000_000):
            tags = _bucket_tag_set(bucket)
            if tags:
                out.append((f"arn:aws:s3:::{bucket.name}", {t["Key"]: t["Value"] for t in tags}))
        return out

    def change_bucket_tags(self, ctx, name: str, add: dict, remove: list) -> None:
        """Add and remove some of a bucket's tags (the Tagging API's TagResources and UntagResources:
        PutBucketTagging replaces the whole set), through PutBucketTagging's own checks. A bucket of
        another account or region is not found, as the Tagging API is regional."""
        bucket = self._bucket(name)
        if bucket.account != ctx.account or bucket.region != ctx.region:
            raise no_such_bucket(name)
        tags = {t["Key"]: t["Value"] for t in _bucket_tag_set(bucket) if not reserved_tags.is_reserved(t["Key"])}
        tags.update(add)
        for key in remove:
            tags.pop(key, None)
        self.put_bucket_tagging(ctx, {"Bucket": name, "Tagging": {"TagSet": [{"Key": k, "Value": v}
                                                                             for k, v in tags.items()]}})

    def _reserved_bucket_tags(self, name: str, given: set) -> list:
        stored = self._bucket(name).config.get(CONFIGS['Tagging'][0]) or {}
        return [t for t in (stored.get('Tagging') or {}).get('TagSet') or []
                if reserved_tags.is_reserved(t.get('Key') or '') and t.get('Key') not in given]

    def get_bucket_tagging(self, ctx, params):
        key, error, message = CONFIGS['Tagging']
        value = self._get_config(ctx, params, key, error, message, 'Tagging')
        return value

    def delete_bucket_tagging(self, ctx, params):
        kept = [] if ctx.caller == 'cloudformation' else self._reserved_bucket_tags(params['Bucket'], set())
        if kept:  # the aws:* tags stay
            return self._put_config(ctx, {**params, 'Tagging': {'TagSet': kept}}, CONFIGS['Tagging'][0], 'Tagging')
        return self._delete_config(ctx, params, CONFIGS['Tagging'][0])

    def put_bucket_cors(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['Cors'][0], 'CORSConfiguration')

    def get_bucket_cors(self, ctx, params):
        key, error, message = CONFIGS['Cors']
        value = self._get_config(ctx, params, key, error, message, 'CORSConfiguration')
        return value

    def delete_bucket_cors(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['Cors'][0])

    def put_bucket_policy(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['Policy'][0], 'Policy')

    def get_bucket_policy(self, ctx, params):
        key, error, message = CONFIGS['Policy']
        value = self._get_config(ctx, params, key, error, message, 'Policy')
        return {'Policy': value}

    def delete_bucket_policy(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['Policy'][0])

    def put_bucket_lifecycle_configuration(self, ctx, params):
        # the minimum object size for transitions: stored with the rules, answered on Put and Get
        size = params.get("TransitionDefaultMinimumObjectSize") or "all_storage_classes_128K"
        if size not in ("all_storage_classes_128K", "varies_by_storage_class"):
            raise AwsError("InvalidRequest", f"Invalid TransitionDefaultMinimumObjectSize found: {size}")
        key = CONFIGS['LifecycleConfiguration'][0]
        self._put_config(ctx, params, key, 'LifecycleConfiguration')
        bucket = self._bucket(params["Bucket"])
        bucket.config[key]["TransitionDefaultMinimumObjectSize"] = size
        self.store.save_bucket(bucket)
        return {"TransitionDefaultMinimumObjectSize": size}

    def get_bucket_lifecycle_configuration(self, ctx, params):
        key, error, message = CONFIGS['LifecycleConfiguration']
        value = self._get_config(ctx, params, key, error, message, 'LifecycleConfiguration')
        stored = self._bucket(params["Bucket"]).config[key]
        return {**value, "TransitionDefaultMinimumObjectSize": stored.get("TransitionDefaultMinimumObjectSize",
                                                                          "all_storage_classes_128K")}

    def delete_bucket_lifecycle(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['LifecycleConfiguration'][0])

    def put_bucket_encryption(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['Encryption'][0], 'ServerSideEncryptionConfiguration')

    def get_bucket_encryption(self, ctx, params):
        key, error, message = CONFIGS['Encryption']
        value = self._get_config(ctx, params, key, error, message, 'ServerSideEncryptionConfiguration')
        return {'ServerSideEncryptionConfiguration': value}

    def delete_bucket_encryption(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['Encryption'][0])

    def put_bucket_ownership_controls(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['OwnershipControls'][0], 'OwnershipControls')

    def get_bucket_ownership_controls(self, ctx, params):
        key, error, message = CONFIGS['OwnershipControls']
        value = self._get_config(ctx, params, key, error, message, 'OwnershipControls')
        return {'OwnershipControls': value}

    def delete_bucket_ownership_controls(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['OwnershipControls'][0])

    def put_bucket_website(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['Website'][0], 'WebsiteConfiguration')

    def get_bucket_website(self, ctx, params):
        key, error, message = CONFIGS['Website']
        value = self._get_config(ctx, params, key, error, message, 'WebsiteConfiguration')
        return value

    def delete_bucket_website(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['Website'][0])

    def put_bucket_accelerate_configuration(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['Accelerate'][0], 'AccelerateConfiguration')

    def get_bucket_accelerate_configuration(self, ctx, params):
        key, error, message = CONFIGS['Accelerate']
        value = self._get_config(ctx, params, key, error, message, 'AccelerateConfiguration')
        return value

    def put_bucket_request_payment(self, ctx, params):
        return self._put_config(ctx, params, CONFIGS['RequestPayment'][0], 'RequestPaymentConfiguration')

    def get_bucket_request_payment(self, ctx, params):
        key, error, message = CONFIGS['RequestPayment']
        value = self._get_config(ctx, params, key, error, message, 'RequestPaymentConfiguration')
        return value

    def put_bucket_logging(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        enabled = (params.get("BucketLoggingStatus") or {}).get("LoggingEnabled")
        if enabled:  # the target must exist, in the source's region (AWS's recorded answers)
            target = self.store.bucket(enabled.get("TargetBucket") or "")
            if target is None:
                raise AwsError("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                               TargetBucket=enabled.get("TargetBucket"))
            if target.region != bucket.region:
                where = {"TargetBucketLocation": target.region}
                if bucket.region != "us-east-1":
                    where = {"SourceBucketLocation": bucket.region, **where}
                raise AwsError("CrossLocationLoggingProhibitted", "Cross S3 location logging not allowed. ", 403,
                               **where)
        return self._put_config(ctx, params, CONFIGS['Logging'][0], 'BucketLoggingStatus')

    def get_bucket_logging(self, ctx, params):
        key, error, message = CONFIGS['Logging']
        value = self._get_config(ctx, params, key, error, message, 'BucketLoggingStatus')
        return value

    def put_bucket_replication(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        config = params.get("ReplicationConfiguration") or {}
        if bucket.versioning != "Enabled":
            raise AwsError("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication "
                           "configuration")
        rules = config.get("Rules") or []
        if not rules:
            raise malformed_xml()
        for rule in rules:
            # a destination that is missing or not versioned: one message for both (AWS's recorded answers)
            name = ((rule.get("Destination") or {}).get("Bucket") or "").removeprefix("arn:aws:s3:::")
            destination = self.store.bucket(name)
            if destination is None or destination.versioning != "Enabled":
                raise AwsError("InvalidRequest", "Destination bucket must have versioning enabled.")
            if not rule.get("ID"):  # S3 names a rule given without an ID
                rule["ID"] = base64.b64encode(secrets.token_bytes(36)).decode()
        return self._put_config(ctx, params, CONFIGS['Replication'][0], 'ReplicationConfiguration')

    def get_bucket_replication(self, ctx, params):
        key, error, message = CONFIGS['Replication']
        value = self._get_config(ctx, params, key, error, message, 'ReplicationConfiguration')
        return {'ReplicationConfiguration': value}

    def delete_bucket_replication(self, ctx, params):
        return self._delete_config(ctx, params, CONFIGS['Replication'][0])

    # -- objects: writing ----------------------------------------------------------------------

    def _requested_checksums(self, ctx, params) -> tuple[list[str], dict[str, str | None], str | None]:
        """(algorithms to compute, expected values by algorithm (None: from the trailer), trailer
        header name)."""
        expected: dict[str, str | None] = {}
        for alg in ck.ALGORITHMS:
            value = params.get(f"Checksum{alg}")
            if value is not None:
                expected[alg] = value
        headers = ctx.request.headers
        trailer = headers.get("x-amz-trailer", "").strip().lower() or None
        if trailer:
            if not trailer.startswith("x-amz-checksum-"):
                raise AwsError("InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
            alg = trailer[len("x-amz-checksum-"):].upper()
            if alg not in ck.ALGORITHMS:
                raise AwsError("InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
            expected.setdefault(alg, None)
        if len(expected) > 1:
            raise AwsError("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                           "not allowed.")
        for alg, value in expected.items():
            if value is not None:
                _check_checksum_format(alg, value)
        algorithms = list(expected)
        sdk = params.get("ChecksumAlgorithm")
        if sdk:
            sdk = sdk.upper()
            if sdk not in ck.ALGORITHMS:
                raise AwsError("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with "
                               "any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
            if expected and sdk not in expected:
                raise AwsError("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
            if sdk not in algorithms:
                algorithms.append(sdk)
        return algorithms, expected, trailer

    async def _receive(self, ctx, params, limit: int, default_algorithm: str | None = ck.DEFAULT_ALGORITHM,
                       inline_limit: int = 0, also: str | None = None):
        """Stream the request body to a new blob, verifying Content-MD5 and checksums. Returns
        (writer, checksums {alg: b64}); the writer is not yet committed. `also`: one more
        algorithm to compute (a part's CRC64NVME, for its upload's whole-object checksum)."""
        payload: Payload = params.get("Body")
        if not isinstance(payload, Payload):
            payload = Payload(None, payload or b"")
        algorithms, expected, _ = self._requested_checksums(ctx, params)
        if not algorithms and default_algorithm:
            algorithms = [default_algorithm]
        if also and also not in algorithms:
            algorithms = [*algorithms, also]
        md5_header = params.get("ContentMD5")
        if md5_header is not None:
            try:
                md5_expected = base64.b64decode(md5_header, validate=True)
            except (binascii.Error, ValueError):
                md5_expected = b""
            if len(md5_expected) != 16:
                await payload.drain()
                raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400, Content_MD5=md5_header)
        writer = BlobWriter(self.blobs, algorithms, inline_limit)
        await writer.write_from(payload.chunks(), limit=limit)
        try:
            decoded = ctx.request.headers.get("x-amz-decoded-content-length")
            if decoded is not None and payload.decoder is not None and decoded.isdigit() and int(decoded) != writer.size:
                raise AwsError("IncompleteBody", "You did not provide the number of bytes specified by the "
                               "Content-Length HTTP header", 400)
            if md5_header is not None and writer.md5.digest() != md5_expected:
                raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400,
                               # PutObject names it in hex, UploadPart as given (AWS's recorded answers)
                               ExpectedDigest=md5_header if ctx.operation == "UploadPart" else md5_expected.hex(),
                               CalculatedDigest=base64.b64encode(writer.md5.digest()).decode())
            sums = {}
            for alg in algorithms:
                sums[alg] = ck.b64(writer.checksum(alg))
                want = expected.get(alg)
                if alg in expected and want is None:
                    want = payload.trailers.get(f"x-amz-checksum-{alg.lower()}")
                    if want is None:
                        raise AwsError("InvalidRequest", f"x-amz-checksum-{alg.lower()} trailer not found", 400)
                    _check_checksum_format(alg, want)
                if want is not None and want != sums[alg]:
                    raise AwsError("BadDigest", f"The {alg} you specified did not match the calculated checksum.", 400)
        except BaseException:
            await asyncio.to_thread(writer.abort)
            raise
        return writer, sums

    def _check_write_conditions(self, bucket: Bucket, key: str, params, since: float | None = None) -> None:
        """If-None-Match / If-Match of a write. `since`: a multipart upload's initiation; a write of
        the key after it makes a conditional completion a 409 conflict even where the condition
        holds (AWS's recorded answers)."""
        if_none = params.get("IfNoneMatch")
        if_match = params.get("IfMatch")
        if if_none is None and if_match is None:
            return
        def not_implemented(header: str, why: str) -> AwsError:
            return AwsError("NotImplemented", "A header you provided implies functionality that is not implemented",
                            501, Header=header, additionalMessage=why)

        if if_none is not None and if_match is not None:
            raise not_implemented("If-Match,If-None-Match", "Multiple conditional request headers present in the "
                                  "request")
        if if_none is not None and if_none.strip() != "*":
            raise not_implemented("If-None-Match", "We don't accept the provided value of If-None-Match header for "
                                  "this API")
        if if_match is not None and if_match.strip() == "*":
            raise not_implemented("If-Match", "We don't accept the provided value of If-Match header for this API")
        current = self.store.latest(bucket.name, key)
        exists = current is not None and not current.delete_marker
        if if_none is not None:
            if exists:
                raise precondition_failed("If-None-Match")
        if if_match is not None:
            if not exists:
                raise no_such_key(key)
            if not _etag_matches(current.etag, if_match):
                raise precondition_failed("If-Match")
        if since is not None and current is not None and current.modified > since:
            raise AwsError("ConditionalRequestConflict", "The conditional request cannot succeed due to a conflicting "
                           "operation against this resource.", 409,
                           Condition="If-Match" if if_match is not None else "If-None-Match", Key=key)

    # -- server-side encryption ------------------------------------------------------------------

    def _kms_key(self, bucket: Bucket, given: str | None) -> str:
        """The ARN of the KMS key an SSE-KMS write or read uses: `given` (id, ARN or alias) or
        S3's AWS managed key (alias/aws/s3), in the bucket's account and region; KMS's refusal
        answered as S3 answers it (KMS.NotFoundException, KMS.DisabledException...)."""
        if given and given.startswith("arn:") and given.split(":")[3:4] != [bucket.region]:
            raise AwsError("KMS.NotFoundException", f"Invalid arn {given.split(':')[3] if given.count(':') > 3 else ''}")
        try:
            return self._kms.usable_key_arn(bucket.account, bucket.region, given or "alias/aws/s3")
        except AwsError as error:
            raise AwsError(f"KMS.{error.code}", error.message, 400) from None

    def _encryption(self, bucket: Bucket, params) -> dict:
        """How a new object is encrypted: a customer key (SSE-C, sse_c.py), else the request's
        x-amz-server-side-encryption headers, else the bucket's default encryption. SSE-KMS names a
        KMS key that must exist and be enabled; its ARN is stored and answered. (Bodies are kept as
        written: overcast's data directory is the one place they live.)"""
        algorithm = params.get("ServerSideEncryption")
        customer_key = sse_c.requested_key(params, other_encryption=algorithm)
        if customer_key is not None:
            return {"SSECustomer": sse_c.sealed(customer_key)}
        default = {}
        rules = ((bucket.config.get(CONFIGS["Encryption"][0]) or {}).get("ServerSideEncryptionConfiguration")
                 or {}).get("Rules") or []
        if rules:
            default = {**(rules[0].get("ApplyServerSideEncryptionByDefault") or {}),
                       "BucketKeyEnabled": rules[0].get("BucketKeyEnabled")}
        if algorithm is None:
            algorithm = default.get("SSEAlgorithm") or "AES256"
            key, bucket_key = default.get("KMSMasterKeyID"), default.get("BucketKeyEnabled")
        else:
            key = params.get("SSEKMSKeyId")
            from_default = default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse")
            if key is None and from_default:
                key = default.get("KMSMasterKeyID")
            bucket_key = params.get("BucketKeyEnabled")
            if bucket_key is None and from_default:
                bucket_key = default.get("BucketKeyEnabled")
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            return {"ServerSideEncryption": algorithm}
        out = {"ServerSideEncryption": algorithm, "SSEKMSKeyId": self._kms_key(bucket, key)}
        if bucket_key:
            out["BucketKeyEnabled"] = True
        return out

    @staticmethod
    def _encryption_out(meta: dict) -> dict:
        if meta.get("SSECustomer"):
            return sse_c.answer(meta)
        return {"ServerSideEncryption": meta.get("ServerSideEncryption", "AES256"),
                "SSEKMSKeyId": meta.get("SSEKMSKeyId"), "BucketKeyEnabled": meta.get("BucketKeyEnabled")}

    def _meta_from(self, bucket: Bucket, params, sums: dict, checksum_type: str | None = "FULL_OBJECT",
                   headers: bool = True) -> dict:
        """An object's stored metadata from a write's parameters; `headers`: user metadata came as
        HTTP headers (RFC 2047-decoded), not as a POST upload's form fields (kept as given)."""
        storage_class = params.get("StorageClass")
        if storage_class is not None and storage_class not in _STORAGE_CLASSES:
            raise AwsError("InvalidStorageClass", "The storage class you specified is not valid",
                           StorageClassRequested=storage_class)
        meta: dict = {}
        for name in _STORED_HEADERS:
            value = params.get(name)
            if value is None:
                continue
            if isinstance(value, datetime.datetime):
                value = value.timestamp()
            meta[name] = value
        encoding = meta.get("ContentEncoding")
        if encoding is not None:
            kept = [e.strip() for e in encoding.split(",") if e.strip() and e.strip() != "aws-chunked"]
            if kept:
                meta["ContentEncoding"] = ",".join(kept)
            else:
                del meta["ContentEncoding"]
        meta.setdefault("ContentType", "binary/octet-stream")
        for name in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled"):
            meta.pop(name, None)
        meta.update(self._encryption(bucket, params))
        if params.get("Metadata"):
            meta["Metadata"] = ({k: _rfc2047_decoded(v) for k, v in params["Metadata"].items()} if headers
                                else params["Metadata"])
        if sums:
            meta["Checksums"] = sums
            meta["ChecksumType"] = checksum_type
        tagging = params.get("Tagging")
        if tagging:
            meta["Tags"] = _parse_tagging_header(tagging)
        self._lock_meta(bucket, params, meta)
        return meta

    def _lock_meta(self, bucket: Bucket, params, meta: dict) -> None:
        mode, until, hold = params.get("ObjectLockMode"), params.get("ObjectLockRetainUntilDate"), \
            params.get("ObjectLockLegalHoldStatus")
        if (mode or until or hold) and not bucket.object_lock:
            raise AwsError("InvalidRequest", "Bucket is missing Object Lock Configuration")
        if bool(mode) != bool(until):  # the error names the header that is missing
            raise invalid_argument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                                   "supplied", "x-amz-object-lock-mode" if until else
                                   "x-amz-object-lock-retain-until-date", _NO_VALUE)
        if mode and mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise invalid_argument("Unknown wormMode directive.", "x-amz-object-lock-mode", mode)
        if mode:
            meta["Retention"] = {"Mode": mode, "RetainUntilDate": until.timestamp()}
        elif bucket.object_lock:
            rule = ((bucket.config.get("object_lock") or {}).get("Rule") or {}).get("DefaultRetention")
            if rule:
                days = rule.get("Days") or (rule.get("Years") or 0) * 365
                meta["Retention"] = {"Mode": rule["Mode"], "RetainUntilDate": now() + days * 86400}
        if hold:
            meta["LegalHold"] = hold

    def _store_new(self, bucket: Bucket, key: str, size: int, etag: str, blob: str | None, meta: dict,
                   delete_marker: bool = False, data: bytes | None = None) -> str:
        version_id = new_version_id() if bucket.versioning == "Enabled" else "null"
        orphans = self.store.put_version(bucket.name, key, version_id, delete_marker, size, etag, now(), blob, meta,
                                         data, unversioned=not bucket.versioning)
        self._delete_blobs(orphans)
        return version_id

    def _version_out(self, bucket: Bucket, version_id: str) -> str | None:
        return version_id if (bucket.versioning or version_id != "null") else None

    async def put_object(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        key = params["Key"]
        _check_key(key)
        sse_c.requested_key(params, other_encryption=params.get("ServerSideEncryption"))  # before the body
        self._check_write_conditions(bucket, key, params)
        acl = self._object_acl(ctx, bucket, params)  # before the body: a refused ACL stores nothing
        writer, sums = await self._receive(ctx, params, limit=5 * 1024 ** 3, inline_limit=INLINE_DB)
        try:
            meta = self._meta_from(bucket, params, sums)
            if acl is not None:
                meta["Acl"] = acl
            self._check_write_conditions(bucket, key, params)
        except BaseException:
            writer.abort()
            raise
        await writer.finish()
        etag = etag_of(writer.md5.digest())
        with self._atomic():
            version_id = self._store_new(bucket, key, writer.size, etag, writer.key, meta, data=writer.data)
            self.notifier.emit(bucket, "ObjectCreated:Put", key, writer.size, etag, version_id, ctx)
        # a null version (suspended versioning) is not named in PutObject's answer (AWS's recorded answers)
        out = {"ETag": etag, "VersionId": None if version_id == "null" else version_id,
               **self._encryption_out(meta),
               "ChecksumType": "FULL_OBJECT" if sums else None,  # no Size: S3 sends it for appends only
               "Expiration": self._expiration(bucket, key, writer.size, meta.get("Tags"), now())}
        for alg, value in sums.items():
            out[f"Checksum{alg}"] = value
        return out

    # -- objects: reading ----------------------------------------------------------------------

    def _object_out(self, bucket: Bucket, obj: Obj, params, checksums: bool) -> dict:
        meta = obj.meta
        out = {
            "ETag": obj.etag,
            "LastModified": to_ts(obj.modified),
            "ContentLength": obj.size,
            "AcceptRanges": "bytes",
            "VersionId": self._version_out(bucket, obj.version_id),
            "Metadata": meta.get("Metadata") or None,
            "ServerSideEncryption": None if meta.get("SSECustomer") else meta.get("ServerSideEncryption", "AES256"),
            **sse_c.answer(meta),
        }
        if obj.latest and not params.get("VersionId"):  # not for a version named (AWS's recorded answers)
            out["Expiration"] = self._expiration(bucket, obj.key, obj.size, meta.get("Tags"), obj.modified)
        for name in _STORED_HEADERS:
            if name in meta and name != "ServerSideEncryption":
                value = meta[name]
                # Expires is the header as it was given (the model's string; S3 keeps it so);
                # objects stored by earlier versions hold epoch seconds
                out[name] = _http_date(value) if name == "Expires" and not isinstance(value, str) else value
        if out.get("StorageClass") == "STANDARD":
            del out["StorageClass"]
        tags = meta.get("Tags")
        if tags:
            out["TagCount"] = len(tags)
        if "Retention" in meta:
            out["ObjectLockMode"] = meta["Retention"]["Mode"]
            out["ObjectLockRetainUntilDate"] = to_ts(meta["Retention"]["RetainUntilDate"])
        if "LegalHold" in meta:
            out["ObjectLockLegalHoldStatus"] = meta["LegalHold"]
        if meta.get("Parts"):
            out["PartsCount"] = len(meta["Parts"]) if params.get("PartNumber") else None
        number = params.get("PartNumber")
        if checksums and meta.get("Checksums") and (not number or (number == 1 and not meta.get("Parts"))):
            # part 1 of an object not uploaded in parts is the object (AWS's recorded answers)
            for alg, value in meta["Checksums"].items():
                out[f"Checksum{alg}"] = value
            out["ChecksumType"] = meta.get("ChecksumType")
        elif checksums and number and meta.get("PartChecksums") and 1 <= number <= len(meta["PartChecksums"]) and (
                meta.get("ChecksumType") == "COMPOSITE" or len(meta["PartChecksums"]) == 1):
            # a FULL_OBJECT object's part has no checksum of its own, unless it is the whole object
            # a part read answers that part's checksum and the object's checksum type (AWS's recorded answers)
            out.update(_part_checksum(meta, meta["PartChecksums"], number), ChecksumType=meta.get("ChecksumType"))
        # in the query's (alphabetical) order, which decides which bad value S3 names first
        for header, name in (("ResponseCacheControl", "CacheControl"),
                             ("ResponseContentDisposition", "ContentDisposition"),
                             ("ResponseContentEncoding", "ContentEncoding"),
                             ("ResponseContentLanguage", "ContentLanguage"), ("ResponseContentType", "ContentType"),
                             ("ResponseExpires", "Expires")):
            value = params.get(header)
            if value is not None:
                if isinstance(value, datetime.datetime):
                    value = _http_date(value.timestamp())
                elif not _latin1(value):
                    raise invalid_argument("Header value cannot be represented using ISO-8859-1.",
                                           "response-" + "-".join(re.findall("[A-Z][a-z]*", name)).lower(), value)
                out[name] = value
        return out

    def _check_read_conditions(self, obj: Obj, params) -> None:
        modified = int(obj.modified)
        headers = {"ETag": obj.etag, "Last-Modified": _http_date(obj.modified)}
        if_match, if_unmodified = params.get("IfMatch"), params.get("IfUnmodifiedSince")
        if_none, if_modified = params.get("IfNoneMatch"), params.get("IfModifiedSince")
        if if_match is not None:
            if not _etag_matches(obj.etag, if_match):
                raise precondition_failed("If-Match")
        elif if_unmodified is not None and modified > if_unmodified.timestamp():
            raise precondition_failed("If-Unmodified-Since")
        if if_none is not None:
            if _etag_matches(obj.etag, if_none):
                raise AwsError("NotModified", "Not Modified", 304, _headers=headers)
        elif if_modified is not None and modified <= if_modified.timestamp() <= time.time():
            # a date in the future is ignored (RFC 7232 3.3; AWS's recorded answers)
            raise AwsError("NotModified", "Not Modified", 304, _headers=headers)

    def _read(self, ctx, params, head: bool):
        bucket = self._bucket(params["Bucket"])
        key = params["Key"]
        obj = self._object(bucket, key, params.get("VersionId"), "HEAD" if head else "GET")
        sse_c.check_read(obj.meta, params)
        self._check_read_conditions(obj, params)
        if not head:
            self._check_readable(obj)
            if obj.meta.get("SSEKMSKeyId"):  # decrypting needs the key enabled (KMS.DisabledException...)
                self._kms_key(bucket, obj.meta["SSEKMSKeyId"])
        out = self._object_out(bucket, obj, params, (params.get("ChecksumMode") or "").upper() == "ENABLED")
        size = obj.size
        start, length = 0, size
        part_number = params.get("PartNumber")
        range_header = params.get("Range")
        if part_number is not None and range_header:
            raise AwsError("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
        if part_number is not None:
            parts = obj.meta.get("Parts") or [size]
            if part_number < 1 or part_number > len(parts):
                if part_number == 1:
                    parts = [size]
                else:
                    raise AwsError("InvalidPartNumber", "The requested partnumber is not satisfiable", 416,
                                   PartNumberRequested=part_number, ActualPartCount=len(parts))
            start = sum(parts[:part_number - 1])
            length = parts[part_number - 1]
            if obj.meta.get("Parts"):
                out["PartsCount"] = len(parts)
            # a part read is a 206 with its range, part 1 of a single-part object too (AWS's recorded answers)
            out["ContentRange"] = f"bytes {start}-{start + length - 1}/{size}"
        elif range_header:
            parsed = _parse_range(range_header, size)
            if parsed is not None:
                start, length = parsed
                out["ContentRange"] = f"bytes {start}-{start + length - 1}/{size}"
        out["ContentLength"] = length
        if "ContentRange" in out and length != size and not part_number:  # a part of the body: the whole object's checksums do not
            # apply (a range that covers it all keeps them, as AWS's recorded answers show)
            for alg in ck.ALGORITHMS:
                out.pop(f"Checksum{alg}", None)
            out.pop("ChecksumType", None)
        if not head:
            if obj.blob:
                out["Body"] = BlobBody(self.blobs, obj.blob, start, length)
            else:
                out["Body"] = self.store.data(obj)[start:start + length]
        return out

    def get_object(self, ctx, params):
        return self._read(ctx, params, head=False)

    def _check_readable(self, obj: Obj) -> None:
        storage_class = obj.meta.get("StorageClass")
        if storage_class in _ARCHIVED:  # HeadObject answers; the body waits for a restore
            raise AwsError("InvalidObjectState", "The operation is not valid for the object's storage class", 403,
                           StorageClass=storage_class)

    def head_object(self, ctx, params):
        return self._read(ctx, params, head=True)

    def get_object_attributes(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        obj = self._object(bucket, params["Key"], params.get("VersionId"))
        sse_c.check_read(obj.meta, params)
        wanted = set(params.get("ObjectAttributes") or [])
        out = {"LastModified": to_ts(obj.modified), "VersionId": self._version_out(bucket, obj.version_id)}
        if "ETag" in wanted:
            out["ETag"] = obj.etag.strip('"')
        if "ObjectSize" in wanted:
            out["ObjectSize"] = obj.size
        if "StorageClass" in wanted:
            out["StorageClass"] = obj.meta.get("StorageClass", "STANDARD")
        if "Checksum" in wanted and obj.meta.get("Checksums"):
            # without a COMPOSITE checksum's "-N" part count here (AWS's recorded answers)
            out["Checksum"] = {f"Checksum{alg}": v.split("-")[0] for alg, v in obj.meta["Checksums"].items()}
            out["Checksum"]["ChecksumType"] = obj.meta.get("ChecksumType")
        if "ObjectParts" in wanted and obj.meta.get("Parts") and obj.meta.get("ChecksumType") != "COMPOSITE":
            # parts are listed for COMPOSITE checksums only: otherwise S3 answers just their count
            out["ObjectParts"] = {"TotalPartsCount": len(obj.meta["Parts"])}
        elif "ObjectParts" in wanted and obj.meta.get("Parts"):
            parts = obj.meta["Parts"]
            part_sums = obj.meta.get("PartChecksums") or []
            marker = params.get("PartNumberMarker") or 0
            limit = params.get("MaxParts") or 1000
            chosen = list(enumerate(parts, 1))[marker:marker + limit]
            out["ObjectParts"] = {
                "TotalPartsCount": len(parts), "PartNumberMarker": marker, "MaxParts": limit,
                "IsTruncated": marker + limit < len(parts),
                "NextPartNumberMarker": chosen[-1][0] if chosen else 0,  # 0 past the last part (AWS's answer)
                "Parts": [{"PartNumber": n, "Size": s, **_part_checksum(obj.meta, part_sums, n)} for n, s in chosen],
            }
        return out

    # -- objects: deleting ---------------------------------------------------------------------

    def _check_lock(self, obj: Obj, bypass: bool) -> None:
        meta = obj.meta
        if meta.get("LegalHold") == "ON":
            raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", 403)
        retention = meta.get("Retention")
        if retention and retention["RetainUntilDate"] > now():
            if retention["Mode"] == "COMPLIANCE" or not bypass:
                raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", 403)

    def _delete(self, ctx, bucket: Bucket, key: str, version_id: str | None, bypass: bool) -> dict:
        if version_id is not None:
            # a bucket never versioned has only "null" versions: any other id is malformed to S3
            if version_id != "null" and (not bucket.versioning or not _valid_version_id(version_id)):
                raise invalid_argument("Invalid version id specified", "versionId", version_id)
            obj = self.store.version(bucket.name, key, version_id)
            if obj is None:
                if version_id != "null" and not made_version_id(version_id):
                    raise invalid_argument("Invalid version id specified", "versionId", version_id)
                return {"VersionId": version_id}
            self._check_lock(obj, bypass)
            with self._atomic():
                self.store.delete_version(obj)
                self._delete_blobs([obj.blob])
                self.notifier.emit(bucket, "ObjectRemoved:Delete", key, 0, "", version_id, ctx)
            return {"VersionId": version_id, "DeleteMarker": True if obj.delete_marker else None}
        if bucket.versioning:
            with self._atomic():
                marker = self._store_new(bucket, key, 0, "", None, {}, delete_marker=True)
                self.notifier.emit(bucket, "ObjectRemoved:DeleteMarkerCreated", key, 0, "", marker, ctx)
            return {"DeleteMarker": True, "VersionId": marker}
        with self._atomic():
            obj = self.store.latest(bucket.name, key)
            if obj is not None:
                self.store.delete_version(obj)
                self._delete_blobs([obj.blob])
            self.notifier.emit(bucket, "ObjectRemoved:Delete", key, 0, "", None, ctx)
        return {}

    def delete_object(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        _check_bypass(bucket, params)
        if params.get("IfMatch") is not None:
            current = self.store.latest(bucket.name, params["Key"])
            if current is None or current.delete_marker:
                raise no_such_key(params["Key"])
            if not _etag_matches(current.etag, params["IfMatch"]):
                raise precondition_failed("If-Match")
        return self._delete(ctx, bucket, params["Key"], params.get("VersionId"),
                            bool(params.get("BypassGovernanceRetention")))

    def delete_objects(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        request = params.get("Delete") or {}
        objects = request.get("Objects") or []
        if not objects or len(objects) > 1000:
            raise malformed_xml()
        _check_bypass(bucket, params)
        quiet = bool(request.get("Quiet"))
        deleted, errors = [], []
        for item in objects:
            key = item.get("Key")
            if key is None:
                raise malformed_xml()
            version_id = item.get("VersionId")
            if version_id and version_id != "null" and self.store.version(bucket.name, key, version_id) is None:
                # a version that is not there is an error of the batch (AWS's recorded answers), where a
                # single DeleteObject of it succeeds
                errors.append({"Key": key, "VersionId": version_id, "Code": "NoSuchVersion",
                               "Message": "The specified version does not exist."})
                continue
            try:
                result = self._delete(ctx, bucket, key, item.get("VersionId"),
                                      bool(params.get("BypassGovernanceRetention")))
            except AwsError as e:
                errors.append({"Key": key, "VersionId": item.get("VersionId"), "Code": e.code, "Message": e.message})
                continue
            if quiet:
                continue
            entry = {"Key": key}
            if item.get("VersionId"):
                entry["VersionId"] = item["VersionId"]
                if result.get("DeleteMarker"):
                    entry["DeleteMarker"] = True
                    entry["DeleteMarkerVersionId"] = item["VersionId"]
            elif result.get("DeleteMarker"):
                entry["DeleteMarker"] = True
                entry["DeleteMarkerVersionId"] = result["VersionId"]
            deleted.append(entry)
        return {"Deleted": deleted or None, "Errors": errors or None}

    # -- copying -------------------------------------------------------------------------------

    def _copy_source(self, ctx, params, prefix: str = "CopySource") -> tuple[Bucket, Obj]:
        source = params.get(prefix) or ""
        text, _, query = source.partition("?")
        if text.startswith(("http://", "https://")):  # a path-style URL: S3 takes its path (AWS's answers)
            text = text.split("/", 3)[3] if text.count("/") >= 3 else ""
        try:
            # "+" is a space here, as S3 reads the header (AWS's recorded answers); SDKs send "%2B"
            text = unquote_plus(text, errors="strict").lstrip("/")
        except UnicodeDecodeError:
            raise invalid_argument("Invalid copy source encoding", "x-amz-copy-source", source) from None
        src_bucket, _, src_key = text.partition("/")
        if not src_bucket or not src_key:
            # the value named is the header's name (AWS's recorded answer)
            raise invalid_argument("Invalid copy source object key", "x-amz-copy-source", "x-amz-copy-source")
        version_id = None
        if query.startswith("versionId="):
            version_id = unquote(query[len("versionId="):])
        bucket = self._bucket(src_bucket)
        access.check(ctx, bucket, src_key, "GetObject")  # the source may be another account's bucket
        obj = self._object(bucket, src_key, version_id)
        m, u = params.get(f"{prefix}IfMatch"), params.get(f"{prefix}IfUnmodifiedSince")
        n, s = params.get(f"{prefix}IfNoneMatch"), params.get(f"{prefix}IfModifiedSince")
        modified = int(obj.modified)
        if m is not None and not _etag_matches(obj.etag, m):
            raise precondition_failed("x-amz-copy-source-If-Match")
        if u is not None and m is None and modified > u.timestamp():  # before If-None-Match (AWS's answers)
            raise precondition_failed("x-amz-copy-source-If-Unmodified-Since")
        if n is not None and _etag_matches(obj.etag, n):
            raise precondition_failed("x-amz-copy-source-If-None-Match")
        if s is not None and n is None and modified <= s.timestamp() <= time.time():  # a future date is ignored
            raise precondition_failed("x-amz-copy-source-If-Modified-Since")
        return bucket, obj

    async def copy_object(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        key = params["Key"]
        src_bucket, src = self._copy_source(ctx, params)
        sse_c.check_read(src.meta, params, "CopySourceSSECustomer")
        directive = params.get("MetadataDirective") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
        tag_directive = params.get("TaggingDirective") or "COPY"
        # onto itself, without a change and from the current version: refused, versioned or not, unless
        # the bucket has a default encryption configuration of its own (AWS's recorded answers)
        same = src_bucket.name == bucket.name and src.key == key and "versionId=" not in (params["CopySource"] or "")
        changes = directive == "REPLACE" or any(params.get(n) for n in (
            "StorageClass", "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId", "ChecksumAlgorithm",
            "SSECustomerAlgorithm"))
        if same and not changes:  # a copy that encrypts otherwise than the source is a change too
            encryption = self._encryption(bucket, params)
            changes = (encryption["ServerSideEncryption"], encryption.get("SSEKMSKeyId")) != (
                src.meta.get("ServerSideEncryption", "AES256"), src.meta.get("SSEKMSKeyId"))
        if same and not changes and not bucket.config.get(CONFIGS["Encryption"][0]):
            raise AwsError("InvalidRequest", "This copy request is illegal because it is trying to copy an object to "
                           "itself without changing the object's metadata, storage class, website redirect location "
                           "or encryption attributes.")
        self._check_write_conditions(bucket, key, params)
        if directive == "REPLACE":
            meta = self._meta_from(bucket, {**params, "Tagging": None}, {})
        else:
            # the storage class is the request's, not the source's (STANDARD by default)
            meta = {k: v for k, v in src.meta.items() if k not in ("Tags", "Retention", "LegalHold", "Parts", "Acl",
                                                                     "Checksums", "ChecksumType", "StorageClass")}
            self._lock_meta(bucket, params, meta)
            for name in ("StorageClass", "WebsiteRedirectLocation"):
                if params.get(name):
                    meta[name] = params[name]
            for name in ("ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled", "SSECustomer"):
                meta.pop(name, None)  # the destination's, not the source's
            meta.update(self._encryption(bucket, params))
        acl = self._object_acl(ctx, bucket, params)  # the request's, never the source's (as S3 copies)
        if acl is not None:
            meta["Acl"] = acl
        if tag_directive == "REPLACE":
            if params.get("Tagging"):
                meta["Tags"] = _parse_tagging_header(params["Tagging"])
        elif src.meta.get("Tags"):
            meta["Tags"] = src.meta["Tags"]
        algorithm = (params.get("ChecksumAlgorithm") or "").upper()
        src_sums = src.meta.get("Checksums") or {}
        if not algorithm:
            algorithm = next(iter(src_sums), ck.DEFAULT_ALGORITHM)  # a COMPOSITE source's too (AWS's answers)
        data = None
        if src.blob is None:  # a small object kept in its row
            data = self.store.data(src)
            blob, etag = None, etag_of(hashlib.md5(data).digest())
            sums = {algorithm: src_sums[algorithm] if algorithm in src_sums else ck.checksum_of(algorithm, data)}
        elif "-" not in src.etag and algorithm in src_sums and src.meta.get("ChecksumType") != "COMPOSITE":
            blob, etag, sums = src.blob, src.etag, {algorithm: src_sums[algorithm]}  # bodies are immutable: share
        else:
            writer = BlobWriter(self.blobs, [algorithm])
            await asyncio.to_thread(_copy_whole, writer, self.blobs, src.blob, src.size)
            await writer.finish()
            blob, etag, sums = writer.key, etag_of(writer.md5.digest()), {algorithm: ck.b64(writer.checksum(algorithm))}
        meta["Checksums"] = sums
        meta["ChecksumType"] = "FULL_OBJECT"
        with self._atomic():
            version_id = self._store_new(bucket, key, src.size, etag, blob, meta, data=data)
            self.notifier.emit(bucket, "ObjectCreated:Copy", key, src.size, etag, version_id, ctx)
        result = {"ETag": etag, "LastModified": listed_ts(now()), "ChecksumType": "FULL_OBJECT"}  # whole seconds
        for alg, value in sums.items():
            result[f"Checksum{alg}"] = value
        return {
            "CopyObjectResult": result,
            "VersionId": self._version_out(bucket, version_id),
            "CopySourceVersionId": src.version_id if src.version_id != "null" else None,
            **self._encryption_out(meta),
        }

    # -- listing -------------------------------------------------------------------------------

    def _walk(self, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int):
        """Current objects and common prefixes after `after`, in order: (objects, prefixes,
        truncated, last item returned)."""
        contents: list[Obj] = []
        prefixes: list[str] = []
        last = None
        cursor = after
        count = 0
        while True:
            want = max(max_keys - count + 1, 2)
            batch = self.store.list_latest(bucket, cursor, prefix, min(want, 1000))
            if not batch:
                return contents, prefixes, False, last
            jumped = False
            for obj in batch:
                if not obj.key.startswith(prefix):
                    return contents, prefixes, False, last
                if delimiter:
                    i = obj.key.find(delimiter, len(prefix))
                    if i >= 0:
                        common = obj.key[:i + len(delimiter)]
                        if count >= max_keys:
                            return contents, prefixes, True, last
                        if not after.startswith(common):  # a marker inside the prefix is past it
                            prefixes.append(common)
                            count += 1
                            last = common
                        cursor = common + "\U0010ffff"
                        jumped = True
                        break
                if count >= max_keys:
                    return contents, prefixes, True, last
                contents.append(obj)
                count += 1
                last = cursor = obj.key
            if not jumped and len(batch) < min(want, 1000):
                return contents, prefixes, False, last

    def _content(self, obj: Obj, url: bool, owner: dict | None) -> dict:
        entry = {"Key": _encode(obj.key, url), "LastModified": listed_ts(obj.modified), "ETag": obj.etag,
                 "Size": obj.size, "StorageClass": obj.meta.get("StorageClass", "STANDARD"), "Owner": owner}
        sums = obj.meta.get("Checksums")
        if sums:
            entry["ChecksumAlgorithm"] = list(sums)
            entry["ChecksumType"] = obj.meta.get("ChecksumType")
        return entry

    def _list_args(self, params):
        encoding = params.get("EncodingType")
        if encoding is not None and encoding != "url":
            raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
        max_keys = params.get("MaxKeys")
        max_keys = 1000 if max_keys is None else max_keys
        if max_keys < 0:
            raise invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647", "maxKeys", max_keys)
        return min(max_keys, 1000), encoding == "url"

    def list_objects(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        max_keys, url = self._list_args(params)
        prefix, delimiter, marker = params.get("Prefix") or "", params.get("Delimiter") or "", params.get("Marker") or ""
        contents, prefixes, truncated, last = self._walk(bucket.name, prefix, delimiter, marker, max_keys)
        owner = _owner(bucket.account)
        return {
            "Name": bucket.name, "Prefix": _encode(prefix, url), "Marker": _encode(marker, url),
            "Delimiter": _encode(params.get("Delimiter") or None, url), "MaxKeys": max_keys, "IsTruncated": truncated,
            "EncodingType": params.get("EncodingType"),
            "NextMarker": _encode(last, url) if truncated and delimiter else None,
            "Contents": [self._content(o, url, owner) for o in contents] or None,
            "CommonPrefixes": [{"Prefix": _encode(p, url)} for p in prefixes] or None,
        }

    def list_objects_v2(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        max_keys, url = self._list_args(params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        token = params.get("ContinuationToken")
        after = params.get("StartAfter") or ""
        if token is not None:
            if not token:  # AWS's answer names no value for an empty token
                raise AwsError("InvalidArgument", "The continuation token provided is incorrect", 400,
                               ArgumentName="continuation-token")
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise invalid_argument("The continuation token provided is incorrect", "continuation-token",
                                       token) from None
        contents, prefixes, truncated, last = self._walk(bucket.name, prefix, delimiter, after, max_keys)
        owner = _owner(bucket.account) if params.get("FetchOwner") else None
        return {
            "Name": bucket.name, "Prefix": _encode(prefix, url), "Delimiter": _encode(params.get("Delimiter"), url),
            "MaxKeys": max_keys, "IsTruncated": truncated, "EncodingType": params.get("EncodingType"),
            "KeyCount": len(contents) + len(prefixes), "ContinuationToken": token,
            # a continuation token's page names no StartAfter (AWS's recorded answers)
            "StartAfter": None if token else _encode(params.get("StartAfter"), url),
            "NextContinuationToken": base64.urlsafe_b64encode(last.encode()).decode() if truncated and last else None,
            "Contents": [self._content(o, url, owner) for o in contents] or None,
            "CommonPrefixes": [{"Prefix": _encode(p, url)} for p in prefixes] or None,
        }

    def list_object_versions(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        max_keys, url = self._list_args(params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
        key_marker, vid_marker = params.get("KeyMarker") or "", params.get("VersionIdMarker")
        if vid_marker and not key_marker:
            raise invalid_argument("A version-id marker cannot be specified without a key marker.",
                                   "version-id-marker", vid_marker)
        after_id = None
        if vid_marker and key_marker:
            marker_obj = self.store.version(bucket.name, key_marker, vid_marker)
            if marker_obj is None and vid_marker != "null":
                raise invalid_argument("Invalid version id specified", "version-id-marker", vid_marker)
            after_id = marker_obj.id if marker_obj else None
        owner = _owner(bucket.account)
        versions, markers, prefixes = [], [], []
        count, truncated = 0, False
        next_key = next_vid = None
        cursor_key, cursor_id = key_marker, after_id
        done = False
        while not done:
            batch = self.store.list_versions(bucket.name, cursor_key, cursor_id, prefix, max_keys + 1 - count + 1)
            if not batch:
                break
            for obj in batch:
                if not obj.key.startswith(prefix):
                    done = True
                    break
                if delimiter:
                    i = obj.key.find(delimiter, len(prefix))
                    if i >= 0:
                        common = obj.key[:i + len(delimiter)]
                        cursor_key, cursor_id = common + "\U0010ffff", None
                        if key_marker.startswith(common):  # a marker inside the prefix is past it
                            break
                        if count >= max_keys:
                            truncated, done = True, True
                            break
                        prefixes.append(common)
                        count += 1
                        next_key, next_vid = common, None
                        break
                if count >= max_keys:
                    truncated, done = True, True
                    break
                entry = {"Key": _encode(obj.key, url), "VersionId": obj.version_id, "IsLatest": obj.latest,
                         "LastModified": listed_ts(obj.modified), "Owner": owner}
                if obj.delete_marker:
                    markers.append(entry)
                else:
                    entry.update(ETag=obj.etag, Size=obj.size, StorageClass=obj.meta.get("StorageClass", "STANDARD"))
                    if obj.meta.get("Checksums"):
                        entry["ChecksumAlgorithm"] = list(obj.meta["Checksums"])
                        entry["ChecksumType"] = obj.meta.get("ChecksumType")
                    versions.append(entry)
                count += 1
                next_key, next_vid = obj.key, obj.version_id
                cursor_key, cursor_id = obj.key, obj.id
            else:
                if len(batch) < max_keys + 1 - count + 1:
                    break
        return {
            "Name": bucket.name, "Prefix": _encode(prefix, url), "KeyMarker": _encode(key_marker, url),
            "VersionIdMarker": vid_marker or "", "Delimiter": _encode(params.get("Delimiter"), url), "MaxKeys": max_keys,
            "EncodingType": params.get("EncodingType"), "IsTruncated": truncated,
            "NextKeyMarker": _encode(next_key, url) if truncated else None,
            "NextVersionIdMarker": next_vid if truncated else None,
            "Versions": versions or None, "DeleteMarkers": markers or None,
            "CommonPrefixes": [{"Prefix": _encode(p, url)} for p in prefixes] or None,
        }

    # -- multipart uploads ---------------------------------------------------------------------

    def _upload(self, bucket: Bucket, key: str, upload_id: str) -> tuple:
        upload = self.store.upload(upload_id or "")
        if upload is None or upload[1] != bucket.name or upload[2] != key:
            raise no_such_upload(upload_id)
        return upload

    def create_multipart_upload(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        key = params["Key"]
        _check_key(key)
        algorithm = (params.get("ChecksumAlgorithm") or "").upper() or None
        if algorithm and algorithm not in ck.ALGORITHMS:
            raise AwsError("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any "
                           "of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        checksum_type = params.get("ChecksumType")
        if checksum_type and not algorithm:
            raise AwsError("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                           "x-amz-checksum-algorithm header.")
        if algorithm and not checksum_type:
            checksum_type = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
        if checksum_type == "FULL_OBJECT" and algorithm in ("SHA1", "SHA256"):
            raise AwsError("InvalidRequest", f"The FULL_OBJECT checksum type cannot be used with the "
                           f"{algorithm.lower()} checksum algorithm.")
        if checksum_type == "COMPOSITE" and algorithm == "CRC64NVME":
            raise AwsError("InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum "
                           "algorithm.")
        meta = self._meta_from(bucket, {**params, "ChecksumAlgorithm": None}, {})
        acl = self._object_acl(ctx, bucket, params)
        if acl is not None:
            meta["Acl"] = acl
        meta["Algorithm"] = algorithm
        meta["ChecksumType"] = checksum_type
        upload_id = base64.urlsafe_b64encode(secrets.token_bytes(36)).decode().rstrip("=")
        self.store.create_upload(upload_id, bucket.name, key, now(), meta)
        return {"Bucket": bucket.name, "Key": key, "UploadId": upload_id, "ChecksumAlgorithm": algorithm,
                "ChecksumType": checksum_type, **self._encryption_out(meta)}

    def _part_number(self, params) -> int:
        number = params.get("PartNumber")
        if number is None or number < 1 or number > MAX_PART_NUMBER:
            raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                                   number)
        return number

    async def upload_part(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        upload = self._upload(bucket, params["Key"], params.get("UploadId"))
        number = self._part_number(params)
        sse_c.check_part(upload[4], params)
        algorithm = upload[4].get("Algorithm")
        # an upload without an algorithm gets a FULL_OBJECT CRC64NVME, as S3 gives one since 2025:
        # each part's is kept (not answered) and combined when the upload completes; not an SSE-C
        # upload's (AWS's recorded answers)
        default = None if algorithm or upload[4].get("SSECustomer") else "CRC64NVME"
        writer, sums = await self._receive(ctx, params, limit=5 * 1024 ** 3, default_algorithm=algorithm,
                                           also=default)
        if algorithm and algorithm not in sums:
            await asyncio.to_thread(writer.abort)
            raise AwsError("InvalidRequest", f"Checksum Type mismatch occurred, expected checksum Type: "
                           f"{algorithm.lower()}, actual checksum Type: {next(iter(sums), 'null').lower()}")
        await writer.finish()
        etag = etag_of(writer.md5.digest())
        if self.store.upload(upload[0]) is None:  # aborted while the part streamed in
            self.blobs.delete(writer.key)
            raise no_such_upload(upload[0])
        old = self.store.put_part(upload[0], number, writer.size, etag, now(), writer.key, sums)
        if old:
            self.blobs.delete(old)
        out = {"ETag": etag, **self._encryption_out(upload[4])}
        for alg, value in sums.items():
            if alg != "CRC64NVME" or algorithm or _requested(ctx, "CRC64NVME"):
                out[f"Checksum{alg}"] = value
        return out

    async def upload_part_copy(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        upload = self._upload(bucket, params["Key"], params.get("UploadId"))
        number = self._part_number(params)
        sse_c.check_part(upload[4], params)
        _, src = self._copy_source(ctx, params)
        sse_c.check_read(src.meta, params, "CopySourceSSECustomer")
        start, length = 0, src.size
        text = params.get("CopySourceRange")
        if text:
            m = re.match(r"^bytes=(\d+)-(\d+)$", text)
            if not m or int(m.group(1)) > int(m.group(2)):
                raise invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where "
                                       "first and last are the zero-based offsets of the first and last bytes to copy",
                                       "x-amz-copy-source-range", text)
            first, last_byte = int(m.group(1)), int(m.group(2))
            # beyond the source, as AWS's recorded answers word it
            if first >= src.size:
                raise AwsError("InvalidRequest", "The specified copy range is invalid for the source object size")
            if last_byte >= src.size:
                raise invalid_argument(f"Range specified is not valid for source object of size: {src.size}",
                                       "x-amz-copy-source-range", text)
            start, length = first, last_byte - first + 1
        algorithm = upload[4].get("Algorithm")
        writer = BlobWriter(self.blobs, [algorithm or "CRC64NVME"])  # CRC64NVME: as in upload_part
        if src.blob is None:
            await asyncio.to_thread(writer.write_bytes, self.store.data(src)[start:start + length])
        else:
            await asyncio.to_thread(_copy_part, writer, self.blobs, src.blob, start, length)
        await writer.finish()
        etag = etag_of(writer.md5.digest())
        kept = algorithm or "CRC64NVME"
        sums = {kept: ck.b64(writer.checksum(kept))}
        old = self.store.put_part(upload[0], number, writer.size, etag, now(), writer.key, sums)
        if old:
            self.blobs.delete(old)
        result = {"ETag": etag, "LastModified": to_ts(now())}
        if algorithm:
            result[f"Checksum{algorithm}"] = sums[algorithm]
        return {"CopyPartResult": result, "CopySourceVersionId": src.version_id if src.version_id != "null" else None,
                **self._encryption_out(upload[4])}

    async def complete_multipart_upload(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        key = params["Key"]
        upload = self._upload(bucket, key, params.get("UploadId"))
        if params.get("MultipartUpload") is None:  # no body at all (AWS's recorded answer)
            raise AwsError("InvalidRequest", "You must specify at least one part")
        requested = (params.get("MultipartUpload") or {}).get("Parts") or []
        if not requested:
            raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                           "published schema")
        self._check_write_conditions(bucket, key, params, since=upload[3])
        stored = {p[0]: p for p in self.store.parts(upload[0])}
        previous = 0
        chosen = []
        for item in requested:
            number = item.get("PartNumber")
            if number is None or number <= previous:
                raise AwsError("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be "
                               "ordered by part number.", 400, UploadId=upload[0])
            previous = number
            part = stored.get(number)
            if part is None or (item.get("ETag") or "").strip('"') != part[2].strip('"'):
                raise _invalid_part(upload[0], number, item.get("ETag"))
            chosen.append(part)
        for part in chosen[:-1]:
            if part[1] < MIN_PART_SIZE:
                raise AwsError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                               "size", 400, ProposedSize=part[1], MinSizeAllowed=MIN_PART_SIZE,
                               PartNumber=part[0], ETag=part[2].strip('"'))
        meta = dict(upload[4])
        algorithm = meta.pop("Algorithm", None)
        created_type = meta.pop("ChecksumType", None)
        if params.get("ChecksumType") and params["ChecksumType"] != created_type:
            raise AwsError("InvalidRequest", f"The upload was created using the {created_type or 'null'} checksum "
                           "mode. The complete request must use the same checksum mode.")
        checksum_type = created_type or ("FULL_OBJECT" if not algorithm else None)
        size_given = params.get("MpuObjectSize")
        if size_given is not None and size_given != sum(p[1] for p in chosen):
            raise AwsError("InvalidRequest", f"The provided 'x-amz-mp-object-size' header value {size_given} does not "
                           f"match what was computed: {sum(p[1] for p in chosen)}")
        sums: dict = {}
        if not algorithm:
            # an upload created without a checksum knows no part checksums: a part named with one is not found
            for item in requested:
                if any(k.startswith("Checksum") for k in item):
                    raise _invalid_part(upload[0], item["PartNumber"], item.get("ETag"))
            crcs = [p[5].get("CRC64NVME") for p in chosen]
            if None not in crcs:  # parts stored before overcast kept them have none: no checksum then
                sums["CRC64NVME"] = ck.combine_crc("CRC64NVME", [(base64.b64decode(c), p[1])
                                                                for c, p in zip(crcs, chosen, strict=True)])
        if algorithm:
            part_sums = [p[5].get(algorithm) for p in chosen]
            for item, value in zip(requested, part_sums, strict=True):
                given = item.get(f"Checksum{algorithm}")
                if given is not None and given != value:
                    raise _invalid_part(upload[0], item["PartNumber"], item.get("ETag"))
                other = next((k for k in item if k.startswith("Checksum") and k != f"Checksum{algorithm}"), None)
                if given is None and other is not None:  # another algorithm's: it cannot match (AWS's answer)
                    raise AwsError("BadDigest", f"The {other[len('Checksum'):].lower()} you specified for part "
                                   f"{item['PartNumber']} did not match what we received.")
                if given is None and checksum_type == "COMPOSITE":
                    raise AwsError("InvalidRequest", f"The upload was created using a {algorithm.lower()} checksum. "
                                   "The complete request must include the checksum for each part. It was missing for "
                                   f"part {item['PartNumber']} in the request.")
            if None in part_sums:
                raise AwsError("InvalidRequest", f"The upload was created using a {algorithm.lower()} checksum. The "
                               f"complete request must include the checksum for each part.")
            if checksum_type == "COMPOSITE":
                sums[algorithm] = ck.composite(algorithm, part_sums)
            else:
                sums[algorithm] = ck.combine_crc(algorithm, [(base64.b64decode(s), p[1])
                                                             for s, p in zip(part_sums, chosen, strict=True)])
            whole = params.get(f"Checksum{algorithm}")
            if whole is not None and whole.split("-")[0] != sums[algorithm].split("-")[0]:
                raise AwsError("BadDigest", f"The {algorithm.lower()} you specified did not match the calculated "
                               "checksum.")
        blob, size = await asyncio.to_thread(concatenate, self.blobs, [p[4] for p in chosen])
        etag = f'"{hashlib.md5(b"".join(bytes.fromhex(p[2].strip(chr(34))) for p in chosen)).hexdigest()}-{len(chosen)}"'
        if sums:
            meta["Checksums"] = sums
            meta["ChecksumType"] = checksum_type
        meta["Parts"] = [p[1] for p in chosen]
        if algorithm and sums:  # part reads and GetObjectAttributes (COMPOSITE) answer each part's checksum
            meta["PartChecksums"] = part_sums
        if self.store.upload(upload[0]) is None:
            self.blobs.delete(blob)
            raise no_such_upload(upload[0])
        with self._atomic():
            version_id = self._store_new(bucket, key, size, etag, blob, meta)
            part_blobs = self.store.delete_upload(upload[0])
            self.notifier.emit(bucket, "ObjectCreated:CompleteMultipartUpload", key, size, etag, version_id, ctx)
        for part_blob in part_blobs:
            self.blobs.delete(part_blob)
        out = {"Location": f"{ctx.endpoint}/{bucket.name}/{quote_plus(key, safe='/')}", "Bucket": bucket.name,
               "Key": key, "ETag": etag, "VersionId": self._version_out(bucket, version_id),
               # an SSE-C upload's completion names no encryption (AWS's recorded answers)
               **({} if meta.get("SSECustomer") else self._encryption_out(meta)),
               "ChecksumType": checksum_type if sums else None,
               "Expiration": self._expiration(bucket, key, size, meta.get("Tags"), now())}
        if not algorithm and meta.get("ServerSideEncryption", "").startswith("aws:kms"):
            # an SSE-KMS upload's default checksum is stored (reads answer it) but its completion
            # does not name it (AWS's recorded answers)
            out["ChecksumType"] = None
            return out
        for alg, value in sums.items():
            out[f"Checksum{alg}"] = value
        return out

    def abort_multipart_upload(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        upload = self._upload(bucket, params["Key"], params.get("UploadId"))
        for blob in self.store.delete_upload(upload[0]):
            self.blobs.delete(blob)
        return {}

    def list_parts(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        upload = self._upload(bucket, params["Key"], params.get("UploadId"))
        marker = params.get("PartNumberMarker") or 0
        limit = params.get("MaxParts")
        limit = 1000 if limit is None else min(limit, 1000)
        parts = self.store.parts(upload[0], marker, limit + 1)
        truncated = len(parts) > limit
        parts = parts[:limit]
        owner = _owner(bucket.account)
        entries = []
        for number, size, etag, modified, _blob, sums in parts:
            entry = {"PartNumber": number, "LastModified": listed_ts(modified), "ETag": etag, "Size": size}
            if upload[4].get("Algorithm"):  # parts list checksums of an upload that asked for them (AWS's answers)
                for alg, value in sums.items():
                    entry[f"Checksum{alg}"] = value
            entries.append(entry)
        return {
            "Bucket": bucket.name, "Key": upload[2], "UploadId": upload[0], "PartNumberMarker": marker,
            "NextPartNumberMarker": parts[-1][0] if parts else 0, "MaxParts": limit, "IsTruncated": truncated,
            "Parts": entries or None, "Initiator": _initiator(bucket.account),
            "Owner": owner, "StorageClass": upload[4].get("StorageClass", "STANDARD"),
            "ChecksumAlgorithm": upload[4].get("Algorithm"), "ChecksumType": upload[4].get("ChecksumType"),
        }

    def list_multipart_uploads(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        prefix = params.get("Prefix") or ""
        delimiter = params.get("Delimiter") or ""
        encoding = params.get("EncodingType")
        if encoding is not None and encoding != "url":
            raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding or None)
        url = encoding == "url"
        key_marker, id_marker = params.get("KeyMarker") or "", params.get("UploadIdMarker") or ""
        if not key_marker:
            id_marker = ""  # ignored without a key marker (AWS's recorded answers)
        after = (-1.0, "")  # from the first upload of key_marker, or of the first key when there is none
        if key_marker and id_marker:
            marked = self.store.upload(id_marker)
            if marked is None or marked[1] != bucket.name or marked[2] != key_marker:
                raise invalid_argument("Invalid uploadId marker", "upload-id-marker", id_marker)
            after = (marked[3], marked[0])
        elif key_marker:
            after = None  # past every upload of the key
        limit = params.get("MaxUploads")
        limit = 1000 if limit is None else min(limit, 1000)
        owner = _owner(bucket.account)
        uploads, prefixes = [], []
        truncated = False
        last = None  # the last upload listed: common prefixes are not markers (AWS's recorded answers)
        cursor_key, cursor = key_marker, after
        while not truncated:
            rows = self.store.uploads(bucket.name, prefix, cursor_key, cursor, 1000)
            if not rows:
                break
            for row in rows:
                upload_id, _b, key, initiated, meta = row
                cursor_key, cursor = key, (initiated, upload_id)
                common = None
                if delimiter:
                    i = key.find(delimiter, len(prefix))
                    if i >= 0:
                        common = key[:i + len(delimiter)]
                        if common in prefixes or key_marker.startswith(common):
                            continue  # rolled up already, or the marker is inside it
                if len(uploads) + len(prefixes) >= limit:
                    truncated = True
                    break
                if common is not None:
                    prefixes.append(common)
                    cursor_key, cursor = common + "\U0010ffff", None  # past every key under it
                    break
                last = row
                uploads.append({"UploadId": upload_id, "Key": _encode(key, url), "Initiated": listed_ts(initiated),
                                "StorageClass": meta.get("StorageClass", "STANDARD"), "Owner": owner,
                                "Initiator": _initiator(bucket.account),
                                "ChecksumAlgorithm": meta.get("Algorithm"), "ChecksumType": meta.get("ChecksumType")})
            else:
                if len(rows) < 1000:
                    break
        return {
            "Bucket": bucket.name, "KeyMarker": _encode(params.get("KeyMarker") or "", url),
            "UploadIdMarker": id_marker, "MaxUploads": limit, "IsTruncated": truncated,
            "NextKeyMarker": _encode(last[2], url) if last else "", "NextUploadIdMarker": last[0] if last else "",
            "Prefix": _encode(prefix, url) if prefix else None, "Delimiter": params.get("Delimiter"),
            "EncodingType": params.get("EncodingType"), "Uploads": uploads or None,
            "CommonPrefixes": [{"Prefix": _encode(p, url)} for p in prefixes] or None,
        }

    # -- tagging, ACLs, retention, legal hold --------------------------------------------------

    def put_object_tagging(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        obj = self._object(bucket, params["Key"], params.get("VersionId"), "PUT", refuse_marker=True)
        tags = (params.get("Tagging") or {}).get("TagSet")
        if tags is None:
            raise malformed_xml()
        _check_object_tags(tags)
        obj.meta["Tags"] = {t["Key"]: t.get("Value", "") for t in tags}
        with self._atomic():
            self.store.update_meta(obj)
            self.notifier.emit(bucket, "ObjectTagging:Put", obj.key, obj.size, obj.etag, obj.version_id, ctx)
        return {"VersionId": self._version_out(bucket, obj.version_id)}

    def get_object_tagging(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        try:
            obj = self._object(bucket, params["Key"], params.get("VersionId"), refuse_marker=True)
        except AwsError as error:
            if error.code == "NoSuchKey":  # this one names the key with its bucket (AWS's recorded answer)
                raise no_such_key(f"{bucket.name}/{params['Key']}") from None
            raise
        tags = obj.meta.get("Tags") or {}
        return {"VersionId": self._version_out(bucket, obj.version_id),
                "TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def delete_object_tagging(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        obj = self._object(bucket, params["Key"], params.get("VersionId"), "DELETE", refuse_marker=True)
        obj.meta.pop("Tags", None)
        with self._atomic():
            self.store.update_meta(obj)
            self.notifier.emit(bucket, "ObjectTagging:Delete", obj.key, obj.size, obj.etag, obj.version_id, ctx)
        return {"VersionId": self._version_out(bucket, obj.version_id)}

    def get_object_acl(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        obj = self._object(bucket, params["Key"], params.get("VersionId"))
        return acls.answered(bucket, obj.meta.get("Acl"), _owner(bucket.account)["ID"])

    def put_object_acl(self, ctx, params):
        bucket = self._bucket(params["Bucket"])
        obj = self._object(bucket, params["Key"], params.get("VersionId"), "PUT", refuse_marker=True)
        bucket_owner = _owner(bucket.account)["ID"]
        owner_id = ((obj.meta.get("Acl") or {}).get("Owner") or {}).get("ID") or bucket_owner
        acl = acls.from_request(params, owner_id, bucket_owner, body=True)
        if acl is None:
            raise acls.missing(ctx.request.body)
        acls.check_settable(bucket, acl, bucket_owner)
        before = acls.answered(bucket, obj.meta.get("Acl"), bucket_owner)
        if acls.ownership(bucket) == "BucketOwnerEnforced":
            obj.meta.pop("Acl", None)  # the owner-only ACL: the default, kept as none
        else:
            obj.meta["Acl"] = acl
        with self._atomic():
            self.store.update_meta(obj)
            if acl != before:  # an ACL set again unchanged is no event (AWS's recorded answers)
                self.notifier.emit(bucket, "ObjectAcl:Put", obj.key, obj.size, obj.etag, obj.version_id, ctx)
        return {}

    def acl_admits(self, ctx, bucket: Bucket, key: str | None, operation: str, params) -> bool:
        """Whether the bucket's ACL (or, for an object operation, the named version's) grants the
        caller what the operation needs: access.check's question once no policy statement decided."""
        need = acls.NEEDS.get(operation)
        if need is None:
            return False
        on_object, permission = need
        stored = bucket.config.get("acl")
        if on_object:
            version_id = params.get("VersionId")
            obj = (self.store.version(bucket.name, key, version_id) if version_id else
                   self.store.latest(bucket.name, key)) if key is not None else None
            if obj is None or obj.delete_marker:
                return False
            stored = obj.meta.get("Acl")
        caller = _owner(ctx.account)["ID"] if ctx.access_key and ctx.account else None
        return acls.admits(bucket, stored, caller, permission)

    def _object_acl(self, ctx, bucket: Bucket, params) -> dict | None:
        """The ACL a write (PutObject, CopyObject, CreateMultipartUpload, a POST upload) gives its
        object, None for the default (the bucket owner's full control). The object's owner is the
        bucket's, except for another account's write under ObjectWriter (or BucketOwnerPreferred
        without bucket-owner-full-control): the writer's (the Object Ownership user guide)."""
        if (not ctx.account or ctx.account == bucket.account) and params.get("ACL") is None and \
                not any(params.get(name) is not None for name in acls.GRANT_PARAMS):
            return None  # the common write: the default ACL, nothing to keep
        bucket_owner = _owner(bucket.account)["ID"]
        mode = acls.ownership(bucket)
        writer = bucket.account
        if ctx.account and ctx.account != bucket.account and (
                mode == "ObjectWriter" or mode == "BucketOwnerPreferred" and params.get("ACL") != "bucket-owner-full-control"):
            writer = ctx.account
        owner_id = _owner(writer)["ID"]
        acl = acls.from_request(params, owner_id, bucket_owner)
        if acl is None:
            return acls.private(owner_id) if writer != bucket.account else None
        acls.check_settable(bucket, acl, bucket_owner)
        return None if mode == "BucketOwnerEnforced" else acl

    def _locked_object(self, params, method: str) -> tuple[Bucket, Obj]:
        bucket = self._bucket(params["Bucket"])
        if not bucket.object_lock:
            raise AwsError("InvalidRequest", "Bucket is missing Object Lock Configuration")
        return bucket, self._object(bucket, params["Key"], params.get("VersionId"), method)

    def put_object_retention(self, ctx, params):
        bucket, obj = self._locked_object(params, "PUT")
        retention = params.get("Retention") or {}
        mode, until = retention.get("Mode"), retention.get("RetainUntilDate")
        if (mode is None) != (until is None):
            raise malformed_xml()
        if until is not None and until.timestamp() <= now():  # before the lock's own checks (AWS's order)
            raise invalid_argument("The retain until date must be in the future!", "RetainUntilDate",
                                   _java_date(until))
        current = obj.meta.get("Retention")
        if current and current["RetainUntilDate"] > now():
            shorter = until is None or until.timestamp() < current["RetainUntilDate"]
            if current["Mode"] == "COMPLIANCE" and (shorter or mode != "COMPLIANCE"):
                raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", 403)
            if current["Mode"] == "GOVERNANCE" and shorter and not params.get("BypassGovernanceRetention"):
                raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", 403)
        if mode is None:
            obj.meta.pop("Retention", None)
        else:
            obj.meta["Retention"] = {"Mode": mode, "RetainUntilDate": until.timestamp()}
        self.store.update_meta(obj)
        return {}

    def get_object_retention(self, ctx, params):
        _, obj = self._locked_object(params, "GET")
        retention = obj.meta.get("Retention")
        if not retention:
            raise AwsError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                           "configuration", 404)
        return {"Retention": {"Mode": retention["Mode"], "RetainUntilDate": to_ts(retention["RetainUntilDate"])}}

    def put_object_legal_hold(self, ctx, params):
        status = (params.get("LegalHold") or {}).get("Status")
        if params.get("LegalHold") is None:  # no document at all: before the bucket's lock is looked at
            self._bucket(params["Bucket"])
            raise malformed_xml()
        _, obj = self._locked_object(params, "PUT")
        if status not in ("ON", "OFF"):
            raise malformed_xml()
        obj.meta["LegalHold"] = status
        self.store.update_meta(obj)
        return {}

    def get_object_legal_hold(self, ctx, params):
        _, obj = self._locked_object(params, "GET")
        if "LegalHold" not in obj.meta:
            raise AwsError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                           "configuration", 404)
        return {"LegalHold": {"Status": obj.meta["LegalHold"]}}

    # -- lifecycle expiration: a timer, rescheduled for the next object due ----------------------

    def _take_lifecycle(self, _name: str) -> None:
        self._reaps = True
        self._schedule_reaper(0.05)  # what came due while no node held the lease

    def _give_lifecycle(self, _name: str) -> None:
        self._reaps = False
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None

    def _lifecycle_changed(self, _key=None) -> None:
        if self._reaps:
            self._schedule_reaper(0.05)

    def _schedule_reaper(self, delay: float) -> None:
        if not self._reaps:  # (a cluster) the node holding "s3:lifecycle" expires: tell it to look again
            self._channel.publish("lifecycle")
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._reaper is not None:
            if self._reaper.when() <= loop.time() + delay:
                return
            self._reaper.cancel()
        self._reaper = loop.call_later(max(delay, 0.0), self._reap)

    def _reap(self) -> None:
        self._reaper = None
        next_due = now() + 3600
        try:
            for bucket in self.store.buckets_with_config("lifecycle"):
                rules = ((bucket.config.get("lifecycle") or {}).get("LifecycleConfiguration") or {}).get("Rules") or []
                for rule in rules:
                    if rule.get("Status") != "Enabled":
                        continue
                    due = self._apply_rule(bucket, rule)
                    if due is not None:
                        next_due = min(next_due, due)
        except Exception:
            log.exception("lifecycle expiration failed")
        self._schedule_reaper(max(next_due - now(), 0.05))

    def _apply_rule(self, bucket: Bucket, rule: dict) -> float | None:
        """Expire what the rule says is due; return when the next object becomes due."""
        prefix, tags = _rule_filter(rule)
        expiration = rule.get("Expiration") or {}
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        abort = rule.get("AbortIncompleteMultipartUpload") or {}
        t = now()
        next_due = None
        if expiration.get("Days") or expiration.get("Date"):
            for obj in self.store.all_latest(bucket.name):
                if obj.delete_marker or not _rule_applies(rule, obj.key, obj.size, obj.meta.get("Tags")):
                    continue
                if expiration.get("Date"):
                    due = _as_epoch(expiration["Date"])
                else:
                    due = _next_midnight(obj.modified + expiration["Days"] * 86400)
                if due <= t:
                    if "Retention" in obj.meta or obj.meta.get("LegalHold") == "ON":
                        continue
                    self._expire(bucket, obj)
                else:
                    next_due = due if next_due is None else min(next_due, due)
        if expiration.get("ExpiredObjectDeleteMarker") or noncurrent.get("NoncurrentDays"):
            for obj in self.store.list_versions(bucket.name, "", None, prefix, 1_000_000):
                if not obj.key.startswith(prefix):
                    continue
                if obj.latest and obj.delete_marker and expiration.get("ExpiredObjectDeleteMarker"):
                    if self.store.db.scalar("SELECT COUNT(*) FROM s3_objects WHERE bucket = ? AND key = ?",
                                            (bucket.name, obj.key)) == 1:
                        self.store.delete_version(obj)
                elif not obj.latest and noncurrent.get("NoncurrentDays"):
                    due = _next_midnight(obj.modified + noncurrent["NoncurrentDays"] * 86400)
                    if due <= t:
                        self.store.delete_version(obj)
                        self._delete_blobs([obj.blob])
                    else:
                        next_due = due if next_due is None else min(next_due, due)
        if abort.get("DaysAfterInitiation"):
            for upload_id, _b, _key, initiated, _m in self.store.uploads(bucket.name, prefix, "", (-1.0, ""), 100_000):
                due = _next_midnight(initiated + abort["DaysAfterInitiation"] * 86400)
                if due <= t:
                    for blob in self.store.delete_upload(upload_id):
                        self.blobs.delete(blob)
                else:
                    next_due = due if next_due is None else min(next_due, due)
        return next_due

    @staticmethod
    def _expiration(bucket: Bucket, key: str, size: int, tags: dict | None, modified: float) -> str | None:
        """x-amz-expiration of a current object: when the first lifecycle rule that expires it
        falls due, and the rule's ID URL-encoded (the PutObject / HeadObject API reference)."""
        rules = ((bucket.config.get("lifecycle") or {}).get("LifecycleConfiguration") or {}).get("Rules")
        best = None
        for rule in rules or ():
            expiration = rule.get("Expiration") or {}
            if rule.get("Status") != "Enabled" or not (expiration.get("Days") or expiration.get("Date")):
                continue
            if not _rule_applies(rule, key, size, tags):
                continue
            due = (_as_epoch(expiration["Date"]) if expiration.get("Date")
                   else _next_midnight(modified + expiration["Days"] * 86400))
            if best is None or due < best[0]:
                best = (due, rule.get("ID") or "")
        if best is None:
            return None
        return f'expiry-date="{_http_date(best[0])}", rule-id="{quote(best[1], safe="")}"'

    def _expire(self, bucket: Bucket, obj: Obj) -> None:
        with self._atomic():
            if bucket.versioning:
                self._store_new(bucket, obj.key, 0, "", None, {}, delete_marker=True)
            else:
                self.store.delete_version(obj)
                self._delete_blobs([obj.blob])
            self.notifier.emit(bucket, "LifecycleExpiration:Delete", obj.key, 0, "", None, None)


# -- module helpers -----------------------------------------------------------------------------


def _owner(account: str) -> dict:
    """An Owner (and an ACL's CanonicalUser grantee): its canonical ID only. S3 stopped returning
    Owner.DisplayName on November 21, 2025 (the S3 API reference's end-of-support notice)."""
    return {"ID": hashlib.sha256(account.encode()).hexdigest()}


def _initiator(account: str) -> dict:
    """A multipart upload's Initiator, which still carries a DisplayName in AWS's answers."""
    return {**_owner(account), "DisplayName": "webfile"}


def _part_checksum(meta: dict, part_sums: list, number: int) -> dict:
    if number > len(part_sums) or not meta.get("Checksums"):
        return {}
    return {f"Checksum{next(iter(meta['Checksums']))}": part_sums[number - 1]}


def _requested(ctx, algorithm: str) -> bool:
    """Whether the request asked for this checksum (its header or its trailer)."""
    headers = ctx.request.headers
    name = f"x-amz-checksum-{algorithm.lower()}"
    return name in headers or name in headers.get("x-amz-trailer", "").lower() or \
        headers.get("x-amz-sdk-checksum-algorithm", "").upper() == algorithm


def _invalid_part(upload_id: str, number: int, etag: str | None) -> AwsError:
    return AwsError("InvalidPart", "One or more of the specified parts could not be found.  The part may not have been "
                    "uploaded, or the specified entity tag may not match the part's entity tag.", 400,
                    UploadId=upload_id, PartNumber=number, ETag=(etag or "").strip('"'))


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _http_date(epoch: float) -> str:
    from email.utils import formatdate

    return formatdate(int(epoch), usegmt=True)


def _valid_version_id(version_id: str) -> bool:
    return bool(re.match(r"^[A-Za-z0-9_.\-]{1,1024}$", version_id))


def _check_key(key: str) -> None:
    if len(key.encode()) > 1024:
        raise AwsError("KeyTooLongError", "Your key is too long", 400, Size=len(key.encode()), MaxSizeAllowed=1024)


def _check_checksum_format(alg: str, value: str) -> None:
    width = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}[alg]
    try:
        ok = len(base64.b64decode(value, validate=True)) == width
    except (binascii.Error, ValueError):
        ok = False
    if not ok:
        raise AwsError("InvalidRequest", f"Value for x-amz-checksum-{alg.lower()} header is invalid.")


def _parse_range(text: str, size: int) -> tuple[int, int] | None:
    """(start, length) for a single byte range; None to serve the whole object (a malformed or
    multi-range header is ignored, as S3 does); raises InvalidRange when unsatisfiable."""
    m = _RANGE.match(text.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _invalid_range(text, size)
        start = max(size - suffix, 0)
        return start, size - start
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _invalid_range(text, size)
    end = min(end, size - 1)
    return start, end - start + 1


def _invalid_range(text: str, size: int) -> AwsError:
    return AwsError("InvalidRange", "The requested range is not satisfiable", 416, RangeRequested=text,
                    ActualObjectSize=size, _headers={"Content-Range": f"bytes */{size}"})


def _parse_tagging_header(text: str) -> dict:
    from urllib.parse import parse_qsl

    pairs = parse_qsl(text, keep_blank_values=True)
    tags = dict(pairs)
    if len(tags) != len(pairs) or any(not _TAG_TEXT.match(k) or not _TAG_TEXT.match(v) for k, v in pairs):
        raise invalid_argument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                               "parameters without tag name duplicates.", "x-amz-tagging", text)
    _check_object_tags([{"Key": k, "Value": v} for k, v in tags.items()])
    return tags


def _check_object_tags(tags: list) -> None:
    if len(tags) > 10:
        raise AwsError("BadRequest", "Object tags cannot be greater than 10")
    _check_tag_set(tags)
    for tag in tags:
        if tag["Key"].startswith("aws:"):
            raise AwsError("InvalidTag", "Your TagKey cannot be prefixed with aws:", TagKey=tag["Key"])


# what a tag key or value may hold: Unicode letters and digits, white space, and _ . : / = + - @
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")


def _check_tag_set(tags: list) -> None:
    """A TagSet as S3 checks it (bucket and object tags alike; AWS's recorded answers): a tag
    without its key or value is MalformedXML, then duplicates, then each key and value."""
    for tag in tags:
        if not isinstance(tag, dict) or tag.get("Key") is None or tag.get("Value") is None:
            raise malformed_xml()
    seen = set()
    for tag in tags:
        if tag["Key"] in seen:
            raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=tag["Key"])
        seen.add(tag["Key"])
    for tag in tags:
        key, value = tag["Key"], tag["Value"]
        if not key or len(key) > 128 or not _TAG_TEXT.match(key):
            raise AwsError("InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
        if len(value) > 256 or not _TAG_TEXT.match(value):
            raise AwsError("InvalidTag", "The TagValue you have provided is invalid", TagKey=key, TagValue=value)


_RFC2047 = re.compile(r"^=\?([^?]+)\?([QqBb])\?(.*)\?=$", re.S)


def _rfc2047_decoded(value: str) -> str:
    """User metadata given RFC 2047-encoded (`=?UTF-8?B?YWJj?=`) is stored decoded, as S3 does (its
    answers encode again only what HTTP cannot carry: AWS's recorded answers)."""
    match = _RFC2047.match(value) if value.startswith("=?") else None
    if match is None:
        return value
    charset, kind, text = match.groups()
    try:
        if kind in "Bb":
            raw = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            raw = quopri.decodestring(text.replace("_", " ").encode("latin-1"), header=True)
        return raw.decode(charset, errors="replace")
    except (binascii.Error, ValueError, LookupError, UnicodeEncodeError):
        return value


def check_website(value: dict) -> None:
    """A website configuration as S3 checks it, in its order (AWS's recorded answers)."""
    if value.get("RedirectAllRequestsTo") and any(value.get(k) is not None for k in (
            "IndexDocument", "ErrorDocument", "RoutingRules")):
        raise invalid_argument("RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
                               "RedirectAllRequestsTo", "not null")
    if value.get("IndexDocument") is None and not value.get("RedirectAllRequestsTo"):
        raise invalid_argument("A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
                               "IndexDocument", "null")
    suffix = (value.get("IndexDocument") or {}).get("Suffix")
    if value.get("IndexDocument") is not None and (not suffix or "/" in suffix):
        raise invalid_argument("The IndexDocument Suffix is not well formed", "IndexDocument", suffix)
    rules = value.get("RoutingRules")
    if rules is not None and not rules:
        raise malformed_xml()
    for rule in rules or []:
        redirect = rule.get("Redirect") or {}
        if redirect.get("Protocol") is not None and redirect["Protocol"] not in ("http", "https"):
            raise AwsError("InvalidRequest", "Invalid protocol, protocol can be http or https. If not defined the "
                           "protocol will be selected automatically.")
        if redirect.get("ReplaceKeyPrefixWith") is not None and redirect.get("ReplaceKeyWith") is not None:
            raise AwsError("InvalidRequest", "You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
        if "Condition" in rule and not rule["Condition"]:
            raise AwsError("InvalidRequest", "Condition cannot be empty. To redirect all requests without a "
                           "condition, the condition element shouldn't be present.")


def _check_bypass(bucket: Bucket, params) -> None:
    """x-amz-bypass-governance-retention, true or false, is refused on a bucket without Object Lock."""
    if params.get("BypassGovernanceRetention") is not None and not bucket.object_lock:
        raise invalid_argument("x-amz-bypass-governance-retention is only applicable to Object Lock enabled "
                               "buckets.", "x-amz-bypass-governance-retention", _NO_VALUE)


def _java_date(value: datetime.datetime) -> str:
    """A date as S3 quotes it back in some errors: Java's Date.toString in the service's zone
    (`Tue Dec 31 16:00:00 PST 2019`, AWS's recorded answer)."""
    local = value.astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    return local.strftime("%a %b %d %H:%M:%S %Z %Y")


@functools.cache
def _aws_regions() -> frozenset:
    """The regions S3 is in, from botocore's endpoint data (ListBuckets' BucketRegion is checked)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_regions("s3"))


def _check_lifecycle_rule(rule: dict) -> None:
    """A lifecycle rule as S3's schema takes it (AWS's recorded answers): Status Enabled or Disabled,
    a Filter or the legacy Prefix, a Filter with one condition (several go under And), an
    Expiration with one of Days, Date or ExpiredObjectDeleteMarker, a Date at midnight GMT, a
    NoncurrentVersionExpiration with its days, tag keys once in an And."""
    if rule.get("Status") not in ("Enabled", "Disabled"):
        raise malformed_xml()
    if "Filter" not in rule and "Prefix" not in rule:
        raise malformed_xml()
    flt = rule.get("Filter") or {}
    conditions = [k for k in ("Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan")
                  if flt.get(k) is not None]
    if len(conditions) > 1:
        raise malformed_xml()
    keys = [t.get("Key") for t in (flt.get("And") or {}).get("Tags") or []]
    if len(keys) != len(set(keys)):
        raise AwsError("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    expiration = rule.get("Expiration")
    if expiration is not None:
        given = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if expiration.get(k) is not None]
        if len(given) != 1:
            raise malformed_xml()
        date = expiration.get("Date")
        if date is not None and _as_epoch(date) % 86400:
            raise invalid_argument("'Date' must be at midnight GMT", "Date", date.isoformat()
                                   if isinstance(date, datetime.datetime) else date)
    noncurrent = rule.get("NoncurrentVersionExpiration")
    if noncurrent is not None and noncurrent.get("NoncurrentDays") is None:
        raise malformed_xml()


def _rule_filter(rule: dict) -> tuple[str, dict]:
    flt = rule.get("Filter") or {}
    prefix = flt.get("Prefix") or rule.get("Prefix") or ""
    tags = {}
    if flt.get("Tag"):
        tags[flt["Tag"]["Key"]] = flt["Tag"]["Value"]
    both = flt.get("And") or {}
    if both:
        prefix = both.get("Prefix") or prefix
        for tag in both.get("Tags") or []:
            tags[tag["Key"]] = tag["Value"]
    return prefix, tags


def _rule_applies(rule: dict, key: str, size: int, object_tags: dict | None) -> bool:
    """Whether a lifecycle rule's filter (prefix, tags, object size bounds) takes this object."""
    prefix, tags = _rule_filter(rule)
    if not key.startswith(prefix):
        return False
    if tags and any((object_tags or {}).get(k) != v for k, v in tags.items()):
        return False
    flt = rule.get("Filter") or {}
    both = flt.get("And") or {}
    greater = both.get("ObjectSizeGreaterThan", flt.get("ObjectSizeGreaterThan"))
    less = both.get("ObjectSizeLessThan", flt.get("ObjectSizeLessThan"))
    return (greater is None or size > greater) and (less is None or size < less)


def _as_epoch(value) -> float:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _next_midnight(epoch: float) -> float:
    """S3 rounds lifecycle due times up to the next midnight UTC."""
    day = 86400
    return epoch if epoch % day == 0 else (epoch // day + 1) * day


def _copy_whole(writer: BlobWriter, blobs: BlobStore, key: str | None, size: int) -> None:
    if key is None or size == 0:
        writer._open()
    else:
        copy_range_into(writer, blobs, key, 0, size)


def _copy_part(writer: BlobWriter, blobs: BlobStore, key: str | None, start: int, length: int) -> None:
    if key is None or length == 0:
        writer._open()
    else:
        copy_range_into(writer, blobs, key, start, length)


def plain(value):
    """A configuration as JSON can hold it: timestamps as epoch seconds."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value
