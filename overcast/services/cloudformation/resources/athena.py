"""AWS::Athena::WorkGroup and AWS::Athena::NamedQuery, through the Athena provider. A workgroup's
WorkGroupConfiguration is the API's Configuration; an update sends the API's ConfigurationUpdates."""

from __future__ import annotations

import datetime

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, tag_changes, tag_map


class WorkGroup(ResourceType):
    type_name = "AWS::Athena::WorkGroup"
    name_length = 128

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("Name", 128)
        await op.call("athena", "CreateWorkGroup", {
            "Name": name, "Description": props.get("Description"), "Configuration": props.get("WorkGroupConfiguration"),
            "Tags": [{"Key": k, "Value": v} for k, v in tag_map(props.get("Tags")).items()] or None})
        if props.get("State") == "DISABLED":
            await op.call("athena", "UpdateWorkGroup", {"WorkGroup": name, "State": "DISABLED"})
        return name, await self._attributes(op, name)

    @staticmethod
    async def _attributes(op: ResourceOp, name: str) -> dict:
        group = (await op.call("athena", "GetWorkGroup", {"WorkGroup": name}))["WorkGroup"]
        created = datetime.datetime.fromtimestamp(group["CreationTime"], datetime.UTC)
        engine = ((group.get("Configuration") or {}).get("EngineVersion") or {}).get("EffectiveEngineVersion", "")
        return {"CreationTime": created.isoformat().replace("+00:00", "Z"),
                "WorkGroupConfiguration.EngineVersion.EffectiveEngineVersion": engine,
                "WorkGroupConfigurationUpdates.EngineVersion.EffectiveEngineVersion": engine}

    async def update(self, op: ResourceOp):
        name, props, old = op.physical_id, op.properties, op.old_properties
        config, old_config = props.get("WorkGroupConfiguration") or {}, old.get("WorkGroupConfiguration") or {}
        updates: dict = {}
        for key in ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "RequesterPaysEnabled",
                    "BytesScannedCutoffPerQuery", "EngineVersion"):
            if config.get(key) != old_config.get(key) and config.get(key) is not None:
                updates[key] = config[key]
        if old_config.get("BytesScannedCutoffPerQuery") is not None and config.get("BytesScannedCutoffPerQuery") is None:
            updates["RemoveBytesScannedCutoffPerQuery"] = True
        result, old_result = config.get("ResultConfiguration") or {}, old_config.get("ResultConfiguration") or {}
        if result != old_result:
            updates["ResultConfigurationUpdates"] = {**result} if result.get("OutputLocation") else {
                **result, "RemoveOutputLocation": True}
        await op.call("athena", "UpdateWorkGroup", {
            "WorkGroup": name, "Description": props.get("Description") or "", "State": props.get("State") or "ENABLED",
            "ConfigurationUpdates": updates or None})
        tags, gone = tag_changes(old, props)
        arn = f"arn:aws:athena:{op.region}:{op.account}:workgroup/{name}"
        if gone:
            await op.call("athena", "UntagResource", {"ResourceARN": arn, "TagKeys": gone})
        if tags:
            await op.call("athena", "TagResource", {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v}
                                                                               for k, v in tags.items()]})
        return await self._attributes(op, name)

    async def delete(self, op: ResourceOp):
        await op.call("athena", "DeleteWorkGroup", {"WorkGroup": op.physical_id,
                                                    "RecursiveDeleteOption": op.properties.get("RecursiveDeleteOption")})


class NamedQuery(ResourceType):
    """Every property is createOnly: a change replaces the query."""

    type_name = "AWS::Athena::NamedQuery"

    async def create(self, op: ResourceOp):
        props = op.properties
        out = await op.call("athena", "CreateNamedQuery", {
            "Name": op.name("Name", 128), "Database": props.get("Database"), "QueryString": props.get("QueryString"),
            "Description": props.get("Description"), "WorkGroup": props.get("WorkGroup")})
        return out["NamedQueryId"], {"NamedQueryId": out["NamedQueryId"]}

    async def delete(self, op: ResourceOp):
        await op.call("athena", "DeleteNamedQuery", {"NamedQueryId": op.physical_id})
