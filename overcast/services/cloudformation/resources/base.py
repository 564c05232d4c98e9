"""The interface every resource type implements, and what its handlers receive.

A resource type is a small class: `create` makes the resource through the owning service's own
provider (`op.call(service, Operation, params)`, the same methods the API calls) and returns its
physical id and its Fn::GetAtt attributes; `update` changes it in place; `delete` removes it.
Which property changes need a replacement instead of `update`, and which attributes exist, come
from the type's resource provider schema (schemas.py), not from the type's code.
"""

from __future__ import annotations

import copy
import inspect
import random
import string
from typing import TYPE_CHECKING, ClassVar

from overcast.aws.context import HttpRequest, RequestContext
from overcast.aws.errors import AwsError
from overcast.aws.models import fill_idempotency_tokens, snake_case

if TYPE_CHECKING:
    from overcast.aws.dispatch import Providers

_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits


class ResourceFailed(Exception):
    """A handler's failure, with the reason CloudFormation shows in the resource's event. A
    `physical_id` says that something may exist after all (a custom resource's provider answered
    FAILED with an id): a rollback then deletes it, as AWS sends Delete for such a resource."""

    def __init__(self, reason: str, physical_id: str | None = None):
        super().__init__(reason)
        self.physical_id = physical_id


class ResourceOp:
    """One operation (create, update or delete) on one resource of a stack."""

    def __init__(self, providers: Providers, stack: dict, logical_id: str, type_name: str, properties: dict, *,
                 physical_id: str | None = None, attributes: dict | None = None, old_properties: dict | None = None,
                 planned_name: str | None = None, engine=None):
        self.providers = providers
        self.stack = stack
        self.logical_id = logical_id
        self.type_name = type_name
        self.properties = properties
        self.physical_id = physical_id
        self.attributes = attributes or {}
        self.old_properties = old_properties or {}
        self.planned_name = planned_name
        self.engine = engine

    @property
    def account(self) -> str:
        return self.stack["account"]

    @property
    def region(self) -> str:
        return self.stack["region"]

    @property
    def stack_name(self) -> str:
        return self.stack["StackName"]

    @property
    def stack_id(self) -> str:
        return self.stack["StackId"]

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.providers.config.port or 4566}"

    def context(self, service: str, operation: str = "", region: str | None = None) -> RequestContext:
        host = f"localhost:{self.providers.config.port or 4566}"
        request = HttpRequest("POST", "/", "/", "", {"host": host}, b"")
        return RequestContext(self.account, region or self.region, service, request, operation=operation,
                              access_key=self.account, caller="cloudformation")

    async def call(self, service: str, operation: str, params: dict, region: str | None = None) -> dict:
        """Call `service`'s provider as the API would, in the stack's account and region (or in
        `region`, for the resources a stack makes in other regions: a global table's replicas)."""
        provider = await self.providers.get(service)
        method = getattr(provider, snake_case(operation), None)
        if method is None:  # the service exists, the operation this type needs does not yet
            raise ResourceFailed(f"Resource type {self.type_name} needs {service}:{operation}, which overcast does "
                                 "not implement yet")
        # a copy: a provider may change what it is given, and these are the stack's stored properties
        params = fill_idempotency_tokens(service, operation,
                                         copy.deepcopy({k: v for k, v in params.items() if v is not None}))
        ctx = self.context(service, operation, region)
        authorize = getattr(provider, "authorize", None)
        if authorize is not None:  # the check the API path runs before every operation of the service
            authorize(ctx, params)
        result = method(ctx, params)
        if inspect.isawaitable(result):
            result = await result
        return result or {}

    def name(self, prop: str | None = None, max_length: int = 64, lower: bool = False) -> str:
        """The resource's name: the template's `prop` when it sets one, else the name the engine
        planned (and stored before the call, so a crash leaves nothing it cannot find)."""
        if prop and self.properties.get(prop):
            return str(self.properties[prop])
        name = self.planned_name or generated_name(self.stack_name, self.logical_id, max_length, lower)
        return name[:max_length]


def generated_name(stack_name: str, logical_id: str, max_length: int = 64, lower: bool = False) -> str:
    """AWS's pattern for names it generates: {stack}-{logicalId}-{random suffix}, truncated to fit."""
    suffix = "".join(random.choices(_SUFFIX_ALPHABET, k=12 if max_length < 64 else 13))
    room = max(max_length - len(suffix) - 2, 2)
    stack_part = stack_name[: max(room // 2, room - len(logical_id))]
    logical_part = logical_id[: room - len(stack_part)]
    name = f"{stack_part}-{logical_part}-{suffix}"
    return name.lower() if lower else name


class ResourceType:
    """Subclass per CloudFormation type and register it in resources/__init__.py's TYPES."""

    type_name: ClassVar[str] = ""
    # The attributes Fn::GetAtt answers beyond the schema's readOnlyProperties (AWS documents a few
    # that the schemas lack, e.g. AWS::SQS::Queue's QueueName).
    extra_attributes: ClassVar[frozenset[str]] = frozenset()
    # Names are generated for the resource when the template sets none: (max length, lower-case).
    name_length: ClassVar[int] = 64
    name_lower: ClassVar[bool] = False

    async def create(self, op: ResourceOp) -> tuple[str, dict]:
        """Create the resource; return (physical id, GetAtt attributes)."""
        raise NotImplementedError

    async def update(self, op: ResourceOp) -> dict:
        """Apply op.properties (previously op.old_properties) in place; return the attributes.
        The engine calls this only when no createOnly property changed."""
        raise ResourceFailed(f"Update of resource type {self.type_name} is not supported by overcast")

    async def delete(self, op: ResourceOp) -> None:
        """Delete the resource (op.physical_id). A resource already gone is not an error."""
        raise NotImplementedError

    def ref(self, physical_id: str, attributes: dict) -> object:
        """What Ref returns (AWS documents it per type under "Return values")."""
        return physical_id

    # Cloud Control (services/cloudcontrol): a type that has these answers GetResource and
    # ListResources; one without answers UnsupportedActionException, as AWS does.

    async def read(self, op: ResourceOp, identifier: str) -> dict | None:
        """The resource's current properties, named as the schema names them; None when the
        identifier (the schema's primary identifier) names nothing."""
        raise NotImplementedError

    async def list(self, op: ResourceOp) -> list[str]:
        """The identifiers of every resource of the type in op's account and region."""
        raise NotImplementedError


def is_missing(error: AwsError) -> bool:
    """Whether a service error means the resource no longer exists (a delete then succeeded)."""
    code = error.code
    return any(word in code for word in ("NotFound", "NoSuch", "DoesNotExist", "NonExistent")) or error.status == 404


def tag_map(tags) -> dict:
    """A template's tags as {key: value}: from a list of {Key, Value} or a map."""
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {t["Key"]: str(t.get("Value", "")) for t in tags or [] if isinstance(t, dict) and "Key" in t}


def tag_changes(old: dict, new: dict, prop: str = "Tags") -> tuple[dict, list[str]]:
    """An update's tag work: ({key: value} to set, [keys to remove]); both empty when unchanged."""
    before, after = tag_map(old.get(prop)), tag_map(new.get(prop))
    if before == after:
        return {}, []
    return {k: v for k, v in after.items() if before.get(k) != v}, [k for k in before if k not in after]


def api_members(service: str, operation: str, properties: dict) -> dict:
    """CloudFormation's PascalCase properties as the operation's input members (AppSync's camelCase,
    DynamoDBConfig -> dynamodbConfig), matched case-insensitively shape by shape through botocore's
    model; map keys stay as they are. A property the input has no member for is left out."""
    from overcast.aws.models import load_service_model

    model = load_service_model(service)
    return _members(model, model.operation(operation).input_shape, properties)


def _members(model, shape_name: str, value):
    shape = model.shapes[shape_name]
    kind = shape["type"]
    if kind == "structure" and isinstance(value, dict):
        members = shape.get("members", {})
        lookup = model.cache("cfn-members").get(shape_name)
        if lookup is None:
            lookup = model.cache("cfn-members")[shape_name] = {name.lower(): name for name in members}
        out = {}
        for key, item in value.items():
            name = lookup.get(key.lower())
            if name is not None and item is not None:
                out[name] = _members(model, members[name]["shape"], item)
        return out
    if kind == "list" and isinstance(value, list):
        return [_members(model, shape["member"]["shape"], v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _members(model, shape["value"]["shape"], v) for k, v in value.items()}
    return value


async def collect(op: ResourceOp, service: str, operation: str, params: dict, items: str, token_in: str,
                  token_out: str | None = None) -> list:
    """Every item of a paged list operation, page after page."""
    out, token = [], None
    while True:
        page = await op.call(service, operation, {**params, token_in: token})
        out += page.get(items) or []
        token = page.get(token_out or token_in)
        if not token:
            return out


async def read_or_none(call):
    """The awaited result of a read, or None when the service says the resource does not exist."""
    try:
        return await call
    except AwsError as e:
        if is_missing(e):
            return None
        raise
