"""AWS::ECR::Repository, through the ECR provider."""

from __future__ import annotations

import json

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, is_missing


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class Repository(ResourceType):
    type_name = "AWS::ECR::Repository"
    name_length = 256
    name_lower = True

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("RepositoryName", 256, lower=True)
        scanning = props.get("ImageScanningConfiguration") or {}
        encryption = props.get("EncryptionConfiguration")
        await op.call("ecr", "CreateRepository", {
            "repositoryName": name, "imageTagMutability": props.get("ImageTagMutability"),
            "imageTagMutabilityExclusionFilters": [
                {"filterType": f["FilterType"], "filter": f["Filter"]}
                for f in props.get("ImageTagMutabilityExclusionFilters") or []] or None,
            "imageScanningConfiguration": {"scanOnPush": str(scanning.get("ScanOnPush", False)).lower() == "true"},
            "encryptionConfiguration": {"encryptionType": encryption.get("EncryptionType"),
                                        "kmsKey": encryption.get("KmsKey")} if encryption else None,
            "tags": props.get("Tags") or None})
        await self._policies(op, name, props, {})
        return name, self._attributes(op, name)

    @staticmethod
    def _attributes(op: ResourceOp, name: str) -> dict:
        return {"Arn": f"arn:aws:ecr:{op.region}:{op.account}:repository/{name}",
                "RepositoryUri": f"{op.account}.dkr.ecr.{op.region}.amazonaws.com/{name}"}

    async def _policies(self, op: ResourceOp, name: str, props: dict, old: dict) -> None:
        lifecycle = (props.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        old_lifecycle = (old.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if lifecycle != old_lifecycle:
            if lifecycle:
                await op.call("ecr", "PutLifecyclePolicy", {"repositoryName": name,
                                                            "lifecyclePolicyText": _text(lifecycle)})
            else:
                await op.call("ecr", "DeleteLifecyclePolicy", {"repositoryName": name})
        policy, old_policy = props.get("RepositoryPolicyText"), old.get("RepositoryPolicyText")
        if policy != old_policy:
            if policy:
                await op.call("ecr", "SetRepositoryPolicy", {"repositoryName": name, "policyText": _text(policy)})
            else:
                await op.call("ecr", "DeleteRepositoryPolicy", {"repositoryName": name})

    async def update(self, op: ResourceOp):
        name, props, old = op.physical_id, op.properties, op.old_properties
        if props.get("ImageTagMutability") != old.get("ImageTagMutability") or \
                props.get("ImageTagMutabilityExclusionFilters") != old.get("ImageTagMutabilityExclusionFilters"):
            await op.call("ecr", "PutImageTagMutability", {
                "repositoryName": name, "imageTagMutability": props.get("ImageTagMutability") or "MUTABLE",
                "imageTagMutabilityExclusionFilters": [
                    {"filterType": f["FilterType"], "filter": f["Filter"]}
                    for f in props.get("ImageTagMutabilityExclusionFilters") or []] or None})
        if props.get("ImageScanningConfiguration") != old.get("ImageScanningConfiguration"):
            scanning = props.get("ImageScanningConfiguration") or {}
            await op.call("ecr", "PutImageScanningConfiguration", {"repositoryName": name, "imageScanningConfiguration": {
                "scanOnPush": str(scanning.get("ScanOnPush", False)).lower() == "true"}})
        await self._policies(op, name, props, old)
        arn = self._attributes(op, name)["Arn"]
        tags = {t["Key"]: t.get("Value", "") for t in props.get("Tags") or []}
        old_tags = {t["Key"]: t.get("Value", "") for t in old.get("Tags") or []}
        gone = [k for k in old_tags if k not in tags]
        if gone:
            await op.call("ecr", "UntagResource", {"resourceArn": arn, "tagKeys": gone})
        if tags and tags != old_tags:
            await op.call("ecr", "TagResource", {"resourceArn": arn, "tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]})
        return self._attributes(op, name)

    async def delete(self, op: ResourceOp):
        try:
            await op.call("ecr", "DeleteRepository", {"repositoryName": op.physical_id, "force": True})
        except AwsError as e:
            if not is_missing(e):
                raise
