"""Map states: inline iterations, and Distributed Map — items read from S3 (ItemReader), batched
(ItemBatcher), each batch a child execution of its own, failures tolerated up to a threshold, and
results written back to S3 (ResultWriter), with the map run that DescribeMapRun shows."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid

import orjson

from overcast.engine.targets import internal_ctx
from overcast.services.stepfunctions import jsonata_query, paths
from overcast.services.stepfunctions.errors import Aborted, FailState, StatesError
from overcast.services.stepfunctions.history import History, Scope, dumps, gather_or_fail, iso

INLINE_CONCURRENCY = 40  # AWS runs at most 40 inline iterations at once
DISTRIBUTED_CONCURRENCY = 1000


async def run_map(interp, name, state, raw, effective, scope: Scope, context, language):
    processor = state.get("ItemProcessor") or state.get("Iterator")
    config = processor.get("ProcessorConfig") or {}
    distributed = config.get("Mode") == "DISTRIBUTED"
    # a distributed map's run reads its ItemReader's items: a reader failure fails the map run
    reads_in_run = distributed and "ItemReader" in state
    items = None if reads_in_run else await _items(interp, state, raw, effective, scope, context, language)
    limit = _number(state, "MaxConcurrency", effective, scope, context, language) or 0
    history = interp.run.history
    # (with an ItemReader the map run reads the items: AWS's MapStateStarted counts none)
    length = 0 if "ItemReader" in state else len(items)
    scope.last_event = history.add("MapStateStarted", scope.last_event, mapStateStartedEventDetails={"length": length})
    if distributed:
        result = await _distributed(interp, name, state, processor, items, raw, effective, scope, context, language,
                                    int(limit) or DISTRIBUTED_CONCURRENCY)
    else:
        result = await _inline(interp, name, state, processor, items, effective, scope, context, language,
                               int(limit) or INLINE_CONCURRENCY)
    # (MapStateSucceeded and then MapStateExited both follow the last event of the iterations)
    scope.last_event = history.last_id
    history.add("MapStateSucceeded", scope.last_event)
    return result


def _number(state, field, effective, scope, context, language):
    value = state.get(field)
    if language == "JSONata" and isinstance(value, str):
        value = jsonata_query.evaluate(value, {"input": effective, "context": context}, scope.variables, field)
    elif value is None and f"{field}Path" in state:
        path = state[f"{field}Path"]
        found = paths.evaluate_value(path, effective, context, f"{field}Path")
        kind = "float" if field == "ToleratedFailurePercentage" else "integer"
        value = _path_number(found, kind)
        if value is None:
            shown = found if isinstance(found, str) else dumps(found)
            raise StatesError("States.Runtime", f'The {field}Path field refers to value "{shown}" which is not a '
                                                f"valid {kind}: {path}")
    if value is None:
        return value
    if not paths.is_number(value):
        raise StatesError("States.Runtime", f"The {field} value must be a number, but was {value!r}")
    if field == "ToleratedFailurePercentage" and not 0 <= value <= 100:
        raise StatesError("States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.")
    if value < 0:
        raise StatesError("States.Runtime", f"{field} cannot be negative.")
    return value


def _path_number(value, kind: str):
    """What a *Path field's value reads as: a number, or a string that parses as one (AWS takes
    "2" for MaxItemsPath); None when it is no `kind` ("integer" or "float")."""
    if isinstance(value, str):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            return None
    if not paths.is_number(value) or (kind == "integer" and value != int(value)):
        return None
    return int(value) if kind == "integer" else value


async def _items(interp, state, raw, effective, scope, context, language) -> list:
    if "ItemReader" in state:
        max_items = _max_items(state["ItemReader"].get("ReaderConfig") or {}, effective, scope, context, language)
        return await _read_items(interp, state["ItemReader"], effective, scope, context, language, max_items)
    if language == "JSONata":
        items = jsonata_query.evaluate(state["Items"], {"input": raw, "context": context}, scope.variables, "Items") \
            if "Items" in state else effective
        if not isinstance(items, list) and "Items" in state:
            raise jsonata_query.unexpected_type(state["Items"], "Items", "array", items)
        if not isinstance(items, list):  # (the input itself: AWS gives no cause and no location)
            error = StatesError("States.QueryEvaluationError")
            error.location = ""
            raise error
    else:
        items = paths.select(effective, state.get("ItemsPath", "$"), "ItemsPath")
    if not isinstance(items, list):
        raise StatesError("States.Runtime", f"An error occurred while executing the state. Map state input must be "
                                            f"an array but was: {dumps(items)}")
    return items


def _selector(state, language):
    return state.get("ItemSelector", state.get("Parameters"))


def _item_input(state, item, index, effective, scope, context, language):
    selector = _selector(state, language)
    map_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
    if selector is None:
        return item
    if language == "JSONata":
        return jsonata_query.evaluate(selector, {"input": effective, "context": map_context}, scope.variables,
                                      "ItemSelector")
    return paths.resolve_template(selector, effective, map_context, "ItemSelector")


# -- inline --------------------------------------------------------------------------------------

async def _inline(interp, name, state, processor, items, effective, scope, context, language, limit):
    history = interp.run.history
    gate = asyncio.Semaphore(limit)

    async def iteration(index, item):
        async with gate:
            value = _item_input(state, item, index, effective, scope, context, language)
            # (on AWS an iteration starts after the last event of the one before, its first state
            # after its MapIterationStarted)
            started = history.add("MapIterationStarted", history.last_linked,
                                  mapIterationStartedEventDetails={"name": name, "index": index})
            inner = Scope(dict(scope.variables), started, False, {"Index": index, "Value": item})
            try:
                result = await interp.run_states(processor, value, inner, language)
            except StatesError as error:
                history.add("MapIterationFailed", inner.last_event,
                            mapIterationFailedEventDetails={"name": name, "index": index})
                error.iteration_last_event = inner.last_event
                raise
            history.add("MapIterationSucceeded", inner.last_event,
                        mapIterationSucceededEventDetails={"name": name, "index": index})
            return result

    return await gather_or_fail([iteration(i, item) for i, item in enumerate(items)])


# -- distributed ----------------------------------------------------------------------------------

async def _distributed(interp, name, state, processor, items, raw, effective, scope, context, language, limit):
    run, provider = interp.run, interp.tasks.provider
    tolerated_percent = _number(state, "ToleratedFailurePercentage", effective, scope, context, language) or 0
    tolerated_count = _number(state, "ToleratedFailureCount", effective, scope, context, language) or 0
    execution_type = (processor.get("ProcessorConfig") or {}).get("ExecutionType", "STANDARD")
    label = state.get("Label") or name
    run_id = str(uuid.uuid4())
    # (AWS names a map run by the state's Label, or without one by an id of its own)
    map_run_arn = f"arn:aws:states:{run.region}:{run.account}:mapRun:{run.machine_name}/" \
                  f"{state.get('Label') or uuid.uuid4()}:{run_id}"
    counts = {"pending": 0, "running": 0, "succeeded": 0, "failed": 0, "timedOut": 0, "aborted": 0,
              "total": 0, "resultsWritten": 0}
    doc = {"mapRunArn": map_run_arn, "executionArn": run.arn, "status": "RUNNING", "startDate": time.time(),
           "maxConcurrency": limit if limit != DISTRIBUTED_CONCURRENCY else 0,
           "toleratedFailurePercentage": float(tolerated_percent), "toleratedFailureCount": int(tolerated_count),
           "itemCounts": dict(counts), "executionCounts": dict(counts), "redriveCount": 0}
    provider.store.put_map_run(map_run_arn, run.arn, doc)
    if items is None:  # (MaxItemsPath is read before the run starts, the items by the run)
        max_items = _max_items(state["ItemReader"].get("ReaderConfig") or {}, effective, scope, context, language)
    scope.last_event = run.history.add("MapRunStarted", scope.last_event,
                                       mapRunStartedEventDetails={"mapRunArn": map_run_arn})
    await interp.flush()
    if items is None:
        items = await _read_in_run(interp, state["ItemReader"], effective, scope, context, language, max_items, doc)
    batches = _batches(state, items, effective, scope, context, language)
    counts.update(pending=len(batches), total=len(batches))
    gate = asyncio.Semaphore(limit)
    results: list[dict | None] = [None] * len(batches)
    failed = 0
    threshold_hit = asyncio.Event()

    async def child(index, batch):
        nonlocal failed
        async with gate:
            if threshold_hit.is_set():
                return
            counts["pending"] -= 1
            counts["running"] += 1
            value = batch if "ItemBatcher" in state else _item_input(state, batch, index, effective, scope, context,
                                                                      language)
            record = await provider.children.run(run, processor, value, label, execution_type, map_run_arn,
                                                 language, dict(scope.variables), {"Index": index, "Value": batch})
            counts["running"] -= 1
            results[index] = record
            if record["Status"] == "SUCCEEDED":
                counts["succeeded"] += 1
            else:
                counts["failed"] += 1
                failed += 1
                if _exceeds(failed, len(batches), tolerated_percent, tolerated_count):
                    threshold_hit.set()

    try:
        await asyncio.gather(*(child(i, b) for i, b in enumerate(batches)))
    except (asyncio.CancelledError, Aborted):
        provider.children.abort(map_run_arn)  # (its children may run on other nodes)
        doc.update(status="ABORTED", stopDate=time.time(), itemCounts=dict(counts), executionCounts=dict(counts))
        provider.store.put_map_run(map_run_arn, run.arn, doc)
        raise
    except Exception:
        provider.children.abort(map_run_arn)  # (the children still queued or running end with it)
        raise
    exceeded = threshold_hit.is_set() or _exceeds(failed, len(batches), tolerated_percent, tolerated_count)
    output = None
    if "ResultWriter" in state:
        output = await _write_results(interp, state["ResultWriter"], map_run_arn, run_id, results, effective, scope,
                                      context, language)
        counts["resultsWritten"] = sum(1 for r in results if r is not None)
    doc.update(status="FAILED" if exceeded else "SUCCEEDED", stopDate=time.time(), itemCounts=dict(counts),
               executionCounts=dict(counts))
    provider.store.put_map_run(map_run_arn, run.arn, doc)
    if exceeded:
        scope.last_event = run.history.add("MapRunFailed", scope.last_event, mapRunFailedEventDetails={
            "error": "States.ExceedToleratedFailureThreshold",
            "cause": "The specified tolerated failure threshold was exceeded"})
        raise StatesError("States.ExceedToleratedFailureThreshold",
                          "The specified tolerated failure threshold was exceeded")
    scope.last_event = run.history.add("MapRunSucceeded", scope.last_event)
    if output is not None:
        return output
    return [_child_output(r) for r in results]


async def _read_in_run(interp, reader, effective, scope, context, language, max_items, doc) -> list:
    """The ItemReader's items, read by the map run: a reader failure is the run's MapRunFailed."""
    run, provider = interp.run, interp.tasks.provider
    try:
        return await _read_items(interp, reader, effective, scope, context, language, max_items)
    except StatesError as e:
        if e.error != "States.ItemReaderFailed":
            raise
        doc.update(status="FAILED", stopDate=time.time())
        provider.store.put_map_run(doc["mapRunArn"], run.arn, doc)
        scope.last_event = run.history.add("MapRunFailed", scope.last_event, mapRunFailedEventDetails={
            "error": e.error, "cause": e.cause})
        raise


def _exceeds(failed: int, total: int, percent, count) -> bool:
    if failed == 0:
        return False
    if count and failed > count:
        return True
    if percent and total and failed * 100.0 / total > percent:
        return True
    return not count and not percent


def _child_output(record: dict | None):
    if record is None or record.get("Output") is None:
        return None
    try:
        return orjson.loads(record["Output"])
    except orjson.JSONDecodeError:
        return record["Output"]


def _batches(state, items, effective, scope, context, language) -> list:
    batcher = state.get("ItemBatcher")
    if batcher is None:
        return items
    max_items = _number(batcher, "MaxItemsPerBatch", effective, scope, context, language)
    max_bytes = _number(batcher, "MaxInputBytesPerBatch", effective, scope, context, language)
    if not max_items and not max_bytes:
        raise StatesError("States.Runtime", "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch")
    batch_input = batcher.get("BatchInput")
    if batch_input is not None:
        batch_input = jsonata_query.evaluate(batch_input, {"input": effective, "context": context}, scope.variables,
                                             "BatchInput") if language == "JSONata" else \
            paths.resolve_template(batch_input, effective, context, "BatchInput")
    batches, current, size = [], [], 0
    for item in items:
        item_size = len(dumps(item))
        if current and ((max_items and len(current) >= max_items) or (max_bytes and size + item_size > max_bytes)):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    out = []
    for batch in batches:
        entry = {"Items": batch}
        if batch_input is not None:
            entry["BatchInput"] = batch_input
        out.append(entry)
    return out


# -- ItemReader and ResultWriter on S3 ------------------------------------------------------------

def _reader_params(reader, effective, scope, context, language) -> dict:
    params = reader.get("Arguments", reader.get("Parameters")) or {}
    if language == "JSONata":
        return jsonata_query.evaluate(params, {"input": effective, "context": context}, scope.variables, "Arguments")
    return paths.resolve_template(params, effective, context, "Parameters")


def _max_items(config, effective, scope, context, language) -> int | None:
    """ReaderConfig's MaxItems: a number, a JSONata expression, or MaxItemsPath (JSONPath)."""
    value = config.get("MaxItems")
    if language == "JSONata" and isinstance(value, str):
        value = jsonata_query.evaluate(value, {"input": effective, "context": context}, scope.variables, "MaxItems")
    elif value is None and "MaxItemsPath" in config:
        found = paths.evaluate_value(config["MaxItemsPath"], effective, context, "MaxItemsPath")
        value = _path_number(found, "integer")
        if value is None:
            shown = found if isinstance(found, str) else dumps(found)
            raise StatesError("States.Runtime", "An error occurred while executing the state. The MaxItemsPath "
                                                f"field refers to value \"{shown}\" which is not a valid integer: "
                                                f"{config['MaxItemsPath']}")
    if value is None:
        return None
    if not paths.is_number(value) or value != int(value):
        raise StatesError("States.Runtime", f"The MaxItems value must be a non-negative integer, but was {value!r}")
    return int(value)  # (a negative one fails the reader: _read_items)


async def _read_items(interp, reader, effective, scope, context, language, max_items: int | None) -> list:
    run = interp.run
    if max_items is not None and max_items < 0:
        raise StatesError("States.ItemReaderFailed", "field MaxItems must be positive")
    params = _reader_params(reader, effective, scope, context, language)
    config = reader.get("ReaderConfig") or {}
    resource = reader.get("Resource", "")
    s3 = await interp.tasks.providers.get("s3")
    try:
        if resource.endswith("s3:listObjectsV2"):
            items = await _list_objects(s3, run, params)
        elif resource.endswith("s3:getObject"):
            data = await s3.read_object(run.account, run.region, params["Bucket"], params["Key"],
                                        params.get("VersionId"))
            items = _parse_items(data, config)
        else:
            raise StatesError("States.Runtime", f"The ItemReader resource {resource} is not supported by overcast yet.")
    except KeyError as e:
        raise StatesError("States.Runtime", f"The ItemReader parameters need {e.args[0]}") from None
    except StatesError:
        raise
    except Exception as e:  # the S3 provider's errors (NoSuchKey, NoSuchBucket) and parse errors
        code = getattr(e, "code", None)
        raise StatesError("States.ItemReaderFailed", f"{code + ': ' if code else ''}{getattr(e, 'message', e)}") \
            from None
    return items[:max_items] if max_items else items


async def _list_objects(s3, run, params) -> list:
    ctx = internal_ctx("s3", run.account, run.region, "ListObjectsV2")
    items, token = [], None
    while True:
        request = {"Bucket": params["Bucket"], **({"Prefix": params["Prefix"]} if params.get("Prefix") else {})}
        if token:
            request["ContinuationToken"] = token
        page = s3.list_objects_v2(ctx, request)
        if asyncio.iscoroutine(page):
            page = await page
        for obj in page.get("Contents") or []:
            modified = obj.get("LastModified")
            items.append({"Etag": obj.get("ETag"), "Key": obj["Key"],
                          "LastModified": iso(modified.timestamp() if hasattr(modified, "timestamp") else modified)
                          if modified is not None else None,
                          "Size": obj.get("Size"), "StorageClass": obj.get("StorageClass", "STANDARD")})
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return items


def _parse_items(data: bytes, config: dict) -> list:
    kind = config.get("InputType", "JSON")
    text = data.decode()
    if kind == "JSON":
        items = orjson.loads(text)
        if not isinstance(items, list):
            raise StatesError("States.ItemReaderFailed", "Attempting to map over non-iterable node.")
        return items
    if kind == "JSONL":
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    if kind == "CSV":
        delimiter = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}.get(
            config.get("CSVDelimiter", "COMMA"), ",")
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        if config.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
            headers = config.get("CSVHeaders") or []
        else:
            headers, rows = (rows[0], rows[1:]) if rows else ([], [])
        if len(set(headers)) != len(headers):
            raise StatesError("States.ItemReaderFailed", "CSV headers cannot contain duplicates.")
        # a short row's missing fields are empty strings; AWS's items list the columns in its (Java
        # hash map's) order, which its recorded answers show: the same for every row
        order = _java_hash_map_order(headers)
        return [{headers[i]: row[i] if i < len(row) else "" for i in order} for row in rows if row]
    raise StatesError("States.Runtime", f"The ItemReader InputType {kind} is not supported by overcast yet.")


def _java_hash_code(text: str) -> int:
    """Java's String.hashCode (over UTF-16 code units), as a 32-bit unsigned number."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h


def _java_hash_map_order(keys: list[str]) -> list[int]:
    """The indexes of `keys` in the order a java.util.HashMap they were put into iterates them:
    by bucket (the spread hash modulo the table size, 16 doubled until the keys fill at most
    three quarters of it), in insertion order within a bucket."""
    size = 16
    while len(keys) > size * 3 // 4:
        size *= 2
    buckets = [((h ^ (h >> 16)) & (size - 1)) for h in map(_java_hash_code, keys)]
    return sorted(range(len(keys)), key=lambda i: buckets[i])


async def _write_results(interp, writer, map_run_arn, run_id, results, effective, scope, context, language) -> dict:
    run = interp.run
    params = _reader_params(writer, effective, scope, context, language)
    bucket, prefix = params.get("Bucket"), (params.get("Prefix") or "").rstrip("/")
    if not bucket:
        raise StatesError("States.Runtime", "The ResultWriter parameters need Bucket")
    s3 = await interp.tasks.providers.get("s3")
    base = f"{prefix}/{run_id}" if prefix else run_id
    files = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    groups = {"SUCCEEDED": [r for r in results if r and r["Status"] == "SUCCEEDED"],
              "FAILED": [r for r in results if r and r["Status"] != "SUCCEEDED"],
              "PENDING": []}
    try:
        for status, records in groups.items():
            if not records:
                continue
            key = f"{base}/{status}_0.json"
            body = orjson.dumps(records)
            await s3.write_object(run.account, run.region, bucket, key, body, "application/json")
            files[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
        manifest_key = f"{base}/manifest.json"
        await s3.write_object(run.account, run.region, bucket, manifest_key, orjson.dumps(manifest),
                              "application/json")
    except Exception as e:
        raise StatesError("States.ResultWriterFailed", f"{getattr(e, 'code', '')} {getattr(e, 'message', e)}") \
            from None
    return {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}


def child_record(arn, name, machine_arn, value, started, status, output=None, error=None, cause=None) -> dict:
    record = {"ExecutionArn": arn, "Input": dumps(value), "InputDetails": {"Included": True}, "Name": name,
              "RedriveCount": 0, "RedriveStatus": "NOT_REDRIVABLE", "StartDate": iso(started),
              "StateMachineArn": machine_arn, "Status": status, "StopDate": iso(time.time())}
    if output is not None:
        record["Output"] = output
        record["OutputDetails"] = {"Included": True}
    if error is not None:
        record["Error"] = error
        record["Cause"] = cause or ""
    return record


__all__ = ["run_map", "child_record", "History", "FailState"]
