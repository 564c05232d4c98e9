"""AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm, through the CloudWatch provider's
PutMetricAlarm and PutCompositeAlarm (their checks and their errors: an alarm kind overcast does not
evaluate fails the resource with CloudWatch's own answer)."""

from __future__ import annotations

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, api_members, tag_changes


class Alarm(ResourceType):
    type_name = "AWS::CloudWatch::Alarm"
    name_length = 255
    operation = "PutMetricAlarm"

    def _params(self, op: ResourceOp, name: str) -> dict:
        # Tags go with the create only: the Put operation ignores them for an existing alarm.
        props = {k: v for k, v in op.properties.items() if k != "Tags"}
        return api_members("cloudwatch", self.operation, {**props, "AlarmName": name})

    async def create(self, op: ResourceOp):
        name = op.name("AlarmName", max_length=255)
        tags = [{"Key": t["Key"], "Value": t["Value"]} for t in op.properties.get("Tags") or []]
        await op.call("cloudwatch", self.operation, {**self._params(op, name), "Tags": tags or None})
        arn = f"arn:aws:cloudwatch:{op.region}:{op.account}:alarm:{name}"
        return name, {"Arn": arn}

    async def update(self, op: ResourceOp):
        await op.call("cloudwatch", self.operation, self._params(op, op.physical_id))
        tags, gone = tag_changes(op.old_properties, op.properties)
        arn = op.attributes["Arn"]
        if gone:
            await op.call("cloudwatch", "UntagResource", {"ResourceARN": arn, "TagKeys": gone})
        if tags:
            await op.call("cloudwatch", "TagResource", {"ResourceARN": arn, "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("cloudwatch", "DeleteAlarms", {"AlarmNames": [op.physical_id]})


class CompositeAlarm(Alarm):
    """Ref is the alarm's name, as for a metric alarm; Arn its ARN."""

    type_name = "AWS::CloudWatch::CompositeAlarm"
    operation = "PutCompositeAlarm"
