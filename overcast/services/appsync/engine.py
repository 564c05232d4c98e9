"""The GraphQL data plane: an API compiled once per version (schema with resolvers attached,
data sources, functions, API keys, subscription routes) and requests executed against it with
graphql-core. Parsed and validated documents are cached per query text."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from time import perf_counter_ns

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, print_ast

from overcast import tracing
from overcast.services.appsync import templates
from overcast.services.appsync.errors import EarlyReturn, ErrorAppender, ResolverError
from overcast.services.appsync.schema import AUTH_DIRECTIVES, SchemaError, build

log = logging.getLogger("overcast.appsync")


class CompiledApi:
    """Everything the data plane needs about one version of an API."""

    def __init__(self, account: str, region: str, api: dict, version: int, schema_sdl: str | None,
                 data_sources: list[dict], resolvers: list[dict], functions: list[dict], api_keys: list[dict]):
        self.account = account
        self.region = region
        self.api = api
        self.api_id = api["apiId"]
        self.version = version
        self.data_sources = {d["name"]: d for d in data_sources}
        self.functions = {f["functionId"]: f for f in functions}
        self.api_keys = {k["id"]: k for k in api_keys}
        self.resolvers = {(r["typeName"], r["fieldName"]): r for r in resolvers}
        self.modes = [api.get("authenticationType")] + [
            p.get("authenticationType") for p in api.get("additionalAuthenticationProviders") or []]
        self.documents: OrderedDict[str, tuple] = OrderedDict()
        self.log_config = api.get("logConfig") or None  # CloudWatch Logs (cwlogs.py), when set
        self.subscribed_by: dict[str, list[str]] = {}  # mutation field -> subscription fields
        self.schema = None
        self.schema_error = None
        if schema_sdl:
            try:
                self.schema = build(schema_sdl)
            except SchemaError as e:
                self.schema_error = str(e)
        if self.schema is not None:
            self._attach()

    # -- compile ------------------------------------------------------------------------------

    def _attach(self) -> None:
        schema = self.schema
        check_modes = len(self.modes) > 1
        default_mode = self.modes[0]
        for type_name, gtype in schema.type_map.items():
            if not isinstance(gtype, GraphQLObjectType) or type_name.startswith("__"):
                continue
            type_modes, type_groups = _directive_rule(gtype.ast_node)
            for field_name, field in gtype.fields.items():
                modes, groups = _directive_rule(field.ast_node)
                if modes is None:
                    modes, groups = type_modes, type_groups
                rule = _Rule(modes if check_modes else None, groups, default_mode) if check_modes or groups else None
                resolver = self.resolvers.get((type_name, field_name))
                if resolver is not None:
                    field.resolve = _make_resolver(self, resolver, rule)
                elif rule is not None:
                    field.resolve = _make_checked_default(rule)
                if gtype is schema.subscription_type and field.ast_node is not None:
                    for directive in field.ast_node.directives or ():
                        if directive.name.value == "aws_subscribe":
                            for arg in directive.arguments:
                                if arg.name.value == "mutations":
                                    for value in getattr(arg.value, "values", ()):
                                        self.subscribed_by.setdefault(value.value, []).append(field_name)

    def document(self, query: str):
        """(document, validation errors, syntax error?, parsing ns, validation ns) for a query
        text, cached (the durations are those of its first parse and validation)."""
        entry = self.documents.get(query)
        if entry is None:
            start = perf_counter_ns()
            try:
                document = parse(query)
            except GraphQLError as e:
                entry = (None, [e], True, perf_counter_ns() - start, 0)
            else:
                parsed = perf_counter_ns()
                errors = validate(self.schema, document)
                entry = (document, errors, False, parsed - start, perf_counter_ns() - parsed)
            if len(self.documents) >= 1000:
                self.documents.popitem(last=False)
            self.documents[query] = entry
        return entry


def _directive_rule(node) -> tuple[set[str] | None, set[str] | None]:
    """(auth modes, Cognito groups) a type's or field's directives allow; None when unrestricted."""
    if node is None or not node.directives:
        return None, None
    modes, groups = set(), None
    for directive in node.directives:
        name = directive.name.value
        if name not in AUTH_DIRECTIVES:
            continue
        modes.add(AUTH_DIRECTIVES[name])
        for arg in directive.arguments or ():
            if arg.name.value == "cognito_groups":
                groups = (groups or set()) | {v.value for v in getattr(arg.value, "values", ())}
    return (modes or None), groups


class _Rule:
    """Who may read a field: the auth modes (None: the default mode only, checked when the API
    has several) and, for Cognito user pools, the groups named in the directive."""

    __slots__ = ("modes", "groups", "default_mode")

    def __init__(self, modes, groups, default_mode):
        self.modes = modes
        self.groups = groups
        self.default_mode = default_mode

    def allows(self, state, check_modes: bool = True) -> bool:
        mode = state.auth_mode
        if check_modes and not (mode in self.modes if self.modes else mode == self.default_mode):
            return False
        if self.groups and mode == "AMAZON_COGNITO_USER_POOLS":
            groups = (state.identity or {}).get("groups") or []
            return bool(self.groups.intersection(groups))
        return True


def _denied(info) -> ResolverError:
    return ResolverError(f"Not Authorized to access {info.field_name} on type {info.parent_type.name}", "Unauthorized")


def _make_checked_default(rule: _Rule):
    def resolve(source, info, **_args):
        state = info.context
        if not state.publishing and not rule.allows(state, len(state.api.modes) > 1):
            raise _denied(info)
        if isinstance(source, dict):
            return source.get(info.field_name)
        return getattr(source, info.field_name, None)
    return resolve


# -- request state ----------------------------------------------------------------------------


class RequestState:
    """One GraphQL request: who is calling, its headers, errors appended by templates."""

    __slots__ = ("api", "auth_mode", "identity", "headers", "appended", "publishing", "variables", "batches",
                 "subscription", "denied_fields", "providers", "engine", "log")

    def __init__(self, engine, api: CompiledApi, auth_mode: str, identity, headers: dict, variables: dict | None):
        self.engine = engine
        self.api = api
        self.auth_mode = auth_mode
        self.identity = identity
        self.headers = headers
        self.appended: list[tuple[ResolverError, list, list]] = []
        self.publishing = False
        self.variables = variables or {}
        self.batches: dict = {}
        self.subscription = None  # set while a subscription's resolver runs at start
        self.denied_fields: set = set()
        self.log = None  # the request's cwlogs.RequestLog when its API has a logConfig


class Call:
    """One resolver invocation: what $ctx / ctx and Lambda's event are built from."""

    __slots__ = ("state", "info", "source", "args", "stash", "resolver", "_selection", "log_entries")

    def __init__(self, state: RequestState, info, source, args: dict, resolver: dict):
        self.state = state
        self.info = info
        self.source = source
        self.args = args
        self.stash: dict = {}
        self.resolver = resolver
        self._selection = None
        self.log_entries = None  # mapping entries for CloudWatch Logs, until the field's outcome is known

    def selection(self) -> tuple[list[str], str]:
        if self._selection is None:
            node = self.info.field_nodes[0]
            names: list[str] = []
            if node.selection_set is not None:
                _selection_list(node.selection_set, self.info.fragments, "", names)
                text = print_ast(node.selection_set)
            else:
                text = ""
            self._selection = (names, text)
        return self._selection

    def info_dict(self) -> dict:
        names, text = self.selection()
        return {"selectionSetList": names, "selectionSetGraphQL": text, "parentTypeName": self.info.parent_type.name,
                "fieldName": self.info.field_name, "variables": dict(self.state.variables)}

    def request_dict(self) -> dict:
        return {"headers": dict(self.state.headers), "domainName": None}

    def context(self, prev=None, result=None, error=None, with_result=False) -> dict:
        ctx = {"arguments": self.args, "args": self.args, "source": self.source, "identity": self.state.identity,
               "stash": self.stash, "info": self.info_dict(), "request": self.request_dict(), "prev": prev}
        if with_result:
            ctx["result"] = result
            ctx["error"] = error
        return ctx

    def lambda_event(self, prev=None) -> dict:
        return {"arguments": self.args, "identity": self.state.identity, "source": self.source,
                "request": self.request_dict(), "prev": prev, "info": self.info_dict(), "stash": self.stash}

    async def batch(self, sources, function: str, payload):
        """BatchInvoke: calls of the same resolver in one tick share one Lambda invocation."""
        state = self.state
        key = (id(self.resolver), function)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        pending = state.batches.get(key)
        if pending is None:
            pending = state.batches[key] = []
            limit = int(self.resolver.get("maxBatchSize") or 0) or 1000

            def flush():
                entries = state.batches.pop(key, [])
                from overcast.services.appsync.datasources import gather_batch

                for i in range(0, len(entries), limit):
                    chunk = entries[i:i + limit]
                    loop.create_task(gather_batch(chunk, lambda ps: sources.invoke_lambda(state.api, function, ps)))
            loop.call_soon(flush)
        pending.append((payload, future))
        return await future


def _selection_list(selection_set, fragments, prefix: str, out: list) -> None:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            path = prefix + name
            out.append(path)
            if selection.selection_set is not None:
                _selection_list(selection.selection_set, fragments, path + "/", out)
        elif isinstance(selection, InlineFragmentNode):
            _selection_list(selection.selection_set, fragments, prefix, out)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                _selection_list(fragment.selection_set, fragments, prefix, out)


# -- resolvers --------------------------------------------------------------------------------


def _make_resolver(api: CompiledApi, resolver: dict, rule: _Rule | None):
    check_modes = len(api.modes) > 1

    async def resolve(source, info, **args):
        state: RequestState = info.context
        if state.publishing:
            if isinstance(source, dict):
                return source.get(info.field_name)
            return None
        if rule is not None and not rule.allows(state, check_modes):
            raise _denied(info)
        if state.denied_fields and f"{info.parent_type.name}.{info.field_name}" in state.denied_fields:
            raise _denied(info)
        call = Call(state, info, source, args, resolver)
        return await state.engine.run_resolver(call)

    return resolve


class Engine:
    """Compiles APIs and runs resolvers for the AppSync provider."""

    def __init__(self, provider):
        self.provider = provider
        self.compiled: dict[str, CompiledApi] = {}
        self.log_streams: dict[str, str] = {}  # api id -> this server's log stream in its CloudWatch Logs group

    # -- resolver pipeline ---------------------------------------------------------------------

    def _is_js(self, spec: dict) -> bool:
        runtime = spec.get("runtime") or {}
        return runtime.get("name") == "APPSYNC_JS"

    async def run_resolver(self, call: Call):
        resolver = call.resolver
        api = call.state.api
        info = call.info
        with tracing.hop("appsync", "Resolver", account=api.account, region=api.region,
                         resource=f"arn:aws:appsync:{api.region}:{api.account}:apis/{api.api_id}/types/"
                                  f"{info.parent_type.name}/resolvers/{info.field_name}",
                         attributes={"field": f"{info.parent_type.name}.{info.field_name}",
                                     "kind": resolver.get("kind") or "UNIT",
                                     "dataSource": resolver.get("dataSourceName") or ""}):
            if call.state.log is not None and call.state.log.level:
                return await self._logged(call)
            if resolver.get("kind") == "PIPELINE":
                return await self._pipeline(call)
            source = api.data_sources.get(resolver.get("dataSourceName"))
            if self._is_js(resolver):
                return await self._js_unit(call, resolver, source)
            return await self._vtl_unit(call, resolver, source)

    async def _run(self, call: Call):
        """run_resolver's work, for _logged (run_resolver has it inline: its path without logs)."""
        resolver = call.resolver
        if resolver.get("kind") == "PIPELINE":
            return await self._pipeline(call)
        source = call.state.api.data_sources.get(resolver.get("dataSourceName"))
        if self._is_js(resolver):
            return await self._js_unit(call, resolver, source)
        return await self._vtl_unit(call, resolver, source)

    async def _logged(self, call: Call):
        """The resolver, with its field-level log entries written once its outcome is known."""
        log = call.state.log
        path = call.info.path.as_list()
        try:
            result = await self._run(call)
        except ResolverError as e:
            log.field_done(call, [e.message] + _appended_messages(call.state, path))
            raise
        except Exception as e:
            log.field_done(call, [str(e)])
            raise
        log.field_done(call, _appended_messages(call.state, path))
        return result

    def _util(self, call: Call) -> templates.AppSyncUtil:
        return templates.AppSyncUtil(ErrorAppender(call), call.state.auth_mode, (call.info.field_name, call.info.parent_type.name))

    async def _vtl_unit(self, call: Call, resolver: dict, source: dict | None, prev=None, function: dict | None = None):
        request_text = resolver.get("requestMappingTemplate")
        response_text = resolver.get("responseMappingTemplate")
        util = self._util(call)
        extensions = templates.Extensions()
        if request_text is None and response_text is None and source is not None and source["type"] == "AWS_LAMBDA":
            # direct Lambda resolver: the event is the context, the answer the field's value; with a
            # maxBatchSize the calls of one execution step go as one BatchInvoke (a list of events)
            operation = "BatchInvoke" if int(resolver.get("maxBatchSize") or 0) > 0 else "Invoke"
            return await self.provider.sources.lambda_(api_of(call), source, {"operation": operation}, _EventCall(call, prev))
        ctx = call.context(prev)
        log = call.state.log
        try:
            rendered = templates.render(request_text or "", ctx, util, extensions)
        except EarlyReturn as early:
            return early.value
        if log is not None and log.level:
            log.mapping(call, "RequestMapping", ctx, rendered, function=function)
        self._capture_filter(call, extensions)
        request = templates.parse_output(rendered)
        version = request.get("version") if isinstance(request, dict) else None
        result, error = None, None
        try:
            result = await self.provider.sources.invoke(api_of(call), source, request, _EventCall(call, prev))
        except ResolverError as e:
            if version != "2018-05-29" or response_text is None:
                raise
            error = {"message": e.message, "type": e.error_type}
        if response_text is None:
            return result
        ctx = call.context(prev, result, error, with_result=True)
        try:
            rendered = templates.render(response_text, ctx, util, extensions)
        except EarlyReturn as early:
            return early.value
        if log is not None and log.level:
            log.mapping(call, "ResponseMapping", ctx, rendered, function=function, response=True)
        self._capture_filter(call, extensions)
        return templates.parse_output(rendered)

    def _capture_filter(self, call: Call, extensions) -> None:
        if extensions.subscription_filter is not None and call.state.subscription is not None:
            call.state.subscription.filters = extensions.subscription_filter

    async def _pipeline(self, call: Call):
        resolver = call.resolver
        api = call.state.api
        functions = [api.functions.get(fid) for fid in (resolver.get("pipelineConfig") or {}).get("functions") or []]
        if any(f is None for f in functions):
            raise ResolverError("A function of the pipeline does not exist.", "FunctionNotFound")
        if self._is_js(resolver):
            from overcast.services.appsync import js

            ctx = call.context()
            out = await js.run(self, call, resolver["code"], "request", ctx)
            if out.early:
                return out.value
            prev_result = out.value
            for function in functions:
                prev_result = await self._function(call, function, prev_result)
            out = await js.run(self, call, resolver["code"], "response", call.context({"result": prev_result}, prev_result, None,
                                                                                        with_result=True))
            return out.value
        util = self._util(call)
        extensions = templates.Extensions()
        ctx = call.context()
        log = call.state.log
        try:
            rendered = templates.render(resolver.get("requestMappingTemplate") or "{}", ctx, util, extensions)
            if log is not None and log.level:
                log.mapping(call, "BeforeMapping", ctx, rendered)
            before = templates.parse_output(rendered)
        except EarlyReturn as early:
            return early.value
        self._capture_filter(call, extensions)
        prev_result = before
        for function in functions:
            prev_result = await self._function(call, function, prev_result)
        ctx = call.context({"result": prev_result}, prev_result, None, with_result=True)
        try:
            rendered = templates.render(resolver.get("responseMappingTemplate") or "$util.toJson($ctx.prev.result)",
                                        ctx, util, extensions)
        except EarlyReturn as early:
            return early.value
        if log is not None and log.level:
            log.mapping(call, "AfterMapping", ctx, rendered, response=True)
        self._capture_filter(call, extensions)
        return templates.parse_output(rendered)

    async def _function(self, call: Call, function: dict, prev_result):
        api = call.state.api
        source = api.data_sources.get(function.get("dataSourceName"))
        prev = {"result": prev_result}
        with tracing.hop("appsync", "Function", account=api.account, region=api.region,
                         resource=function.get("functionArn"),
                         attributes={"name": function.get("name") or "", "dataSource": function.get("dataSourceName") or ""}):
            if self._is_js(function):
                return await self._js_unit(call, function, source, prev, function)
            return await self._vtl_unit(call, function, source, prev, function)

    async def _js_unit(self, call: Call, spec: dict, source, prev=None, function: dict | None = None):
        from overcast.services.appsync import js

        out = await js.run(self, call, spec.get("code") or "", "request", call.context(prev), function)
        if out.early:
            return out.value
        request = out.value
        result, error = None, None
        try:
            result = await self.provider.sources.invoke(api_of(call), source, request, _EventCall(call, prev))
        except ResolverError as e:
            error = {"message": e.message, "type": e.error_type, "data": e.data}
        out = await js.run(self, call, spec.get("code") or "", "response",
                           call.context(prev, result, error, with_result=True), function)
        return out.value


def _appended_messages(state: RequestState, path: list) -> list[str]:
    return [e.message for e, at, _ in state.appended if at == path] if state.appended else []


class _EventCall:
    """The call as a data source sees it (Lambda's event includes `prev` in pipelines)."""

    __slots__ = ("call", "prev")

    def __init__(self, call: Call, prev):
        self.call = call
        self.prev = prev

    def lambda_event(self):
        return self.call.lambda_event(self.prev)

    async def batch(self, sources, function, payload):
        return await self.call.batch(sources, function, payload)


def api_of(call: Call) -> CompiledApi:
    return call.state.api


# -- response shaping -------------------------------------------------------------------------


def error_entry(error: GraphQLError) -> dict:
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    locations = [{"line": loc.line, "column": loc.column, "sourceName": None} for loc in error.locations or ()]
    if isinstance(original, ResolverError):
        return {"path": error.path, "data": original.data, "errorType": original.error_type,
                "errorInfo": original.error_info, "locations": locations, "message": original.message}
    message = error.message
    if original is not None:  # not an AppSync error: a bug in overcast, kept visible in the log
        log.warning("resolver failed at %s", error.path, exc_info=original)
    return {"path": error.path, "data": None, "errorType": None if original is None else "Internal",
            "errorInfo": None, "locations": locations, "message": message}


def appended_entry(error: ResolverError, path, locations) -> dict:
    return {"path": path, "data": error.data, "errorType": error.error_type, "errorInfo": error.error_info,
            "locations": locations, "message": error.message}


def validation_entry(error: GraphQLError, syntax: bool) -> dict:
    locations = [{"line": loc.line, "column": loc.column, "sourceName": None} for loc in error.locations or ()]
    if syntax:
        return {"path": None, "locations": locations, "message": f"Invalid syntax: {error.message}",
                "errorType": "InvalidSyntax"}
    if error.message.startswith("Variable '$"):
        return {"path": None, "locations": locations, "message": f"Variable validation error: {error.message}",
                "errorType": "ValidationError"}
    kind = "FieldUndefined" if "Cannot query field" in error.message else (
        "UnknownType" if "Unknown type" in error.message else (
            "MissingFieldArgument" if "argument" in error.message and "required" in error.message else "ValidationError"))
    return {"path": None, "locations": locations, "message": f"Validation error of type {kind}: {error.message}",
            "errorType": "ValidationError"}


def operation_of(document, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        for op in operations:
            if op.name is not None and op.name.value == operation_name:
                return op
        return None
    return operations[0] if len(operations) == 1 else None


async def run_document(api: CompiledApi, state: RequestState, document, variables, operation_name, root=None):
    log = state.log
    middleware = [log.tracer()] if log is not None and log.level >= 4 else None  # Tracing: fieldLogLevel ALL
    result = execute(api.schema, document, root_value=root, context_value=state, variable_values=variables,
                     operation_name=operation_name, middleware=middleware)
    if asyncio.iscoroutine(result) or hasattr(result, "__await__"):
        result = await result
    return result


def shape_result(result, state: RequestState) -> dict:
    out = {"data": result.data}
    errors = [error_entry(e) for e in result.errors or ()]
    errors += [appended_entry(e, p, loc) for e, p, loc in state.appended]
    if errors:
        out["errors"] = errors
    return out


def is_subscription(operation: OperationDefinitionNode) -> bool:
    return operation.operation == OperationType.SUBSCRIPTION


def is_mutation(operation: OperationDefinitionNode) -> bool:
    return operation.operation == OperationType.MUTATION

