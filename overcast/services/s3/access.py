"""Who may use a bucket. Bucket names are global, so another account (or an anonymous caller) can
address any bucket by name: AWS lets it when the bucket policy allows the action, or — when no
statement denies it — when the bucket's or the object's ACL grants it (acl.py). The bucket's own
account is never refused (IAM is not enforced)."""

from __future__ import annotations

from overcast.aws import policy
from overcast.aws.errors import AwsError

# S3 operations whose IAM action is not s3:<operation name>; the rest map one to one.
_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListParts": "s3:ListMultipartUploadParts",
    "HeadObject": "s3:GetObject",
    "GetObjectAttributes": "s3:GetObject",
    "CopyObject": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "DeleteObjects": "s3:DeleteObject",
    "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "PutBucketCors": "s3:PutBucketCORS",
    "GetBucketCors": "s3:GetBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "PutBucketAccelerateConfiguration": "s3:PutAccelerateConfiguration",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "PutBucketReplication": "s3:PutReplicationConfiguration",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "DeleteBucketWebsite": "s3:DeleteBucketWebsite",
}

# Only identities of the bucket owner's account may read or change the bucket policy itself;
# another account gets 405 even when the policy grants it (AWS's Get/Put/DeleteBucketPolicy docs).
_OWNER_ONLY = {"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"}

_OBJECT_OPERATIONS_WITHOUT_KEY = {"DeleteObjects"}


def action_of(operation: str) -> str:
    return _ACTIONS.get(operation) or f"s3:{operation}"


def access_denied() -> AwsError:
    return AwsError("AccessDenied", "Access Denied", 403)


def check(ctx, bucket, key: str | None, operation: str | None = None, acl_admits=None) -> None:
    """Refuse another account's request on `bucket` (a Bucket) unless its policy allows it or,
    with no statement denying it, `acl_admits(operation)` (its ACLs grant it)."""
    if bucket.account == ctx.account:
        return
    operation = operation or ctx.operation
    if operation in _OWNER_ONLY:
        raise AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405,
                       Method=ctx.request.method, ResourceType="BUCKETPOLICY")
    resource = f"arn:aws:s3:::{bucket.name}"
    if key is not None:
        resource = f"{resource}/{key}"
    elif operation in _OBJECT_OPERATIONS_WITHOUT_KEY:
        resource = f"{resource}/*"
    principal = policy.caller(ctx)
    request = policy.Request(principal, action_of(operation), resource,
                             policy.request_context(ctx, principal, **{"s3:ResourceAccount": bucket.account}))
    decision = policy.evaluate(bucket_policy(bucket), request)
    if decision == policy.ALLOW or decision is None and acl_admits is not None and acl_admits(operation):
        return
    raise access_denied()


def check_expected_owner(expected: str | None, bucket) -> None:
    """`ExpectedBucketOwner` (x-amz-expected-bucket-owner): an account ID, or 400; another account
    than the bucket's, 403 AccessDenied (the S3 API reference, AWS's recorded answers)."""
    if expected is None:
        return
    if not (len(expected) == 12 and expected.isascii() and expected.isdigit()):
        raise AwsError("InvalidBucketOwnerAWSAccountID",
                       f"The value of the expected bucket owner parameter must be an AWS Account ID... [{expected}]")
    if expected != bucket.account:
        raise access_denied()


def bucket_policy(bucket) -> str | None:
    return (bucket.config.get("policy") or {}).get("Policy")


def check_account(account: str, bucket, key: str, action: str = "s3:GetObject") -> None:
    """`check` for a service reading on an account's behalf, without a request of its own."""
    if bucket.account == account:
        return
    request = policy.Request(policy.Principal(account), action, f"arn:aws:s3:::{bucket.name}/{key}",
                             {"aws:principalaccount": account})
    if not policy.allows(bucket_policy(bucket), request, bucket.account):
        raise access_denied()
