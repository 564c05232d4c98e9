"""AWS Lambda: the functions API, execution through real runtime interface clients (overcast.runtime),
synchronous and asynchronous invocation with retries and destinations, function URLs, layers,
concurrency — and the internal invoke API other services use (`invoke_function`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import math
import os
import random
import re
import secrets
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from overcast import tracing
from overcast.aws import policy as iam_policy
from overcast.aws import tags as reserved_tags
from overcast.aws.context import HttpRequest, HttpResponse
from overcast.aws.errors import AwsError
from overcast.aws.protocols.validate import AWS_RUNTIME_LIST
from overcast.engine.targets import DeliveryError, deliver, store_record
from overcast.runtime import layers as layer_files
from overcast.runtime import mounts, node_runtimes, node_sdk, python_runtimes
from overcast.runtime.commands import (
    NODE_RUNTIMES,
    PROVIDED_RUNTIMES,
    PYTHON_RUNTIMES,
    RUBY_RUNTIMES,
    command_for,
    ruby_for,
)
from overcast.runtime.isolation import Isolation
from overcast.runtime.pool import Pools, Throttled
from overcast.runtime.sandbox import FunctionSpec, Outcome
from overcast.runtime.spares import register_installed
from overcast.services.base import Provider
from overcast.services.cloudwatch.common import dimensions_key
from overcast.services.lambda_ import code as codes
from overcast.services.lambda_.paging import page
from overcast.services.lambda_.signing import CodeSigning
from overcast.services.lambda_.store import LambdaStore

log = logging.getLogger("overcast.lambda")

SUPPORTED_RUNTIMES = PYTHON_RUNTIMES + NODE_RUNTIMES + RUBY_RUNTIMES + PROVIDED_RUNTIMES
# The runtimes AWS lists when ListLayers' or ListLayerVersions' CompatibleRuntime is not one it
# knows: its own set, in its order, with names the API model does not have (its recorded answer)
AWS_LAYER_RUNTIME_LIST = (
    "ruby3.5", "ruby2.6", "dotnetcore1.0", "python3.7", "nodejs8.10", "nasa", "ruby2.7", "python2.7-greengrass",
    "dotnetcore2.0", "python3.8", "java21", "dotnet6", "dotnetcore2.1", "python3.9", "java11", "nodejs6.10", "provided",
    "dotnetcore3.1", "dotnet8", "java25", "java17", "nodejs", "nodejs4.3", "java8.al2", "go1.x", "dotnet10",
    "nodejs20.x", "go1.9", "byol", "nodejs10.x", "provided.al2023", "nodejs22.x", "python3.10", "java8", "nodejs12.x",
    "python3.11", "nodejs24.x", "nodejs8.x", "python3.12", "nodejs14.x", "nodejs8.9", "nodejs26.x", "python3.13",
    "python3.14", "nodejs16.x", "python3.15", "provided.al2", "nodejs4.3-edge", "nodejs18.x", "ruby3.2", "python3.4",
    "ruby3.3", "ruby3.4", "ruby2.5", "python3.6", "python2.7")


def _model_runtimes() -> list[str]:
    """The Runtime enum of the service model: the runtimes a request may name at all."""
    from overcast.aws.models import load_service_model

    return load_service_model("lambda").shapes["Runtime"]["enum"]
# runtimes past AWS's "block function create/update" date (docs: Lambda runtimes, deprecated runtimes):
# AWS refuses them with its own message, whether overcast could run them or not (`provided`, Amazon Linux 1;
# python3.8 and nodejs16.x since March 2026)
DEPRECATED_RUNTIMES = {"python2.7", "python3.6", "python3.7", "python3.8", "nodejs16.x", "nodejs", "nodejs4.3",
                       "nodejs4.3-edge", "nodejs6.10",
                       "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "java8", "dotnetcore1.0",
                       "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0", "ruby2.5", "ruby2.7", "go1.x",
                       "provided"}
# the runtimes AWS offers SnapStart for (docs: "Improving startup performance with Lambda SnapStart"):
# Java 11 and later, Python 3.12 and later, .NET 8 and later; of these overcast runs the Python ones
SNAPSTART_RUNTIMES = frozenset(("java11", "java17", "java21", "java25", "python3.12", "python3.13", "python3.14",
                                "dotnet8", "dotnet10"))
# fields GetFunction has and ListFunctions/ListVersionsByFunction leave out (AWS's answers)
_NOT_LISTED = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
               "LastUpdateStatusReasonCode", "RuntimeVersionConfig")
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
MAX_RESPONSE = 6 * 1024 * 1024 + 100  # a synchronous response's limit, as AWS's error names it (6291556 bytes)
TAIL_BYTES = 4096
# Recursive loop detection (docs/lambda.md): AWS stops "the next invocation" once a function has
# been invoked more than 16 times in the same chain of requests (counted in the trace header's Lineage)
RECURSION_LIMIT = 16
URL_FORBIDDEN = (b'{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: '
                 b'https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}')
_URL_REPLACED_HEADERS = frozenset(("cookie", "connection", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port",
                                   "x-forwarded-proto", "x-amzn-tls-version", "x-amzn-tls-cipher-suite"))
RECURSION_MESSAGE = ("Lambda has detected your function being invoked in a recursive loop with other AWS resources "
                     "and stopped your function's invocation.")
RESERVED_ENV = {"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
                "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
                "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}
_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$")
_PARTIAL = re.compile(r"^(\d{12}):function:([a-zA-Z0-9-_]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$")
_SHORT = re.compile(r"^(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$")
_LOOSE = re.compile(r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:[a-z]{2}(?:-gov)?-[a-z]+-\d:)?(?:\d{12}:)?(?:function:)?"
                    r"(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$")
# the resources TagResource, UntagResource and ListTags take (AWS's pattern, which their errors quote)
_TAGGABLE = re.compile(r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
                       r"(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|"
                       r"code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)")
_LAYER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):(\d+)$")
_ALIAS = re.compile(r"^(?!^[0-9]+$)([a-zA-Z0-9-_]+)$")


@dataclass(slots=True)
class InvokeResult:
    status: int  # 200 (RequestResponse), 202 (Event), 204 (DryRun)
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed
    log_tail: str | None  # base64 of the last 4 KB of the log, when asked for
    executed_version: str = "$LATEST"
    request_id: str = ""


def _timestamp(when: float | None = None) -> str:
    """Lambda's LastModified format: 2024-01-02T03:04:05.678+0000."""
    moment = datetime.fromtimestamp(when if when is not None else time.time(), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _public(config: dict) -> dict:
    return {k: v for k, v in config.items() if not k.startswith("_")}


# Operations whose IAM action is not lambda:<operation name>.
_IAM_ACTIONS = {"Invoke": "lambda:InvokeFunction", "InvokeWithResponseStream": "lambda:InvokeFunction"}


def _not_found(arn: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Function not found: {arn}", 404, Type="User")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, 400, Type="User")


def _conflict(message: str) -> AwsError:
    return AwsError("ResourceConflictException", message, 409, Type="User")


class LambdaProvider(Provider):
    service = "lambda"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = LambdaStore(self.db)
        config = self.config
        self.account_limit = int(getattr(config, "lambda_concurrency", 0) or 1000)
        idle = float(os.environ.get("OVERCAST_LAMBDA_IDLE_SECONDS", 300))
        self.retry_delay = float(os.environ.get("OVERCAST_LAMBDA_RETRY_DELAY", 60))
        self.throttle_delay = float(os.environ.get("OVERCAST_LAMBDA_THROTTLE_DELAY", 1))
        # the asynchronous invocations this node runs at once; it claims queued events while it has room
        self.async_limit = max(1, int(os.environ.get("OVERCAST_LAMBDA_ASYNC_CONCURRENCY", 16)))
        self.pools = Pools(self.account_limit, idle, providers.coordination.live_nodes,
                           self.config.python_runtimes_path, self.config.node_runtimes_path)
        # a cluster's `overcast status` shows each node's sandboxes and the invocations they run
        providers.coordination.add_load("sandboxes", lambda: sum(len(p.all) for p in self.pools.pools.values()))
        providers.coordination.add_load("invocations", lambda: sum(self.pools.running_account.values()))
        self.code_root = os.path.join(config.data_dir, "lambda")
        # running as root: each function's sandboxes run as a user of their own (docs/security.md)
        self.isolation = Isolation.create()
        self._tasks: set[asyncio.Task] = set()
        # provisioned concurrency being started, per (account, region, name, qualifier)
        self._prewarms: dict[tuple[str, str, str, str], asyncio.Task] = {}
        # the queue of asynchronous invocations (lambda_events), shared by a cluster's nodes
        coordination = providers.coordination
        self._node = coordination.node_id
        self._events_running = 0
        self._events_wanted = False  # events may be due that no node claimed yet
        self._due_timer: asyncio.TimerHandle | None = None  # one timer: the earliest due event known
        self._due_at = math.inf
        self._events_channel = coordination.channel("lambda-events")  # None on a single node
        if self._events_channel is not None:
            self._events_channel.subscribe(self._event_queued, lambda: self._want_events())
        coordination.on_nodes_gone(lambda: self._spawn(self._free_dead_claims()))
        # reserved concurrency is the cluster's, in the database (lambda_slots); one node counts
        # in memory (runtime/pool.py), with no statement per invoke
        self._shared_slots = coordination.cluster
        self._unreleased: list[tuple] = []  # slots whose release failed (the database away): _release_later
        self._endpoint = f"http://127.0.0.1:{config.port or 4566}"
        self._logs = None  # the CloudWatch Logs provider, once loaded
        self._metric_points: dict[tuple[str, str], dict] = {}  # AWS/Lambda metrics to write: _note_metrics
        self._metrics_timer: asyncio.TimerHandle | None = None
        self._specs: dict[tuple, FunctionSpec] = {}  # (arn, version, revision, endpoint) -> spec: _cached_spec
        from overcast.services.lambda_.mappings import EventSourceMappings

        self.mappings = EventSourceMappings(self)  # event source mappings: mappings.py, engine/esm.py
        self.signing = CodeSigning(self, _timestamp)  # code signing configurations: signing.py

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        # queued asynchronous invocations: those a dead node (or this server's last run) held wait
        # again, then this node takes its share of what is due
        await self._free_dead_claims()
        self._want_events()
        for account, region, name, qualifier, config in self.store.all_provisioned():
            self._prewarms[(account, region, name, qualifier)] = self._spawn(self._prewarm(
                account, region, name, qualifier, config.get("RequestedProvisionedConcurrentExecutions", 0)))
        # one-time work kept off the first invocation's path: choosing the interpreters of the
        # runtimes in use, and loading the CloudWatch Logs provider that takes functions' logs
        self.pools.interpreters.prepare(self.store.runtimes())
        # a Python runtime started ahead of the first cold start (runtime/pool.py: Spares)
        self.pools.spares.want(sys.executable, self.isolation is not None)
        self._spawn(self._load_logs())
        await self.mappings.start()
        # whether the usual runtimes can run as a sandbox user is being found out since start-up
        # (isolation.start_probes, called by the server)

    async def _load_logs(self) -> None:
        self._logs = await self.providers.get("logs")

    async def stop(self) -> None:
        self.mappings.stop()
        self._cancel_due_timer()
        for task in list(self._tasks):
            task.cancel()
        try:  # what runs here now waits again: another node takes it at once (on one node: the next start)
            if self.store.release_claims(self._node) and self._events_channel is not None:
                self._events_channel.publish(0)
            if self._shared_slots:
                self.store.release_slots(self._node)
        except Exception as e:
            log.warning("releasing this node's asynchronous invocations: %s", e)
        self.pools.stop()
        if self.isolation is not None:
            self.isolation.close()

    def reset(self) -> None:
        self._metric_points.clear()
        self.mappings.reset()
        self._specs.clear()
        self._cancel_due_timer()
        self.pools.stop()

    # -- code signing configurations (delegated to signing.py) ---------------------------------

    def create_code_signing_config(self, ctx, params):
        return self.signing.create(ctx, params)

    def get_code_signing_config(self, ctx, params):
        return self.signing.get(ctx, params)

    def update_code_signing_config(self, ctx, params):
        return self.signing.update(ctx, params)

    def delete_code_signing_config(self, ctx, params):
        return self.signing.delete(ctx, params)

    def list_code_signing_configs(self, ctx, params):
        return self.signing.list(ctx, params)

    def list_functions_by_code_signing_config(self, ctx, params):
        return self.signing.list_functions(ctx, params)

    def put_function_code_signing_config(self, ctx, params):
        return self.signing.put_for_function(ctx, params)

    def get_function_code_signing_config(self, ctx, params):
        return self.signing.get_for_function(ctx, params)

    def delete_function_code_signing_config(self, ctx, params):
        return self.signing.delete_for_function(ctx, params)

    # -- event source mappings (delegated to mappings.py) --------------------------------------

    async def create_event_source_mapping(self, ctx, params):
        return await self.mappings.create(ctx, params)

    def get_event_source_mapping(self, ctx, params):
        return self.mappings.get(ctx, params)

    def update_event_source_mapping(self, ctx, params):
        return self.mappings.update(ctx, params)

    def delete_event_source_mapping(self, ctx, params):
        return self.mappings.delete(ctx, params)

    def list_event_source_mappings(self, ctx, params):
        return self.mappings.list(ctx, params)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _learn_endpoint(self, ctx) -> None:
        if not self.config.port and ctx is not None and ctx.request is not None and ctx.request.host:
            host = ctx.request.host
            port = host.rsplit(":", 1)[1] if ":" in host else "80"
            self._endpoint = f"http://127.0.0.1:{port}"

    # -- names and ARNs ------------------------------------------------------------------------

    def _arn(self, account, region, name, qualifier=None) -> str:
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def _parse_name(self, account, region, text: str, qualifier: str | None = None) -> tuple[str, str, str, str | None]:
        """FunctionName in any of its forms -> (account, region, name, qualifier)."""
        text = text or ""
        m = _ARN.match(text)
        if m:
            region_, account_, name, derived = m.groups()
            if region_ != region:
                raise AwsError("ResourceNotFoundException",
                               f"Functions from '{region_}' are not reachable in this region ('{region}')", 404, Type="User")
            account = account_
        else:
            m = _PARTIAL.match(text)
            if m:
                account, name, derived = m.groups()
            else:
                # AWS's own pattern, whose parts are all optional: "arn:aws:lambda:<region>:<account>:function"
                # reads as the function named "function"
                m = _SHORT.match(text) or _LOOSE.match(text)
                if not m:
                    raise AwsError("ValidationException",
                                   f"1 validation error detected: Value '{text}' at 'functionName' failed to satisfy "
                                   "constraint: Member must satisfy regular expression pattern: "
                                   "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
                                   "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
                name, derived = m.group(m.re.groupindex["name"]), m.group(m.re.groupindex["qualifier"])
        if derived and qualifier and derived != qualifier:
            raise _invalid("The derived qualifier from the function name does not match the specified qualifier.")
        return account, region, name, qualifier or derived

    def _name_in(self, ctx, text: str, qualifier: str | None = None) -> tuple[str, str, str, str | None]:
        """_parse_name for a request: a function of another account is refused (before saying
        whether it exists) unless its resource policy (AddPermission) allows the action."""
        account, region, name, qualifier = self._parse_name(ctx.account, ctx.region, text, qualifier)
        if account != ctx.account:
            self._authorize(ctx, account, region, name, qualifier)
        return account, region, name, qualifier

    def _authorize(self, ctx, account, region, name, qualifier) -> None:
        doc = self.store.get_doc("lambda_policies", account, region, name, "qualifier", qualifier or "")
        principal = iam_policy.caller(ctx)
        request = iam_policy.Request(principal, _IAM_ACTIONS.get(ctx.operation) or f"lambda:{ctx.operation}",
                                 self._arn(account, region, name, qualifier), iam_policy.request_context(ctx, principal))
        message = iam_policy.refusal(doc and _public(doc), request, account)
        if message is not None:
            raise AwsError("AccessDeniedException", message, 403, Type="User")

    def resource_policy(self, arn: str) -> dict | None:
        """The function's policy (of the qualifier the ARN names), for deliveries from another
        account (engine/targets.py)."""
        m = _ARN.match(arn or "")
        if not m:
            return None
        region, account, name, qualifier = m.groups()
        doc = self.store.get_doc("lambda_policies", account, region, name, "qualifier", qualifier or "")
        return _public(doc) if doc else None

    def _function(self, account, region, name):
        found = self.store.get_function(account, region, name)
        if found is None:
            raise _not_found(self._arn(account, region, name))
        return found

    def _resolve(self, account, region, name, qualifier) -> tuple[dict, str, str | None]:
        """The configuration a qualifier selects: (config, executed version, alias or None).
        An alias with weighted routing picks one of its versions at random by weight."""
        return self._resolve_for_invoke(account, region, name, qualifier)[:3]

    def _resolve_for_invoke(self, account, region, name, qualifier) -> tuple[dict, str, str | None, int | None, int]:
        """_resolve, and what an invocation's concurrency check needs from the same query: the
        function's reserved concurrency and the sum reserved in its account and region."""
        found = self.store.get_invocable(account, region, name)
        if found is None:  # AWS names what was asked for: the qualifier as given, $LATEST without one
            raise _not_found(self._arn(account, region, name, qualifier or "$LATEST"))
        config, reserved, reserved_total = found
        if qualifier in (None, "", "$LATEST"):
            return config, "$LATEST", None, reserved, reserved_total
        if qualifier.isdigit():
            version = self.store.get_version(account, region, name, int(qualifier))
            if version is None:
                raise _not_found(self._arn(account, region, name, qualifier))
            return version, qualifier, None, reserved, reserved_total
        alias = self.store.get_doc("lambda_aliases", account, region, name, "alias", qualifier)
        if alias is None:
            raise _not_found(self._arn(account, region, name, qualifier))
        chosen = alias["FunctionVersion"]
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if weights:
            roll = random.random()
            for version, weight in weights.items():
                if roll < weight:
                    chosen = version
                    break
                roll -= weight
        if chosen == "$LATEST":
            return config, "$LATEST", qualifier, reserved, reserved_total
        version = self.store.get_version(account, region, name, int(chosen))
        if version is None:
            raise _not_found(self._arn(account, region, name, chosen))
        return version, chosen, qualifier, reserved, reserved_total

    # -- code ----------------------------------------------------------------------------------

    def _code_key(self, account, region, sha_hex) -> str:
        return f"lambda/{account}/{region}/{sha_hex}.zip"

    async def _code_from_params(self, ctx, code: dict) -> bytes:
        if code.get("ImageUri"):
            raise _invalid("Container image functions (ImageUri) are not supported by overcast; use a .zip package.")
        if code.get("ZipFile") is not None:
            data = code["ZipFile"]
            if len(data) > codes.MAX_ZIPPED:  # checked before the request's size (AWS's recorded answer)
                raise AwsError("RequestEntityTooLargeException",
                               f"Zipped size must be smaller than {codes.MAX_ZIPPED} bytes", 413)
            return data
        if code.get("S3Bucket") and code.get("S3Key"):
            return await self._from_s3(ctx, code["S3Bucket"], code["S3Key"], code.get("S3ObjectVersion"))
        raise _invalid("Please provide a source for function code.")

    async def _from_s3(self, ctx, bucket: str, key: str, version: str | None) -> bytes:
        """Code from an S3 object, through the S3 provider (its `read_object` when it has one)."""
        from overcast.services import SERVICES

        if "s3" not in SERVICES:
            raise _invalid("Code from S3 (S3Bucket/S3Key) is not supported by overcast yet; upload the code as ZipFile.")
        s3 = await self.providers.get("s3")
        try:
            reader = getattr(s3, "read_object", None)
            if reader is not None:
                data = reader(ctx.account, ctx.region, bucket, key, version)
                return await data if asyncio.iscoroutine(data) else data
            obj = s3._object(s3._bucket(bucket), key, version)
            if not obj.blob:
                return b""
            return await asyncio.to_thread(self.blobs.get, obj.blob)
        except AwsError as e:
            raise _invalid(f"Error occurred while GetObject. S3 Error Code: {e.code}. S3 Error Message: {e.message}") from None

    async def _store_code(self, account, region, data: bytes) -> tuple[str, str, int]:
        sha_b64, sha_hex = await asyncio.to_thread(codes.inspect_zip, data) if len(data) > 1 << 20 else codes.inspect_zip(data)
        key = self._code_key(account, region, sha_hex)
        if not self.blobs.exists(key):
            await asyncio.to_thread(self.blobs.put, key, data)
        return sha_b64, sha_hex, len(data)

    def _prepare(self, account, region, config: dict) -> None:
        """Get a new or changed function ready for its first invocation in the background (as
        AWS's Pending state does): its runtime's interpreter chosen, its code unpacked."""
        self.pools.interpreters.prepare([config["Runtime"]])
        self._spawn(self._unpack_ahead(account, region, config["_Sha"], config["FunctionName"]))
        if config["Runtime"].startswith("python"):
            self._spawn(self._spare_ahead(config["Runtime"]))

    async def _unpack_ahead(self, account, region, sha_hex, name) -> None:
        try:
            if self.isolation is None:
                await self._code_dir(account, region, sha_hex)
            else:  # the function's own copy, owned by its own user (as _spec places it)
                await self._placed(self.isolation.uid_for(account, region, name), account, region, sha_hex, "code")
        except Exception:  # the invocation that needs the code meets (and reports) the same error
            log.debug("unpacking code %s ahead of its first invocation failed", sha_hex, exc_info=True)

    async def _spare_ahead(self, runtime: str) -> None:
        python = await self.pools.interpreters.python_for(runtime)
        installed = self.pools.interpreters.installed(runtime)
        if installed is not None:  # its spares as its sandboxes run it (_spec): at /var/lang as root
            lang = installed.prefix if await self._at_aws_paths() and mounts.exists(mounts.LANG) else None
            python = installed.at_lang if lang else installed.executable
            register_installed(python, lang, installed.site)
        self.pools.spares.want(python, self.isolation is not None)

    async def _code_dir(self, account, region, sha_hex, kind="code") -> str:
        """The code's unpacked directory, unpacked (in a thread) on first use."""
        target = os.path.join(self.code_root, kind, sha_hex)
        if not os.path.isdir(target):
            key = self._code_key(account, region, sha_hex)
            await asyncio.to_thread(lambda: codes.unpack(self.blobs.local_path(key), target))
        return target

    # -- configuration validation --------------------------------------------------------------

    def _check_runtime(self, runtime: str | None, handler: str | None) -> None:
        if runtime is not None and runtime not in _model_runtimes():
            raise _invalid(f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value "
                           f"set: [{', '.join(AWS_RUNTIME_LIST)}] or be a valid ARN")
        if runtime in DEPRECATED_RUNTIMES:
            raise _invalid(f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS "
                           "Lambda functions. We recommend you use a supported runtime while creating or updating "
                           "functions.")
        if runtime is not None and runtime not in SUPPORTED_RUNTIMES:
            raise _invalid(f"The runtime parameter of {runtime} is not supported by overcast. "
                           f"Valid runtimes: [{', '.join(SUPPORTED_RUNTIMES)}]")
        if runtime is not None and runtime.startswith("nodejs") and not _which("node"):
            raise _invalid(f"The runtime {runtime} needs Node.js, which is not installed on the overcast host.")
        if runtime is not None and runtime.startswith("ruby") and ruby_for(runtime) is None:
            raise _invalid(f"The runtime {runtime} needs Ruby, which is not installed on the overcast host.")

    @staticmethod
    def _snap_start(runtime: str, snap_start: dict | None, current: dict | None = None) -> dict:
        """The function's SnapStart setting ($LATEST's: OptimizationStatus is On only for published
        versions), as given or kept; refused for a runtime AWS offers no SnapStart for."""
        apply_on = (snap_start if snap_start is not None else current or {}).get("ApplyOn") or "None"
        if apply_on == "PublishedVersions" and runtime not in SNAPSTART_RUNTIMES:
            raise _invalid(f"{runtime} is not supported for SnapStart enabled functions.")
        return {"ApplyOn": apply_on, "OptimizationStatus": "Off"}

    def _check_environment(self, env: dict | None) -> None:
        variables = (env or {}).get("Variables") or {}
        reserved = sorted(k for k in variables if k in RESERVED_ENV)
        if reserved:
            raise _invalid("Lambda was unable to configure your environment variables because the environment variables "
                           "you have provided contains reserved keys that are currently not supported for modification. "
                           f"Reserved keys used in this request: {', '.join(reserved)}")
        size = len(orjson.dumps(variables))
        if size > 4096:
            raise _invalid("Lambda was unable to configure your environment variables because the environment variables "
                           f"you have provided exceeded the 4KB limit. String measured: {orjson.dumps(variables).decode()}")

    def _check_role(self, role: str | None) -> None:
        if role is not None and not re.match(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$", role):
            raise AwsError("ValidationException", f"1 validation error detected: Value '{role}' at 'role' failed to "
                           "satisfy constraint: Member must satisfy regular expression pattern: "
                           "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")

    def _layers(self, account, region, arns: list[str] | None) -> list[dict]:
        out = []
        for arn in arns or []:
            m = _LAYER_ARN.match(arn)
            if not m:
                raise AwsError("ValidationException", f"1 validation error detected: Value '[{arn}]' at 'layers' failed "
                               "to satisfy constraint: Member must satisfy constraint: [Member must have length less than "
                               "or equal to 140, Member must satisfy regular expression pattern: "
                               "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]")
            if m.group(1) != region:
                raise _invalid(f"Layers are not in the same region as the function. Layers are expected to be in "
                               f"region {region}.")
            same = next((o["Arn"] for o in out if o["Arn"].rsplit(":", 1)[0] == arn.rsplit(":", 1)[0]), None)
            if same is not None:
                raise _invalid("Two different versions of the same layer are not allowed to be referenced in the same "
                               f"function. {same} and {arn} are versions of the same layer.")
            layer = self.store.get_layer_version(m.group(2), m.group(1), m.group(3), int(m.group(4)))
            if layer is None:
                raise _invalid(f"Layer version {arn} does not exist.")
            out.append({"Arn": arn, "CodeSize": layer["Content"]["CodeSize"], "_Sha": layer["_Sha"],
                        "_Account": m.group(2), "_Region": m.group(1)})
        if len(out) > 5:
            raise _invalid("Cannot reference more than 5 layers.")
        return out

    # -- functions -----------------------------------------------------------------------------

    async def create_function(self, ctx, params):
        self._learn_endpoint(ctx)
        name = params["FunctionName"]
        if len(name) > 64 and _SHORT.match(name):
            raise AwsError("InvalidParameterValueException", f"1 validation error detected: Value '{name}' at "
                           "'functionName' failed to satisfy constraint: Member must have length less than or equal to 64",
                           400, Type="User")
        if not _NAME.match(name):
            account, region, name, qualifier = self._name_in(ctx, name)
            if qualifier:
                raise _invalid("FunctionName cannot be a qualified ARN.")
        package = params.get("PackageType") or "Zip"
        if package == "Image":
            raise _invalid("Container image functions (PackageType Image) are not supported by overcast yet.")
        runtime, handler = params.get("Runtime"), params.get("Handler")
        if not runtime:
            raise _invalid("Runtime must be specified for a .zip deployment package.")
        if not handler:
            raise _invalid("Handler must be specified for a .zip deployment package.")
        self._check_runtime(runtime, handler)
        self._check_role(params.get("Role"))
        self._check_environment(params.get("Environment"))
        if len(params.get("Tags") or {}) > 50:
            raise _invalid("Number of tags exceeds resource tag limit.")
        layers = self._layers(ctx.account, ctx.region, params.get("Layers"))
        snap_start = self._snap_start(runtime, params.get("SnapStart"))
        if self.store.get_function(ctx.account, ctx.region, name) is not None:
            raise _conflict(f"Function already exist: {name}")
        signed_by = params.get("CodeSigningConfigArn") and self.signing.checked_arn(ctx, params["CodeSigningConfigArn"])
        self.signing.check_code(ctx.account, ctx.region, signed_by)
        data = await self._code_from_params(ctx, params.get("Code") or {})
        sha_b64, sha_hex, size = await self._store_code(ctx.account, ctx.region, data)
        config = {
            "FunctionName": name,
            "FunctionArn": self._arn(ctx.account, ctx.region, name),
            "Runtime": runtime,
            "Role": params["Role"],
            "Handler": handler,
            "CodeSize": size,
            "Description": params.get("Description") or "",
            "Timeout": params.get("Timeout") or 3,
            "MemorySize": params.get("MemorySize") or 128,
            "LastModified": _timestamp(),
            "CodeSha256": sha_b64,
            "Version": "$LATEST",
            "TracingConfig": params.get("TracingConfig") or {"Mode": "PassThrough"},
            "RevisionId": str(uuid.uuid4()),
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": params.get("Architectures") or ["x86_64"],
            "EphemeralStorage": params.get("EphemeralStorage") or {"Size": 512},
            "SnapStart": snap_start,
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}",
                              **(params.get("LoggingConfig") or {})},
            "_Sha": sha_hex,
        }
        if signed_by:
            config["_CodeSigningConfigArn"] = signed_by
        if params.get("Environment") is not None:
            config["Environment"] = {"Variables": (params["Environment"].get("Variables") or {})}
        if params.get("DeadLetterConfig", {}).get("TargetArn"):
            config["DeadLetterConfig"] = {"TargetArn": params["DeadLetterConfig"]["TargetArn"]}
        if layers:
            config["Layers"] = layers
        if params.get("VpcConfig"):
            config["VpcConfig"] = {**params["VpcConfig"], "VpcId": ""}
        if params.get("KMSKeyArn"):
            config["KMSKeyArn"] = params["KMSKeyArn"]
        if not self.store.create_function(ctx.account, ctx.region, name, config, params.get("Tags") or {}, time.time()):
            raise _conflict(f"Function already exist: {name}")
        self._prepare(ctx.account, ctx.region, config)
        out = self._config_out(config)
        # the answer describes the function while Pending: AWS gives the Pending state a revision of its own,
        # superseded when the function becomes Active (which overcast's function already is)
        out.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating",
                   RevisionId=str(uuid.uuid4()))
        out.pop("LastUpdateStatus", None)
        if params.get("Publish"):  # AWS's answer stays the Pending function's, naming the version published
            out["Version"] = self._publish(ctx.account, ctx.region, name, params.get("Description"))["Version"]
        return out

    def _config_out(self, config: dict, listed: bool = False) -> dict:
        out = _public(config)
        if "Layers" in out:
            out["Layers"] = [_public(layer) for layer in out["Layers"]]
        if out.get("Runtime"):
            # the runtime's version: overcast runs one version of each runtime, named by the runtime
            arn = out["FunctionArn"].split(":")
            digest = hashlib.sha256(out["Runtime"].encode()).hexdigest()
            out["RuntimeVersionConfig"] = {"RuntimeVersionArn": f"arn:{arn[1]}:lambda:{arn[3]}::runtime:{digest}"}
        if (out.get("LoggingConfig") or {}).get("LogFormat") == "JSON":
            # JSON logs filter by level; AWS's defaults are INFO for both
            out["LoggingConfig"] = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **out["LoggingConfig"]}
        if listed:
            for key in _NOT_LISTED:
                out.pop(key, None)
        return out

    def get_function_configuration(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        return self._config_out_as(self._config_for_qualifier(account, region, name, qualifier), qualifier)

    def _config_out_as(self, config: dict, qualifier: str | None) -> dict:
        """_config_out of what a qualifier selected: AWS's FunctionArn names the qualifier as asked
        for ($LATEST, a version or an alias)."""
        out = self._config_out(config)
        if qualifier:
            out["FunctionArn"] = ":".join(out["FunctionArn"].split(":")[:7] + [qualifier])
        return out

    def _config_for_qualifier(self, account, region, name, qualifier) -> dict:
        if qualifier and self.store.get_function(account, region, name) is None:
            raise _not_found(self._arn(account, region, name, qualifier))  # AWS names the qualifier asked for
        config, _t, _r, _l = self._function(account, region, name)
        if qualifier in (None, "$LATEST"):
            return config
        if qualifier.isdigit():
            version = self.store.get_version(account, region, name, int(qualifier))
        else:
            alias = self.store.get_doc("lambda_aliases", account, region, name, "alias", qualifier)
            version = None
            if alias is not None:
                if alias["FunctionVersion"] == "$LATEST":
                    return config
                version = self.store.get_version(account, region, name, int(alias["FunctionVersion"]))
        if version is None:
            raise _not_found(self._arn(account, region, name, qualifier))
        return version

    def get_function(self, ctx, params):
        self._learn_endpoint(ctx)
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        config = self._config_for_qualifier(account, region, name, qualifier)
        _c, tags, reserved, _l = self._function(account, region, name)
        out = {
            "Configuration": self._config_out_as(config, qualifier),
            "Code": {"RepositoryType": "S3",
                     "Location": f"{ctx.endpoint}/_overcast/lambda/code/{account}/{region}/{config['_Sha']}.zip"},
        }
        if tags and config.get("Version", "$LATEST") == "$LATEST":  # (a published version's answer has none: AWS's)
            out["Tags"] = tags
        if reserved is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return out

    def _update_latest(self, account, region, name, config: dict) -> None:
        config["LastModified"] = _timestamp()
        config["RevisionId"] = str(uuid.uuid4())
        config["LastUpdateStatus"] = "Successful"
        self.store.put_config(account, region, name, config)
        self._prepare(account, region, config)

    def _check_revision(self, config: dict, revision: str | None) -> None:
        if revision and revision != config.get("RevisionId"):
            raise AwsError("PreconditionFailedException",
                           "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                           "API to retrieve the latest Revision Id", 412, Type="User")

    def update_function_configuration(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        config, _t, _r, _l = self._function(account, region, name)
        self._check_revision(config, params.get("RevisionId"))
        runtime = params.get("Runtime")
        self._check_runtime(runtime, params.get("Handler"))
        self._check_role(params.get("Role"))
        if "Environment" in params:
            self._check_environment(params["Environment"])
        snap_start = self._snap_start(runtime or config["Runtime"], params.get("SnapStart"), config.get("SnapStart"))
        for key in ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime", "TracingConfig",
                    "EphemeralStorage", "KMSKeyArn"):
            if params.get(key) is not None:
                config[key] = params[key]
        if "Environment" in params:
            config["Environment"] = {"Variables": (params["Environment"] or {}).get("Variables") or {}}
        if "DeadLetterConfig" in params:
            target = (params["DeadLetterConfig"] or {}).get("TargetArn")
            if target:
                config["DeadLetterConfig"] = {"TargetArn": target}
            else:
                config.pop("DeadLetterConfig", None)
        if "Layers" in params:
            layers = self._layers(account, region, params["Layers"])
            if layers:
                config["Layers"] = layers
            else:
                config.pop("Layers", None)
        if params.get("LoggingConfig"):
            config["LoggingConfig"] = {**config.get("LoggingConfig", {}), **params["LoggingConfig"]}
        config["SnapStart"] = snap_start
        self._update_latest(account, region, name, config)
        out = self._config_out(config)
        # as for CreateFunction: the InProgress update has its own revision, superseded once it is Successful
        out.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being created.",
                   LastUpdateStatusReasonCode="Creating", RevisionId=str(uuid.uuid4()))
        return out

    async def update_function_code(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        config, _t, _r, _l = self._function(account, region, name)
        self._check_revision(config, params.get("RevisionId"))
        if params.get("Architectures"):
            config["Architectures"] = params["Architectures"]
        self.signing.check_code(account, region, config.get("_CodeSigningConfigArn"))
        data = await self._code_from_params(ctx, params)
        sha_b64, sha_hex, size = await self._store_code(account, region, data)
        config.update(CodeSha256=sha_b64, CodeSize=size, _Sha=sha_hex)
        self._update_latest(account, region, name, config)
        out = self._config_out(config)
        # as for CreateFunction: the InProgress update has its own revision, superseded once it is Successful
        out.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being created.",
                   LastUpdateStatusReasonCode="Creating", RevisionId=str(uuid.uuid4()))
        if params.get("Publish"):  # AWS answers the new version as it is being created: Pending
            out = self._config_out(self._publish(account, region, name, None))
            out.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
            out.pop("LastUpdateStatus", None)
        return out

    def delete_function(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        if qualifier == "$LATEST":  # AWS says so before looking for the function
            raise _invalid("$LATEST version cannot be deleted without deleting the function.")
        self._function(account, region, name)  # a missing function is named without the qualifier
        if qualifier:
            if not qualifier.isdigit():
                raise _invalid("Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.")
            for alias in self.store.list_docs("lambda_aliases", account, region, name):
                if alias["FunctionVersion"] == qualifier:
                    raise _conflict(f"Unable to delete version because the following aliases reference it: [{alias['Name']}]")
            # deleting a version that does not exist succeeds: AWS's DeleteFunction is idempotent there
            self.store.delete_version(account, region, name, int(qualifier))
            return {"StatusCode": 204}
        self.store.delete_function(account, region, name)
        self.pools.retire_function(account, region, name)
        return {"StatusCode": 204}  # AWS's answer to deleting a function: 204 No Content

    def list_functions(self, ctx, params):
        limit = params.get("MaxItems") or 50
        if limit < 1 or limit > 10000:
            raise _invalid("MaxItems must be between 1 and 10000.")
        after = params.get("Marker") or ""
        rows = self.store.list_functions(ctx.account, ctx.region, after, limit + 1)
        functions = []
        every = params.get("FunctionVersion") == "ALL"
        for name, config in rows[:limit]:
            # listing every version, AWS names $LATEST's ARN with its qualifier, as ListVersionsByFunction does
            functions.append(self._latest_listed(config) if every else self._config_out(config, listed=True))
            if every:
                functions += [self._config_out(v, listed=True)
                              for v in self.store.list_versions(ctx.account, ctx.region, name)]
        out = {"Functions": functions}
        if len(rows) > limit:
            out["NextMarker"] = rows[limit - 1][0]
        return out

    def _latest_listed(self, config: dict) -> dict:
        out = self._config_out(config, listed=True)
        out["FunctionArn"] += ":$LATEST"
        return out

    # -- versions ------------------------------------------------------------------------------

    def _publish(self, account, region, name, description) -> dict:
        config, _t, _r, _l = self._function(account, region, name)
        latest = self.store.latest_version(account, region, name)
        # AWS publishes no new version while $LATEST is unchanged since the last one (its revision
        # then is the one that version was published from); versions from before "_PublishedFrom"
        # was kept compare what they run
        if latest is not None and (latest.get("_PublishedFrom") == config["RevisionId"] if "_PublishedFrom" in latest
                                   else all(latest.get(k) == config.get(k) for k in (
                "CodeSha256", "Runtime", "Handler", "Timeout", "MemorySize", "Environment", "Layers", "Role"))):
            return latest

        # publishing is a change of $LATEST too: AWS gives it a new RevisionId (the one the version
        # then records as published from)
        latest_revision = str(uuid.uuid4())

        def make(number: int) -> dict:
            version = dict(config)
            version.update(Version=str(number), FunctionArn=self._arn(account, region, name, str(number)),
                           RevisionId=str(uuid.uuid4()), LastModified=_timestamp(), _PublishedFrom=latest_revision)
            snap_start = config.get("SnapStart") or {}
            if snap_start.get("ApplyOn") == "PublishedVersions":  # a version runs from its "snapshot" (docs/lambda.md)
                version["SnapStart"] = {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
            if description is not None:
                version["Description"] = description
            return version

        with self.store.db.transaction():
            version = self.store.add_version(account, region, name, make)
            self.store.put_config(account, region, name, dict(config, RevisionId=latest_revision))
        return version

    def publish_version(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        config, _t, _r, _l = self._function(account, region, name)
        if params.get("CodeSha256") and params["CodeSha256"] != config["CodeSha256"]:
            raise _invalid(f"CodeSHA256 ({params['CodeSha256']}) is different from current CodeSHA256 in $LATEST "
                           f"({config['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST.")
        self._check_revision(config, params.get("RevisionId"))
        return self._config_out(self._publish(account, region, name, params.get("Description")))

    def list_versions_by_function(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        config, _t, _r, _l = self._function(account, region, name)
        versions = [self._latest_listed(config)] + [self._config_out(v, listed=True)
                                                              for v in self.store.list_versions(account, region, name)]
        return page(versions, params, "Versions")

    # -- aliases -------------------------------------------------------------------------------

    def _check_alias_target(self, account, region, name, version, routing) -> None:
        """An alias's version and routing weights, checked in AWS's order with AWS's messages."""
        weights = (routing or {}).get("AdditionalVersionWeights") or {}
        if len(weights) > 1:
            raise _invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
        for extra, weight in weights.items():
            if not 0 <= weight <= 1:
                raise AwsError("ValidationException", f"1 validation error detected: Value '{{{extra}={float(weight)}}}' "
                               "at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must "
                               "satisfy constraint: [Member must have value less than or equal to 1.0, Member must have "
                               "value greater than or equal to 0.0, Member must not be null]")
            if not extra.isdigit():
                raise AwsError("ValidationException", f"1 validation error detected: Value '{{{extra}={float(weight)}}}' "
                               "at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must "
                               "satisfy constraint: [Member must have length less than or equal to 1024, Member must have "
                               "length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
            if extra == version:
                raise _invalid(f"Invalid function version {version}. Function version {version} is already included in "
                               "routing configuration.")
        if version != "$LATEST" and (not version.isdigit() or self.store.get_version(account, region, name, int(version)) is None):
            raise _not_found(self._arn(account, region, name, version))
        for extra in weights:
            if self.store.get_version(account, region, name, int(extra)) is None:
                raise _not_found(self._arn(account, region, name, extra))
        if weights and version == "$LATEST":
            raise AwsError("InvalidParameterValueException",
                           "$LATEST is not supported for an alias pointing to more than 1 version")

    def _alias_out(self, alias: dict) -> dict:
        return _public(alias)

    def create_alias(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        if self.store.get_function(account, region, name) is None:  # AWS names the version asked for
            raise _not_found(self._arn(account, region, name, params["FunctionVersion"]))
        alias_name = params["Name"]
        if not _ALIAS.match(alias_name):
            raise _invalid(f"Alias name {alias_name} is invalid: it must not be a number.")
        if self.store.get_doc("lambda_aliases", account, region, name, "alias", alias_name) is not None:
            raise _conflict(f"Alias already exists: {self._arn(account, region, name, alias_name)}")
        self._check_alias_target(account, region, name, params["FunctionVersion"], params.get("RoutingConfig"))
        alias = {"AliasArn": self._arn(account, region, name, alias_name), "Name": alias_name,
                 "FunctionVersion": params["FunctionVersion"], "Description": params.get("Description") or "",
                 "RevisionId": str(uuid.uuid4())}
        if (params.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
            alias["RoutingConfig"] = params["RoutingConfig"]
        self.store.put_doc("lambda_aliases", account, region, name, "alias", alias_name, alias)
        return self._alias_out(alias)

    def _alias(self, account, region, name, alias_name) -> dict:
        self._function(account, region, name)
        alias = self.store.get_doc("lambda_aliases", account, region, name, "alias", alias_name)
        if alias is None:
            raise AwsError("ResourceNotFoundException", f"Alias not found: {self._arn(account, region, name, alias_name)}",
                           404, Type="User")
        return alias

    def get_alias(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._function(account, region, name)
        alias = self.store.get_doc("lambda_aliases", account, region, name, "alias", params["Name"])
        if alias is None:  # GetAlias's words; UpdateAlias says "Alias not found"
            raise AwsError("ResourceNotFoundException",
                           f"Cannot find alias arn: {self._arn(account, region, name, params['Name'])}", 404, Type="User")
        return self._alias_out(alias)

    def update_alias(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        alias = self._alias(account, region, name, params["Name"])
        if params.get("RevisionId") and params["RevisionId"] != alias["RevisionId"]:
            raise AwsError("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
                           "Call the GetFunction/GetAlias API to retrieve the latest Revision Id", 412, Type="User")
        version = params.get("FunctionVersion") or alias["FunctionVersion"]
        routing = params["RoutingConfig"] if "RoutingConfig" in params else alias.get("RoutingConfig")
        self._check_alias_target(account, region, name, version, routing)
        alias.update(FunctionVersion=version, RevisionId=str(uuid.uuid4()))
        if params.get("Description") is not None:
            alias["Description"] = params["Description"]
        if routing and routing.get("AdditionalVersionWeights"):  # empty weights clear the routing, as on AWS
            alias["RoutingConfig"] = routing
        else:
            alias.pop("RoutingConfig", None)
        self.store.put_doc("lambda_aliases", account, region, name, "alias", params["Name"], alias)
        return self._alias_out(alias)

    def delete_alias(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._function(account, region, name)
        with self.store.transaction():  # the alias's provisioned concurrency goes with it, as on AWS
            self.store.delete_doc("lambda_aliases", account, region, name, "alias", params["Name"])
            provisioned = self.store.delete_doc("lambda_provisioned", account, region, name, "qualifier", params["Name"])
        if provisioned:
            self.pools.retire_function(account, region, name)
        return {}

    def list_aliases(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._function(account, region, name)
        aliases = self.store.list_docs("lambda_aliases", account, region, name)
        if params.get("FunctionVersion"):
            aliases = [a for a in aliases if a["FunctionVersion"] == params["FunctionVersion"]]
        aliases.sort(key=lambda a: a["Name"])
        return page(aliases, params, "Aliases", render=self._alias_out)

    # -- resource policy -----------------------------------------------------------------------

    def _policy_target(self, account, region, name, qualifier) -> None:
        """The function, version or alias a permission names: a missing alias is "Cannot find alias
        arn", as AWS's permission APIs say."""
        if qualifier and not qualifier.isdigit() and _ALIAS.match(qualifier) and \
                self.store.get_function(account, region, name) is not None and \
                self.store.get_doc("lambda_aliases", account, region, name, "alias", qualifier) is None:
            raise AwsError("ResourceNotFoundException",
                           f"Cannot find alias arn: {self._arn(account, region, name, qualifier)}", 404, Type="User")
        self._config_for_qualifier(account, region, name, qualifier)

    def add_permission(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        if qualifier == "$LATEST":
            raise _invalid("We currently do not support adding policies for $LATEST.")
        principal = params["Principal"]
        if not (principal == "*" or principal.isdigit() and len(principal) == 12 or principal.startswith("arn:aws")
                or principal.endswith((".amazonaws.com", ".amazonaws.com.cn"))):
            raise _invalid("The provided principal was invalid. Please check the principal and try again.")
        self._policy_target(account, region, name, qualifier)
        key = qualifier or ""
        current = self.store.get_doc("lambda_policies", account, region, name, "qualifier", key)
        policy = current or {"Version": "2012-10-17", "Id": "default", "Statement": []}
        # with no policy yet, the revision to match is the one of what the permission is added to
        # (an alias's, a version's, the function's), as AWS's recorded answers show
        if current is not None:
            revision = current.get("_Revision")
        elif qualifier and not qualifier.isdigit():
            revision = self.store.get_doc("lambda_aliases", account, region, name, "alias", qualifier)["RevisionId"]
        else:
            revision = self._config_for_qualifier(account, region, name, qualifier).get("RevisionId")
        if params.get("RevisionId") and params["RevisionId"] != revision:
            raise AwsError("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
                           "Call the GetPolicy API to retrieve the latest Revision Id", 412, Type="User")
        sid = params["StatementId"]
        if any(s.get("Sid") == sid for s in policy["Statement"]):
            raise _conflict(f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
                            "or remove the existing statement.")
        principal = params["Principal"]
        if principal == "*":
            principal_doc = "*"
        elif principal.endswith(".amazonaws.com") or principal.endswith(".amazonaws.com.cn"):
            principal_doc = {"Service": principal}
        elif principal.isdigit():
            principal_doc = {"AWS": f"arn:aws:iam::{principal}:root"}
        else:
            principal_doc = {"AWS": principal}
        statement = {"Sid": sid, "Effect": "Allow", "Principal": principal_doc, "Action": params["Action"],
                     "Resource": self._arn(account, region, name, qualifier)}
        condition: dict = {}
        if params.get("SourceAccount"):
            condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
        if params.get("EventSourceToken"):
            condition.setdefault("StringEquals", {})["lambda:EventSourceToken"] = params["EventSourceToken"]
        if params.get("PrincipalOrgID"):
            condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
        if params.get("FunctionUrlAuthType"):
            condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = params["FunctionUrlAuthType"]
        if params.get("SourceArn"):
            condition.setdefault("ArnLike", {})["AWS:SourceArn"] = params["SourceArn"]
        if condition:
            statement["Condition"] = condition
        policy["Statement"].append(statement)
        policy["_Revision"] = str(uuid.uuid4())
        self.store.put_doc("lambda_policies", account, region, name, "qualifier", key, policy, revision=policy["_Revision"])
        return {"Statement": orjson.dumps(statement).decode()}

    def remove_permission(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        if self.store.get_function(account, region, name) is None:
            raise AwsError("ResourceNotFoundException", f"No policy found for: {self._arn(account, region, name, qualifier)}",
                           404, Type="User")
        self._policy_target(account, region, name, qualifier)
        key = qualifier or ""
        policy = self.store.get_doc("lambda_policies", account, region, name, "qualifier", key)
        if policy is None:
            raise AwsError("ResourceNotFoundException", "No policy is associated with the given resource.", 404, Type="User")
        statements = (policy or {}).get("Statement", [])
        kept = [s for s in statements if s.get("Sid") != params["StatementId"]]
        if policy is None or len(kept) == len(statements):
            raise AwsError("ResourceNotFoundException", "Statement " + params["StatementId"] + " is not found in resource policy.",
                           404, Type="User")
        if params.get("RevisionId") and params["RevisionId"] != policy.get("_Revision"):
            raise AwsError("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
                           "Call the GetPolicy API to retrieve the latest Revision Id", 412, Type="User")
        if kept:
            policy["Statement"] = kept
            policy["_Revision"] = str(uuid.uuid4())
            self.store.put_doc("lambda_policies", account, region, name, "qualifier", key, policy, revision=policy["_Revision"])
        else:
            self.store.delete_doc("lambda_policies", account, region, name, "qualifier", key)
        return {}

    def get_policy(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        self._function(account, region, name)
        try:
            self._config_for_qualifier(account, region, name, qualifier)
        except AwsError:  # a missing version or alias has no policy: AWS says so
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404,
                           Type="User") from None
        policy = self.store.get_doc("lambda_policies", account, region, name, "qualifier", qualifier or "")
        if policy is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404, Type="User")
        return {"Policy": orjson.dumps(_public(policy)).decode(), "RevisionId": policy["_Revision"]}

    # -- tags ----------------------------------------------------------------------------------

    def _tag_target(self, ctx, arn: str) -> tuple[dict, object]:
        """The tags of the resource an ARN names, and how to store new ones: a function (not a
        version or alias) or an event source mapping, as AWS tags."""
        if not _TAGGABLE.fullmatch(arn or ""):
            raise AwsError("ValidationException", f"1 validation error detected: Value '{arn}' at 'resource' failed to "
                           f"satisfy constraint: Member must satisfy regular expression pattern: {_TAGGABLE.pattern}")
        kind = arn.split(":")[5]
        if kind == "event-source-mapping":
            mapping = self.mappings.tagged(ctx, arn)
            return self.mappings.store.tags(mapping), lambda tags: self.mappings.store.put_tags(mapping, tags)
        if kind != "function":
            raise _invalid(f"Tags on resources of type {kind} are not supported by overcast yet.")
        region, account, name, qualifier = _ARN.match(arn).groups()
        if account != ctx.account:
            self._authorize(ctx, account, region, name, None)
        if qualifier:
            raise _invalid("Tags on function aliases and versions are not supported. Please specify a function ARN.")
        config, tags, _r, _l = self._function(account, region, name)

        def save(tags: dict) -> None:  # on AWS a change of tags is a new revision of the function
            config["RevisionId"] = str(uuid.uuid4())
            with self.store.transaction():
                self.store.put_tags(account, region, name, tags)
                self.store.put_config(account, region, name, config)
        return tags, save

    def tag_resource(self, ctx, params):
        tags, save = self._tag_target(ctx, params["Resource"])
        if not params.get("Tags"):
            raise _invalid("An error occurred and the request cannot be processed.")  # AWS's answer to no tags
        if bad := reserved_tags.refused(ctx, params.get("Tags") or {}):
            raise _invalid(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        tags.update(params.get("Tags") or {})
        if len(tags) > 50:
            raise _invalid("Number of tags exceeds resource tag limit.")
        save(tags)
        return {}

    def untag_resource(self, ctx, params):
        tags, save = self._tag_target(ctx, params["Resource"])
        if not params.get("TagKeys"):  # an empty list is no tagKeys parameter at all in the query string
            raise AwsError("ValidationException", "1 validation error detected: Value null at 'tagKeys' failed to "
                           "satisfy constraint: Member must not be null")
        if bad := reserved_tags.refused(ctx, params.get("TagKeys") or []):
            raise _invalid(f"Tag keys beginning with aws: are reserved for AWS use and cannot be added, changed or removed: {', '.join(bad)}")
        for key in params.get("TagKeys") or []:
            tags.pop(key, None)
        save(tags)
        return {}

    def list_tags(self, ctx, params):
        return {"Tags": self._tag_target(ctx, params["Resource"])[0]}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's functions in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(f"arn:aws:lambda:{ctx.region}:{ctx.account}:function:{name}", orjson.loads(tags))
                for name, tags in self.store.tagged(ctx.account, ctx.region)]

    # -- concurrency ---------------------------------------------------------------------------

    def _min_unreserved(self) -> int:
        return min(100, self.account_limit // 10)

    def put_function_concurrency(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"])
        if qualifier:
            raise _invalid("This operation is permitted on Lambda functions only. Aliases and versions do not support "
                           "this operation. Please specify either a function name or an unqualified function ARN.")
        if self.store.get_function(account, region, name) is None:
            raise _not_found(self._arn(account, region, name, "$LATEST"))  # AWS names $LATEST here
        value = params["ReservedConcurrentExecutions"]
        provisioned = self._provisioned_total(account, region, name)
        if value < provisioned:  # (AWS's message, its spaces included, and without a Type)
            raise AwsError("InvalidParameterValueException", f" ReservedConcurrentExecutions  {value} should not be "
                           f"lower than function's total provisioned concurrency [{provisioned}].")
        others = self.store.reserved_total(account, region, exclude=name)
        minimum = self._min_unreserved()
        if self.account_limit - others - value < minimum:
            raise AwsError("InvalidParameterValueException", f"Specified ReservedConcurrentExecutions for function "
                           f"decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}].")
        self.store.set_reserved(account, region, name, value)
        return {"ReservedConcurrentExecutions": value}

    def get_function_concurrency(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        reserved = self._function(account, region, name)[2]
        return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}

    def delete_function_concurrency(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._function(account, region, name)
        self.store.set_reserved(account, region, name, None)
        return {}

    # -- recursive loop detection ------------------------------------------------------------------
    # A function-level setting (not a version's): "_RecursiveLoop" in $LATEST's stored configuration,
    # absent for AWS's default, Terminate. Read by an invocation only when its loop count passes the
    # limit (_execute).

    def put_function_recursion_config(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        value = params["RecursiveLoop"]  # (its enum is checked with the request's shape: ValidationException)
        with self.store.transaction():
            config = self._function(account, region, name)[0]
            if value == "Terminate":
                config.pop("_RecursiveLoop", None)
            else:
                config["_RecursiveLoop"] = value
            self.store.put_config(account, region, name, config)
        return {"RecursiveLoop": value}

    def get_function_recursion_config(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        return {"RecursiveLoop": self._function(account, region, name)[0].get("_RecursiveLoop", "Terminate")}

    def _stops_loops(self, account, region, name) -> bool:
        found = self.store.get_function(account, region, name)
        return found is None or found[0].get("_RecursiveLoop", "Terminate") == "Terminate"

    def get_account_settings(self, ctx, params):
        count, total = self.store.account_usage(ctx.account, ctx.region)
        reserved = self.store.reserved_total(ctx.account, ctx.region)
        return {
            "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": codes.MAX_UNZIPPED,
                             "CodeSizeZipped": codes.MAX_ZIPPED, "ConcurrentExecutions": self.account_limit,
                             "UnreservedConcurrentExecutions": self.account_limit - reserved},
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": count},
        }

    def _provisioned_target(self, account, region, name, qualifier: str) -> str:
        """The version a provisioned-concurrency qualifier (a published version or an alias) runs,
        or AWS's error naming what is missing."""
        if qualifier == "$LATEST":
            raise _invalid("The function resource provided must be an alias or a published version.")
        if qualifier.isdigit():
            if self.store.get_version(account, region, name, int(qualifier)) is None:
                raise _not_found(self._arn(account, region, name, qualifier))
            return qualifier
        alias = self.store.get_doc("lambda_aliases", account, region, name, "alias", qualifier)
        if alias is None:
            raise AwsError("ResourceNotFoundException",
                           f"Cannot find alias arn: {self._arn(account, region, name, qualifier)}", 404, Type="User")
        return alias["FunctionVersion"]

    def _check_provisioned_conflict(self, account, region, name, qualifier: str, version: str) -> None:
        """A version is provisioned either itself or through an alias that points to it, not both (AWS)."""
        for other in self.store.list_provisioned(account, region, name):
            if other == qualifier:
                continue
            if qualifier.isdigit() and not other.isdigit() and self._alias_version(account, region, name, other) == version:
                raise _conflict("Version is pointed by a Provisioned Concurrency alias")
            if not qualifier.isdigit() and other == version:
                raise _conflict("Alias can't be used for Provisioned Concurrency configuration on an already "
                                "Provisioned version")

    def _alias_version(self, account, region, name, alias: str) -> str | None:
        found = self.store.get_doc("lambda_aliases", account, region, name, "alias", alias)
        return found and found["FunctionVersion"]

    def _provisioned_total(self, account, region, name, exclude: str | None = None) -> int:
        """The provisioned concurrency requested for a function's versions and aliases together."""
        return sum(c.get("RequestedProvisionedConcurrentExecutions", 0)
                   for q, c in self.store.list_provisioned(account, region, name).items() if q != exclude)

    def _check_provisioned_limits(self, account, region, name, qualifier: str, count: int) -> None:
        # provisioned concurrency comes out of the function's reserved concurrency when it has one
        # (all of it may be provisioned), else out of the account's unreserved concurrency, which
        # keeps its minimum (AWS's quotas)
        provisioned = self._provisioned_total(account, region, name, exclude=qualifier)
        reserved = self._function(account, region, name)[2]
        if reserved is not None:
            if provisioned + count > reserved:
                raise _invalid("Requested Provisioned Concurrency should not be greater than the "
                               "reservedConcurrentExecution for function")
            return
        unreserved = self.account_limit - self.store.reserved_total(account, region) - provisioned
        if count > unreserved:
            raise AwsError("InvalidParameterValueException", "Specified ConcurrentExecutions for function is greater "
                           f"than account's unreserved concurrency [{unreserved}].")
        if unreserved - count < self._min_unreserved():
            raise AwsError("InvalidParameterValueException", "Specified ConcurrentExecutions for function decreases "
                           f"account's UnreservedConcurrentExecution below its minimum value of [{self._min_unreserved()}].")

    async def put_provisioned_concurrency_config(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        qualifier = params["Qualifier"]
        if qualifier == "$LATEST":
            raise _invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
        count = params["ProvisionedConcurrentExecutions"]
        if count < 1:
            raise AwsError("ValidationException", f"1 validation error detected: Value '{count}' at "
                           "'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value "
                           "greater than or equal to 1")
        version = self._provisioned_target(account, region, name, qualifier)
        self._check_provisioned_conflict(account, region, name, qualifier, version)
        self._check_provisioned_limits(account, region, name, qualifier, count)
        # IN_PROGRESS until the sandboxes have started, then READY (or FAILED), as AWS reports it
        config = {"RequestedProvisionedConcurrentExecutions": count, "AvailableProvisionedConcurrentExecutions": 0,
                  "AllocatedProvisionedConcurrentExecutions": 0, "Status": "IN_PROGRESS", "LastModified": _timestamp()}
        self.store.put_doc("lambda_provisioned", account, region, name, "qualifier", qualifier, config)
        self._prewarms[(account, region, name, qualifier)] = self._spawn(
            self._prewarm(account, region, name, qualifier, count))
        return config

    async def provisioned_settled(self, account, region, name, qualifier) -> dict | None:
        """A provisioned-concurrency configuration once its sandboxes have started (READY) or could
        not (FAILED), as CloudFormation waits for it; None when there is none."""
        prewarm = self._prewarms.get((account, region, name, qualifier))
        if prewarm is not None:
            await asyncio.shield(prewarm)
        return self.store.get_doc("lambda_provisioned", account, region, name, "qualifier", qualifier)

    async def _prewarm(self, account, region, name, qualifier, count) -> None:
        try:
            config, version, _alias = self._resolve(account, region, name, qualifier)
            ready = await self.pools.prewarm(await self._spec(account, region, config, version), count)
            outcome = {"AvailableProvisionedConcurrentExecutions": ready,
                       "AllocatedProvisionedConcurrentExecutions": ready, "Status": "READY"}
            if ready < count:
                # (a sandbox fails to start when the function's init does: AWS's reason for that)
                outcome.update(Status="FAILED", StatusReason="FUNCTION_ERROR_INIT_FAILURE")
        except Exception as e:
            log.exception("provisioned concurrency for %s:%s", name, qualifier)
            outcome = {"Status": "FAILED", "StatusReason": f"The sandboxes could not be started: {e}"}
        current = self.store.get_doc("lambda_provisioned", account, region, name, "qualifier", qualifier)
        if current is not None and current.get("RequestedProvisionedConcurrentExecutions") == count:
            # still the configuration this prewarm was for (not deleted or replaced meanwhile)
            self.store.put_doc("lambda_provisioned", account, region, name, "qualifier", qualifier,
                               {**current, **outcome})
        key = (account, region, name, qualifier)
        if self._prewarms.get(key) is asyncio.current_task():
            del self._prewarms[key]

    def get_provisioned_concurrency_config(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._provisioned_target(account, region, name, params["Qualifier"])
        config = self.store.get_doc("lambda_provisioned", account, region, name, "qualifier", params["Qualifier"])
        if config is None:
            raise AwsError("ProvisionedConcurrencyConfigNotFoundException",
                           "No Provisioned Concurrency Config found for this function", 404, Type="User")
        return config

    def delete_provisioned_concurrency_config(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._provisioned_target(account, region, name, params["Qualifier"])
        self.store.delete_doc("lambda_provisioned", account, region, name, "qualifier", params["Qualifier"])
        self.pools.retire_function(account, region, name)  # pre-warmed sandboxes go (idle ones at once)
        return {}

    def list_provisioned_concurrency_configs(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        self._function(account, region, name)
        configs = [{"FunctionArn": self._arn(account, region, name, qualifier), **config}
                   for qualifier, config in self.store.list_provisioned(account, region, name).items()]
        return page(configs, params, "ProvisionedConcurrencyConfigs")

    # -- event invoke configs ------------------------------------------------------------------

    def _check_destinations(self, account, region, name, destinations: dict) -> None:
        """An EventInvokeConfig's destinations, with AWS's answers: a supported service, an existing
        function, not the function itself."""
        for which in ("OnSuccess", "OnFailure"):
            arn = (destinations.get(which) or {}).get("Destination")
            if arn is None:
                continue
            kind = arn.split(":")[2] if arn.startswith("arn:") and arn.count(":") >= 5 else ""
            # an S3 bucket keeps failures only (AWS: "on failure only")
            if kind not in ("sqs", "sns", "events", "lambda", *(("s3",) if which == "OnFailure" else ())):
                shown = {w: (f"{w[0].lower()}{w[1:]}=" + (f"{w}(destination={(destinations.get(w) or {}).get('Destination')})"
                                                          if (destinations.get(w) or {}).get("Destination") else "null"))
                         for w in ("OnSuccess", "OnFailure")}
                raise _invalid(f"The provided destination config DestinationConfig({shown['OnSuccess']}, "
                               f"{shown['OnFailure']}) is invalid.")
            if kind == "lambda":
                target = self._parse_name(account, region, arn)
                if (target[0], target[2]) == (account, name):
                    raise _invalid("You can't specify the function as a destination for itself.")
                if self.store.get_function(target[0], target[1], target[2]) is None:
                    raise _invalid(f"The destination ARN {arn} is invalid.")

    def _event_config_out(self, account, region, name, qualifier, config: dict) -> dict:
        return {**config, "FunctionArn": self._arn(account, region, name, qualifier or "$LATEST")}

    def put_function_event_invoke_config(self, ctx, params, merge: bool = False):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        if not merge and not any(f in params for f in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                                                       "DestinationConfig")):
            raise _invalid("You must specify at least one of error handling or destination setting.")
        try:
            self._config_for_qualifier(account, region, name, qualifier)
        except AwsError as e:  # EventInvokeConfig's words for a missing function, version or alias
            raise AwsError("ResourceNotFoundException", "The function doesn't exist.", 404, Type="User") from e
        key = qualifier or "$LATEST"
        current = self.store.get_doc("lambda_event_configs", account, region, name, "qualifier", key) if merge else None
        if merge and current is None:
            raise AwsError("ResourceNotFoundException",
                           f"The function {self._arn(account, region, name, key)} doesn't have an EventInvokeConfig",
                           404, Type="User")
        config = dict(current or {})
        for field in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"):
            if field in params:
                config[field] = params[field]
        destinations = config.get("DestinationConfig") or {}
        self._check_destinations(account, region, name, destinations)
        config["DestinationConfig"] = {"OnSuccess": destinations.get("OnSuccess") or {},
                                       "OnFailure": destinations.get("OnFailure") or {}}
        config["LastModified"] = time.time()
        self.store.put_doc("lambda_event_configs", account, region, name, "qualifier", key, config)
        return self._event_config_out(account, region, name, key, config)

    def update_function_event_invoke_config(self, ctx, params):
        return self.put_function_event_invoke_config(ctx, params, merge=True)

    def get_function_event_invoke_config(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        key = qualifier or "$LATEST"
        # AWS says so whether the function (or its version) is missing or only its config
        config = self.store.get_doc("lambda_event_configs", account, region, name, "qualifier", key)
        if config is None:
            raise AwsError("ResourceNotFoundException",
                           f"The function {self._arn(account, region, name, key)} doesn't have an EventInvokeConfig",
                           404, Type="User")
        return self._event_config_out(account, region, name, key, config)

    def delete_function_event_invoke_config(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        self.get_function_event_invoke_config(ctx, params)
        self.store.delete_doc("lambda_event_configs", account, region, name, "qualifier", qualifier or "$LATEST")
        return {}

    def list_function_event_invoke_configs(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        if self.store.get_function(account, region, name) is None:
            raise AwsError("ResourceNotFoundException", "The function doesn't exist.", 404, Type="User")
        configs = []
        for qualifier in ["$LATEST"] + [v["Version"] for v in self.store.list_versions(account, region, name)] + \
                [a["Name"] for a in self.store.list_docs("lambda_aliases", account, region, name)]:
            config = self.store.get_doc("lambda_event_configs", account, region, name, "qualifier", qualifier)
            if config is not None:
                configs.append(self._event_config_out(account, region, name, qualifier, config))
        return page(configs, params, "FunctionEventInvokeConfigs")

    # -- layers --------------------------------------------------------------------------------

    async def publish_layer_version(self, ctx, params):
        self._learn_endpoint(ctx)
        name = params["LayerName"]
        if name.startswith("arn:"):
            name = name.split(":layer:", 1)[-1]
        data = await self._code_from_params(ctx, params.get("Content") or {})
        sha_b64, sha_hex, size = await self._store_code(ctx.account, ctx.region, data)
        layer_arn = f"arn:aws:lambda:{ctx.region}:{ctx.account}:layer:{name}"

        def make(number: int) -> dict:
            config = {
                "Content": {"Location": f"{ctx.endpoint}/_overcast/lambda/code/{ctx.account}/{ctx.region}/{sha_hex}.zip",
                            "CodeSha256": sha_b64, "CodeSize": size},
                "LayerArn": layer_arn, "LayerVersionArn": f"{layer_arn}:{number}",
                "Description": params.get("Description") or "", "CreatedDate": _timestamp(), "Version": number,
                "_Sha": sha_hex,
            }
            if params.get("LicenseInfo"):
                config["LicenseInfo"] = params["LicenseInfo"]
            for key in ("CompatibleRuntimes", "CompatibleArchitectures"):  # kept as given, an empty list too
                if params.get(key) is not None:
                    config[key] = params[key]
            return config

        return _public(self.store.add_layer_version(ctx.account, ctx.region, name, make))

    def _layer_version(self, ctx, name, number) -> dict:
        _check_layer_number(number)
        layer = self.store.get_layer_version(ctx.account, ctx.region, name, int(number))
        if layer is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404, Type="User")
        return layer

    def get_layer_version(self, ctx, params):
        layer_name = params["LayerName"]
        m = re.match(r"^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)$", layer_name)
        if m:  # a layer's ARN names its account and region (another account's layer too, as ByArn reads it)
            _check_layer_number(params["VersionNumber"])
            layer = self.store.get_layer_version(m.group(2), m.group(1), m.group(3), int(params["VersionNumber"]))
            if layer is None:
                raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404,
                               Type="User")
            return _public(layer)
        name = layer_name.split(":layer:", 1)[-1]
        return _public(self._layer_version(ctx, name, params["VersionNumber"]))

    def get_layer_version_by_arn(self, ctx, params):
        m = _LAYER_ARN.match(params["Arn"])
        if not m:
            raise _invalid(f"Invalid layer version ARN: {params['Arn']}")
        layer = self.store.get_layer_version(m.group(2), m.group(1), m.group(3), int(m.group(4)))
        if layer is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404, Type="User")
        return _public(layer)

    # A layer version's permissions: its resource policy, kept in its config as "_Policy".
    _LAYER_PRINCIPAL = re.compile(r"^(\d{12}|\*|arn:aws[a-zA-Z-]*:iam::\d{12}:root)$")

    def _layer_for_policy(self, ctx, params) -> tuple[str, int, dict]:
        name = params["LayerName"].split(":layer:", 1)[-1]
        number = int(params["VersionNumber"])
        layer = self.store.get_layer_version(ctx.account, ctx.region, name, number)
        if layer is None:
            raise AwsError("ResourceNotFoundException",
                           f"Layer version arn:aws:lambda:{ctx.region}:{ctx.account}:layer:{name}:{number} does not exist.",
                           404, Type="User")
        return name, number, layer

    @staticmethod
    def _layer_revision(layer: dict, revision: str | None) -> None:
        if revision and revision != (layer.get("_Policy") or {}).get("_Revision"):
            raise AwsError("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. "
                           "Call the GetLayerPolicy API to retrieve the latest Revision Id", 412, Type="User")

    def add_layer_version_permission(self, ctx, params):
        action, principal = params["Action"], params["Principal"]
        if action != "lambda:GetLayerVersion":
            raise AwsError("ValidationException", f"1 validation error detected: Value '{action}' at 'action' failed to "
                           "satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion")
        if not self._LAYER_PRINCIPAL.match(principal):
            raise AwsError("ValidationException", f"1 validation error detected: Value '{principal}' at 'principal' failed "
                           "to satisfy constraint: Member must satisfy regular expression pattern: "
                           "\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root")
        if params.get("OrganizationId") and principal != "*":
            raise _invalid("OrganizationId can only be specified when the principal is '*'.")
        name, number, layer = self._layer_for_policy(ctx, params)
        self._layer_revision(layer, params.get("RevisionId"))
        policy = layer.get("_Policy") or {"Version": "2012-10-17", "Id": "default", "Statement": []}
        sid = params["StatementId"]
        if any(s.get("Sid") == sid for s in policy["Statement"]):
            raise _conflict(f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
                            "or remove the existing statement.")
        statement = {"Sid": sid, "Effect": "Allow",
                     "Principal": "*" if principal == "*" else
                     {"AWS": principal if principal.startswith("arn:") else f"arn:aws:iam::{principal}:root"},
                     "Action": action, "Resource": layer["LayerVersionArn"]}
        if params.get("OrganizationId"):
            statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": params["OrganizationId"]}}
        policy["Statement"].append(statement)
        policy["_Revision"] = str(uuid.uuid4())
        layer["_Policy"] = policy
        self.store.set_layer_version(ctx.account, ctx.region, name, number, layer)
        return {"Statement": orjson.dumps(statement).decode(), "RevisionId": policy["_Revision"]}

    def get_layer_version_policy(self, ctx, params):
        _, _, layer = self._layer_for_policy(ctx, params)
        policy = layer.get("_Policy")
        if not policy:
            raise AwsError("ResourceNotFoundException", "No policy is associated with the given resource.", 404, Type="User")
        return {"Policy": orjson.dumps(_public(policy)).decode(), "RevisionId": policy["_Revision"]}

    def remove_layer_version_permission(self, ctx, params):
        name, number, layer = self._layer_for_policy(ctx, params)
        policy = layer.get("_Policy") or {"Statement": []}
        kept = [s for s in policy["Statement"] if s.get("Sid") != params["StatementId"]]
        if len(kept) == len(policy["Statement"]):
            raise AwsError("ResourceNotFoundException", "Statement " + params["StatementId"] + " is not found in resource policy.",
                           404, Type="User")
        self._layer_revision(layer, params.get("RevisionId"))
        if kept:
            policy["Statement"] = kept
            policy["_Revision"] = str(uuid.uuid4())
            layer["_Policy"] = policy
        else:
            layer.pop("_Policy")
        self.store.set_layer_version(ctx.account, ctx.region, name, number, layer)
        return {}

    @staticmethod
    def _check_runtime_filter(params) -> None:
        runtime = params.get("CompatibleRuntime")
        if runtime is not None and runtime not in _model_runtimes():
            raise AwsError("ValidationException", f"1 validation error detected: Value '{runtime}' at "
                           "'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: "
                           f"[{', '.join(AWS_LAYER_RUNTIME_LIST)}]")

    @staticmethod
    def _matches(version: dict, params) -> bool:
        """Whether a layer version declares the CompatibleRuntime and CompatibleArchitecture asked for."""
        runtime, arch = params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
        return (runtime is None or runtime in (version.get("CompatibleRuntimes") or ())) and \
            (arch is None or arch in (version.get("CompatibleArchitectures") or ()))

    def list_layer_versions(self, ctx, params):
        self._check_runtime_filter(params)
        name = params["LayerName"].split(":layer:", 1)[-1]
        versions = [_public(v) for v in self.store.list_layer_versions(ctx.account, ctx.region, name)
                    if self._matches(v, params)]
        for v in versions:
            v.pop("Content", None)
        return {"LayerVersions": versions}

    def list_layers(self, ctx, params):
        self._check_runtime_filter(params)
        layers = []
        for name, latest in self.store.list_layers(ctx.account, ctx.region):
            if not self._matches(latest, params):  # the latest version that matches, if any does
                latest = next((v for v in self.store.list_layer_versions(ctx.account, ctx.region, name)
                               if self._matches(v, params)), None)
                if latest is None:
                    continue
            version = _public(latest)
            version.pop("Content", None)
            layers.append({"LayerName": name, "LayerArn": latest["LayerArn"], "LatestMatchingVersion": version})
        return {"Layers": layers}

    def delete_layer_version(self, ctx, params):
        _check_layer_number(params["VersionNumber"])
        name = params["LayerName"].split(":layer:", 1)[-1]
        self.store.delete_layer_version(ctx.account, ctx.region, name, int(params["VersionNumber"]))
        return {}

    # -- function URLs -------------------------------------------------------------------------

    def _url(self, ctx_endpoint_port: str, url_id: str, region: str) -> str:
        return f"http://{url_id}.lambda-url.{region}.localhost.localstack.cloud:{ctx_endpoint_port}/"

    def _port(self, ctx) -> str:
        host = ctx.request.host if ctx is not None and ctx.request is not None else ""
        return host.rsplit(":", 1)[1] if ":" in host else str(self.config.port or 4566)

    def create_function_url_config(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        _check_url_qualifier(params.get("Qualifier"))
        if qualifier and qualifier.isdigit():
            raise _invalid("Function URLs can only be created for $LATEST or an alias.")
        self._check_url_target(account, region, name, qualifier)
        key = qualifier or "$LATEST"
        if self.store.get_doc("lambda_urls", account, region, name, "qualifier", key) is not None:
            raise _conflict(f"Failed to create function url config for [functionArn = {self._arn(account, region, name, qualifier)}]. "
                            "Error message:  FunctionUrlConfig exists for this Lambda function")
        url_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
        now = _timestamp()
        config = {"FunctionUrl": self._url(self._port(ctx), url_id, region),
                  "FunctionArn": self._arn(account, region, name, qualifier), "AuthType": params["AuthType"],
                  "CreationTime": now, "LastModifiedTime": now, "InvokeMode": params.get("InvokeMode") or "BUFFERED"}
        if params.get("Cors"):
            config["Cors"] = params["Cors"]
        self.store.put_doc("lambda_urls", account, region, name, "qualifier", key, config, url_id=url_id)
        out = dict(config)
        out.pop("LastModifiedTime")
        if params.get("InvokeMode") is None:  # AWS's answer names InvokeMode only when it was given (Get always does)
            out.pop("InvokeMode")
        return out

    def _url_config(self, ctx, params):
        account, region, name, qualifier = self._name_in(ctx, params["FunctionName"],
                                                            params.get("Qualifier"))
        _check_url_qualifier(params.get("Qualifier"))
        key = qualifier or "$LATEST"
        # a missing function, alias or URL config: AWS says the same for each
        config = self.store.get_doc("lambda_urls", account, region, name, "qualifier", key)
        if config is None:
            raise AwsError("ResourceNotFoundException", "The resource you requested does not exist.", 404, Type="User")
        return account, region, name, key, config

    def get_function_url_config(self, ctx, params):
        return self._url_config(ctx, params)[4]

    def _check_url_target(self, account, region, name, qualifier) -> None:
        """Creating or updating a URL config of a missing function or alias: AWS's message differs
        from the one for a missing URL config."""
        if self.store.get_function(account, region, name) is None or (qualifier and self.store.get_doc(
                "lambda_aliases", account, region, name, "alias", qualifier) is None):
            raise AwsError("ResourceNotFoundException", "Function does not exist", 404, Type="User")

    def update_function_url_config(self, ctx, params):
        _a, _r, _n, qualifier = self._name_in(ctx, params["FunctionName"], params.get("Qualifier"))
        _check_url_qualifier(params.get("Qualifier"))
        self._check_url_target(_a, _r, _n, qualifier)
        account, region, name, key, config = self._url_config(ctx, params)
        for field in ("AuthType", "Cors", "InvokeMode"):
            if field in params:
                config[field] = params[field]
        config["LastModifiedTime"] = _timestamp()
        url_id = config["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
        self.store.put_doc("lambda_urls", account, region, name, "qualifier", key, config, url_id=url_id)
        # AWS's answer names InvokeMode when it was given, or when it is not the default (a
        # RESPONSE_STREAM set earlier stays, and is named); Get always names it
        if params.get("InvokeMode") is not None or config.get("InvokeMode") != "BUFFERED":
            return config
        return {k: v for k, v in config.items() if k != "InvokeMode"}

    def delete_function_url_config(self, ctx, params):
        account, region, name, key, _config = self._url_config(ctx, params)
        self.store.delete_doc("lambda_urls", account, region, name, "qualifier", key)
        return {}

    def list_function_url_configs(self, ctx, params):
        account, region, name, _q = self._name_in(ctx, params["FunctionName"])
        if self.store.get_function(account, region, name) is None:  # the URL APIs' words
            raise AwsError("ResourceNotFoundException", "Function does not exist", 404, Type="User")
        return page(self.store.list_docs("lambda_urls", account, region, name), params, "FunctionUrlConfigs")

    # -- invoke --------------------------------------------------------------------------------

    async def _cached_spec(self, account, region, config: dict, version: str) -> FunctionSpec:
        """_spec, once per configuration revision: a FunctionSpec depends only on the configuration
        (whose RevisionId every update, publish or re-creation changes), immutable code and layers,
        and the server's endpoint, so a warm invocation reuses it. Not with verified signatures:
        the role's credentials it carries expire."""
        if self.config.verify_signatures:
            return await self._spec(account, region, config, version)
        key = (config["FunctionArn"], version, config["RevisionId"], self._endpoint)
        spec = self._specs.get(key)
        if spec is None:
            spec = await self._spec(account, region, config, version)
            if len(self._specs) >= 1000:  # revisions no longer invoked go, in bulk
                self._specs.clear()
            self._specs[key] = spec
        return spec

    async def _spec(self, account, region, config: dict, version: str) -> FunctionSpec:
        name = config["FunctionName"]
        isolation, uid = self.isolation, None
        layers = config.get("Layers") or []
        if isolation is None:
            code_dir = await self._code_dir(account, region, config["_Sha"])
            layer_dirs = [await self._code_dir(layer["_Account"], layer["_Region"], layer["_Sha"], "layers")
                          for layer in layers]
            opt_root = os.path.join(self.code_root, "opt")
        else:  # the function's own copy, owned by its own user
            uid = isolation.uid_for(account, region, name)
            code_dir = await self._placed(uid, account, region, config["_Sha"], "code")
            layer_dirs = [await self._placed(uid, layer["_Account"], layer["_Region"], layer["_Sha"], "layers")
                          for layer in layers]
            opt_root = os.path.join(isolation.home(uid), "opt")
        opt_dir = None
        if layer_dirs:  # one layer is /opt as unpacked; several, their merge in order (built once)
            opt_dir = layer_dirs[0]
            if len(layer_dirs) > 1:
                target = os.path.join(opt_root, layer_files.merged_name([layer["_Sha"] for layer in layers]))
                if not os.path.isdir(target):
                    await asyncio.to_thread(layer_files.merge, layer_dirs, target, uid)
                opt_dir = target
        runtime = config["Runtime"]
        python = await self.pools.interpreters.python_for(runtime) if runtime.startswith("python") else ""
        installed = self.pools.interpreters.installed(runtime) if python else None
        node_modules, node = None, None
        if runtime.startswith("nodejs"):
            node = self.pools.interpreters.node_for(runtime)
            node_modules = node_sdk.modules_dir(self.config.node_sdk_path)
            if node_modules is None:
                node_sdk.warn_missing(self.config.node_sdk_path)
        views = await self._mounts(code_dir, opt_dir, python, node_modules, installed, node)
        seen = {target for _, target in views}
        if installed is not None and (installed.prefix, mounts.LANG) in views:
            python = installed.at_lang  # its installation, as AWS's, at /var/lang
        if node is not None and (node_runtimes.prefix(node), mounts.LANG) in views:
            node = os.path.join(mounts.LANG, "bin", "node")  # (likewise)
        argv, limit = command_for(runtime, config["Handler"], code_dir, config["MemorySize"], python,
                                  mounts.TASK if mounts.TASK in seen else None, node)
        if runtime.startswith("provided") and opt_dir and not os.path.lexists(os.path.join(code_dir, "bootstrap")) \
                and os.path.lexists(os.path.join(opt_dir, "bootstrap")):
            # a custom runtime's bootstrap from a layer: AWS looks in the code, then at /opt/bootstrap
            argv = [os.path.join(mounts.OPT if mounts.OPT in seen else opt_dir, "bootstrap")]
        pycache = None
        if mounts.TASK in seen and runtime.startswith("python"):
            # the code is read-only: its .pyc go to a directory of this code and these layers (their
            # directories are named by their content), since a .pyc is checked only against its
            # source's size and time, which two versions' zips may well share
            home = isolation.home(uid) if isolation is not None else self.code_root
            views_name = hashlib.sha256(repr(views).encode()).hexdigest()[:32]
            pycache = await asyncio.to_thread(self._owned_dir, home, "pycache", views_name, uid=uid)
        user_options, tmp_dir, sandbox_uid = [], None, None
        wrapped = "AWS_LAMBDA_EXEC_WRAPPER" in ((config.get("Environment") or {}).get("Variables") or {})
        if uid is not None and await isolation.usable(argv, wrapped):
            user_options, tmp_dir, sandbox_uid = isolation.command(uid), os.path.join(isolation.home(uid), "tmp"), uid
            if mounts.TASK in seen:  # its own user in /etc/passwd, as AWS's sbx_user1051
                views += ((await asyncio.to_thread(mounts.passwd_file, isolation.root, uid), mounts.PASSWD),)
        tmp = None
        if mounts.TASK in seen:  # (as root) a /tmp of its own, of its EphemeralStorage size
            needed = [*(path for path in argv if os.path.isabs(path)), *(source for source, _ in views),
                      node_modules, pycache, os.path.dirname(os.path.abspath(mounts.__file__))]
            if python == sys.executable:  # the server's own Python: its virtualenv's packages (awslambdaric, boto3)
                needed += [sys.prefix, sys.base_prefix]
            if installed is not None:
                needed.append(installed.site)
            tmp = mounts.private_tmp((config.get("EphemeralStorage") or {}).get("Size") or 512, needed)
        credentials = None
        if self.config.verify_signatures:  # the function's SDK signs with its role's credentials
            issued = await (await self.providers.get("sts")).function_credentials(account, config["Role"], name)
            credentials = (issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
        return FunctionSpec(
            key=f"{config['FunctionArn']}:{version}:{config['RevisionId']}", account=account, region=region, name=name,
            version=version, arn=self._arn(account, region, name), runtime=config["Runtime"], handler=config["Handler"],
            memory=config["MemorySize"], timeout=config["Timeout"], code_dir=code_dir, opt_dir=opt_dir,
            environment=(config.get("Environment") or {}).get("Variables") or {},
            log_group=(config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}",
            # the bound port once known (the provider may start before the server binds: --port 0)
            endpoint=f"http://127.0.0.1:{self.config.port}" if self.config.port else self._endpoint,
            interpreter=argv, memory_limit=limit, credentials=credentials, user_options=user_options,
            tmp_dir=tmp_dir, uid=sandbox_uid, runtime_node_modules=node_modules, mounts=views,
            mount_argv=mounts.mount_prefix(views, os.geteuid() == 0, tmp, pwd=not runtime.startswith("provided"))
            if views else [], pycache=pycache, tmp=tmp, site=installed.site if installed else None,
            # a published version with SnapStart: the runtime runs its before-snapshot and after-restore
            # hooks (awslambdaric, /runtime/restore/next), as on AWS
            init_type="snap-start" if (config.get("SnapStart") or {}).get("OptimizationStatus") == "On"
            else "on-demand",
            xray_daemon=self.config.xray_daemon_address)

    async def _mounts(self, code_dir: str, opt_dir: str | None, python: str,
                      node_modules: str | None, installed: python_runtimes.Installed | None,
                      node: str | None = None) -> mounts.Mounts:
        """What the function's sandbox sees at AWS's paths (overcast.runtime.mounts): its code at
        /var/task and the runtime's own directory at /var/runtime (when overcast runs as root), its
        layers at /opt (empty without layers, when the code is at /var/task) and the interpreters at
        /var/lang: a Python or Node.js installed for the runtime (`installed`, `node`) is mounted
        there whole, as AWS's is, where the code is at /var/task; else, with layers, commands that
        run the host's."""
        as_root = os.geteuid() == 0
        root = self.isolation.root if self.isolation is not None else self.code_root
        views = []
        if await self._at_aws_paths():
            views.append((code_dir, mounts.TASK))
            if mounts.exists(mounts.RUNTIME):
                views.append((await asyncio.to_thread(mounts.runtime_dir, root), mounts.RUNTIME))
                if node_modules:  # (a mount, not a link: Node's ES modules resolve links to their real paths)
                    views.append((node_modules, mounts.RUNTIME_MODULES))
        lang = None
        if views and mounts.exists(mounts.LANG):  # a Python or Node.js installed for the runtime, as AWS's
            lang = installed.prefix if installed is not None else node_runtimes.prefix(node) if node else None
        if opt_dir and await mounts.mountable(as_root):
            views.append((opt_dir, mounts.OPT))
            if lang is None and mounts.exists(mounts.LANG):
                lang = mounts.lang_dir(root, python or None, node or shutil.which("node"))
        elif views:
            views.append((await asyncio.to_thread(mounts.empty_dir, root), mounts.OPT))
        if lang is not None:
            views.append((lang, mounts.LANG))
        return tuple(views)

    @staticmethod
    async def _at_aws_paths() -> bool:
        """Whether sandboxes see AWS's directories (their code at /var/task: as root, where mounts work)."""
        return os.geteuid() == 0 and await mounts.mountable(True) and mounts.exists(mounts.TASK)

    @staticmethod
    def _owned_dir(base: str, *names: str, uid: int | None) -> str:
        """base/names..., each level below `base` made once, mode 0700, owned by the function's own
        user when it has one."""
        path = base
        for name in names:
            path = os.path.join(path, name)
            if not os.path.isdir(path):
                os.makedirs(path, mode=0o700, exist_ok=True)
                if uid is not None:
                    os.chown(path, uid, uid)
        return path

    async def _placed(self, uid: int, account: str, region: str, sha_hex: str, kind: str) -> str:
        key = self._code_key(account, region, sha_hex)
        return await self.isolation.place(uid, kind, sha_hex,
                                          lambda target: codes.unpack(self.blobs.local_path(key), target))

    async def invoke(self, ctx, params):
        self._learn_endpoint(ctx)
        self._name_in(ctx, params["FunctionName"], params.get("Qualifier"))  # another account's: its policy decides
        result = await self.invoke_function(
            ctx.account, ctx.region, params["FunctionName"], params.get("Payload") or b"",
            invocation_type=params.get("InvocationType") or "RequestResponse", qualifier=params.get("Qualifier"),
            client_context=params.get("ClientContext"), log_type=params.get("LogType"), request_id=ctx.request_id)
        out = {"StatusCode": result.status}
        if result.status == 200:
            out["Payload"] = result.payload
            out["ExecutedVersion"] = result.executed_version
        if result.function_error:
            out["FunctionError"] = result.function_error
        if result.log_tail is not None:
            out["LogResult"] = result.log_tail
        return out

    async def invoke_function(self, account: str, region: str, function: str, payload: bytes,
                              invocation_type: str = "RequestResponse", qualifier: str | None = None,
                              client_context: str | None = None, log_type: str | None = None,
                              request_id: str | None = None) -> InvokeResult:
        """The internal invoke API (API Gateway, event sources, SNS, EventBridge, S3 use it).
        Raises AwsError as Invoke would (not found, throttled, too large, bad JSON)."""
        request_id = request_id or str(uuid.uuid4())
        account, region, name, qualifier = self._parse_name(account, region, function, qualifier)
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise _invalid(f"Invalid InvocationType: {invocation_type}")
        limit = MAX_SYNC_PAYLOAD if invocation_type != "Event" else MAX_ASYNC_PAYLOAD
        if len(payload) > limit:
            operation = "InvokeFunction" if invocation_type != "Event" else "InvokeAsync"
            raise AwsError("RequestEntityTooLargeException",
                           f"Request must be smaller than {limit} bytes for the {operation} operation", 413, Type="User")
        if not payload.strip():
            payload = b"{}"
        else:
            try:
                orjson.loads(payload)
            except orjson.JSONDecodeError as e:
                raise AwsError("InvalidRequestContentException",
                               f"Could not parse request body into json: Could not parse payload into json: {e}",
                               400, Type="User") from None
        if client_context is not None:
            try:
                decoded = base64.b64decode(client_context, validate=True)
                orjson.loads(decoded)
                client_context = decoded.decode()
            except (ValueError, orjson.JSONDecodeError):
                raise AwsError("InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.",
                               400, Type="User") from None
        config, version, alias, reserved, reserved_total = self._resolve_for_invoke(account, region, name, qualifier)
        if qualifier == "$LATEST":  # invoked as name:$LATEST: the function sees that ARN, qualified, as on AWS
            alias = "$LATEST"
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, None, version, request_id)
        if invocation_type == "Event":
            self._enqueue(account, region, name, qualifier, request_id, payload, tracing.current_lineage_header())
            return InvokeResult(202, b"", None, None, version, request_id)
        outcome = await self._execute(account, region, config, version, alias, reserved, request_id, payload, client_context,
                                      reserved_total=reserved_total, tail=log_type == "Tail")
        tail = None
        if log_type == "Tail":
            tail = base64.b64encode(outcome.log_text.encode()[-TAIL_BYTES:]).decode()
        return InvokeResult(200, outcome.payload, outcome.error_type, tail, version, request_id)

    async def _execute(self, account, region, config, version, alias, reserved, request_id, payload, client_context,
                       parent=tracing.INHERIT, attempt: int | None = None, reserved_total: int | None = None,
                       tail: bool = False):
        """Run one invocation in a sandbox, as the span Lambda.Invocation (a child of `parent`: the
        caller's span, or the trace an asynchronous event was queued with); the sandbox hands the
        span's trace header to the function (Lambda-Runtime-Trace-Id, hence _X_AMZN_TRACE_ID), so
        the SDK calls the function makes are its children. `tail`: the caller wants the log text
        (outcome.log_text) with the answer."""
        invoked_arn = self._arn(account, region, config["FunctionName"], alias or (version if version != "$LATEST" else None))
        with tracing.hop("lambda", "Invocation", resource=invoked_arn, account=account, region=region, parent=parent,
                         request=payload) as span:
            span.set("requestId", request_id)
            if span is not tracing.NO_SPAN and span.xray is None:
                # TracingConfig, as AWS applies it: a caller's decision (Sampled=1/0) stands in both modes;
                # with none, Active samples (overcast: every request) and PassThrough does not trace, so
                # the function's _X_AMZN_TRACE_ID says Sampled=0 and its X-Ray SDK sends nothing
                span.xray = (config.get("TracingConfig") or {}).get("Mode") == "Active"
            if attempt is not None:
                span.set("attempt", attempt)
            if span is not tracing.NO_SPAN:
                # recursive loop detection: this invocation counted in the Lineage it came with (an
                # SQS message's, an SNS or S3 event's, an Invoke's X-Amzn-Trace-Id), which the
                # function's trace header carries on; past the limit, stopped unless it Allows loops
                span.lineage, count = tracing.next_lineage(span.lineage, invoked_arn)
                if count > RECURSION_LIMIT and self._stops_loops(account, region, config["FunctionName"]):
                    span.set("recursiveLoop", count)
                    self._note_dropped(account, region, config["FunctionName"])
                    raise AwsError("RecursiveInvocationException", RECURSION_MESSAGE, 400, Type="User")
            spec = await self._cached_spec(account, region, config, version)
            started = time.time()
            if reserved_total is None:
                reserved_total = self.store.reserved_total(account, region)
            # a cluster's nodes share a function's reservation: it runs holding a slot in the
            # database (one statement), whichever node took the call; one node counts in memory
            slot = (account, region, spec.name, self._node, request_id) if reserved and self._shared_slots else None
            try:
                if slot is not None and not self.store.claim_slot(*slot[:3], reserved, *slot[3:]):
                    raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
                try:
                    # what is provisioned of a reservation is for the provisioned versions only (AWS)
                    provisioned = self._provisioned_total(account, region, spec.name) if reserved else 0
                    outcome = await self.pools.run(spec, request_id, payload, invoked_arn, client_context, reserved,
                                                   reserved_total, provisioned)
                finally:
                    if slot is not None:
                        self._release_slot(slot)
            except Throttled as e:
                raise AwsError("TooManyRequestsException", "Rate Exceeded.", 429, Type="User", Reason=e.reason) from None
            if outcome.error_type is None and len(outcome.payload) > MAX_RESPONSE:
                outcome.payload = orjson.dumps({"errorMessage": f"Response payload size exceeded maximum allowed payload "
                                                f"size ({MAX_RESPONSE} bytes).", "errorType": "Function.ResponseSizeTooLarge"})
                outcome.error_type = "Unhandled"
            if self._logs is None:
                self._logs = await self.providers.get("logs")
            # the REPORT line (its peak memory: a read of /proc), the log text and the span's notes
            # are completed once the answer is on its way, by the write of the lines (queued now, so
            # still before the loop reads another request: logs.append_soon); now when the caller
            # wants the log text with its answer, or when finished spans go to an exporter or a
            # stream (which take them as they end)
            later = outcome.memory_of is not None and not tail and not tracing.RECORDER.exporting()
            self._write_logs(spec, request_id, outcome, started, span, later)
            self._note_metrics(spec, outcome)
        return outcome

    # -- AWS/Lambda metrics ----------------------------------------------------------------------
    # Each invocation's Invocations, Errors and Duration per FunctionName, as AWS publishes them, and
    # RecursiveInvocationsDropped for an invocation stopped as part of a recursive loop
    # (docs/lambda.md): gathered in memory and written to CloudWatch in one transaction half a
    # second later, off the invocation's path (a crash in between loses that half second of them).
    # Invocations and Errors are counts: summed per function and minute into one statistic set
    # each (a busy function writes two rows a flush, not two per invocation); Duration keeps each
    # invocation's value, which its percentiles (p99) are computed from.

    def _note_metrics(self, spec: FunctionSpec, outcome: Outcome) -> None:
        counts = self._metric_counts(spec.account, spec.region, spec.name)
        counts[0] += 1
        counts[1] += outcome.error_type is not None
        counts[2].append(outcome.duration_ms)

    def _note_dropped(self, account: str, region: str, name: str) -> None:
        """An invocation stopped as part of a recursive loop: RecursiveInvocationsDropped (it is no invocation)."""
        self._metric_counts(account, region, name)[3] += 1

    def _metric_counts(self, account: str, region: str, name: str) -> list:
        minute = int(time.time()) // 60 * 60_000  # standard resolution: stored at its minute
        points = self._metric_points.setdefault((account, region), {})
        counts = points.get((name, minute))
        if counts is None:
            counts = points[(name, minute)] = [0, 0, [], 0]  # invocations, errors, durations, loops stopped
        if self._metrics_timer is None:
            self._metrics_timer = asyncio.get_running_loop().call_later(
                0.5, lambda: self._spawn(self._flush_metrics()))
        return counts

    async def _flush_metrics(self) -> None:
        self._metrics_timer = None
        batches, self._metric_points = self._metric_points, {}
        cloudwatch = await self.providers.get("cloudwatch")
        for (account, region), functions in batches.items():
            points = []
            for (name, minute), (invocations, errors, durations, dropped) in functions.items():
                dims = dimensions_key([{"Name": "FunctionName", "Value": name}])
                if dropped:
                    points.append(("AWS/Lambda", "RecursiveInvocationsDropped", dims, minute, dropped, dropped, 1.0,
                                   1.0, "Count"))
                if not invocations:
                    continue
                points.append(("AWS/Lambda", "Invocations", dims, minute, invocations, invocations, 1.0, 1.0, "Count"))
                low = 1.0 if errors == invocations else 0.0  # the statistic set's minimum and maximum
                high = 1.0 if errors else 0.0
                points.append(("AWS/Lambda", "Errors", dims, minute, invocations, errors, low, high, "Count"))
                points.extend(("AWS/Lambda", "Duration", dims, minute, 1.0, took, took, took, "Milliseconds")
                              for took in durations)
            cloudwatch.record(account, region, points)

    def _write_logs(self, spec: FunctionSpec, request_id: str, outcome: Outcome, started: float, span,
                    later: bool) -> None:
        """The invocation's START/END/REPORT lines and what the function printed, to CloudWatch
        Logs; outcome.log_text and the span's notes once the REPORT line is complete (`later`: when
        the lines are written, after the caller's answer). Each event is a line with its newline,
        as AWS delivers them (an empty line printed is no event; REPORT ends with a tab)."""
        end_ms = int(time.time() * 1000)
        start_ms = int(started * 1000)
        lines: list[tuple[int, str]] = []
        if outcome.init_ms is not None:
            lines.append((start_ms, f"INIT_START Runtime Version: {spec.runtime}.overcast\n"))
        printed = [(end_ms, f"{line}\n") for line in outcome.lines if line]
        error_type = ""
        if outcome.init_failed:
            lines += printed
            try:
                error_type = orjson.loads(outcome.payload).get("errorType") or ""
            except (orjson.JSONDecodeError, AttributeError):
                error_type = ""
            lines.append((end_ms, f"INIT_REPORT Init Duration: {outcome.init_ms:.2f} ms\tPhase: init\tStatus: error"
                                  + (f"\tError Type: {error_type}" if error_type else "") + "\n"))
        lines.append((start_ms, f"START RequestId: {request_id} Version: {spec.version}\n"))
        if not outcome.init_failed:
            lines += printed
        lines.append((end_ms, f"END RequestId: {request_id}\n"))

        def complete() -> None:
            outcome.measure_memory()
            billed = max(1, int(-(-outcome.duration_ms // 1)))
            report = (f"REPORT RequestId: {request_id}\tDuration: {outcome.duration_ms:.2f} ms\tBilled Duration: "
                      f"{billed} ms\tMemory Size: {spec.memory} MB\tMax Memory Used: {outcome.max_memory_mb} MB")
            if outcome.init_ms is not None and not outcome.init_failed:
                report += f"\tInit Duration: {outcome.init_ms:.2f} ms"
            if outcome.fatal and outcome.error_type:
                report += "\tStatus: timeout" if b'"Sandbox.Timedout"' in outcome.payload else "\tStatus: error"
                if error_type:
                    report += f"\tError Type: {error_type}"
            lines.append((end_ms, report + "\t\n"))
            # (a LogType Tail's text starts at the invocation's lines: AWS leaves the INIT_START line out)
            outcome.log_text = "".join(line for _, line in lines if not line.startswith("INIT_START "))
            if span is not tracing.NO_SPAN:
                _note_outcome(span, spec, outcome)

        if not later:
            complete()
        # written once the answer is on its way (ordered before any later request: logs.append_soon)
        self._logs.append_soon(spec.account, spec.region, spec.log_group, outcome.stream, lines,
                               prepare=complete if later else None)

    # -- asynchronous invocations --------------------------------------------------------------
    # A queue in the database (lambda_events) that every node of a cluster takes from: a node runs
    # up to async_limit events at once and claims due events while it has room. An event queued
    # on a node with room is claimed by it in the same INSERT (one statement, as on a single node);
    # otherwise the enqueue wakes the other nodes (channel "lambda-events"), and the first with
    # room claims it (FOR UPDATE SKIP LOCKED). A retry or a throttled attempt goes back to the
    # queue with a due time; each node keeps one timer, for the earliest due event it knows of.
    # A dead node's events wait again once it is known dead (docs/cluster.md), and run again: as
    # on AWS, an asynchronous invocation may run more than once.

    def _enqueue(self, account, region, name, qualifier, request_id, payload, trace) -> None:
        now = time.time()
        runs_here = self._events_running < self.async_limit
        event_id = self.store.enqueue(account, region, name, qualifier, request_id, payload, now, trace,
                                      self._node if runs_here else None)
        if runs_here:
            self._start_event((event_id, account, region, name, qualifier, request_id, payload, 0, now, trace))
            return
        self._events_wanted = True  # no room here: claimed when a worker frees (_event_done) ...
        if self._events_channel is not None:
            self._events_channel.publish(now)  # ... unless a node with room takes it first

    def _event_queued(self, due) -> None:
        """Another node queued an event, due at `due` (its time.time())."""
        if not isinstance(due, int | float) or due <= time.time():
            self._want_events()
        elif due < self._due_at:
            self._arm_due_timer(due)

    def _want_events(self) -> None:
        """Events may be due: claim what this node has room for, once the current loop turn ends
        (several wake-ups in a turn make one claim)."""
        if self._events_wanted:
            return
        self._events_wanted = True
        asyncio.get_running_loop().call_soon(self._claim_events)

    def _claim_events(self) -> None:
        if not self._events_wanted or self._events_running >= self.async_limit:
            return  # full: the next event done claims again
        self._events_wanted = False
        now = time.time()
        room = self.async_limit - self._events_running
        try:
            rows = self.store.claim_events(self._node, now, room)
            for row in rows:
                self._start_event(row)
            if len(rows) == room:  # maybe more: claimed again when a worker frees
                self._events_wanted = True
                return
            due = self.store.next_due(now)
        except Exception as e:  # the database is out of reach: the next wake-up tries again
            log.warning("claiming asynchronous invocations: %s", e)
            self._arm_due_timer(now + 1.0)
            return
        if due is not None:
            self._arm_due_timer(due)

    def _arm_due_timer(self, due: float) -> None:
        self._cancel_due_timer()
        self._due_at = due
        self._due_timer = asyncio.get_running_loop().call_later(max(0.0, due - time.time()), self._due)

    def _cancel_due_timer(self) -> None:
        if self._due_timer is not None:
            self._due_timer.cancel()
            self._due_timer = None
        self._due_at = math.inf

    def _due(self) -> None:
        self._due_timer = None
        self._due_at = math.inf
        self._want_events()

    def _start_event(self, row: tuple) -> None:
        self._events_running += 1
        task = self._spawn(self._run_event(row))
        task.add_done_callback(self._event_done)

    def _event_done(self, _task) -> None:
        self._events_running -= 1
        if self._events_wanted:
            self._events_wanted = False
            self._want_events()

    def _release_slot(self, slot: tuple) -> None:
        """An invocation holding a reserved-concurrency slot ended: free it before the answer (the
        caller's next invoke, on any node, finds it free). If the database is out of reach, again
        each second until it is back (the node's slots are also freed when it stops or is taken
        for dead), so that a slot is never held for good."""
        try:
            self.store.release_slot(*slot)
            return
        except Exception as e:
            log.warning("freeing a reserved-concurrency slot of %s: %s", slot[2], e)
        self._unreleased.append(slot)
        if len(self._unreleased) == 1:
            asyncio.get_running_loop().call_later(1.0, self._release_later)

    def _release_later(self) -> None:
        slots, self._unreleased = self._unreleased, []
        for slot in slots:
            self._release_slot(slot)

    def _requeue(self, event_id: int, attempts: int, due: float) -> None:
        """The event runs again at `due` (on whichever node has room then)."""
        if not self.store.release(event_id, self._node, attempts, due):
            return  # no longer this node's (taken as a dead node's while this one was cut off)
        if due < self._due_at:
            self._arm_due_timer(due)
        if self._events_channel is not None:
            self._events_channel.publish(due)

    async def _free_dead_claims(self) -> None:
        """Events held by nodes that are dead (or by this server's previous run) wait again; the
        reserved-concurrency slots their invocations held are free."""
        try:
            dead = await self.providers.coordination.dead_nodes(self.store.claimers(self._node))
            freed = sum(self.store.release_claims(node) for node in dead)
            if self._shared_slots:
                gone = await self.providers.coordination.dead_nodes(self.store.slot_holders(self._node))
                if slots := sum(self.store.release_slots(node) for node in gone):
                    log.info("%d reserved-concurrency slot(s) of %d dead node(s) freed", slots, len(gone))
        except Exception as e:
            log.warning("looking for asynchronous invocations of dead nodes: %s", e)
            return
        if freed:
            log.info("%d asynchronous invocation(s) of %d dead node(s) queued again", freed, len(dead))
        self._want_events()  # (also what a node that left released itself: its notification may not have come)

    async def _run_event(self, row: tuple) -> None:
        event_id, account, region, name, qualifier, request_id, payload, attempts, received, trace = row
        # one attempt of an asynchronous invocation, in the trace the event was queued in
        with tracing.hop("lambda", "AsyncInvoke", resource=self._arn(account, region, name, qualifier),
                         account=account, region=region, parent=trace,
                         attributes={"requestId": request_id, "attempt": attempts + 1,
                                     "dwellMs": round((time.time() - received) * 1000, 3)}):
            await self._attempt_event(event_id, row[1:-1])

    async def _attempt_event(self, event_id: int, row: tuple) -> None:
        account, region, name, qualifier, request_id, payload, attempts, received = row
        try:
            config, version, alias, reserved, reserved_total = self._resolve_for_invoke(account, region, name, qualifier)
        except AwsError:
            self.store.finish(event_id, self._node)  # the function is gone: the event is dropped, as on AWS
            return
        event_config = (self.store.get_doc("lambda_event_configs", account, region, name, "qualifier",
                                           qualifier or "$LATEST")
                        or (self.store.get_doc("lambda_event_configs", account, region, name, "qualifier", version)
                            if version != "$LATEST" else None) or {})
        max_age = event_config.get("MaximumEventAgeInSeconds", 21600)
        max_retries = event_config.get("MaximumRetryAttempts", 2)
        if reserved == 0:  # a function that may not run: the event fails at once, never attempted (AWS)
            await self._fail_event(account, region, name, config, version, event_config, request_id, payload,
                                   attempts, None, "ZeroReservedConcurrency")
            self.store.finish(event_id, self._node)
            return
        if time.time() - received > max_age:
            await self._fail_event(account, region, name, config, version, event_config, request_id, payload,
                                   attempts, None, "EventAgeExceeded")
            self.store.finish(event_id, self._node)
            return
        try:
            outcome = await self._execute(account, region, config, version, alias, reserved, request_id, payload, None,
                                          attempt=attempts + 1, reserved_total=reserved_total)
        except AwsError as e:
            if e.code == "TooManyRequestsException":
                self._requeue(event_id, attempts, time.time() + self.throttle_delay)
                return
            if e.code == "RecursiveInvocationException":  # stopped, not retried: to the on-failure destination or DLQ
                await self._fail_event(account, region, name, config, version, event_config, request_id, payload,
                                       attempts, None, "RecursiveInvocationException", RECURSION_MESSAGE)
                self.store.finish(event_id, self._node)
                return
            raise
        except Exception:
            log.exception("async invoke of %s failed", name)
            outcome = None
        attempts += 1
        if outcome is not None and outcome.error_type is None:
            await self._deliver(account, region, event_config, "OnSuccess",
                                self._record(account, region, name, version, request_id, payload, attempts, "Success",
                                             outcome))
            self.store.finish(event_id, self._node)
            return
        if attempts <= max_retries:
            delay = self.retry_delay * (2 ** (attempts - 1))
            if time.time() + delay - received <= max_age:
                self._requeue(event_id, attempts, time.time() + delay)
                return
            # the next retry would come after the event's maximum age: AWS does not wait for it,
            # the event fails now (EventAgeExceeded, with this attempt's outcome)
            await self._fail_event(account, region, name, config, version, event_config, request_id, payload,
                                   attempts, outcome, "EventAgeExceeded")
            self.store.finish(event_id, self._node)
            return
        await self._fail_event(account, region, name, config, version, event_config, request_id, payload, attempts,
                               outcome, "RetriesExhausted")
        self.store.finish(event_id, self._node)

    def _record(self, account, region, name, version, request_id, payload, attempts, condition, outcome) -> dict:
        try:
            request_payload = orjson.loads(payload)
        except orjson.JSONDecodeError:
            request_payload = payload.decode("utf-8", "replace")
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}Z",
            "requestContext": {"requestId": request_id, "functionArn": self._arn(account, region, name, version),
                               "condition": condition, "approximateInvokeCount": attempts},
            "requestPayload": request_payload,
        }
        if outcome is not None:
            record["responseContext"] = {"statusCode": 200, "executedVersion": version}
            if outcome.error_type:
                record["responseContext"]["functionError"] = outcome.error_type
            try:
                record["responsePayload"] = orjson.loads(outcome.payload) if outcome.payload else None
            except orjson.JSONDecodeError:
                record["responsePayload"] = outcome.payload.decode("utf-8", "replace")
        return record

    async def _fail_event(self, account, region, name, config, version, event_config, request_id, payload, attempts,
                          outcome, condition, reason: str | None = None) -> None:
        await self._deliver(account, region, event_config, "OnFailure",
                            self._record(account, region, name, version, request_id, payload, attempts, condition, outcome))
        dlq = (config.get("DeadLetterConfig") or {}).get("TargetArn")
        if dlq:
            error = {}
            if outcome is not None:
                try:
                    error = orjson.loads(outcome.payload)
                except orjson.JSONDecodeError:
                    error = {}
            attributes = {"RequestID": {"DataType": "String", "StringValue": request_id},
                          "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                          "ErrorMessage": {"DataType": "String",
                                           "StringValue": str(error.get("errorMessage") or reason or condition)[:1024]}}
            await self._send(dlq, payload.decode("utf-8", "replace"), attributes)

    async def _deliver(self, account, region, event_config, which, record) -> None:
        target = (((event_config.get("DestinationConfig") or {}).get(which)) or {}).get("Destination")
        if not target:
            return
        if target.split(":")[2:3] == ["s3"]:  # an object of its own, under AWS's prefix for the function
            name = record["requestContext"]["functionArn"].split(":")[6]
            with tracing.hop("lambda", "Destination", resource=target, account=account):
                try:
                    await store_record(self.providers, target, account, region, f"aws/lambda/async/{name}",
                                       orjson.dumps(record))
                except DeliveryError as e:  # lost, as on AWS (its DestinationDeliveryFailures metric)
                    log.warning("delivering to lambda destination %s failed: %s", target, e)
            return
        await self._send(target, orjson.dumps(record).decode(), None)

    async def _send(self, arn: str, body: str, attributes: dict | None) -> None:
        """Deliver to a destination (SQS, SNS, EventBridge, Lambda) through overcast.engine.targets,
        which goes through the target service's own provider."""
        try:
            with tracing.hop("lambda", "Destination", resource=arn, request=body,
                             account=arn.split(":")[4] if arn.count(":") >= 5 else ""):
                await deliver(self.providers, arn, body, attributes=attributes, source="lambda")
        except Exception as e:  # a destination that fails loses the record, as on AWS (after its retries)
            log.warning("delivering to lambda destination %s failed: %s", arn, e)

    # -- overcast's HTTP endpoints (code download, function URLs) ---------------------------------

    async def http(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/_overcast/lambda/code/"):
            parts = request.path.split("/")
            if len(parts) == 7 and parts[6].endswith(".zip") and re.match(r"^[0-9a-f]{64}\.zip$", parts[6]):
                key = self._code_key(parts[4], parts[5], parts[6][:-4])
                if self.blobs.exists(key):
                    data = await asyncio.to_thread(self.blobs.get, key)
                    return HttpResponse(200, [("content-type", "application/zip")], data)
            return HttpResponse(404, [("content-type", "application/json")], b'{"message":"Not Found"}')
        return await self._invoke_url(request)

    async def _invoke_url(self, request: HttpRequest) -> HttpResponse:
        url_id = request.host.split(".", 1)[0]
        found = self.store.url_by_id(url_id)
        if found is None:  # AWS's answer for a URL no function has
            return HttpResponse(403, [("content-type", "application/json"),
                                      ("x-amzn-ErrorType", "AccessDeniedException")], b'{"Message":null}')
        account, region, name, qualifier, config = found
        cors = config.get("Cors") or {}
        origin = request.headers.get("origin")
        if request.method == "OPTIONS" and origin and "access-control-request-method" in request.headers:
            return HttpResponse(200, _cors_headers(cors, origin, preflight=True), b"")
        if config.get("AuthType") == "AWS_IAM":
            if ("authorization" not in request.headers and "X-Amz-Signature" not in request.query_string) \
                    or not await self._url_caller_allowed(request, account, region, name, qualifier):
                return HttpResponse(403, [("content-type", "application/json")], b'{"Message":"Forbidden"}')
        span = tracing.current()
        trace_header = tracing.answer_header(span) if span else tracing.random_header()
        response = await self._url_invocation(request, url_id, account, region, name, qualifier, config, trace_header)
        if cors and origin:
            response.headers += _cors_headers(cors, origin, preflight=False)
        # as AWS's function URLs answer: the request's trace header, and the connection kept open
        # (over HTTP/2 overcast.http2 drops connection headers)
        response.headers.append(("X-Amzn-Trace-Id", trace_header))
        if request.headers.get("connection", "").lower() != "close":
            response.headers.append(("Connection", "keep-alive"))
        return response

    async def _url_caller_allowed(self, request, account, region, name, qualifier) -> bool:
        """An AWS_IAM function URL signed by another account: the function's policy must allow that
        account lambda:InvokeFunctionUrl (AddPermission with FunctionUrlAuthType AWS_IAM)."""
        from overcast.aws.routing import route

        signer = route(request)
        caller_account, caller_arn = signer.account, ""
        if signer.access_key[:4] in ("ASIA", "AKIA"):
            identity = await self.providers.identity_for_key(signer.access_key)
            if identity is not None:
                caller_account, caller_arn = identity
        if caller_account == account:
            return True
        qualifier = None if qualifier == "$LATEST" else qualifier  # a URL of the unqualified function
        doc = self.store.get_doc("lambda_policies", account, region, name, "qualifier", qualifier or "")
        request_ = iam_policy.Request(iam_policy.Principal(caller_account, caller_arn), "lambda:InvokeFunctionUrl",
                                      self._arn(account, region, name, qualifier),
                                      {"lambda:functionurlauthtype": "AWS_IAM", "aws:principalaccount": caller_account})
        return iam_policy.allows(doc and _public(doc), request_, account)

    async def _url_invocation(self, request, url_id, account, region, name, qualifier, config,
                              trace_header: str) -> HttpResponse:
        now = datetime.now(UTC)
        body = request.body
        try:
            body_text, is_b64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            body_text, is_b64 = base64.b64encode(body).decode(), True
        if not is_b64 and not _textual(request.headers.get("content-type")):
            # a body of a binary media type (multipart/form-data, images, ...) comes base64-encoded,
            # as AWS delivers it, even when its bytes happen to be UTF-8
            body_text, is_b64 = base64.b64encode(body).decode(), True
        # the request's headers as AWS's front end passes them on: its own X-Forwarded-* and trace
        # header in place of any the client sent, no Connection (hop-by-hop), the cookies apart
        headers = {k: v for k, v in request.headers.items() if k not in _URL_REPLACED_HEADERS}
        forwarded_for, port, proto = request.forwarded()
        headers.update({"x-amzn-trace-id": trace_header, "x-forwarded-for": forwarded_for, "x-forwarded-port": port,
                        "x-forwarded-proto": proto})
        if request.tls is not None:  # (AWS's URLs are HTTPS only: its events always have them)
            headers["x-amzn-tls-version"], headers["x-amzn-tls-cipher-suite"] = request.tls
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": request.path,
            "rawQueryString": request.query_string,
            "headers": headers,
            "requestContext": {
                "accountId": "anonymous" if config.get("AuthType") == "NONE" else account,
                "apiId": url_id, "domainName": request.host.split(":", 1)[0], "domainPrefix": url_id,
                "http": {"method": request.method, "path": request.path, "protocol": "HTTP/1.1",
                         "sourceIp": (request.client or ("127.0.0.1",))[0],
                         "userAgent": request.headers.get("user-agent", "")},
                "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": is_b64,
        }
        if request.headers.get("cookie"):
            event["cookies"] = [c.strip() for c in request.headers["cookie"].split(";")]
        if request.query_string:
            from urllib.parse import parse_qsl

            params: dict[str, str] = {}
            for k, v in parse_qsl(request.query_string, keep_blank_values=True):
                params[k] = f"{params[k]},{v}" if k in params else v
            event["queryStringParameters"] = params
        if body:
            event["body"] = body_text
        request_id = event["requestContext"]["requestId"]  # the invocation's, answered as x-amzn-RequestId (AWS)
        try:
            result = await self.invoke_function(account, region, name, orjson.dumps(event),
                                                qualifier=None if qualifier == "$LATEST" else qualifier,
                                                request_id=request_id)
        except AwsError as e:
            if e.code == "ResourceNotFoundException" and qualifier != "$LATEST":
                # the URL of a deleted alias stays, but the alias's permissions went with it: AWS
                # answers every call 403
                return HttpResponse(403, [("content-type", "application/json"),
                                          ("x-amzn-ErrorType", "AccessDeniedException")], URL_FORBIDDEN)
            status = 429 if e.code == "TooManyRequestsException" else 502
            return HttpResponse(status, [("content-type", "application/json")], orjson.dumps({"Message": e.message}))
        if result.function_error:  # AWS answers a plain text body here
            response = HttpResponse(502, [("content-type", "text/plain; charset=utf-8")], b"Internal Server Error")
        else:
            response = _url_response(result.payload)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response


def _note_outcome(span, spec: FunctionSpec, outcome: Outcome) -> None:
    """What a Lambda.Invocation span shows: the function's answer, its log (as CloudWatch Logs
    has it), cold start, duration, memory; a function error by its type and message."""
    span.set_response(outcome.payload)
    span.set("version", spec.version)
    span.set("logGroup", spec.log_group)
    span.set("logStream", outcome.stream)
    span.set("log", outcome.log_text[-tracing.RECORDER.payload_bytes:])
    span.set("coldStart", outcome.init_ms is not None)
    if outcome.init_ms is not None:
        span.set("initMs", round(outcome.init_ms, 2))
    span.set("billedDurationMs", max(1, int(-(-outcome.duration_ms // 1))))
    span.set("maxMemoryUsedMb", outcome.max_memory_mb)
    if outcome.error_type:
        try:
            error = orjson.loads(outcome.payload)
        except orjson.JSONDecodeError:
            error = None
        if isinstance(error, dict):
            span.fail(f"{error.get('errorType') or outcome.error_type}: {error.get('errorMessage') or ''}")
        else:
            span.fail(outcome.error_type)


def _check_layer_number(number: int) -> None:
    if number < 1:
        raise _invalid("Layer Version Cannot be less than 1")


def _check_url_qualifier(qualifier: str | None) -> None:
    """AWS's pattern for a function URL's Qualifier: an alias name, neither a version nor $LATEST."""
    if qualifier is not None and not re.match(r"^(?!\d+$)[0-9a-zA-Z-_]+$", qualifier):
        raise AwsError("ValidationException", f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed "
                       "to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)")


def _cors_headers(cors: dict, origin: str, preflight: bool) -> list[tuple[str, str]]:
    """A function URL's CORS answer: nothing when the origin is not allowed."""
    origins = cors.get("AllowOrigins") or []
    if "*" not in origins and origin not in origins:
        return []
    headers = [("access-control-allow-origin", "*" if "*" in origins and not cors.get("AllowCredentials") else origin)]
    if cors.get("AllowCredentials"):
        headers.append(("access-control-allow-credentials", "true"))
    if cors.get("ExposeHeaders") and not preflight:
        headers.append(("access-control-expose-headers", ",".join(cors["ExposeHeaders"])))
    if preflight:
        if cors.get("AllowMethods"):
            headers.append(("access-control-allow-methods", ",".join(cors["AllowMethods"])))
        if cors.get("AllowHeaders"):
            headers.append(("access-control-allow-headers", ",".join(cors["AllowHeaders"])))
        if cors.get("MaxAge") is not None:
            headers.append(("access-control-max-age", str(cors["MaxAge"])))
    return headers


def _textual(content_type: str | None) -> bool:
    """Whether a function URL passes a body of this media type as text (else base64): text/*,
    JSON, XML, JavaScript and URL-encoded forms; a body without a Content-Type as well."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return (media.startswith("text/") or media.endswith(("/json", "+json", "/xml", "+xml", "/javascript"))
            or media == "application/x-www-form-urlencoded")


def _url_response(payload: bytes) -> HttpResponse:
    """Interpret a function URL's response (payload format 2.0)."""
    try:
        value = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        return HttpResponse(200, [("content-type", "application/json")], payload)
    if isinstance(value, dict) and "statusCode" in value:
        headers = [(str(k).lower(), str(v)) for k, v in (value.get("headers") or {}).items()]
        for cookie in value.get("cookies") or []:
            headers.append(("set-cookie", cookie))
        body = value.get("body")
        if body is None:
            data = b""
        elif value.get("isBase64Encoded"):
            data = base64.b64decode(body)
        else:
            data = body.encode() if isinstance(body, str) else orjson.dumps(body)
        if not any(k == "content-type" for k, _ in headers):
            headers.append(("content-type", "application/json"))
        try:
            status = int(value["statusCode"])
        except (TypeError, ValueError):
            return HttpResponse(502, [("content-type", "application/json")], b'{"Message":"Internal Server Error"}')
        return HttpResponse(status, headers, data)
    # a value that is not a response: AWS answers its JSON, compact ({"a":1}, ["a",3,true])
    data = orjson.dumps(value) if isinstance(value, dict | list) else (value.encode() if isinstance(value, str) else payload)
    return HttpResponse(200, [("content-type", "application/json")], data)


def _which(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None
