"""CloudWatch Logs vended-log deliveries through boto3: delivery destinations and their
policies are kept; no overcast service vends logs, so no delivery source (and no delivery) can
exist, and the answers say so in AWS's words."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def logs(client):
    return client("logs")


def error(excinfo) -> tuple[str, str]:
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"].get("Message", "")


def s3(bucket: str) -> dict:
    return {"destinationResourceArn": f"arn:aws:s3:::{bucket}"}


POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Sid": "AllowLogDeliveryActions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
    "Action": "logs:CreateDelivery", "Resource": ["arn:aws:logs:us-east-1:000000000000:delivery-destination:*"]}]})


def test_a_delivery_destination_is_put_read_listed_and_deleted(logs, unique_name):
    name = unique_name("dd")
    out = logs.put_delivery_destination(name=name, outputFormat="json", deliveryDestinationConfiguration=s3("b1"),
                                        tags={"k": "v"})["deliveryDestination"]
    arn = f"arn:aws:logs:us-east-1:000000000000:delivery-destination:{name}"
    assert out == {"name": name, "arn": arn, "deliveryDestinationType": "S3", "outputFormat": "json",
                   "deliveryDestinationConfiguration": s3("b1")}
    got = logs.get_delivery_destination(name=name)["deliveryDestination"]
    assert got == {**out, "tags": {"k": "v"}}
    assert got in logs.describe_delivery_destinations()["deliveryDestinations"]
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"k": "v"}

    # putting it again overwrites its parameters: no outputFormat now, another bucket
    out = logs.put_delivery_destination(name=name, deliveryDestinationConfiguration=s3("b2"))["deliveryDestination"]
    assert out == {"name": name, "arn": arn, "deliveryDestinationType": "S3",
                   "deliveryDestinationConfiguration": s3("b2")}

    logs.delete_delivery_destination(name=name)
    for call in (logs.get_delivery_destination, logs.delete_delivery_destination):
        with pytest.raises(ClientError) as e:
            call(name=name)
        assert error(e) == ("ResourceNotFoundException", "Requested Delivery Destination does not exist in this account.")


def test_a_delivery_destination_type_follows_its_resource(logs, unique_name):
    for arn, kind in [("arn:aws:logs:us-east-1:000000000000:log-group:/vended", "CWL"),
                      ("arn:aws:firehose:us-east-1:000000000000:deliverystream/vended", "FH")]:
        name = unique_name("dd")
        out = logs.put_delivery_destination(name=name, deliveryDestinationConfiguration={"destinationResourceArn": arn})
        assert out["deliveryDestination"]["deliveryDestinationType"] == kind
        logs.delete_delivery_destination(name=name)
    name = unique_name("dd")  # X-Ray's trace destination has no resource
    out = logs.put_delivery_destination(name=name, deliveryDestinationType="XRAY")["deliveryDestination"]
    assert out["deliveryDestinationType"] == "XRAY" and "deliveryDestinationConfiguration" not in out
    logs.delete_delivery_destination(name=name)


def test_bad_delivery_destinations_answer_validation_exception(logs, unique_name):
    with pytest.raises(ClientError) as e:  # AWS lists the formats in its own order
        logs.put_delivery_destination(name=unique_name("dd"), outputFormat="foobar",
                                      deliveryDestinationConfiguration=s3("b"))
    assert error(e) == ("ValidationException", "1 validation error detected: Value 'foobar' at 'outputFormat' failed "
                        "to satisfy constraint: Member must satisfy enum value set: [w3c, raw, json, plain, parquet]")
    with pytest.raises(ClientError) as e:  # the model's name pattern, answered as these operations do
        logs.put_delivery_destination(name="not a name", deliveryDestinationConfiguration=s3("b"))
    assert error(e)[0] == "ValidationException" and "at 'name' failed to satisfy constraint" in error(e)[1]
    for config, kind in [(None, None), ({"destinationResourceArn": "arn:aws:sqs:us-east-1:000000000000:q"}, None),
                         (s3("b"), "FH")]:
        kwargs = {"deliveryDestinationConfiguration": config} if config else {}
        if kind:
            kwargs["deliveryDestinationType"] = kind
        with pytest.raises(ClientError) as e:
            logs.put_delivery_destination(name=unique_name("dd"), **kwargs)
        assert error(e)[0] == "ValidationException"


def test_a_delivery_destination_policy_is_put_read_and_deleted(logs, unique_name):
    name = unique_name("dd")
    logs.put_delivery_destination(name=name, deliveryDestinationConfiguration=s3("b"))
    try:
        assert logs.get_delivery_destination_policy(deliveryDestinationName=name)["policy"] == {}
        out = logs.put_delivery_destination_policy(deliveryDestinationName=name, deliveryDestinationPolicy=POLICY)
        assert out["policy"] == {"deliveryDestinationPolicy": POLICY}
        assert logs.get_delivery_destination_policy(deliveryDestinationName=name)["policy"] == {
            "deliveryDestinationPolicy": POLICY}
        with pytest.raises(ClientError) as e:
            logs.put_delivery_destination_policy(deliveryDestinationName=name, deliveryDestinationPolicy="{not json")
        assert error(e)[0] == "ValidationException"
        logs.delete_delivery_destination_policy(deliveryDestinationName=name)
        assert logs.get_delivery_destination_policy(deliveryDestinationName=name)["policy"] == {}
    finally:
        logs.delete_delivery_destination(name=name)
    for call, kwargs in [(logs.put_delivery_destination_policy, {"deliveryDestinationPolicy": POLICY}),
                         (logs.get_delivery_destination_policy, {}), (logs.delete_delivery_destination_policy, {})]:
        with pytest.raises(ClientError) as e:
            call(deliveryDestinationName=name, **kwargs)
        assert error(e) == ("ResourceNotFoundException", "Requested Delivery Destination does not exist in this account.")


def test_no_delivery_source_can_exist(logs, unique_name):
    with pytest.raises(ClientError) as e:  # S3 vends no logs through deliveries (AWS's recorded answer)
        logs.put_delivery_source(name=unique_name("ds"), resourceArn="arn:aws:s3:::bucket", logType="ACCESS_LOGS")
    assert error(e) == ("ResourceNotFoundException", "Cannot access provided service.")
    with pytest.raises(ClientError) as e:  # a service AWS lists as a source, which overcast does not have
        logs.put_delivery_source(name=unique_name("ds"), resourceArn="arn:aws:cloudfront::000000000000:distribution/E1",
                                 logType="ACCESS_LOGS")
    assert error(e)[0] == "NotImplemented"
    assert logs.describe_delivery_sources()["deliverySources"] == []
    assert logs.describe_deliveries()["deliveries"] == []
    for call, message in [(logs.get_delivery_source, "Requested Delivery Source does not exist in this account."),
                          (logs.delete_delivery_source, "Requested Delivery Source does not exist in this account.."),
                          (logs.get_delivery, "Requested Delivery does not exist in this account."),
                          (logs.delete_delivery, "Requested Delivery does not exist in this account.")]:
        with pytest.raises(ClientError) as e:
            call(**({"id": "foobar"} if "delivery" == call.__name__.split("_")[-1] else {"name": "foobar"}))
        assert error(e) == ("ResourceNotFoundException", message)
    name = unique_name("dd")
    logs.put_delivery_destination(name=name, deliveryDestinationConfiguration=s3("b"))
    try:
        with pytest.raises(ClientError) as e:
            logs.create_delivery(deliverySourceName="foobar", deliveryDestinationArn=(
                f"arn:aws:logs:us-east-1:000000000000:delivery-destination:{name}"))
        assert error(e) == ("ResourceNotFoundException", "Requested Delivery Source does not exist in this account.")
    finally:
        logs.delete_delivery_destination(name=name)


def test_delivery_destinations_are_listed_in_the_order_they_were_created(logs, unique_name):
    # AWS's recorded answer lists them as created (LocalStack's test names them with random ids)
    names = [unique_name("z-dd"), unique_name("a-dd")]
    for name in names:
        logs.put_delivery_destination(name=name, deliveryDestinationConfiguration=s3("b"))
    try:
        listed = [d["name"] for d in logs.describe_delivery_destinations()["deliveryDestinations"] if d["name"] in names]
        assert listed == names
    finally:
        for name in names:
            logs.delete_delivery_destination(name=name)
