"""AWS CloudFormation: stacks, change sets, events, exports. The API answers at once and the
deployment runs in the background (engine.py), as AWS does; clients poll DescribeStacks or use
botocore's waiters."""

from __future__ import annotations

import asyncio
import base64
import copy
import ipaddress
import json
import re
import urllib.parse
import uuid

from overcast.aws.errors import AwsError
from overcast.engine.waiters import Waiters
from overcast.services.base import Provider
from overcast.services.cloudformation import changes as change_sets
from overcast.services.cloudformation import parameters as params_mod
from overcast.services.cloudformation import schemas, transforms
from overcast.services.cloudformation.engine import Engine, dependencies, find_cycle, now
from overcast.services.cloudformation.intrinsics import references
from overcast.services.cloudformation.resources import resource_type
from overcast.services.cloudformation.store import CfnStore
from overcast.services.cloudformation.template import check_structure, format_error, parse, validation_error

_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
_CHANGE_SET_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
_UPDATABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
              "IMPORT_ROLLBACK_COMPLETE")
_IAM_TYPES = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
              "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
              "AWS::IAM::InstanceProfile": "InstanceProfileName", "AWS::IAM::Policy": None,
              "AWS::IAM::AccessKey": None, "AWS::IAM::UserToGroupAddition": None}
PSEUDO = frozenset({"AWS::AccountId", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::Partition",
                    "AWS::URLSuffix", "AWS::NoValue", "AWS::NotificationARNs"})
_MAX_BODY = 51_200
_MAX_URL_BODY = 1_000_000


def stack_missing(name: str) -> AwsError:
    return validation_error(f"Stack with id {name} does not exist")


class CloudFormationProvider(Provider):
    service = "cloudformation"

    def __init__(self, providers):
        super().__init__(providers)
        coordination = providers.coordination
        self.store = CfnStore(self.db, coordination.node_id)
        self.engine = Engine(self)
        self.waiters = Waiters()  # keyed by stack id: a parent stack waits for its nested stacks
        # On a cluster, a stack's operation runs on the node that received its request (the stack's
        # row names the node that set its status); a live node resumes a dead node's operations
        # as a restart resumes its own.
        self._cluster = coordination.cluster
        self._channel = coordination.channel("cloudformation")  # (a cluster) CancelUpdateStack made elsewhere
        if self._cluster:
            coordination.on_nodes_gone(lambda: asyncio.get_running_loop().create_task(self.engine.take_over()))
            self._channel.subscribe(self._cancel_asked, lambda: None)

    async def start(self) -> None:
        if self._cluster:
            await self.engine.take_over(at_start=True)
            return
        await self.engine.recover()

    async def stop(self) -> None:
        for task in list(self.engine.tasks.values()):
            task.cancel()
        self.waiters.notify_all()

    def reset(self) -> None:
        for task in list(self.engine.tasks.values()):
            task.cancel()
        self.engine.tasks.clear()

    def notify(self, stack: dict) -> None:
        self.waiters.notify(stack["StackId"])

    # -- lookups -----------------------------------------------------------------------------

    def _stack(self, ctx, name: str | None) -> dict:
        if not name:
            raise validation_error("Stack name or id is required")
        if name.startswith("arn:"):
            stack = self.store.get_stack(name)
            if stack is None or stack["account"] != ctx.account or stack["region"] != ctx.region:
                raise stack_missing(name)
            return stack
        stack = self.store.live_stack_by_name(ctx.account, ctx.region, name)
        if stack is None:
            raise stack_missing(name)
        return stack

    def _stack_bracketed(self, ctx, name: str | None) -> dict:
        """_stack, for the operations that word a missing stack "Stack [name] does not exist"."""
        try:
            return self._stack(ctx, name)
        except AwsError as e:
            if e.message.startswith("Stack with id"):
                raise validation_error(f"Stack [{name}] does not exist") from None
            raise

    async def _template_text(self, ctx, params: dict, previous: dict | None = None) -> str:
        body, url = params.get("TemplateBody"), params.get("TemplateURL")
        if params.get("UsePreviousTemplate"):
            if previous is None:
                raise validation_error("UsePreviousTemplate is only allowed for an existing stack")
            if body or url:
                raise validation_error("Exactly one of TemplateBody, TemplateUrl or UsePreviousTemplate must be "
                                       "specified.")
            return previous["original"]
        if body and url:
            raise validation_error("Specify exactly one of TemplateBody or TemplateUrl.")
        if body:
            if len(body.encode()) > _MAX_BODY:
                raise validation_error(f"1 validation error detected: Value '{body}' at 'templateBody' "
                                       f"failed to satisfy constraint: Member must have length less than or equal "
                                       f"to {_MAX_BODY}")
            return body
        if url:
            return await self._read_template_url(ctx, url)
        raise validation_error("Either Template URL or Template Body must be specified.")

    async def _read_template_url(self, ctx, url: str) -> str:
        if url.startswith("s3://"):  # AWS's answer to an S3 URI where an HTTPS URL is wanted
            bucket = url[len("s3://"):].split("/", 1)[0]
            raise validation_error(f"S3 error: Domain name specified in {bucket} is not a valid S3 domain")
        bucket, key = s3_location(url)
        if bucket is None:
            raise validation_error("TemplateURL must be a supported URL.")
        s3 = await self.providers.get("s3")
        try:
            data = await s3.read_object(ctx.account, ctx.region, bucket, key)
        except AwsError:
            raise validation_error("TemplateURL must reference a valid S3 object to which you have access.") from None
        if len(data) > _MAX_URL_BODY:
            raise validation_error("Template may not exceed 1000000 bytes in size.")
        try:
            return data.decode()
        except UnicodeDecodeError:
            raise format_error("JSON not well-formed. (line 1,  column 1)") from None

    async def _prepare(self, ctx, params: dict, stack: dict, previous: dict | None, *, change_set: bool = False):
        """Template and parameters of a create, update or change set, validated and processed.
        Fills stack["template"], ["original"], ["values"], ["raw"], ["Parameters"], ["Description"]."""
        original = await self._template_text(ctx, params, previous)
        template = parse(original)
        declared_transforms = transforms.declared(template)
        if declared_transforms and not change_set:
            caps = set(params.get("Capabilities") or [])
            if "CAPABILITY_AUTO_EXPAND" not in caps:
                raise AwsError("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
        given = params.get("Parameters") or []
        stack["original"] = original
        stack.setdefault("template", template)  # what a stack whose macro failed keeps
        if declared_transforms or transforms.has_snippets(template):
            raw_for_transform = {p["ParameterKey"]: p.get("ParameterValue") for p in given
                                 if p.get("ParameterValue") is not None}
            # SAM reads an SSM parameter type's value, not the parameter's name (AWS's recorded
            # answer: an authorizer's FunctionArn from such a parameter)
            declared = template.get("Parameters") if isinstance(template.get("Parameters"), dict) else {}
            ssm_specs = {n: spec for n, spec in declared.items() if isinstance(spec, dict)
                         and params_mod.is_ssm_type(str(spec.get("Type")))
                         and (n in raw_for_transform or spec.get("Default") is not None)}
            ssm_values = await self._resolve_ssm_parameters(
                ctx, {"Parameters": ssm_specs}, {n: raw_for_transform.get(n, spec.get("Default"))
                                                 for n, spec in ssm_specs.items()}) if ssm_specs else {}
            template = await transforms.apply(self, ctx, template, stack, raw_for_transform, ssm_values)
        check_structure(template)
        params_mod.check_declarations(template)
        check_references(template)
        raw = params_mod.resolve(template, given, (previous or {}).get("raw"))
        resolved = await self._resolve_ssm_parameters(ctx, template, raw)
        check_capabilities(template, params.get("Capabilities") or [])
        stack["template"] = template
        stack["original"] = original
        stack["raw"] = raw
        stack["resolved"] = resolved
        stack["values"] = params_mod.ref_values(template, raw, resolved)
        stack["Parameters"] = params_mod.api_parameters(template, raw, resolved)
        if template.get("Description") is not None:
            stack["Description"] = str(template["Description"])
        else:
            stack.pop("Description", None)
        return template

    async def _resolve_ssm_parameters(self, ctx, template: dict, raw: dict) -> dict:
        out = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if not params_mod.is_ssm_type(str(spec.get("Type"))):
                continue
            from overcast.services import SERVICES

            if "ssm" not in SERVICES:
                raise validation_error(f"Parameter '{name}' of type {spec.get('Type')} needs SSM Parameter Store, "
                                       "which overcast does not implement yet")
            ssm = await self.providers.get("ssm")
            try:
                result = ssm.get_parameter(ctx, {"Name": raw[name]})
                if asyncio.iscoroutine(result):
                    result = await result
            except AwsError as e:
                if e.code != "ParameterNotFound":
                    raise
                # AWS's words for an SSM parameter type whose parameter does not exist
                raise validation_error(f"Parameter {name} should either have input value or default value") from None
            out[name] = result["Parameter"]["Value"]
        return out

    def _new_stack(self, ctx, params: dict, status: str) -> dict:
        name = params.get("StackName") or ""
        if not _STACK_NAME.fullmatch(name):
            raise validation_error(f"1 validation error detected: Value '{name}' at 'stackName' failed to satisfy "
                                   "constraint: Member must satisfy regular expression pattern: "
                                   "[a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*")
        stack_id = f"arn:aws:cloudformation:{ctx.region}:{ctx.account}:stack/{name}/{uuid.uuid4()}"
        return {"StackId": stack_id, "StackName": name, "account": ctx.account, "region": ctx.region,
                "CreationTime": now(), "StackStatus": status, "Outputs": [], "Tags": params.get("Tags") or [],
                "Capabilities": params.get("Capabilities") or [],
                "NotificationARNs": params.get("NotificationARNs") or [],
                "DisableRollback": bool(params.get("DisableRollback"))
                or params.get("OnFailure") in ("DO_NOTHING",),
                # shown only when the caller set it, as AWS does
                "RetainExceptOnCreate": params.get("RetainExceptOnCreate"),
                "RollbackConfiguration": rollback_configuration(params) or {},
                "EnableTerminationProtection": bool(params.get("EnableTerminationProtection")),
                "TimeoutInMinutes": params.get("TimeoutInMinutes"), "RoleARN": params.get("RoleARN"),
                "ParentId": params.get("_ParentId"), "RootId": params.get("_RootId")}

    # -- stacks ------------------------------------------------------------------------------

    async def create_stack(self, ctx, params):
        stack = self._new_stack(ctx, params, "CREATE_IN_PROGRESS")
        existing = self.store.live_stack_by_name(ctx.account, ctx.region, stack["StackName"])
        if existing is not None:
            raise AwsError("AlreadyExistsException", f"Stack [{stack['StackName']}] already exists")
        if params.get("OnFailure") and params.get("DisableRollback") is not None:
            raise validation_error("You can specify either DisableRollback or OnFailure, but not both.")
        try:
            await self._prepare(ctx, params, stack, None)
        except AwsError as e:
            if not getattr(e, "macro_failure", False):
                raise
            self._start_failed_transform(stack, e.message, params.get("OnFailure") == "DELETE")
            return {"StackId": stack["StackId"]}
        self.start_create(stack, params.get("OnFailure") == "DELETE")
        return {"StackId": stack["StackId"]}

    def _start_failed_transform(self, stack: dict, reason: str, delete_on_failure: bool) -> None:
        """A macro that failed or refused: AWS accepts the stack, then rolls it back (nothing was
        created) with the macro's reason."""
        with self.store.transaction():
            self.store.put_stack(stack)
            self.engine.stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")

        async def roll_back():
            current = self.store.get_stack(stack["StackId"])
            self.engine.stack_status(current, "ROLLBACK_IN_PROGRESS", f"{reason}. Rollback requested by user.")
            self.engine.stack_status(current, "ROLLBACK_COMPLETE")
            if delete_on_failure:
                self.engine.stack_status(current, "DELETE_IN_PROGRESS")
                await self.engine.delete(stack["StackId"])

        self.engine.launch(stack["StackId"], roll_back())

    def start_create(self, stack: dict, delete_on_failure: bool = False) -> None:
        with self.store.transaction():
            self.store.put_stack(stack)
            self.engine.stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
        self.engine.launch(stack["StackId"], self._create_then(stack["StackId"], delete_on_failure))

    async def _create_then(self, stack_id: str, delete_on_failure: bool) -> None:
        minutes = self.store.get_stack(stack_id).get("TimeoutInMinutes")
        try:
            async with asyncio.timeout(int(minutes) * 60 if minutes else None):
                await self.engine.create(stack_id)
        except TimeoutError:
            stack = self.store.get_stack(stack_id)
            for resource in self.store.resources(stack_id).values():
                if resource.get("ResourceStatus") == "CREATE_IN_PROGRESS":
                    resource["cancelled"] = True  # the service may have made it: the rollback deletes it
                    self.engine.resource_status(stack, resource, "CREATE_FAILED", "Resource creation cancelled")
            reason = "Create timed out"
            if stack.get("DisableRollback"):
                self.engine.stack_status(stack, "CREATE_FAILED", reason)
            else:
                self.engine.stack_status(stack, "ROLLBACK_IN_PROGRESS", reason)
                await self.engine.rollback_create(stack)
        if delete_on_failure and self.store.get_stack(stack_id)["StackStatus"] == "ROLLBACK_COMPLETE":
            stack = self.store.get_stack(stack_id)
            self.engine.stack_status(stack, "DELETE_IN_PROGRESS")
            await self.engine.delete(stack_id)

    async def update_stack(self, ctx, params):
        stack = self._stack(ctx, params.get("StackName"))
        self._check_updatable(stack)
        previous = snapshot(stack)
        updated = copy.deepcopy(stack)
        await self._prepare(ctx, params, updated, previous)
        for key in ("Tags", "Capabilities", "NotificationARNs"):
            if params.get(key) is not None:
                updated[key] = params[key]
        if rollback_configuration(params) is not None:
            updated["RollbackConfiguration"] = rollback_configuration(params)
        for key in ("DisableRollback", "RetainExceptOnCreate"):
            if params.get(key) is not None:
                updated[key] = bool(params[key])
        # A template that declares transforms is always updated: AWS does not compare what they produce.
        if (not transforms.declared(parse(updated["original"]))
                and _same_deployment(updated["template"], stack["template"]) and updated["raw"] == stack.get("raw")
                and updated.get("Tags") == stack.get("Tags") and updated.get("resolved") == stack.get("resolved")):
            raise validation_error("No updates are to be performed.")
        self.start_update(updated, previous)
        return {"StackId": stack["StackId"]}

    def _check_updatable(self, stack: dict) -> None:
        if stack["StackStatus"] not in _UPDATABLE:
            raise validation_error(f"Stack:{stack['StackId']} is in {stack['StackStatus']} state and can not be "
                                   "updated.")

    def start_update(self, stack: dict, previous: dict) -> None:
        stack["previous"] = previous
        stack["LastUpdatedTime"] = now()
        stack["StackStatus"] = "UPDATE_IN_PROGRESS"
        with self.store.transaction():
            self.store.put_stack(stack)
            self.engine.stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
        self.engine.launch(stack["StackId"], self.engine.update(stack["StackId"]))

    async def delete_stack(self, ctx, params):
        name = params.get("StackName")
        try:
            stack = self._stack(ctx, name)
        except AwsError:
            if name and name.startswith("arn:"):
                stack = self.store.get_stack(name)
                if stack is not None and stack["StackStatus"] == "DELETE_COMPLETE":
                    return {}
                raise
            return {}  # AWS answers success for a stack name that does not exist
        if stack.get("EnableTerminationProtection"):
            raise validation_error(f"Stack [{stack['StackName']}] cannot be deleted while TerminationProtection is "
                                   "enabled")
        if stack["StackStatus"] in ("DELETE_IN_PROGRESS", "DELETE_COMPLETE"):
            return {}
        retain = set(params.get("RetainResources") or [])
        if retain and stack["StackStatus"] != "DELETE_FAILED":
            raise validation_error("Invalid operation on stack [" + stack["StackId"] + "]. RetainResources can only "
                                   "be specified when the stack is in the DELETE_FAILED state.")
        running = self.engine.tasks.get(stack["StackId"])
        if running is None or running.done():
            self.engine.stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
        self.engine.launch(stack["StackId"], self._delete_after(stack["StackId"], running, retain))
        return {}

    async def _delete_after(self, stack_id: str, running: asyncio.Task | None, retain: set[str]) -> None:
        if running is not None and not running.done():
            try:
                await asyncio.shield(running)
            except Exception:
                pass
        stack = self.store.get_stack(stack_id)
        if stack["StackStatus"] == "DELETE_COMPLETE":
            return
        if stack["StackStatus"] != "DELETE_IN_PROGRESS":
            self.engine.stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
        await self.engine.delete(stack_id, retain)

    def describe_stacks(self, ctx, params):
        name = params.get("StackName")
        if name:
            stacks = [self._stack(ctx, name)]
        else:
            stacks = self.store.stacks(ctx.account, ctx.region, include_deleted=False)
        return {"Stacks": [stack_out(s) for s in stacks]}

    def list_stacks(self, ctx, params):
        filters = set(params.get("StackStatusFilter") or [])
        summaries = []
        for s in self.store.stacks(ctx.account, ctx.region, include_deleted=True):
            if filters and s["StackStatus"] not in filters:
                continue
            summary = {k: s[k] for k in ("StackId", "StackName", "CreationTime", "StackStatus") if k in s}
            for k in ("TemplateDescription", "LastUpdatedTime", "DeletionTime", "StackStatusReason", "ParentId",
                      "RootId"):
                source = "Description" if k == "TemplateDescription" else k
                if s.get(source) is not None:
                    summary[k] = s[source]
            summary["DriftInformation"] = {"StackDriftStatus": "NOT_CHECKED"}  # no drift detection (docs)
            summaries.append(summary)
        return {"StackSummaries": summaries}

    def describe_stack_events(self, ctx, params):
        stack = self._stack_bracketed(ctx, params.get("StackName"))
        before = None
        if params.get("NextToken"):
            before = _event_token(params["NextToken"], stack["StackId"])
        events, more = self.store.events_page(stack["StackId"], before, EVENTS_PER_PAGE)
        out = {"StackEvents": events}
        if more is not None:
            out["NextToken"] = base64.urlsafe_b64encode(f"{stack['StackId']}|{more}".encode()).decode()
        return out

    def describe_stack_resource(self, ctx, params):
        given = params.get("StackName")
        try:
            stack = self._stack(ctx, given)
        except AwsError as e:  # this operation's own wording (AWS's recorded answer)
            if e.message.startswith("Stack with id"):
                raise validation_error(f"Stack '{given}' does not exist") from None
            raise
        logical_id = params.get("LogicalResourceId")
        resource = self.store.resources(stack["StackId"]).get(logical_id)
        if resource is None:  # the stack as the caller named it
            raise validation_error(f"Resource {logical_id} does not exist for stack {given}")
        detail = resource_out(stack, resource)
        if resource.get("Metadata") is not None:
            import json

            detail["Metadata"] = json.dumps(resource["Metadata"])
        return {"StackResourceDetail": detail}

    def describe_stack_resources(self, ctx, params):
        name, physical_id = params.get("StackName"), params.get("PhysicalResourceId")
        if name:
            stack = self._stack(ctx, name)
        elif physical_id:
            found = self.store.stack_of_physical_id(ctx.account, ctx.region, physical_id)
            if found is None:
                raise validation_error(f"Stack for {physical_id} does not exist")
            stack = found[0]
        else:
            raise validation_error("Either StackName or PhysicalResourceId must be specified.")
        out = []
        for logical_id, resource in self.store.resources(stack["StackId"]).items():
            if params.get("LogicalResourceId") and logical_id != params["LogicalResourceId"]:
                continue
            item = resource_out(stack, resource)
            item["Timestamp"] = item.pop("LastUpdatedTimestamp")
            out.append(item)
        return {"StackResources": out}

    def list_stack_resources(self, ctx, params):
        stack = self._stack(ctx, params.get("StackName"))
        out = []
        for resource in self.store.resources(stack["StackId"]).values():
            item = resource_out(stack, resource)
            for k in ("StackName", "StackId"):
                item.pop(k, None)
            out.append(item)
        return {"StackResourceSummaries": out}

    def get_template(self, ctx, params):
        if not params.get("ChangeSetName") and not params.get("StackName"):
            raise validation_error("StackName is required if ChangeSetName is not specified.")
        if params.get("ChangeSetName") and not params.get("StackName") and \
                not params["ChangeSetName"].startswith("arn:"):
            raise validation_error("StackName is a required parameter.")
        if params.get("ChangeSetName"):
            source = self._change_set(ctx, params["ChangeSetName"], params.get("StackName"))
        else:
            source = self._stack(ctx, params.get("StackName"))
        if not source.get("template"):  # a stack still in REVIEW_IN_PROGRESS: AWS answers without a body
            return {"StagesAvailable": ["Original", "Processed"]}
        stage = params.get("TemplateStage") or "Original"
        body = source["original"]
        original = parse(body)
        # without transforms the processed template is the original, text and all (YAML stays YAML)
        if stage == "Processed" and (transforms.declared(original) or transforms.has_snippets(original)):
            import json

            body = json.dumps(source["template"], indent=2)
        return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}

    async def validate_template(self, ctx, params):
        text = await self._template_text(ctx, params)
        template = parse(text)
        params_mod.check_declarations(template)
        if not transforms.declared(template):  # a transform's input is checked once it has run
            check_structure(template)
            check_references(template)
        caps, reason = needed_capabilities(template)
        out = {"Parameters": [parameter_summary(n, s, default_key="DefaultValue")
                              for n, s in (template.get("Parameters") or {}).items()]}
        if template.get("Description") is not None:
            out["Description"] = str(template["Description"])
        if caps:
            out["Capabilities"], out["CapabilitiesReason"] = caps, reason
        if transforms.declared(template):
            out["DeclaredTransforms"] = transforms.declared(template)
        return out

    async def get_template_summary(self, ctx, params):
        if params.get("StackName"):
            stack = self._stack(ctx, params["StackName"])
            if stack["StackStatus"] == "REVIEW_IN_PROGRESS":
                raise validation_error("GetTemplateSummary cannot be called on REVIEW_IN_PROGRESS stacks.")
            template, original = stack["template"], parse(stack["original"])
        else:
            original = parse(await self._template_text(ctx, params))
            template = original
            if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
                raise format_error("At least one Resources member must be defined.")
        caps, reason = needed_capabilities(template)
        out = {"Parameters": [parameter_summary(n, s) for n, s in (original.get("Parameters") or {}).items()],
               "ResourceTypes": sorted({r.get("Type") for r in (template.get("Resources") or {}).values()
                                        if isinstance(r, dict) and r.get("Type")}),
               "Version": str(original.get("AWSTemplateFormatVersion") or "2010-09-09")}
        if original.get("Description") is not None:
            out["Description"] = str(original["Description"])
        if caps:
            out["Capabilities"], out["CapabilitiesReason"] = caps, reason
        if transforms.declared(original):
            out["DeclaredTransforms"] = transforms.declared(original)
        if original.get("Metadata") is not None:
            # not JSON: AWS's recorded answer prints the section as Python prints a dict
            # ("{'TopicName': 'sns-topic-simple'}", LocalStack's test_get_template_summary)
            out["Metadata"] = str(original["Metadata"])
        out["ResourceIdentifierSummaries"] = _identifier_summaries(template.get("Resources") or {})
        return out

    def update_termination_protection(self, ctx, params):
        stack = self._stack(ctx, params.get("StackName"))
        stack["EnableTerminationProtection"] = bool(params.get("EnableTerminationProtection"))
        self.store.put_stack(stack)
        return {"StackId": stack["StackId"]}

    # -- stack sets: overcast makes none (CreateStackSet answers NotImplemented), so every other
    # operation on one finds none, as AWS answers for a stack set that does not exist

    def _no_stack_set(self, ctx, params):
        raise AwsError("StackSetNotFoundException", f"StackSet {params.get('StackSetName')} not found", 404)

    describe_stack_set = list_stack_instances = create_stack_instances = update_stack_instances = _no_stack_set
    delete_stack_instances = describe_stack_instance = describe_stack_set_operation = _no_stack_set
    list_stack_set_operations = list_stack_set_operation_results = update_stack_set = _no_stack_set
    detect_stack_set_drift = stop_stack_set_operation = list_stack_set_auto_deployment_targets = _no_stack_set
    import_stacks_to_stack_set = list_stack_instance_resource_drifts = _no_stack_set

    def delete_stack_set(self, ctx, params):
        return {}  # (deleting one that does not exist succeeds: AWS's recorded answer)

    def list_stack_sets(self, ctx, params):
        return {"Summaries": []}

    def list_exports(self, ctx, params):
        return {"Exports": [{"ExportingStackId": s, "Name": n, "Value": v}
                            for n, v, s in self.store.exports(ctx.account, ctx.region)]}

    def list_imports(self, ctx, params):
        name = params.get("ExportName")
        users = self.store.importers(ctx.account, ctx.region, name)
        if not users:
            raise validation_error(f"Export '{name}' is not imported by any stack.")
        return {"Imports": [(self.store.get_stack(s) or {}).get("StackName", s) for s in users]}

    async def cancel_update_stack(self, ctx, params):
        stack = self._stack(ctx, params.get("StackName"))
        if stack["StackStatus"] != "UPDATE_IN_PROGRESS":
            raise validation_error(f"CancelUpdateStack cannot be called from current stack status "
                                   f"{stack['StackStatus']}.")
        stack_id = stack["StackId"]
        if self._cluster and stack_id not in self.engine.tasks:
            node = self.store.operation_node(stack_id)
            if node not in (None, self.store.node):  # the update runs there: that node cancels it
                self._channel.publish(stack_id)
                return {}
        await self._cancel_update(stack_id)
        return {}

    async def _cancel_update(self, stack_id: str) -> None:
        """Stop the stack's update running here, then roll it back (still UPDATE_IN_PROGRESS)."""
        task = self.engine.tasks.get(stack_id)
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        stack = self.store.get_stack(stack_id)
        if stack is not None and stack["StackStatus"] == "UPDATE_IN_PROGRESS":
            self.engine.stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", "Stack update cancelled")
            self.engine.launch(stack_id, self.engine.rollback_update(stack))

    def _cancel_asked(self, stack_id) -> None:
        """CancelUpdateStack was made on another node for an update this node runs."""
        if stack_id in self.engine.tasks:
            asyncio.get_running_loop().create_task(self._cancel_update(stack_id))

    def continue_update_rollback(self, ctx, params):
        stack = self._stack(ctx, params.get("StackName"))
        if stack["StackStatus"] != "UPDATE_ROLLBACK_FAILED":
            raise validation_error(f"Stack {stack['StackName']} is in {stack['StackStatus']} state and can not "
                                   "continue update rollback.")
        skip = set(params.get("ResourcesToSkip") or [])
        for logical_id, resource in self.store.resources(stack["StackId"]).items():
            if logical_id in skip:
                resource.pop("action", None)
                resource.pop("previous", None)
                self.store.put_resource(stack["StackId"], resource)
        self.engine.stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS")
        self.engine.launch(stack["StackId"], self.engine.rollback_update(stack))
        return {}

    # -- change sets -------------------------------------------------------------------------

    def _change_set(self, ctx, name: str, stack_name: str | None) -> dict:
        if name.startswith("arn:"):
            cs = self.store.get_change_set(name)
        else:
            if not stack_name:
                raise validation_error("StackName must be specified if ChangeSetName is not specified as an ARN.")
            try:
                stack = self._stack(ctx, stack_name)
            except AwsError:
                raise validation_error(f"Stack [{stack_name}] does not exist") from None
            cs = self.store.change_set_by_name(stack["StackId"], name)
        if cs is None or cs["account"] != ctx.account or cs["region"] != ctx.region:
            raise AwsError("ChangeSetNotFoundException", f"ChangeSet [{name}] does not exist", 404)
        return cs

    async def create_change_set(self, ctx, params):
        name = params.get("ChangeSetName") or ""
        if not _CHANGE_SET_NAME.fullmatch(name):
            raise validation_error(f"1 validation error detected: Value '{name}' at 'changeSetName' failed to "
                                   "satisfy constraint: Member must satisfy regular expression pattern: "
                                   "[a-zA-Z][-a-zA-Z0-9]*")
        kind = params.get("ChangeSetType") or "UPDATE"
        if kind == "IMPORT":
            raise AwsError("NotImplemented", "Change sets of type IMPORT are not supported by overcast yet.", 501,
                           sender_fault=False)
        stack = None
        try:
            stack = self._stack(ctx, params.get("StackName"))
        except AwsError:
            if kind != "CREATE":
                raise validation_error(f"Stack [{params.get('StackName')}] does not exist") from None
        if kind == "CREATE":
            if stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
                # AWS answers ValidationError here (not AlreadyExists) and names the stack as given
                raise validation_error(f"Stack [{params.get('StackName')}] already exists and cannot be created "
                                       f"again with the changeSet [{name}].")
            if stack is None:
                stack = self._new_stack(ctx, params, "REVIEW_IN_PROGRESS")
                stack["Tags"] = []  # the change set's tags reach the stack when it is executed
                with self.store.transaction():
                    self.store.put_stack(stack)
                    self.engine.stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")
        elif stack["StackStatus"] not in _UPDATABLE:
            raise validation_error(f"Stack:{stack['StackId']} is in {stack['StackStatus']} state and can not be "
                                   "updated.")
        if self.store.change_set_by_name(stack["StackId"], name) is not None:
            raise AwsError("AlreadyExistsException", f"ChangeSet [{name}] already exists")
        change_set_id = f"arn:aws:cloudformation:{ctx.region}:{ctx.account}:changeSet/{name}/{uuid.uuid4()}"
        cs = {"ChangeSetId": change_set_id, "ChangeSetName": name, "StackId": stack["StackId"],
              "StackName": stack["StackName"], "account": ctx.account, "region": ctx.region,
              "CreationTime": now(), "ChangeSetType": kind, "Description": params.get("Description"),
              "Capabilities": params.get("Capabilities") or [], "Tags": params.get("Tags"),
              "NotificationARNs": params.get("NotificationARNs") or [], "Changes": [],
              "IncludeNestedStacks": bool(params.get("IncludeNestedStacks")),
              "OnStackFailure": params.get("OnStackFailure"),
              "RollbackConfiguration": rollback_configuration(params)}
        previous = snapshot(stack) if kind == "UPDATE" else None
        draft = copy.deepcopy(stack)
        try:
            await self._prepare(ctx, params, draft, previous, change_set=True)
        except AwsError as e:
            if not getattr(e, "transform_failure", False):
                if kind == "CREATE" and not self.store.change_sets(stack["StackId"]):
                    self.store.put_stack({**stack, "StackStatus": "DELETE_COMPLETE", "DeletionTime": now()})
                raise
            cs.update(Status="FAILED", ExecutionStatus="UNAVAILABLE", StatusReason=e.message)
            self.store.put_change_set(cs)
            return {"Id": change_set_id, "StackId": stack["StackId"]}
        # (the change set's own Description is the caller's; the template's is StackDescription)
        for key in ("template", "original", "raw", "resolved", "values", "Parameters"):
            if key in draft:
                cs[key] = draft[key]
        cs["StackDescription"] = draft.get("Description")
        cs["Changes"], cs["ValuesWarning"] = change_sets.compute(
            self.engine, stack if kind == "UPDATE" else None, draft,
            self.store.resources(stack["StackId"]) if kind == "UPDATE" else {})
        unchanged = kind == "UPDATE" and not cs["Changes"] and \
            _same_deployment(draft["template"], stack.get("template")) and draft["raw"] == stack.get("raw") and \
            (params.get("Tags") is None or params.get("Tags") == stack.get("Tags"))
        if unchanged:
            cs.update(Status="FAILED", ExecutionStatus="UNAVAILABLE",
                      StatusReason="The submitted information didn't contain changes. Submit different information "
                                   "to create a change set.")
        else:
            cs.update(Status="CREATE_COMPLETE", ExecutionStatus="AVAILABLE")
        self.store.put_change_set(cs)
        return {"Id": change_set_id, "StackId": stack["StackId"]}

    def describe_change_set(self, ctx, params):
        cs = self._change_set(ctx, params.get("ChangeSetName") or "", params.get("StackName"))
        out = {k: cs[k] for k in ("ChangeSetName", "ChangeSetId", "StackId", "StackName", "CreationTime",
                                  "ExecutionStatus", "Status", "Capabilities", "Changes", "NotificationARNs",
                                  "IncludeNestedStacks") if cs.get(k) is not None}
        for k in ("Description", "StatusReason", "Tags", "OnStackFailure"):
            if cs.get(k) is not None:
                out[k] = cs[k]
        include = bool(params.get("IncludePropertyValues"))
        if include and cs.get("ValuesWarning") and "StatusReason" not in out:
            out["StatusReason"] = cs["ValuesWarning"]
        out["Changes"] = [_with_property_values(change, include) for change in cs.get("Changes") or []
                          if not (include and change.get(change_sets.SAME_VALUES))]
        if cs.get("Parameters"):
            out["Parameters"] = cs["Parameters"]
        out["RollbackConfiguration"] = cs.get("RollbackConfiguration") or {}
        return out

    def list_change_sets(self, ctx, params):
        stack = self._stack(ctx, params.get("StackName"))
        return {"Summaries": [{k: cs[k] for k in ("StackId", "StackName", "ChangeSetId", "ChangeSetName",
                                                  "ExecutionStatus", "Status", "StatusReason", "CreationTime",
                                                  "Description", "IncludeNestedStacks") if cs.get(k) is not None}
                              for cs in self.store.change_sets(stack["StackId"])]}

    def delete_change_set(self, ctx, params):
        name, stack_name = params.get("ChangeSetName") or "", params.get("StackName")
        if not name.startswith("arn:") and stack_name:
            # DeleteChangeSet knows no ChangeSetNotFound (its only error is InvalidChangeSetStatus): a
            # name no change set of an existing stack has deletes nothing and succeeds. The
            # Serverless Framework deletes its fixed-name change set this way before every update.
            stack = self._stack_bracketed(ctx, stack_name)
            if self.store.change_set_by_name(stack["StackId"], name) is None:
                return {}
        cs = self._change_set(ctx, name, stack_name)
        if cs.get("ExecutionStatus") == "EXECUTE_IN_PROGRESS":
            raise AwsError("InvalidChangeSetStatus", f"ChangeSet [{cs['ChangeSetId']}] cannot be deleted in its "
                                                     f"current status of [{cs['ExecutionStatus']}]")
        with self.store.transaction():
            self.store.delete_change_set(cs["ChangeSetId"])
            stack = self.store.get_stack(cs["StackId"])
            if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS" and not self.store.change_sets(stack["StackId"]):
                stack["StackStatus"] = "DELETE_COMPLETE"
                stack["DeletionTime"] = now()
                self.store.put_stack(stack)
        return {}

    def execute_change_set(self, ctx, params):
        cs = self._change_set(ctx, params.get("ChangeSetName") or "", params.get("StackName"))
        if cs.get("Status") != "CREATE_COMPLETE" or cs.get("ExecutionStatus") != "AVAILABLE":
            raise AwsError("InvalidChangeSetStatus", f"ChangeSet [{cs['ChangeSetId']}] cannot be executed in its "
                                                     f"current status of [{cs.get('Status')}]")
        stack = self.store.get_stack(cs["StackId"])
        previous = snapshot(stack) if cs["ChangeSetType"] == "UPDATE" else None
        if previous is not None:
            self._check_updatable(stack)
        for key in ("template", "original", "raw", "resolved", "values", "Parameters"):
            stack[key] = cs.get(key)
        if cs.get("StackDescription") is not None:
            stack["Description"] = cs["StackDescription"]
        stack["Capabilities"] = cs.get("Capabilities") or []
        if cs.get("Tags") is not None:
            stack["Tags"] = cs["Tags"]
        stack["ChangeSetId"] = cs["ChangeSetId"]
        if cs.get("RollbackConfiguration") is not None:
            stack["RollbackConfiguration"] = cs["RollbackConfiguration"]
        for key in ("DisableRollback", "RetainExceptOnCreate"):
            if params.get(key) is not None:
                stack[key] = bool(params[key])
        # AWS removes all the stack's change sets ("they aren't valid for the updated stack"), yet
        # DescribeChangeSet of their ARNs still answers: the executed one EXECUTE_IN_PROGRESS until
        # the stack settles, the others OBSOLETE. So they are retired, not deleted.
        with self.store.transaction():
            for other in self.store.change_sets(stack["StackId"]):
                if other["ChangeSetId"] != cs["ChangeSetId"]:
                    obsolete = "OBSOLETE" if other.get("ExecutionStatus") == "AVAILABLE" else other["ExecutionStatus"]
                    self.store.put_change_set({**other, "ExecutionStatus": obsolete, "retired": True})
            self.store.put_change_set({**cs, "ExecutionStatus": "EXECUTE_IN_PROGRESS", "retired": True})
        if previous is None:
            stack["StackStatus"] = "CREATE_IN_PROGRESS"
            stack["LastUpdatedTime"] = now()  # AWS shows one for a stack a change set created
            self.start_create(stack)
        else:
            self.start_update(stack, previous)
        return {}


# -- shapes and checks ------------------------------------------------------------------------------



def _identifier_summaries(resources: dict) -> list[dict]:
    """GetTemplateSummary's ResourceIdentifierSummaries: each type's logical ids and the properties
    that identify one for an import (its schema's primary identifier, when the caller sets it)."""
    by_type: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and isinstance(resource.get("Type"), str):
            by_type.setdefault(resource["Type"], []).append(logical_id)
    summaries = []
    for type_name, logical_ids in by_type.items():
        summary = {"ResourceType": type_name, "LogicalResourceIds": logical_ids}
        schema = schemas.schema(type_name)
        identifiers = [p for p in schema.primary_identifier if p not in schema.attributes] if schema else []
        if identifiers:
            summary["ResourceIdentifiers"] = identifiers
        summaries.append(summary)
    return summaries

def _same_deployment(new: dict, old: dict | None) -> bool:
    """Whether two templates deploy the same thing. AWS documents that template-level Metadata
    cannot be updated by itself, and parameter defaults count only through the values they give
    (which callers compare apart)."""
    def essence(template):
        template = {k: v for k, v in (template or {}).items() if k != "Metadata"}
        template["Parameters"] = {name: {k: v for k, v in (p or {}).items() if k != "Default"}
                                  for name, p in (template.get("Parameters") or {}).items()}
        return template
    return essence(new) == essence(old)

def _with_property_values(change: dict, include: bool) -> dict:
    """A stored change as DescribeChangeSet answers it: the resource's properties before and after
    (JSON strings, as AWS encodes them) only when IncludePropertyValues asks for them."""
    resource_change = dict(change.get("ResourceChange") or {})
    for key in ("BeforeContext", "AfterContext"):
        context = resource_change.pop(key, None)
        if include and context is not None:
            resource_change[key] = json.dumps(context)
    change = {k: v for k, v in change.items() if k != change_sets.SAME_VALUES}
    return {**change, "ResourceChange": resource_change} if "ResourceChange" in change else change

EVENTS_PER_PAGE = 100  # DescribeStackEvents' page, as AWS answers it


def _event_token(token: str, stack_id: str) -> int:
    """The event number a DescribeStackEvents NextToken continues before; AWS's error for a token
    that is not one of its own (or belongs to another stack)."""
    try:
        owner, _, number = base64.urlsafe_b64decode(token.encode()).decode().rpartition("|")
        if owner == stack_id:
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise validation_error("Invalid NextToken")

def rollback_configuration(params: dict) -> dict | None:
    """The RollbackConfiguration a call gives. Rollback triggers (CloudWatch alarms watched during
    and after the operation) are not implemented: refused rather than kept and ignored."""
    config = params.get("RollbackConfiguration")
    if config is None:
        return None
    if config.get("RollbackTriggers"):
        raise validation_error("RollbackTriggers are not supported by overcast (CloudFormation does not watch "
                               "CloudWatch alarms here)")
    return config


def snapshot(stack: dict) -> dict:
    """What an update may have to restore."""
    return {k: copy.deepcopy(stack.get(k)) for k in ("template", "original", "raw", "resolved", "values",
                                                     "Parameters", "Outputs", "Description", "Tags", "Capabilities")
            if k in stack}


_CREATE_UNDONE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED")  # a create rolled back: its resources deleted


def stack_out(stack: dict) -> dict:
    out = {k: stack[k] for k in ("StackId", "StackName", "CreationTime", "StackStatus", "DisableRollback",
                                 "NotificationARNs", "Tags", "EnableTerminationProtection", "RetainExceptOnCreate")
           if stack.get(k) is not None}
    for k in ("Capabilities", "Parameters"):  # AWS leaves out empty ones
        if stack.get(k):
            out[k] = stack[k]
    out["RollbackConfiguration"] = stack.get("RollbackConfiguration") or {}
    for k in ("Description", "LastUpdatedTime", "DeletionTime", "StackStatusReason", "TimeoutInMinutes",
              "RoleARN", "ParentId", "RootId", "ChangeSetId"):
        if stack.get(k) is not None:
            out[k] = stack[k]
    if stack.get("StackStatus") in _CREATE_UNDONE:  # AWS's recorded answers show no change set then
        out.pop("ChangeSetId", None)
    if stack.get("Outputs"):
        out["Outputs"] = stack["Outputs"]
    out["DriftInformation"] = {"StackDriftStatus": "NOT_CHECKED"}
    return out


def resource_out(stack: dict, resource: dict) -> dict:
    out = {"StackName": stack["StackName"], "StackId": stack["StackId"],
           "LogicalResourceId": resource["LogicalResourceId"], "ResourceType": resource["ResourceType"],
           "LastUpdatedTimestamp": resource.get("LastUpdatedTimestamp") or stack["CreationTime"],
           "ResourceStatus": resource.get("ResourceStatus", "CREATE_COMPLETE"),
           "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"}}
    if resource.get("PhysicalResourceId"):
        out["PhysicalResourceId"] = resource["PhysicalResourceId"]
    if resource.get("ResourceStatusReason"):
        out["ResourceStatusReason"] = resource["ResourceStatusReason"]
    return out


def parameter_summary(name: str, spec: dict, default_key: str = "DefaultValue") -> dict:
    out = {"ParameterKey": name, "NoEcho": str(spec.get("NoEcho", "false")).lower() == "true"}
    if "Default" in spec:
        default = spec["Default"]
        out[default_key] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    if spec.get("Description") is not None:
        out["Description"] = str(spec["Description"])
    if default_key == "DefaultValue" and "Type" in spec:
        out["ParameterType"] = str(spec["Type"])
        if spec.get("AllowedValues"):
            out["ParameterConstraints"] = {"AllowedValues": [str(v) for v in spec["AllowedValues"]]}
    return out


def needed_capabilities(template: dict) -> tuple[list[str], str]:
    named = []
    plain = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        if kind in _IAM_TYPES:
            name_prop = _IAM_TYPES[kind]
            if name_prop and name_prop in (resource.get("Properties") or {}):
                named.append(logical_id)
            else:
                plain.append(logical_id)
    if not named and not plain:
        return [], ""
    types = ", ".join(sorted({template["Resources"][n]["Type"] for n in named + plain}))
    reason = f"The following resource(s) require capabilities: [{types}]"
    return (["CAPABILITY_NAMED_IAM"] if named else ["CAPABILITY_IAM"]), reason


def check_capabilities(template: dict, given) -> None:
    needed, _ = needed_capabilities(template)
    given = set(given)
    if needed == ["CAPABILITY_NAMED_IAM"] and "CAPABILITY_NAMED_IAM" not in given:
        raise AwsError("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]")
    if needed == ["CAPABILITY_IAM"] and not given & {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}:
        raise AwsError("InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_IAM]")


def check_references(template: dict) -> None:
    """Refs, GetAtts and DependsOn name things that exist; no resource waits for itself."""
    resources = template["Resources"]
    declared = set(template.get("Parameters") or {}) | PSEUDO | set(resources)
    unresolved: list[str] = []
    unrecognized = sorted({r["Type"] for r in resources.values() if not _known_type(r["Type"])})
    if unrecognized:
        raise format_error(f"Unrecognized resource types: [{', '.join(unrecognized)}]")
    for resource in resources.values():
        refs, atts = references(resource.get("Properties") or {})
        depends = resource.get("DependsOn") or []
        for name in sorted(refs) + ([depends] if isinstance(depends, str) else list(depends)):
            if name not in declared and name not in unresolved:
                unresolved.append(name)
        for target, attribute in sorted(atts):
            _check_get_att(template, target, attribute)
    if unresolved:
        raise format_error(f"Unresolved resource dependencies [{', '.join(unresolved)}] in the Resources block of "
                           "the template")
    for output in (template.get("Outputs") or {}).values():
        refs, atts = references(output)
        missing = [r for r in sorted(refs) if r not in declared]
        if missing:
            raise format_error(f"Unresolved resource dependencies [{', '.join(missing)}] in the Outputs block of "
                               "the template")
        for target, attribute in sorted(atts):
            _check_get_att(template, target, attribute)
    cycle = find_cycle(dependencies(template))
    if cycle:
        raise validation_error(f"Circular dependency between resources: [{', '.join(cycle)}]")


def _known_type(type_name: str) -> bool:
    return (type_name.startswith("Custom::") or resource_type(type_name) is not None
            or schemas.known_type(type_name))


def _check_get_att(template: dict, target: str, attribute: str) -> None:
    resources = template["Resources"]
    if target not in resources:
        raise validation_error(f"Template error: instance of Fn::GetAtt references undefined resource {target}")
    type_name = resources[target]["Type"]
    kind = resource_type(type_name)
    if not attribute or kind is None or type_name.startswith("Custom::") or \
            type_name in ("AWS::CloudFormation::CustomResource", "AWS::CloudFormation::Stack"):
        return
    schema = schemas.schema(type_name)
    if schema is None:
        return
    if attribute not in schema.attributes and attribute not in kind.extra_attributes and \
            schema.property_path(attribute) is None:
        raise validation_error(f"Template error: resource {target} does not support attribute type {attribute} in "
                               "Fn::GetAtt")


def _s3_host(host: str, port: int | None) -> bool:
    """An S3 endpoint: AWS's (s3.amazonaws.com, s3.<region>.amazonaws.com, <bucket>.s3...), or
    overcast's own (an address with a port, localhost, an IP, *.localstack.cloud)."""
    if host.endswith(".amazonaws.com"):
        return bool(re.search(r"(^|\.)s3([.-]|$)", host.removesuffix(".amazonaws.com")))
    if port is not None or host == "localhost" or host.endswith(".localstack.cloud"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def s3_location(url: str) -> tuple[str | None, str]:
    """(bucket, key) of a template URL in any S3 form: path style on any host
    (http://localhost:4566/bucket/key, https://s3.amazonaws.com/bucket/key,
    https://s3.us-east-1.amazonaws.com/bucket/key) or virtual host
    (https://bucket.s3.amazonaws.com/key, https://bucket.s3.us-east-1.amazonaws.com/key,
    http://bucket.s3.localhost.localstack.cloud:4566/key)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return None, ""
    host = parsed.hostname or ""
    if not _s3_host(host, parsed.port):  # AWS: "all non-S3 HTTP URLs are invalid"
        return None, ""
    path = urllib.parse.unquote(parsed.path.lstrip("/"))
    match = re.match(r"^(?P<bucket>.+?)\.s3[.-]", host)
    if match and not host.startswith("s3.") and not host.startswith("s3-"):
        return match.group("bucket"), path
    bucket, _, key = path.partition("/")
    return (bucket or None), key
