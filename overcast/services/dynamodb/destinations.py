"""Kinesis streaming destinations ("Kinesis Data Streams for DynamoDB"): item changes written as
records into Kinesis data streams of the table's account and region.

A table's destinations live in its spec under "_Kinesis", one entry per stream ARN:
{"StreamArn", "Enabled", "Precision" (None until one is asked for: MILLISECOND is the default),
"Since" (when the last Enable / Update / Disable was made), "Transition" (the status shown
until TRANSITION_SECONDS after "Since": ENABLING, UPDATING or DISABLING; ACTIVE or DISABLED
after)}. Records are written from the Enable call until the Disable call, by the same change
capture that writes DynamoDB Streams records (provider._capture), in the write's transaction.

The record, as AWS documents it for Kinesis Data Streams for DynamoDB (it differs from a DynamoDB
Streams record: no sequence number or view type, both images whatever the table's stream view
type, the time in milliseconds or microseconds, and the table named):

    {"awsRegion", "eventID", "eventName", "userIdentity", "recordFormat": "application/json",
     "tableName", "dynamodb": {"ApproximateCreationDateTime", "Keys", "NewImage", "OldImage",
     "SizeBytes"}, "eventSource": "aws:dynamodb"}

with the Kinesis partition key an MD5 of the item's key in hex (32 characters), so every change to
one item lands in one shard, in order.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import orjson

from overcast.aws.errors import AwsError
from overcast.services.dynamodb.values import invalid, item_to_json

# how long Enable / Update / Disable show ENABLING / UPDATING / DISABLING before ACTIVE / DISABLED
# (AWS takes minutes; clients poll DescribeKinesisStreamingDestination until the status settles)
TRANSITION_SECONDS = float(os.environ.get("OVERCAST_DYNAMODB_DESTINATION_TRANSITION_SECONDS", "0.5"))
TTL_IDENTITY = {"principalId": "dynamodb.amazonaws.com", "type": "Service"}


def record(table, event: str, keys: dict, old: dict | None, new: dict | None, size: int, identity: bool,
           now: float, precision: str) -> tuple[str, bytes]:
    """(partition key, data) of the Kinesis record of one item change."""
    dynamodb: dict = {
        "ApproximateCreationDateTime": int(now * 1_000_000) if precision == "MICROSECOND" else int(now * 1000),
        "Keys": item_to_json(keys),
    }
    if new is not None:
        dynamodb["NewImage"] = item_to_json(new)
    if old is not None:
        dynamodb["OldImage"] = item_to_json(old)
    dynamodb["SizeBytes"] = size
    data = {
        "awsRegion": table.region,
        "eventID": str(uuid.uuid4()),
        "eventName": event,
        "userIdentity": TTL_IDENTITY if identity else None,
        "recordFormat": "application/json",
        "tableName": table.name,
        "dynamodb": dynamodb,
        "eventSource": "aws:dynamodb",
    }
    partition_key = hashlib.md5(orjson.dumps(dynamodb["Keys"], option=orjson.OPT_SORT_KEYS)).hexdigest().upper()
    return partition_key, orjson.dumps(data)


def _status(entry: dict) -> str:
    if time.time() < entry["Since"] + TRANSITION_SECONDS:
        return entry["Transition"]
    return "ACTIVE" if entry["Enabled"] else "DISABLED"


def _entries(spec: dict) -> list[dict]:
    return spec.setdefault("_Kinesis", [])


def _find(spec: dict, arn: str) -> dict | None:
    return next((e for e in spec.get("_Kinesis") or () if e["StreamArn"] == arn), None)


def _not_valid(action: str, detail: str) -> AwsError:
    return invalid(f"Table is not in a valid state to {action} Kinesis Streaming Destination: {detail}")


def enable(provider, ctx, params: dict, kinesis) -> dict:
    table = provider._table_by_name_or_arn(ctx, params["TableName"], describe=True)
    arn = params["StreamArn"]
    parts = arn.split(":")
    row = kinesis.store.stream_by_arn(arn)
    if row is None or len(parts) < 6 or (parts[3], parts[4]) != (ctx.region, ctx.account):
        # a stream of the table's own account and region, as on AWS (no cross-account destinations)
        raise AwsError("ResourceNotFoundException", f"Requested resource not found: Kinesis stream {arn} not found")
    config = params.get("EnableKinesisStreamingConfiguration") or {}
    spec = orjson.loads(orjson.dumps(table.spec))
    entry = _find(spec, arn)
    if entry is not None and entry["Enabled"]:
        raise _not_valid("enable", "EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform "
                         "ENABLE operation.")
    if entry is None:
        entry = {"StreamArn": arn}
        _entries(spec).append(entry)
    entry.update(Enabled=True, Since=time.time(), Transition="ENABLING",
                 Precision=config.get("ApproximateCreationDateTimePrecision"))
    provider._save(table, spec)
    return {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "ENABLING",
            "EnableKinesisStreamingConfiguration": config}


def disable(provider, ctx, params: dict) -> dict:
    table = provider._table_by_name_or_arn(ctx, params["TableName"], describe=True)
    arn = params["StreamArn"]
    spec = orjson.loads(orjson.dumps(table.spec))
    entry = _find(spec, arn)
    if entry is None or not entry["Enabled"]:
        raise _not_valid("disable", "DisableKinesisStreamingDestination must be ACTIVE to perform DISABLE operation.")
    entry.update(Enabled=False, Since=time.time(), Transition="DISABLING")
    provider._save(table, spec)
    return {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "DISABLING"}


def update(provider, ctx, params: dict) -> dict:
    table = provider._table_by_name_or_arn(ctx, params["TableName"], describe=True)
    arn = params["StreamArn"]
    config = params.get("UpdateKinesisStreamingConfiguration") or {}
    precision = config.get("ApproximateCreationDateTimePrecision")
    if precision is None:
        raise invalid("Streaming destination cannot be updated with given parameters: "
                      "UpdateKinesisStreamingConfiguration cannot be null or contain only null values")
    spec = orjson.loads(orjson.dumps(table.spec))
    entry = _find(spec, arn)
    if entry is None or not entry["Enabled"]:
        raise _not_valid("enable", f"No streaming destination with streamArn: {arn} found for table with tableName: "
                         f"{table.name}")
    if (entry.get("Precision") or "MILLISECOND") == precision:
        raise invalid(f"Invalid Request: Precision is already set to the desired value of {precision} for tableId: "
                      f"{spec['TableId']}, kdsArn: {arn}")
    entry.update(Precision=precision, Since=time.time(), Transition="UPDATING")
    provider._save(table, spec)
    return {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "UPDATING",
            "UpdateKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision}}


def describe(provider, ctx, params: dict) -> dict:
    table = provider._table_by_name_or_arn(ctx, params["TableName"], describe=True)
    destinations = []
    for entry in table.spec.get("_Kinesis") or ():
        out = {"StreamArn": entry["StreamArn"], "DestinationStatus": _status(entry)}
        if entry.get("Precision"):
            out["ApproximateCreationDateTimePrecision"] = entry["Precision"]
        destinations.append(out)
    return {"TableName": table.name, "KinesisDataStreamDestinations": destinations}
