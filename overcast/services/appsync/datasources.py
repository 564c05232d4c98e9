"""AppSync's data sources: what a resolver's request (the evaluated request template or JS
`request` function) does. Each other service is reached through its own provider (DynamoDB's
operations, Lambda's internal invoke, EventBridge's PutEvents), never its tables."""

from __future__ import annotations

import asyncio
import base64
import logging

import orjson

from overcast import tracing
from overcast.aws.errors import AwsError
from overcast.services.appsync import utils
from overcast.services.appsync.errors import ResolverError

log = logging.getLogger("overcast.appsync")


def _ddb_error(error: AwsError, data=None) -> ResolverError:
    message = f"{error.message} (Service: DynamoDb, Status Code: {error.status}, Request ID: {_request_id()})"
    return ResolverError(message, f"DynamoDB:{error.code}", data)


def _request_id() -> str:
    import uuid

    return str(uuid.uuid4()).upper().replace("-", "")[:52]


def _token(key: dict | None) -> str | None:
    if not key:
        return None
    plain = {k: {kind: (base64.b64encode(v).decode() if isinstance(v, (bytes, bytearray)) else v) for kind, v in av.items()}
             for k, av in key.items()}
    return base64.urlsafe_b64encode(orjson.dumps(plain)).decode()


def _from_token(token: str) -> dict:
    try:
        return orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, orjson.JSONDecodeError):
        raise ResolverError("Invalid pagination token given.", "DynamoDB:ValidationException") from None


def _expression(params: dict, spec: dict | None, key: str) -> None:
    """Merge an AppSync {expression, expressionNames, expressionValues} into DynamoDB params."""
    if not spec:
        return
    if isinstance(spec, str):
        spec = orjson.loads(spec)
    expression = spec.get("expression")
    if expression:
        params[key] = expression
    if spec.get("expressionNames"):
        params.setdefault("ExpressionAttributeNames", {}).update(spec["expressionNames"])
    if spec.get("expressionValues"):
        params.setdefault("ExpressionAttributeValues", {}).update(utils.wire_map(spec["expressionValues"]))


def _projection(params: dict, request: dict) -> None:
    projection = request.get("projection")
    if projection:
        _expression(params, {"expression": projection.get("expression"),
                             "expressionNames": projection.get("expressionNames")}, "ProjectionExpression")


class DataSources:
    """Invokes data sources for one AppSync provider."""

    def __init__(self, providers):
        self.providers = providers
        self._http = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def invoke(self, api, source: dict | None, request, call) -> object:
        """The result of `request` on `source`; `call` is the resolver call (for Lambda's event
        and batching), as the span AppSync.DataSource. Raises ResolverError."""
        with tracing.hop("appsync", "DataSource", account=api.account, region=api.region,
                         resource=(source or {}).get("dataSourceArn"),
                         attributes={"name": (source or {}).get("name") or "", "type": (source or {}).get("type") or "",
                                     "operation": str(request.get("operation") or "") if isinstance(request, dict)
                                     else ""}):
            return await self._invoke(api, source, request, call)

    async def _invoke(self, api, source: dict | None, request, call) -> object:
        if source is None:
            raise ResolverError("No data source found for the resolver.", "DataSourceNotFound")
        kind = source["type"]
        if kind == "NONE":
            return request.get("payload") if isinstance(request, dict) else None
        if not isinstance(request, dict):
            raise ResolverError("The request must be a JSON object.", "MappingTemplate")
        if kind == "AMAZON_DYNAMODB":
            return await self.dynamodb(api, source, request)
        if kind == "AWS_LAMBDA":
            return await self.lambda_(api, source, request, call)
        if kind == "HTTP":
            return await self.http(source, request)
        if kind == "AMAZON_EVENTBRIDGE":
            return await self.eventbridge(api, source, request)
        raise ResolverError(f"Data sources of type {kind} are not supported by overcast yet.", "UnsupportedDataSource")

    # -- DynamoDB -------------------------------------------------------------------------------

    async def dynamodb(self, api, source: dict, request: dict):
        config = source.get("dynamodbConfig") or {}
        table = config.get("tableName")
        region = config.get("awsRegion") or api.region
        ddb = await self.providers.get("dynamodb")
        from overcast.engine.targets import internal_ctx

        operation = request.get("operation")

        def ctx(op):
            return internal_ctx("dynamodb", api.account, region, op)

        try:
            if operation == "GetItem":
                params = {"TableName": table, "Key": utils.wire_map(request.get("key")),
                          "ConsistentRead": bool(request.get("consistentRead"))}
                _projection(params, request)
                return utils.item_from_wire(ddb.get_item(ctx("GetItem"), params).get("Item"))
            if operation == "PutItem":
                item = {**utils.wire_map(request.get("attributeValues")), **utils.wire_map(request.get("key"))}
                params = {"TableName": table, "Item": item}
                self._condition(params, request)
                try:
                    ddb.put_item(ctx("PutItem"), params)
                except AwsError as e:
                    return self._condition_failed(e, ddb, ctx, table, request, item)
                return utils.item_from_wire(item)
            if operation == "UpdateItem":
                params = {"TableName": table, "Key": utils.wire_map(request.get("key")), "ReturnValues": "ALL_NEW"}
                _expression(params, request.get("update"), "UpdateExpression")
                self._condition(params, request)
                try:
                    out = ddb.update_item(ctx("UpdateItem"), params)
                except AwsError as e:
                    return self._condition_failed(e, ddb, ctx, table, request, None)
                return utils.item_from_wire(out.get("Attributes"))
            if operation == "DeleteItem":
                params = {"TableName": table, "Key": utils.wire_map(request.get("key")), "ReturnValues": "ALL_OLD"}
                self._condition(params, request)
                try:
                    out = ddb.delete_item(ctx("DeleteItem"), params)
                except AwsError as e:
                    return self._condition_failed(e, ddb, ctx, table, request, None)
                return utils.item_from_wire(out.get("Attributes"))
            if operation in ("Query", "Scan"):
                params = {"TableName": table}
                if operation == "Query":
                    _expression(params, request.get("query"), "KeyConditionExpression")
                    if request.get("scanIndexForward") is not None:
                        params["ScanIndexForward"] = bool(request["scanIndexForward"])
                else:
                    if request.get("totalSegments") is not None:
                        params["TotalSegments"] = int(request["totalSegments"])
                        params["Segment"] = int(request.get("segment") or 0)
                _expression(params, request.get("filter"), "FilterExpression")
                _projection(params, request)
                if request.get("index"):
                    params["IndexName"] = request["index"]
                if request.get("limit") is not None:
                    params["Limit"] = int(request["limit"])
                if request.get("consistentRead"):
                    params["ConsistentRead"] = True
                if request.get("select"):
                    params["Select"] = request["select"]
                if request.get("nextToken"):
                    params["ExclusiveStartKey"] = utils.wire_map(_from_token(request["nextToken"]))
                out = (ddb.query if operation == "Query" else ddb.scan)(ctx(operation), params)
                return {"items": [utils.item_from_wire(i) for i in out.get("Items", [])],
                        "nextToken": _token(out.get("LastEvaluatedKey")),
                        "scannedCount": out.get("ScannedCount", 0)}
            if operation == "BatchGetItem":
                tables = request.get("tables") or {}
                items = {}
                for name, spec in tables.items():
                    entry = {"Keys": [utils.wire_map(k) for k in spec.get("keys", [])]}
                    if spec.get("consistentRead"):
                        entry["ConsistentRead"] = True
                    items[name] = entry
                out = ddb.batch_get_item(ctx("BatchGetItem"), {"RequestItems": items})
                data, unprocessed = {}, {}
                for name, spec in items.items():
                    found = out.get("Responses", {}).get(name, [])
                    key_names = list(spec["Keys"][0]) if spec["Keys"] else []

                    def identity(item, names=key_names):
                        return tuple(orjson.dumps(item.get(k)) for k in names)

                    by_key = {identity(item): item for item in found}
                    # in the order of the request's keys, null where no item exists
                    data[name] = [utils.item_from_wire(by_key.get(identity(key))) for key in spec["Keys"]]
                    unprocessed[name] = [utils.item_from_wire(k) for k in
                                         out.get("UnprocessedKeys", {}).get(name, {}).get("Keys", [])]
                return {"data": data, "unprocessedKeys": unprocessed}
            if operation in ("BatchPutItem", "BatchDeleteItem"):
                tables = request.get("tables") or {}
                writes, data = {}, {}
                for name, entries in tables.items():
                    if operation == "BatchPutItem":
                        writes[name] = [{"PutRequest": {"Item": utils.wire_map(i)}} for i in entries]
                    else:
                        writes[name] = [{"DeleteRequest": {"Key": utils.wire_map(k)}} for k in entries]
                    data[name] = [utils.item_from_wire(utils.wire_map(e)) for e in entries]
                ddb.batch_write_item(ctx("BatchWriteItem"), {"RequestItems": writes})
                key = "unprocessedItems" if operation == "BatchPutItem" else "unprocessedKeys"
                return {"data": data, key: {name: [] for name in tables}}
            if operation == "TransactGetItems":
                items = []
                for entry in request.get("transactItems") or []:
                    get = {"TableName": entry.get("table"), "Key": utils.wire_map(entry.get("key"))}
                    if entry.get("projection"):
                        _projection(get, entry)
                    items.append({"Get": get})
                out = ddb.transact_get_items(ctx("TransactGetItems"), {"TransactItems": items})
                return {"items": [utils.item_from_wire(r.get("Item")) for r in out.get("Responses", [])],
                        "cancellationReasons": None}
            if operation == "TransactWriteItems":
                items, keys = [], []
                for entry in request.get("transactItems") or []:
                    op = entry.get("operation")
                    key = utils.wire_map(entry.get("key"))
                    spec = {"TableName": entry.get("table")}
                    if op == "PutItem":
                        spec["Item"] = {**utils.wire_map(entry.get("attributeValues")), **key}
                    else:
                        spec["Key"] = key
                    if op == "UpdateItem":
                        _expression(spec, entry.get("update"), "UpdateExpression")
                    self._condition(spec, entry)
                    name = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete",
                            "ConditionCheck": "ConditionCheck"}.get(op)
                    if name is None:
                        raise ResolverError(f"Unsupported transaction operation: {op}", "DynamoDB:ValidationException")
                    items.append({name: spec})
                    keys.append(utils.item_from_wire(key))
                try:
                    ddb.transact_write_items(ctx("TransactWriteItems"), {"TransactItems": items})
                except AwsError as e:
                    if e.code == "TransactionCanceledException":
                        reasons = e.fields.get("CancellationReasons") or []
                        raise ResolverError(e.message, "DynamoDB:TransactionCanceledException",
                                            {"keys": None, "cancellationReasons": [
                                                {"type": r.get("Code"), "message": r.get("Message")} for r in reasons]}) from None
                    raise
                return {"keys": keys, "cancellationReasons": None}
        except AwsError as e:
            raise _ddb_error(e) from None
        raise ResolverError(f"Unsupported operation '{operation}'. Datasource Versioning only supports the following "
                            "operations (TransactGetItems,PutItem,BatchGetItem,BatchDeleteItem,UpdateItem,"
                            "TransactWriteItems,DeleteItem,GetItem,Scan,Query,BatchPutItem,Sync)", "MappingTemplate")

    @staticmethod
    def _condition(params: dict, request: dict) -> None:
        condition = request.get("condition")
        if condition:
            _expression(params, condition, "ConditionExpression")

    def _condition_failed(self, error: AwsError, ddb, ctx, table, request, desired):
        if error.code != "ConditionalCheckFailedException":
            raise _ddb_error(error) from None
        current = ddb.get_item(ctx("GetItem"), {"TableName": table, "Key": utils.wire_map(request.get("key")),
                                                "ConsistentRead": True}).get("Item")
        condition = request.get("condition") or {}
        if desired is not None and current is not None:
            ignore = set(condition.get("equalsIgnore") or [])
            if {k: v for k, v in current.items() if k not in ignore} == {k: v for k, v in desired.items() if k not in ignore}:
                return utils.item_from_wire(current)
        raise ResolverError("The conditional request failed (Service: DynamoDb, Status Code: 400, Request ID: "
                            f"{_request_id()})", "DynamoDB:ConditionalCheckFailedException",
                            utils.item_from_wire(current)) from None

    # -- Lambda ---------------------------------------------------------------------------------

    async def lambda_(self, api, source: dict, request: dict, call):
        operation = request.get("operation", "Invoke")
        function = (source.get("lambdaConfig") or {}).get("lambdaFunctionArn")
        payload = request["payload"] if "payload" in request else call.lambda_event()
        if operation == "BatchInvoke":
            return await call.batch(self, function, payload)
        if operation != "Invoke":
            raise ResolverError(f"Unsupported operation '{operation}'.", "MappingTemplate")
        return await self.invoke_lambda(api, function, payload)

    async def invoke_lambda(self, api, function: str, payload):
        lam = await self.providers.get("lambda")
        try:
            result = await lam.invoke_function(api.account, api.region, function, orjson.dumps(payload))
        except AwsError as e:
            raise ResolverError(e.message, f"Lambda:{e.code}") from None
        body = result.payload or b""
        try:
            value = orjson.loads(body) if body.strip() else None
        except orjson.JSONDecodeError:
            value = body.decode("utf-8", "replace")
        if result.function_error:
            message = value.get("errorMessage") if isinstance(value, dict) else str(value)
            error_type = value.get("errorType") if isinstance(value, dict) else None
            raise ResolverError(message or "Lambda function failed", error_type or "Lambda:Unhandled")
        return value

    # -- HTTP -----------------------------------------------------------------------------------

    async def http(self, source: dict, request: dict):
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        endpoint = ((source.get("httpConfig") or {}).get("endpoint") or "").rstrip("/")
        params = request.get("params") or {}
        headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
        body = params.get("body")
        if body is not None and not isinstance(body, (str, bytes)):
            body = orjson.dumps(body)
        try:
            response = await self._http.request(
                request.get("method", "GET"), endpoint + (request.get("resourcePath") or ""),
                params={k: (v if isinstance(v, str) else orjson.dumps(v).decode()) for k, v in (params.get("query") or {}).items()},
                headers=headers, content=body)
        except httpx.HTTPError as e:
            raise ResolverError(f"An error occurred while calling the HTTP endpoint: {e}", "HttpError") from None
        return {"statusCode": response.status_code, "headers": dict(response.headers), "body": response.text}

    # -- EventBridge ----------------------------------------------------------------------------

    async def eventbridge(self, api, source: dict, request: dict):
        if request.get("operation") != "PutEvents":
            raise ResolverError(f"Unsupported operation '{request.get('operation')}'.", "MappingTemplate")
        bus = (source.get("eventBridgeConfig") or {}).get("eventBusArn")
        entries = []
        for event in request.get("events") or []:
            detail = event.get("detail")
            entry = {"Source": event.get("source"), "DetailType": event.get("detailType"),
                     "Detail": detail if isinstance(detail, str) else orjson.dumps(detail or {}).decode(),
                     "EventBusName": bus}
            if event.get("resources"):
                entry["Resources"] = event["resources"]
            entries.append(entry)
        events = await self.providers.get("events")
        from overcast.engine.targets import internal_ctx

        region = bus.split(":")[3] if bus and bus.startswith("arn:") else api.region
        try:
            return await events.put_events(internal_ctx("events", api.account, region, "PutEvents"), {"Entries": entries})
        except AwsError as e:
            raise ResolverError(e.message, f"EventBridge:{e.code}") from None


async def gather_batch(entries: list, invoke) -> None:
    """Resolve a batch of futures with one call to `invoke(payloads)` (BatchInvoke)."""
    payloads = [p for p, _ in entries]
    try:
        results = await invoke(payloads)
    except ResolverError as e:
        for _, future in entries:
            if not future.done():
                future.set_exception(e)
        return
    if not isinstance(results, list) or len(results) != len(entries):
        error = ResolverError("The Lambda function did not return a list of the batch's size.", "Lambda:Unhandled")
        for _, future in entries:
            if not future.done():
                future.set_exception(error)
        return
    for (_, future), value in zip(entries, results, strict=True):
        if not future.done():
            future.set_result(value)


def schedule(coro) -> asyncio.Task:
    return asyncio.get_running_loop().create_task(coro)
