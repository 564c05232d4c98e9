"""AWS Step Functions: state machines (STANDARD and EXPRESS) with versions and aliases, activities,
executions that really run (interpreter.py), their histories, task tokens, map runs, TestState and
ValidateStateMachineDefinition.

STANDARD executions are durable: each one commits its history as it goes with a cursor (the
top-level state it is in, with its input and variables); at start-up the running ones resume at
that state. A Wait resumes with its original end time and a task token keeps working. EXPRESS
executions keep no history, as on AWS, and do not survive a restart.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import re
import time
import uuid

import orjson

from overcast import tracing
from overcast.aws import tags as reserved_tags
from overcast.aws.errors import AwsError
from overcast.engine.vended_logs import write_to_existing_group
from overcast.services.base import Provider
from overcast.services.stepfunctions import asl, execution_logs
from overcast.services.stepfunctions.children import MapChildren
from overcast.services.stepfunctions.errors import MAX_PAYLOAD, FailState, StatesError
from overcast.services.stepfunctions.history import History, Scope, dumps, iso
from overcast.services.stepfunctions.integrations import Tasks
from overcast.services.stepfunctions.interpreter import Interpreter
from overcast.services.stepfunctions.maps import child_record
from overcast.services.stepfunctions.store import StepFunctionsStore
from overcast.storage.coordination import HEARTBEAT_SECONDS

log = logging.getLogger("overcast.stepfunctions")

_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
MAX_DEFINITION = 1024 * 1024
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
ACTIVITY_POLL_SECONDS = 60.0


def _error(code: str, message: str, status: int = 400) -> AwsError:
    return AwsError(code, message, status)


def _invalid_arn(arn: str, why: str = "") -> AwsError:
    return _error("InvalidArn", f"Invalid Arn: '{why or 'Resource type not valid in this context'}: {arn}'"
                  if why else f"Invalid Arn: '{arn}'")


def _check_name(name: str, what: str = "Name") -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= 80 or _BAD_NAME.search(name):
        raise _error("InvalidName", f"Invalid {what}: '{name}'")


class Run:
    """One execution as the interpreter sees it: who it is, its context object, its history."""

    def __init__(self, arn, account, region, machine_arn, machine_name, name, value, role, started, express,
                 history: History, cursor: dict | None = None, resumed_tokens: dict | None = None):
        self.arn, self.account, self.region = arn, account, region
        self.machine_arn, self.machine_name, self.name = machine_arn, machine_name, name
        self.input, self.role, self.started, self.express = value, role, started, express
        self.history = history
        self.cursor = cursor
        self._resumed_tokens = resumed_tokens or {}
        self.resume_input = None  # the cursor state's input, when resumed after a restart
        self._base = {"Id": arn, "Input": value, "Name": name, "RoleArn": role, "StartTime": iso(started),
                      "RedriveCount": 0}

    def context(self, state_name: str, entered: float, map_item: dict | None, task: bool = False,
                retriable: bool = False) -> dict:
        context = {"Execution": self._base,
                   "State": {"EnteredTime": iso(entered), "Name": state_name},
                   "StateMachine": {"Id": self.machine_arn, "Name": self.machine_name}}
        if retriable:  # (RetryCount only in the states that can retry)
            context["State"]["RetryCount"] = 0
        if task:
            context["Task"] = {"Token": new_token()}
        if map_item is not None:
            context["Map"] = {"Item": map_item}
        return context

    def resume_wait_until(self, state_name: str) -> float | None:
        cursor = self.cursor
        if cursor and cursor.get("state") == state_name and "wait_until" in cursor:
            self.cursor = None
            return cursor["wait_until"]
        return None

    def resumed_token(self, state_name: str) -> str | None:
        return self._resumed_tokens.get(state_name)


class GroupCommit:
    """STANDARD executions' checkpoints, committed together: every checkpoint asked for during one
    turn of the event loop goes into one transaction at the end of that turn, and each caller
    resumes only once its checkpoint is committed (durability is unchanged; concurrent executions
    share the commit)."""

    def __init__(self, store: StepFunctionsStore):
        self.store = store
        self._batch: list[tuple[str, list[dict], dict | None]] = []
        self._waiters: list[asyncio.Future] = []

    async def commit(self, arn: str, events: list[dict], cursor: dict | None) -> None:
        loop = asyncio.get_running_loop()
        if not self._batch:
            loop.call_soon(self._flush)
        self._batch.append((arn, events, cursor))
        future = loop.create_future()
        self._waiters.append(future)
        await future

    def _flush(self) -> None:
        batch, waiters = self._batch, self._waiters
        self._batch, self._waiters = [], []
        try:
            self.store.checkpoint_many(batch)
        except Exception as e:  # the callers fail (their executions end FAILED), the loop goes on
            for future in waiters:
                if not future.done():
                    future.set_exception(e)
            return
        for future in waiters:
            if not future.done():
                future.set_result(None)


def new_token() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


class StepFunctionsProvider(Provider):
    service = "stepfunctions"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = StepFunctionsStore(self.db)
        self.tasks = Tasks(self)
        self._running: dict[str, asyncio.Task] = {}
        self._finished: dict[str, list[asyncio.Future]] = {}
        self._tokens: dict[str, asyncio.Future] = {}
        self._beats: dict[str, float] = {}
        self._activity_events: dict[str, asyncio.Event] = {}
        self._express: dict[str, dict] = {}  # EXPRESS executions while they run (AWS keeps none after)
        self._stopping = False
        self._stops: dict[str, dict] = {}  # StopExecution's error and cause, until the task has ended
        self._committer = GroupCommit(self.store)
        # a cluster (docs/cluster.md): what reaches a running execution from another node, as keys
        # ("token", token): a task's answer is stored; ("activity", arn): an activity task is ready;
        # ("ended", arn): an execution ended in the database: StopExecution made on another node
        # (the node running it cancels its task), or a child whose .sync parent waits on another
        # node (the two taken over from a dead node by two nodes). One node: None, the in-process
        # path only.
        coordination = providers.coordination
        self._channel = coordination.channel("stepfunctions")
        if self._channel is not None:
            self._channel.subscribe(self._from_another_node, self._notifications_restarted)
        # each execution's row names the node running it; a node seen dead leaves its executions
        # to the live nodes, which resume them as a restart does
        self._node = coordination.node_id
        self._coordination = coordination
        self._taking_over = self._take_again = False
        self._take_rest: asyncio.TimerHandle | None = None
        coordination.on_nodes_gone(self._nodes_gone)
        self.children = MapChildren(self)  # Distributed Map children, taken by any node with room

    async def start(self) -> None:
        await self._take_over()
        await self.children.start()

    def _take_the_rest(self) -> None:
        self._take_rest = None
        asyncio.get_running_loop().create_task(self._take_over(everything=True))

    def _nodes_gone(self) -> None:
        asyncio.get_running_loop().create_task(self.children.free_dead_claims())
        if self._taking_over:
            self._take_again = True  # a node lost while the last one's executions are taken
        else:
            asyncio.get_running_loop().create_task(self._take_over())

    async def _take_over(self, everything: bool = False) -> None:
        """Resume the running executions of dead nodes (one node: of this server's earlier runs,
        its restart) at their checkpointed state. Each live node takes its share (the executions
        divided by the live nodes, rounded up), so that a dead node's work spreads; what is left a
        few seconds later (a node that took less) is taken whole."""
        self._taking_over = True
        try:
            self._take_again = False
            dead = await self._coordination.dead_nodes(self.store.running_nodes())
            live = max(1, self._coordination.live_nodes())
            for node in dead:
                share = None
                if not everything and live > 1:
                    share = math.ceil(len(self.store.running_of(node)) / live)
                taken, left = self.store.take_running(node, self._node, share)
                if left and self._take_rest is None:
                    self._take_rest = asyncio.get_running_loop().call_later(
                        2 * HEARTBEAT_SECONDS, self._take_the_rest)
                for arn in taken:
                    doc = self.store.get_execution(arn)
                    if doc.get("mapRunArn"):  # a Distributed Map child: its parent's Map state runs again
                        self._finish_doc(doc, "ABORTED", error="States.Runtime",
                                         cause="The execution was interrupted by a restart of overcast")
                        self.store.checkpoint(arn, [], None, doc)
                        continue
                    if node and self._coordination.cluster:
                        log.info("execution %s of dead node %s taken over", arn, node)
                    self._resume(doc)
        except Exception as e:  # (the database out of reach: the next node loss or start tries again)
            log.warning("taking over the executions of dead nodes: %s", e)
        finally:
            self._taking_over = False
        if self._take_again:
            await self._take_over()

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        await self.children.stop()

    def reset(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        self._running.clear()
        self._express.clear()
        self.children.reset()

    # -- ARNs --------------------------------------------------------------------------------------

    @staticmethod
    def _machine_arn(ctx, name) -> str:
        return f"arn:aws:states:{ctx.region}:{ctx.account}:stateMachine:{name}"

    def _split_machine_arn(self, ctx, arn: str) -> tuple[str, str | None]:
        """(the state machine's ARN, its version number or alias name when the ARN has one)."""
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise _invalid_arn(arn)
        parts = arn.split(":")
        if len(parts) not in (7, 8) or parts[2] != "states" or parts[5] != "stateMachine":
            raise _invalid_arn(arn)
        if parts[4] != ctx.account or parts[3] != ctx.region:
            raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return ":".join(parts[:7]), parts[7] if len(parts) == 8 else None

    def _machine(self, ctx, arn: str) -> dict:
        base, qualifier = self._split_machine_arn(ctx, arn)
        machine = self.store.get_machine(base)
        if machine is None:
            raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return machine

    # -- state machines ----------------------------------------------------------------------------

    def _parse_definition(self, text, kind: str = "STANDARD") -> dict:
        if not isinstance(text, str) or len(text.encode()) > MAX_DEFINITION:
            raise _error("InvalidDefinition", "Invalid State Machine Definition: 'The definition exceeds the "
                                              "maximum size of 1048576 bytes'")
        definition, found = asl.parse(text)
        if found.errors:
            raise _error("InvalidDefinition", asl.invalid_definition_message(found.errors))
        problem = asl.map_label_problem(definition)
        if problem is not None:  # (AWS words this one apart, echoing the definition)
            raise _error("InvalidDefinition", f"Error=ValueError Args={[problem]!r} in definition '{text}'.")
        if kind == "EXPRESS":
            problems = asl.express_problems(definition)
            if problems:
                raise _error("InvalidDefinition", asl.invalid_definition_message(problems))
        return definition

    @staticmethod
    def _check_role(role) -> None:
        if not isinstance(role, str) or not re.match(r"^arn:aws[\w-]*:iam::\d{12}:role/.+$", role):
            raise _invalid_arn(role)

    async def _check_logging(self, config: dict) -> None:
        """A LoggingConfiguration checked as AWS checks it; a delivery to a log group, set up."""
        logs = await self.providers.get("logs") if config.get("destinations") else None
        group = execution_logs.destination(config, logs.group_exists if logs else None)
        if group is not None:  # (AWS makes this stream in the group when it sets the delivery up)
            logs.append(*group, execution_logs.VALIDATION_STREAM, [])

    async def create_state_machine(self, ctx, params):
        _check_version_description(params)
        name = params["name"]
        _check_name(name)
        self._parse_definition(params["definition"], params.get("type", "STANDARD"))
        self._check_role(params["roleArn"])
        logging_config = execution_logs.normalized(params.get("loggingConfiguration"))
        await self._check_logging(logging_config)
        kind = params.get("type", "STANDARD")
        if kind not in ("STANDARD", "EXPRESS"):
            raise _error("ValidationException", f"1 validation error detected: Value '{kind}' at 'type' failed to "
                                                "satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]")
        arn = self._machine_arn(ctx, name)
        existing = self.store.get_machine(arn)
        tracing = params.get("tracingConfiguration") or {"enabled": False}
        if existing is not None:
            if (existing["definition"], existing["roleArn"], existing["type"]) == \
                    (params["definition"], params["roleArn"], kind):
                return {"stateMachineArn": arn, "creationDate": existing["creationDate"]}
            raise _error("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
        now = time.time()
        machine = {"stateMachineArn": arn, "name": name, "status": "ACTIVE", "definition": params["definition"],
                   "roleArn": params["roleArn"], "type": kind, "creationDate": now,
                   "loggingConfiguration": logging_config, "tracingConfiguration": tracing}
        # (no revisionId: AWS gives a machine one at its first update that changes it)
        with self.store.transaction():
            self.store.put_machine(arn, ctx.account, ctx.region, name, machine)
            if params.get("tags"):
                self.store.tag(arn, params["tags"])
            out = {"stateMachineArn": arn, "creationDate": now}
            if params.get("publish"):
                out["stateMachineVersionArn"] = self._publish(machine, params.get("versionDescription"))["arn"]
        return out

    def describe_state_machine(self, ctx, params):
        arn = params["stateMachineArn"]
        base, qualifier = self._split_machine_arn(ctx, arn)
        if qualifier is not None:
            found = self.store.get_version(arn) if qualifier.isdigit() else None
            if found is None:
                alias = self.store.get_alias(arn)
                if alias is None:
                    raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
                return self._public_machine(self._machine(ctx, base))
            return self._public_machine(found["machine"], arn, found.get("description"))
        return self._public_machine(self._machine(ctx, base))

    @staticmethod
    def _public_machine(machine: dict, arn: str | None = None, description: str | None = None) -> dict:
        out = {k: v for k, v in machine.items() if not k.startswith("_")}
        references = _variable_references(machine["definition"])
        if references:
            out["variableReferences"] = references
        if arn:
            out["stateMachineArn"] = arn
        if description:
            out["description"] = description
        return out

    async def update_state_machine(self, ctx, params):
        _check_version_description(params)
        if self._split_machine_arn(ctx, params["stateMachineArn"])[1] is not None:
            # a version or alias ARN names no machine that can be updated
            raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{params['stateMachineArn']}'")
        machine = self._machine(ctx, params["stateMachineArn"])
        fields = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
        if not any(k in params for k in fields):
            raise _error("MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, "
                                                     "or the TracingConfiguration must be specified")
        if "definition" in params:
            self._parse_definition(params["definition"], machine["type"])
        if "roleArn" in params:
            self._check_role(params["roleArn"])
        if "loggingConfiguration" in params:
            params["loggingConfiguration"] = execution_logs.normalized(params["loggingConfiguration"])
            await self._check_logging(params["loggingConfiguration"])
        changed = any(k in params and params[k] != machine.get(k) for k in fields)
        for key in fields:
            if key in params:
                machine[key] = params[key]
        now = time.time()
        if changed:
            machine["revisionId"] = str(uuid.uuid4())
            machine["updateDate"] = now
        with self.store.transaction():
            self.store.put_machine(machine["stateMachineArn"], ctx.account, ctx.region, machine["name"], machine)
            out = {"updateDate": machine.get("updateDate", now), "revisionId": machine.get("revisionId")}
            if params.get("publish"):
                out["stateMachineVersionArn"] = self._publish(machine, params.get("versionDescription"))["arn"]
        return out

    def delete_state_machine(self, ctx, params):
        base, qualifier = self._split_machine_arn(ctx, params["stateMachineArn"])
        if qualifier is not None:
            raise _error("ValidationException", "Use DeleteStateMachineVersion or DeleteStateMachineAlias to delete a "
                                                "version or an alias")
        self.store.delete_machine(base)
        return {}

    def list_state_machines(self, ctx, params):
        items = [{"stateMachineArn": m["stateMachineArn"], "name": m["name"], "type": m["type"],
                  "creationDate": m["creationDate"]} for m in self.store.list_machines(ctx.account, ctx.region)]
        return self._page(items, params, "stateMachines")

    @staticmethod
    def _page(items: list, params: dict, key: str) -> dict:
        token = params.get("nextToken")
        if token is not None and len(token) > 3096:
            raise _error("ValidationException", f"1 validation error detected: Value '{token}' at 'nextToken' failed "
                                                "to satisfy constraint: Member must have length less than or equal to 3096")
        start = _token_offset(token) if token else 0
        limit = params.get("maxResults") or 100
        if limit > 1000:
            raise _error("ValidationException", f"1 validation error detected: Value '{limit}' at 'maxResults' failed to "
                                                "satisfy constraint: Member must have value less than or equal to 1000")
        out = {key: items[start:start + limit]}
        if start + limit < len(items):
            out["nextToken"] = _page_token(start + limit)
        return out

    # -- versions and aliases ------------------------------------------------------------------------

    def _publish(self, machine: dict, description: str | None) -> dict:
        versions = self.store.versions(machine["stateMachineArn"])
        if versions and versions[0]["machine"].get("revisionId") == machine.get("revisionId"):
            return versions[0]
        number = self.store.last_version_number(machine["stateMachineArn"]) + 1
        arn = f"{machine['stateMachineArn']}:{number}"
        version = {"arn": arn, "version": number, "creationDate": time.time(), "description": description,
                   "machine": dict(machine)}
        self.store.put_version(arn, machine["stateMachineArn"], number, version)
        return version

    def publish_state_machine_version(self, ctx, params):
        machine = self._machine(ctx, params["stateMachineArn"])
        # a machine never updated has no revision id: AWS names its revision INITIAL (PublishStateMachineVersion)
        current = machine.get("revisionId") or "INITIAL"
        if params.get("revisionId") and params["revisionId"] != current:
            raise _error("ConflictException", f"Failed to publish the State Machine version for revision "
                                              f"{params['revisionId']}. The current State Machine revision is "
                                              f"{current}.")
        version = self._publish(machine, params.get("description"))
        return {"creationDate": version["creationDate"], "stateMachineVersionArn": version["arn"]}

    def list_state_machine_versions(self, ctx, params):
        machine = self._machine(ctx, params["stateMachineArn"])
        items = [{"stateMachineVersionArn": v["arn"], "creationDate": v["creationDate"]}
                 for v in self.store.versions(machine["stateMachineArn"])]
        return self._page(items, params, "stateMachineVersions")

    def delete_state_machine_version(self, ctx, params):
        arn = params["stateMachineVersionArn"]
        base, qualifier = self._split_machine_arn(ctx, arn)
        if qualifier is None or not qualifier.isdigit():
            raise _invalid_arn(arn)
        for alias in self.store.aliases(base):
            if any(r["stateMachineVersionArn"] == arn for r in alias["routingConfiguration"]):
                raise _error("ConflictException", f"Version to be deleted must not be referenced by an alias. Current "
                                                  f"list of aliases referencing this version: [{alias['name']}]")
        self.store.delete_version(arn)
        return {}

    def _check_routing(self, ctx, base: str, routing) -> None:
        """AWS's checks of an alias's routing, in AWS's order and words (CreateStateMachineAlias)."""
        if not isinstance(routing, list) or not 1 <= len(routing) <= 2:
            shown = ", ".join(f"RoutingConfigurationListItem(stateMachineVersionArn={r.get('stateMachineVersionArn')}, "
                              f"weight={r.get('weight')})" for r in routing or [])
            raise _error("ValidationException", f"1 validation error detected: Value '[{shown}]' at "
                                                "'routingConfiguration' failed to satisfy constraint: Member must have "
                                                "length less than or equal to 2")
        for index, r in enumerate(routing, 1):
            if r.get("weight", 0) > 100:
                raise _error("ValidationException", f"1 validation error detected: Value '{r['weight']}' at "
                                                    f"'routingConfiguration.{index}.member.weight' failed to satisfy "
                                                    "constraint: Member must have value less than or equal to 100")
        arns = [r["stateMachineVersionArn"] for r in routing]
        received = f"Received: [{', '.join(arns)}]"
        if len(set(arns)) != len(arns):
            raise _error("ValidationException",
                         f"Routing configuration must contain distinct state machine version ARNs. {received}")
        qualifiers = [self._split_machine_arn(ctx, arn)[1] for arn in arns]
        if not all(qualifier and qualifier.isdigit() for qualifier in qualifiers):
            raise _error("ValidationException",
                         f"Routing configuration must contain state machine version ARNs. {received}")
        weights = [r.get("weight", 0) for r in routing]
        if sum(weights) != 100:
            raise _error("ValidationException", "Sum of routing configuration weights must equal 100. "
                                                f"Received: [{', '.join(map(str, weights))}]")
        for arn in arns:
            if self._split_machine_arn(ctx, arn)[0] != base or self.store.get_version(arn) is None:
                raise _error("ResourceNotFound", f"Resource not found: '{arn}'", 400)

    def create_state_machine_alias(self, ctx, params):
        name = params["name"]
        _check_name(name)
        if name.isdigit():
            raise _error("ValidationException", "An alias name must not consist of digits only")
        routing = params["routingConfiguration"]
        base, _ = self._split_machine_arn(ctx, routing[0]["stateMachineVersionArn"] if routing else "")
        self._check_routing(ctx, base, routing)
        arn = f"{base}:{name}"
        existing = self.store.get_alias(arn)
        if existing is not None:
            if existing["routingConfiguration"] == routing and existing.get("description") == params.get("description"):
                return {"stateMachineAliasArn": arn, "creationDate": existing["creationDate"]}
            raise _error("ConflictException", "Failed to create alias because an alias with the same name and a "
                                              "different routing configuration already exists.")
        alias = {"stateMachineAliasArn": arn, "name": name, "description": params.get("description"),
                 "routingConfiguration": routing, "creationDate": time.time()}
        self.store.put_alias(arn, base, alias)
        return {"stateMachineAliasArn": arn, "creationDate": alias["creationDate"]}

    def _alias(self, ctx, arn: str) -> dict:
        self._split_machine_arn(ctx, arn)
        alias = self.store.get_alias(arn)
        if alias is None:
            raise _error("ResourceNotFound", f"Resource not found: '{arn}'")
        return alias

    def describe_state_machine_alias(self, ctx, params):
        return {k: v for k, v in self._alias(ctx, params["stateMachineAliasArn"]).items() if v is not None}

    def update_state_machine_alias(self, ctx, params):
        self._split_machine_arn(ctx, params["stateMachineAliasArn"])
        alias = self.store.get_alias(params["stateMachineAliasArn"])
        if alias is None:
            raise _error("ResourceNotFound", "Request references a resource that does not exist.")
        if "routingConfiguration" in params:
            base, _ = self._split_machine_arn(ctx, alias["stateMachineAliasArn"])
            self._check_routing(ctx, ":".join(base.split(":")[:7]), params["routingConfiguration"])
            alias["routingConfiguration"] = params["routingConfiguration"]
        if "description" in params:
            alias["description"] = params["description"]
        alias["updateDate"] = time.time()
        base = ":".join(alias["stateMachineAliasArn"].split(":")[:7])
        self.store.put_alias(alias["stateMachineAliasArn"], base, alias)
        return {"updateDate": alias["updateDate"]}

    def delete_state_machine_alias(self, ctx, params):
        # deleting an alias that does not exist succeeds, as AWS answers
        self._split_machine_arn(ctx, params["stateMachineAliasArn"])
        self.store.delete_alias(params["stateMachineAliasArn"])
        return {}

    def list_state_machine_aliases(self, ctx, params):
        machine = self._machine(ctx, params["stateMachineArn"])
        items = [{"stateMachineAliasArn": a["stateMachineAliasArn"], "creationDate": a["creationDate"]}
                 for a in self.store.aliases(machine["stateMachineArn"])]
        return self._page(items, params, "stateMachineAliases")

    def _resolve(self, ctx, arn: str) -> tuple[dict, str | None, str | None]:
        """The machine an execution runs for this ARN: (machine doc, version ARN, alias ARN)."""
        base, qualifier = self._split_machine_arn(ctx, arn)
        if qualifier is None:
            return self._machine(ctx, base), None, None
        if qualifier.isdigit():
            version = self.store.get_version(arn)
            if version is None:
                raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
            return version["machine"], arn, None
        alias = self._alias(ctx, arn)
        pick, total = uuid.uuid4().int % 100, 0
        for route in alias["routingConfiguration"]:
            total += route["weight"]
            if pick < total:
                version = self.store.get_version(route["stateMachineVersionArn"])
                return version["machine"], route["stateMachineVersionArn"], arn
        raise _error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")

    # -- activities ----------------------------------------------------------------------------------

    def create_activity(self, ctx, params):
        name = params["name"]
        _check_name(name)
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:activity:{name}"
        existing = self.store.get_activity(arn)
        if existing is None:
            existing = {"activityArn": arn, "name": name, "creationDate": time.time()}
            self.store.put_activity(arn, ctx.account, ctx.region, existing)
            if params.get("tags"):
                self.store.tag(arn, params["tags"])
        return {"activityArn": arn, "creationDate": existing["creationDate"]}

    def _activity(self, ctx, arn: str) -> dict:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) != 7 or parts[5] != "activity":
            raise _invalid_arn(arn)
        activity = self.store.get_activity(arn)
        if activity is None or parts[4] != ctx.account:
            raise _error("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return activity

    def describe_activity(self, ctx, params):
        return self._activity(ctx, params["activityArn"])

    def delete_activity(self, ctx, params):
        arn = params["activityArn"]
        parts = arn.split(":")
        if len(parts) != 7 or parts[5] != "activity":
            raise _invalid_arn(arn)
        self.store.delete_activity(arn)
        return {}

    def list_activities(self, ctx, params):
        return self._page(self.store.list_activities(ctx.account, ctx.region), params, "activities")

    def activity_ready(self, arn: str) -> None:
        event = self._activity_events.get(arn)
        if event is not None:
            event.set()
        if self._channel is not None:  # a worker may long-poll GetActivityTask on another node
            self._channel.publish(("activity", arn))

    # -- a cluster: calls made on another node reach the execution's node --------------------------

    def _from_another_node(self, key) -> None:
        kind, name = key
        if kind in ("children", "child-done", "map-aborted"):
            self.children.from_another_node(kind, name)
        elif kind == "token":
            future = self._tokens.get(name)
            if future is not None and not future.done():
                future.set_result(None)  # wait_token reads the answer from the database
        elif kind == "activity":
            event = self._activity_events.get(name)
            if event is not None:
                event.set()
        elif kind == "ended" and (name in self._finished or name in self._running):
            doc = self.store.get_execution(name)
            if doc is None or doc["status"] not in TERMINAL:
                return  # (redriven since)
            task = self._running.get(name)
            if task is not None:  # ended elsewhere (stopped, or taken from this node): _finish writes nothing
                task.cancel()
            self._wake_finished(doc)

    def _notifications_restarted(self) -> None:
        """Notifications were lost while the node's LISTEN connection was down: everything
        waiting here looks at the database again."""
        for future in self._tokens.values():
            if not future.done():
                future.set_result(None)
        for event in self._activity_events.values():
            event.set()
        for arn in {*self._finished, *self._running}:
            self._from_another_node(("ended", arn))
        self.children.notifications_restarted()

    async def get_activity_task(self, ctx, params):
        arn = params["activityArn"]
        self._activity(ctx, arn)
        deadline = time.monotonic() + ACTIVITY_POLL_SECONDS
        while True:
            found = self.store.next_activity_task(arn)
            if found is not None:
                token, doc, text = found
                doc["taken"] = True
                doc["worker"] = params.get("workerName")
                if self.store.replace_token(token, text, doc):  # (else a worker on another node took it)
                    return {"taskToken": token, "input": dumps(doc.get("input"))}
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return {}
            event = self._activity_events.setdefault(arn, asyncio.Event())
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return {}

    # -- task tokens ---------------------------------------------------------------------------------

    def new_token(self, run: Run, state: str, context: dict, activity: str | None = None, task_input=None) -> str:
        token = context.get("Task", {}).get("Token") or new_token()
        self.store.put_token(token, run.arn, state, {"execution": run.arn, "state": state, "input": task_input},
                             activity=activity)
        return token

    def register_token(self, run: Run, state: str, token: str) -> None:
        if self.store.get_token(token) is None:
            self.store.put_token(token, run.arn, state, {"execution": run.arn, "state": state})

    async def wait_token(self, token: str, heartbeat: float | None):
        """The output SendTaskSuccess gives for this token (StatesError for SendTaskFailure or a missed
        heartbeat)."""
        doc = self.store.get_token(token)
        if doc is not None and "result" in doc:
            return self._consume(token, doc)
        loop = asyncio.get_running_loop()
        self._beats[token] = time.monotonic()
        try:
            while True:
                # answered on this node: the result; on another node (a cluster): None, and the
                # answer is in the database (committed before that node's notification)
                future = self._tokens[token] = loop.create_future()
                await self._token_answered(token, future, heartbeat)
                if future.result() is not None:
                    return self._consume(token, self.store.get_token(token) or {"result": future.result()})
                doc = self.store.get_token(token)
                if doc is not None and "result" in doc:
                    return self._consume(token, doc)
        finally:
            self._tokens.pop(token, None)
            self._beats.pop(token, None)

    async def _token_answered(self, token: str, future: asyncio.Future, heartbeat: float | None) -> None:
        """Until `future` is set; StatesError when HeartbeatSeconds pass without a heartbeat."""
        if heartbeat is None:
            await future
            return
        while True:
            remaining = self._beats[token] + heartbeat - time.monotonic()
            if remaining <= 0 and self._channel is not None:
                # a heartbeat another node received is in the database (its clock: time.time())
                beat = self.store.last_beat(token)
                if beat is not None:
                    self._beats[token] = max(self._beats[token], time.monotonic() - (time.time() - beat))
                    remaining = self._beats[token] + heartbeat - time.monotonic()
            if remaining <= 0:
                self.store.delete_token(token)
                raise StatesError("States.HeartbeatTimeout", "")
            try:
                await asyncio.wait_for(asyncio.shield(future), remaining)
                return
            except TimeoutError:
                continue

    def _consume(self, token: str, doc: dict):
        self.store.delete_token(token)
        result = doc["result"]
        if result.get("failed"):
            raise StatesError(result.get("error") or "", result.get("cause") or "")
        return result["output"]

    def _answer(self, token: str, result: dict) -> None:
        if not isinstance(token, str) or not 1 <= len(token) <= 2048:
            raise _error("InvalidToken", f"Invalid Token: '{token}'")
        text = self.store.token_text(token)
        doc = orjson.loads(text) if text else None
        if doc is None or "result" in doc:
            raise _error("TaskDoesNotExist", "Task Timed Out: 'Provided task does not exist anymore'")
        execution = self.store.get_execution(doc["execution"])
        if execution is not None and execution["status"] != "RUNNING":
            self.store.delete_token(token)
            raise _error("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
        doc["result"] = result
        if not self.store.replace_token(token, text, doc):  # answered meanwhile (on another node): once only
            raise _error("TaskDoesNotExist", "Task Timed Out: 'Provided task does not exist anymore'")
        future = self._tokens.get(token)
        if future is not None and not future.done():
            future.set_result(result)
        elif self._channel is not None:  # the task may wait on another node
            self._channel.publish(("token", token))

    def send_task_success(self, ctx, params):
        output = params["output"]
        if len(output.encode()) > MAX_PAYLOAD:
            raise _error("InvalidOutput", "Invalid Output: 'The output exceeds the maximum size of 262144 bytes'")
        try:
            value = orjson.loads(output)
        except orjson.JSONDecodeError:
            raise _error("InvalidOutput", f"Invalid Output: '{output[:100]}'") from None
        self._answer(params["taskToken"], {"output": value})
        return {}

    def send_task_failure(self, ctx, params):
        self._answer(params["taskToken"], {"failed": True, "error": params.get("error"), "cause": params.get("cause")})
        return {}

    def send_task_heartbeat(self, ctx, params):
        token = params["taskToken"]
        doc = self.store.get_token(token)
        if doc is None:
            raise _error("TaskDoesNotExist", "Task Timed Out: 'Provided task does not exist anymore'")
        if token in self._beats or self._channel is None:  # the task waits here
            self._beats[token] = time.monotonic()
        elif not self.store.beat(token, time.time()):  # it runs on another node, which reads this
            raise _error("TaskDoesNotExist", "Task Timed Out: 'Provided task does not exist anymore'")
        return {}

    # -- executions ----------------------------------------------------------------------------------

    def _check_input(self, text) -> object:
        if text is None:
            return {}
        if len(text.encode()) > MAX_PAYLOAD:
            raise _error("InvalidExecutionInput", "Invalid Execution Input: 'The input exceeds the maximum size of "
                                                  "262144 bytes'")
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _error("InvalidExecutionInput", f"Invalid Execution Input: '{text[:100]}'") from None

    def start_execution(self, ctx, params):
        machine, version_arn, alias_arn = self._resolve(ctx, params["stateMachineArn"])
        name = params.get("name") or str(uuid.uuid4())
        _check_name(name)
        value = self._check_input(params.get("input"))
        started = _now_ms()
        if machine["type"] == "EXPRESS":
            arn = f"arn:aws:states:{ctx.region}:{ctx.account}:express:{machine['name']}:{name}:{uuid.uuid4()}"
            run = self._new_run(ctx, machine, arn, name, value, started)
            task = asyncio.get_running_loop().create_task(self._drive_express(run, machine, params.get("input") or "{}"))
            self._running[arn] = task
            task.add_done_callback(lambda _t: self._running.pop(arn, None))
            return {"executionArn": arn, "startDate": started}
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:execution:{machine['name']}:{name}"
        doc = self._execution_doc(arn, machine, name, params.get("input") or "{}", started, version_arn, alias_arn,
                                  params.get("traceHeader"))
        # the trace the execution runs in (kept with it: a resumed execution stays in it); the
        # request's own X-Amzn-Trace-Id wins over traceHeader, as on AWS
        trace = tracing.current_header()
        if not ctx.request.headers.get("x-amzn-trace-id") and tracing.parse_header(params.get("traceHeader")):
            trace = params["traceHeader"]
        if trace:
            doc["_trace"] = trace
        started_event = self._started_event(doc, machine)
        if not self.store.insert_execution(arn, machine["stateMachineArn"], started, doc, events=[started_event],
                                           node=self._node):
            existing = self.store.get_execution(arn)
            if existing["status"] == "RUNNING" and existing["input"] == doc["input"]:
                return {"executionArn": arn, "startDate": existing["startDate"]}
            raise _error("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        run = self._new_run(ctx, machine, arn, name, value, started, self._logged(History(True, 2), doc))
        if "_logging" in doc:
            self._write_logs(doc, [started_event])
        self._launch(run, machine, doc)
        self._announce(doc)  # (EventBridge hears of RUNNING, then of how it ended)
        return {"executionArn": arn, "startDate": started}

    def _new_run(self, ctx, machine, arn, name, value, started, history=None) -> Run:
        return Run(arn, ctx.account, ctx.region, machine["stateMachineArn"], machine["name"], name, value,
                   machine["roleArn"], started, machine["type"] == "EXPRESS", history or History(False))

    @staticmethod
    def _execution_doc(arn, machine, name, input_text, started, version_arn=None, alias_arn=None,
                       trace_header=None, map_run_arn=None) -> dict:
        doc = {"executionArn": arn, "stateMachineArn": machine["stateMachineArn"], "name": name,
               "status": "RUNNING", "startDate": started, "input": input_text, "inputDetails": {"included": True},
               "redriveCount": 0, "_definition": machine["definition"], "_role": machine["roleArn"],
               "_machine_name": machine["name"], "_type": machine["type"], "_revision": machine.get("revisionId")}
        for key, value in (("stateMachineVersionArn", version_arn), ("stateMachineAliasArn", alias_arn),
                           ("traceHeader", trace_header), ("mapRunArn", map_run_arn)):
            if value:
                doc[key] = value
        logging_config = machine.get("loggingConfiguration") or execution_logs.OFF
        if logging_config["level"] != "OFF" and not map_run_arn:  # (a map run's children log nothing)
            doc["_logging"] = logging_config
        return doc

    def _logged(self, history: History, doc: dict) -> History:
        """`history`, its events written to the execution's log group too when its machine logs."""
        if doc.get("_logging"):
            history.sink = lambda events: self._write_logs(doc, events)
        return history

    def _write_logs(self, doc: dict, events: list[dict]) -> None:
        """History events to the log group of the execution's LoggingConfiguration, those its level
        wants, after the answer (as on AWS, logs are delivered asynchronously)."""
        config = doc["_logging"]
        level, include = config["level"], config.get("includeExecutionData", False)
        lines = [(int(e["timestamp"] * 1000),
                  execution_logs.message(e, doc["executionArn"], include, doc.get("redriveCount", 0)))
                 for e in events if execution_logs.wanted(level, e["type"])]
        group = execution_logs.group_of(config)
        if not lines or group is None:
            return
        stream = execution_logs.stream_name(doc["stateMachineArn"], doc["_machine_name"], time.time())
        write_to_existing_group(self.providers, *group, stream, lines)

    @staticmethod
    def _started_event(doc, machine) -> dict:
        details = {"input": doc["input"], "inputDetails": {"truncated": False}, "roleArn": machine["roleArn"]}
        for key in ("stateMachineAliasArn", "stateMachineVersionArn"):
            if key in doc:
                details[key] = doc[key]
        return {"timestamp": doc["startDate"], "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
                "executionStartedEventDetails": details}

    def _launch(self, run: Run, machine: dict, doc: dict, start_state: str | None = None,
                variables: dict | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self._drive(run, machine, doc, start_state, variables))
        self._running[run.arn] = task
        task.add_done_callback(lambda _t: self._running.pop(run.arn, None))

    def _resume(self, doc: dict) -> None:
        cursor = self.store.execution_cursor(doc["executionArn"]) or {}
        arn = doc["executionArn"]
        self.children.drop_of(arn)  # (its Distributed Map states run again from their start)
        account, region = arn.split(":")[4], arn.split(":")[3]
        machine = {"stateMachineArn": doc["stateMachineArn"], "name": doc["_machine_name"],
                   "definition": doc["_definition"], "roleArn": doc["_role"], "type": doc["_type"],
                   "revisionId": doc.get("_revision")}
        tokens = self.store.tokens_by_state(arn)
        history = self._logged(History(True, self.store.last_event_id(arn) + 1), doc)
        value = cursor.get("input", orjson.loads(doc["input"]))
        run = Run(arn, account, region, machine["stateMachineArn"], machine["name"], doc["name"],
                  orjson.loads(doc["input"]), machine["roleArn"], doc["startDate"], False, history, cursor, tokens)
        run.resume_input = value
        self._launch(run, machine, doc, cursor.get("state"), cursor.get("variables"))

    async def _drive(self, run: Run, machine: dict, doc: dict, start_state: str | None = None,
                     variables: dict | None = None) -> None:
        """A standard execution, as the span SFN.Execution in the trace it was started in."""
        with tracing.hop("stepfunctions", "Execution", resource=run.arn, account=run.account, region=run.region,
                         parent=doc.get("_trace"), attributes={"stateMachineArn": doc["stateMachineArn"],
                                                               "resumed": start_state is not None}) as span:
            await self._drive_standard(run, machine, doc, start_state, variables, span)

    async def _drive_standard(self, run: Run, machine: dict, doc: dict, start_state, variables, span) -> None:
        definition = orjson.loads(machine["definition"])

        async def checkpoint(cursor, entered=False):
            events = run.history.take()
            await self._committer.commit(run.arn, events, cursor)
            run.history.committed(events)

        interp = Interpreter(run, self.tasks, checkpoint)
        value = run.input if run.resume_input is None else run.resume_input
        # a fresh execution's first state has previousEventId 0 on AWS (not ExecutionStarted's 1)
        scope = Scope(variables or {}, 0 if run.history.next_id == 2 else run.history.next_id - 1, True)
        status, output, error, cause = await self._run_definition(interp, definition, value, scope, start_state)
        if status is None:  # the server is stopping: the execution resumes at the next start (or on
            # another node of a cluster, which may have taken it already: its events win)
            events = run.history.take()
            self.store.checkpoint_many([(run.arn, events, None)])
            run.history.committed(events)
            return
        _note_status(span, status, error, cause)
        self._finish(run, doc, status, output, error, cause)

    async def _run_definition(self, interp: Interpreter, definition, value, scope: Scope, start_state=None):
        """(status, output, error, cause); status None when the server is stopping."""
        timeout = definition.get("TimeoutSeconds")
        try:
            coroutine = interp.run_states(definition, value, scope, definition.get("QueryLanguage", "JSONPath"),
                                          start_state)
            output = await (asyncio.wait_for(coroutine, timeout) if timeout else coroutine)
            return "SUCCEEDED", output, None, None
        except TimeoutError:
            return "TIMED_OUT", None, "States.Timeout", ""
        except (FailState, StatesError) as e:
            return "FAILED", None, e.error, e.cause
        except asyncio.CancelledError:
            if self._stopping:
                return None, None, None, None
            return "ABORTED", None, None, None
        except Exception as e:  # a bug must end the execution, never leave it RUNNING forever
            log.exception("execution %s failed inside overcast", interp.run.arn)
            return "FAILED", None, "States.Runtime", f"An internal error occurred in overcast: {type(e).__name__}"

    def _finish(self, run: Run, doc: dict, status: str, output, error, cause, owned: bool = True) -> bool:
        """End an execution: False when it had already ended (StopExecution on another node) or,
        `owned` (this node runs it), when another node took it over from this one."""
        history = run.history
        if status == "ABORTED":
            stop = self._stops.pop(run.arn, None) or doc.pop("_stop", None) or {}
            error, cause = stop.get("error"), stop.get("cause")
        _end_event(history, status, output, error, cause)
        self._finish_doc(doc, status, output, error, cause)
        events = history.take()
        if not self.store.checkpoint(run.arn, events, None, doc, only_running=True,
                                     owner=self._node if owned else None):
            ended = self.store.get_execution(run.arn)
            if ended is not None:  # what waits here (a .sync parent) learns the outcome written elsewhere
                self._wake_finished(ended)
            return False
        history.committed(events)
        self.store.delete_tokens_of(run.arn)
        self._notify(doc)
        return True

    @staticmethod
    def _finish_doc(doc: dict, status: str, output=None, error=None, cause=None) -> None:
        doc["status"] = status
        doc["stopDate"] = time.time()
        if status == "SUCCEEDED":
            doc["output"] = dumps(output)
            doc["outputDetails"] = {"included": True}
        if error:  # (a Fail state without Error or Cause: AWS leaves them out)
            doc["error"] = error
        if cause:
            doc["cause"] = cause
        if status != "SUCCEEDED":
            doc["redriveStatus"] = "REDRIVABLE" if status in ("FAILED", "TIMED_OUT", "ABORTED") else "NOT_REDRIVABLE"

    def _notify(self, doc: dict) -> None:
        """Wake what waits for this execution (.sync parents, here or on another node) and tell
        EventBridge."""
        self._wake_finished(doc)
        if self._channel is not None and not doc.get("mapRunArn"):  # (a map's children: its parent collects)
            self._channel.publish(("ended", doc["executionArn"]))
        self._announce(doc)

    def _announce(self, doc: dict) -> None:
        """Tell EventBridge the execution's status (a map's children are not announced)."""
        if "events" in self.providers.loaded() and not doc.get("mapRunArn"):
            asyncio.get_running_loop().create_task(self._status_event(dict(doc)))

    def _wake_finished(self, doc: dict) -> None:
        for future in self._finished.pop(doc["executionArn"], []):
            if not future.done():
                future.set_result(doc)

    async def _status_event(self, doc: dict) -> None:
        arn = doc["executionArn"]
        account, region = arn.split(":")[4], arn.split(":")[3]
        detail = {k: doc.get(k) for k in ("executionArn", "stateMachineArn", "name", "status", "input", "output",
                                          "stateMachineVersionArn", "stateMachineAliasArn", "redriveCount",
                                          "error", "cause")}
        detail.update(startDate=int(doc["startDate"] * 1000), stopDate=int(doc.get("stopDate", 0) * 1000) or None,
                      redriveDate=int(doc["redriveDate"] * 1000) if doc.get("redriveDate") else None,
                      inputDetails={"included": True}, outputDetails={"included": True} if doc.get("output") else None)
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Step Functions Execution Status Change",
                 "source": "aws.states", "account": account, "time": iso(time.time())[:19] + "Z", "region": region,
                 "resources": [arn], "detail": detail}
        try:
            events = await self.providers.get("events")
            await events.put_event_internal(account, region, f"arn:aws:events:{region}:{account}:event-bus/default",
                                            dumps(event))
        except Exception as e:  # a bus problem never fails the execution
            log.debug("execution status event for %s not delivered: %s", arn, e)

    async def wait_execution(self, arn: str) -> dict:
        doc = self.store.get_execution(arn)
        if doc is not None and doc["status"] in TERMINAL:
            return doc
        future = asyncio.get_running_loop().create_future()
        self._finished.setdefault(arn, []).append(future)
        doc = self.store.get_execution(arn)
        if doc is not None and doc["status"] in TERMINAL:
            return doc
        return await future

    def describe_for_sync(self, doc: dict, pattern: str) -> dict:
        out = self._public_execution(doc)
        if pattern == "sync2" and out.get("output") is not None:
            out["output"] = orjson.loads(out["output"])
        if pattern == "sync2" and isinstance(out.get("input"), str):
            out["input"] = orjson.loads(out["input"])
        return {k[:1].upper() + k[1:]: v for k, v in out.items()}

    async def _drive_express(self, run: Run, machine: dict, input_text: str) -> dict:
        """An EXPRESS execution: no history kept, but its events go to its machine's log group."""
        definition = orjson.loads(machine["definition"])
        doc = self._execution_doc(run.arn, machine, run.name, input_text, run.started)
        if "_logging" in doc:
            run.history = self._logged(History(True, 2), doc)
            self._write_logs(doc, [self._started_event(doc, machine)])
        interp = Interpreter(run, self.tasks, None)
        scope = Scope({}, 0, True)
        with tracing.hop("stepfunctions", "Execution", resource=run.arn, account=run.account, region=run.region,
                         attributes={"stateMachineArn": run.machine_arn, "express": True}) as span:
            status, output, error, cause = await self._run_definition(interp, definition, run.input, scope)
            status = status or "ABORTED"
            _note_status(span, status, error, cause)
        if "_logging" in doc:
            _end_event(run.history, status, output, error, cause)
            run.history.committed(run.history.take())  # (EXPRESS: nothing kept, everything logged)
        return {"status": status, "output": output, "error": error, "cause": cause}

    async def start_sync_execution(self, ctx, params):
        machine, version_arn, alias_arn = self._resolve(ctx, params["stateMachineArn"])
        if machine["type"] != "EXPRESS":
            raise _error("StateMachineTypeNotSupported", "This operation is not supported by this type of state "
                                                         "machine")
        name = params.get("name") or str(uuid.uuid4())
        _check_name(name)
        value = self._check_input(params.get("input"))
        started = _now_ms()
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:express:{machine['name']}:{name}:{uuid.uuid4()}"
        run = self._new_run(ctx, machine, arn, name, value, started)
        result = await self._drive_express(run, machine, params.get("input") or "{}")
        stopped = time.time()
        out = {"executionArn": arn, "stateMachineArn": params["stateMachineArn"], "name": name, "startDate": started,
               "stopDate": stopped, "status": result["status"], "input": params.get("input") or "{}",
               "inputDetails": {"included": True},
               "billingDetails": {"billedMemoryUsedInMB": 64,
                                  "billedDurationInMilliseconds": max(100, int((stopped - started) * 1000))}}
        out["outputDetails"] = {"included": True}  # (a failed execution's too, as AWS answers)
        if result["status"] == "SUCCEEDED":
            out["output"] = dumps(result["output"])
        else:
            out["error"] = result["error"] or ""
            out["cause"] = result["cause"] or ""
        if params.get("traceHeader"):
            out["traceHeader"] = params["traceHeader"]
        return out

    def _execution(self, ctx, arn: str) -> dict:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) < 8 or parts[:3] != ["arn", "aws", "states"] or parts[5] not in ("execution", "express"):
            raise _invalid_arn(arn)
        if parts[5] == "express":
            raise _error("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")
        doc = self.store.get_execution(arn)
        if doc is None or parts[4] != ctx.account or parts[3] != ctx.region:
            raise _error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return doc

    @staticmethod
    def _public_execution(doc: dict) -> dict:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def describe_execution(self, ctx, params):
        return self._public_execution(self._execution(ctx, params["executionArn"]))

    def describe_state_machine_for_execution(self, ctx, params):
        doc = self._execution(ctx, params["executionArn"])
        machine = self.store.get_machine(doc["stateMachineArn"]) or {}
        out = {"stateMachineArn": doc["stateMachineArn"], "name": doc["_machine_name"], "definition": doc["_definition"],
               "roleArn": doc["_role"], "updateDate": machine.get("updateDate", machine.get("creationDate",
                                                                                              doc["startDate"])),
               "loggingConfiguration": machine.get("loggingConfiguration", {"level": "OFF",
                                                                            "includeExecutionData": False}),
               "tracingConfiguration": machine.get("tracingConfiguration", {"enabled": False}),
               "revisionId": doc.get("_revision")}
        references = _variable_references(doc["_definition"])
        if references:
            out["variableReferences"] = references
        if doc.get("mapRunArn"):
            out["mapRunArn"] = doc["mapRunArn"]
        return out

    def list_executions(self, ctx, params):
        status = params.get("statusFilter")
        if params.get("mapRunArn"):
            if self.store.get_map_run(params["mapRunArn"]) is None:
                raise _error("ResourceNotFound", f"Resource not found: '{params['mapRunArn']}'")
            docs = self.store.list_executions(status=status, parent=params["mapRunArn"])
        else:
            arn = params.get("stateMachineArn")
            if not arn:
                raise _error("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
            base, qualifier = self._split_machine_arn(ctx, arn)
            machine = self._machine(ctx, base)
            if machine["type"] == "EXPRESS":
                raise _error("StateMachineTypeNotSupported", "This operation is not supported by this type of state "
                                                             "machine")
            docs = [d for d in self.store.list_executions(base, status) if not d.get("mapRunArn")]
            if qualifier is not None:
                key = "stateMachineVersionArn" if qualifier.isdigit() else "stateMachineAliasArn"
                docs = [d for d in docs if d.get(key) == arn]
        if params.get("redriveFilter") == "REDRIVEN":
            docs = [d for d in docs if d.get("redriveCount")]
        elif params.get("redriveFilter") == "NOT_REDRIVEN":
            docs = [d for d in docs if not d.get("redriveCount")]
        keys = ("executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate", "mapRunArn",
                "stateMachineVersionArn", "stateMachineAliasArn", "redriveCount", "redriveDate")
        items = [{k: d[k] for k in keys if d.get(k) is not None} for d in docs]
        return self._page(items, params, "executions")

    def get_execution_history(self, ctx, params):
        doc = self._execution(ctx, params["executionArn"])
        limit = params.get("maxResults") or 100
        if limit > 1000:
            raise _error("ValidationException", f"1 validation error detected: Value '{limit}' at 'maxResults' failed to "
                                                "satisfy constraint: Member must have value less than or equal to 1000")
        token = params.get("nextToken")
        reverse = bool(params.get("reverseOrder"))
        after = _token_offset(token) if token else 0  # (the id of the last event of the page before)
        events = self.store.history(doc["executionArn"], after, limit + 1, reverse)
        out = {"events": events[:limit]}
        if len(events) > limit:
            out["nextToken"] = _page_token(events[limit - 1]["id"])
        if params.get("includeExecutionData") is False:
            for event in out["events"]:
                for key, details in event.items():
                    if key.endswith("EventDetails") and isinstance(details, dict):
                        for field in ("input", "output", "parameters"):
                            details.pop(field, None)
        return out

    def stop_execution(self, ctx, params):
        arn = params["executionArn"]
        doc = self._execution(ctx, arn)
        if doc["status"] != "RUNNING":
            return {"stopDate": doc.get("stopDate", time.time())}
        doc["_stop"] = {"error": params.get("error"), "cause": params.get("cause")}
        task = self._running.get(arn)
        if task is not None:
            self._stops[arn] = doc["_stop"]
            task.cancel()
        else:
            # not running here: ended in the database, then the node running it (a cluster) cancels it
            run = Run(arn, ctx.account, ctx.region, doc["stateMachineArn"], doc["_machine_name"], doc["name"], None,
                      doc["_role"], doc["startDate"], False,
                      self._logged(History(True, self.store.last_event_id(arn) + 1), doc))
            if not self._finish(run, doc, "ABORTED", None, params.get("error"), params.get("cause"), owned=False):
                ended = self.store.get_execution(arn) or doc  # it ended meanwhile, on its own
                return {"stopDate": ended.get("stopDate", time.time())}
            return {"stopDate": doc["stopDate"]}  # (_finish told the node running it: "ended")
        return {"stopDate": time.time()}

    def redrive_execution(self, ctx, params):
        arn = params["executionArn"]
        doc = self._execution(ctx, arn)
        if doc["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise _error("ExecutionNotRedrivable", "Execution is RUNNING and cannot be redriven"
                         if doc["status"] == "RUNNING" else "Execution is SUCCEEDED and cannot be redriven")
        if doc.get("mapRunArn"):
            raise _error("ExecutionNotRedrivable", "Map Run child executions cannot be redriven directly")
        if time.time() - doc.get("stopDate", 0) > 14 * 86400:
            raise _error("ExecutionNotRedrivable", "Execution can only be redriven within 14 days of stopping")
        cursor = self.store.execution_cursor(arn)
        if not cursor:
            raise _error("ExecutionNotRedrivable", "Execution has no state to redrive from")
        now = time.time()
        for key in ("stopDate", "output", "outputDetails", "error", "cause", "redriveStatus", "_stop"):
            doc.pop(key, None)
        doc["status"] = "RUNNING"
        doc["redriveCount"] = doc.get("redriveCount", 0) + 1
        doc["redriveDate"] = now
        history = self._logged(History(True, self.store.last_event_id(arn) + 1), doc)
        history.add("ExecutionRedriven", history.next_id - 1,
                    executionRedrivenEventDetails={"redriveCount": doc["redriveCount"]})
        with self.store.transaction():  # RUNNING again, on this node (no other node takes it meanwhile)
            events = history.take()
            self.store.checkpoint(arn, events, cursor, doc)
            self.store.set_node(arn, self._node)
        history.committed(events)
        self._resume(doc)
        return {"redriveDate": now}

    # -- Distributed Map children --------------------------------------------------------------------

    async def run_child(self, spec: dict, map_run_arn: str, started_as) -> dict:
        """Run one Distributed Map child (children.py: `spec` as its parent queued it) on this
        node; `started_as(arn)` is told a STANDARD child's execution once it is stored."""
        parent, processor, value = spec["parent"], spec["processor"], spec["value"]
        name = str(uuid.uuid4())
        machine_name = f"{parent['machine_name']}/{spec['label']}"
        arn = f"arn:aws:states:{parent['region']}:{parent['account']}:execution:{machine_name}:{name}"
        started = _now_ms()
        keep = spec["type"] == "STANDARD"
        machine = {"stateMachineArn": parent["machine_arn"], "name": machine_name,
                   "definition": dumps(processor), "roleArn": parent["role"], "type": spec["type"],
                   "revisionId": None}
        run = Run(arn, parent["account"], parent["region"], parent["machine_arn"], machine_name, name, value,
                  parent["role"], started, not keep, History(keep, 2 if keep else 1))
        doc = None
        if keep:
            doc = self._execution_doc(arn, machine, name, dumps(value), started, map_run_arn=map_run_arn)
            self.store.insert_execution(arn, parent["machine_arn"], started, doc, parent=map_run_arn,
                                        events=[self._started_event(doc, machine)], node=self._node)
            started_as(arn)
        interp = Interpreter(run, self.tasks, None)
        scope = Scope(spec["variables"], 1 if keep else 0, False, spec["item"])
        status, output, error, cause = await self._run_definition(interp, processor, value, scope)
        status = status or "ABORTED"
        if doc is not None:
            self._finish(run, doc, status, output, error, cause)
        return child_record(arn, name, parent["machine_arn"], value, started, status,
                            dumps(output) if status == "SUCCEEDED" else None, error, cause)

    def abort_stale_child(self, arn: str) -> None:
        """A child execution a dead node was running ends ABORTED before its child runs again."""
        doc = self.store.get_execution(arn)
        if doc is not None and doc["status"] == "RUNNING":
            self._finish_doc(doc, "ABORTED", error="States.Runtime",
                             cause="The execution was interrupted: its node of the cluster stopped")
            self.store.checkpoint(arn, [], None, doc, only_running=True)

    def describe_map_run(self, ctx, params):
        run = self.store.get_map_run(params["mapRunArn"])
        if run is None:
            raise _error("ResourceNotFound", f"Resource not found: '{params['mapRunArn']}'")
        return run

    def list_map_runs(self, ctx, params):
        self._execution(ctx, params["executionArn"])
        items = [{"executionArn": r["executionArn"], "mapRunArn": r["mapRunArn"],
                  "stateMachineArn": r["executionArn"].replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
                  "startDate": r["startDate"], **({"stopDate": r["stopDate"]} if "stopDate" in r else {})}
                 for r in self.store.map_runs(params["executionArn"])]
        return self._page(items, params, "mapRuns")

    def update_map_run(self, ctx, params):
        run = self.store.get_map_run(params["mapRunArn"])
        if run is None:
            raise _error("ResourceNotFound", f"Resource not found: '{params['mapRunArn']}'")
        for key in ("maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount"):
            if key in params:
                run[key] = params[key]
        self.store.put_map_run(run["mapRunArn"], run["executionArn"], run)
        return {}

    # -- validation and TestState ----------------------------------------------------------------------

    def validate_state_machine_definition(self, ctx, params):
        definition, found = asl.parse(params["definition"])
        if params.get("type") == "EXPRESS" and isinstance(definition, dict) and not found.errors:
            found.items += asl.express_problems(definition)
        severity = params.get("severity", "ERROR")
        diagnostics = found.items if severity == "WARNING" else found.errors
        limit = params.get("maxResults") or 100
        return {"result": "FAIL" if found.errors else "OK", "diagnostics": diagnostics[:limit],
                "truncated": len(diagnostics) > limit}

    async def test_state(self, ctx, params):
        state_text = params["definition"]
        try:
            state = orjson.loads(state_text)
        except orjson.JSONDecodeError as e:
            raise _error("InvalidDefinition", f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {e}'") \
                from None
        if not isinstance(state, dict) or "Type" not in state:
            raise _error("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These "
                                              "fields are required: [Type] at /'")
        name = params.get("stateName") or "TestState"
        machine_text = dumps({"StartAt": name, "States": {name: {**state, **(
            {"End": True} if state.get("Type") not in ("Choice", "Succeed", "Fail") and "Next" not in state else {})}}})
        definition, found = asl.parse(machine_text)
        errors = [d for d in found.errors if d["code"] not in ("MISSING_TRANSITION_TARGET", "MISSING_END_STATE")]
        if errors:
            raise _error("InvalidDefinition", asl.invalid_definition_message(errors))
        value = self._check_input(params.get("input"))
        variables = orjson.loads(params["variables"]) if params.get("variables") else {}
        started = _now_ms()
        arn = f"arn:aws:states:{ctx.region}:{ctx.account}:execution:TestStateMachine:{uuid.uuid4()}"
        run = Run(arn, ctx.account, ctx.region, f"arn:aws:states:{ctx.region}:{ctx.account}:stateMachine:TestState",
                  "TestState", "TestState", value, params.get("roleArn") or "", started, True, History(False))
        interp = Interpreter(run, self.tasks, None)
        interp.inspection = {}
        scope = Scope(dict(variables), 0, False)
        language = state.get("QueryLanguage", "JSONPath")
        try:
            output, next_state = await interp.run_state(name, definition["States"][name], value, scope, language)
        except (FailState, StatesError) as e:
            status = interp.inspection.pop("outcome", "FAILED")
            return {"status": status, "error": e.error, "cause": e.cause,
                    "inspectionData": self._inspection_data(interp.inspection, value, scope, params)}
        out = {"status": interp.inspection.pop("outcome", "SUCCEEDED"), "output": dumps(output),
               "inspectionData": self._inspection_data(interp.inspection, value, scope, params)}
        if out["status"] == "CAUGHT_ERROR":
            out.update(error=interp.inspection.pop("error"), cause=interp.inspection.pop("cause"))
        if next_state:
            out["nextState"] = next_state
        return out

    @staticmethod
    def _inspection_data(steps: dict, value, scope: Scope, params: dict) -> dict:
        """TestState's inspectionData: the input, each processing step and the variables (INFO
        answers none of it, DEBUG and TRACE all of it)."""
        if params.get("inspectionLevel", "INFO") == "INFO":
            return {}
        data = {"input": dumps(value), **{k: v for k, v in steps.items() if k not in ("error", "cause")}}
        data["variables"] = dumps(scope.variables)
        return data

    # -- tags ------------------------------------------------------------------------------------------

    def _taggable(self, ctx, arn: str) -> None:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) < 7 or parts[2] != "states":
            raise _invalid_arn(arn)
        if parts[5] == "stateMachine":
            self._machine(ctx, arn)
        elif parts[5] == "activity":
            self._activity(ctx, arn)
        else:
            raise _error("ResourceNotFound", f"Resource not found: '{arn}'")

    def tag_resource(self, ctx, params):
        self._taggable(ctx, params["resourceArn"])
        if bad := reserved_tags.refused(ctx, [t["key"] for t in params["tags"]]):
            raise _error("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        self.store.tag(params["resourceArn"], params["tags"])
        if len(self.store.tags(params["resourceArn"])) > 50:
            raise _error("TooManyTags", "Too many tags", 400)
        return {}

    def untag_resource(self, ctx, params):
        self._taggable(ctx, params["resourceArn"])
        if bad := reserved_tags.refused(ctx, params["tagKeys"]):
            raise _error("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        self.store.untag(params["resourceArn"], params["tagKeys"])
        return {}

    def list_tags_for_resource(self, ctx, params):
        self._taggable(ctx, params["resourceArn"])
        return {"tags": self.store.tags(params["resourceArn"])}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's state machines and activities in the request's region
        that have tags: what the Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return list(self.store.tagged(ctx.account, ctx.region).items())


def _note_status(span, status: str, error, cause) -> None:
    span.set("executionStatus", status)
    if status != "SUCCEEDED":
        span.fail(f"{error or status}: {cause or ''}"[:1024])


def _variable_references(definition: str) -> dict:
    try:
        return asl.variable_references(orjson.loads(definition))
    except (orjson.JSONDecodeError, AttributeError):  # (a definition CreateStateMachine accepted parses)
        return {}


def _now_ms() -> float:
    """An execution's start in whole milliseconds: its startDate (sent as epoch seconds with
    milliseconds) and its context's StartTime (ISO text with milliseconds) then agree, as on AWS."""
    return round(time.time(), 3)


def _end_event(history: History, status: str, output, error, cause) -> None:
    """The event that ends an execution with `status`."""
    previous = history.next_id - 1
    if status == "SUCCEEDED":
        history.add("ExecutionSucceeded", previous, executionSucceededEventDetails={
            "output": dumps(output), "outputDetails": {"truncated": False}})
    elif status == "FAILED":
        history.add("ExecutionFailed", previous, executionFailedEventDetails=_present(error=error, cause=cause))
    elif status == "TIMED_OUT":
        history.add("ExecutionTimedOut", previous, executionTimedOutEventDetails={"error": error, "cause": cause})
    elif status == "ABORTED":  # (AWS's ExecutionAborted names no previous event: StopExecution comes from outside)
        history.add("ExecutionAborted", 0, executionAbortedEventDetails={
            k: v for k, v in (("error", error), ("cause", cause)) if v is not None})


def _present(**fields) -> dict:
    """The fields that have a value (AWS leaves an empty error or cause out)."""
    return {k: v for k, v in fields.items() if v}


def _page_token(offset: int) -> str:
    """An opaque page token for a position in a list (AWS's are long opaque strings, never a bare
    number, which clients and tests could confuse with other numbers)."""
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def _check_version_description(params: dict) -> None:
    if params.get("versionDescription") is not None and not params.get("publish"):
        raise _error("ValidationException", "Version description can only be set when publish is true")


def _token_offset(token: str) -> int:
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, TypeError, KeyError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _error("InvalidToken", "Invalid Token: 'Invalid token'")  # AWS's words, whatever the token
    return offset
