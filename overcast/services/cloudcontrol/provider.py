"""AWS Cloud Control API, answered by the CloudFormation resource types' own handlers
(resources/base.py: `create`, `update`, `delete`, `read`, `list`), which call the services'
providers: a resource made here, by a stack or by the service's API is the same resource. A type
whose handler overcast does not have answers UnsupportedActionException, as AWS does for a type
without that handler.

CreateResource, UpdateResource and DeleteResource answer at once with an IN_PROGRESS ProgressEvent
(committed first) and run the handler in the background; GetResourceRequestStatus and
ListResourceRequests read the request's event, which ends SUCCESS or FAILED with the handler's
reason and a handler error code. CancelResourceRequest stops a PENDING or IN_PROGRESS request's
handler where it awaits (what the handler already did stays done, as on AWS): the request is
CANCEL_IN_PROGRESS until the handler has stopped, then CANCEL_COMPLETE."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import string
import time
import uuid

import jsonpatch

from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.cloudcontrol.store import CloudControlStore
from overcast.services.cloudformation import schemas
from overcast.services.cloudformation.resources import resource_type
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    ResourceType,
    is_missing,
)

_PAGE = 100
_RESTARTED = "overcast restarted while the request was in progress"


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


def _not_found(type_name: str, identifier: str) -> str:
    return f"Resource of type '{type_name}' with identifier '{identifier}' was not found."


def _handler_error_code(error: Exception) -> str:
    """The handler error code (AWS's list, in ProgressEvent.ErrorCode) a service's error maps to."""
    if not isinstance(error, AwsError):
        return "GeneralServiceException"
    code = error.code
    if is_missing(error):
        return "NotFound"
    if "AlreadyExist" in code or "AlreadyOwned" in code or code in ("ResourceInUseException", "ResourceExistsException",
                                                                    "QueueNameExists", "ConflictException"):
        return "AlreadyExists"
    if "Throttl" in code or code == "TooManyRequestsException":
        return "Throttling"
    if "Limit" in code or "Quota" in code:
        return "ServiceLimitExceeded"
    if error.status < 500:
        return "InvalidRequest"
    return "ServiceInternalError"


def _generated_name(kind: ResourceType, type_name: str) -> str:
    """The name a resource gets when DesiredState leaves it out: the type's last part and a random
    suffix ("Queue-4F2K9X0QW1ZB"), within the type's length limit."""
    suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=12))
    base = type_name.split("::")[-1][: max(kind.name_length - 13, 1)]
    name = f"{base}-{suffix}"[: kind.name_length]
    return name.lower() if kind.name_lower else name


def _type_not_found(type_name: str) -> AwsError:
    return AwsError("TypeNotFoundException", f"The type '{type_name}' cannot be found.", 400)


class CloudControlProvider(Provider):
    service = "cloudcontrol"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = CloudControlStore(self.db)
        self.tasks: dict[str, asyncio.Task] = {}  # request token -> its running handler

    async def start(self) -> None:
        # A request a stop or a crash interrupted ends FAILED (CANCEL_COMPLETE when it was being
        # canceled): its handler is not running any more.
        for account, region, doc in self.store.unfinished():
            if doc["event"]["OperationStatus"] == "CANCEL_IN_PROGRESS":
                event = {**doc["event"], "OperationStatus": "CANCEL_COMPLETE", "EventTime": time.time()}
            else:
                event = {**doc["event"], "OperationStatus": "FAILED", "StatusMessage": _RESTARTED,
                         "ErrorCode": "InternalFailure"}
            self.store.put_request(account, region, event, doc["request"].get("ClientToken"),
                                   doc["request"]["created"], doc["request"])

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()

    def _kind(self, type_name: str, action: str, method: str) -> ResourceType:
        if not schemas.known_type(type_name):
            raise _type_not_found(type_name)
        kind = resource_type(type_name)
        schema = schemas.schema(type_name)
        # what the type's schema has no handler for (a custom resource, a wait condition; a Lambda
        # permission's update) AWS does not do either: the schema's `handlers` are the data
        unhandled = schema is not None and method not in (schema.document.get("handlers") or {})
        if kind is None or unhandled or getattr(type(kind), method) is getattr(ResourceType, method):
            raise AwsError("UnsupportedActionException", f"Resource type {type_name} does not support {action} "
                                                         "action", 400)
        return kind

    def _op(self, ctx, type_name: str) -> ResourceOp:
        scope = {"account": ctx.account, "region": ctx.region, "StackName": "", "StackId": ""}
        return ResourceOp(self.providers, scope, "", type_name, {})

    async def get_resource(self, ctx, params):
        type_name, identifier = params["TypeName"], params["Identifier"]
        kind = self._kind(type_name, "READ", "read")
        properties = await kind.read(self._op(ctx, type_name), identifier)
        if properties is None:
            raise AwsError("ResourceNotFoundException", f"{type_name} Handler returned status FAILED: Resource of "
                                                        f"type '{type_name}' with identifier '{identifier}' was not "
                                                        f"found. (HandlerErrorCode: NotFound, RequestToken: "
                                                        f"{uuid.uuid4()})", 400)
        return {"TypeName": type_name, "ResourceDescription": {"Identifier": identifier,
                                                               "Properties": json.dumps(properties)}}

    async def list_resources(self, ctx, params):
        type_name = params["TypeName"]
        kind = self._kind(type_name, "LIST", "list")
        op = self._op(ctx, type_name)
        identifiers = sorted(await kind.list(op))
        start = 0
        if params.get("NextToken"):
            try:
                start = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise AwsError("InvalidRequestException", "Invalid NextToken", 400) from None
        size = min(int(params.get("MaxResults") or _PAGE), _PAGE)
        page = identifiers[start:start + size]
        described = []
        for identifier in page:
            properties = await kind.read(op, identifier)
            if properties is not None:  # gone between the listing and the read
                described.append({"Identifier": identifier, "Properties": json.dumps(properties)})
        out = {"TypeName": type_name, "ResourceDescriptions": described}
        if start + size < len(identifiers):
            out["NextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return out

    # -- resource operation requests -----------------------------------------------------------

    def _scope(self, ctx) -> dict:
        return {"account": ctx.account, "region": ctx.region, "StackName": "", "StackId": ""}

    def _begin(self, ctx, params: dict, operation: str, identifier: str | None, request: dict) -> tuple[dict, bool]:
        """The request's first ProgressEvent, committed; (event, False) for a ClientToken already
        seen with the same request (its event, nothing started), ClientTokenConflictException for
        one seen with another."""
        client_token = params.get("ClientToken")
        request = {**request, "Operation": operation, "TypeName": params["TypeName"], "ClientToken": client_token}
        if client_token:
            seen = self.store.request_by_client_token(ctx.account, ctx.region, client_token)
            if seen is not None:
                if {k: v for k, v in seen["request"].items() if k != "created"} != request:
                    raise AwsError("ClientTokenConflictException", f"The client token '{client_token}' was already "
                                   "used for a different request.", 400)
                return seen["event"], False
        if identifier is not None and self.store.active_on(ctx.account, ctx.region, params["TypeName"], identifier):
            raise AwsError("ConcurrentOperationException", f"Another resource operation is already in progress for "
                           f"the resource with identifier '{identifier}' of type '{params['TypeName']}'.", 400)
        created = time.time()
        event = {"TypeName": params["TypeName"], "RequestToken": str(uuid.uuid4()), "Operation": operation,
                 "OperationStatus": "IN_PROGRESS", "EventTime": created}
        if identifier is not None:
            event["Identifier"] = identifier
        self.store.put_request(ctx.account, ctx.region, event, client_token, created, {**request, "created": created})
        return event, True

    def _run(self, ctx, event: dict, work) -> None:
        async def guarded():
            request = self.store.request(ctx.account, ctx.region, event["RequestToken"])["request"]
            done = dict(event)
            try:
                identifier, model = await work
                done.update(OperationStatus="SUCCESS", Identifier=identifier)
                if model is not None:
                    done["ResourceModel"] = json.dumps(model)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - every failure is the request's FAILED event
                message = e.message if isinstance(e, AwsError) else str(e)
                done.update(OperationStatus="FAILED", StatusMessage=message, ErrorCode=_handler_error_code(e))
                if isinstance(e, _Failed):
                    done["ErrorCode"] = e.error_code
            done["EventTime"] = time.time()
            self.store.put_request(ctx.account, ctx.region, done, request.get("ClientToken"), request["created"], request)

        def finished(task: asyncio.Task) -> None:
            self.tasks.pop(event["RequestToken"], None)
            if not task.cancelled():
                return
            # canceled by CancelResourceRequest (a stop leaves the request IN_PROGRESS, and the
            # next start marks it FAILED)
            found = self.store.request(ctx.account, ctx.region, event["RequestToken"])
            if found is not None and found["event"]["OperationStatus"] == "CANCEL_IN_PROGRESS":
                self.store.put_request(ctx.account, ctx.region, {**found["event"], "OperationStatus": "CANCEL_COMPLETE",
                                                                 "EventTime": time.time()},
                                       found["request"].get("ClientToken"), found["request"]["created"],
                                       found["request"])

        task = asyncio.ensure_future(guarded())
        self.tasks[event["RequestToken"]] = task
        task.add_done_callback(finished)

    def _identifier(self, schema, physical_id: str, properties: dict, attributes: dict) -> str:
        """The schema's primary identifier (its parts joined by "|"), from what the create answered;
        the physical id where the handler does not answer every part."""
        parts = []
        for path in schema.primary_identifier if schema else ():
            value = attributes.get(path, properties.get(path))
            if value is None or isinstance(value, (dict, list)):
                return physical_id
            parts.append(str(value))
        return "|".join(parts) if parts else physical_id

    async def _model(self, kind: ResourceType, op: ResourceOp, identifier: str, properties: dict,
                     attributes: dict) -> dict:
        if type(kind).read is not ResourceType.read:
            read = await kind.read(op, identifier)
            if read is not None:
                return read
        return {**properties, **{k: v for k, v in attributes.items() if "." not in k}}

    async def _current(self, ctx, kind: ResourceType, type_name: str, identifier: str) -> dict:
        """What a handler needs to change or delete a resource: its row when Cloud Control made it,
        else (a resource a stack or the service's API made) its read handler's properties."""
        found = self.store.resource(ctx.account, ctx.region, type_name, identifier)
        if found is not None:
            return found
        if type(kind).read is not ResourceType.read:
            read = await kind.read(self._op(ctx, type_name), identifier)
            if read is not None:
                return {"PhysicalResourceId": identifier, "properties": read, "attributes": {}}
        raise _Failed(_not_found(type_name, identifier), "NotFound")

    async def create_resource(self, ctx, params):
        type_name = params["TypeName"]
        kind = self._kind(type_name, "CREATE", "create")
        schema = schemas.schema(type_name)
        try:
            desired = json.loads(params.get("DesiredState") or "")
        except ValueError:
            raise _invalid("DesiredState is not valid JSON") from None
        if not isinstance(desired, dict):
            raise _invalid("DesiredState must be a JSON object")
        self._check_properties(schema, desired)
        event, fresh = self._begin(ctx, params, "CREATE", None, {"DesiredState": desired})
        if fresh:
            self._run(ctx, event, self._create(ctx, kind, schema, type_name, desired))
        return {"ProgressEvent": event}

    def _check_properties(self, schema, properties: dict, what: str = "DesiredState") -> None:
        if schema is None:
            return
        unknown = sorted(k for k in properties if k not in schema.properties)
        if unknown:
            raise _invalid(f"{what} has properties the type's schema does not define: "
                           + ", ".join(f"/properties/{k}" for k in unknown))
        read_only = sorted(k for k in properties if k in schema.attributes)
        if read_only:
            raise _invalid(f"{what} sets read-only properties: " + ", ".join(f"/properties/{k}" for k in read_only))

    async def _create(self, ctx, kind, schema, type_name: str, desired: dict):
        properties = schema.coerce(desired) if schema else desired
        op = ResourceOp(self.providers, self._scope(ctx), type_name.split("::")[-1], type_name, properties,
                        planned_name=_generated_name(kind, type_name))
        try:
            physical_id, attributes = await kind.create(op)
        except ResourceFailed as e:
            raise _Failed(str(e), "GeneralServiceException") from None
        attributes = attributes or {}
        identifier = self._identifier(schema, physical_id, properties, attributes)
        self.store.put_resource(ctx.account, ctx.region, type_name, identifier, {
            "PhysicalResourceId": physical_id, "properties": properties, "attributes": attributes})
        return identifier, await self._model(kind, op, identifier, properties, attributes)

    async def update_resource(self, ctx, params):
        type_name, identifier = params["TypeName"], params["Identifier"]
        kind = self._kind(type_name, "UPDATE", "update")
        try:
            patch = jsonpatch.JsonPatch(json.loads(params.get("PatchDocument") or ""))
            patch.apply({})  # structure only: each operation has an op and a path
        except (ValueError, TypeError, jsonpatch.InvalidJsonPatch) as e:
            raise _invalid(f"Invalid patch document: {e}") from None
        except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPointerException):
            pass  # depends on the resource's state: applied to it below
        event, fresh = self._begin(ctx, params, "UPDATE", identifier, {"Identifier": identifier,
                                                                       "PatchDocument": patch.patch})
        if fresh:
            self._run(ctx, event, self._update(ctx, kind, type_name, identifier, patch))
        return {"ProgressEvent": event}

    async def _update(self, ctx, kind, type_name: str, identifier: str, patch):
        schema = schemas.schema(type_name)
        current = await self._current(ctx, kind, type_name, identifier)
        old = current["properties"]
        try:
            new = patch.apply(old)
        except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPointerException) as e:
            raise _Failed(f"Invalid patch update: {e}", "InvalidRequest") from None
        if not isinstance(new, dict):
            raise _Failed("Invalid patch update: the resource model must stay an object", "InvalidRequest")
        new = {k: v for k, v in new.items() if not (schema and k in schema.attributes and k not in old)}
        if schema is not None:
            self._check_properties_failed(schema, new, old)
            new = schema.coerce(new)
        op = ResourceOp(self.providers, self._scope(ctx), type_name.split("::")[-1], type_name, new,
                        physical_id=current["PhysicalResourceId"], attributes=current.get("attributes") or {},
                        old_properties=old)
        try:
            attributes = await kind.update(op)
        except ResourceFailed as e:
            raise _Failed(str(e), "NotUpdatable" if "not supported" in str(e) else "GeneralServiceException") from None
        attributes = {**(current.get("attributes") or {}), **(attributes or {})}
        if self.store.resource(ctx.account, ctx.region, type_name, identifier) is not None:
            self.store.put_resource(ctx.account, ctx.region, type_name, identifier, {
                "PhysicalResourceId": current["PhysicalResourceId"], "properties": new, "attributes": attributes})
        return identifier, await self._model(kind, op, identifier, new, attributes)

    @staticmethod
    def _check_properties_failed(schema, new: dict, old: dict) -> None:
        changed_read_only = sorted(k for k in set(new) | set(old) if k in schema.attributes and new.get(k) != old.get(k))
        if changed_read_only:
            raise _Failed("Invalid patch update: readOnlyProperties ["
                          + ", ".join(f"/properties/{k}" for k in changed_read_only) + "] cannot be updated",
                          "NotUpdatable")
        unknown = sorted(k for k in new if k not in schema.properties)
        if unknown:
            raise _Failed("Invalid patch update: properties [" + ", ".join(f"/properties/{k}" for k in unknown)
                          + "] are not defined by the type's schema", "InvalidRequest")
        create_only = schema.replaces(old, new)
        if create_only:
            raise _Failed("Invalid patch update: createOnlyProperties ["
                          + ", ".join(f"/properties/{k}" for k in create_only) + "] cannot be updated", "NotUpdatable")

    async def delete_resource(self, ctx, params):
        type_name, identifier = params["TypeName"], params["Identifier"]
        kind = self._kind(type_name, "DELETE", "delete")
        event, fresh = self._begin(ctx, params, "DELETE", identifier, {"Identifier": identifier})
        if fresh:
            self._run(ctx, event, self._delete(ctx, kind, type_name, identifier))
        return {"ProgressEvent": event}

    async def _delete(self, ctx, kind, type_name: str, identifier: str):
        current = await self._current(ctx, kind, type_name, identifier)
        op = ResourceOp(self.providers, self._scope(ctx), type_name.split("::")[-1], type_name,
                        current["properties"], physical_id=current["PhysicalResourceId"],
                        attributes=current.get("attributes") or {})
        try:
            await kind.delete(op)
        except AwsError as e:
            if not is_missing(e):
                raise
            if self.store.resource(ctx.account, ctx.region, type_name, identifier) is None:
                raise _Failed(_not_found(type_name, identifier), "NotFound") from None
        except ResourceFailed as e:
            raise _Failed(str(e), "GeneralServiceException") from None
        self.store.delete_resource(ctx.account, ctx.region, type_name, identifier)
        return identifier, None

    def get_resource_request_status(self, ctx, params):
        token = params["RequestToken"]
        found = self.store.request(ctx.account, ctx.region, token)
        if found is None:
            raise AwsError("RequestTokenNotFoundException", f"Request with token {token} was not found", 400)
        return {"ProgressEvent": found["event"]}

    def cancel_resource_request(self, ctx, params):
        token = params["RequestToken"]
        found = self.store.request(ctx.account, ctx.region, token)
        if found is None:
            raise AwsError("RequestTokenNotFoundException", f"Request with token {token} was not found", 400)
        event, task = found["event"], self.tasks.get(token)
        if event["OperationStatus"] not in ("PENDING", "IN_PROGRESS") or task is None or task.done():
            # AWS's documented error for a request that is no longer PENDING or IN_PROGRESS (a 500)
            raise AwsError("ConcurrentModificationException", f"Request with token {token} is "
                           f"{event['OperationStatus']}: only PENDING or IN_PROGRESS requests can be canceled", 500,
                           sender_fault=False)
        canceling = {**event, "OperationStatus": "CANCEL_IN_PROGRESS", "EventTime": time.time()}
        self.store.put_request(ctx.account, ctx.region, canceling, found["request"].get("ClientToken"),
                               found["request"]["created"], found["request"])
        task.cancel()
        return {"ProgressEvent": canceling}

    def list_resource_requests(self, ctx, params):
        wanted = params.get("ResourceRequestStatusFilter") or {}
        operations, statuses = set(wanted.get("Operations") or ()), set(wanted.get("OperationStatuses") or ())
        events = [doc["event"] for doc in self.store.requests(ctx.account, ctx.region)
                  if (not operations or doc["event"]["Operation"] in operations)
                  and (not statuses or doc["event"]["OperationStatus"] in statuses)]
        start = 0
        if params.get("NextToken"):
            try:
                start = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                raise _invalid("Invalid NextToken") from None
        size = min(int(params.get("MaxResults") or _PAGE), _PAGE)
        out = {"ResourceRequestStatusSummaries": events[start:start + size]}
        if start + size < len(events):
            out["NextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return out


class _Failed(Exception):
    """A request's failure with the handler error code its ProgressEvent gets."""

    def __init__(self, message: str, error_code: str):
        super().__init__(message)
        self.message = message
        self.error_code = error_code
