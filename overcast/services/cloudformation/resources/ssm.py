"""AWS::SSM::Parameter, through the SSM Parameter Store provider."""

from __future__ import annotations

from overcast.aws.errors import AwsError
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    is_missing,
)


def _put_params(name: str, props: dict, overwrite: bool) -> dict:
    if props.get("Type") == "SecureString":
        raise ResourceFailed("SecureString parameters cannot be created through CloudFormation: AWS refuses them, "
                             "use a String parameter or a {{resolve:ssm-secure:...}} reference")
    return {"Name": name, "Value": str(props.get("Value", "")), "Type": props.get("Type"),
            "Description": props.get("Description"), "AllowedPattern": props.get("AllowedPattern"),
            "Tier": props.get("Tier"), "Policies": props.get("Policies"), "DataType": props.get("DataType"),
            "Overwrite": overwrite or None}


class Parameter(ResourceType):
    type_name = "AWS::SSM::Parameter"
    extra_attributes = frozenset({"Type", "Value"})  # documented, not in the schema
    name_length = 1011

    async def create(self, op: ResourceOp):
        name = op.name("Name", 1011)
        tags = [{"Key": k, "Value": str(v)} for k, v in (op.properties.get("Tags") or {}).items()]
        params = _put_params(name, op.properties, overwrite=False)
        params["Tags"] = tags or None
        await op.call("ssm", "PutParameter", params)
        return name, self._attributes(op.properties)

    @staticmethod
    def _attributes(props: dict) -> dict:
        return {"Type": props.get("Type"), "Value": str(props.get("Value", ""))}

    async def update(self, op: ResourceOp):
        name, props, old = op.physical_id, op.properties, op.old_properties
        watched = ("Value", "Type", "Description", "AllowedPattern", "Tier", "Policies", "DataType")
        if any(props.get(k) != old.get(k) for k in watched):
            await op.call("ssm", "PutParameter", _put_params(name, props, overwrite=True))
        tags, old_tags = props.get("Tags") or {}, old.get("Tags") or {}
        gone = [k for k in old_tags if k not in tags]
        if gone:
            await op.call("ssm", "RemoveTagsFromResource", {"ResourceType": "Parameter", "ResourceId": name,
                                                            "TagKeys": gone})
        if tags and tags != old_tags:
            await op.call("ssm", "AddTagsToResource", {"ResourceType": "Parameter", "ResourceId": name,
                                                       "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()]})
        return self._attributes(props)

    async def delete(self, op: ResourceOp):
        try:
            await op.call("ssm", "DeleteParameter", {"Name": op.physical_id})
        except AwsError as e:
            if not is_missing(e):
                raise
