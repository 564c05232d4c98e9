"""Access control lists: canned ACLs, x-amz-grant-* headers and AccessControlPolicy documents
turned into the grants S3 answers (the "Access control list (ACL) overview" of the S3 user guide),
with AWS's validation errors, and the bucket settings that refuse them: Object Ownership's
BucketOwnerEnforced (ACLs disabled: AccessControlListNotSupported) and Block Public Access's
BlockPublicAcls (AccessDenied).

An ACL is kept as S3 answers it: {"Owner": {"ID": ...}, "Grants": [{"Grantee": ..., "Permission": ...}]}."""

from __future__ import annotations

import re

from overcast.aws.errors import AwsError

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
_GROUPS = frozenset((ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY))
_PUBLIC_GROUPS = frozenset((ALL_USERS, AUTHENTICATED_USERS))
# the canonical user aws-exec-read grants READ: Amazon EC2, which reads AMI bundles
_EC2_CANONICAL_ID = "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"
_PERMISSIONS = frozenset(("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"))
_CANONICAL_ID = re.compile(r"^[0-9a-f]{64}$")
# request parameter -> (header, permission)
GRANT_PARAMS = {
    "GrantFullControl": ("x-amz-grant-full-control", "FULL_CONTROL"),
    "GrantRead": ("x-amz-grant-read", "READ"),
    "GrantReadACP": ("x-amz-grant-read-acp", "READ_ACP"),
    "GrantWrite": ("x-amz-grant-write", "WRITE"),
    "GrantWriteACP": ("x-amz-grant-write-acp", "WRITE_ACP"),
}
_GRANT_ITEM = re.compile(r'^\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*$')
_NOT_WELL_FORMED = ("The XML you provided was not well-formed or did not validate against our published schema")
_OWNERSHIP_DEFAULT = "BucketOwnerEnforced"


def _user(canonical_id: str) -> dict:
    return {"ID": canonical_id, "Type": "CanonicalUser"}


def _group(uri: str) -> dict:
    return {"Type": "Group", "URI": uri}


def _grant(grantee: dict, permission: str) -> dict:
    return {"Grantee": grantee, "Permission": permission}


def private(owner_id: str) -> dict:
    """The ACL of a resource created without one: its owner's FULL_CONTROL."""
    return {"Owner": {"ID": owner_id}, "Grants": [_grant(_user(owner_id), "FULL_CONTROL")]}


def canned(name: str, owner_id: str, bucket_owner_id: str) -> list[dict]:
    """The grants of a canned ACL (the S3 user guide's table); `bucket_owner_id` matters to the
    bucket-owner-* ACLs of an object written by another account."""
    grants = [_grant(_user(owner_id), "FULL_CONTROL")]
    if name == "public-read":
        grants.append(_grant(_group(ALL_USERS), "READ"))
    elif name == "public-read-write":
        grants += [_grant(_group(ALL_USERS), "READ"), _grant(_group(ALL_USERS), "WRITE")]
    elif name == "authenticated-read":
        grants.append(_grant(_group(AUTHENTICATED_USERS), "READ"))
    elif name == "aws-exec-read":
        grants.append(_grant(_user(_EC2_CANONICAL_ID), "READ"))
    elif name == "log-delivery-write":
        grants += [_grant(_group(LOG_DELIVERY), "WRITE"), _grant(_group(LOG_DELIVERY), "READ_ACP")]
    elif name in ("bucket-owner-read", "bucket-owner-full-control"):
        if bucket_owner_id != owner_id:
            grants.append(_grant(_user(bucket_owner_id), "READ" if name == "bucket-owner-read" else "FULL_CONTROL"))
    elif name != "private":
        # an empty Message (AWS's recorded answer)
        raise AwsError("InvalidArgument", "", ArgumentName="x-amz-acl", ArgumentValue=name)
    return grants


def _invalid(message: str, name: str, value: str) -> AwsError:
    return AwsError("InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def _unresolvable(email: str) -> AwsError:
    # overcast's accounts have no e-mail addresses: none resolves (AWS's error for an unknown one)
    return AwsError("UnresolvableGrantByEmailAddress", "The e-mail address you provided does not match any account "
                    "on record.", EmailAddress=email)


def _header_grants(header: str, permission: str, value: str) -> list[dict]:
    """x-amz-grant-*: a comma-separated list of id="...", uri="..." or emailAddress="..."."""
    grants = []
    for item in value.split(","):
        match = _GRANT_ITEM.match(item)
        if match is None or match.group(1) not in ("id", "uri", "emailAddress"):
            raise _invalid("Argument format not recognized", header, value)
        kind, target = match.groups()
        if kind == "id":
            if not _CANONICAL_ID.match(target):
                raise _invalid("Invalid id", "id", target)
            grants.append(_grant(_user(target), permission))
        elif kind == "uri":
            if target not in _GROUPS:
                raise _invalid("Invalid group uri", "uri", target)
            grants.append(_grant(_group(target), permission))
        else:
            raise _unresolvable(target)
    return grants


def _policy_grants(policy: dict) -> list[dict]:
    """An AccessControlPolicy document's grants, checked as S3 checks them: an Owner is required
    and every grant names a known permission and a grantee of its type."""
    malformed = AwsError("MalformedACLError", _NOT_WELL_FORMED)
    owner = policy.get("Owner")
    if not isinstance(owner, dict) or not owner.get("ID"):
        raise malformed
    if not _CANONICAL_ID.match(owner["ID"]):
        raise _invalid("Invalid id", "CanonicalUser/ID", owner["ID"])
    grants = []
    for grant in policy.get("Grants") or []:
        grantee, permission = grant.get("Grantee") or {}, grant.get("Permission")
        if permission not in _PERMISSIONS:
            raise malformed
        kind = grantee.get("Type")
        if kind == "CanonicalUser" and grantee.get("ID"):
            if not _CANONICAL_ID.match(grantee["ID"]):
                raise _invalid("Invalid id", "CanonicalUser/ID", grantee["ID"])
            grants.append(_grant(_user(grantee["ID"]), permission))
        elif kind == "Group" and grantee.get("URI"):
            if grantee["URI"] not in _GROUPS:
                raise _invalid("Invalid group uri", "Group/URI", grantee["URI"])
            grants.append(_grant(_group(grantee["URI"]), permission))
        elif kind == "AmazonCustomerByEmail" and grantee.get("EmailAddress"):
            raise _unresolvable(grantee["EmailAddress"])
        else:
            raise malformed
    return grants


def from_request(params: dict, owner_id: str, bucket_owner_id: str, body: bool = False) -> dict | None:
    """The ACL a request sets (a canned ACL, grant headers or, for Put*Acl, a document), or None
    when it sets none. `body`: the request may carry an AccessControlPolicy."""
    name = params.get("ACL")
    headers = {param: value for param, value in ((p, params.get(p)) for p in GRANT_PARAMS) if value is not None}
    policy = params.get("AccessControlPolicy") if body else None
    if name is not None and headers:
        raise AwsError("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    if policy is not None and (name is not None or headers):
        raise AwsError("UnexpectedContent", "This request does not support content")
    if name is not None:
        grants = canned(name, owner_id, bucket_owner_id)
    elif headers:
        grants = [g for param, value in headers.items() for g in _header_grants(*GRANT_PARAMS[param], value)]
    elif policy is not None:
        grants = _policy_grants(policy)
    else:
        return None
    return {"Owner": {"ID": owner_id}, "Grants": grants}


def missing(body: bytes) -> AwsError:
    """Put*Acl that set nothing: an empty AccessControlPolicy document is malformed; no document
    and no header, a missing header."""
    if body.strip():
        return AwsError("MalformedACLError", _NOT_WELL_FORMED)
    return AwsError("MissingSecurityHeader", "Your request was missing a required header", MissingHeaderName="x-amz-acl")


def ownership(bucket) -> str:
    """The bucket's Object Ownership: its rule; BucketOwnerEnforced for a bucket created without
    one; ObjectWriter once the ownership controls were deleted (S3's behaviour before them)."""
    stored = bucket.config.get("ownership", False)
    if stored is False:
        return _OWNERSHIP_DEFAULT
    if stored is None:
        return "ObjectWriter"
    return stored["OwnershipControls"]["Rules"][0]["ObjectOwnership"]


def owner_only(acl: dict, owner_id: str) -> bool:
    """Whether an ACL grants nothing beyond the (bucket) owner's full control: the one form a
    bucket with ACLs disabled accepts."""
    return all(g["Grantee"].get("ID") == owner_id and g["Permission"] == "FULL_CONTROL" for g in acl["Grants"])


def is_public(acl: dict) -> bool:
    return any(g["Grantee"].get("URI") in _PUBLIC_GROUPS for g in acl["Grants"])


def _public_access_block(bucket) -> dict:
    stored = bucket.config.get("public_access_block", False)
    if stored is False:  # a new bucket's default: every block on
        return {"BlockPublicAcls": True, "IgnorePublicAcls": True}
    return (stored or {}).get("PublicAccessBlockConfiguration") or {}


def check_settable(bucket, acl: dict, bucket_owner_id: str) -> None:
    """Refuse an ACL the bucket's settings do not allow: with ACLs disabled anything but the bucket
    owner's full control (400 AccessControlListNotSupported); with BlockPublicAcls a public one
    (403 AccessDenied)."""
    if ownership(bucket) == "BucketOwnerEnforced" and not owner_only(acl, bucket_owner_id):
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs")
    if is_public(acl) and _public_access_block(bucket).get("BlockPublicAcls"):
        raise AwsError("AccessDenied", "Access Denied", 403)


def answered(bucket, stored: dict | None, bucket_owner_id: str) -> dict:
    """What Get*Acl answers: with ACLs disabled always the bucket owner's full control."""
    if stored is None or ownership(bucket) == "BucketOwnerEnforced":
        return private(bucket_owner_id)
    return stored


# what an operation needs of an ACL: (of the object rather than the bucket, permission); the S3
# user guide's "ACL permissions" table
NEEDS = {
    "GetObject": (True, "READ"), "HeadObject": (True, "READ"), "GetObjectAcl": (True, "READ_ACP"),
    "PutObjectAcl": (True, "WRITE_ACP"),
    "HeadBucket": (False, "READ"), "ListObjects": (False, "READ"), "ListObjectsV2": (False, "READ"),
    "ListObjectVersions": (False, "READ"), "ListMultipartUploads": (False, "READ"),
    "PutObject": (False, "WRITE"), "DeleteObject": (False, "WRITE"), "DeleteObjects": (False, "WRITE"),
    "CreateMultipartUpload": (False, "WRITE"), "UploadPart": (False, "WRITE"),
    "CompleteMultipartUpload": (False, "WRITE"), "AbortMultipartUpload": (False, "WRITE"),
    "GetBucketAcl": (False, "READ_ACP"), "PutBucketAcl": (False, "WRITE_ACP"),
}


def admits(bucket, stored: dict | None, caller_id: str | None, permission: str) -> bool:
    """Whether an ACL grants a caller (its canonical ID; None when anonymous) a permission, as S3
    evaluates it: never with ACLs disabled; public grants not with IgnorePublicAcls."""
    if stored is None or ownership(bucket) == "BucketOwnerEnforced":
        return False
    ignore_public = _public_access_block(bucket).get("IgnorePublicAcls")
    for grant in stored["Grants"]:
        if grant["Permission"] not in (permission, "FULL_CONTROL"):
            continue
        grantee = grant["Grantee"]
        uri = grantee.get("URI")
        if uri in _PUBLIC_GROUPS and not ignore_public and (uri == ALL_USERS or caller_id is not None):
            return True
        if caller_id is not None and grantee.get("ID") == caller_id:
            return True
    return False


def check_ownership_change(bucket, new_ownership: str, bucket_owner_id: str) -> None:
    """BucketOwnerEnforced needs a bucket ACL that grants only the owner's full control (the S3
    user guide's prerequisites for disabling ACLs)."""
    stored = bucket.config.get("acl")
    if new_ownership == "BucketOwnerEnforced" and stored and not owner_only(stored, bucket_owner_id):
        raise AwsError("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's "
                       "BucketOwnerEnforced setting")
