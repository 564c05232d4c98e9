"""Amazon EventBridge: event buses, rules with event patterns and schedules, targets (SQS, SNS,
Lambda, another bus, CloudWatch Logs, API destinations), input transformation, per-target retry
policies and dead-letter queues, archives and replays, connections and API destinations.

PutEvents commits, in one transaction, the SQS deliveries (through the SQS provider, inside the
same database transaction), archived copies, and a pending-delivery row for every other target,
before it answers; the engine part delivers the rows, retries, and dead-letters.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import orjson

from overcast import execute_api, tracing
from overcast.aws import policy as iam_policy
from overcast.aws import tags as reserved_tags
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError, not_implemented
from overcast.engine import http as http_client
from overcast.engine.patterns import PatternError, compile_pattern
from overcast.engine.schedules import ScheduleError
from overcast.engine.schedules import parse as parse_schedule
from overcast.engine.targets import DeliveryError, Sender, deliver, delivery_refusal, internal_ctx
from overcast.engine.timers import Timers
from overcast.services.base import Provider
from overcast.services.events import transform
from overcast.services.events.store import EventsStore

log = logging.getLogger("overcast.events")

MAX_ENTRIES_SIZE = 1_048_576  # PutEvents: the total entry size must be less than 1 MB (botocore's model)
NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
BUS_NAME = re.compile(r"^[/.\-_A-Za-z0-9]{1,256}$")
TARGET_ID = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 400)


def iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Rule:
    __slots__ = ("arn", "name", "matcher", "targets")

    def __init__(self, arn, name, matcher, targets):
        self.arn, self.name, self.matcher, self.targets = arn, name, matcher, targets


class EventsProvider(Provider):
    service = "events"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = EventsStore(self.db)
        self._buses: dict[tuple, tuple[list[Rule], list[tuple]]] = {}
        # a change to a bus's rules, targets or archives drops it on every node (coordination.cache)
        self._forget_bus = providers.coordination.cache("events-buses", self._drop_bus, self._buses.clear)
        self._timers = Timers(providers.coordination.gate("events"))  # ("rule", arn): next fire time; ("delivery", id): next attempt
        self._limit = asyncio.Semaphore(64)
        self.retry_delay = float(os.environ.get("OVERCAST_EVENTS_RETRY_DELAY", 1))
        self._retention: dict[str, float] = {}  # archive ARN -> retention in seconds
        self._expired: dict[str, float] = {}  # archive ARN -> last expiry sweep

    async def start(self) -> None:
        await self._upgrade_connections()  # before any delivery resumes and reads a connection's secret
        for rule in self.store.scheduled_rules():
            self._arm(rule)
        for delivery_id, next_at in self.store.pending_deliveries():
            self._schedule_delivery(delivery_id, next_at)

    async def _upgrade_connections(self) -> None:
        """Connections stored before their credentials moved into Secrets Manager kept them in
        the connection (and named a secret that did not exist): each gets its secret now, and
        keeps only what Describe shows. A connection already upgraded is left as it is."""
        for c in self.store.every("connection"):
            auth = c.get("AuthParameters") or {}
            public = self._public_auth(auth)
            if public == auth:
                continue
            account, region = c["ConnectionArn"].split(":")[4], c["ConnectionArn"].split(":")[3]
            secrets, sctx = await self._secrets(account, region, "CreateSecret")
            c["SecretArn"] = secrets.create_secret(sctx, {
                "Name": f"events!connection/{c['Name']}/{uuid.uuid4()}", "ClientRequestToken": str(uuid.uuid4()),
                "SecretString": orjson.dumps(self._secret_document(c["AuthorizationType"], auth)).decode()})["ARN"]
            c["AuthParameters"] = public
            self.store.put("connection", c["ConnectionArn"], account, region, c["Name"], c)

    async def stop(self) -> None:
        self._timers.cancel_all(tasks=True)

    def reset(self) -> None:
        self._timers.cancel_all()
        self._buses.clear()
        self._retention.clear()
        self._expired.clear()

    # -- names and lookups -----------------------------------------------------------------------

    @staticmethod
    def _bus_arn(account, region, name) -> str:
        return f"arn:aws:events:{region}:{account}:event-bus/{name}"

    @staticmethod
    def _rule_arn(account, region, bus, name) -> str:
        return f"arn:aws:events:{region}:{account}:rule/{name}" if bus == "default" else \
            f"arn:aws:events:{region}:{account}:rule/{bus}/{name}"

    @staticmethod
    def _bus_name(value: str | None) -> str:
        if not value:
            return "default"
        if value.startswith("arn:"):
            return value.split(":event-bus/", 1)[-1]
        return value

    def _bus_name_for(self, ctx, value: str | None) -> str:
        """_bus_name for a management call. Another account's bus (by ARN) is refused unless its
        policy allows the action; rules and settings on another account's bus are not
        implemented, so a call the policy allows answers NotImplemented rather than acting on the
        caller's own bus of that name."""
        name = self._bus_name(value)
        if value and value.startswith("arn:"):
            parts = value.split(":")
            if len(parts) >= 6 and parts[4] != ctx.account:
                self._check_bus(ctx, parts[4], parts[3], name, f"events:{ctx.operation}")
                raise not_implemented("EventBridge calls on another account's event bus (other than PutEvents)")
        return name

    def _check_bus(self, ctx, account: str, region: str, name: str, action: str) -> None:
        """Another account may use a bus only when the bus policy (PutPermission) allows it."""
        arn = self._bus_arn(account, region, name)
        bus = self.store.get("bus", arn) if ctx.account != account else None
        iam_policy.check(ctx, account, arn, action, (bus or {}).get("Policy"))

    def resource_policy(self, arn: str) -> str | None:
        """The bus's policy, for deliveries from another account (engine/targets.py)."""
        return (self.store.get("bus", arn) or {}).get("Policy")

    def _bus(self, account, region, name: str) -> dict:
        if name == "default":
            arn = self._bus_arn(account, region, "default")
            bus = self.store.get("bus", arn)
            if bus is None:
                bus = {"Name": "default", "Arn": arn, "CreationTime": time.time(), "LastModifiedTime": time.time()}
                self.store.put("bus", arn, account, region, "default", bus)
            return bus
        bus = self.store.get("bus", self._bus_arn(account, region, name))
        if bus is None:
            raise not_found(f"Event bus {name} does not exist.")
        return bus

    def _rule(self, ctx, params) -> dict:
        bus = self._bus_name_for(ctx, params.get("EventBusName"))
        name = params.get("Name") or params.get("Rule") or ""
        rule = self.store.get_rule(self._rule_arn(ctx.account, ctx.region, bus, name))
        if rule is None:
            raise not_found(f"Rule {name} does not exist on EventBus {bus}.")
        return rule

    def _changed(self, account, region, bus) -> None:
        self._forget_bus((account, region, bus))

    def _drop_bus(self, key: tuple) -> None:
        self._buses.pop(key, None)

    def _routing(self, account, region, bus) -> tuple[list[Rule], list[tuple]]:
        """The bus's enabled pattern rules (compiled) and archives, cached until a change."""
        key = (account, region, bus)
        entry = self._buses.get(key)
        if entry is None:
            rules = []
            for doc in self.store.rules_of_bus(account, region, bus):
                if doc.get("EventPattern") and doc["State"] != "DISABLED":
                    try:
                        matcher = compile_pattern(doc["EventPattern"])
                    except PatternError:
                        continue
                    rules.append(Rule(doc["Arn"], doc["Name"], matcher, self.store.targets(doc["Arn"])))
            archives = []
            bus_arn = self._bus_arn(account, region, bus)
            for archive in self.store.list("archive", account, region):
                if archive["EventSourceArn"] == bus_arn and archive["State"] == "ENABLED":
                    pattern = archive.get("EventPattern")
                    archives.append((archive["ArchiveArn"], compile_pattern(pattern) if pattern else None))
                    if archive.get("RetentionDays"):
                        self._retention[archive["ArchiveArn"]] = archive["RetentionDays"] * 86400
            entry = self._buses[key] = (rules, archives)
        return entry

    # -- buses -----------------------------------------------------------------------------------

    def create_event_bus(self, ctx, params):
        name = params["Name"]
        if name == "default" or not BUS_NAME.match(name) or "/" in name and not name.startswith("aws.partner/"):
            raise validation(f"Event bus name {name} is not valid." if name != "default"
                             else "The event bus name default is reserved.")
        arn = self._bus_arn(ctx.account, ctx.region, name)
        if self.store.get("bus", arn) is not None:
            raise AwsError("ResourceAlreadyExistsException", f"Event bus {name} already exists.")
        now = time.time()
        bus = {"Name": name, "Arn": arn, "CreationTime": now, "LastModifiedTime": now}
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
            if params.get(key) is not None:
                bus[key] = params[key]
        bus["Tags"] = params.get("Tags") or []
        self.store.put("bus", arn, ctx.account, ctx.region, name, bus)
        return {"EventBusArn": arn, **{k: bus[k] for k in ("Description", "KmsKeyIdentifier", "DeadLetterConfig")
                                       if k in bus}}

    def describe_event_bus(self, ctx, params):
        bus = self._bus(ctx.account, ctx.region, self._bus_name_for(ctx, params.get("Name")))
        return {k: v for k, v in bus.items() if k != "Tags"}

    def update_event_bus(self, ctx, params):
        bus = self._bus(ctx.account, ctx.region, self._bus_name_for(ctx, params.get("Name")))
        for key in ("Description", "KmsKeyIdentifier", "DeadLetterConfig"):
            if key in params:
                bus[key] = params[key]
        bus["LastModifiedTime"] = time.time()
        self.store.put("bus", bus["Arn"], ctx.account, ctx.region, bus["Name"], bus)
        return {"Arn": bus["Arn"], "Name": bus["Name"],
                **{k: bus[k] for k in ("Description", "KmsKeyIdentifier", "DeadLetterConfig") if k in bus}}

    def delete_event_bus(self, ctx, params):
        name = self._bus_name_for(ctx, params.get("Name"))
        if name == "default":
            raise validation("Cannot delete event bus default.")
        arn = self._bus_arn(ctx.account, ctx.region, name)
        with self.store.transaction():
            for rule in self.store.rules_of_bus(ctx.account, ctx.region, name):
                self._disarm(rule["Arn"])
                self.store.delete_rule(rule["Arn"])
            self.store.delete("bus", arn)
        self._changed(ctx.account, ctx.region, name)
        return {}

    def list_event_buses(self, ctx, params):
        self._bus(ctx.account, ctx.region, "default")
        buses = [b for b in self.store.list("bus", ctx.account, ctx.region)
                 if b["Name"].startswith(params.get("NamePrefix") or "")]
        return self._page([{k: v for k, v in b.items() if k != "Tags"} for b in buses], params, "EventBuses")

    @staticmethod
    def _page(items: list, params: dict, key: str) -> dict:
        # the token is opaque, as AWS's are: a bare offset ("3") is a string clients may meet elsewhere
        # in the answer (LocalStack's suite masks the token's value everywhere it occurs)
        try:
            text = base64.urlsafe_b64decode(str(params.get("NextToken") or "").encode() + b"==").decode()
            start = int(text.removeprefix("offset:")) if text.startswith("offset:") else 0
        except (ValueError, UnicodeDecodeError):
            start = 0
        limit = params.get("Limit") or 100
        out = {key: items[start:start + limit]}
        if start + limit < len(items):
            out["NextToken"] = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode().rstrip("=")
        return out

    def put_permission(self, ctx, params):
        bus = self._bus(ctx.account, ctx.region, self._bus_name_for(ctx, params.get("EventBusName")))
        policy = orjson.loads(bus.get("Policy") or '{"Version":"2012-10-17","Statement":[]}')
        if params.get("Policy"):
            policy = orjson.loads(params["Policy"])
        else:
            principal = params.get("Principal")
            statement = {"Sid": params.get("StatementId"), "Effect": "Allow",
                         # "*" is everyone (AWS requires it with a Condition), as AWS writes it
                         "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
                         "Action": params.get("Action") or "events:PutEvents", "Resource": bus["Arn"]}
            condition = params.get("Condition")
            if condition:
                statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
            # a statement id already in the policy is replaced, not added twice
            statements = policy.get("Statement") or []
            statements = [statements] if isinstance(statements, dict) else statements
            policy["Statement"] = [st for st in statements if st.get("Sid") != statement["Sid"]] + [statement]
        bus["Policy"] = orjson.dumps(policy).decode()
        self.store.put("bus", bus["Arn"], ctx.account, ctx.region, bus["Name"], bus)
        return {}

    def remove_permission(self, ctx, params):
        bus = self._bus(ctx.account, ctx.region, self._bus_name_for(ctx, params.get("EventBusName")))
        if params.get("RemoveAllPermissions"):
            bus.pop("Policy", None)
        else:
            policy = orjson.loads(bus["Policy"]) if bus.get("Policy") else {"Statement": []}
            kept = [s for s in policy["Statement"] if s.get("Sid") != params.get("StatementId")]
            if len(kept) == len(policy["Statement"]):  # AWS's recorded answer, with or without a policy
                raise not_found("Statement with the provided id does not exist.")
            policy["Statement"] = kept
            bus["Policy"] = orjson.dumps(policy).decode()
        self.store.put("bus", bus["Arn"], ctx.account, ctx.region, bus["Name"], bus)
        return {}

    # -- rules -----------------------------------------------------------------------------------

    def put_rule(self, ctx, params):
        name = params.get("Name") or ""
        if not NAME.match(name):
            raise validation(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
                             "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
        bus = self._bus_name_for(ctx, params.get("EventBusName"))
        self._bus(ctx.account, ctx.region, bus)
        pattern = params.get("EventPattern")
        schedule = params.get("ScheduleExpression")
        if not pattern and not schedule:
            raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if pattern:
            try:
                compile_pattern(pattern)
            except PatternError as e:
                raise AwsError("InvalidEventPatternException", f"Event pattern is not valid. Reason: {e.reason}") from None
        if schedule:
            if schedule != schedule.strip():  # AWS refuses surrounding spaces (its recorded answer)
                raise validation("Parameter ScheduleExpression is not valid.")
            if bus != "default":
                raise validation("ScheduleExpression is supported only on the default event bus.")
            try:
                parse_schedule(schedule)
            except ScheduleError:
                raise validation("Parameter ScheduleExpression is not valid.") from None
        state = params.get("State") or "ENABLED"
        arn = self._rule_arn(ctx.account, ctx.region, bus, name)
        existing = self.store.get_rule(arn)
        doc = {"Name": name, "Arn": arn, "EventBusName": bus, "State": state, "CreatedBy": ctx.account}
        for key in ("EventPattern", "ScheduleExpression", "Description", "RoleArn"):
            if params.get(key):
                doc[key] = params[key]
        doc["Tags"] = (existing or {}).get("Tags") or params.get("Tags") or []
        created = existing["_created"] if existing else time.time()
        self.store.put_rule(arn, ctx.account, ctx.region, bus, name, pattern, schedule, state, doc, created)
        self._changed(ctx.account, ctx.region, bus)
        doc["_created"] = created
        self._arm(doc)
        return {"RuleArn": arn}

    @staticmethod
    def _rule_out(rule: dict) -> dict:
        return {k: v for k, v in rule.items() if not k.startswith("_") and k != "Tags"}

    def describe_rule(self, ctx, params):
        return self._rule_out(self._rule(ctx, params))

    def list_rules(self, ctx, params):
        bus = self._bus_name_for(ctx, params.get("EventBusName"))
        self._bus(ctx.account, ctx.region, bus)
        prefix = params.get("NamePrefix") or ""
        rules = [self._rule_out(r) for r in self.store.rules_of_bus(ctx.account, ctx.region, bus)
                 if r["Name"].startswith(prefix)]
        return self._page(rules, params, "Rules")

    def _set_state(self, ctx, params, state: str):
        rule = self._rule(ctx, params)
        rule["State"] = state
        self.store.put_rule(rule["Arn"], ctx.account, ctx.region, rule["EventBusName"], rule["Name"],
                            rule.get("EventPattern"), rule.get("ScheduleExpression"), state,
                            {k: v for k, v in rule.items() if not k.startswith("_")}, rule["_created"])
        self._changed(ctx.account, ctx.region, rule["EventBusName"])
        self._arm(rule)
        return {}

    def enable_rule(self, ctx, params):
        return self._set_state(ctx, params, "ENABLED")

    def disable_rule(self, ctx, params):
        return self._set_state(ctx, params, "DISABLED")

    def delete_rule(self, ctx, params):
        bus = self._bus_name_for(ctx, params.get("EventBusName"))
        arn = self._rule_arn(ctx.account, ctx.region, bus, params.get("Name") or "")
        if self.store.get_rule(arn) is None:
            return {}
        if self.store.targets(arn):
            raise validation("Rule can't be deleted since it has targets.")
        self.store.delete_rule(arn)
        self._disarm(arn)
        self._changed(ctx.account, ctx.region, bus)
        return {}

    def put_targets(self, ctx, params):
        rule = self._rule(ctx, params)
        targets = params.get("Targets") or []
        existing = {t["Id"]: t for t in self.store.targets(rule["Arn"])}
        failed = []
        with self.store.transaction():
            for target in targets:
                self._check_input(target)  # AWS refuses the whole request for these
                try:
                    self._check_target(target)
                except AwsError as e:
                    failed.append({"TargetId": target.get("Id"), "ErrorCode": e.code, "ErrorMessage": e.message})
                    continue
                if target["Id"] not in existing and len(existing) >= 5:
                    raise AwsError("LimitExceededException",  # AWS's recorded answer, word for word
                                   "The requested resource exceeds the maximum number allowed.")
                existing[target["Id"]] = target
                self.store.put_target(rule["Arn"], target)
        self._changed(ctx.account, ctx.region, rule["EventBusName"])
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    @staticmethod
    def _check_input(target: dict) -> None:
        """What AWS answers for the whole PutTargets request (its recorded answers): more than
        one of the input settings, an input transformer that names an unknown placeholder."""
        given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
        if len(given) > 1:
            raise validation(f"Only one of Input, InputPath, or InputTransformer must be provided for target "
                             f"{target.get('Id')}.")
        if target.get("InputTransformer"):
            try:
                transform.check_transformer(target["InputTransformer"], target.get("Id"))
            except transform.TransformError as e:
                raise validation(str(e)) from None

    @staticmethod
    def _check_target(target: dict) -> None:
        if not TARGET_ID.match(target.get("Id") or ""):
            raise validation("Parameter Id is not valid.")
        arn = target.get("Arn") or ""
        if not arn.startswith("arn:") or arn.count(":") < 5:
            raise validation(f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format.")
        if target.get("Input") is not None:
            try:
                orjson.loads(target["Input"])
            except orjson.JSONDecodeError:
                raise validation("Input is not valid JSON text.") from None
        try:
            if target.get("InputPath"):
                transform.check_path(target["InputPath"])
        except transform.TransformError as e:
            raise validation(str(e)) from None
        retry = target.get("RetryPolicy") or {}
        if not 0 <= retry.get("MaximumRetryAttempts", 0) <= 185:
            raise validation("MaximumRetryAttempts must be between 0 and 185.")
        if not 60 <= retry.get("MaximumEventAgeInSeconds", 60) <= 86400:
            raise validation("MaximumEventAgeInSeconds must be between 60 and 86400.")
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq is not None and ":sqs:" not in dlq:
            raise validation("Parameter DeadLetterConfig.Arn is not valid. Reason: only SQS queues are supported.")
        if ":sqs:" in arn and arn.endswith(".fifo") and not (target.get("SqsParameters") or {}).get("MessageGroupId"):
            raise validation("Parameter(s) SqsParameters must be specified for target: " + target["Id"] + ".")

    def remove_targets(self, ctx, params):
        rule = self._rule(ctx, params)
        failed = []
        for target_id in params.get("Ids") or []:
            if not self.store.delete_target(rule["Arn"], target_id):
                failed.append({"TargetId": target_id, "ErrorCode": "ResourceNotFoundException",
                               "ErrorMessage": f"Target {target_id} does not exist."})
        self._changed(ctx.account, ctx.region, rule["EventBusName"])
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def list_targets_by_rule(self, ctx, params):
        rule = self._rule(ctx, params)
        return self._page(self.store.targets(rule["Arn"]), params, "Targets")

    def list_rule_names_by_target(self, ctx, params):
        bus = self._bus_name_for(ctx, params.get("EventBusName"))
        names = self.store.rules_with_target(ctx.account, ctx.region, bus, params["TargetArn"])
        return self._page(names, params, "RuleNames")

    def test_event_pattern(self, ctx, params):
        try:
            matcher = compile_pattern(params["EventPattern"])
        except PatternError as e:
            raise AwsError("InvalidEventPatternException", f"Event pattern is not valid. Reason: {e.reason}") from None
        try:
            event = orjson.loads(params["Event"])
        except orjson.JSONDecodeError:
            raise validation("Parameter Event is not valid.") from None
        required = ("id", "account", "source", "time", "region", "detail-type")
        if not isinstance(event, dict) or any(k not in event for k in required):
            # AWS's recorded answer names neither the missing fields nor the reason
            raise validation("Parameter Event is not valid.")
        return {"Result": matcher.matches(event)}

    # -- tags ------------------------------------------------------------------------------------

    def _tagged(self, ctx, arn: str) -> tuple[str, dict]:
        # a missing rule or bus is named as AWS names it (its recorded answers)
        if ":rule/" in arn:
            rule = self.store.get_rule(arn)
            if rule is not None:
                return "rule", rule
            bus, _, name = arn.split(":rule/", 1)[1].rpartition("/")
            raise not_found(f"Rule {name} does not exist on EventBus {bus or 'default'}.")
        if ":event-bus/" in arn:
            bus = self.store.get("bus", arn)
            if bus is not None:
                return "bus", bus
            raise not_found(f"Event bus {arn.split(':event-bus/', 1)[1]} does not exist.")
        raise not_found(f"Resource {arn} does not exist.")

    def _save_tagged(self, ctx, kind: str, doc: dict) -> None:
        if kind == "rule":
            self.store.put_rule(doc["Arn"], ctx.account, ctx.region, doc["EventBusName"], doc["Name"],
                                doc.get("EventPattern"), doc.get("ScheduleExpression"), doc["State"],
                                {k: v for k, v in doc.items() if not k.startswith("_")}, doc["_created"])
        else:
            self.store.put("bus", doc["Arn"], ctx.account, ctx.region, doc["Name"], doc)

    def tag_resource(self, ctx, params):
        kind, doc = self._tagged(ctx, params["ResourceARN"])
        if bad := reserved_tags.refused(ctx, [t["Key"] for t in params.get("Tags") or []]):
            raise AwsError("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags = {t["Key"]: t["Value"] for t in doc.get("Tags") or []}
        tags.update({t["Key"]: t["Value"] for t in params.get("Tags") or []})
        doc["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._save_tagged(ctx, kind, doc)
        return {}

    def untag_resource(self, ctx, params):
        kind, doc = self._tagged(ctx, params["ResourceARN"])
        if bad := reserved_tags.refused(ctx, params.get("TagKeys") or []):
            raise AwsError("ValidationException", f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        doc["Tags"] = [t for t in doc.get("Tags") or [] if t["Key"] not in set(params.get("TagKeys") or [])]
        self._save_tagged(ctx, kind, doc)
        return {}

    def list_tags_for_resource(self, ctx, params):
        return {"Tags": self._tagged(ctx, params["ResourceARN"])[1].get("Tags") or []}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's rules and event buses in the request's region that have
        tags: what the Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        docs = ((arn, orjson.loads(doc)) for arn, doc in self.store.tagged_docs(ctx.account, ctx.region))
        return [(arn, {t["Key"]: t["Value"] for t in doc["Tags"]}) for arn, doc in docs if doc.get("Tags")]

    # -- PutEvents -------------------------------------------------------------------------------

    async def put_events(self, ctx, params):
        entries = params.get("Entries") or []
        size = 0
        for entry in entries:
            size += 14 if entry.get("Time") else 0
            for key in ("Source", "DetailType", "Detail"):
                size += len((entry.get(key) or "").encode())
            size += sum(len(r.encode()) for r in entry.get("Resources") or [])
        if size > MAX_ENTRIES_SIZE:
            raise validation("Total size of the entries in the request is over the limit.")
        for entry in entries:  # another account's bus: its policy decides, for the whole request
            name = entry.get("EventBusName") or ""
            parts = name.split(":") if name.startswith("arn:") else ()
            if len(parts) >= 6 and parts[4] != ctx.account:
                self._check_bus(ctx, parts[4], parts[3], self._bus_name(name), "events:PutEvents")
        sqs = await self.providers.get("sqs")
        now = time.time()
        results, scheduled = [], []
        failed = 0
        with self.store.transaction():
            for entry in entries:
                try:
                    account, region, bus, event = self._event(ctx, entry, now)
                except AwsError as error:
                    failed += 1
                    results.append({"ErrorCode": error.code, "ErrorMessage": error.message})
                    continue
                results.append({"EventId": event["id"]})
                if bus is not None:
                    scheduled += self._route(account, region, bus, event, now, sqs)
        for delivery_id in scheduled:
            self._schedule_delivery(delivery_id, 0)
        return {"FailedEntryCount": failed, "Entries": results}

    def _event(self, ctx, entry: dict, now: float) -> tuple:
        for key in ("Source", "DetailType", "Detail"):
            if not entry.get(key):
                raise AwsError("InvalidArgument", f"Parameter {key} is not valid. Reason: {key} is a required argument.")
        try:
            detail = orjson.loads(entry["Detail"])
        except orjson.JSONDecodeError:
            raise AwsError("MalformedDetail", "Detail is malformed.") from None
        if not isinstance(detail, dict):
            raise AwsError("MalformedDetail", "Detail is malformed.")
        name = entry.get("EventBusName")
        account, region = ctx.account, ctx.region
        if name and name.startswith("arn:"):
            parts = name.split(":")
            region, account = parts[3], parts[4]
        bus = self._bus_name(name)
        if bus != "default" and self.store.get("bus", self._bus_arn(account, region, bus)) is None:
            bus = None  # AWS accepts an event for a bus that does not exist (an EventId) and drops it
        when = entry.get("Time")
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
                 "source": entry["Source"], "account": ctx.account,  # the sender's, on any bus
                 "time": iso(when.timestamp() if when is not None else now), "region": region,
                 "resources": entry.get("Resources") or [], "detail": detail}
        return account, region, bus, event

    def _route(self, account, region, bus, event: dict, now: float, sqs, only_rules: set | None = None) -> list[int]:
        """Inside a transaction: archive the event and deliver it to the targets of every matching
        rule; returns the delivery rows to run."""
        rules, archives = self._routing(account, region, bus)
        scheduled = []
        text = None
        for archive_arn, matcher in archives:
            if "replay-name" not in event and (matcher is None or matcher.matches(event)):
                text = text or orjson.dumps(event).decode()
                self.store.archive(archive_arn, now, text)
                self._expire(archive_arn, now)
        for rule in rules:
            if only_rules is not None and rule.arn not in only_rules:
                continue
            if not rule.matcher.matches(event):
                continue
            text = text or orjson.dumps(event).decode()
            with tracing.hop("events", "RuleMatch", resource=rule.arn, account=account, region=region,
                             request=text, attributes={"eventId": event["id"], "source": event.get("source") or "",
                                                       "detailType": event.get("detail-type") or "",
                                                       "targets": len(rule.targets)}):
                scheduled += self._to_targets(rule.arn, rule.name, rule.targets, event, text, now, sqs)
        return scheduled

    def _to_targets(self, rule_arn, rule_name, targets, event, text, now, sqs) -> list[int]:
        scheduled = []
        for target in targets:
            body = transform.target_input(target, event, text, rule_arn, rule_name, iso(now))
            if body is None:  # the transformer cannot make valid JSON of this event: AWS skips it
                continue
            job = {"rule_arn": rule_arn, "target": target, "body": body, "event_id": event["id"]}
            path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
            if path:
                key = transform.select(event, path)
                job["partition_key"] = key if isinstance(key, str) else orjson.dumps(key).decode()
            if sqs is not None and ":sqs:" in target["Arn"]:
                with tracing.hop("events", "Target", resource=target["Arn"], request=body,
                                 attributes={"targetId": target.get("Id") or "", "ruleArn": rule_arn,
                                             "attempt": 1}) as span:
                    try:
                        self._send_sqs(sqs, target, body, event["id"], rule_arn)
                        continue
                    except DeliveryError as error:
                        span.fail(error)
                        if error.client:
                            self._dead_letter_sync(sqs, job, error, 1)
                            continue
            trace = tracing.current_header()
            if trace is not None:  # the rule match it came from, for the delivery run later
                job["trace"] = trace
            scheduled.append(self.store.add_delivery(job, now))
        return scheduled

    @staticmethod
    def _sqs_params(target: dict, body: str, event_id: str) -> tuple[str, str, dict]:
        _, _, _, region, account, name = target["Arn"].split(":", 5)
        params = {"QueueUrl": f"http://localhost/{account}/{name}", "MessageBody": body}
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if group:
            params["MessageGroupId"] = group
        if name.endswith(".fifo"):
            params["MessageDeduplicationId"] = event_id  # each event once, even with a constant Input
        return account, region, params

    def _send_sqs(self, sqs, target: dict, body: str, event_id: str, rule_arn: str) -> None:
        account, region, params = self._sqs_params(target, body, event_id)
        refused = delivery_refusal(sqs, target["Arn"], _sender(rule_arn))
        if refused is not None:  # another account's queue whose policy does not admit this rule
            raise DeliveryError("AccessDenied", refused)
        try:
            sqs.send_message(internal_ctx("sqs", account, region, "SendMessage"), params)
        except AwsError as e:
            raise DeliveryError(e.code, e.message, client=e.status < 500) from None

    def _dlq_attributes(self, job: dict, error: DeliveryError, attempts: int, condition: str) -> dict:
        def s(v):
            return {"DataType": "String", "StringValue": str(v)[:1000] or "-"}
        return {"RULE_ARN": s(job["rule_arn"]), "TARGET_ARN": s(job["target"]["Arn"]), "ERROR_CODE": s(error.code),
                "ERROR_MESSAGE": s(error.message), "EXHAUSTED_RETRY_CONDITION": s(condition),
                "RETRY_ATTEMPTS": s(max(attempts - 1, 0))}

    def _dead_letter_sync(self, sqs, job: dict, error: DeliveryError, attempts: int) -> None:
        dlq = (job["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            log.warning("EventBridge target %s failed (%s); no dead-letter queue: event dropped",
                        job["target"]["Arn"], error)
            return
        _, _, _, region, account, name = dlq.split(":", 5)
        refused = delivery_refusal(sqs, dlq, _sender(job["rule_arn"]))
        if refused is not None:
            log.warning("EventBridge dead-letter queue %s refuses the rule (%s): event dropped", dlq, refused)
            return
        params = {"QueueUrl": f"http://localhost/{account}/{name}", "MessageBody": job["body"],
                  "MessageAttributes": self._dlq_attributes(job, error, attempts, "MaximumRetryAttempts")}
        try:
            sqs.send_message(internal_ctx("sqs", account, region, "SendMessage"), params)
        except AwsError as e:
            log.warning("EventBridge dead-letter queue %s unusable (%s): event dropped", dlq, e.message)

    async def put_event_internal(self, account: str, region: str, arn: str, body: str) -> dict:
        """Another bus as a target (the event is passed on as is, with a new id in another
        Region), or a Lambda destination."""
        bus = self._bus_name(arn)
        self._bus(account, region, bus)
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            event = None
        now = time.time()
        if not isinstance(event, dict) or "detail-type" not in event:
            # a Lambda destination record (AWS's "Lambda Function Invocation Result - Success/Failure")
            context = (event.get("requestContext") or {}) if isinstance(event, dict) else {}
            outcome = "Success" if context.get("condition") == "Success" else "Failure"
            function = context.get("functionArn")
            event = {"version": "0", "id": str(uuid.uuid4()),
                     "detail-type": f"Lambda Function Invocation Result - {outcome}",
                     "source": "lambda", "account": account, "time": iso(now), "region": region,
                     "resources": [arn, function] if function else [arn],
                     "detail": event if isinstance(event, dict) else {"value": event}}
        elif event.get("region") != region:
            # a bus in another Region receives it as a new event: AWS's recorded answers show a new
            # id there (the event keeps its account and Region), and the same id in another account
            event["id"] = str(uuid.uuid4())
        sqs = await self.providers.get("sqs")
        with self.store.transaction():
            scheduled = self._route(account, region, bus, event, now, sqs)
        for delivery_id in scheduled:
            self._schedule_delivery(delivery_id, 0)
        return {"EventId": event["id"]}

    async def deliver_from_lambda(self, arn: str, body: str) -> None:
        """Lambda's async-invocation destinations (the record becomes the event's detail)."""
        parts = arn.split(":")
        await self.put_event_internal(parts[4], parts[3], arn, body)

    # -- the delivery engine ---------------------------------------------------------------------

    def _schedule_delivery(self, delivery_id: int, at: float) -> None:
        self._timers.at(("delivery", delivery_id), at, lambda: self._run_delivery(delivery_id))

    async def _run_delivery(self, delivery_id: int) -> None:
        row = self.store.get_delivery(delivery_id)
        if row is None:
            return
        job, attempts, first_at = row
        target = job["target"]
        async with self._limit:
            with tracing.hop("events", "Target", resource=target["Arn"], parent=job.get("trace"), request=job["body"],
                             attributes={"targetId": target.get("Id") or "", "ruleArn": job.get("rule_arn") or "",
                                         "attempt": attempts + 1}) as span:
                try:
                    await self._attempt(target, job["body"], job["event_id"], job.get("partition_key"),
                                        job.get("rule_arn"))
                except DeliveryError as error:
                    span.fail(error)
                    attempts += 1
                    policy = target.get("RetryPolicy") or {}
                    max_attempts = policy.get("MaximumRetryAttempts", 185)
                    max_age = policy.get("MaximumEventAgeInSeconds", 86400)
                    delay = min(self.retry_delay * (2 ** (attempts - 1)), 300) * (0.8 + 0.4 * random.random())
                    if error.client or attempts > max_attempts or time.time() + delay - first_at > max_age:
                        condition = "MaximumEventAgeInSeconds" if attempts <= max_attempts and not error.client \
                            else "MaximumRetryAttempts"
                        await self._dead_letter(job, error, attempts, condition)
                        self.store.delete_delivery(delivery_id)
                    else:
                        self.store.retry_delivery(delivery_id, attempts, time.time() + delay)
                        self._schedule_delivery(delivery_id, time.time() + delay)
                    return
                except Exception as error:
                    span.fail(error)
                    log.exception("EventBridge delivery %s", delivery_id)
        self.store.delete_delivery(delivery_id)

    async def _attempt(self, target: dict, body: str, event_id: str, partition_key: str | None = None,
                       rule_arn: str | None = None) -> None:
        arn = target["Arn"]
        if ":api-destination/" in arn:
            await self._call_api_destination(target, body)
            return
        if ":execute-api:" in arn:
            await self._call_api_gateway(target, body, rule_arn)
            return
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        sender = _sender(rule_arn) if rule_arn else None
        # a state machine's execution is named after the event (AWS's: the event id, then a suffix)
        name = f"{event_id}_{uuid.uuid4()}" if ":states:" in arn else None
        await deliver(self.providers, arn, body, group_id=group, source="events", sender=sender,
                      dedup_id=event_id if arn.endswith(".fifo") else None, partition_key=partition_key or event_id,
                      execution_name=name)

    async def _dead_letter(self, job: dict, error: DeliveryError, attempts: int, condition: str) -> None:
        dlq = (job["target"].get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            log.warning("EventBridge target %s failed (%s); no dead-letter queue: event dropped",
                        job["target"]["Arn"], error)
            return
        try:
            await deliver(self.providers, dlq, job["body"], sender=_sender(job["rule_arn"]),
                          attributes=self._dlq_attributes(job, error, attempts, condition))
        except DeliveryError as e:
            log.warning("EventBridge dead-letter queue %s unusable (%s): event dropped", dlq, e)

    # -- scheduled rules -------------------------------------------------------------------------

    def _disarm(self, rule_arn: str) -> None:
        self._timers.cancel(("rule", rule_arn))

    def _arm(self, rule: dict) -> None:
        """Set the timer for a scheduled rule's next fire time (none when disabled)."""
        self._disarm(rule["Arn"])
        if not rule.get("ScheduleExpression") or rule["State"] == "DISABLED":
            return
        try:
            schedule = parse_schedule(rule["ScheduleExpression"])
        except ScheduleError:
            return
        now = time.time()
        at = schedule.next_after(now, start=rule.get("_created", now))
        if at is None:
            return
        arn = rule["Arn"]
        self._timers.at(("rule", arn), at, lambda: self._fire(arn, at))

    async def _fire(self, rule_arn: str, at: float | None = None) -> None:
        rule = self.store.get_rule(rule_arn)
        if rule is None or (at is not None and rule.get("State") == "DISABLED"):  # (changed on another node)
            return
        account, region = rule_arn.split(":")[4], rule_arn.split(":")[3]
        now = at or time.time()
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": account, "time": iso(now), "region": region, "resources": [rule_arn], "detail": {}}
        sqs = await self.providers.get("sqs")
        with tracing.hop("events", "ScheduledRule", resource=rule_arn, account=account, region=region, parent=None,
                         attributes={"eventId": event["id"], "scheduleExpression": rule.get("ScheduleExpression") or ""}), \
                self.store.transaction():
            scheduled = self._to_targets(rule_arn, rule["Name"], self.store.targets(rule_arn), event,
                                         orjson.dumps(event).decode(), time.time(), sqs)
        for delivery_id in scheduled:
            self._schedule_delivery(delivery_id, 0)
        if at is not None:
            self._arm(rule)

    # -- archives and replays --------------------------------------------------------------------

    def _expire(self, archive_arn: str, now: float) -> None:
        """RetentionDays: drop archived events past it (checked at most once a minute per archive)."""
        retention = self._retention.get(archive_arn)
        if retention and now - self._expired.get(archive_arn, 0) > 60:
            self._expired[archive_arn] = now
            self.store.expire_archived(archive_arn, now - retention)

    def _archive_arn(self, ctx, name) -> str:
        return f"arn:aws:events:{ctx.region}:{ctx.account}:archive/{name}"

    def create_archive(self, ctx, params):
        name = params["ArchiveName"]
        arn = self._archive_arn(ctx, name)
        if self.store.get("archive", arn) is not None:
            raise AwsError("ResourceAlreadyExistsException", f"Archive {name} already exists.")
        source = params["EventSourceArn"]
        if ":event-bus/" not in source:
            raise validation("Parameter EventSourceArn is not valid.")
        self._bus(source.split(":")[4], source.split(":")[3], self._bus_name(source))
        if params.get("EventPattern"):
            try:
                compile_pattern(params["EventPattern"])
            except PatternError as e:
                raise AwsError("InvalidEventPatternException", f"Event pattern is not valid. Reason: {e.reason}") from None
        now = time.time()
        archive = {"ArchiveName": name, "ArchiveArn": arn, "EventSourceArn": source, "State": "ENABLED",
                   "CreationTime": now, "RetentionDays": params.get("RetentionDays") or 0}
        for key in ("Description", "EventPattern", "KmsKeyIdentifier"):
            if params.get(key):
                archive[key] = params[key]
        self.store.put("archive", arn, ctx.account, ctx.region, name, archive)
        self._changed(source.split(":")[4], source.split(":")[3], self._bus_name(source))
        return {"ArchiveArn": arn, "State": "ENABLED", "CreationTime": now}

    def _archive(self, ctx, name) -> dict:
        archive = self.store.get("archive", self._archive_arn(ctx, name))
        if archive is None:
            raise not_found(f"Archive {name} does not exist.")
        return archive

    def describe_archive(self, ctx, params):
        archive = self._archive(ctx, params["ArchiveName"])
        if archive.get("RetentionDays"):
            self.store.expire_archived(archive["ArchiveArn"], time.time() - archive["RetentionDays"] * 86400)
        count, size = self.store.archive_stats(archive["ArchiveArn"])
        return {**archive, "EventCount": count, "SizeBytes": size}

    def update_archive(self, ctx, params):
        archive = self._archive(ctx, params["ArchiveName"])
        for key in ("Description", "EventPattern", "RetentionDays", "KmsKeyIdentifier"):
            if key in params:
                archive[key] = params[key]
        self.store.put("archive", archive["ArchiveArn"], ctx.account, ctx.region, archive["ArchiveName"], archive)
        source = archive["EventSourceArn"]
        self._changed(source.split(":")[4], source.split(":")[3], self._bus_name(source))
        return {"ArchiveArn": archive["ArchiveArn"], "State": archive["State"], "CreationTime": archive["CreationTime"]}

    def delete_archive(self, ctx, params):
        archive = self._archive(ctx, params["ArchiveName"])
        with self.store.transaction():
            self.store.delete("archive", archive["ArchiveArn"])
            self.store.drop_archive(archive["ArchiveArn"])
        source = archive["EventSourceArn"]
        self._changed(source.split(":")[4], source.split(":")[3], self._bus_name(source))
        return {}

    def list_archives(self, ctx, params):
        source = params.get("EventSourceArn")
        if source and ":event-bus/" in source:  # a bus that does not exist is named (AWS's recorded answer)
            self._bus(source.split(":")[4], source.split(":")[3], self._bus_name(source))
        archives = [a for a in self.store.list("archive", ctx.account, ctx.region)
                    if a["ArchiveName"].startswith(params.get("NamePrefix") or "")
                    and (not params.get("EventSourceArn") or a["EventSourceArn"] == params["EventSourceArn"])
                    and (not params.get("State") or a["State"] == params["State"])]
        out = []
        for a in archives:
            count, size = self.store.archive_stats(a["ArchiveArn"])
            out.append({k: a[k] for k in ("ArchiveName", "EventSourceArn", "State", "RetentionDays", "CreationTime")}
                       | {"EventCount": count, "SizeBytes": size})
        return self._page(out, params, "Archives")

    async def start_replay(self, ctx, params):
        name = params["ReplayName"]
        arn = f"arn:aws:events:{ctx.region}:{ctx.account}:replay/{name}"
        if self.store.get("replay", arn) is not None:
            raise AwsError("ResourceAlreadyExistsException", f"Replay {name} already exists.")
        source = params["EventSourceArn"]
        archive = self.store.get("archive", source)
        if archive is None:  # AWS's recorded answers, from here to the cross-bus check
            raise validation(f"Parameter EventSourceArn is not valid. Reason: Archive {source.rsplit('/', 1)[-1]} "
                             "does not exist.")
        start, end = params["EventStartTime"].timestamp(), params["EventEndTime"].timestamp()
        if start >= end:
            raise validation("Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
                             "EventEndTime.")
        destination = params["Destination"]
        target = destination.get("Arn") or ""
        if ":event-bus/" in target:
            self._bus(target.split(":")[4], target.split(":")[3], self._bus_name(target))
        if target != archive["EventSourceArn"]:
            raise validation("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                             "permitted.")
        now = time.time()
        replay = {"ReplayName": name, "ReplayArn": arn, "EventSourceArn": source, "Destination": destination,
                  "State": "STARTING", "EventStartTime": start, "EventEndTime": end, "ReplayStartTime": now}
        if params.get("Description"):
            replay["Description"] = params["Description"]
        self.store.put("replay", arn, ctx.account, ctx.region, name, replay)
        self._timers.spawn(self._replay(ctx.account, ctx.region, arn))
        return {"ReplayArn": arn, "State": "STARTING", "ReplayStartTime": now}

    async def _replay(self, account, region, arn) -> None:
        replay = self.store.get("replay", arn)
        replay["State"] = "RUNNING"
        self.store.put("replay", arn, account, region, replay["ReplayName"], replay)
        await asyncio.sleep(0)
        bus_arn = replay["Destination"]["Arn"]
        bus = self._bus_name(bus_arn)
        only = set(replay["Destination"].get("FilterArns") or []) or None
        sqs = await self.providers.get("sqs")
        scheduled = []
        for text in self.store.archived(replay["EventSourceArn"], replay["EventStartTime"], replay["EventEndTime"]):
            current = self.store.get("replay", arn)
            if current is None or current["State"] == "CANCELLING":
                break
            event = orjson.loads(text)
            event["replay-name"] = replay["ReplayName"]
            with self.store.transaction():
                scheduled += self._route(bus_arn.split(":")[4], bus_arn.split(":")[3], bus, event, time.time(), sqs,
                                         only)
            replay["EventLastReplayedTime"] = time.time()
        for delivery_id in scheduled:
            self._schedule_delivery(delivery_id, 0)
        current = self.store.get("replay", arn) or replay
        replay["State"] = "CANCELLED" if current["State"] == "CANCELLING" else "COMPLETED"
        replay["ReplayEndTime"] = time.time()
        self.store.put("replay", arn, account, region, replay["ReplayName"], replay)

    def _replay_doc(self, ctx, name) -> dict:
        replay = self.store.get("replay", f"arn:aws:events:{ctx.region}:{ctx.account}:replay/{name}")
        if replay is None:
            raise not_found(f"Replay {name} does not exist.")
        return replay

    def describe_replay(self, ctx, params):
        return self._replay_doc(ctx, params["ReplayName"])

    def cancel_replay(self, ctx, params):
        replay = self._replay_doc(ctx, params["ReplayName"])
        if replay["State"] not in ("STARTING", "RUNNING"):
            raise AwsError("IllegalStatusException", f"Replay {replay['ReplayName']} is not in a valid state for "
                                                      "this operation.")
        replay["State"] = "CANCELLING"
        self.store.put("replay", replay["ReplayArn"], ctx.account, ctx.region, replay["ReplayName"], replay)
        return {"ReplayArn": replay["ReplayArn"], "State": "CANCELLING"}

    def list_replays(self, ctx, params):
        replays = [{k: r[k] for k in ("ReplayName", "EventSourceArn", "State", "EventStartTime", "EventEndTime",
                                      "ReplayStartTime", "ReplayEndTime", "EventLastReplayedTime") if k in r}
                   for r in self.store.list("replay", ctx.account, ctx.region)
                   if r["ReplayName"].startswith(params.get("NamePrefix") or "")
                   and (not params.get("EventSourceArn") or r["EventSourceArn"] == params["EventSourceArn"])
                   and (not params.get("State") or r["State"] == params["State"])]
        return self._page(replays, params, "Replays")

    # -- connections and API destinations ---------------------------------------------------------

    # A connection's credentials live in a Secrets Manager secret that EventBridge makes for it
    # (`events!connection/<name>/<uuid>`, in snake_case keys, as AWS's recorded answers show); the
    # connection itself keeps only what Describe shows. Invocations read the secret.

    _AUTH_KEYS = {"BASIC": "BasicAuthParameters", "API_KEY": "ApiKeyAuthParameters",
                  "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters"}
    _HTTP_KEYS = (("HeaderParameters", "header_parameters"), ("QueryStringParameters", "query_string_parameters"),
                  ("BodyParameters", "body_parameters"))

    @classmethod
    def _secret_http(cls, http: dict) -> dict:
        return {snake: [{"key": p.get("Key"), "value": p.get("Value"), "is_value_secret": bool(p.get("IsValueSecret"))}
                        for p in http[key]] for key, snake in cls._HTTP_KEYS if key in http}

    @classmethod
    def _api_http(cls, http: dict) -> dict:
        return {key: [{"Key": p["key"], "Value": p["value"], "IsValueSecret": p["is_value_secret"]} for p in http[snake]]
                for key, snake in cls._HTTP_KEYS if snake in http}

    @classmethod
    def _secret_document(cls, kind: str, auth: dict) -> dict:
        if kind == "BASIC":
            basic = auth["BasicAuthParameters"]
            doc = {"username": basic.get("Username"), "password": basic.get("Password")}
        elif kind == "API_KEY":
            key = auth["ApiKeyAuthParameters"]
            doc = {"api_key_name": key.get("ApiKeyName"), "api_key_value": key.get("ApiKeyValue")}
        else:
            oauth = auth["OAuthParameters"]
            client = oauth.get("ClientParameters") or {}
            doc = {"client_id": client.get("ClientID"), "client_secret": client.get("ClientSecret"),
                   "authorization_endpoint": oauth.get("AuthorizationEndpoint"), "http_method": oauth.get("HttpMethod")}
            if "OAuthHttpParameters" in oauth:
                doc["oauth_http_parameters"] = cls._secret_http(oauth["OAuthHttpParameters"])
        if "InvocationHttpParameters" in auth:
            doc["invocation_http_parameters"] = cls._secret_http(auth["InvocationHttpParameters"])
        return doc

    @classmethod
    def _auth_from_secret(cls, kind: str, doc: dict) -> dict:
        if kind == "BASIC":
            auth = {"BasicAuthParameters": {"Username": doc["username"], "Password": doc["password"]}}
        elif kind == "API_KEY":
            auth = {"ApiKeyAuthParameters": {"ApiKeyName": doc["api_key_name"], "ApiKeyValue": doc["api_key_value"]}}
        else:
            auth = {"OAuthParameters": {"ClientParameters": {"ClientID": doc["client_id"],
                                                             "ClientSecret": doc["client_secret"]},
                                        "AuthorizationEndpoint": doc["authorization_endpoint"],
                                        "HttpMethod": doc["http_method"]}}
            if "oauth_http_parameters" in doc:
                auth["OAuthParameters"]["OAuthHttpParameters"] = cls._api_http(doc["oauth_http_parameters"])
        if "invocation_http_parameters" in doc:
            auth["InvocationHttpParameters"] = cls._api_http(doc["invocation_http_parameters"])
        return auth

    @staticmethod
    def _public_http(http: dict) -> dict:
        """HTTP parameters as Describe shows them: a value marked secret is not returned."""
        return {key: [{k: v for k, v in p.items() if not (k == "Value" and p.get("IsValueSecret"))} for p in items]
                for key, items in http.items()}

    @classmethod
    def _public_auth(cls, auth: dict) -> dict:
        out = {}
        if "BasicAuthParameters" in auth:
            out["BasicAuthParameters"] = {"Username": auth["BasicAuthParameters"]["Username"]}
        if "ApiKeyAuthParameters" in auth:
            out["ApiKeyAuthParameters"] = {"ApiKeyName": auth["ApiKeyAuthParameters"]["ApiKeyName"]}
        if "OAuthParameters" in auth:
            o = auth["OAuthParameters"]
            out["OAuthParameters"] = {"ClientParameters": {"ClientID": o["ClientParameters"]["ClientID"]},
                                      "AuthorizationEndpoint": o["AuthorizationEndpoint"],
                                      "HttpMethod": o["HttpMethod"]}
            if "OAuthHttpParameters" in o:
                out["OAuthParameters"]["OAuthHttpParameters"] = cls._public_http(o["OAuthHttpParameters"])
        if "InvocationHttpParameters" in auth:
            out["InvocationHttpParameters"] = cls._public_http(auth["InvocationHttpParameters"])
        return out

    @classmethod
    def _check_auth(cls, kind: str, auth: dict) -> None:
        required = cls._AUTH_KEYS[kind]
        if not auth.get(required):
            raise validation(f"Parameter AuthParameters is not valid. Reason: {required} is required for "
                             f"AuthorizationType {kind}.")
        method = (auth.get("OAuthParameters") or {}).get("HttpMethod")
        if method is not None and method.upper() not in ("GET", "POST", "PUT"):  # AWS accepts any case
            raise validation(f"1 validation error detected: Value '{method}' at 'authParameters.oAuthParameters."
                             "httpMethod' failed to satisfy constraint: Member must satisfy enum value set: "
                             "[GET, POST, PUT]")

    @staticmethod
    def _authorizing_state(kind: str) -> str:
        """An OAuth connection is AUTHORIZING until a token exchange succeeds (overcast makes it at
        the first invocation); Basic and API key connections are AUTHORIZED at once."""
        return "AUTHORIZING" if kind == "OAUTH_CLIENT_CREDENTIALS" else "AUTHORIZED"

    async def _secrets(self, account: str, region: str, operation: str):
        return await self.providers.get("secretsmanager"), internal_ctx("secretsmanager", account, region, operation)

    async def create_connection(self, ctx, params):
        name = params["Name"]
        if any(c["Name"] == name for c in self.store.list("connection", ctx.account, ctx.region)):
            raise AwsError("ResourceAlreadyExistsException", f"Connection {name} already exists.")
        kind = params["AuthorizationType"]
        auth = params.get("AuthParameters") or {}
        self._check_auth(kind, auth)
        arn = f"arn:aws:events:{ctx.region}:{ctx.account}:connection/{name}/{uuid.uuid4()}"
        secrets, sctx = await self._secrets(ctx.account, ctx.region, "CreateSecret")
        secret = secrets.create_secret(sctx, {"Name": f"events!connection/{name}/{uuid.uuid4()}",
                                              "SecretString": orjson.dumps(self._secret_document(kind, auth)).decode(),
                                              "ClientRequestToken": str(uuid.uuid4())})
        now = time.time()
        state = self._authorizing_state(kind)
        connection = {"Name": name, "ConnectionArn": arn, "ConnectionState": state,
                      "AuthorizationType": kind, "AuthParameters": self._public_auth(auth), "CreationTime": now,
                      "LastModifiedTime": now, "LastAuthorizedTime": now, "SecretArn": secret["ARN"]}
        if params.get("Description"):
            connection["Description"] = params["Description"]
        self.store.put("connection", arn, ctx.account, ctx.region, name, connection)
        return {"ConnectionArn": arn, "ConnectionState": state, "CreationTime": now, "LastModifiedTime": now}

    def _connection(self, ctx, name) -> dict:
        for c in self.store.list("connection", ctx.account, ctx.region):
            if c["Name"] == name:
                return c
        raise not_found(f"Failed to describe the connection(s). Connection '{name}' does not exist.")

    def describe_connection(self, ctx, params):
        return self._connection(ctx, params["Name"])

    @staticmethod
    def _connection_state(c: dict) -> dict:
        return {k: c[k] for k in ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime",
                                  "LastAuthorizedTime") if k in c}

    async def delete_connection(self, ctx, params):
        c = self._connection(ctx, params["Name"])
        if c.get("SecretArn"):  # the connection's secret goes with it, at once (no recovery window)
            secrets, sctx = await self._secrets(ctx.account, ctx.region, "DeleteSecret")
            try:
                secrets.delete_secret(sctx, {"SecretId": c["SecretArn"], "ForceDeleteWithoutRecovery": True})
            except AwsError as e:
                if e.code != "ResourceNotFoundException":
                    raise
        self.store.delete("connection", c["ConnectionArn"])
        return {**self._connection_state(c), "ConnectionState": "DELETING", "LastModifiedTime": time.time()}

    def list_connections(self, ctx, params):
        state = params.get("ConnectionState")
        items = [{k: v for k, v in c.items() if k not in ("AuthParameters", "Description", "SecretArn")}
                 for c in self.store.list("connection", ctx.account, ctx.region)
                 if c["Name"].startswith(params.get("NamePrefix") or "")
                 and (state is None or c["ConnectionState"] == state)]
        return self._page(items, params, "Connections")

    async def _connection_secret(self, c: dict) -> dict | None:
        """The connection's credentials (API form), None when its secret is gone."""
        account, region = c["ConnectionArn"].split(":")[4], c["ConnectionArn"].split(":")[3]
        if not c.get("SecretArn"):  # de-authorized: its secret was removed
            return None
        secrets, sctx = await self._secrets(account, region, "GetSecretValue")
        try:
            value = secrets.get_secret_value(sctx, {"SecretId": c["SecretArn"]})
        except AwsError:
            return None
        return self._auth_from_secret(c["AuthorizationType"], orjson.loads(value["SecretString"]))

    async def update_connection(self, ctx, params):
        c = self._connection(ctx, params["Name"])
        kind = params.get("AuthorizationType") or c["AuthorizationType"]
        current = await self._connection_secret(c) or {}
        if kind != c["AuthorizationType"]:  # the old type's credentials do not carry over
            current = {k: v for k, v in current.items() if k == "InvocationHttpParameters"}
        merged = dict(current)
        for key, value in (params.get("AuthParameters") or {}).items():
            merged[key] = {**(merged.get(key) or {}), **value} if isinstance(value, dict) else value
        self._check_auth(kind, merged)
        secrets, sctx = await self._secrets(ctx.account, ctx.region, "PutSecretValue")
        secret = orjson.dumps(self._secret_document(kind, merged)).decode()
        arn = c.get("SecretArn")
        if arn:
            try:
                secrets.put_secret_value(sctx, {"SecretId": arn, "SecretString": secret,
                                                "ClientRequestToken": str(uuid.uuid4())})
            except AwsError:  # the secret was deleted
                arn = None
        if not arn:  # de-authorized, or its secret deleted: EventBridge makes a new one
            sctx = internal_ctx("secretsmanager", ctx.account, ctx.region, "CreateSecret")
            c["SecretArn"] = secrets.create_secret(sctx, {"Name": f"events!connection/{c['Name']}/{uuid.uuid4()}",
                                                          "SecretString": secret,
                                                          "ClientRequestToken": str(uuid.uuid4())})["ARN"]
        now = time.time()
        c.update(AuthorizationType=kind, AuthParameters=self._public_auth(merged), LastModifiedTime=now,
                 LastAuthorizedTime=now, ConnectionState=self._authorizing_state(kind))
        if "Description" in params:
            c["Description"] = params["Description"]
        self.store.put("connection", c["ConnectionArn"], ctx.account, ctx.region, c["Name"], c)
        return self._connection_state(c)

    async def deauthorize_connection(self, ctx, params):
        """AWS's documentation: de-authorizing removes the authorization parameters' secret from
        the connection (UpdateConnection with new credentials authorizes it again)."""
        c = self._connection(ctx, params["Name"])
        if c.get("SecretArn"):
            secrets, sctx = await self._secrets(ctx.account, ctx.region, "DeleteSecret")
            try:
                secrets.delete_secret(sctx, {"SecretId": c.pop("SecretArn"), "ForceDeleteWithoutRecovery": True})
            except AwsError as e:
                if e.code != "ResourceNotFoundException":
                    raise
        c["ConnectionState"] = "DEAUTHORIZED"
        c["LastModifiedTime"] = time.time()
        self.store.put("connection", c["ConnectionArn"], ctx.account, ctx.region, c["Name"], c)
        return self._connection_state(c)

    def _set_connection_state(self, c: dict, state: str) -> None:
        account, region = c["ConnectionArn"].split(":")[4], c["ConnectionArn"].split(":")[3]
        now = time.time()
        c.update(ConnectionState=state, LastModifiedTime=now)
        if state == "AUTHORIZED":
            c["LastAuthorizedTime"] = now
        self.store.put("connection", c["ConnectionArn"], account, region, c["Name"], c)

    def update_api_destination(self, ctx, params):
        d = self._api_destination(ctx, params["Name"])
        if params.get("ConnectionArn"):
            if self.store.get("connection", params["ConnectionArn"]) is None:
                raise not_found(f"Connection '{params['ConnectionArn']}' does not exist.")
            d["ConnectionArn"] = params["ConnectionArn"]
        for key in ("InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "Description"):
            if key in params:
                d[key] = params[key]
        d["LastModifiedTime"] = time.time()
        self.store.put("api-destination", d["ApiDestinationArn"], ctx.account, ctx.region, d["Name"], d)
        d = self._destination_out(d)
        return {k: d[k] for k in ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")}

    def _destination_out(self, d: dict) -> dict:
        """An API destination is ACTIVE while its connection is authorized, else INACTIVE (AWS's
        recorded answers: INACTIVE while an OAuth connection is still AUTHORIZING)."""
        connection = self.store.get("connection", d["ConnectionArn"])
        active = connection is not None and connection.get("ConnectionState") == "AUTHORIZED"
        return {**d, "ApiDestinationState": "ACTIVE" if active else "INACTIVE"}

    def create_api_destination(self, ctx, params):
        name = params["Name"]
        if any(d["Name"] == name for d in self.store.list("api-destination", ctx.account, ctx.region)):
            raise AwsError("ResourceAlreadyExistsException", f"An api-destination '{name}' already exists.")
        if self.store.get("connection", params["ConnectionArn"]) is None:
            raise not_found(f"Connection '{params['ConnectionArn']}' does not exist.")
        endpoint = params["InvocationEndpoint"]
        if not endpoint.startswith(("https://", "http://")):
            raise validation("Parameter InvocationEndpoint is not valid.")
        arn = f"arn:aws:events:{ctx.region}:{ctx.account}:api-destination/{name}/{uuid.uuid4()}"
        now = time.time()
        destination = {"Name": name, "ApiDestinationArn": arn,
                       "ConnectionArn": params["ConnectionArn"], "InvocationEndpoint": endpoint,
                       "HttpMethod": params["HttpMethod"], "CreationTime": now, "LastModifiedTime": now,
                       "InvocationRateLimitPerSecond": params.get("InvocationRateLimitPerSecond") or 300}
        if params.get("Description"):
            destination["Description"] = params["Description"]
        self.store.put("api-destination", arn, ctx.account, ctx.region, name, destination)
        return {"ApiDestinationArn": arn, "ApiDestinationState": self._destination_out(destination)["ApiDestinationState"],
                "CreationTime": now, "LastModifiedTime": now}

    def _api_destination(self, ctx, name) -> dict:
        for d in self.store.list("api-destination", ctx.account, ctx.region):
            if d["Name"] == name:
                return d
        raise not_found(f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.")

    def describe_api_destination(self, ctx, params):
        return self._destination_out(self._api_destination(ctx, params["Name"]))

    def delete_api_destination(self, ctx, params):
        self.store.delete("api-destination", self._api_destination(ctx, params["Name"])["ApiDestinationArn"])
        return {}

    def list_api_destinations(self, ctx, params):
        items = [{k: v for k, v in self._destination_out(d).items() if k != "Description"}
                 for d in self.store.list("api-destination", ctx.account, ctx.region)
                 if d["Name"].startswith(params.get("NamePrefix") or "")]
        return self._page(items, params, "ApiDestinations")

    async def _call_api_destination(self, target: dict, body: str) -> None:
        arn = target["Arn"]
        destination = self.store.get("api-destination", arn)
        if destination is None:
            raise DeliveryError("ResourceNotFoundException", f"API destination {arn} does not exist.")
        connection = self.store.get("connection", destination["ConnectionArn"])
        if connection is None:
            raise DeliveryError("ResourceNotFoundException", "The API destination's connection does not exist.")
        if connection.get("ConnectionState") not in ("AUTHORIZED", "AUTHORIZING"):
            raise DeliveryError("ConnectionNotAuthorized", f"The connection is {connection.get('ConnectionState')}.")
        auth = await self._connection_secret(connection)
        if auth is None:  # AWS de-authorizes a connection whose secret it cannot read
            self._set_connection_state(connection, "DEAUTHORIZED")
            raise DeliveryError("ConnectionNotAuthorized", "The connection's secret does not exist.")
        http = target.get("HttpParameters") or {}
        url = destination["InvocationEndpoint"]
        for value in http.get("PathParameterValues") or []:
            url = url.replace("*", value, 1)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Amazon/EventBridge/ApiDestinations"}
        query = {}
        invocation = auth.get("InvocationHttpParameters") or {}
        for p in invocation.get("HeaderParameters") or []:
            headers[p["Key"]] = p["Value"]
        for p in invocation.get("QueryStringParameters") or []:
            query[p["Key"]] = p["Value"]
        headers.update(http.get("HeaderParameters") or {})
        query.update(http.get("QueryStringParameters") or {})
        kind = connection["AuthorizationType"]
        if kind == "API_KEY":
            headers[auth["ApiKeyAuthParameters"]["ApiKeyName"]] = auth["ApiKeyAuthParameters"]["ApiKeyValue"]
        elif kind == "BASIC":
            basic = auth["BasicAuthParameters"]
            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{basic['Username']}:{basic['Password']}".encode()).decode()
        elif kind == "OAUTH_CLIENT_CREDENTIALS":
            try:
                headers["Authorization"] = "Bearer " + await self._oauth_token(auth["OAuthParameters"])
            except DeliveryError:  # AWS de-authorizes a connection whose token it cannot obtain
                self._set_connection_state(connection, "DEAUTHORIZED")
                raise
            if connection["ConnectionState"] == "AUTHORIZING":
                self._set_connection_state(connection, "AUTHORIZED")
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
        method = destination["HttpMethod"]
        try:
            status, _, _ = await http_client.request(method, url, b"" if method in ("GET", "HEAD") else body.encode(),
                                                     headers)
        except http_client.HttpError as e:
            raise DeliveryError("ConnectionError", str(e), client=False) from None
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP{status}", f"The API destination answered {status}.",
                                client=400 <= status < 500 and status not in (401, 407, 409, 429))

    async def _call_api_gateway(self, target: dict, body: str, rule_arn: str | None) -> None:
        """An API Gateway target (arn:aws:execute-api:region:account:api/stage/METHOD/path): a
        request to the deployed stage, through the same door as a client's, with the target's
        HttpParameters (`*` in the path replaced by PathParameterValues, headers, query)."""
        parts = target["Arn"].split(":", 5)
        if len(parts) < 6:
            raise DeliveryError("InvalidArn", f"Invalid ARN: {target['Arn']}")
        region, account, resource = parts[3], parts[4], parts[5]
        api_id, _, rest = resource.partition("/")
        stage, _, rest = rest.partition("/")
        method, _, path = rest.partition("/")
        http = target.get("HttpParameters") or {}
        for value in http.get("PathParameterValues") or []:
            path = path.replace("*", value, 1)
        # AWS's recorded answer: the integration sees the resource path with a slash at the end
        path = f"/{stage}/{path.strip('/')}/" if path.strip("/") else f"/{stage}/"
        domain = f"{api_id}.execute-api.{region}.amazonaws.com"
        headers = {"content-type": "application/json", "host": domain, "user-agent": "Amazon/EventBridge",
                   "x-amz-source-account": account}
        if rule_arn:
            headers["x-amz-source-arn"] = rule_arn
        trace = tracing.current_header()
        if trace is not None:  # the event's trace goes on into API Gateway (and what it calls)
            headers["x-amzn-trace-id"] = trace
        headers.update({k.lower(): v for k, v in (http.get("HeaderParameters") or {}).items()})
        request = HttpRequest(method.upper() if method not in ("", "*") else "POST", path, path,
                              urlencode(http.get("QueryStringParameters") or {}), headers, body.encode())
        response = await execute_api.dispatch(self.providers, request, (api_id, path, domain))
        status = response.status if response is not None else 404
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP{status}", f"The API answered {status}.",
                                client=400 <= status < 500 and status != 429)

    @staticmethod
    async def _oauth_token(oauth: dict) -> str:
        client = oauth["ClientParameters"]
        http = oauth.get("OAuthHttpParameters") or {}
        form = {"grant_type": "client_credentials"}
        form.update({p["Key"]: p["Value"] for p in http.get("BodyParameters") or []})
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Authorization": "Basic " + base64.b64encode(
                       f"{client['ClientID']}:{client.get('ClientSecret', '')}".encode()).decode()}
        headers.update({p["Key"]: p["Value"] for p in http.get("HeaderParameters") or []})
        try:
            status, _, data = await http_client.request(oauth.get("HttpMethod", "POST").upper(), oauth["AuthorizationEndpoint"],
                                                        urlencode(form).encode(), headers)
            token = orjson.loads(data).get("access_token") if 200 <= status < 300 else None
        except (http_client.HttpError, orjson.JSONDecodeError, AttributeError):
            token = None
        if not token:
            raise DeliveryError("OAuthError", "Could not obtain an OAuth token from the authorization endpoint.",
                                client=False)
        return token

    # -- overcast's endpoint: fire a scheduled rule now (test clock) ------------------------------

    async def http(self, request: HttpRequest) -> HttpResponse:
        path = request.path.rstrip("/")
        if path == "/_overcast/events/fire" and request.method == "POST":
            query = {k: v[0] for k, v in parse_qs(request.query_string).items()}
            arn = query.get("rule")
            if not arn:
                try:
                    arn = orjson.loads(request.body or b"{}").get("RuleArn")
                except orjson.JSONDecodeError:
                    arn = None
            if not arn or self.store.get_rule(arn) is None:
                return _json(404, {"error": "NotFound", "message": f"No rule {arn}"})
            await self._fire(arn)
            return _json(200, {"fired": arn})
        return _json(404, {"error": "NotFound", "message": f"No overcast endpoint {request.method} {request.path}"})


def _json(status: int, payload) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], orjson.dumps(payload))


def _sender(rule_arn: str) -> Sender:
    """EventBridge delivering for a rule: what a target of another account must allow."""
    return Sender("events.amazonaws.com", rule_arn, rule_arn.split(":")[4])
