"""Subscriptions over AppSync's real-time WebSocket protocol (subprotocol `graphql-ws`):

    connect   ws(s)://{api}.appsync-realtime-api.../graphql?header=<b64 JSON>&payload=e30=
              (or the header in a `header-<base64url>` subprotocol); credentials checked here
    client    {"type":"connection_init"}            server {"type":"connection_ack","payload":{"connectionTimeoutMs":300000}}
    server    {"type":"ka"} at once and then every OVERCAST_APPSYNC_KA_SECONDS (60)
    client    {"id","type":"start","payload":{"data":"<JSON {query, variables}>","extensions":{"authorization":{...}}}}
    server    {"type":"start_ack","id"} | {"type":"error","id","payload":{"errors":[...]}}
    server    {"type":"data","id","payload":{"data":{...}}}    when a mutation named in @aws_subscribe completes
    client    {"type":"stop","id"}                  server {"type":"complete","id"}

A mutation's result is published as the mutation's response shaped it (its selection set bounds
what subscribers can receive), to the subscriptions whose arguments equal the result's fields of
the same names and whose enhanced filter (extensions.setSubscriptionFilter) matches. Subscribers
with the same document and variables share one execution of their selection set."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from urllib.parse import parse_qs, quote

import orjson
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode

from overcast.engine import http as http_client
from overcast.security import INTERNAL_HEADER
from overcast.services.appsync import engine as eng
from overcast.services.appsync.auth import UNAUTHORIZED
from overcast.services.appsync.errors import ResolverError
from overcast.storage.coordination import CLUSTER_TOKEN_HEADER

log = logging.getLogger("overcast.appsync")

CONNECTION_TIMEOUT_MS = 300000


def _ka_seconds() -> float:
    try:
        return float(os.environ.get("OVERCAST_APPSYNC_KA_SECONDS", "60"))
    except ValueError:
        return 60.0


class Subscription:
    __slots__ = ("connection", "id", "api_id", "field", "document", "operation_name", "variables", "args",
                 "filters", "identity", "group")

    def __init__(self, connection, sub_id, api_id, field, document, operation_name, variables, args, query):
        self.connection = connection
        self.id = sub_id
        self.api_id = api_id
        self.field = field
        self.document = document
        self.operation_name = operation_name
        self.variables = variables
        self.args = args
        self.filters = None
        self.identity = None
        self.group = (query, orjson.dumps(variables, option=orjson.OPT_SORT_KEYS), operation_name)


class Connection:
    """One WebSocket: an outbox drained by a writer task, so publishing never waits on a socket."""

    def __init__(self, send):
        self._send = send
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.subscriptions: dict[str, Subscription] = {}
        self.closed = False

    def push(self, text: str) -> None:
        if not self.closed:
            self.outbox.put_nowait(text)

    async def writer(self) -> None:
        try:
            while True:
                text = await self.outbox.get()
                if text is None:
                    return
                await self._send({"type": "websocket.send", "text": text})
        except Exception:  # the client went away
            self.closed = True


class Subscriptions:
    def __init__(self, provider):
        self.provider = provider
        # api id -> subscription field -> {(connection id, subscription id): Subscription}
        self.by_api: dict[str, dict[str, dict[tuple, Subscription]]] = {}
        self._tasks: set = set()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def add(self, sub: Subscription) -> None:
        self.by_api.setdefault(sub.api_id, {}).setdefault(sub.field, {})[(id(sub.connection), sub.id)] = sub

    def remove(self, sub: Subscription) -> None:
        fields = self.by_api.get(sub.api_id)
        if fields is not None:
            table = fields.get(sub.field)
            if table is not None:
                table.pop((id(sub.connection), sub.id), None)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, api, document, operation, data: dict) -> None:
        """Called after a mutation: deliver each published field's result to its subscribers."""
        fields = self.by_api.get(api.api_id)
        cluster = self.provider.providers.coordination.cluster  # subscribers may be on other nodes
        if not fields and not cluster:
            return
        fields = fields or {}
        fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
        for node in _fields(operation.selection_set, fragments):
            name = node.name.value
            targets = api.subscribed_by.get(name)
            if not targets:
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key)
            if value is None:
                continue
            payload = _unalias(value, node.selection_set, fragments)
            for target in targets:
                subs = fields.get(target)
                if subs:
                    self._spawn(self._deliver(api, target, payload, list(subs.values())))
                if cluster:
                    self._spawn(self._elsewhere(api.api_id, target, payload))

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _elsewhere(self, api_id: str, field: str, payload) -> None:
        """A cluster: the other nodes deliver the result to the subscribers connected to them."""
        coordination = self.provider.providers.coordination
        body = orjson.dumps(payload)
        path = f"/_overcast/cluster/appsync/{quote(api_id, safe='')}/{quote(field, safe='')}"
        headers = {CLUSTER_TOKEN_HEADER: coordination.token(), "content-type": "application/json",
                   INTERNAL_HEADER: "cluster"}
        for address in coordination.other_addresses():
            try:
                await http_client.request("POST", address + path, body, headers, timeout=10)
            except http_client.HttpError as e:
                log.warning("publishing to %s on %s failed: %s", field, address, e)

    async def deliver_from_elsewhere(self, api_id: str, field: str, payload) -> None:
        """A result another node of the cluster published: to this node's subscribers."""
        subs = (self.by_api.get(api_id) or {}).get(field)
        api = self.provider.compiled(api_id) if subs else None
        if api is not None:
            await self._deliver(api, field, payload, list(subs.values()))

    async def _deliver(self, api, field: str, payload, subs: list[Subscription]) -> None:
        groups: dict[tuple, list[Subscription]] = {}
        for sub in subs:
            if sub.connection.closed:
                continue
            # an enhanced filter set by the subscription's resolver replaces argument filtering
            if not (_filter_matches(sub.filters, payload) if sub.filters else _args_match(sub.args, payload)):
                continue
            groups.setdefault(sub.group, []).append(sub)
        for members in groups.values():
            first = members[0]
            state = eng.RequestState(self.provider.engine, api, "", None, {}, first.variables)
            state.publishing = True
            try:
                result = await eng.run_document(api, state, first.document, first.variables, first.operation_name,
                                                root={field: payload})
            except Exception:
                log.exception("publishing to %s failed", field)
                continue
            body = {"data": result.data}
            if result.errors:
                body["errors"] = [eng.error_entry(e) for e in result.errors]
            tail = ',"type":"data","payload":' + orjson.dumps(body).decode() + "}"
            for sub in members:
                sub.connection.push('{"id":' + orjson.dumps(sub.id).decode() + tail)

    # -- the WebSocket ------------------------------------------------------------------------

    async def serve(self, scope, receive, send, api_id: str) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        requested = scope.get("subprotocols") or []
        headers = _connect_headers(scope, requested)
        if "graphql-ws" not in requested:
            await send({"type": "websocket.close", "code": 1002})
            return
        await send({"type": "websocket.accept", "subprotocol": "graphql-ws"})
        connection = Connection(send)
        writer = asyncio.get_running_loop().create_task(connection.writer())
        ka_task = None
        try:
            api = self.provider.compiled(api_id)
            ip = (scope.get("client") or ("127.0.0.1",))[0]
            who = None
            if api is not None and headers is not None:
                who = await self.provider.authenticator.authenticate(api, headers, None, ip)
            if who is None:
                error = dict(UNAUTHORIZED["errors"][0], errorCode=401)
                connection.push(orjson.dumps({"type": "connection_error", "payload": {"errors": [error]}}).decode())
                await _drain(connection, writer)
                await send({"type": "websocket.close", "code": 1000})
                return
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                try:
                    msg = orjson.loads(text or "")
                except orjson.JSONDecodeError:
                    connection.push(orjson.dumps({"type": "error", "payload": {"errors": [
                        {"errorType": "UnsupportedOperation", "message": "Message is not valid JSON."}]}}).decode())
                    continue
                kind = msg.get("type") if isinstance(msg, dict) else None
                if kind == "connection_init":
                    connection.push(orjson.dumps({"type": "connection_ack",
                                                  "payload": {"connectionTimeoutMs": CONNECTION_TIMEOUT_MS}}).decode())
                    if ka_task is None:
                        ka_task = asyncio.get_running_loop().create_task(_keep_alive(connection))
                elif kind == "start":
                    try:
                        await self._start(connection, api_id, msg, ip)
                    except Exception:  # a malformed start never takes the connection down
                        log.exception("subscription start failed")
                        connection.push(orjson.dumps({"type": "error", "id": msg.get("id"), "payload": {"errors": [
                            {"errorType": "UnsupportedOperation", "message": "The start message is malformed."}]}}).decode())
                elif kind == "stop":
                    sub = connection.subscriptions.pop(str(msg.get("id")), None)
                    if sub is not None:
                        self.remove(sub)
                    connection.push(orjson.dumps({"type": "complete", "id": msg.get("id")}).decode())
                else:
                    connection.push(orjson.dumps({"type": "error", "id": msg.get("id") if isinstance(msg, dict) else None,
                                                  "payload": {"errors": [{"errorType": "UnsupportedOperation",
                                                                          "message": f"Operation not supported: {kind}"}]}}).decode())
        finally:
            connection.closed = True
            for sub in connection.subscriptions.values():
                self.remove(sub)
            if ka_task is not None:
                ka_task.cancel()
            connection.outbox.put_nowait(None)  # the writer sends what is queued, then ends

    async def _start(self, connection: Connection, api_id: str, msg: dict, ip: str) -> None:
        sub_id = msg.get("id")

        def error(error_type: str, message: str, code: int | None = None, extra=None) -> None:
            entry = {"errorType": error_type, "message": message}
            if code is not None:
                entry["errorCode"] = code
            errors = [entry] + list(extra or [])
            connection.push(orjson.dumps({"type": "error", "id": sub_id, "payload": {"errors": errors}}).decode())

        if not isinstance(sub_id, str) or not sub_id:
            return error("UnsupportedOperation", "A subscription needs an id.")
        if sub_id in connection.subscriptions:
            return error("DuplicatedOperationError", "Duplicated operation with id " + sub_id)
        payload = msg.get("payload") or {}
        if not isinstance(payload, dict):
            return error("UnsupportedOperation", "The start message has no payload.")
        try:
            request = orjson.loads(payload.get("data") or "")
        except (orjson.JSONDecodeError, TypeError):
            return error("UnsupportedOperation", "The subscription's data is not valid JSON.")
        api = self.provider.compiled(api_id)
        if api is None or api.schema is None:
            return error("NotFoundException", f"GraphQL API {api_id} not found.")
        authorization = (payload.get("extensions") or {}).get("authorization")
        if not isinstance(authorization, dict):
            return error("UnauthorizedException", "You are not authorized to make this call.", 401)
        headers = {str(k).lower(): str(v) for k, v in authorization.items()}
        who = await self.provider.authenticator.authenticate(api, headers, None, ip, operation=request)
        if who is None:
            return error("UnauthorizedException", "You are not authorized to make this call.", 401)
        query = request.get("query") if isinstance(request, dict) else None
        if not isinstance(query, str):
            return error("UnsupportedOperation", "The subscription has no query.")
        variables = request.get("variables") or {}
        if not isinstance(variables, dict):
            return error("UnsupportedOperation", "The subscription's variables must be an object.")
        document, errors, syntax, _, _ = api.document(query)
        if errors:
            entries = [eng.validation_entry(e, syntax) for e in errors]
            connection.push(orjson.dumps({"type": "error", "id": sub_id, "payload": {"errors": entries}}).decode())
            return None
        operation = eng.operation_of(document, request.get("operationName"))
        if operation is None or not eng.is_subscription(operation):
            return error("UnsupportedOperation", "Only subscriptions are allowed on the real-time endpoint.")
        fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
        fields = list(_fields(operation.selection_set, fragments))
        if len(fields) != 1:
            return error("UnsupportedOperation", "A subscription must select exactly one field.")
        node = fields[0]
        field_name = node.name.value
        field_def = api.schema.subscription_type.fields.get(field_name)
        from graphql.execution.values import get_argument_values

        try:
            args = get_argument_values(field_def, node, _coerced(api, operation, variables))
        except Exception as e:
            return error("ValidationError", str(getattr(e, "message", e)))
        sub = Subscription(connection, sub_id, api_id, field_name, document, request.get("operationName"),
                           variables, args, query)
        mode, identity = who
        sub.identity = identity
        resolver = api.resolvers.get((api.schema.subscription_type.name, field_name))
        if resolver is not None or field_def.resolve is not None:  # a resolver, or auth directives to check
            failure = await self._run_subscription_resolver(api, sub, resolver, mode, identity, headers, document,
                                                            request.get("operationName"), variables, field_name)
            if failure is not None:
                connection.push(orjson.dumps({"type": "error", "id": sub_id, "payload": {"errors": failure}}).decode())
                return None
        connection.subscriptions[sub_id] = sub
        self.add(sub)
        connection.push(orjson.dumps({"type": "start_ack", "id": sub_id}).decode())
        return None

    async def _run_subscription_resolver(self, api, sub, resolver, mode, identity, headers, document, operation_name,
                                         variables, field_name):
        """The subscription's resolver runs once, at start: it may refuse ($util.unauthorized,
        $util.error) or set an enhanced filter."""
        state = eng.RequestState(self.provider.engine, api, mode, identity, headers, variables)
        state.subscription = sub
        result = await eng.run_document(api, state, document, variables, operation_name)
        errors = [eng.error_entry(e) for e in result.errors or ()]
        if resolver is None:  # only the field's auth rule ran: nothing else can fail
            errors = [e for e in errors if e.get("errorType") == "Unauthorized"]
        if errors:
            return [{"errorType": e.get("errorType") or "UnknownError", "message": e.get("message")} for e in errors]
        return None


def _coerced(api, operation, variables):
    from graphql.execution.values import get_variable_values

    coerced = get_variable_values(api.schema, operation.variable_definitions or [], variables or {})
    if isinstance(coerced, list):
        raise ResolverError("; ".join(e.message for e in coerced), "ValidationError")
    return coerced


async def _drain(connection: Connection, writer) -> None:
    connection.outbox.put_nowait(None)
    try:
        await asyncio.wait_for(writer, 2)
    except (TimeoutError, asyncio.CancelledError):
        pass


async def _keep_alive(connection: Connection) -> None:
    interval = _ka_seconds()
    while not connection.closed:
        connection.push('{"type":"ka"}')
        await asyncio.sleep(interval)


def _connect_headers(scope, subprotocols) -> dict | None:
    """The connection's credentials: the `header` query parameter (base64 JSON), or a
    `header-<base64url>` subprotocol."""
    encoded = None
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    if query.get("header"):
        encoded = query["header"][0]
    else:
        for protocol in subprotocols:
            if protocol.startswith("header-"):
                encoded = protocol[len("header-"):]
                break
    if encoded is None:
        return None
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(value, dict):
        return None
    return {str(k).lower(): str(v) for k, v in value.items()}


def _fields(selection_set, fragments):
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)


def _unalias(value, selection_set, fragments):
    """A response value keyed by aliases -> keyed by field names (as subscribers resolve them)."""
    if selection_set is None or value is None:
        return value
    if isinstance(value, list):
        return [_unalias(v, selection_set, fragments) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for node in _fields(selection_set, fragments):
        key = node.alias.value if node.alias else node.name.value
        if key in value:
            out[node.name.value] = _unalias(value[key], node.selection_set, fragments)
    return out


def _args_match(args: dict, payload) -> bool:
    if not args:
        return True
    if not isinstance(payload, dict):
        return False
    for name, value in args.items():
        if value is None:
            continue
        if name not in payload or payload[name] != value:
            return False
    return True


def _lookup(payload, path: str):
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def _compare(op: str, actual, expected) -> bool:
    if op == "attributeExists":
        return (actual is not _MISSING and actual is not None) == bool(expected)
    if actual is _MISSING:
        return op in ("ne", "notIn", "notContains")
    try:
        if op == "eq":
            return actual == expected
        if op == "ne":
            return actual != expected
        if op == "gt":
            return actual > expected
        if op == "ge":
            return actual >= expected
        if op == "lt":
            return actual < expected
        if op == "le":
            return actual <= expected
        if op == "in":
            return actual in (expected or [])
        if op == "notIn":
            return actual not in (expected or [])
        if op == "between":
            return expected[0] <= actual <= expected[1]
        if op == "beginsWith":
            return isinstance(actual, str) and actual.startswith(str(expected))
        if op == "contains":
            return expected in actual if isinstance(actual, (str, list)) else False
        if op == "notContains":
            return expected not in actual if isinstance(actual, (str, list)) else True
        if op == "containsAny":
            return isinstance(actual, list) and any(x in actual for x in (expected or []))
    except TypeError:
        return False
    return False


def _filter_matches(filters, payload) -> bool:
    if not filters:
        return True
    groups = filters.get("filterGroup") if isinstance(filters, dict) else None
    if groups is None and isinstance(filters, dict) and "filters" in filters:
        groups = [filters]
    if not groups:
        return True
    for group in groups:
        if all(_compare(f.get("operator", "eq"), _lookup(payload, f.get("fieldName", "")), f.get("value"))
               for f in group.get("filters") or []):
            return True
    return False


async def asgi_handler(providers, scope, receive, send, matched) -> None:
    """overcast.websocket's entry point for AppSync's real-time endpoint."""
    provider = await providers.get("appsync")
    await provider.subscriptions.serve(scope, receive, send, matched[0])
