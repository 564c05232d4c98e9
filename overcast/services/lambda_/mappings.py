"""Lambda event source mappings: the API operations (Create/Get/Update/Delete/List
EventSourceMapping(s)), kept apart from the rest of the Lambda provider, which delegates to this
module. The pollers that run the mappings live in overcast/engine/esm.py.

Sources: SQS queues, DynamoDB streams and Kinesis streams (when the Kinesis service is present).
Kafka, MQ and DocumentDB answer InvalidParameterValueException.
"""

from __future__ import annotations

import time
import uuid

from overcast.aws import policy as iam_policy
from overcast.aws.errors import AwsError
from overcast.engine.esm import Pollers
from overcast.engine.patterns import PatternError, compile_pattern
from overcast.services import SERVICES
from overcast.services.lambda_.mappings_store import MappingsStore
from overcast.services.lambda_.paging import page
from overcast.storage.coordination import WorkKind


def _lease(mapping_id: str) -> str:
    return f"esm:{mapping_id}"


def _user_reason(kind: str) -> str:
    """StateTransitionReason after a user's change: AWS words it USER_INITIATED for SQS queues and
    "User action" for streams (every answer of AWS's recorded in LocalStack's snapshots)."""
    return "USER_INITIATED" if kind == "sqs" else "User action"


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, 400, Type="User")


def _not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404, Type="User")


def source_kind(arn: str) -> str:
    if ":sqs:" in arn:
        return "sqs"
    if ":dynamodb:" in arn and "/stream/" in arn:
        return "dynamodb"
    if ":kinesis:" in arn:
        return "kinesis"
    return "other"


# What reading each kind of event source asks of the source's resource policy.
_SOURCE_ACTIONS = {"sqs": "sqs:ReceiveMessage", "dynamodb": "dynamodb:GetRecords", "kinesis": "kinesis:GetRecords"}
_SOURCE_NAMES = {"sqs": "SQS", "dynamodb": "DynamoDB", "kinesis": "Kinesis"}

class EventSourceMappings:
    """A mapping's pollers run on one node: on a cluster under the lease "esm:<uuid>"
    (storage/coordination.py), which any node takes when the node running them dies; a change
    made on another node reaches the one running them on the "esm" channel."""

    def __init__(self, lam):
        self.lam = lam
        self.store = MappingsStore(lam.db)
        self.pollers = Pollers(lam.providers, self.store)
        self.coordination = lam.providers.coordination
        self.work = WorkKind("esm", self._enabled_names, self._run, self._halt)
        channel = self.coordination.channel("esm")
        if channel is not None:
            channel.subscribe(self._changed_elsewhere, lambda: None)
        self._channel = channel

    async def start(self) -> None:
        for doc, account, region in self.store.all():
            if doc["State"] in ("Creating", "Enabling", "Updating", "Enabled"):
                if doc["State"] != "Enabled":
                    doc["State"] = "Enabled"
                    self.store.put(doc, account, region)
                if not self.coordination.cluster:  # a cluster's nodes claim their share (register)
                    self._run(_lease(doc["UUID"]))
            elif doc["State"] == "Deleting":
                self.store.delete(doc["UUID"])
            elif doc["State"] == "Disabling":
                doc["State"] = "Disabled"
                self.store.put(doc, account, region)
        self.coordination.register(self.work)

    # -- which node runs a mapping's pollers -----------------------------------------------------

    def _enabled_names(self) -> list[str]:
        return [_lease(doc["UUID"]) for doc, _, _ in self.store.all() if doc["State"] == "Enabled"]

    def _run(self, name: str) -> None:
        found = self.store.get(name[4:])
        if found is not None and found[0]["State"] == "Enabled":
            self.pollers.start(*found)

    def _halt(self, name: str) -> None:
        self.pollers.stop(name[4:])

    def _changed(self, mapping_id: str, enabled: bool) -> None:
        """After a create, update or delete on this node: run the mapping's pollers anew here
        (one node) or where they run (a cluster)."""
        name = _lease(mapping_id)
        if not self.coordination.cluster:
            self.pollers.stop(mapping_id)
            if enabled:
                self._run(name)
            return
        if self.coordination.holds(name):
            self._restart_or_end(name, enabled)
        elif enabled:
            self.coordination.run(self.work, name)
        self._channel.publish(mapping_id)

    def _changed_elsewhere(self, mapping_id) -> None:
        name = _lease(str(mapping_id))
        if self.coordination.holds(name):
            found = self.store.get(str(mapping_id))
            self._restart_or_end(name, found is not None and found[0]["State"] == "Enabled")

    def _restart_or_end(self, name: str, enabled: bool) -> None:
        if enabled:
            self._halt(name)
            self._run(name)
        else:
            self.coordination.end(self.work, name)

    def stop(self) -> None:
        self.pollers.stop_all()

    def reset(self) -> None:
        self.pollers.stop_all()

    # -- validation ------------------------------------------------------------------------------

    def _function_arn(self, ctx, name: str, missing: str | None = None) -> str:
        """The ARN of FunctionName; a missing function is ResourceNotFoundException, or, with `missing`,
        InvalidParameterValueException with that message (CreateEventSourceMapping's answer on AWS)."""
        account, region, fname, qualifier = self.lam._parse_name(ctx.account, ctx.region, name)
        try:
            self.lam._resolve(account, region, fname, qualifier)
        except AwsError as e:
            if missing is None or e.code != "ResourceNotFoundException":
                raise
            raise _invalid(missing) from None
        return self.lam._arn(account, region, fname, qualifier)

    @staticmethod
    def _check_filters(criteria: dict | None) -> None:
        for item in (criteria or {}).get("Filters") or []:
            try:
                compile_pattern(item.get("Pattern") or "{}")
            except PatternError:
                # AWS's message says no more than this, whatever is wrong with the pattern
                raise _invalid("Invalid filter pattern definition.") from None

    def _settle(self, doc: dict, kind: str) -> None:
        batch = doc["BatchSize"]
        window = doc.get("MaximumBatchingWindowInSeconds", 0)
        if kind == "sqs":
            fifo = doc["EventSourceArn"].endswith(".fifo")
            if not 1 <= batch <= (10 if fifo else 10000):
                raise _invalid(f"BatchSize must be between 1 and {10 if fifo else 10000} for SQS"
                               f"{' FIFO' if fifo else ''} queues.")
            if batch > 10 and window < 1:
                raise _invalid("Maximum batch window in seconds must be greater than 0 if maximum batch size is "
                               "greater than 10")
            for key in ("StartingPosition", "ParallelizationFactor", "BisectBatchOnFunctionError",
                        "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "TumblingWindowInSeconds"):
                if doc.get(key) not in (None, False):
                    raise _invalid(f"Unsupported {key} for SQS event source mapping.") if key != "StartingPosition" \
                        else _invalid("StartingPosition is not valid for SQS event sources.")
            scaling = doc.get("ScalingConfig") or {}
            if scaling and not 2 <= scaling.get("MaximumConcurrency", 2) <= 1000:
                raise _invalid("MaximumConcurrency must be between 2 and 1000.")
        else:
            if not 1 <= batch <= 10000:
                raise _invalid("BatchSize must be between 1 and 10000.")
            if doc.get("StartingPosition") is None:  # AWS's words, its period included
                raise _invalid("1 validation error detected: Value null at 'startingPosition' failed to satisfy "
                               "constraint: Member must not be null.")
            if doc["StartingPosition"] == "AT_TIMESTAMP" and kind == "dynamodb":
                raise _invalid(f"Unsupported starting position for arn type: {doc['EventSourceArn']}")
            if doc["StartingPosition"] == "AT_TIMESTAMP" and doc.get("StartingPositionTimestamp") is None:
                raise _invalid("StartingPositionTimestamp must be provided with AT_TIMESTAMP.")
            if not 1 <= doc.get("ParallelizationFactor", 1) <= 10:
                raise _invalid("ParallelizationFactor must be between 1 and 10.")
            retries = doc.get("MaximumRetryAttempts", -1)
            if not -1 <= retries <= 10000:
                raise _invalid("MaximumRetryAttempts must be between -1 and 10000.")
            age = doc.get("MaximumRecordAgeInSeconds", -1)
            if age != -1 and not 60 <= age <= 604800:
                raise _invalid("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.")
            if not 0 <= (doc.get("TumblingWindowInSeconds") or 0) <= 900:
                raise _invalid("TumblingWindowInSeconds must be between 0 and 900.")
        if not 0 <= window <= 300:
            raise _invalid("MaximumBatchingWindowInSeconds must be between 0 and 300.")
        for kind_ in doc.get("FunctionResponseTypes") or []:
            if kind_ != "ReportBatchItemFailures":
                raise _invalid(f"Unsupported FunctionResponseType {kind_}.")

    @staticmethod
    def _check_destinations(kind: str, config: dict | None) -> None:
        """AWS: a mapping's destination is for a stream's failed batches only (not a queue's, whose
        own redrive policy keeps them; OnSuccess is not supported), and is an SQS queue, an SNS
        topic or an S3 bucket: any other is refused rather than kept and never delivered to."""
        if not config:
            return
        if kind == "sqs" or (config.get("OnSuccess") or {}).get("Destination"):
            raise _invalid("Unsupported DestinationConfig parameter for given event source mapping type.")
        arn = (config.get("OnFailure") or {}).get("Destination")
        if arn and arn.split(":")[2:3] not in (["sqs"], ["sns"], ["s3"]):
            raise _invalid(f"The provided destination config DestinationConfig(onSuccess=null, "
                           f"onFailure=OnFailure(destination={arn})) is invalid.")

    # -- operations ------------------------------------------------------------------------------

    async def create(self, ctx, params):
        source = params.get("EventSourceArn") or ""
        if not source:
            raise _invalid("Unrecognized event source.")
        kind = source_kind(source)
        if kind == "other" or (kind == "kinesis" and "kinesis" not in SERVICES):
            raise _invalid(f"Unsupported event source: overcast runs event source mappings for SQS queues and "
                           f"DynamoDB streams{' and Kinesis streams' if 'kinesis' in SERVICES else ''}: {source}")
        self._check_destinations(kind, params.get("DestinationConfig"))
        function_arn = self._function_arn(ctx, params.get("FunctionName") or "", missing="Function does not exist")
        for existing in self.store.list(ctx.account, ctx.region):
            if existing["EventSourceArn"] == source and existing["FunctionArn"] == function_arn:
                if kind == "sqs":  # AWS words it otherwise for a queue
                    raise AwsError("ResourceConflictException",
                                   f"An event source mapping with SQS arn (\" {source} \") and function "
                                   f"(\" {function_arn.split(':')[6]} \") already exists. Please update or delete the "
                                   f"existing mapping with UUID {existing['UUID']}", 409, Type="User")
                raise AwsError("ResourceConflictException",
                               f"The event source arn (\" {source} \") and function (\" {function_arn.split(':')[6]} \") "
                               f"provided mapping already exists. Please update or delete the existing mapping with "
                               f"UUID {existing['UUID']}", 409, Type="User")
        self._check_filters(params.get("FilterCriteria"))
        mapping_id = str(uuid.uuid4())
        doc = {"UUID": mapping_id, "EventSourceArn": source, "FunctionArn": function_arn,
               "BatchSize": params.get("BatchSize") or (10 if kind == "sqs" else 100),
               "MaximumBatchingWindowInSeconds": params.get("MaximumBatchingWindowInSeconds") or 0,
               "LastModified": time.time(), "State": "Creating", "StateTransitionReason": _user_reason(kind),
               "FunctionResponseTypes": params.get("FunctionResponseTypes") or [],
               "EventSourceMappingArn": f"arn:aws:lambda:{ctx.region}:{ctx.account}:event-source-mapping:{mapping_id}"}
        if kind != "sqs":
            doc.update({"StartingPosition": params.get("StartingPosition"),
                        "ParallelizationFactor": params.get("ParallelizationFactor") or 1,
                        "MaximumRecordAgeInSeconds": params.get("MaximumRecordAgeInSeconds", -1),
                        "BisectBatchOnFunctionError": bool(params.get("BisectBatchOnFunctionError")),
                        "MaximumRetryAttempts": params.get("MaximumRetryAttempts", -1),
                        "TumblingWindowInSeconds": params.get("TumblingWindowInSeconds") or 0,
                        "DestinationConfig": params.get("DestinationConfig") or {"OnFailure": {}},
                        "LastProcessingResult": "No records processed"})
            if params.get("StartingPositionTimestamp") is not None:
                doc["StartingPositionTimestamp"] = params["StartingPositionTimestamp"].timestamp()
        else:
            for key in ("StartingPosition", "ParallelizationFactor", "BisectBatchOnFunctionError",
                        "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "TumblingWindowInSeconds"):
                if params.get(key) is not None:
                    doc[key] = params[key]
        for key in ("FilterCriteria", "ScalingConfig", "KMSKeyArn", "MetricsConfig"):
            if params.get(key):
                doc[key] = params[key]
        if not (doc.get("FilterCriteria") or {}).get("Filters"):  # AWS leaves out criteria without filters
            doc.pop("FilterCriteria", None)
        self._settle(doc, kind)
        for key in ("StartingPosition", "ParallelizationFactor", "BisectBatchOnFunctionError",
                    "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "TumblingWindowInSeconds"):
            if kind == "sqs":
                doc.pop(key, None)
        await self._check_source(ctx, kind, source, function_arn)
        enabled = params.get("Enabled", True)
        stored = dict(doc, State="Enabled" if enabled else "Disabled")
        with self.store.db.transaction():
            self.store.put(stored, ctx.account, ctx.region)
            if params.get("Tags"):
                self.store.put_tags(mapping_id, params["Tags"])
        await self.pollers.prime(stored)
        if enabled:
            self._changed(stored["UUID"], True)
        else:  # AWS answers a mapping created disabled as Disabled at once
            doc["State"] = "Disabled"
        return self._out(doc)

    async def _check_source(self, ctx, kind: str, source: str, function_arn: str = "") -> None:
        providers = self.lam.providers
        parts = source.split(":")
        if len(parts) >= 6 and parts[4] != ctx.account:
            # Another account's queue or stream: its resource policy must let this account read it
            # (DynamoDB and Kinesis keep none in overcast, so theirs are refused).
            owner = await providers.get(kind) if kind in SERVICES else None
            getter = getattr(owner, "resource_policy", None) if kind == "sqs" else None
            principal = iam_policy.caller(ctx)
            action = _SOURCE_ACTIONS[kind]
            request = iam_policy.Request(principal, action, source.split("/stream/")[0] if kind == "kinesis" else source,
                                         iam_policy.request_context(ctx, principal))
            if not iam_policy.allows(getter(source) if getter else None, request, parts[4]):
                raise _invalid(f"The provided execution role does not have permissions to call {action.split(':')[1]} "
                               f"on {_SOURCE_NAMES[kind]}")
        if kind == "sqs":
            sqs = await providers.get("sqs")
            parts = source.split(":")
            queue = sqs._queue(parts[4], parts[3], parts[5])
            if queue is None:
                raise _invalid("Error occurred while ReceiveMessage. SQS Error Code: "
                               "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does "
                               "not exist.")
            if function_arn:
                account, region, name, qualifier = self.lam._parse_name(ctx.account, ctx.region, function_arn)
                timeout = self.lam._resolve(account, region, name, qualifier)[0].get("Timeout", 3)
                if queue.visibility_timeout < timeout:
                    raise _invalid(f"Queue visibility timeout: {queue.visibility_timeout} seconds is less than "
                                   f"Function timeout: {timeout} seconds")
        elif kind == "dynamodb":
            ddb = await providers.get("dynamodb")
            try:
                ddb.streams.shard_ids(source)
            except AwsError:
                raise _invalid(f"Stream not found: {source}") from None
        elif kind == "kinesis":
            kinesis = await providers.get("kinesis")
            try:
                kinesis.shard_ids(source)
            except AwsError:
                raise _invalid(f"Stream not found: {source}") from None

    @staticmethod
    def _out(doc: dict) -> dict:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def _get(self, ctx, mapping_id: str) -> dict:
        found = self.store.get(mapping_id or "")
        if found is None or (found[1], found[2]) != (ctx.account, ctx.region):
            raise _not_found("The resource you requested does not exist.")
        return found[0]

    def tagged(self, ctx, arn: str) -> str:
        """The UUID of the mapping an EventSourceMappingArn names (TagResource, UntagResource, ListTags)."""
        found = self.store.get(arn.rsplit(":", 1)[-1])
        if found is None or found[0]["EventSourceMappingArn"] != arn:
            raise AwsError("ResourceNotFoundException", f"Event source mapping not found: {arn}", 404, Type="User")
        return found[0]["UUID"]

    def get(self, ctx, params):
        return self._out(self._get(ctx, params.get("UUID")))

    def update(self, ctx, params):
        doc = self._get(ctx, params.get("UUID"))
        if doc["State"] in ("Creating", "Updating", "Deleting", "Enabling", "Disabling"):
            raise AwsError("ResourceInUseException", "Cannot update the event source mapping because it is in use.",
                           400, Type="User")
        kind = source_kind(doc["EventSourceArn"])
        updated = dict(doc)
        if params.get("FunctionName"):
            updated["FunctionArn"] = self._function_arn(ctx, params["FunctionName"])
        for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "FilterCriteria", "ScalingConfig",
                    "FunctionResponseTypes", "ParallelizationFactor", "MaximumRecordAgeInSeconds",
                    "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds",
                    "DestinationConfig", "KMSKeyArn", "MetricsConfig"):
            if key in params:
                updated[key] = params[key]
        self._check_filters(updated.get("FilterCriteria"))
        if "DestinationConfig" in params:
            self._check_destinations(kind, params["DestinationConfig"])
        if not (updated.get("FilterCriteria") or {}).get("Filters"):
            updated.pop("FilterCriteria", None)
        self._settle(updated, kind)
        enabled = params.get("Enabled")
        answer_state = "Updating"
        if enabled is True and doc["State"] == "Disabled":
            answer_state = "Enabling"
        elif enabled is False and doc["State"] == "Enabled":
            answer_state = "Disabling"
        now_enabled = doc["State"] == "Enabled" if enabled is None else enabled
        updated["State"] = "Enabled" if now_enabled else "Disabled"
        updated["LastModified"] = time.time()
        updated["StateTransitionReason"] = _user_reason(kind)
        self.store.put(updated, ctx.account, ctx.region)
        self._changed(updated["UUID"], now_enabled)
        return self._out(dict(updated, State=answer_state))

    def delete(self, ctx, params):
        doc = self._get(ctx, params.get("UUID"))
        self.store.delete(doc["UUID"])
        self._changed(doc["UUID"], False)
        return self._out(dict(doc, State="Deleting"))

    def list(self, ctx, params):
        items = self.store.list(ctx.account, ctx.region)
        if params.get("EventSourceArn"):
            items = [m for m in items if m["EventSourceArn"] == params["EventSourceArn"]]
        if params.get("FunctionName"):
            account, region, name, qualifier = self.lam._parse_name(ctx.account, ctx.region, params["FunctionName"])
            arn = self.lam._arn(account, region, name, qualifier)
            items = [m for m in items if m["FunctionArn"] == arn or (not qualifier and
                                                                      m["FunctionArn"].startswith(arn + ":"))]
        return page(items, params, "EventSourceMappings", default_limit=100, render=self._out)
