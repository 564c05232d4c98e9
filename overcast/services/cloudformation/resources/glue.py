"""AWS::Glue::Database, AWS::Glue::Table and AWS::Glue::Crawler, through the Glue Data Catalog
provider. DatabaseInput and TableInput are the API's own shapes; a crawler's Schedule
({ScheduleExpression}) becomes the API's cron text."""

from __future__ import annotations

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, tag_changes, tag_map


def _glue_arn(op: ResourceOp, resource: str) -> str:
    return f"arn:aws:glue:{op.region}:{op.account}:{resource}"


class Database(ResourceType):
    type_name = "AWS::Glue::Database"
    name_lower = True

    async def create(self, op: ResourceOp):
        props = op.properties
        database_input = dict(props.get("DatabaseInput") or {})
        name = (props.get("DatabaseName") or database_input.get("Name") or op.name(max_length=255)).lower()
        database_input["Name"] = name
        await op.call("glue", "CreateDatabase", {"CatalogId": props.get("CatalogId"), "DatabaseInput": database_input})
        return name, {}

    async def update(self, op: ResourceOp):
        database_input = {**(op.properties.get("DatabaseInput") or {}), "Name": op.physical_id}
        await op.call("glue", "UpdateDatabase", {"CatalogId": op.properties.get("CatalogId"), "Name": op.physical_id,
                                                 "DatabaseInput": database_input})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("glue", "DeleteDatabase", {"CatalogId": op.properties.get("CatalogId"), "Name": op.physical_id})


class Table(ResourceType):
    type_name = "AWS::Glue::Table"
    name_lower = True

    async def create(self, op: ResourceOp):
        props = op.properties
        table_input = dict(props.get("TableInput") or {})
        name = (table_input.get("Name") or op.name(max_length=255)).lower()
        table_input["Name"] = name
        await op.call("glue", "CreateTable", {"CatalogId": props.get("CatalogId"), "DatabaseName": props["DatabaseName"],
                                              "TableInput": table_input,
                                              "OpenTableFormatInput": props.get("OpenTableFormatInput")})
        return name, {}

    async def update(self, op: ResourceOp):
        props = op.properties
        table_input = {**(props.get("TableInput") or {}), "Name": op.physical_id}
        await op.call("glue", "UpdateTable", {"CatalogId": props.get("CatalogId"), "DatabaseName": props["DatabaseName"],
                                              "TableInput": table_input})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("glue", "DeleteTable", {"CatalogId": op.properties.get("CatalogId"),
                                              "DatabaseName": op.properties.get("DatabaseName"), "Name": op.physical_id})


_CRAWLER_KEYS = ("Role", "DatabaseName", "Description", "Targets", "Classifiers", "TablePrefix", "SchemaChangePolicy",
                 "RecrawlPolicy", "Configuration", "CrawlerSecurityConfiguration", "LakeFormationConfiguration")


def _crawler_params(name: str, props: dict) -> dict:
    params = {"Name": name, **{k: props[k] for k in _CRAWLER_KEYS if props.get(k) is not None}}
    schedule = (props.get("Schedule") or {}).get("ScheduleExpression")
    if schedule:
        params["Schedule"] = schedule
    return params


class Crawler(ResourceType):
    type_name = "AWS::Glue::Crawler"

    async def create(self, op: ResourceOp):
        name = op.name("Name", 255)
        params = _crawler_params(name, op.properties)
        params["Tags"] = tag_map(op.properties.get("Tags")) or None
        await op.call("glue", "CreateCrawler", params)
        return name, {}

    async def update(self, op: ResourceOp):
        props, old = op.properties, op.old_properties
        params = _crawler_params(op.physical_id, props)
        if old.get("Schedule") and not props.get("Schedule"):
            params["Schedule"] = ""  # the API's way to drop a schedule
        await op.call("glue", "UpdateCrawler", params)
        tags, gone = tag_changes(old, props)
        arn = _glue_arn(op, f"crawler/{op.physical_id}")
        if gone:
            await op.call("glue", "UntagResource", {"ResourceArn": arn, "TagsToRemove": gone})
        if tags:
            await op.call("glue", "TagResource", {"ResourceArn": arn, "TagsToAdd": tags})
        return {}

    async def delete(self, op: ResourceOp):
        await op.call("glue", "DeleteCrawler", {"Name": op.physical_id})
