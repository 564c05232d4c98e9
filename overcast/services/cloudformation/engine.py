"""The stack engine: a template becomes a dependency graph of resource operations, run with as much
concurrency as the graph allows, recorded as events, and rolled back when one fails.

Every state change of a stack or a resource is committed before the next service call, so a
deployment that a crash interrupted can be finished or rolled back at the next start (`recover`):
a resource's row exists, with the name it will get, before the service is asked to create it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from overcast import tracing
from overcast.aws.errors import AwsError
from overcast.services.cloudformation import dynamic, schemas
from overcast.services.cloudformation.intrinsics import NO_VALUE, Evaluator, references
from overcast.services.cloudformation.resources import resource_type
from overcast.services.cloudformation.resources.base import (
    ResourceFailed,
    ResourceOp,
    generated_name,
    is_missing,
)
from overcast.services.cloudformation.template import format_error, validation_error

log = logging.getLogger("overcast.cloudformation")
RESTARTED = "overcast restarted while the stack's operation was in progress"  # the reason a recovery gives

CREATE_FAILED_REASON = "The following resource(s) failed to {what}: [{names}]. "
RETAIN = ("Retain", "Snapshot", "RetainExceptOnCreate")
# the ExecutionStatus a change set being executed ends with, by the stack status that ends its run
CHANGE_SET_OUTCOME = {"CREATE_COMPLETE": "EXECUTE_COMPLETE", "UPDATE_COMPLETE": "EXECUTE_COMPLETE",
                      "CREATE_FAILED": "EXECUTE_FAILED", "ROLLBACK_COMPLETE": "EXECUTE_FAILED",
                      "ROLLBACK_FAILED": "EXECUTE_FAILED", "UPDATE_ROLLBACK_COMPLETE": "EXECUTE_FAILED",
                      "UPDATE_ROLLBACK_FAILED": "EXECUTE_FAILED", "UPDATE_FAILED": "EXECUTE_FAILED"}


def now() -> float:
    return time.time()


def pseudo_parameters(stack: dict) -> dict:
    return {
        "AWS::AccountId": stack["account"],
        "AWS::Region": stack["region"],
        "AWS::StackId": stack["StackId"],
        "AWS::StackName": stack["StackName"],
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": list(stack.get("NotificationARNs") or []),
    }


def required_missing(type_name: str, properties: dict) -> str:
    """The schema's required top-level properties the resource lacks, worded as CloudFormation's
    schema validation words them ("#: required key [Value] not found"); "" when none is missing."""
    schema = schemas.schema(type_name)
    required = (schema.document.get("required") or []) if schema else []
    missing = [f"#: required key [{name}] not found" for name in required if properties.get(name) is None]
    if len(missing) > 1:
        missing.insert(0, f"#: {len(missing)} schema violations found")
    return "\n".join(missing)


def property_attribute(resource: dict, attribute: str) -> tuple[bool, object]:
    """(True, value) when Fn::GetAtt `attribute` names one of a deployed registry resource's own
    properties (AWS answers those as well as the schema's readOnlyProperties), from the properties
    it was deployed with."""
    schema = schemas.schema(resource["ResourceType"])
    path = schema.property_path(attribute) if schema else None
    value = resource.get("properties") or {}
    for key in path or ():
        if not isinstance(value, dict) or key not in value:
            return False, None
        value = value[key]
    return path is not None, value


def dependencies(template: dict, evaluator: Evaluator | None = None) -> dict[str, set[str]]:
    """logical id -> the logical ids it needs first (Ref, GetAtt, Sub and DependsOn)."""
    resources = template.get("Resources") or {}
    condition = evaluator.condition if evaluator is not None else None
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        refs, atts = references(resource.get("Properties") or {}, condition)
        needs = {r for r in refs if r in resources} | {a[0] for a in atts if a[0] in resources}
        depends = resource.get("DependsOn") or []
        needs |= set([depends] if isinstance(depends, str) else depends)
        needs.discard(logical_id)
        graph[logical_id] = needs
    return graph


def with_stack_tags(schema: schemas.TypeSchema | None, properties: dict, tags) -> dict:
    """`properties` with the stack's tags added where the type's schema keeps its tags (AWS
    propagates stack tags to every resource that supports tags); the resource's own tag of the
    same key wins."""
    if not tags or schema is None or not schema.tag_property:
        return properties
    own = properties.get(schema.tag_property)
    if schema.tag_map:
        if own is not None and not isinstance(own, dict):
            return properties
        merged: dict | list = {**{t["Key"]: t["Value"] for t in tags}, **(own or {})}
    else:
        if own is not None and not isinstance(own, list):
            return properties
        keys = {t.get("Key") for t in own or [] if isinstance(t, dict)}
        merged = [*(own or []), *({"Key": t["Key"], "Value": t["Value"]} for t in tags if t["Key"] not in keys)]
    return {**properties, schema.tag_property: merged}


# Types whose resources AWS leaves without the aws:cloudformation:* tags: a nested stack (its own
# resources get its own), SQS queues (ListQueueTags of a queue a stack made shows only the
# template's tags: LocalStack's AWS-recorded resource_providers/test_aws_sqs_queue snapshots),
# IAM users and server certificates (GetUser and GetServerCertificate of those a stack made show
# no such tags: iam/resource_providers' aws_iam_user and test_server_certificate snapshots),
# DynamoDB tables (ListTagsOfResource of a table a stack made shows the template's tags only:
# cloudformation/resources/test_dynamodb's test_default_name_for_table snapshot).
_WITHOUT_SYSTEM_TAGS = frozenset({"AWS::CloudFormation::Stack", "AWS::SQS::Queue", "AWS::IAM::User",
                                  "AWS::IAM::ServerCertificate", "AWS::DynamoDB::Table"})


def system_tags(stack: dict, logical_id: str, type_name: str) -> list[dict]:
    """The tags CloudFormation adds to every resource it creates that keeps tags (AWS documents
    them under "Resource tag"): the stack's name and id and the resource's logical id. A nested
    stack gets none: its own resources get its own."""
    if type_name in _WITHOUT_SYSTEM_TAGS or not logical_id:
        return []
    return [{"Key": "aws:cloudformation:stack-name", "Value": stack["StackName"]},
            {"Key": "aws:cloudformation:stack-id", "Value": stack["StackId"]},
            {"Key": "aws:cloudformation:logical-id", "Value": logical_id}]


def _tag_set(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags or []}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """The resources on a dependency cycle (empty when there is none)."""
    indegree = {n: 0 for n in graph}
    for n, needs in graph.items():
        for m in needs:
            if m in indegree:
                indegree[n] += 1
    dependents: dict[str, list[str]] = {n: [] for n in graph}
    for n, needs in graph.items():
        for m in needs:
            if m in dependents:
                dependents[m].append(n)
    ready = [n for n, d in indegree.items() if d == 0]
    while ready:
        n = ready.pop()
        for m in dependents[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    return sorted(n for n, d in indegree.items() if d > 0)


async def run_graph(nodes, needs: dict[str, set[str]], work) -> tuple[set[str], set[str]]:
    """Run `work(node)` for each node once the nodes it needs succeeded, concurrently where the
    graph allows. After a failure nothing new starts; running work finishes. -> (done, failed)."""
    nodes = list(nodes)
    in_run = set(nodes)
    pending = set(nodes)
    done: set[str] = set()
    failed: set[str] = set()
    running: dict[asyncio.Task, str] = {}
    while True:
        if not failed:
            for node in nodes:
                if node in pending and all(n in done or n not in in_run for n in needs.get(node, ())):
                    pending.discard(node)
                    running[asyncio.ensure_future(work(node))] = node
        if not running:
            return done, failed | (pending if failed else set())
        try:
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # a stack timeout or CancelUpdateStack: stop the work in flight too
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        for task in finished:
            node = running.pop(task)
            ok = False
            try:
                ok = task.result()
            except Exception:
                log.exception("resource operation %s failed", node)
            (done if ok else failed).add(node)


def reverse(needs: dict[str, set[str]], nodes) -> dict[str, set[str]]:
    """The graph for deletion: a node waits for every node that needed it."""
    nodes = set(nodes)
    out: dict[str, set[str]] = {n: set() for n in nodes}
    for n, deps in needs.items():
        if n not in nodes:
            continue
        for m in deps:
            if m in nodes:
                out[m].add(n)
    return out


class Engine:
    """Runs the deployments of the CloudFormation provider's stacks."""

    def __init__(self, provider):
        self.provider = provider
        self.providers = provider.providers
        self.store = provider.store
        self.tasks: dict[str, asyncio.Task] = {}
        self._publishing: set[asyncio.Task] = set()
        self._spans: dict[tuple[str, str], object] = {}  # (stack, logical id): the resource operation's open span
        self._last_event: dict[str, int] = {}  # stack id -> the millisecond of its last event

    def _event_time(self, stack_id: str) -> float:
        """Now, but after the stack's previous event by at least a millisecond (the precision the API
        shows): events sorted by Timestamp keep the order in which they happened, as on AWS."""
        millis = max(int(now() * 1000), self._last_event.get(stack_id, 0) + 1)
        self._last_event[stack_id] = millis
        return millis / 1000

    # -- bookkeeping -------------------------------------------------------------------------

    def launch(self, stack_id: str, coro) -> None:
        task = asyncio.ensure_future(self._guard(stack_id, coro))
        self.tasks[stack_id] = task
        task.add_done_callback(lambda t: self.tasks.pop(stack_id, None) if self.tasks.get(stack_id) is t else None)

    async def _guard(self, stack_id: str, coro) -> None:
        """A stack operation, as the span CloudFormation.StackOperation (a child of the call that
        started it); each resource operation in it is a span of its own (resource_status)."""
        parts = stack_id.split(":")
        with tracing.hop("cloudformation", "StackOperation", resource=stack_id,
                         account=parts[4] if len(parts) > 4 else "", region=parts[3] if len(parts) > 3 else "",
                         attributes={"stackName": parts[5].split("/")[1] if len(parts) > 5 and "/" in parts[5]
                                     else stack_id}) as span:
            await self._guarded(stack_id, coro)
            stack = self.store.get_stack(stack_id)
            if stack is not None:
                status = stack["StackStatus"]
                span.set("stackStatus", status)
                if status.endswith("FAILED") or "ROLLBACK" in status:
                    span.fail(f"{status}: {stack.get('StackStatusReason') or ''}")

    async def _guarded(self, stack_id: str, coro) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deployment of %s failed", stack_id)
            stack = self.store.get_stack(stack_id)
            if stack and stack["StackStatus"].endswith("_IN_PROGRESS"):
                final = {"CREATE_IN_PROGRESS": "CREATE_FAILED", "ROLLBACK_IN_PROGRESS": "ROLLBACK_FAILED",
                         "DELETE_IN_PROGRESS": "DELETE_FAILED"}.get(stack["StackStatus"], "UPDATE_ROLLBACK_FAILED")
                self.stack_status(stack, final, "Internal failure of overcast's CloudFormation engine.")

    def stack_event(self, stack: dict, status: str, reason: str | None = None) -> None:
        event = {
            "StackId": stack["StackId"], "EventId": str(uuid.uuid4()), "StackName": stack["StackName"],
            "LogicalResourceId": stack["StackName"], "PhysicalResourceId": stack["StackId"],
            "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": self._event_time(stack["StackId"]),
            "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {})}
        self.store.add_event(stack["StackId"], event)
        self.publish(stack, event)

    def publish(self, stack: dict, event: dict) -> None:
        """Each event to the stack's NotificationARNs (SNS topics), in AWS's message format."""
        if not stack.get("NotificationARNs"):
            return
        lines = [f"StackId='{event['StackId']}'",
                 f"Timestamp='{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(event['Timestamp']))}."
                 f"{int(event['Timestamp'] * 1000) % 1000:03d}Z'",
                 f"EventId='{event['EventId']}'", f"LogicalResourceId='{event['LogicalResourceId']}'",
                 f"Namespace='{stack['account']}'", f"PhysicalResourceId='{event.get('PhysicalResourceId', '')}'",
                 f"PrincipalId='{stack['account']}'", f"ResourceProperties='{event.get('ResourceProperties', 'null')}'",
                 f"ResourceStatus='{event['ResourceStatus']}'",
                 f"ResourceStatusReason='{event.get('ResourceStatusReason', '')}'",
                 f"ResourceType='{event['ResourceType']}'", f"StackName='{stack['StackName']}'",
                 "ClientRequestToken='null'"]
        message = "\n".join(lines) + "\n"
        for arn in stack["NotificationARNs"]:
            task = asyncio.ensure_future(self._publish(stack, arn, message))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    async def _publish(self, stack: dict, arn: str, message: str) -> None:
        op = ResourceOp(self.providers, stack, "", "", {})
        try:
            await op.call("sns", "Publish", {"TopicArn": arn, "Subject": "AWS CloudFormation Notification",
                                             "Message": message})
        except Exception as e:  # noqa: BLE001 - a topic that went away does not stop the deployment
            log.warning("stack notification to %s failed: %s", arn, e)

    def stack_status(self, stack: dict, status: str, reason: str | None = None) -> None:
        stack["StackStatus"] = status
        if reason:
            stack["StackStatusReason"] = reason
        else:
            stack.pop("StackStatusReason", None)
        # a create rolled back deleted what it made: AWS shows a DeletionTime for it as for a delete
        if status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
            stack["DeletionTime"] = now()
        with self.store.transaction():
            self.store.put_stack(stack)
            self.stack_event(stack, status, reason)
            self._settle_change_set(stack, status)
        self.provider.notify(stack)

    def _settle_change_set(self, stack: dict, status: str) -> None:
        """The change set being executed ends EXECUTE_COMPLETE or EXECUTE_FAILED with the stack."""
        outcome = CHANGE_SET_OUTCOME.get(status)
        cs = self.store.get_change_set(stack["ChangeSetId"]) if outcome and stack.get("ChangeSetId") else None
        if cs is not None and cs.get("ExecutionStatus") == "EXECUTE_IN_PROGRESS":
            self.store.put_change_set({**cs, "ExecutionStatus": outcome})

    def resource_status(self, stack: dict, resource: dict, status: str, reason: str | None = None,
                        properties: dict | None = None) -> None:
        resource["ResourceStatus"] = status
        resource["LastUpdatedTimestamp"] = self._event_time(stack["StackId"])
        if reason:
            resource["ResourceStatusReason"] = reason
        else:
            resource.pop("ResourceStatusReason", None)
        event = {"StackId": stack["StackId"], "EventId": f"{resource['LogicalResourceId']}-{uuid.uuid4()}",
                 "StackName": stack["StackName"], "LogicalResourceId": resource["LogicalResourceId"],
                 "ResourceType": resource["ResourceType"], "Timestamp": resource["LastUpdatedTimestamp"],
                 "ResourceStatus": status}
        if resource.get("PhysicalResourceId"):
            event["PhysicalResourceId"] = resource["PhysicalResourceId"]
        if reason:
            event["ResourceStatusReason"] = reason
        if properties is not None:
            event["ResourceProperties"] = _json(properties)
        self._trace_resource(stack, resource, status, reason)
        with self.store.transaction():
            if status == "DELETE_COMPLETE" or status == "DELETE_SKIPPED":
                self.store.delete_resource(stack["StackId"], resource["LogicalResourceId"])
            else:
                self.store.put_resource(stack["StackId"], resource)
            self.store.add_event(stack["StackId"], event)
        self.publish(stack, event)

    def replaced_event(self, stack: dict, resource: dict, old: dict, status: str) -> None:
        """An event of the physical resource an update replaced (its cleanup), which leaves the
        logical resource's own status as it is."""
        event = {"StackId": stack["StackId"], "EventId": f"{resource['LogicalResourceId']}-{uuid.uuid4()}",
                 "StackName": stack["StackName"], "LogicalResourceId": resource["LogicalResourceId"],
                 "PhysicalResourceId": old["PhysicalResourceId"],
                 "ResourceType": old.get("ResourceType") or resource["ResourceType"],
                 "Timestamp": self._event_time(stack["StackId"]), "ResourceStatus": status}
        self.store.add_event(stack["StackId"], event)
        self.publish(stack, event)

    def _trace_resource(self, stack: dict, resource: dict, status: str, reason: str | None) -> None:
        """A resource operation's span, CloudFormation.Resource: opened at *_IN_PROGRESS, ended
        at *_COMPLETE or *_FAILED."""
        key = (stack["StackId"], resource["LogicalResourceId"])
        if status.endswith("_IN_PROGRESS"):
            previous = self._spans.pop(key, None)
            if previous is not None:
                previous.finish()
            span = tracing.hop("cloudformation", "Resource", resource=stack["StackId"],
                               attributes={"logicalId": resource["LogicalResourceId"],
                                           "resourceType": resource["ResourceType"], "action": status.split("_")[0]})
            if span is not tracing.NO_SPAN:
                self._spans[key] = span
            return
        span = self._spans.pop(key, None)
        if span is None:
            return
        physical = resource.get("PhysicalResourceId")
        if physical:
            span.set("physicalId", physical)
            if physical.startswith("arn:"):
                span.resource = physical
        span.set("resourceStatus", status)
        if status.endswith("_FAILED"):
            span.fail(f"{status}: {reason or ''}")
        span.finish()

    # -- evaluation --------------------------------------------------------------------------

    def evaluator(self, stack: dict, template: dict, values: dict, state: dict[str, dict],
                  imports: set | None = None) -> Evaluator:
        def ref_resource(logical_id: str):
            resource = state.get(logical_id)
            if resource is None or not resource.get("PhysicalResourceId"):
                raise ResourceFailed(f"Resource {logical_id} is not available")
            kind = resource_type(resource["ResourceType"])
            return kind.ref(resource["PhysicalResourceId"], resource.get("attributes") or {}) if kind else \
                resource["PhysicalResourceId"]

        def get_att(logical_id: str, attribute: str):
            resource = state.get(logical_id)
            if resource is None or not resource.get("PhysicalResourceId"):
                raise ResourceFailed(f"Resource {logical_id} is not available")
            attributes = resource.get("attributes") or {}
            if attribute in attributes:
                return attributes[attribute]
            found, value = property_attribute(resource, attribute)
            if found:
                return value
            if resource["ResourceType"].startswith("Custom::") or \
                    resource["ResourceType"] == "AWS::CloudFormation::CustomResource":
                raise ResourceFailed(f"CustomResource attribute error: Vendor response doesn't contain {attribute} "
                                     f"key in object {stack['StackId']}|{logical_id}|"
                                     f"{resource.get('RequestId', '')} in S3 bucket cloudformation-custom-resource-storage")
            raise ResourceFailed(f"Template error: resource {logical_id} does not support attribute type "
                                 f"{attribute} in Fn::GetAtt")

        def import_value(name: str) -> str:
            found = self.store.export(stack["account"], stack["region"], name)
            if found is None:
                raise ResourceFailed(f"No export named {name} found. Rollback requested by user.")
            if imports is not None:
                imports.add(name)
            return found[0]

        return Evaluator(template, values, pseudo_parameters(stack), ref_resource=ref_resource, get_att=get_att,
                         import_value=import_value)

    def _service_context(self, stack):
        async def provider_and_context(service: str):
            op = ResourceOp(self.providers, stack, "", "", {})
            return await self.providers.get(service), op.context(service)

        return provider_and_context

    async def handler_properties(self, stack: dict, type_name: str, properties: dict, tags=None,
                                 strict: bool = True, old: dict | None = None,
                                 old_tags=None, logical_id: str = "") -> dict | tuple[dict, dict]:
        """The properties a type's handler gets: dynamic references resolved (the resolved values
        are never stored: AWS keeps only the reference), the stack's tags added where the type keeps
        tags, with the aws:cloudformation:* tags of `logical_id`, scalars converted to the types the
        schema declares. `tags` defaults to the stack's.
        Not `strict` (a delete): a reference that no longer resolves is left as it is.
        With `old` (an update's deployed properties, tagged with the previous stack tags): returns
        (new, old) for the handler to compare (`old_tags`: the previous stack tags). Where a reference is unchanged, the old side gets the
        new side's value, so the handler sees no change there (AWS does not re-read a reference the
        template did not change); a changed reference stays unresolved on the old side."""
        resolved = properties
        if dynamic.has_references(properties):
            try:
                resolved = await dynamic.resolve(self._service_context(stack), properties)
            except ResourceFailed:
                if strict:
                    raise
        schema = schemas.schema(type_name)
        own = system_tags(stack, logical_id, type_name)
        given = self._shaped(schema, resolved, [*((stack.get("Tags") if tags is None else tags) or []), *own])
        if old is None:
            return given
        return given, self._shaped(schema, _carry(old, properties, resolved),
                                   [*((self.previous_tags(stack) if old_tags is None else old_tags) or []), *own])

    @staticmethod
    def _shaped(schema, properties: dict, tags) -> dict:
        if schema is None:
            return properties
        return schema.coerce(with_stack_tags(schema, properties, tags))

    @staticmethod
    def previous_tags(stack: dict):
        """The stack tags the deployed resources got (before the update in progress)."""
        previous = stack.get("previous") or {}
        return previous["Tags"] if "Tags" in previous else stack.get("Tags")

    def _op(self, stack, resource, properties, **kw) -> ResourceOp:
        return ResourceOp(self.providers, stack, resource["LogicalResourceId"], resource["ResourceType"], properties,
                          physical_id=resource.get("PhysicalResourceId"), attributes=resource.get("attributes"),
                          planned_name=resource.get("planned"), engine=self, **kw)

    # -- one resource ------------------------------------------------------------------------

    async def create_resource(self, stack, template, evaluator, state, logical_id, extra: dict | None = None) -> bool:
        """Create one resource. `extra` goes into its row from the start (an update's bookkeeping:
        what the resource replaces, so that a rollback after a crash can restore it)."""
        definition = template["Resources"][logical_id]
        type_name = definition["Type"]
        kind = resource_type(type_name)
        resource = {"LogicalResourceId": logical_id, "ResourceType": type_name, **(extra or {})}
        if kind is not None:
            resource["planned"] = generated_name(stack["StackName"], logical_id, kind.name_length, kind.name_lower)
        if definition.get("Metadata") is not None:
            resource["Metadata"] = definition["Metadata"]
        state[logical_id] = resource
        try:
            properties = evaluator.evaluate(definition.get("Properties") or {})
        except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
            self.resource_status(stack, resource, "CREATE_IN_PROGRESS")
            self.resource_status(stack, resource, "CREATE_FAILED", _reason(e))
            return False
        resource["properties"] = properties
        self.resource_status(stack, resource, "CREATE_IN_PROGRESS", properties=properties)
        try:
            given = await self.handler_properties(stack, type_name, properties,
                                                  logical_id=resource["LogicalResourceId"])
        except Exception as e:  # noqa: BLE001
            self.resource_status(stack, resource, "CREATE_FAILED", _reason(e))
            return False
        if kind is None:
            self.resource_status(stack, resource, "CREATE_FAILED",
                                 f"Resource type {type_name} is not supported by overcast")
            return False
        violations = required_missing(type_name, properties)
        if violations:
            self.resource_status(stack, resource, "CREATE_FAILED",
                                 f"Properties validation failed for resource {logical_id} with message: {violations}")
            return False
        try:
            physical_id, attributes = await kind.create(self._op(stack, resource, given))
        except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
            if getattr(e, "physical_id", None):  # a custom resource that answered FAILED: it gets a Delete
                resource["PhysicalResourceId"] = e.physical_id
            self.resource_status(stack, resource, "CREATE_FAILED", _reason(e))
            return False
        resource["PhysicalResourceId"] = physical_id
        resource["attributes"] = attributes or {}
        self.resource_status(stack, resource, "CREATE_COMPLETE")
        return True

    async def delete_resource(self, stack, resource, policy: str = "Delete") -> bool:
        if policy in RETAIN:
            self.resource_status(stack, resource, "DELETE_SKIPPED")
            return True
        kind = resource_type(resource["ResourceType"])
        physical_id = resource.get("PhysicalResourceId") or resource.get("planned")
        self.resource_status(stack, resource, "DELETE_IN_PROGRESS")
        if kind is not None and physical_id:
            try:
                given = await self.handler_properties(stack, resource["ResourceType"],
                                                      resource.get("properties") or {}, strict=False,
                                                      logical_id=resource["LogicalResourceId"])
                op = self._op(stack, resource, given)
                op.physical_id = physical_id
                await kind.delete(op)
            except AwsError as e:
                if not is_missing(e):
                    self.resource_status(stack, resource, "DELETE_FAILED", _reason(e))
                    return False
            except Exception as e:  # noqa: BLE001
                self.resource_status(stack, resource, "DELETE_FAILED", _reason(e))
                return False
        self.resource_status(stack, resource, "DELETE_COMPLETE")
        return True

    async def delete_physical(self, stack, resource: dict, old: dict) -> bool:
        """Delete the resource a replacement left behind (the cleanup phase of an update)."""
        kind = resource_type(old.get("ResourceType") or resource["ResourceType"])
        if kind is None:
            return True
        try:
            given = await self.handler_properties(stack, old.get("ResourceType") or resource["ResourceType"],
                                                  old.get("properties") or {}, self.previous_tags(stack),
                                                  strict=False, logical_id=resource["LogicalResourceId"])
            op = self._op(stack, resource, given)
            op.physical_id = old["PhysicalResourceId"]
            op.attributes = old.get("attributes") or {}
            await kind.delete(op)
        except AwsError as e:
            if not is_missing(e):
                log.warning("cleanup of %s failed: %s", old["PhysicalResourceId"], e)
        except Exception as e:  # noqa: BLE001 - a leftover is logged; the update itself succeeded
            log.warning("cleanup of %s failed: %s", old["PhysicalResourceId"], _reason(e))
        return True

    # -- whole operations --------------------------------------------------------------------

    async def create(self, stack_id: str) -> None:
        stack = self.store.get_stack(stack_id)
        template = stack["template"]
        state: dict[str, dict] = {}
        imports: set[str] = set()
        evaluator = self.evaluator(stack, template, stack["values"], state, imports)
        active = [r for r in template["Resources"] if evaluator.active(r)]
        needs = dependencies(template, evaluator)

        async def work(logical_id):
            return await self.create_resource(stack, template, evaluator, state, logical_id)

        done, failed = await run_graph(active, needs, work)
        reason = None
        if failed:
            names = ", ".join(sorted(n for n in failed if n in state))
            reason = CREATE_FAILED_REASON.format(what="create", names=names) + "Rollback requested by user."
        else:
            try:
                self.finish_outputs(stack, template, evaluator, imports)
            except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
                reason = _reason(e)
        if reason is None:
            self.stack_status(stack, "CREATE_COMPLETE")
            return
        if stack.get("DisableRollback"):
            self.stack_status(stack, "CREATE_FAILED", reason)
            return
        self.stack_status(stack, "ROLLBACK_IN_PROGRESS", reason)
        await self.rollback_create(stack)

    async def rollback_create(self, stack: dict) -> None:
        ok = await self.delete_all(stack, rollback=True)
        self.store.set_exports(stack["account"], stack["region"], stack["StackId"], {})
        self.store.set_imports(stack["account"], stack["region"], stack["StackId"], ())
        self.stack_status(stack, "ROLLBACK_COMPLETE" if ok else "ROLLBACK_FAILED")

    async def delete_all(self, stack: dict, rollback: bool = False, retain: set[str] = frozenset()) -> bool:
        resources = self.store.resources(stack["StackId"])
        template = stack.get("template") or {"Resources": {}}
        needs = dependencies(template)
        evaluator = self.evaluator(stack, template, stack.get("values") or {}, resources)
        order = reverse(needs, resources)

        async def work(logical_id):
            resource = resources[logical_id]
            policy = "Retain" if logical_id in retain else self.deletion_policy(evaluator, template, logical_id)
            if rollback:
                policy = self.rollback_policy(stack, policy)
            if rollback and resource.get("ResourceStatus") == "CREATE_FAILED" and not resource.get(
                    "PhysicalResourceId") and not resource.get("cancelled"):  # nothing was made
                self.store.delete_resource(stack["StackId"], logical_id)
                return True
            return await self.delete_resource(stack, resource, policy)

        _, failed = await run_graph(list(resources), order, work)
        return not failed

    @staticmethod
    def rollback_policy(stack: dict, policy: str) -> str:
        """What a rollback does with a resource the failed operation created: Retain and Snapshot
        keep it, RetainExceptOnCreate (the policy, or the stack's RetainExceptOnCreate) deletes it."""
        if policy == "RetainExceptOnCreate" or stack.get("RetainExceptOnCreate"):
            return "Delete"
        return policy

    @staticmethod
    def deletion_policy(evaluator: Evaluator, template: dict, logical_id: str, key: str = "DeletionPolicy") -> str:
        definition = (template.get("Resources") or {}).get(logical_id) or {}
        policy = definition.get(key, "Delete")
        try:
            policy = evaluator.evaluate(policy)
        except Exception:
            return "Delete"
        return policy if isinstance(policy, str) else "Delete"

    async def delete(self, stack_id: str, retain: set[str] = frozenset()) -> None:
        stack = self.store.get_stack(stack_id)
        in_use = self.exports_in_use(stack, set())
        if in_use:
            self.stack_status(stack, "DELETE_FAILED", in_use)
            return
        ok = await self.delete_all(stack, retain=retain)
        if not ok:
            failed = [r["LogicalResourceId"] for r in self.store.resources(stack_id).values()
                      if r.get("ResourceStatus") == "DELETE_FAILED"]
            self.stack_status(stack, "DELETE_FAILED", CREATE_FAILED_REASON.format(
                what="delete", names=", ".join(sorted(failed))).strip())
            return
        with self.store.transaction():
            self.store.set_exports(stack["account"], stack["region"], stack_id, {})
            self.store.set_imports(stack["account"], stack["region"], stack_id, ())
            self.store.delete_active_change_sets(stack_id)  # retired ones stay describable by ARN, as on AWS
        self.stack_status(stack, "DELETE_COMPLETE")

    def exports_in_use(self, stack: dict, keep: set[str]) -> str | None:
        """AWS's reason when an export this stack drops is imported by another stack."""
        for name in sorted(self.store.exports_of(stack["StackId"])):
            if name in keep:
                continue
            users = [s for s in self.store.importers(stack["account"], stack["region"], name) if s != stack["StackId"]]
            if users:
                names = [(self.store.get_stack(s) or {}).get("StackName", s) for s in users]
                return f"Export {name} cannot be deleted as it is in use by {', '.join(names)}"
        return None

    def finish_outputs(self, stack: dict, template: dict, evaluator: Evaluator, imports: set[str]) -> None:
        """Evaluate the Outputs, then claim the exports (AWS's error when another stack has one)."""
        outputs, exports = [], {}
        for key, output in (template.get("Outputs") or {}).items():
            if output.get("Condition") and not evaluator.condition(output["Condition"]):
                continue
            value = evaluator.evaluate(output["Value"])
            if value is NO_VALUE:
                continue
            entry = {"OutputKey": key, "OutputValue": _output_string(value)}
            if output.get("Description"):
                entry["Description"] = output["Description"]
            if output.get("Export"):
                name = _output_string(evaluator.evaluate(output["Export"].get("Name")))
                owner = self.store.export(stack["account"], stack["region"], name)
                if owner is not None and owner[1] != stack["StackId"]:
                    other = (self.store.get_stack(owner[1]) or {}).get("StackName", owner[1])
                    raise validation_error(f"Export with name {name} is already exported by stack {other}")
                entry["ExportName"] = name
                exports[name] = entry["OutputValue"]
            outputs.append(entry)
        old_exports = self.store.exports_of(stack["StackId"])
        for name, value in old_exports.items():
            if exports.get(name) != value:
                users = [s for s in self.store.importers(stack["account"], stack["region"], name)
                         if s != stack["StackId"]]
                if users:
                    names = ", ".join((self.store.get_stack(s) or {}).get("StackName", s) for s in users)
                    verb = "update" if name in exports else "delete"
                    raise validation_error(f"Cannot {verb} export {name} as it is in use by {names}")
        stack["Outputs"] = outputs
        with self.store.transaction():
            self.store.set_exports(stack["account"], stack["region"], stack["StackId"], exports)
            self.store.set_imports(stack["account"], stack["region"], stack["StackId"], imports)
            self.store.put_stack(stack)

    # -- updates -----------------------------------------------------------------------------

    async def update(self, stack_id: str) -> None:
        """Apply stack["template"]/["values"] over the resources deployed from stack["previous"]."""
        stack = self.store.get_stack(stack_id)
        template = stack["template"]
        state = self.store.resources(stack_id)
        imports: set[str] = set()
        evaluator = self.evaluator(stack, template, stack["values"], state, imports)
        active = [r for r in template["Resources"] if evaluator.active(r)]
        needs = dependencies(template, evaluator)

        async def work(logical_id):
            return await self.update_resource(stack, template, evaluator, state, logical_id)

        _, failed = await run_graph(active, needs, work)
        reason = None
        if failed:
            names = ", ".join(sorted(failed & set(state)))
            reason = CREATE_FAILED_REASON.format(what="update", names=names) + "Rollback requested by user."
        else:
            try:
                self.finish_outputs(stack, template, evaluator, imports)
            except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
                reason = _reason(e)
        if reason is not None:
            if stack.get("DisableRollback"):
                self.stack_status(stack, "UPDATE_FAILED", reason)
                return
            self.stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
            await self.rollback_update(stack)
            return
        self.stack_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        await self.cleanup_update(stack, set(active))

    async def update_resource(self, stack, template, evaluator, state, logical_id) -> bool:
        definition = template["Resources"][logical_id]
        current = state.get(logical_id)
        if current is None or current.get("ResourceType") != definition["Type"] or not current.get("PhysicalResourceId"):
            extra = {"action": "create"} if current is None else {"action": "retype", "previous": {
                k: v for k, v in current.items() if k not in ("previous", "action")}}
            return await self.create_resource(stack, template, evaluator, state, logical_id, extra)
        schema = schemas.schema(definition["Type"])
        old_tags = self.previous_tags(stack)
        retag = bool(schema and schema.tag_property and schema.tags_updatable
                     and _tag_set(stack.get("Tags")) != _tag_set(old_tags))
        try:
            properties = evaluator.evaluate(definition.get("Properties") or {})
        except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
            self.resource_status(stack, current, "UPDATE_FAILED", _reason(e))
            return False
        # Compared as the template has them: a dynamic reference whose value changed does not update
        # the resource (AWS re-reads it only when the reference itself changes).
        if properties == current.get("properties") and definition.get("Metadata") == current.get("Metadata") \
                and not retag:
            return True
        kind = resource_type(definition["Type"])
        replace = schema.replaces(current.get("properties") or {}, properties) if schema else []
        try:
            given, given_old = await self.handler_properties(stack, definition["Type"], properties,
                                                             old=current.get("properties") or {},
                                                             logical_id=logical_id)
        except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
            self.resource_status(stack, current, "UPDATE_FAILED", _reason(e))
            return False
        previous = {k: current.get(k) for k in ("PhysicalResourceId", "properties", "attributes", "ResourceStatus",
                                                "Metadata", "planned")}
        current["previous"] = previous
        current["Metadata"] = definition.get("Metadata")
        if replace:
            return await self._replace(stack, logical_id, current, previous, kind, properties, given, given_old)
        current["action"] = "update"
        current["properties"] = properties
        self.resource_status(stack, current, "UPDATE_IN_PROGRESS", properties=properties)
        op = self._op(stack, current, given, old_properties=given_old)
        try:
            attributes = await kind.update(op)
        except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
            self.resource_status(stack, current, "UPDATE_FAILED", _reason(e))
            return False
        current["attributes"] = attributes if attributes is not None else current.get("attributes")
        if op.physical_id != previous["PhysicalResourceId"]:  # a custom resource answered with a new id
            current["PhysicalResourceId"] = op.physical_id
            current["action"] = "replace"
        self.resource_status(stack, current, "UPDATE_COMPLETE")
        return True

    async def _replace(self, stack, logical_id, current, previous, kind, properties, given, given_old) -> bool:
        schema = schemas.schema(current["ResourceType"])
        # The replacement would take the old one's identifier: every part of the primary identifier
        # is a name the template sets, and none of them changed.
        ids = schema.primary_identifier if schema else ()
        before = previous.get("properties") or {}
        if ids and all("." not in p and properties.get(p) is not None and properties.get(p) == before.get(p)
                       for p in ids):
            reason = (f"CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                      f"Rename {'|'.join(str(properties[p]) for p in ids)} and update the stack again.")
            self.resource_status(stack, current, "UPDATE_FAILED", reason)
            return False
        current["action"] = "replace"
        self.resource_status(stack, current, "UPDATE_IN_PROGRESS", "Requested update requires the creation of a new "
                                                                      "physical resource; hence creating one.")
        current["planned"] = generated_name(stack["StackName"], logical_id, kind.name_length, kind.name_lower)
        current["properties"] = properties
        self.store.put_resource(stack["StackId"], current)
        op = self._op(stack, current, given, old_properties=given_old)
        op.physical_id = None
        try:
            physical_id, attributes = await kind.create(op)
        except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
            current["PhysicalResourceId"] = getattr(e, "physical_id", None)  # the rollback deletes it
            self.resource_status(stack, current, "UPDATE_FAILED", _reason(e))
            return False
        current["PhysicalResourceId"] = physical_id
        current["attributes"] = attributes or {}
        self.resource_status(stack, current, "UPDATE_COMPLETE")
        return True

    async def cleanup_update(self, stack: dict, active: set[str]) -> None:
        resources = self.store.resources(stack["StackId"])
        previous_template = (stack.get("previous") or {}).get("template") or {"Resources": {}}
        evaluator = self.evaluator(stack, previous_template, (stack.get("previous") or {}).get("values") or {},
                                   resources)
        removed = [r for r in resources if r not in active]
        needs = dependencies(previous_template)

        async def work(logical_id):
            policy = self.deletion_policy(evaluator, previous_template, logical_id)
            return await self.delete_resource(stack, resources[logical_id], policy)

        await run_graph(removed, reverse(needs, removed), work)
        for logical_id, resource in resources.items():
            if logical_id in removed:
                continue
            previous = resource.pop("previous", None)
            action = resource.pop("action", None)
            if action in ("replace", "retype") and previous and previous.get("PhysicalResourceId"):
                policy = self.deletion_policy(evaluator, previous_template, logical_id, "UpdateReplacePolicy")
                # the replaced resource's own events, under its old physical id
                if policy in RETAIN:
                    self.replaced_event(stack, resource, previous, "DELETE_SKIPPED")
                else:
                    self.replaced_event(stack, resource, previous, "DELETE_IN_PROGRESS")
                    await self.delete_physical(stack, resource, previous)
                    self.replaced_event(stack, resource, previous, "DELETE_COMPLETE")
            if action or previous:
                self.store.put_resource(stack["StackId"], resource)
        stack.pop("previous", None)
        self.stack_status(stack, "UPDATE_COMPLETE")

    async def rollback_update(self, stack: dict) -> None:
        """Undo an update: delete what it created, restore what it changed or replaced."""
        previous = stack.get("previous") or {}
        resources = self.store.resources(stack["StackId"])
        old_template = previous.get("template") or {"Resources": {}}
        new_template = stack["template"]
        state = dict(resources)
        evaluator = self.evaluator(stack, old_template, previous.get("values") or {}, state)
        new_evaluator = self.evaluator(stack, new_template, stack.get("values") or {}, state)
        touched = [r for r, doc in resources.items() if doc.get("action")]
        needs = {**dependencies(new_template), **dependencies(old_template)}

        async def undo(logical_id) -> bool:
            resource = resources[logical_id]
            action = resource.get("action")
            before = resource.get("previous") or {}
            kind = resource_type(resource["ResourceType"])
            if action == "create":
                policy = self.deletion_policy(new_evaluator, new_template, logical_id)
                return await self.delete_resource(stack, resource, self.rollback_policy(stack, policy))
            if action == "update":
                self.resource_status(stack, resource, "UPDATE_IN_PROGRESS")
                try:
                    target, current_given = await self.handler_properties(
                        stack, resource["ResourceType"], before.get("properties") or {}, self.previous_tags(stack),
                        old=resource.get("properties") or {}, old_tags=stack.get("Tags"), logical_id=logical_id)
                    op = self._op(stack, resource, target, old_properties=current_given)
                    op.physical_id = before.get("PhysicalResourceId")
                    attributes = await kind.update(op)
                except Exception as e:  # noqa: BLE001 - every failure becomes the resource's reason
                    self.resource_status(stack, resource, "UPDATE_FAILED", _reason(e))
                    return False
                resource.update(before)
                resource["attributes"] = attributes if attributes is not None else before.get("attributes")
            elif action in ("replace", "retype"):
                if resource.get("PhysicalResourceId") and resource["PhysicalResourceId"] != before.get(
                        "PhysicalResourceId"):
                    if kind is not None:
                        await self.delete_physical(stack, resource, resource)
                resource.update({k: v for k, v in before.items() if k in (
                    "PhysicalResourceId", "properties", "attributes", "Metadata", "planned", "ResourceType")})
            resource.pop("action", None)
            resource.pop("previous", None)
            self.resource_status(stack, resource, "UPDATE_COMPLETE")
            return True

        _, failed = await run_graph(touched, reverse(needs, touched), undo)
        stack["template"] = old_template
        stack["values"] = previous.get("values") or {}
        for key in ("Parameters", "Outputs", "Description", "original", "Tags", "Capabilities"):
            if key in previous:
                stack[key] = previous[key]
        stack.pop("previous", None)
        if failed:
            self.stack_status(stack, "UPDATE_ROLLBACK_FAILED")
            return
        # outputs and exports as they were
        try:
            self.finish_outputs(stack, old_template, evaluator, set(previous.get("imports") or ()))
        except (AwsError, ResourceFailed):
            pass
        self.stack_status(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        self.stack_status(stack, "UPDATE_ROLLBACK_COMPLETE")

    # -- after a restart ---------------------------------------------------------------------

    async def recover(self) -> None:
        """Finish or roll back the deployments a stop or a crash interrupted."""
        for stack in self.store.interrupted_stacks():
            self.launch(stack["StackId"], self._recover(stack))

    async def take_over(self, at_start: bool = False) -> None:
        """(A cluster) Finish or roll back the operations that dead nodes were running, as a
        restart does its own. `at_start`: this node is starting (the dead node may be this
        server's earlier run: the reason a restart gives)."""
        coordination = self.provider.providers.coordination
        try:
            others = self.store.operation_nodes()
            dead = await coordination.dead_nodes(node for node in others if node is not None)
            stacks = self.store.claim_operations(sorted(dead), None in others)
        except Exception as e:
            log.warning("resuming the stack operations of dead nodes: %s", e)
            return
        reason = RESTARTED if at_start else \
            "the overcast node running the stack's operation stopped while it was in progress"
        for stack in stacks:
            self.launch(stack["StackId"], self._recover(stack, reason))

    async def _recover(self, stack: dict, reason: str = RESTARTED) -> None:
        status = stack["StackStatus"]
        if status in ("CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"):
            if status == "CREATE_IN_PROGRESS":
                self.stack_status(stack, "ROLLBACK_IN_PROGRESS", reason)
            await self.rollback_create(stack)
        elif status in ("UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"):
            if status == "UPDATE_IN_PROGRESS":
                self.stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
            await self.rollback_update(stack)
        elif status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS":
            resources = self.store.resources(stack["StackId"])
            await self.cleanup_update(stack, set(stack["template"]["Resources"]) & set(resources))
        elif status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS":
            self.stack_status(stack, "UPDATE_ROLLBACK_COMPLETE")
        elif status == "DELETE_IN_PROGRESS":
            await self.delete(stack["StackId"])


_ABSENT = object()


def _carry(old, new, resolved):
    """The deployed properties `old` as a handler compares them with `new` (resolved: `resolved`):
    every part equal to the new template's takes the new resolved value."""
    if old == new:
        return resolved
    if isinstance(old, dict) and isinstance(new, dict) and isinstance(resolved, dict):
        return {k: _carry(v, new.get(k, _ABSENT), resolved.get(k)) if k in new else v for k, v in old.items()}
    if isinstance(old, list) and isinstance(new, list) and isinstance(resolved, list) and len(old) == len(new):
        return [_carry(o, n, r) for o, n, r in zip(old, new, resolved, strict=True)]
    return old


def _reason(error: Exception) -> str:
    if isinstance(error, AwsError):
        return error.message or error.code
    if isinstance(error, ResourceFailed):
        return str(error)
    log.error("resource handler failed", exc_info=error)
    return f"Internal failure in overcast: {type(error).__name__}: {error}"


def _output_string(value) -> str:
    if isinstance(value, list):
        return ",".join(_output_string(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict,)):
        raise format_error("The Value of an Output must be a string or a list of strings")
    return str(value)


def _json(value) -> str:
    import orjson

    return orjson.dumps(value).decode()
