"""JSON bodies <-> Python values for the awsJson and restJson protocols, compiled per shape.

`decoder(model, shape)` / `encoder(model, shape)` return a function that converts a JSON value
of that shape (timestamps, blobs, NaN/Infinity floats, jsonvalue strings, members renamed by
`locationName`; a `jsonvalue` string stays a string in a JSON body), or None when the shape holds nothing to convert — then the value is used as
orjson produced it. Both are cached on the ServiceModel.
"""

from __future__ import annotations

from overcast.aws.errors import AwsError
from overcast.aws.models import ServiceModel
from overcast.aws.protocols.shapes import (
    decode_blob,
    encode_blob,
    format_timestamp,
    json_float,
    parse_timestamp,
    recursive_stand_in,
    ref_traits,
)

_SPECIAL_FLOATS = frozenset(("NaN", "Infinity", "-Infinity"))


def _needs(model: ServiceModel, shape_name: str) -> bool:
    cache = model.cache("json_needs")
    if shape_name in cache:
        return cache[shape_name]
    cache[shape_name] = False  # a cycle alone converts nothing
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind in ("timestamp", "blob", "float", "double"):
        result = True
    elif kind == "structure":
        result = False
        if not shape.get("document"):
            for ref in shape.get("members", {}).values():
                traits = ref_traits(model, ref)
                if "locationName" in traits or _needs(model, ref["shape"]):
                    result = True
    elif kind == "list":
        result = _needs(model, shape["member"]["shape"])
    elif kind == "map":
        result = _needs(model, shape["value"]["shape"])
    else:
        result = False
    cache[shape_name] = result
    return result


def decoder(model: ServiceModel, shape_name: str):
    return _get(model, shape_name, "_json_decoders", _compile_decoder)


def encoder(model: ServiceModel, shape_name: str):
    return _get(model, shape_name, "_json_encoders", _compile_encoder)


def _get(model, shape_name, key, compile_):
    cache = model.cache(key)
    if shape_name in cache:
        return cache[shape_name]
    if not _needs(model, shape_name):
        cache[shape_name] = None
        return None
    cache[shape_name] = recursive_stand_in(cache, shape_name, lambda value: value)  # cycles
    cache[shape_name] = result = compile_(model, shape_name)
    return result


def _compile_decoder(model: ServiceModel, shape_name: str):
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        plan = {}
        for name, ref in shape.get("members", {}).items():
            traits = ref_traits(model, ref)
            sub = decoder(model, ref["shape"])
            wire = traits.get("locationName", name)
            if sub is not None or wire != name:  # members arriving as they are need no entry
                plan[wire] = (name, sub)
        converted = frozenset(plan)

        def decode_structure(value):
            if not isinstance(value, dict) or converted.isdisjoint(value):
                return value  # nothing of this value to convert (a DynamoDB {"S": ...}): no copy
            out = {}
            for k, v in value.items():
                entry = plan.get(k)
                if entry is None:
                    out[k] = v
                else:
                    name, sub = entry
                    out[name] = sub(v) if sub is not None and v is not None else v
            return out

        return decode_structure
    if kind == "list":
        sub = decoder(model, shape["member"]["shape"])
        return lambda value: [sub(v) if v is not None else v for v in value] if isinstance(value, list) else value
    if kind == "map":
        sub = decoder(model, shape["value"]["shape"])
        return lambda value: (
            {k: sub(v) if v is not None else v for k, v in value.items()} if isinstance(value, dict) else value
        )
    if kind == "timestamp":
        fmt = shape.get("timestampFormat")

        def decode_timestamp(value):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(f"Expected a timestamp, found {type(value).__name__}.")
            try:
                return parse_timestamp(value, fmt)
            except (ValueError, TypeError, OverflowError):
                raise ValueError(f"Invalid timestamp: {value!r}.") from None

        return decode_timestamp
    if kind == "blob":
        def decode_b64(value):
            if isinstance(value, str):
                return decode_blob(value)
            return value

        return decode_b64
    if kind in ("float", "double"):
        return lambda value: float(value) if isinstance(value, str) and value in _SPECIAL_FLOATS else value
    return None


def _compile_encoder(model: ServiceModel, shape_name: str):
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        plan = {}
        for name, ref in shape.get("members", {}).items():
            traits = ref_traits(model, ref)
            sub = encoder(model, ref["shape"])
            wire = traits.get("locationName", name)
            if sub is not None or wire != name:  # members that go out as they are need no entry
                plan[name] = (wire, sub)
        converted = frozenset(plan)

        def encode_structure(value):
            if not isinstance(value, dict):
                return value
            if converted.isdisjoint(value) and None not in value.values():
                return value  # nothing of this value to convert or drop (a DynamoDB {"S": ...}): no copy
            out = {}
            for k, v in value.items():
                if v is None:
                    continue
                entry = plan.get(k)
                if entry is None:
                    out[k] = v
                else:
                    wire, sub = entry
                    out[wire] = sub(v) if sub is not None else v
            return out

        encode_structure.converted = converted
        return encode_structure
    if kind == "list":
        sub = encoder(model, shape["member"]["shape"])
        return lambda value: [sub(v) if v is not None else v for v in value]
    if kind == "map":
        sub = encoder(model, shape["value"]["shape"])
        converted = getattr(sub, "converted", None)
        if converted is not None:  # a map of structures (DynamoDB's items: attribute name -> AttributeValue)

            def encode_map_of_structures(value):
                if value.__class__ is not dict:  # an orjson.Fragment: JSON ready to send (DynamoDB's items)
                    return value
                # encode_structure's test, inline: most values ({"S": ...}, {"N": ...}) have nothing to
                # convert, and then the map goes out as it is, without a call and a copy per value
                for v in value.values():
                    if v is not None and not (v.__class__ is dict and converted.isdisjoint(v) and None not in v.values()):
                        return {k: sub(v) if v is not None else v for k, v in value.items()}
                return value

            return encode_map_of_structures
        return lambda value: {k: sub(v) if v is not None else v for k, v in value.items()} \
            if value.__class__ is dict else value
    if kind == "timestamp":
        fmt = shape.get("timestampFormat", "unixTimestamp")
        if fmt == "unixTimestamp" and model.protocol == "json":
            # awsJson writes epoch seconds as a double, whole seconds too (CloudWatch's recorded
            # GetMetricData: 1765977780.0; DynamoDB's CreationDateTime, Secrets Manager's
            # CreatedDate: 1.523477145713E9): a JSON float, never an integer
            return lambda value: float(format_timestamp(value, fmt))
        return lambda value: format_timestamp(value, fmt)
    if kind == "blob":
        return encode_blob
    if kind in ("float", "double"):
        return json_float
    return None


def error_message_key(model: ServiceModel | None, code: str) -> str:
    shape = model.shapes.get(code) if model is not None else None
    if shape is not None and "Message" in shape.get("members", {}) and "message" not in shape["members"]:
        return "Message"
    return "message"


def error_body(model: ServiceModel | None, code: str, error: AwsError, skip=()) -> dict:
    """The JSON body of an error: its message and the error shape's other members. An error raised
    with `_no_message=True` has no message member at all, as some of AWS's have none (KMS's
    InvalidCiphertextException)."""
    body = {}
    if (error.message or not error.fields) and not error.fields.get("_no_message"):
        body[error_message_key(model, code)] = error.message
    fields = {k: v for k, v in error.fields.items() if v is not None and k not in skip and not k.startswith("_")}
    if fields:
        shape = model.shapes.get(code) if model is not None else None
        if shape is not None and shape.get("type") == "structure":
            encode = encoder(model, code)
            if encode is not None:
                fields = encode(fields)
        body.update(fields)
    return body
