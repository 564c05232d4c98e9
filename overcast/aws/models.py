"""botocore's service models, loaded once per service, as plain dicts.

The parser, serializer and validator walk these dicts directly: importing botocore.model costs
~75 ms and ~10 MB at start, and the raw shapes are all the protocol layer needs.
"""

from __future__ import annotations

import gzip
import os
import re
from functools import cache

import orjson

_BOTOCORE_DATA = None


def _data_dir() -> str:
    global _BOTOCORE_DATA
    if _BOTOCORE_DATA is None:
        import importlib.util

        spec = importlib.util.find_spec("botocore")
        _BOTOCORE_DATA = os.path.join(os.path.dirname(spec.origin), "data")
    return _BOTOCORE_DATA


class OperationModel:
    """One operation: its name, HTTP binding, input/output shape names and error shapes."""

    __slots__ = ("name", "service", "spec", "http", "input_shape", "output_shape", "method_name")

    def __init__(self, service: ServiceModel, name: str, spec: dict):
        self.name = name
        self.service = service
        self.spec = spec
        self.http = spec.get("http", {})
        self.input_shape = spec.get("input", {}).get("shape")
        self.output_shape = spec.get("output", {}).get("shape")
        self.method_name = snake_case(name)

    @property
    def output_wrapper(self) -> str | None:
        """The query protocol's result element name (resultWrapper)."""
        return self.spec.get("output", {}).get("resultWrapper")

    def __repr__(self) -> str:
        return f"<Operation {self.service.name}.{self.name}>"


class ServiceModel:
    """A botocore service-2.json: metadata, operations and shapes."""

    def __init__(self, name: str, spec: dict):
        self.name = name
        self.spec = spec
        self.metadata = spec["metadata"]
        self.shapes: dict[str, dict] = spec["shapes"]
        self.operations = {op: OperationModel(self, op, s) for op, s in spec["operations"].items()}
        self.protocol = self.metadata.get("protocol")
        self.protocols = self.metadata.get("protocols") or [self.protocol]
        if self.protocol == "smithy-rpc-v2-cbor" and "json" in self.protocols:
            # CloudWatch offers Smithy RPC v2 CBOR, awsJson and awsQuery: overcast speaks awsJson, which
            # the SDKs pick when a service offers both (botocore's order), and awsQuery (dispatch.py)
            self.protocol = "json"
        self.target_prefix = self.metadata.get("targetPrefix")
        self.query_compatible = "awsQueryCompatible" in self.metadata
        # the member an older awsQuery client may give as the request's path instead (SQS's
        # QueueUrl: legacy_models.PATH_BOUND_MEMBERS); None for every current model
        self.path_bound: str | None = None
        self._rest_routes = None
        self._caches: dict[str, dict] = {}

    def shape(self, name: str) -> dict:
        return self.shapes[name]

    def operation(self, name: str) -> OperationModel | None:
        return self.operations.get(name)

    def cache(self, name: str) -> dict:
        """A named dict for what the protocol layer derives from this model once (per-shape
        converters, validators, binding plans, namespaces) and reuses on every request."""
        found = self._caches.get(name)
        if found is None:
            found = self._caches[name] = {}
        return found

    def __repr__(self) -> str:
        return f"<ServiceModel {self.name}>"


@cache
def load_service_model(name: str) -> ServiceModel:
    """Load the newest API version of botocore's model for a service (e.g. "sqs")."""
    base = os.path.join(_data_dir(), name)
    version = max(v for v in os.listdir(base) if os.path.isdir(os.path.join(base, v)))
    path = os.path.join(base, version, "service-2.json")
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz") as f:
            spec = orjson.loads(f.read())
    else:
        with open(path, "rb") as f:
            spec = orjson.loads(f.read())
    return ServiceModel(name, spec)


def fill_idempotency_tokens(service: str, operation: str, params: dict) -> dict:
    """What the SDKs do before sending: a top-level member the model marks idempotencyToken that
    the caller left out gets a fresh UUID. overcast's services calling each other (CloudFormation,
    Step Functions) are SDK callers in AWS, so providers may require these members as AWS does."""
    import uuid

    model = load_service_model(service).operation(operation)
    if model is None or model.input_shape is None:
        return params
    members = model.service.shapes[model.input_shape].get("members", {})
    for name, member in members.items():
        if member.get("idempotencyToken") and params.get(name) is None:
            params[name] = str(uuid.uuid4())
    return params


_FIRST_CAP = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAP = re.compile(r"([a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """SendMessageBatch -> send_message_batch; ListDeadLetterSourceQueues -> list_dead_letter_source_queues."""
    return _ALL_CAP.sub(r"\1_\2", _FIRST_CAP.sub(r"\1_\2", name)).lower()
