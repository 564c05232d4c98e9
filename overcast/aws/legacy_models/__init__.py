"""Older service models that clients still speak.

SQS moved from awsQuery to awsJson 1.0 in late 2023; botocore ships only the JSON model, but older
SDKs (and many tools) still send awsQuery. The last awsQuery model of SQS is kept here so the same
generic query protocol can parse and answer them.

NOTICE: `sqs-2012-11-05-query.json.gz` is `botocore/data/sqs/2012-11-05/service-2.json` from
botocore 1.31.60 (Apache-2.0, Copyright Amazon.com, Inc. or its affiliates), with its
`documentation` strings removed. It has all 23 operations of the current JSON model (the message
move task operations included) with the same member names; members the JSON model added since
(e.g. ReceiveMessage's MessageSystemAttributeNames) are merged in from the current model at load
time (`_merge_newer`), so both protocols hand providers the same parameters.

The legacy model also carries the awsQuery error codes (`error.code` traits, e.g.
QueueDoesNotExist -> AWS.SimpleQueueService.NonExistentQueue) that the awsQueryCompatible JSON
model dropped; `query_error_code` looks them up for either protocol.

Athena moved from awsJson 1.1 (`POST /`, `X-Amz-Target: AmazonAthena.StartQueryExecution`) to
restJson1 (`POST /query-executions`) in botocore 1.44.18; AWS answers both, and clients send
either, depending on the botocore they bundle (the AWS CLI v1 and older SDKs awsJson, newer
boto3 restJson1). Both of its models are kept here (`PROTOCOL_MODELS`), so whichever botocore is
installed overcast answers both: a request in the protocol of the installed model is served
with that model (the newest), one in the other protocol with the vendored model for it. The two
models have the same operations, shapes and member names (restJson1 adds only the `location`
traits of its path, query string and header members, and GetQueryResultStream, which awsJson
has not), so providers get the same parameters from either.

NOTICE: `athena-2017-05-18-json.json.gz` is `botocore/data/athena/2017-05-18/service-2.json.gz`
from botocore 1.44.8 and `athena-2017-05-18-rest-json.json.gz` the same file from botocore
1.44.18 (Apache-2.0, Copyright Amazon.com, Inc. or its affiliates), with their `documentation`
strings removed.
"""

from __future__ import annotations

import gzip
import os
from functools import cache

import orjson

from overcast.aws.models import ServiceModel, load_service_model

# service model name -> legacy awsQuery model name
LEGACY_QUERY_MODELS = {"sqs": "sqs-2012-11-05-query"}

# Members that older awsQuery clients put in the request path instead of a parameter: SQS's
# clients POST to the queue URL itself and leave QueueUrl out, so it is not required on the
# wire there (the provider takes the queue from the path).
PATH_BOUND_MEMBERS = {"sqs-2012-11-05-query": "QueueUrl"}


# service model name -> {protocol: vendored model name}: the protocols a service's clients speak,
# whichever of them the installed botocore's model has (see `protocol_model`)
PROTOCOL_MODELS = {
    "athena": {"json": "athena-2017-05-18-json", "rest-json": "athena-2017-05-18-rest-json"},
}


def _read(name: str) -> dict:
    path = os.path.join(os.path.dirname(__file__), f"{name}.json.gz")
    with gzip.open(path) as f:
        return orjson.loads(f.read())


@cache
def protocol_model(service: str, protocol: str) -> ServiceModel | None:
    """The model to parse and answer a request in `protocol` with: the installed botocore's model
    when it speaks that protocol, else the vendored model for it (None: there is none). Loaded
    once per (service, protocol)."""
    installed = load_service_model(service)
    if installed.protocol == protocol:
        return installed
    name = PROTOCOL_MODELS.get(service, {}).get(protocol)
    return ServiceModel(service, _read(name)) if name else None


@cache
def load_legacy_model(name: str) -> ServiceModel:
    spec = _read(name)
    service = name.split("-", 1)[0]
    _merge_newer(spec, load_service_model(service).spec)
    path_bound = PATH_BOUND_MEMBERS.get(name)
    if path_bound:
        for shape in spec["shapes"].values():
            if path_bound in shape.get("required", ()):
                shape["required"] = [m for m in shape["required"] if m != path_bound]
    model = ServiceModel(service, spec)
    model.path_bound = path_bound
    return model


def _merge_newer(legacy: dict, current: dict) -> None:
    """Add operations and input/output members that the current model has and the legacy one
    lacks, with the shapes they reference (shapes the legacy model already has are kept)."""
    lshapes, cshapes = legacy["shapes"], current["shapes"]

    def copy_shape(name: str) -> None:
        if name in lshapes:
            return
        shape = cshapes[name]
        lshapes[name] = shape
        for ref in _refs(shape):
            copy_shape(ref)

    for op_name, op in current["operations"].items():
        lop = legacy["operations"].get(op_name)
        if lop is None:
            legacy["operations"][op_name] = op
            for key in ("input", "output"):
                if key in op:
                    copy_shape(op[key]["shape"])
            continue
        for key in ("input", "output"):
            if key not in op or key not in lop:
                continue
            lmembers = lshapes[lop[key]["shape"]].setdefault("members", {})
            for member, ref in cshapes[op[key]["shape"]].get("members", {}).items():
                if member not in lmembers:
                    lmembers[member] = ref
                    copy_shape(ref["shape"])


def _refs(shape: dict):
    kind = shape.get("type")
    if kind == "structure":
        for ref in shape.get("members", {}).values():
            yield ref["shape"]
    elif kind == "list":
        yield shape["member"]["shape"]
    elif kind == "map":
        yield shape["key"]["shape"]
        yield shape["value"]["shape"]


def legacy_query_model(service: str) -> ServiceModel | None:
    name = LEGACY_QUERY_MODELS.get(service)
    return load_legacy_model(name) if name else None


def query_error_code(model: ServiceModel | None, code: str) -> tuple[str, int | None] | None:
    """The awsQuery error code (and HTTP status) for an error shape name: from the model's own
    `error` trait, else from the service's legacy awsQuery model. None when neither knows it."""
    if model is None:
        return None
    cache = model.cache("query_codes")
    if code in cache:
        return cache[code]
    found = None
    for candidate in (model, legacy_query_model(model.name)):
        if candidate is None:
            continue
        trait = candidate.shapes.get(code, {}).get("error")
        if trait and "code" in trait:
            found = (trait["code"], trait.get("httpStatusCode"))
            break
    cache[code] = found
    return found
