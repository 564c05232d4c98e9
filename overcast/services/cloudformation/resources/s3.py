"""AWS::S3::Bucket (notifications, website, CORS, lifecycle, versioning, tags, encryption, public
access block) and AWS::S3::BucketPolicy, through the S3 provider."""

from __future__ import annotations

import json
import re

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType


def _filter(value: dict | None) -> dict | None:
    rules = ((value or {}).get("S3Key") or {}).get("Rules")
    return {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}} if rules else None


def notification(config: dict | None) -> dict:
    config = config or {}
    out: dict = {}
    for source, target, arn_key, member in (("LambdaConfigurations", "LambdaFunctionConfigurations",
                                             "LambdaFunctionArn", "Function"),
                                            ("QueueConfigurations", "QueueConfigurations", "QueueArn", "Queue"),
                                            ("TopicConfigurations", "TopicConfigurations", "TopicArn", "Topic")):
        items = []
        for item in config.get(source) or []:
            entry = {arn_key: item[member], "Events": [item["Event"]]}
            if _filter(item.get("Filter")):
                entry["Filter"] = _filter(item["Filter"])
            items.append(entry)
        if items:
            out[target] = items
    if (config.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled") in (True, "true"):
        out["EventBridgeConfiguration"] = {}
    return out


def website(config: dict) -> dict:
    out: dict = {}
    if config.get("IndexDocument"):
        out["IndexDocument"] = {"Suffix": config["IndexDocument"]}
    if config.get("ErrorDocument"):
        out["ErrorDocument"] = {"Key": config["ErrorDocument"]}
    if config.get("RedirectAllRequestsTo"):
        out["RedirectAllRequestsTo"] = config["RedirectAllRequestsTo"]
    if config.get("RoutingRules"):
        out["RoutingRules"] = [{**({"Condition": r["RoutingRuleCondition"]} if r.get("RoutingRuleCondition") else {}),
                                "Redirect": r.get("RedirectRule") or {}} for r in config["RoutingRules"]]
    return out


def cors(config: dict) -> dict:
    rules = []
    for rule in config.get("CorsRules") or []:
        entry = {k: rule[k] for k in ("AllowedHeaders", "AllowedMethods", "AllowedOrigins") if rule.get(k)}
        if rule.get("ExposedHeaders"):  # (S3's name for it: ExposeHeaders)
            entry["ExposeHeaders"] = rule["ExposedHeaders"]
        if rule.get("Id"):
            entry["ID"] = rule["Id"]
        if rule.get("MaxAge") is not None:
            entry["MaxAgeSeconds"] = int(rule["MaxAge"])
        rules.append(entry)
    return {"CORSRules": rules}


def logging_status(config: dict, bucket: str) -> dict:
    """LoggingConfiguration's DestinationBucketName and LogFilePrefix as S3's LoggingEnabled (no
    destination: the bucket logs to itself, as CloudFormation documents)."""
    return {"LoggingEnabled": {"TargetBucket": config.get("DestinationBucketName") or bucket,
                               "TargetPrefix": config.get("LogFilePrefix", "")}}


def lifecycle(config: dict) -> dict:
    rules = []
    for rule in config.get("Rules") or []:
        entry: dict = {"Status": rule.get("Status", "Enabled")}
        if rule.get("Id"):
            entry["ID"] = rule["Id"]
        conditions = []
        if rule.get("Prefix") is not None:
            conditions.append(("Prefix", rule["Prefix"]))
        for tag in rule.get("TagFilters") or []:
            conditions.append(("Tag", {"Key": tag["Key"], "Value": tag["Value"]}))
        if len(conditions) > 1:
            entry["Filter"] = {"And": {"Prefix": rule.get("Prefix", ""), "Tags": [c[1] for c in conditions
                                                                                  if c[0] == "Tag"]}}
        elif conditions:
            entry["Filter"] = {conditions[0][0]: conditions[0][1]}
        else:
            entry["Filter"] = {"Prefix": ""}
        if rule.get("ExpirationInDays") is not None:
            entry["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        elif rule.get("ExpirationDate"):
            entry["Expiration"] = {"Date": rule["ExpirationDate"]}
        elif rule.get("ExpiredObjectDeleteMarker") is not None:
            entry["Expiration"] = {"ExpiredObjectDeleteMarker": bool(rule["ExpiredObjectDeleteMarker"])}
        transitions = list(rule.get("Transitions") or []) + ([rule["Transition"]] if rule.get("Transition") else [])
        if transitions:
            entry["Transitions"] = [{"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
                                    if t.get("TransitionInDays") is not None else
                                    {"Date": t["TransitionDate"], "StorageClass": t["StorageClass"]}
                                    for t in transitions]
        if rule.get("NoncurrentVersionExpirationInDays") is not None:
            entry["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
        elif rule.get("NoncurrentVersionExpiration"):
            entry["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
        if rule.get("AbortIncompleteMultipartUpload"):
            entry["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
        rules.append(entry)
    return {"Rules": rules}


def canned_acl(value: str) -> str:
    """AccessControl's PublicRead -> S3's canned ACL public-read (AwsExecRead -> aws-exec-read)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", value).lower()


# property -> (put operation, what its removal from the template does: a delete operation, the
# parameter's value put to turn it off, or None (it stays), parameter name, converter of the
# property's value (and the bucket's name) to the parameter's)
_CONFIGS = {
    "WebsiteConfiguration": ("PutBucketWebsite", "DeleteBucketWebsite", "WebsiteConfiguration",
                             lambda c, _b: website(c)),
    "CorsConfiguration": ("PutBucketCors", "DeleteBucketCors", "CORSConfiguration", lambda c, _b: cors(c)),
    "LifecycleConfiguration": ("PutBucketLifecycleConfiguration", "DeleteBucketLifecycle", "LifecycleConfiguration",
                               lambda c, _b: lifecycle(c)),
    "VersioningConfiguration": ("PutBucketVersioning", None, "VersioningConfiguration",
                                lambda c, _b: {"Status": c.get("Status", "Suspended")}),
    "PublicAccessBlockConfiguration": ("PutPublicAccessBlock", "DeletePublicAccessBlock",
                                       "PublicAccessBlockConfiguration", lambda c, _b: c),
    "BucketEncryption": ("PutBucketEncryption", "DeleteBucketEncryption", "ServerSideEncryptionConfiguration",
                         lambda c, _b: {"Rules": c.get("ServerSideEncryptionConfiguration") or []}),
    "OwnershipControls": ("PutBucketOwnershipControls", "DeleteBucketOwnershipControls", "OwnershipControls",
                          lambda c, _b: c),
    # (a bucket's object lock cannot be turned off: its configuration left out of the template stays)
    "ObjectLockConfiguration": ("PutObjectLockConfiguration", None, "ObjectLockConfiguration", lambda c, _b: c),
    "AccelerateConfiguration": ("PutBucketAccelerateConfiguration", {"Status": "Suspended"}, "AccelerateConfiguration",
                                lambda c, _b: {"Status": c.get("AccelerationStatus", "Suspended")}),
    "LoggingConfiguration": ("PutBucketLogging", {}, "BucketLoggingStatus", logging_status),
}


class Bucket(ResourceType):
    type_name = "AWS::S3::Bucket"
    name_length = 63
    name_lower = True

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("BucketName", 63, lower=True)
        params = {"Bucket": name}
        if op.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": op.region}
        if props.get("ObjectLockEnabled"):
            params["ObjectLockEnabledForBucket"] = True
        await op.call("s3", "CreateBucket", params)
        await self._configure(op, name, {}, props)
        return name, self._attributes(op, name)

    def _attributes(self, op: ResourceOp, name: str) -> dict:
        port = op.providers.config.port or 4566
        return {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{op.region}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{op.region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website.localhost.localstack.cloud:{port}"}

    async def _configure(self, op: ResourceOp, name: str, old: dict, new: dict) -> None:
        for prop, (put, delete, member, convert) in _CONFIGS.items():
            if new.get(prop) == old.get(prop):
                continue
            if new.get(prop) is not None:
                await op.call("s3", put, {"Bucket": name, member: convert(new[prop], name)})
            elif isinstance(delete, dict):
                await op.call("s3", put, {"Bucket": name, member: delete})
            elif delete is not None:
                await op.call("s3", delete, {"Bucket": name})
        if new.get("AccessControl") != old.get("AccessControl"):  # after OwnershipControls and the public access block
            await op.call("s3", "PutBucketAcl", {"Bucket": name, "ACL": canned_acl(new.get("AccessControl") or "Private")})
        if new.get("Tags") != old.get("Tags"):
            if new.get("Tags"):
                await op.call("s3", "PutBucketTagging", {"Bucket": name, "Tagging": {"TagSet": new["Tags"]}})
            else:
                await op.call("s3", "DeleteBucketTagging", {"Bucket": name})
        if new.get("NotificationConfiguration") != old.get("NotificationConfiguration"):
            await op.call("s3", "PutBucketNotificationConfiguration", {
                "Bucket": name, "NotificationConfiguration": notification(new.get("NotificationConfiguration"))})

    async def update(self, op: ResourceOp):
        await self._configure(op, op.physical_id, op.old_properties, op.properties)
        return self._attributes(op, op.physical_id)

    async def delete(self, op: ResourceOp):
        await op.call("s3", "DeleteBucket", {"Bucket": op.physical_id})


class BucketPolicy(ResourceType):
    type_name = "AWS::S3::BucketPolicy"

    async def create(self, op: ResourceOp):
        await self._put(op)
        return op.properties["Bucket"], {}

    async def _put(self, op: ResourceOp):
        document = op.properties.get("PolicyDocument")
        await op.call("s3", "PutBucketPolicy", {"Bucket": op.properties["Bucket"], "Policy": document if isinstance(
            document, str) else json.dumps(document)})

    async def update(self, op: ResourceOp):
        await self._put(op)
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("s3", "DeleteBucketPolicy", {"Bucket": op.physical_id})
