"""Amazon DynamoDB: tables, items, expressions, Query/Scan on tables and secondary indexes, batches,
transactions, TTL, PartiQL and the writes that feed DynamoDB Streams.

State lives in the database (store.py). In memory there are only the parsed table metadata
(tables.Table, keyed by account, region, name; dropped when a table changes), the streams wake-up
machinery and the TTL reaper task.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import re
import time
import uuid
from datetime import UTC, datetime

import orjson
from orjson import Fragment

from overcast import tracing
from overcast.aws import policy as iam_policy
from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError, nested_too_deeply, not_implemented
from overcast.services.base import Provider
from overcast.services.dynamodb import destinations, legacy
from overcast.services.dynamodb.expressions import (
    ExpressionError,
    Parser,
    apply_update,
    evaluate,
    projected,
    updated_top_level,
)
from overcast.services.dynamodb.store import DynamoDbStore
from overcast.services.dynamodb.streams import StreamsHub
from overcast.services.dynamodb.tables import Table
from overcast.services.dynamodb.values import (
    MAX_ITEM_SIZE,
    check_item,
    check_value,
    dump_item,
    hash_of,
    invalid,
    item_size,
    item_to_json,
    items_equal,
    key_bytes,
    load_item,
    params_invalid,
    type_of,
)

log = logging.getLogger("overcast.dynamodb")

PAGE_BYTES = 1024 * 1024
BATCH_GET_BYTES = 16 * 1024 * 1024
TTL_HORIZON = 5 * 365 * 86400
_UNSUPPORTED_SCAN_HASH = 2**32


def not_found(message: str = "Requested resource not found") -> AwsError:
    return AwsError("ResourceNotFoundException", message, 400)


def _now() -> float:
    return time.time()


class DynamoDbProvider(Provider):
    service = "dynamodb"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = DynamoDbStore(self.db)
        self.streams = StreamsHub(self.store, providers.coordination.channel("dynamodb-streams"))
        self.streams._key_schema_lookup = self._stream_key_schema
        self._tables: dict[tuple[str, str, str], Table] = {}
        # a change to a table's definition drops it on every node (storage/coordination.Cluster.cache)
        self._forget_table = providers.coordination.cache("dynamodb-tables", self._drop_table, self._tables.clear)
        self._reaper: asyncio.Task | None = None
        self._reaper_wake = asyncio.Event()
        self._next_expiry: float | None = None
        self._stats_cache: dict[tuple, tuple] = {}  # (table id, index) -> (count, bytes, when): large tables only
        self._kinesis = None  # the Kinesis provider, which Kinesis streaming destinations write into
        self._kms = None

    async def start(self) -> None:
        # loaded here, not on a table's first write: writes are synchronous and a table's
        # destinations must be written from its first write after a restart
        self._kinesis = await self.providers.get("kinesis")
        self._kms = await self.providers.get("kms")  # the keys of tables encrypted with KMS
        self._reaper = asyncio.create_task(self._reap_loop())

    async def stop(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        self.streams.waiters.notify_all()

    def reset(self) -> None:
        self._tables.clear()
        self._stats_cache.clear()
        self.streams.waiters.notify_all()

    # -- tables ------------------------------------------------------------------------------

    def _table(self, ctx, name, *, describe: bool = False) -> Table:
        key = (ctx.account, ctx.region, name)
        table = self._tables.get(key)
        if table is None:
            if isinstance(name, str) and name.startswith("arn:") and ":table/" in name:
                # TableName may be the table's ARN; another account's is refused, never looked up
                _refuse_other_account(ctx, name)
                return self._table(ctx, name.split(":table/", 1)[1].split("/", 1)[0], describe=describe)
            row = self.store.get_table(ctx.account, ctx.region, name) if isinstance(name, str) else None
            if row is None:
                if isinstance(name, str):
                    _check_table_name(name)  # a name no table can have is a ValidationException
                if describe:
                    raise not_found(f"Requested resource not found: Table: {name} not found")
                raise not_found()
            table = Table(row[0], orjson.loads(row[1]), ctx.account, ctx.region)
            self._tables[key] = table
        return table

    def _drop_table(self, key: tuple) -> None:
        self._tables.pop(key, None)

    def _table_by_name_or_arn(self, ctx, name: str, describe: bool = False) -> Table:
        if isinstance(name, str) and name.startswith("arn:"):
            _refuse_other_account(ctx, name)
            name = name.rsplit("/", 1)[-1] if ":table/" in name else name
        return self._table(ctx, name, describe=describe)

    def _save(self, table: Table, spec: dict) -> None:
        self.store.save_table(table.id, spec)
        self._forget_table((table.account, table.region, table.name))

    def _stream_key_schema(self, stream: tuple) -> list:
        row = self.store.get_table(stream[1], stream[2], stream[3])
        if row is None:
            return []
        return orjson.loads(row[1])["KeySchema"]

    def create_table(self, ctx, params: dict) -> dict:
        name = params["TableName"]
        _check_table_name(name)
        attrs = params["AttributeDefinitions"]
        schema = params["KeySchema"]
        types = {}
        for definition in attrs:
            types[definition["AttributeName"]] = definition["AttributeType"]
        _check_key_schema(schema, types, "")
        billing = params.get("BillingMode") or "PROVISIONED"
        throughput = params.get("ProvisionedThroughput")
        if billing == "PROVISIONED":
            if not throughput:
                raise invalid("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits "
                              "must both be specified when BillingMode is PROVISIONED")
        elif throughput:
            raise invalid("One or more parameter values were invalid: Neither ReadCapacityUnits nor "
                          "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
        used = {k["AttributeName"] for k in schema}
        names = set()
        lsis, gsis = [], []
        for index in params.get("LocalSecondaryIndexes") or ():
            if len(schema) < 2:
                raise params_invalid("Table KeySchema does not have a range key, which is required when specifying "
                                     "a LocalSecondaryIndex")
            _check_index(index, types, names)
            if index["KeySchema"][0]["AttributeName"] != schema[0]["AttributeName"]:
                raise params_invalid(f"Index KeySchema does not have the same leading hash key as table KeySchema "
                                     f"for index: {index['IndexName']}. index hash key: "
                                     f"{index['KeySchema'][0]['AttributeName']}, table hash key: "
                                     f"{schema[0]['AttributeName']}")
            used |= {k["AttributeName"] for k in index["KeySchema"]}
            lsis.append(_index_spec(index, None))
        for index in params.get("GlobalSecondaryIndexes") or ():
            _check_index(index, types, names)
            if billing == "PROVISIONED" and not index.get("ProvisionedThroughput"):
                raise params_invalid(f"ProvisionedThroughput should not be null for index: {index['IndexName']}")
            if billing == "PAY_PER_REQUEST" and index.get("ProvisionedThroughput"):
                raise params_invalid("ProvisionedThroughput should not be specified for index: "
                                     f"{index['IndexName']} when BillingMode is PAY_PER_REQUEST")
            used |= {k["AttributeName"] for k in index["KeySchema"]}
            gsis.append(_index_spec(index, index.get("ProvisionedThroughput")))
        if used != set(types):
            raise params_invalid("Number of attributes in KeySchema does not exactly match number of attributes "
                                 "defined in AttributeDefinitions")
        stream_spec = params.get("StreamSpecification")
        _check_stream_spec(stream_spec)
        if self.store.get_table(ctx.account, ctx.region, name) is not None:
            raise AwsError("ResourceInUseException", f"Table already exists: {name}")
        now = _now()
        arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account}:table/{name}"
        spec = {
            "TableName": name,
            "TableArn": arn,
            "TableId": str(uuid.uuid4()),
            "KeySchema": schema,
            "AttributeDefinitions": attrs,
            "BillingMode": billing,
            "ProvisionedThroughput": _throughput(throughput),
            "CreationDateTime": now,
            "DeletionProtectionEnabled": bool(params.get("DeletionProtectionEnabled")),
            "Tags": {t["Key"]: t["Value"] for t in params.get("Tags") or ()},
        }
        if params.get("TableClass"):
            spec["TableClass"] = params["TableClass"]
        if params.get("WarmThroughput"):
            spec["WarmThroughput"] = _warm_given(params["WarmThroughput"])
        if (params.get("SSESpecification") or {}).get("Enabled"):
            spec["SSEDescription"] = self._sse_description(ctx, params["SSESpecification"])
        if lsis:
            spec["LocalSecondaryIndexes"] = lsis
        if gsis:
            spec["GlobalSecondaryIndexes"] = gsis
        with self.store.transaction():
            table_id = self.store.create_table(ctx.account, ctx.region, name, spec)
            if stream_spec and stream_spec.get("StreamEnabled"):
                spec["StreamSpecification"] = stream_spec
                spec["_Stream"] = self._new_stream(ctx.account, ctx.region, name, table_id, arn,
                                                   stream_spec["StreamViewType"], now)
                self.store.save_table(table_id, spec)
        table = Table(table_id, spec, ctx.account, ctx.region)
        return {"TableDescription": self._describe(table, status="CREATING")}

    def _sse_description(self, ctx, given: dict) -> dict:
        """A table encrypted with a KMS key: the key named (KMSMasterKeyId: id, ARN or alias), else
        the account's AWS managed key for DynamoDB (alias/aws/dynamodb), made on first use as AWS
        does. Without SSESpecification a table is encrypted with an AWS owned key, which DynamoDB
        does not describe."""
        sse_type = given.get("SSEType") or "KMS"
        if sse_type != "KMS":
            raise invalid(f"One or more parameter values were invalid: SSEType {sse_type} is not supported: "
                          "use KMS, or no SSESpecification for an AWS owned key")
        key = given.get("KMSMasterKeyId")
        if key:
            arn = self._kms.key_arn(ctx.account, ctx.region, key)
            if arn is None:
                raise invalid(f"One or more parameter values were invalid: KMSMasterKeyId {key} does not name a KMS "
                              "key of this account and region")
        else:
            arn = self._kms.managed_key_arn(ctx.account, ctx.region, "dynamodb")
        return {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": arn}

    def _new_stream(self, account: str, region: str, name: str, table_id: int, arn: str, view_type: str,
                    now: float) -> dict:
        label = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        stream_arn = f"{arn}/stream/{label}"
        shard_id = f"shardId-{int(now * 1000):020d}-{uuid.uuid4().hex[:8]}"
        stream_id = self.store.create_stream(account, region, name, table_id, stream_arn, label, view_type,
                                             shard_id, now)
        return {"Id": stream_id, "Arn": stream_arn, "Label": label, "ViewType": view_type}

    def _describe(self, table: Table, status: str = "ACTIVE", counts: bool = True) -> dict:
        spec = table.spec
        count, size = self._stats(table.id, None) if counts else (0, 0)
        out = {
            "AttributeDefinitions": spec["AttributeDefinitions"],
            "TableName": table.name,
            "KeySchema": spec["KeySchema"],
            "TableStatus": status,
            "CreationDateTime": spec["CreationDateTime"],
            "ProvisionedThroughput": spec["ProvisionedThroughput"],
            "TableSizeBytes": size,
            "ItemCount": count,
            "TableArn": table.arn,
            "TableId": spec["TableId"],
            "DeletionProtectionEnabled": spec.get("DeletionProtectionEnabled", False),
        }
        if spec["BillingMode"] == "PAY_PER_REQUEST":
            out["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST",
                                         "LastUpdateToPayPerRequestDateTime": spec["CreationDateTime"]}
        warm = _warm(spec, spec, status)
        if warm is not None:
            out["WarmThroughput"] = warm
        for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
            if spec.get(kind):
                indexes = []
                for index in spec[kind]:
                    described = {k: v for k, v in index.items() if not k.startswith("_")}
                    icount, isize = self._stats(table.id, index["IndexName"]) if counts else (0, 0)
                    described.update(IndexSizeBytes=isize, ItemCount=icount, IndexArn=f"{table.arn}/index/{index['IndexName']}")
                    if kind == "GlobalSecondaryIndexes":
                        described["IndexStatus"] = index.get("_Status", "ACTIVE") if status != "CREATING" else "CREATING"
                        if spec["BillingMode"] == "PAY_PER_REQUEST":
                            described["ProvisionedThroughput"] = _throughput(None)
                        warm = _warm(spec, index, described["IndexStatus"])
                        if warm is not None:
                            described["WarmThroughput"] = warm
                    indexes.append(described)
                out[kind] = indexes
        if spec.get("StreamSpecification"):
            out["StreamSpecification"] = spec["StreamSpecification"]
        if spec.get("_Stream"):
            out["LatestStreamLabel"] = spec["_Stream"]["Label"]
            out["LatestStreamArn"] = spec["_Stream"]["Arn"]
        elif spec.get("_LastStream"):
            out["LatestStreamLabel"] = spec["_LastStream"]["Label"]
            out["LatestStreamArn"] = spec["_LastStream"]["Arn"]
        if spec.get("TableClass"):
            out["TableClassSummary"] = {"TableClass": spec["TableClass"]}
        if spec.get("SSEDescription"):
            out["SSEDescription"] = spec["SSEDescription"]
        if table.replicas:
            out["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
            out["Replicas"] = [{"RegionName": region, "ReplicaStatus": "ACTIVE"} for region in table.replicas]
        return out

    def _stats(self, table_id: int, index: str | None) -> tuple[int, int]:
        """ItemCount and size: live for small tables; for large ones (whose count takes a while)
        recomputed at most once a minute — AWS itself refreshes them about every six hours."""
        key = (table_id, index)
        cached = self._stats_cache.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[2] < 60:
            return cached[0], cached[1]
        count, size = self.store.table_stats(table_id) if index is None else self.store.index_stats(table_id, index)
        if count > 50_000:
            self._stats_cache[key] = (count, size, now)
        return count, size

    def describe_table(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"], describe=True)
        return {"Table": self._describe(table)}

    def delete_table(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"], describe=True)
        if table.spec.get("DeletionProtectionEnabled"):
            raise AwsError("ValidationException", "Resource cannot be deleted as it is currently protected against "
                           "deletion. Disable deletion protection first.")
        description = self._describe(table, status="DELETING")
        with self.store.transaction():
            if table.stream_id:
                self.store.disable_streams(table.id, _now())
            self.store.delete_table(table.id)
            self._leave_group(table)
        self._forget_table((ctx.account, ctx.region, table.name))
        if table.stream_arn:
            self.streams.notify(table.stream_arn)
        return {"TableDescription": description}

    def list_tables(self, ctx, params: dict) -> dict:
        limit = params.get("Limit") or 100
        names = self.store.list_tables(ctx.account, ctx.region, params.get("ExclusiveStartTableName") or "", limit + 1)
        out = {"TableNames": names[:limit]}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = names[limit - 1]
        return out

    def update_table(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"], describe=True)
        if params.get("ReplicaUpdates"):
            return self._update_replicas(ctx, table, params)
        if not table.replicas:
            return self._update_one(ctx, table, params)
        if params.get("StreamSpecification") or params.get("SSESpecification"):
            raise not_implemented("DynamoDB UpdateTable of the stream or the encryption of a global table's replica")
        if params.get("ProvisionedThroughput") or params.get("BillingMode") == "PROVISIONED":
            # provisioned replicas need Application Auto Scaling on their writes, which overcast has not
            raise invalid("Table write capacity should either be Pay-Per-Request or AutoScaled.")
        # the global table's indexes and billing mode are every replica's: changed in all of them, in one
        # transaction; deletion protection, table class and warm throughput are each replica's own
        shared = {k: params[k] for k in ("AttributeDefinitions", "GlobalSecondaryIndexUpdates", "BillingMode")
                  if params.get(k)}
        with self.store.transaction():
            answer = self._update_one(ctx, table, params)
            if shared.keys() - {"AttributeDefinitions"}:
                for region in table.replicas:
                    replica = self._replica(table, region)
                    if replica is not None:
                        self._update_one(dataclasses.replace(ctx, region=region), replica,
                                         {"TableName": table.name, **shared})
        return answer

    def _update_one(self, ctx, table: Table, params: dict) -> dict:
        spec = orjson.loads(orjson.dumps(table.spec))
        types = {d["AttributeName"]: d["AttributeType"] for d in spec["AttributeDefinitions"]}
        for definition in params.get("AttributeDefinitions") or ():
            types[definition["AttributeName"]] = definition["AttributeType"]
        changed = False
        if params.get("BillingMode"):
            spec["BillingMode"] = params["BillingMode"]
            if params["BillingMode"] == "PAY_PER_REQUEST":
                spec["ProvisionedThroughput"] = _throughput(None)
            changed = True
        if params.get("ProvisionedThroughput"):
            if spec["BillingMode"] == "PAY_PER_REQUEST":
                raise invalid("One or more parameter values were invalid: Neither ReadCapacityUnits nor "
                              "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
            spec["ProvisionedThroughput"] = _throughput(params["ProvisionedThroughput"])
            changed = True
        if "DeletionProtectionEnabled" in params:
            spec["DeletionProtectionEnabled"] = bool(params["DeletionProtectionEnabled"])
            changed = True
        if params.get("TableClass"):
            spec["TableClass"] = params["TableClass"]
            changed = True
        if params.get("WarmThroughput"):
            spec["WarmThroughput"] = {**spec.get("WarmThroughput", {}), **_warm_given(params["WarmThroughput"])}
            changed = True
        sse_answer = None  # the SSEDescription UpdateTable answers: the change is UPDATING
        sse = params.get("SSESpecification")
        if sse is not None:
            if sse.get("Enabled") is False:
                if not spec.get("SSEDescription"):
                    raise invalid("Table is already encrypted by default")
                sse_answer = spec.pop("SSEDescription")  # back to an AWS owned key
            else:
                spec["SSEDescription"] = sse_answer = self._sse_description(ctx, sse)
            changed = True
        new_indexes: list[str] = []
        dropped: list[str] = []
        for update in params.get("GlobalSecondaryIndexUpdates") or ():
            if "Create" in update:
                index = update["Create"]
                existing = {i["IndexName"] for i in (spec.get("GlobalSecondaryIndexes") or []) +
                            (spec.get("LocalSecondaryIndexes") or [])}
                if index["IndexName"] in existing:
                    raise params_invalid(f"Index with name: {index['IndexName']} already exists")
                _check_index(index, types, set(existing) - {index["IndexName"]})
                spec.setdefault("GlobalSecondaryIndexes", []).append(_index_spec(index, index.get("ProvisionedThroughput")))
                new_indexes.append(index["IndexName"])
            elif "Delete" in update:
                index_name = update["Delete"]["IndexName"]
                gsis = spec.get("GlobalSecondaryIndexes") or []
                if index_name not in {i["IndexName"] for i in gsis}:
                    raise not_found(f"Requested resource not found: Requested index: {index_name} not found")
                spec["GlobalSecondaryIndexes"] = [i for i in gsis if i["IndexName"] != index_name]
                if not spec["GlobalSecondaryIndexes"]:
                    del spec["GlobalSecondaryIndexes"]
                dropped.append(index_name)
            elif "Update" in update:
                index_name = update["Update"]["IndexName"]
                for index in spec.get("GlobalSecondaryIndexes") or []:
                    if index["IndexName"] == index_name:
                        index["ProvisionedThroughput"] = _throughput(update["Update"].get("ProvisionedThroughput"))
                        break
                else:
                    raise not_found(f"Requested resource not found: Requested index: {index_name} not found")
            changed = True
        used = {k["AttributeName"] for k in spec["KeySchema"]}
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for index in spec.get(kind) or ():
                used |= {k["AttributeName"] for k in index["KeySchema"]}
        spec["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": types[n]} for n in types if n in used]
        stream_spec = params.get("StreamSpecification")
        with self.store.transaction():
            if stream_spec is not None:
                _check_stream_spec(stream_spec)
                if stream_spec.get("StreamEnabled"):
                    if table.stream_id:
                        raise params_invalid(f"Table already has an enabled stream: {table.stream_arn}")
                    spec["StreamSpecification"] = stream_spec
                    spec["_Stream"] = self._new_stream(ctx.account, ctx.region, table.name, table.id, table.arn,
                                                       stream_spec["StreamViewType"], _now())
                else:
                    if not table.stream_id:
                        raise params_invalid("Table already has no stream enabled")
                    self.store.disable_streams(table.id, _now())
                    spec["_LastStream"] = spec.pop("_Stream")
                    spec["StreamSpecification"] = {"StreamEnabled": False}
                changed = True
            if not changed:
                raise invalid("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                              "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
            self._save(table, spec)
            for index_name in dropped:
                self.store.drop_index(table.id, index_name)
            updated = self._table(ctx, table.name)
            if new_indexes:
                self._backfill(updated, new_indexes)
        if table.stream_arn:
            self.streams.notify(table.stream_arn)
        description = self._describe(updated, status="UPDATING", counts=False)
        if sse_answer is not None:
            description["SSEDescription"] = {**sse_answer, "Status": "UPDATING"}
        return {"TableDescription": description}

    # -- global tables (version 2019.11.21) ---------------------------------------------------

    def _replica(self, table: Table, region: str) -> Table | None:
        key = (table.account, region, table.name)
        replica = self._tables.get(key)
        if replica is None:
            row = self.store.get_table(table.account, region, table.name)
            if row is None:
                return None
            replica = self._tables[key] = Table(row[0], orjson.loads(row[1]), table.account, region)
        return replica

    def _set_group(self, account: str, name: str, regions: list[str]) -> None:
        """Record the regions of a global table in each of its tables (one region: a plain table)."""
        for region in regions:
            row = self.store.get_table(account, region, name)
            if row is None:
                continue
            spec = orjson.loads(row[1])
            if len(regions) > 1:
                spec["_Replicas"] = sorted(regions)
            else:
                spec.pop("_Replicas", None)
            self.store.save_table(row[0], spec)
            self._forget_table((account, region, name))

    def _leave_group(self, table: Table) -> None:
        if table.replicas:
            self._set_group(table.account, table.name, list(table.replicas))

    def _update_replicas(self, ctx, table: Table, params: dict) -> dict:
        """UpdateTable's ReplicaUpdates: a Create makes the table in another region, with the
        same keys, indexes and billing, a stream of its own and a copy of the items; a Delete
        deletes a replica. From then on every write to one is applied to all (`_write`)."""
        others = set(params) - {"TableName", "ReplicaUpdates", "AttributeDefinitions"}
        if others:
            raise invalid("One or more parameter values were invalid: ReplicaUpdates cannot be combined with "
                          f"other updates ({', '.join(sorted(others))})")
        regions = [table.region, *table.replicas]
        for update in params["ReplicaUpdates"]:
            actions = [k for k in ("Create", "Update", "Delete") if update.get(k) is not None]
            if len(actions) != 1:
                raise invalid("One or more parameter values were invalid: Only one of Create, Update or Delete "
                              "may be specified in a ReplicationGroupUpdate")
            action = actions[0]
            region = update[action].get("RegionName") or ""
            if action == "Update":
                raise not_implemented("DynamoDB UpdateTable with a replica Update (per-replica settings)")
            if action == "Create":
                extra = set(update["Create"]) - {"RegionName"}
                if extra:
                    raise not_implemented(f"DynamoDB replica settings ({', '.join(sorted(extra))})")
                if not _REGION.match(region):
                    raise invalid(f"One or more parameter values were invalid: Invalid region name: {region}")
                if region in regions or self.store.get_table(ctx.account, region, table.name) is not None:
                    raise invalid(f"Failed to create a the new replica of table with name: '{table.name}' because "
                                  "one or more replicas already existed as tables.")
                if table.spec["BillingMode"] != "PAY_PER_REQUEST":
                    # provisioned replicas need Application Auto Scaling on their writes, which overcast has not
                    raise invalid("Table write capacity should either be Pay-Per-Request or AutoScaled.")
                sse = table.spec.get("SSEDescription")
                if sse and sse["KMSMasterKeyArn"] != self._kms.managed_key_arn(ctx.account, ctx.region, "dynamodb"):
                    raise not_implemented("DynamoDB replicas of a table encrypted with a customer managed KMS key "
                                          "(a key per replica region)")
                if table.stream_id is not None and table.view_type != "NEW_AND_OLD_IMAGES":
                    raise invalid("One or more parameter values were invalid: Table's stream must have "
                                  "StreamViewType NEW_AND_OLD_IMAGES to create a replica")
                regions.append(region)
            else:
                if region not in regions:
                    raise invalid("One or more parameter values were invalid: Replica specified in the Replica "
                                  f"Update or Replica Delete action of the request was not found: {region}")
                regions.remove(region)
        with self.store.transaction():
            if table.stream_id is None and len(regions) > 1:
                # replication runs on the table's stream: AWS turns it on with both images
                spec = orjson.loads(orjson.dumps(table.spec))
                spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
                spec["_Stream"] = self._new_stream(ctx.account, ctx.region, table.name, table.id, table.arn,
                                                   "NEW_AND_OLD_IMAGES", _now())
                self._save(table, spec)
                table = self._table(ctx, table.name)
            old_regions = [table.region, *table.replicas]
            for region in old_regions:
                if region not in regions:
                    gone = self._replica(table, region)
                    if gone is not None:
                        if gone.stream_id:
                            self.store.disable_streams(gone.id, _now())
                        self.store.delete_table(gone.id)
                        self._forget_table((table.account, region, table.name))
            for region in regions:
                if region not in old_regions:
                    self._create_replica(table, region)
            self._set_group(table.account, table.name, regions)
            updated = self._table(ctx, table.name) if table.region in regions else table
        return {"TableDescription": self._describe(updated, status="UPDATING", counts=False)}

    def _create_replica(self, source: Table, region: str) -> None:
        now = _now()
        arn = f"arn:aws:dynamodb:{region}:{source.account}:table/{source.name}"
        spec = {k: orjson.loads(orjson.dumps(v)) for k, v in source.spec.items()
                if k in ("KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput", "TableClass",
                         "LocalSecondaryIndexes", "GlobalSecondaryIndexes", "TtlAttribute")}
        spec.update(TableName=source.name, TableArn=arn, TableId=str(uuid.uuid4()), CreationDateTime=now,
                    DeletionProtectionEnabled=False, Tags={},
                    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        if source.spec.get("SSEDescription"):  # AWS managed keys are regional: the replica uses its region's
            spec["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS",
                                      "KMSMasterKeyArn": self._kms.managed_key_arn(source.account, region, "dynamodb")}
        table_id = self.store.create_table(source.account, region, source.name, spec)
        spec["_Stream"] = self._new_stream(source.account, region, source.name, table_id, arn,
                                           "NEW_AND_OLD_IMAGES", now)
        self.store.save_table(table_id, spec)
        replica = Table(table_id, spec, source.account, region)
        # the replica starts with the table's items (as AWS's initial copy; no stream records for it)
        after = None
        while True:
            rows = self.store.scan_items(source.id, after, None, 1000)
            if not rows:
                break
            self.store.put_items([(table_id, h, pk, sk, blob, replica.ttl_value(load_item(blob)) if replica.ttl_attr
                                   else None) for h, pk, sk, blob in rows])
            after = rows[-1][:3]
        if replica.indexes:
            self._backfill(replica, list(replica.indexes))

    def _backfill(self, table: Table, names: list[str]) -> None:
        indexes = [table.indexes[n] for n in names]
        after = None
        while True:
            rows = self.store.scan_items(table.id, after, None, 1000)
            if not rows:
                return
            batch = []
            for _hash, pk, sk, blob in rows:
                item = load_item(blob)
                for index in indexes:
                    key = index.key_of(item)
                    if key is not None and all(type_of(item[n]) == t for n, t in
                                               ((index.hash_name, index.hash_type), (index.range_name, index.range_type))
                                               if n):
                        batch.append((table.id, index.name, *key, pk, sk, dump_item(index.project(item, table))))
            self.store.put_index_items(batch)
            after = rows[-1][:3]

    # -- tags, TTL, backups, limits, endpoints -----------------------------------------------

    def _table_for_arn(self, ctx, arn: str) -> Table:
        if not isinstance(arn, str) or ":table/" not in arn:
            raise invalid(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
        _refuse_other_account(ctx, arn)
        parts = arn.split(":")
        if len(parts) < 6 or parts[3] != ctx.region or parts[4] != ctx.account:
            raise not_found(f"Requested resource not found: ResourcArn: {arn} not found")
        name = arn.split(":table/", 1)[1].split("/", 1)[0]
        try:
            return self._table(ctx, name)
        except AwsError:
            raise not_found(f"Requested resource not found: ResourcArn: {arn} not found") from None

    def tag_resource(self, ctx, params: dict) -> dict:
        table = self._table_for_arn(ctx, params["ResourceArn"])
        spec = dict(table.spec)
        tags = dict(spec.get("Tags") or {})
        if bad := reserved_tags.refused(ctx, [tag["Key"] for tag in params["Tags"]]):
            raise AwsError("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        for tag in params["Tags"]:
            tags[tag["Key"]] = tag["Value"]
        if len(tags) > 50:
            raise AwsError("ValidationException", "One or more parameter values were invalid: The number of tags "
                           "exceeds the limit of 50")
        spec["Tags"] = tags
        self._save(table, spec)
        return {}

    def untag_resource(self, ctx, params: dict) -> dict:
        table = self._table_for_arn(ctx, params["ResourceArn"])
        if bad := reserved_tags.refused(ctx, params["TagKeys"]):
            raise AwsError("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        spec = dict(table.spec)
        spec["Tags"] = {k: v for k, v in (spec.get("Tags") or {}).items() if k not in set(params["TagKeys"])}
        self._save(table, spec)
        return {}

    def list_tags_of_resource(self, ctx, params: dict) -> dict:
        table = self._table_for_arn(ctx, params["ResourceArn"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in (table.spec.get("Tags") or {}).items()]}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's tables in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        specs = (orjson.loads(spec) for (spec,) in self.store.tagged(ctx.account, ctx.region))
        return [(spec["TableArn"], spec["Tags"]) for spec in specs if spec.get("Tags")]

    def update_time_to_live(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"])
        setting = params["TimeToLiveSpecification"]
        enabled, attribute = setting["Enabled"], setting["AttributeName"]
        current = table.ttl_attr
        if enabled and current:
            raise invalid("TimeToLive is already enabled")
        if not enabled and not current:
            raise invalid("TimeToLive is already disabled")
        if not enabled and current != attribute:
            raise invalid("TimeToLive is active on a different AttributeName: current AttributeName is " + current)
        # a global table's TTL setting is every replica's (each expires its own copy of an item)
        tables = [table, *(self._replica(table, region) for region in table.replicas)]
        with self.store.transaction():
            for each in tables:
                if each is None:
                    continue
                spec = dict(each.spec)
                if enabled:
                    spec["TtlAttribute"] = attribute
                    self._save(each, spec)
                    self._backfill_ttl(self._replica(each, each.region))
                else:
                    spec.pop("TtlAttribute", None)
                    self._save(each, spec)
                    self.store.clear_ttl_values(each.id)
        self._reaper_wake.set()
        return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}

    def _backfill_ttl(self, table: Table) -> None:
        after = None
        while True:
            rows = self.store.scan_items(table.id, after, None, 1000)
            if not rows:
                return
            updates = []
            for hash_, pk, sk, blob in rows:
                ttl = table.ttl_value(load_item(blob))
                if ttl is not None:
                    updates.append((ttl, table.id, hash_, pk, sk))
            self.store.set_ttl_values(updates)
            after = rows[-1][:3]

    def describe_time_to_live(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"])
        if table.ttl_attr:
            return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": table.ttl_attr}}
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}

    def describe_contributor_insights(self, ctx, params: dict) -> dict:
        """Contributor Insights cannot be enabled in overcast (UpdateContributorInsights answers
        NotImplemented), so a table's or index's status is DISABLED, as a new table's is on AWS."""
        table = self._table_by_name_or_arn(ctx, params["TableName"])
        out = {"TableName": table.name, "ContributorInsightsStatus": "DISABLED"}
        index = params.get("IndexName")
        if index is not None:
            if index not in table.indexes:
                raise not_found(f"Requested resource not found: Requested index: {index} not found")
            out["IndexName"] = index
        return out

    # -- Kinesis streaming destinations (destinations.py) -------------------------------------

    async def enable_kinesis_streaming_destination(self, ctx, params: dict) -> dict:
        return destinations.enable(self, ctx, params, await self.providers.get("kinesis"))

    def disable_kinesis_streaming_destination(self, ctx, params: dict) -> dict:
        return destinations.disable(self, ctx, params)

    def update_kinesis_streaming_destination(self, ctx, params: dict) -> dict:
        return destinations.update(self, ctx, params)

    def describe_kinesis_streaming_destination(self, ctx, params: dict) -> dict:
        return destinations.describe(self, ctx, params)

    def describe_limits(self, ctx, params: dict) -> dict:
        return {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}

    def describe_endpoints(self, ctx, params: dict) -> dict:
        host = ctx.request.host or f"dynamodb.{ctx.region}.amazonaws.com"
        return {"Endpoints": [{"Address": host, "CachePeriodInMinutes": 1440}]}

    def describe_continuous_backups(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"])
        return {"ContinuousBackupsDescription": self._backups(table)}

    def update_continuous_backups(self, ctx, params: dict) -> dict:
        table = self._table_by_name_or_arn(ctx, params["TableName"])
        spec = dict(table.spec)
        spec["PointInTimeRecovery"] = bool(params["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        self._save(table, spec)
        return {"ContinuousBackupsDescription": self._backups(self._table(ctx, table.name))}

    @staticmethod
    def _backups(table: Table) -> dict:
        pitr = {"PointInTimeRecoveryStatus": "ENABLED" if table.spec.get("PointInTimeRecovery") else "DISABLED"}
        if table.spec.get("PointInTimeRecovery"):
            pitr.update(EarliestRestorableDateTime=table.spec["CreationDateTime"], LatestRestorableDateTime=_now(),
                        RecoveryPeriodInDays=35)
        return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}

    # -- the write path ----------------------------------------------------------------------

    def _write(self, table: Table, key: tuple, old: dict | None, new: dict | None, identity: bool = False) -> None:
        """Store one item change (new None = delete) with its index rows and stream record, in the
        table and in each replica of its global table. The caller holds the transaction when it
        also read `old` (always, for a table with replicas: they make it capture)."""
        self._apply(table, key, old, new, identity)
        for region in table.replicas:
            # replicated in the write's transaction: AWS replicates within about a second, last
            # writer wins; here the replica has it when the write is acknowledged
            replica = self._replica(table, region)
            if replica is not None:
                self._apply(replica, key, self._read(replica, key), new, identity)

    def _apply(self, table: Table, key: tuple, old: dict | None, new: dict | None, identity: bool) -> None:
        hash_, pk, sk = key
        if new is None:
            self.store.delete_item(table.id, hash_, pk, sk)
        else:
            self.store.put_item(table.id, hash_, pk, sk, dump_item(new), table.ttl_value(new))
        for index in table.indexes.values():
            old_key = index.key_of(old) if old else None
            new_key = index.key_of(new) if new else None
            if old_key is not None and old_key != new_key:
                self.store.delete_index_item(table.id, index.name, *old_key, pk, sk)
            if new_key is not None:
                self.store.put_index_item(table.id, index.name, *new_key, pk, sk, dump_item(index.project(new, table)))
        if table.captures:
            if old is None and new is None:
                return
            if old is not None and new is not None and items_equal(old, new):
                return
            self._capture(table, old, new, identity)
        if new is not None and table.ttl_attr:
            ttl = table.ttl_value(new)
            if ttl is not None and (self._next_expiry is None or ttl < self._next_expiry):
                self._reaper_wake.set()

    def _capture(self, table: Table, old: dict | None, new: dict | None, identity: bool) -> None:
        """The change capture of one item change that changed something: its DynamoDB Streams
        record and its records in the table's Kinesis streaming destinations, in the write's
        transaction (a write outside one is a single statement with nothing to capture)."""
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        keys = table.keys_of(new if new is not None else old)
        now = _now()
        if table.stream_id is not None:
            self._record(table, event, keys, old, new, identity, now)
        if table.kinesis:
            # both images whatever the stream's view type: Kinesis destinations have none
            size = item_size(keys) + (item_size(new) if new is not None else 0) + (
                item_size(old) if old is not None else 0)
            for arn, precision in table.kinesis:
                partition_key, data = destinations.record(table, event, keys, old, new, size, identity, now, precision)
                self._kinesis.write(arn, partition_key, data)

    def _record(self, table: Table, event: str, keys: dict, old: dict | None, new: dict | None, identity: bool,
                now: float) -> None:
        view = table.view_type
        raw: dict = {"e": event, "id": uuid.uuid4().hex, "r": table.region, "t": int(now), "k": item_to_json(keys)}
        size = item_size(keys)
        if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            raw["n"] = item_to_json(new)
            size += item_size(new)
        if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            raw["o"] = item_to_json(old)
            size += item_size(old)
        raw["z"] = size
        if identity:
            raw["u"] = 1
        with tracing.hop("dynamodb", "StreamRecord", resource=table.stream_arn, account=table.account,
                         region=table.region, attributes={"eventName": event, "eventID": raw["id"]}) as span:
            if span.trace_id is not None:  # the trace the write was made in travels with the record
                raw["x"] = span.header()
            seq = self.store.add_record(table.stream_id, now, orjson.dumps(raw))
            span.set("sequenceNumber", str(10**20 + seq))
        self.streams.notify(table.stream_arn)

    def _read(self, table: Table, key: tuple) -> dict | None:
        blob = self.store.get_item(table.id, *key)
        return load_item(blob) if blob is not None else None

    def _checked_item(self, table: Table, item) -> tuple[dict, tuple]:
        item = check_item(item)
        key = table.item_key(item)
        for index in table.indexes.values():
            index.check_item(item)
        if item_size(item) > MAX_ITEM_SIZE:
            raise invalid("Item size has exceeded the maximum allowed size")
        return item, key

    # -- expressions plumbing ----------------------------------------------------------------

    @staticmethod
    def _parser(params: dict, expressions: tuple[str, ...], legacy_names: tuple[str, ...] = ()) -> Parser:
        names = params.get("ExpressionAttributeNames")
        values = params.get("ExpressionAttributeValues")
        if names is not None and not names:
            raise invalid("ExpressionAttributeNames must not be empty")
        if values is not None and not values:
            raise invalid("ExpressionAttributeValues must not be empty")
        used = [e for e in expressions if params.get(e) is not None]
        old = [e for e in legacy_names if params.get(e) is not None]
        if used and old:
            raise invalid("Can not use both expression and non-expression parameters in the same request: "
                          f"Non-expression parameters: {{{', '.join(old)}}} Expression parameters: {{{', '.join(used)}}}")
        if names and not used:
            raise invalid("ExpressionAttributeNames can only be specified when using expressions")
        if values and not [e for e in used if e != "ProjectionExpression"]:
            raise invalid("ExpressionAttributeValues can only be specified when using expressions: "
                          + " and ".join(f"{e} is null" for e in expressions if e != "ProjectionExpression"))
        for name in names or ():
            if not name.startswith("#") or len(name) < 2:
                raise invalid(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{name}"')
        for name in values or ():
            if not name.startswith(":") or len(name) < 2:
                raise invalid(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{name}"')
        return Parser(names, values)

    def _condition(self, parser: Parser, params: dict):
        if params.get("ConditionExpression") is not None:
            return parser.parse_condition(params["ConditionExpression"])
        if params.get("Expected"):
            return legacy.expected(params["Expected"], params.get("ConditionalOperator"))
        return None

    def _projection(self, parser: Parser, params: dict):
        if params.get("ProjectionExpression") is not None:
            return parser.parse_projection(params["ProjectionExpression"])
        if params.get("AttributesToGet"):
            return legacy.attributes_to_get(params["AttributesToGet"])
        return None

    @staticmethod
    def _capacity(params: dict, table: Table, units: float, index: str | None = None) -> dict:
        mode = params.get("ReturnConsumedCapacity")
        if not mode or mode == "NONE":
            return {}
        capacity: dict = {"TableName": table.name, "CapacityUnits": units}
        if mode == "INDEXES":
            capacity["Table"] = {"CapacityUnits": units}
            if index:
                kind = "GlobalSecondaryIndexes" if table.indexes[index].is_global else "LocalSecondaryIndexes"
                capacity[kind] = {index: {"CapacityUnits": units}}
        return {"ConsumedCapacity": capacity}

    @staticmethod
    def _failed(params: dict, old: dict | None) -> AwsError:
        if params.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
            return AwsError("ConditionalCheckFailedException", "The conditional request failed", 400, Item=old)
        return AwsError("ConditionalCheckFailedException", "The conditional request failed", 400)

    # -- items -------------------------------------------------------------------------------

    def get_item(self, ctx, params: dict) -> dict:
        table, parser, key = self._get_item_key(ctx, params)
        return self._item_answer(ctx, params, table, parser, self.store.get_item(table.id, key[0], key[1], key[2]))

    async def get_item_pipelined(self, ctx, params: dict) -> dict:
        """GetItem on PostgreSQL: its SELECT sent with other requests' (storage/pipeline.py)."""
        table, parser, key = self._get_item_key(ctx, params)
        blob = await self.store.get_item_pipelined(table.id, key[0], key[1], key[2])
        return self._item_answer(ctx, params, table, parser, blob)

    def _get_item_key(self, ctx, params: dict) -> tuple:
        table = self._table(ctx, params["TableName"])
        parser = None
        if len(params) > 2:
            parser = self._parser(params, ("ProjectionExpression",), ("AttributesToGet",))
        return table, parser, table.param_key(params["Key"])

    def _item_answer(self, ctx, params: dict, table, parser, blob: bytes | None) -> dict:
        out: dict = {}
        if parser is not None:
            paths = self._projection(parser, params)
            parser.check_unused()
            if blob is not None:
                item = load_item(blob)
                out["Item"] = projected(item, paths) if paths else item
            out.update(self._capacity(params, table, 0.5 if not params.get("ConsistentRead") else 1.0))
            return out
        if blob is not None:  # for the JSON protocol, as Query's items: its stored JSON (see _page)
            out["Item"] = Fragment(blob) if ctx.protocol == "json" and blob[:1] != b"b" else load_item(blob)
        return out

    def put_item(self, ctx, params: dict) -> dict:
        returns = params.get("ReturnValues") or "NONE"  # the request's own checks come before the table's
        if returns not in ("NONE", "ALL_OLD"):
            raise invalid("Return values set to invalid value")
        table = self._table(ctx, params["TableName"])
        item, key = self._checked_item(table, params["Item"])
        condition = None
        if len(params) > 2:
            parser = self._parser(params, ("ConditionExpression",), ("Expected",))
            condition = self._condition(parser, params)
            parser.check_unused()
        if condition is None and returns == "NONE" and not table.indexes and not table.captures:
            self._write(table, key, None, item)
            return self._capacity(params, table, 1.0)
        with self.store.transaction():
            old = self._read(table, key)
            if condition is not None and not evaluate(condition, old):
                raise self._failed(params, old)
            self._write(table, key, old, item)
        out = self._capacity(params, table, 1.0)
        if returns == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        if self._wants_metrics(params, table):
            out["ItemCollectionMetrics"] = self._collection_metrics(table, key, item[table.hash_name])
        return out

    def delete_item(self, ctx, params: dict) -> dict:
        returns = params.get("ReturnValues") or "NONE"
        if returns not in ("NONE", "ALL_OLD"):
            raise invalid("Return values set to invalid value")
        table = self._table(ctx, params["TableName"])
        *key, key_item = table.param_key(params["Key"])
        key = tuple(key)
        parser = self._parser(params, ("ConditionExpression",), ("Expected",))
        condition = self._condition(parser, params)
        parser.check_unused()
        with self.store.transaction():
            old = self._read(table, key)
            if condition is not None and not evaluate(condition, old):
                raise self._failed(params, old)
            if old is not None:
                self._write(table, key, old, None)
        out = self._capacity(params, table, 1.0)
        if returns == "ALL_OLD" and old is not None:
            out["Attributes"] = old
        if self._wants_metrics(params, table):
            out["ItemCollectionMetrics"] = self._collection_metrics(table, key, key_item[table.hash_name])
        return out

    @staticmethod
    def _wants_metrics(params: dict, table: Table) -> bool:
        return params.get("ReturnItemCollectionMetrics") == "SIZE" and table.has_local_indexes()

    def _collection_metrics(self, table: Table, key: tuple, hash_value: dict) -> dict:
        """ItemCollectionMetrics of the item collection a write touched (tables with a local
        secondary index): its key and AWS's estimate of its size (items plus their LSI entries)
        as a range of whole gigabytes."""
        size = self.store.collection_size(table.id, key[0], key[1], table.local_index_names())
        low = float(size // (1 << 30))
        return {"ItemCollectionKey": {table.hash_name: hash_value}, "SizeEstimateRangeGB": [low, low + 1.0]}

    def _update_clauses(self, table: Table, parser: Parser, params: dict):
        if params.get("UpdateExpression") is not None:
            clauses = parser.parse_update(params["UpdateExpression"])
        elif params.get("AttributeUpdates"):
            clauses = legacy.attribute_updates(params["AttributeUpdates"])
        else:
            clauses = {}
        for name in table.key_names():
            if name in updated_top_level(clauses):
                raise invalid(f"One or more parameter values were invalid: Cannot update attribute {name}. "
                              "This attribute is part of the key")
        return clauses

    def update_item(self, ctx, params: dict) -> dict:
        table = self._table(ctx, params["TableName"])
        returns = params.get("ReturnValues") or "NONE"
        if returns not in ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"):
            raise invalid("Return values set to invalid value")
        hash_, pk, sk, key_item = table.param_key(params["Key"])
        key = (hash_, pk, sk)
        parser = self._parser(params, ("UpdateExpression", "ConditionExpression"), ("AttributeUpdates", "Expected"))
        clauses = self._update_clauses(table, parser, params)
        condition = self._condition(parser, params)
        parser.check_unused()
        with self.store.transaction():
            old = self._read(table, key)
            if condition is not None and not evaluate(condition, old):
                raise self._failed(params, old)
            new = self._updated(table, clauses, old, key_item)
            self._write(table, key, old, new)
        out = self._capacity(params, table, 1.0)
        attributes = _return_values(returns, clauses, old, new)
        if attributes:
            out["Attributes"] = attributes
        if self._wants_metrics(params, table):
            out["ItemCollectionMetrics"] = self._collection_metrics(table, key, key_item[table.hash_name])
        return out

    def _updated(self, table: Table, clauses: dict, old: dict | None, key_item: dict) -> dict:
        base = old if old is not None else dict(key_item)
        new = apply_update(clauses, base)
        for name in table.key_names():
            new[name] = key_item[name]
        for name, value in list(new.items()):
            new[name] = check_value(value)
        for index in table.indexes.values():
            index.check_item(new)
        if item_size(new) > MAX_ITEM_SIZE:
            raise invalid("Item size to update has exceeded the maximum allowed size")
        return new

    # -- query and scan ----------------------------------------------------------------------

    def query(self, ctx, params: dict) -> dict:
        table = self._table(ctx, params["TableName"])
        index = self._index(table, params.get("IndexName"), params.get("ConsistentRead", False))
        parser = self._parser(params, ("KeyConditionExpression", "FilterExpression", "ProjectionExpression"),
                              ("KeyConditions", "QueryFilter", "AttributesToGet"))
        hash_name = index.hash_name if index else table.hash_name
        range_name = index.range_name if index else table.range_name
        hash_type = index.hash_type if index else table.hash_type
        range_type = index.range_type if index else table.range_type
        if params.get("KeyConditionExpression") is not None:
            node = parser.parse_condition(params["KeyConditionExpression"], "KeyConditionExpression")
            hash_value, sk_op, sk_values = _key_condition(node, hash_name, range_name)
        elif params.get("KeyConditions"):
            hash_value, sk_op, sk_values = legacy.key_conditions(params["KeyConditions"], hash_name, range_name)
        else:
            raise invalid("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        if type_of(hash_value) != hash_type or any(type_of(v) != range_type for v in sk_values):
            raise params_invalid("Condition parameter type does not match schema type")
        for name, value in ((hash_name, hash_value), *((range_name, v) for v in sk_values)):
            kind = type_of(value)
            if kind in ("S", "B") and not value[kind]:
                raise invalid("One or more parameter values are not valid. The AttributeValue for a key attribute "
                              f"cannot contain an empty {'string' if kind == 'S' else 'binary'} value. Key: {name}")
        if sk_op == "begins_with" and range_type == "N":
            raise invalid("Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
                          "operator or function: begins_with, operand type: N")
        filter_node = self._filter(parser, params, table, index, "QueryFilter")
        paths = self._projection(parser, params)
        parser.check_unused()
        select = self._select(params, table, index, paths)
        pk = key_bytes(hash_value)
        hash_ = hash_of(pk)
        sk_args = tuple(key_bytes(v) for v in sk_values)
        forward = params.get("ScanIndexForward", True)
        limit = params.get("Limit")
        start = params.get("ExclusiveStartKey")
        after = self._start_key(table, index, start) if start else None

        def fetch(after_pos, size):
            if index is None:
                rows = self.store.query_items(table.id, hash_, pk, sk_op, sk_args, forward,
                                              after_pos[2] if after_pos else None, size)
                return [((hash_, pk, sk), blob) for sk, blob in rows]
            rows = self.store.query_index(table.id, index.name, hash_, pk, sk_op, sk_args, forward,
                                          after_pos[2:5] if after_pos else None, size)
            return [((hash_, pk, sk, tpk, tsk), blob) for sk, tpk, tsk, blob in rows]

        return self._page(table, index, fetch, after, limit, filter_node, paths, select, params,
                          stored_json=ctx.protocol == "json")

    def scan(self, ctx, params: dict) -> dict:
        table = self._table(ctx, params["TableName"])
        index = self._index(table, params.get("IndexName"), params.get("ConsistentRead", False))
        parser = self._parser(params, ("FilterExpression", "ProjectionExpression"), ("ScanFilter", "AttributesToGet"))
        filter_node = self._filter(parser, params, table, index, "ScanFilter", scan=True)
        paths = self._projection(parser, params)
        parser.check_unused()
        select = self._select(params, table, index, paths)
        segment, total = params.get("Segment"), params.get("TotalSegments")
        if segment is not None and total is None:
            raise invalid("The TotalSegments parameter is required but was not present in the request when "
                          "Segment parameter is present")
        if total is not None and segment is None:
            raise invalid("The Segment parameter is required but was not present in the request when parameter "
                          "TotalSegments is present")
        hash_range = None
        if total is not None:
            if segment >= total:
                raise invalid(f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                              f"Segment: {segment} is not less than TotalSegments: {total}")
            hash_range = (segment * _UNSUPPORTED_SCAN_HASH // total, (segment + 1) * _UNSUPPORTED_SCAN_HASH // total)
        start = params.get("ExclusiveStartKey")
        after = self._start_key(table, index, start) if start else None

        def fetch(after_pos, size):
            if index is None:
                rows = self.store.scan_items(table.id, after_pos[:3] if after_pos else None, hash_range, size)
                return [((h, p, s), blob) for h, p, s, blob in rows]
            rows = self.store.scan_index(table.id, index.name, after_pos if after_pos else None, hash_range, size)
            return [(tuple(r[:5]), r[5]) for r in rows]

        return self._page(table, index, fetch, after, params.get("Limit"), filter_node, paths, select, params,
                          stored_json=ctx.protocol == "json")

    def _index(self, table: Table, name: str | None, consistent: bool = False):
        if name is None:
            return None
        index = table.indexes.get(name)
        if index is None:
            raise invalid(f"The table does not have the specified index: {name}")
        if consistent and index.is_global:
            raise invalid("Consistent reads are not supported on global secondary indexes")
        return index

    def _filter(self, parser: Parser, params: dict, table: Table, index, legacy_name: str, scan: bool = False):
        if params.get("FilterExpression") is not None:
            node = parser.parse_condition(params["FilterExpression"], "FilterExpression")
            if not scan:
                keys = set(table.key_names())
                if index is not None:
                    keys = {index.hash_name} | ({index.range_name} if index.range_name else set())
                for name in _paths_in(node):
                    if name in keys:
                        raise invalid(f"Filter Expression can only contain non-primary key attributes: Primary key "
                                      f"attribute: {name}")
            return node
        if params.get(legacy_name):
            return legacy.filter_conditions(params[legacy_name], params.get("ConditionalOperator"))
        return None

    @staticmethod
    def _select(params: dict, table: Table, index, paths) -> str:
        select = params.get("Select")
        if select is None:
            return "SPECIFIC_ATTRIBUTES" if paths else ("ALL_PROJECTED_ATTRIBUTES" if index else "ALL_ATTRIBUTES")
        if select == "SPECIFIC_ATTRIBUTES" and not paths:
            raise invalid("1 validation error detected: Value null at 'projectionExpression' failed to satisfy "
                          "constraint: Member must not be null when Select is SPECIFIC_ATTRIBUTES")
        if select != "SPECIFIC_ATTRIBUTES" and paths:
            what = "ProjectionExpression" if params.get("ProjectionExpression") else "AttributesToGet"
            raise invalid(f"Cannot specify the {what} when choosing to get {select}")
        if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
            raise invalid("One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is "
                          "supported only for index queries")
        if select == "ALL_ATTRIBUTES" and index is not None and index.is_global and index.projection != "ALL":
            raise invalid(f"One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
                          f"for global secondary index {index.name} because its projection type is not ALL")
        return select

    def _start_key(self, table: Table, index, start: dict) -> tuple:
        message = "The provided starting key is invalid: The provided key element does not match the schema"
        if not isinstance(start, dict):
            raise invalid(message)
        hash_, pk, sk, _ = table.param_key({k: v for k, v in start.items() if k in table.key_names()}, message)
        if index is None:
            if len(start) != table.key_count:
                raise invalid(message)
            return hash_, pk, sk
        index_values = []
        for name, kind in ((index.hash_name, index.hash_type), (index.range_name, index.range_type)):
            if name is None:
                index_values.append(b"")
                continue
            value = start.get(name)
            if value is None or type_of(value) != kind:
                raise invalid(message)
            index_values.append(key_bytes(check_value(value)))
        ipk = index_values[0]
        return hash_of(ipk), ipk, index_values[1], pk, sk

    def _page(self, table: Table, index, fetch, after, limit, filter_node, paths, select, params,
              stored_json: bool = False) -> dict:
        """One page of a Query or Scan. `stored_json`: the answer goes straight to the JSON protocol
        (the HTTP gateway's call; AppSync, Step Functions and PartiQL need dicts): then an item
        returned whole is its stored JSON, spliced into the answer as an orjson.Fragment, not
        parsed and serialized again (a Query of 100 items spent half its time on that)."""
        items, count, scanned, read_bytes = [], 0, 0, 0
        last = None
        more = False
        chunk = min(limit, 1000) if limit else 1000
        need_base = index is not None and not index.is_global and select == "ALL_ATTRIBUTES" and index.projection != "ALL"
        whole = stored_json and filter_node is None and not paths and not need_base and select != "COUNT"
        while True:
            rows = fetch(after, chunk)
            for position, blob in rows:
                if whole and blob[:1] != b"b":  # stored as exactly its wire JSON (it holds no binary)
                    scanned += 1
                    count += 1
                    read_bytes += len(blob)
                    last, after = blob, position
                    items.append(Fragment(blob))
                    if (limit and scanned >= limit) or read_bytes >= PAGE_BYTES:
                        more = True
                        break
                    continue
                item = load_item(blob)
                if need_base:
                    item = self._read(table, (hash_of(position[3]), position[3], position[4])) or item
                scanned += 1
                read_bytes += len(blob)
                last, after = item, position
                if filter_node is None or evaluate(filter_node, item):
                    count += 1
                    if select != "COUNT":
                        items.append(projected(item, paths) if paths else item)
                if (limit and scanned >= limit) or read_bytes >= PAGE_BYTES:
                    more = True
                    break
            if more or len(rows) < chunk:
                break
        out: dict = {"Count": count, "ScannedCount": scanned}
        if select != "COUNT":
            out["Items"] = items
        if more and last is not None:
            if last.__class__ is bytes:  # a spliced item: its keys are read from it
                last = load_item(last)
            lek = table.keys_of(last)
            if index is not None:
                lek[index.hash_name] = last[index.hash_name]
                if index.range_name:
                    lek[index.range_name] = last[index.range_name]
            out["LastEvaluatedKey"] = lek
        units = max(0.5, read_bytes / 8192)
        out.update(self._capacity(params, table, units, index.name if index else None))
        return out

    # -- batches -----------------------------------------------------------------------------

    def batch_get_item(self, ctx, params: dict) -> dict:
        requests = params["RequestItems"]
        total = sum(len(r.get("Keys") or ()) for r in requests.values())
        if total > 100:
            raise invalid("Too many items requested for the BatchGetItem call")
        plans = []
        for name, request in requests.items():
            table = self._table_by_name_or_arn(ctx, name)
            parser = self._parser(request, ("ProjectionExpression",), ("AttributesToGet",))
            paths = self._projection(parser, request)
            parser.check_unused()
            keys, seen = [], set()
            for key in request["Keys"]:
                full = table.param_key(key)
                if full[:3] in seen:
                    raise invalid("Provided list of item keys contains duplicates")
                seen.add(full[:3])
                keys.append((full, key))
            plans.append((name, table, paths, keys, request))
        responses: dict = {}
        unprocessed: dict = {}
        size = 0
        capacity = []
        for name, table, paths, keys, request in plans:
            found = responses.setdefault(name, [])
            for full, raw_key in keys:
                if size >= BATCH_GET_BYTES:
                    entry = unprocessed.setdefault(name, {k: v for k, v in request.items() if k != "Keys"})
                    entry.setdefault("Keys", []).append(raw_key)
                    continue
                blob = self.store.get_item(table.id, *full[:3])
                if blob is not None:
                    size += len(blob)
                    item = load_item(blob)
                    found.append(projected(item, paths) if paths else item)
            cap = self._capacity(params, table, 0.5 * len(keys))
            if cap:
                capacity.append(cap["ConsumedCapacity"])
        out = {"Responses": responses, "UnprocessedKeys": unprocessed}
        if capacity:
            out["ConsumedCapacity"] = capacity
        return out

    def batch_write_item(self, ctx, params: dict) -> dict:
        requests = params["RequestItems"]
        total = sum(len(r) for r in requests.values())
        if total > 25:
            raise invalid("Too many items requested for the BatchWriteItem call")
        plans = []
        for name, writes in requests.items():
            table = self._table_by_name_or_arn(ctx, name)
            seen = set()
            for write in writes:
                if ("PutRequest" in write) == ("DeleteRequest" in write):
                    raise invalid("Supplied AttributeValue has more than one datatypes set, must contain exactly one "
                                  "of the supported datatypes" if write else
                                  "1 validation error detected: WriteRequest must contain exactly one action")
                if "PutRequest" in write:
                    given = write["PutRequest"]["Item"]
                    if any(given.get(name) is None for name in (table.hash_name, table.range_name) if name):
                        # BatchWriteItem words a missing key attribute so (PutItem names the key)
                        raise invalid("The provided key element does not match the schema")
                    item, key = self._checked_item(table, given)
                    hash_value = item[table.hash_name]
                else:
                    *key, key_item = table.param_key(write["DeleteRequest"]["Key"])
                    key, item, hash_value = tuple(key), None, key_item[table.hash_name]
                if key in seen:
                    raise invalid("Provided list of item keys contains duplicates")
                seen.add(key)
                plans.append((table, key, item, hash_value))
        with self.store.transaction():
            for table, key, item, _ in plans:
                needs_old = table.indexes or table.captures or item is None
                old = self._read(table, key) if needs_old else None
                if item is None and old is None:
                    continue
                self._write(table, key, old, item)
        out: dict = {"UnprocessedItems": {}}
        if params.get("ReturnConsumedCapacity") not in (None, "NONE"):
            tables = {}
            for table, _, _, _ in plans:
                tables[table.name] = tables.get(table.name, 0) + 1.0
            out["ConsumedCapacity"] = [{"TableName": n, "CapacityUnits": u} for n, u in tables.items()]
        metrics = self._metrics_by_table(params, [(table, key, hash_value) for table, key, _, hash_value in plans])
        if metrics:
            out["ItemCollectionMetrics"] = metrics
        return out

    def _metrics_by_table(self, params: dict, writes: list[tuple]) -> dict:
        """BatchWriteItem's and TransactWriteItems' ItemCollectionMetrics: per table with a local
        secondary index, the metrics of each item collection a write touched."""
        out: dict = {}
        for table, key, hash_value in writes:
            if self._wants_metrics(params, table):
                out.setdefault(table.name, []).append(self._collection_metrics(table, key, hash_value))
        return out

    # -- transactions ------------------------------------------------------------------------

    def transact_get_items(self, ctx, params: dict) -> dict:
        plans = []
        for entry in params["TransactItems"]:
            get = entry["Get"]
            table = self._table_by_name_or_arn(ctx, get["TableName"])
            parser = self._parser(get, ("ProjectionExpression",))
            paths = self._projection(parser, get)
            parser.check_unused()
            plans.append((table, table.param_key(get["Key"])[:3], paths))
        keys = [(t.id, k) for t, k, _ in plans]
        if len(set(keys)) != len(keys):
            raise invalid("Transaction request cannot include multiple operations on one item")
        responses = []
        for table, key, paths in plans:
            item = self._read(table, key)
            responses.append({"Item": projected(item, paths) if paths else item} if item is not None else {})
        return {"Responses": responses}

    def transact_write_items(self, ctx, params: dict) -> dict:
        token = params.get("ClientRequestToken")
        digest = None
        if token:
            try:
                body = orjson.dumps({k: v for k, v in params.items() if k != "ClientRequestToken"},
                                    default=_json_default, option=orjson.OPT_SORT_KEYS)
            except orjson.JSONEncodeError:  # nested deeper than orjson walks (254 levels): DynamoDB allows 32
                raise nested_too_deeply() from None
            digest = hashlib.sha256(body).hexdigest()
            previous = self.store.get_token(ctx.account, ctx.region, token, _now() - 600)
            if previous is not None:
                if previous[0] != digest:
                    raise AwsError("IdempotentParameterMismatchException", "Request token was used with different "
                                   "parameters within the idempotency window")
                return orjson.loads(previous[1])
        plans = []
        for entry in params["TransactItems"]:
            if len(entry) != 1:
                raise invalid("TransactItems can only contain one of Check, Put, Update or Delete")
            (action, request), = entry.items()
            table = self._table_by_name_or_arn(ctx, request["TableName"])
            if action == "Put":
                item, key = self._checked_item(table, request["Item"])
                key_item = table.keys_of(item)
                parser = self._parser(request, ("ConditionExpression",))
            else:
                full = table.param_key(request["Key"])
                key, key_item, item = full[:3], full[3], None
                expressions = ("UpdateExpression", "ConditionExpression") if action == "Update" else ("ConditionExpression",)
                parser = self._parser(request, expressions)
            clauses = self._update_clauses(table, parser, request) if action == "Update" else None
            if action == "ConditionCheck" and request.get("ConditionExpression") is None:
                raise invalid("The ConditionExpression parameter is required for ConditionCheck")
            condition = parser.parse_condition(request["ConditionExpression"]) \
                if request.get("ConditionExpression") is not None else None
            parser.check_unused()
            plans.append((action, table, key, key_item, item, clauses, condition, request))
        seen = [(p[1].id, p[2]) for p in plans]
        if len(set(seen)) != len(seen):
            raise invalid("Transaction request cannot include multiple operations on one item")
        reasons, failed = [], False
        with self.store.transaction() as _:
            writes = []
            for action, table, key, key_item, item, clauses, condition, request in plans:
                old = self._read(table, key)
                if condition is not None and not evaluate(condition, old):
                    reason = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                    if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
                        reason["Item"] = old
                    reasons.append(reason)
                    failed = True
                    continue
                try:
                    if action == "Update":
                        new = self._updated(table, clauses, old, key_item)
                    elif action == "Put":
                        new = item
                    elif action == "Delete":
                        new = None
                    else:
                        reasons.append({"Code": "None"})
                        continue
                except AwsError as error:
                    reasons.append({"Code": "ValidationError", "Message": error.message})
                    failed = True
                    continue
                reasons.append({"Code": "None"})
                writes.append((table, key, old, new))
            if failed:
                codes = ", ".join(r["Code"] for r in reasons)
                raise AwsError("TransactionCanceledException", "Transaction cancelled, please refer cancellation "
                               f"reasons for specific reasons [{codes}]", 400, CancellationReasons=reasons)
            for table, key, old, new in writes:
                if old is None and new is None:
                    continue
                self._write(table, key, old, new)
            out: dict = {}
            if params.get("ReturnConsumedCapacity") not in (None, "NONE"):
                out["ConsumedCapacity"] = [{"TableName": p[1].name, "CapacityUnits": 2.0} for p in plans]
            metrics = self._metrics_by_table(params, [(p[1], p[2], p[3][p[1].hash_name]) for p in plans
                                                      if p[0] != "ConditionCheck"])
            if metrics:
                out["ItemCollectionMetrics"] = metrics
            if token:
                self.store.save_token(ctx.account, ctx.region, token, digest, _now(), orjson.dumps(out))
        return out

    # -- PartiQL -----------------------------------------------------------------------------

    def execute_statement(self, ctx, params: dict) -> dict:
        from overcast.services.dynamodb.partiql import execute_statement

        return execute_statement(self, ctx, params)

    def batch_execute_statement(self, ctx, params: dict) -> dict:
        from overcast.services.dynamodb.partiql import batch_execute_statement

        return batch_execute_statement(self, ctx, params)

    def execute_transaction(self, ctx, params: dict) -> dict:
        from overcast.services.dynamodb.partiql import execute_transaction

        return execute_transaction(self, ctx, params)

    # -- TTL reaper --------------------------------------------------------------------------

    async def _reap_loop(self) -> None:
        while True:
            try:
                delay = self._reap()
            except Exception:
                log.exception("TTL reaper failed")
                delay = 5.0
            self._reaper_wake.clear()
            try:
                await asyncio.wait_for(self._reaper_wake.wait(), delay)
            except TimeoutError:
                pass

    def _reap(self) -> float:
        """Delete expired items (with REMOVE stream records by the TTL service); returns the
        number of seconds until the next item expires (at most 60)."""
        now = _now()
        while True:
            rows = self.store.expired_items(now, now - TTL_HORIZON, 500)
            if not rows:
                break
            tables: dict[int, Table | None] = {}
            with self.store.transaction():
                for table_id, hash_, pk, sk, blob in rows:
                    table = tables.get(table_id, False)
                    if table is False:
                        table = tables[table_id] = self._table_by_id(table_id)
                    if table is None:
                        continue
                    if table.replicas and self.store.get_item(table_id, hash_, pk, sk) is None:
                        continue  # the same item expiring in another replica removed it already
                    self._write(table, (hash_, pk, sk), load_item(blob), None, identity=True)
        upcoming = self.store.next_expiry(now - TTL_HORIZON)
        self._next_expiry = upcoming
        if upcoming is None:
            return 60.0
        return max(0.05, min(60.0, upcoming - _now() + 0.01))

    def _table_by_id(self, table_id: int) -> Table | None:
        for row in self.store.ttl_tables():
            if row[0] == table_id:
                spec = orjson.loads(row[4])
                key = (row[1], row[2], row[3])
                table = self._tables.get(key)
                if table is None:
                    table = self._tables[key] = Table(row[0], spec, row[1], row[2])
                return table
        return None


# -- helpers -------------------------------------------------------------------------------------


GLOBAL_TABLE_VERSION = "2019.11.21"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def _json_default(value):
    if isinstance(value, bytes | bytearray):
        return value.hex()
    raise TypeError


_TABLE_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")


def _check_table_name(name: str) -> None:
    problems = []
    if not _TABLE_NAME.match(name):
        problems.append("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    if len(name) < 3:
        problems.append("Member must have length greater than or equal to 3")
    if len(name) > 255:
        problems.append("Member must have length less than or equal to 255")
    if problems:
        count = len(problems)
        raise invalid(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(
            f"Value '{name}' at 'tableName' failed to satisfy constraint: {p}" for p in problems))


def _throughput(given: dict | None) -> dict:
    given = given or {}
    return {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": given.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": given.get("WriteCapacityUnits", 0)}


def _index_spec(index: dict, throughput: dict | None) -> dict:
    spec = {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
    if throughput is not None or "ProvisionedThroughput" in index:
        spec["ProvisionedThroughput"] = _throughput(throughput)
    if index.get("WarmThroughput"):
        spec["WarmThroughput"] = _warm_given(index["WarmThroughput"])
    return spec


ON_DEMAND_WARM = (12_000, 4_000)  # AWS's warm throughput of a new on-demand table or index (reads, writes)


def _warm_given(given: dict) -> dict:
    out = {}
    for key in ("ReadUnitsPerSecond", "WriteUnitsPerSecond"):
        if given.get(key) is not None:
            if given[key] < 1:
                raise invalid(f"WarmThroughput {key} must be at least 1")
            out[key] = given[key]
    return out


def _warm(table_spec: dict, spec: dict, status: str) -> dict | None:
    """WarmThroughput of a table or a GSI (`spec`): what was asked for, else its provisioned
    capacity, else on-demand's initial 12,000 reads / 4,000 writes per second. Answered by
    CreateTable only when asked for (then UPDATING), and not by DeleteTable, as AWS answers."""
    given = spec.get("WarmThroughput") or {}
    if status == "DELETING":  # DeleteTable's answer has none
        return None
    if status == "CREATING":
        if not given:
            return None
        status = "UPDATING"
    else:
        status = "ACTIVE"
    if table_spec["BillingMode"] == "PAY_PER_REQUEST":
        read, write = ON_DEMAND_WARM
    else:
        throughput = spec.get("ProvisionedThroughput") or {}
        read, write = throughput.get("ReadCapacityUnits", 0), throughput.get("WriteCapacityUnits", 0)
    return {"ReadUnitsPerSecond": max(read, given.get("ReadUnitsPerSecond", 0)),
            "WriteUnitsPerSecond": max(write, given.get("WriteUnitsPerSecond", 0)), "Status": status}


def _check_key_schema(schema: list, types: dict, index_name: str) -> None:
    where = "Index KeySchema: " if index_name else ""
    missing = [k["AttributeName"] for k in schema if k["AttributeName"] not in types]
    if missing:
        raise params_invalid("Some index key attributes are not defined in AttributeDefinitions. Keys: "
                             f"[{', '.join(missing)}], AttributeDefinitions: [{', '.join(types)}]")
    if schema[0]["KeyType"] != "HASH":
        raise invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type" if not where else
                      f"{where}The first KeySchemaElement is not a HASH key type")
    if len(schema) > 1:
        if schema[1]["KeyType"] != "RANGE":
            raise invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
        if schema[0]["AttributeName"] == schema[1]["AttributeName"]:
            raise invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")


def _check_index(index: dict, types: dict, names: set) -> None:
    name = index["IndexName"]
    if name in names:
        raise params_invalid(f"Duplicate index name: {name}")
    names.add(name)
    _check_key_schema(index["KeySchema"], types, name)
    projection = index.get("Projection") or {}
    kind = projection.get("ProjectionType")
    if kind == "INCLUDE" and not projection.get("NonKeyAttributes"):
        raise params_invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
    if kind != "INCLUDE" and projection.get("NonKeyAttributes"):
        raise params_invalid(f"ProjectionType is {kind}, but NonKeyAttributes is specified")


def _check_stream_spec(spec: dict | None) -> None:
    if spec is None:
        return
    if spec.get("StreamEnabled") and not spec.get("StreamViewType"):
        raise invalid("One or more parameter values were invalid: You must specify a StreamViewType when enabling "
                      "a DynamoDB Stream")
    if not spec.get("StreamEnabled") and spec.get("StreamViewType"):
        raise invalid("One or more parameter values were invalid: You cannot modify the StreamViewType when "
                      "disabling a DynamoDB Stream")


def _return_values(returns: str, clauses: dict, old: dict | None, new: dict) -> dict | None:
    if returns == "NONE":
        return None
    if returns == "ALL_OLD":
        return old
    if returns == "ALL_NEW":
        return new
    from overcast.services.dynamodb.expressions import Path

    paths = []
    for word, actions in clauses.items():
        for action in actions:
            path = action if word == "REMOVE" else action[0]
            paths.append(Path(tuple(e for e in path.elements if not isinstance(e, int))[:1]) if returns == "UPDATED_OLD"
                         and word == "REMOVE" else path)
    source = old if returns == "UPDATED_OLD" else new
    if source is None:
        return None
    return projected(source, paths) or None


def _paths_in(node) -> set[str]:
    from overcast.services.dynamodb.expressions import Node, Path, Size

    names = set()

    def walk(value):
        if isinstance(value, Path):
            names.add(value.elements[0])
        elif isinstance(value, Size):
            names.add(value.path.elements[0])
        elif isinstance(value, Node):
            for arg in value.args:
                walk(arg)

    walk(node)
    return names


def _key_condition(node, hash_name: str, range_name: str | None) -> tuple:
    """(hash value, sort-key operator or None, sort-key values) of a KeyConditionExpression."""
    from overcast.services.dynamodb.expressions import Node, Path, Value

    def fail(message: str = "Query key condition not supported"):
        return ExpressionError(f"Invalid KeyConditionExpression: {message}")

    parts = []

    def flatten(value):
        if value.op == "AND":
            flatten(value.args[0])
            flatten(value.args[1])
        else:
            parts.append(value)

    flatten(node)
    if len(parts) > 2:
        raise fail()
    hash_value = None
    sk_op, sk_values = None, ()
    for part in parts:
        if not isinstance(part, Node):
            raise fail()
        op, args = part.op, part.args
        if op in ("=", "<", "<=", ">", ">="):
            left, right = args
            if isinstance(right, Path) and isinstance(left, Value):
                left, right = right, left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if not isinstance(left, Path) or not isinstance(right, Value) or len(left.elements) != 1:
                raise fail()
            name = left.elements[0]
            if name == hash_name and op == "=" and hash_value is None:
                hash_value = right.value
            elif name == range_name and sk_op is None:
                sk_op, sk_values = op, (right.value,)
            elif name in (hash_name, range_name):
                raise fail()
            else:
                missing = hash_name if hash_value is None else range_name
                if missing is None:
                    raise fail()
                raise invalid(f"Query condition missed key schema element: {missing}")
        elif op == "BETWEEN":
            target, low, high = args
            if not isinstance(target, Path) or target.elements != (range_name,) or sk_op is not None or not (
                    isinstance(low, Value) and isinstance(high, Value)):
                raise fail()
            sk_op, sk_values = "BETWEEN", (low.value, high.value)
        elif op == "begins_with":
            target, prefix = args
            if not isinstance(target, Path) or target.elements != (range_name,) or sk_op is not None or not isinstance(
                    prefix, Value):
                raise fail()
            sk_op, sk_values = "begins_with", (prefix.value,)
        else:
            raise fail()
    if hash_value is None:
        raise invalid(f"Query condition missed key schema element: {hash_name}")
    return hash_value, sk_op, sk_values


def _refuse_other_account(ctx, arn: str) -> None:
    """A table ARN of another account: AWS allows it only through the table's resource policy
    (PutResourcePolicy), which overcast does not store yet, so the shared evaluator refuses it."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[4] != ctx.account:
        principal = iam_policy.caller(ctx)
        request = iam_policy.Request(principal, f"dynamodb:{ctx.operation}", arn.split("/stream/")[0])
        message = iam_policy.refusal(None, request, parts[4])
        if message is not None:
            raise AwsError("AccessDeniedException", message, 400)
