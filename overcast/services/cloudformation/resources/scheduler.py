"""AWS::Scheduler::Schedule and AWS::Scheduler::ScheduleGroup, through the EventBridge Scheduler
provider. The API's members are CloudFormation's property names; StartDate/EndDate come as ISO 8601
text and are read as the API reads timestamps."""

from __future__ import annotations

import datetime

from overcast.aws.errors import AwsError
from overcast.aws.protocols.shapes import parse_timestamp
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    is_missing,
    tag_changes,
    tag_map,
)

_SCHEDULE_KEYS = ("Description", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "State",
                  "KmsKeyArn", "Target", "StartDate", "EndDate")


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat().replace("+00:00", "Z")


class Schedule(ResourceType):
    type_name = "AWS::Scheduler::Schedule"

    @staticmethod
    def _params(name: str, props: dict) -> dict:
        params = {k: props[k] for k in _SCHEDULE_KEYS if props.get(k) is not None}
        for key in ("StartDate", "EndDate"):
            if key in params:
                try:
                    params[key] = parse_timestamp(params[key], "iso8601")
                except ValueError:
                    raise ResourceFailed(f"Invalid {key} {params[key]}: an ISO 8601 date and time is expected") \
                        from None
        return {"Name": name, "GroupName": props.get("GroupName"), **params}

    async def create(self, op: ResourceOp):
        name = op.name("Name", 64)
        out = await op.call("scheduler", "CreateSchedule", self._params(name, op.properties))
        return name, {"Arn": out["ScheduleArn"]}

    async def update(self, op: ResourceOp):
        group, old_group = op.properties.get("GroupName") or "default", op.old_properties.get("GroupName") or "default"
        if group != old_group:  # a schedule cannot move: made in its new group, then gone from the old one
            out = await op.call("scheduler", "CreateSchedule", self._params(op.physical_id, op.properties))
            await self._delete(op, op.physical_id, old_group)
        else:
            out = await op.call("scheduler", "UpdateSchedule", self._params(op.physical_id, op.properties))
        return {"Arn": out["ScheduleArn"]}

    async def delete(self, op: ResourceOp):
        await self._delete(op, op.physical_id, op.properties.get("GroupName"))

    @staticmethod
    async def _delete(op: ResourceOp, name: str, group: str | None) -> None:
        try:
            await op.call("scheduler", "DeleteSchedule", {"Name": name, "GroupName": group})
        except AwsError as e:
            if not is_missing(e):
                raise


class ScheduleGroup(ResourceType):
    type_name = "AWS::Scheduler::ScheduleGroup"

    async def create(self, op: ResourceOp):
        name = op.name("Name", 64)
        tags = [{"Key": k, "Value": v} for k, v in tag_map(op.properties.get("Tags")).items()]
        await op.call("scheduler", "CreateScheduleGroup", {"Name": name, "Tags": tags or None})
        return name, await self._attributes(op, name)

    @staticmethod
    async def _attributes(op: ResourceOp, name: str) -> dict:
        group = await op.call("scheduler", "GetScheduleGroup", {"Name": name})
        return {"Arn": group["Arn"], "State": group["State"], "CreationDate": _iso(group["CreationDate"]),
                "LastModificationDate": _iso(group["LastModificationDate"])}

    async def update(self, op: ResourceOp):  # only the tags change in place
        arn = op.attributes["Arn"]
        tags, gone = tag_changes(op.old_properties, op.properties)
        if gone:
            await op.call("scheduler", "UntagResource", {"ResourceArn": arn, "TagKeys": gone})
        if tags:
            await op.call("scheduler", "TagResource", {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v}
                                                                                 for k, v in tags.items()]})
        return await self._attributes(op, op.physical_id)

    async def delete(self, op: ResourceOp):
        await op.call("scheduler", "DeleteScheduleGroup", {"Name": op.physical_id})
