"""Table and index metadata as the data plane needs it (parsed once from the stored spec and
cached by the provider), with key extraction and validation."""

from __future__ import annotations

from overcast.services.dynamodb.values import (
    hash_of,
    invalid,
    key_bytes,
    normalize_number,
    params_invalid,
    type_of,
)

_MAX_HASH_KEY = 2048
_MAX_RANGE_KEY = 1024


def _empty_key(name: str, kind: str) -> Exception:
    what = "string" if kind == "S" else "binary"
    return invalid(f"One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                   f"contain an empty {what} value. Key: {name}")


def _check_size(name: str, value: dict, is_hash: bool) -> None:
    raw = value.get("S")
    size = len(raw.encode()) if raw is not None else len(value.get("B", b""))
    if is_hash and size > _MAX_HASH_KEY:
        raise params_invalid("Size of hashkey has exceeded the maximum size limit of 2048 bytes")
    if not is_hash and size > _MAX_RANGE_KEY:
        raise params_invalid("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")


class Index:
    __slots__ = ("name", "is_global", "hash_name", "hash_type", "range_name", "range_type", "projection",
                 "non_key", "arn", "spec")

    def __init__(self, spec: dict, is_global: bool, types: dict, table_arn: str):
        self.spec = spec
        self.name = spec["IndexName"]
        self.is_global = is_global
        schema = spec["KeySchema"]
        self.hash_name = schema[0]["AttributeName"]
        self.hash_type = types[self.hash_name]
        self.range_name = schema[1]["AttributeName"] if len(schema) > 1 else None
        self.range_type = types[self.range_name] if self.range_name else None
        projection = spec.get("Projection") or {}
        self.projection = projection.get("ProjectionType", "ALL")
        self.non_key = frozenset(projection.get("NonKeyAttributes") or ())
        self.arn = f"{table_arn}/index/{self.name}"

    def key_of(self, item: dict) -> tuple | None:
        """(hash, pk, sk) of an item in this index, or None when it lacks the index's keys."""
        hv = item.get(self.hash_name)
        if hv is None:
            return None
        rv = None
        if self.range_name:
            rv = item.get(self.range_name)
            if rv is None:
                return None
        pk = key_bytes(hv)
        return hash_of(pk), pk, key_bytes(rv) if rv is not None else b""

    def check_item(self, item: dict) -> None:
        """A written item whose index key attributes have the wrong type (or are empty) is rejected."""
        for name, kind in ((self.hash_name, self.hash_type), (self.range_name, self.range_type)):
            if name is None:
                continue
            value = item.get(name)
            if value is None:
                continue
            actual = type_of(value)
            if actual != kind:
                raise params_invalid(f"Type mismatch for Index Key {name} Expected: {kind} Actual: {actual} "
                                     f"IndexName: {self.name}")
            if kind in ("S", "B") and not value[kind]:
                raise invalid("One or more parameter values are not valid. A value specified for a secondary index "
                              "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
                              f"{'string' if kind == 'S' else 'binary'} value. IndexName: {self.name}, IndexKey: {name}")

    def project(self, item: dict, table: Table) -> dict:
        if self.projection == "ALL":
            return item
        keep = {table.hash_name, self.hash_name}
        if table.range_name:
            keep.add(table.range_name)
        if self.range_name:
            keep.add(self.range_name)
        if self.projection == "INCLUDE":
            keep |= self.non_key
        return {k: v for k, v in item.items() if k in keep}

    def projected_names(self, table: Table) -> frozenset | None:
        """The attributes this index holds, or None for ALL."""
        if self.projection == "ALL":
            return None
        keep = {table.hash_name, self.hash_name}
        if table.range_name:
            keep.add(table.range_name)
        if self.range_name:
            keep.add(self.range_name)
        if self.projection == "INCLUDE":
            keep |= self.non_key
        return frozenset(keep)


class Table:
    __slots__ = ("id", "name", "account", "region", "arn", "spec", "types", "hash_name", "hash_type",
                 "range_name", "range_type", "indexes", "stream_id", "stream_arn", "view_type", "ttl_attr",
                 "key_count", "kinesis", "captures", "replicas")

    def __init__(self, table_id: int, spec: dict, account: str, region: str):
        self.id = table_id
        self.spec = spec
        self.name = spec["TableName"]
        self.account = account
        self.region = region
        self.arn = spec["TableArn"]
        self.types = {d["AttributeName"]: d["AttributeType"] for d in spec["AttributeDefinitions"]}
        schema = spec["KeySchema"]
        self.hash_name = schema[0]["AttributeName"]
        self.hash_type = self.types[self.hash_name]
        self.range_name = schema[1]["AttributeName"] if len(schema) > 1 else None
        self.range_type = self.types[self.range_name] if self.range_name else None
        self.key_count = len(schema)
        self.indexes: dict[str, Index] = {}
        for index in spec.get("GlobalSecondaryIndexes") or ():
            self.indexes[index["IndexName"]] = Index(index, True, self.types, self.arn)
        for index in spec.get("LocalSecondaryIndexes") or ():
            self.indexes[index["IndexName"]] = Index(index, False, self.types, self.arn)
        stream = spec.get("_Stream")
        self.stream_id = stream["Id"] if stream else None
        self.stream_arn = stream["Arn"] if stream else None
        self.view_type = stream["ViewType"] if stream else None
        ttl = spec.get("TtlAttribute")
        self.ttl_attr = ttl if ttl else None
        # Kinesis streaming destinations being written: (stream ARN, precision); a destination
        # counts from EnableKinesisStreamingDestination until DisableKinesisStreamingDestination
        self.kinesis = tuple((d["StreamArn"], d.get("Precision") or "MILLISECOND")
                             for d in spec.get("_Kinesis") or () if d["Enabled"])
        # the other regions of the table's global table (version 2019.11.21), each holding a replica
        # of the same name that every write is applied to
        self.replicas = tuple(r for r in spec.get("_Replicas") or () if r != region)
        # whether item changes are captured at all (a stream record, a Kinesis record, a replica)
        self.captures = self.stream_id is not None or bool(self.kinesis) or bool(self.replicas)

    def has_local_indexes(self) -> bool:
        return any(not index.is_global for index in self.indexes.values())

    def local_index_names(self) -> list[str]:
        return [name for name, index in self.indexes.items() if not index.is_global]

    def key_names(self) -> tuple:
        return (self.hash_name, self.range_name) if self.range_name else (self.hash_name,)

    def keys_of(self, item: dict) -> dict:
        keys = {self.hash_name: item[self.hash_name]}
        if self.range_name:
            keys[self.range_name] = item[self.range_name]
        return keys

    def item_key(self, item: dict) -> tuple:
        """(hash, pk, sk) of an item being written, with DynamoDB's messages for bad keys."""
        hv = self._item_key_value(item, self.hash_name, self.hash_type, True)
        pk = key_bytes(hv)
        sk = b""
        if self.range_name:
            sk = key_bytes(self._item_key_value(item, self.range_name, self.range_type, False))
        return hash_of(pk), pk, sk

    @staticmethod
    def _item_key_value(item: dict, name: str, kind: str, is_hash: bool) -> dict:
        value = item.get(name)
        if value is None:
            raise params_invalid(f"Missing the key {name} in the item")
        actual = type_of(value)
        if actual != kind:
            raise params_invalid(f"Type mismatch for key {name} expected: {kind} actual: {actual}")
        if kind in ("S", "B") and not value[kind]:
            raise _empty_key(name, kind)
        if kind != "N":
            _check_size(name, value, is_hash)
        return value

    def param_key(self, key, message: str = "The provided key element does not match the schema") -> tuple:
        """(hash, pk, sk, normalized key) of a Key parameter."""
        if not isinstance(key, dict) or len(key) != self.key_count or self.hash_name not in key or (
                self.range_name and self.range_name not in key):
            raise invalid(message)
        normalized = {}
        for name, kind, is_hash in ((self.hash_name, self.hash_type, True), (self.range_name, self.range_type, False)):
            if name is None:
                continue
            value = key[name]
            if not isinstance(value, dict) or len(value) != 1 or type_of(value) != kind:
                raise invalid(message)
            if kind == "N":
                value = {"N": normalize_number(value["N"])}
            elif kind == "S":
                if not isinstance(value["S"], str):
                    raise invalid(message)
                if not value["S"]:
                    raise _empty_key(name, kind)
                _check_size(name, value, is_hash)
            else:
                if not value["B"]:
                    raise _empty_key(name, kind)
                _check_size(name, value, is_hash)
            normalized[name] = value
        pk = key_bytes(normalized[self.hash_name])
        sk = key_bytes(normalized[self.range_name]) if self.range_name else b""
        return hash_of(pk), pk, sk, normalized

    def ttl_value(self, item: dict) -> float | None:
        if self.ttl_attr is None:
            return None
        value = item.get(self.ttl_attr)
        if value is None or "N" not in value:
            return None
        try:
            return float(value["N"])
        except (ValueError, OverflowError):
            return None
