"""AWS::KinesisFirehose::DeliveryStream, through the Firehose provider. The destination
configurations are the API's own shapes; a destination overcast's Firehose does not deliver to
fails the resource with the service's reason."""

from __future__ import annotations

from overcast.services.cloudformation.resources.base import ResourceOp, ResourceType, tag_changes, tag_map

_DESTINATIONS = ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration",
                 "ElasticsearchDestinationConfiguration", "AmazonopensearchserviceDestinationConfiguration",
                 "AmazonOpenSearchServerlessDestinationConfiguration", "RedshiftDestinationConfiguration",
                 "SplunkDestinationConfiguration", "HttpEndpointDestinationConfiguration",
                 "SnowflakeDestinationConfiguration", "IcebergDestinationConfiguration")


class DeliveryStream(ResourceType):
    type_name = "AWS::KinesisFirehose::DeliveryStream"

    async def create(self, op: ResourceOp):
        props = op.properties
        name = op.name("DeliveryStreamName", 64)
        params = {"DeliveryStreamName": name, "DeliveryStreamType": props.get("DeliveryStreamType") or "DirectPut",
                  "KinesisStreamSourceConfiguration": props.get("KinesisStreamSourceConfiguration"),
                  "DeliveryStreamEncryptionConfigurationInput": props.get("DeliveryStreamEncryptionConfigurationInput"),
                  "Tags": [{"Key": k, "Value": v} for k, v in tag_map(props.get("Tags")).items()] or None}
        for key in _DESTINATIONS:
            if props.get(key) is not None:
                params[key] = props[key]
        out = await op.call("firehose", "CreateDeliveryStream", params)
        return name, {"Arn": out["DeliveryStreamARN"]}

    async def update(self, op: ResourceOp):
        name, props, old = op.physical_id, op.properties, op.old_properties
        for key, update_key in (("ExtendedS3DestinationConfiguration", "ExtendedS3DestinationUpdate"),
                                ("S3DestinationConfiguration", "S3DestinationUpdate")):
            if props.get(key) is not None and props.get(key) != old.get(key):
                update = dict(props[key])
                if "S3BackupConfiguration" in update:
                    update["S3BackupUpdate"] = update.pop("S3BackupConfiguration")
                described = (await op.call("firehose", "DescribeDeliveryStream", {"DeliveryStreamName": name}))[
                    "DeliveryStreamDescription"]
                await op.call("firehose", "UpdateDestination", {
                    "DeliveryStreamName": name, "CurrentDeliveryStreamVersionId": described["VersionId"],
                    "DestinationId": described["Destinations"][0]["DestinationId"], update_key: update})
        encryption, old_encryption = (props.get("DeliveryStreamEncryptionConfigurationInput"),
                                      old.get("DeliveryStreamEncryptionConfigurationInput"))
        if encryption != old_encryption:
            if encryption:
                await op.call("firehose", "StartDeliveryStreamEncryption", {
                    "DeliveryStreamName": name, "DeliveryStreamEncryptionConfigurationInput": encryption})
            else:
                await op.call("firehose", "StopDeliveryStreamEncryption", {"DeliveryStreamName": name})
        tags, gone = tag_changes(old, props)
        if gone:
            await op.call("firehose", "UntagDeliveryStream", {"DeliveryStreamName": name, "TagKeys": gone})
        if tags:
            await op.call("firehose", "TagDeliveryStream", {"DeliveryStreamName": name, "Tags": [
                {"Key": k, "Value": v} for k, v in tags.items()]})
        return op.attributes

    async def delete(self, op: ResourceOp):
        await op.call("firehose", "DeleteDeliveryStream", {"DeliveryStreamName": op.physical_id})
