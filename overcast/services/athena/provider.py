"""Athena: workgroups, query executions run for real in DuckDB over the S3 data of Glue tables,
results in S3 (`<OutputLocation><QueryExecutionId>.csv` and `.csv.metadata`), named queries,
prepared statements, and Hive DDL into the Glue catalog.

A query moves QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED. The work runs in a thread
(`asyncio.to_thread`): the server keeps answering while DuckDB reads. Files of a table are
copied once from S3 into a local cache (keyed by bucket, key and ETag) that DuckDB reads.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
import urllib.parse
import uuid
from collections import OrderedDict

import orjson

from overcast.aws import policy as iam_policy
from overcast.aws.errors import AwsError
from overcast.services.athena import engine
from overcast.services.athena import sql as athena_sql
from overcast.services.athena.sql import QueryError
from overcast.services.athena.store import AthenaStore
from overcast.services.base import Provider

log = logging.getLogger("overcast.athena")
PRIMARY = "primary"
ENGINE = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}


def _batch_get(ids: list, lookup, id_member: str, not_found: str) -> tuple[list, list]:
    """BatchGet*: what was found, and an INVALID_INPUT entry for each id that was not."""
    found, missing = [], []
    for item_id in ids:
        doc = lookup(item_id)
        if doc:
            found.append(doc)
        else:
            missing.append({id_member: item_id, "ErrorCode": "INVALID_INPUT", "ErrorMessage": not_found})
    return found, missing


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message)


def _page(items: list, params: dict, default: int = 50) -> tuple[list, str | None]:
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.b64decode(params["NextToken"]).decode())
        except (ValueError, UnicodeDecodeError):
            raise _invalid("The NextToken is not valid.") from None
    limit = params.get("MaxResults") or default
    more = start + limit < len(items)
    return items[start:start + limit], base64.b64encode(str(start + limit).encode()).decode() if more else None


def _s3_parts(location: str) -> tuple[str, str]:
    if not location.startswith("s3://"):
        raise QueryError(f"Invalid S3 location: {location}")
    bucket, _, prefix = location[5:].partition("/")
    return bucket, prefix


class AthenaProvider(Provider):
    service = "athena"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = AthenaStore(self.db)
        self._tasks: dict[str, asyncio.Task] = {}
        self._conns: dict[str, object] = {}
        self._results: OrderedDict[str, list] = OrderedDict()

    async def start(self) -> None:
        for account, region, doc in self.store.unfinished():  # interrupted by a restart
            self._finish(account, region, doc, "FAILED", "The query was interrupted by a restart of overcast.",
                         (1, 100))

    async def stop(self) -> None:
        for _qid, conn in list(self._conns.items()):
            try:
                conn.interrupt()
            except Exception:
                pass
        for task in self._tasks.values():
            task.cancel()

    def reset(self) -> None:
        """After `overcast reset`: drop the cached copies of S3 objects and the stored results."""
        self._results.clear()
        self.blobs.local.clear("athena-cache")  # this node's copies
        self.blobs.clear("athena/results")

    # -- workgroups -----------------------------------------------------------------------------

    def _workgroup(self, ctx, name: str | None) -> dict:
        name = name or PRIMARY
        doc = self.store.workgroup(ctx.account, ctx.region, name)
        if doc is None and name == PRIMARY:
            doc = {"Name": PRIMARY, "State": "ENABLED", "Description": "", "CreationTime": time.time(),
                   "Configuration": {"EnforceWorkGroupConfiguration": False, "PublishCloudWatchMetricsEnabled": False,
                                     "RequesterPaysEnabled": False, "EngineVersion": ENGINE}}
            self.store.put_workgroup(ctx.account, ctx.region, doc, True)
        if doc is None:
            raise _invalid(f"WorkGroup {name} is not found.")
        return doc

    def create_work_group(self, ctx, params):
        name = params["Name"]
        config = params.get("Configuration") or {}
        config.setdefault("EnforceWorkGroupConfiguration", True)
        config.setdefault("PublishCloudWatchMetricsEnabled", True)
        config.setdefault("RequesterPaysEnabled", False)
        config["EngineVersion"] = ENGINE
        doc = {"Name": name, "State": "ENABLED", "Description": params.get("Description", ""),
               "CreationTime": time.time(), "Configuration": config}
        if name == PRIMARY or not self.store.put_workgroup(ctx.account, ctx.region, doc, True):
            raise _invalid("WorkGroup is already created")
        if params.get("Tags"):
            self.store.set_tags(self._wg_arn(ctx, name), {t["Key"]: t.get("Value", "") for t in params["Tags"]})
        return {}

    def get_work_group(self, ctx, params):
        return {"WorkGroup": self._workgroup(ctx, params["WorkGroup"])}

    def list_work_groups(self, ctx, params):
        self._workgroup(ctx, PRIMARY)
        groups = [{"Name": d["Name"], "State": d["State"], "Description": d.get("Description", ""),
                   "CreationTime": d["CreationTime"], "EngineVersion": ENGINE}
                  for d in self.store.workgroups(ctx.account, ctx.region)]
        page, token = _page(groups, params)
        return {"WorkGroups": page, "NextToken": token}

    def update_work_group(self, ctx, params):
        doc = self._workgroup(ctx, params["WorkGroup"])
        if params.get("Description") is not None:
            doc["Description"] = params["Description"]
        if params.get("State"):
            doc["State"] = params["State"]
        updates = params.get("ConfigurationUpdates") or {}
        config = doc.setdefault("Configuration", {})
        for key in ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "BytesScannedCutoffPerQuery",
                    "RequesterPaysEnabled"):
            if key in updates:
                config[key] = updates[key]
        if updates.get("RemoveBytesScannedCutoffPerQuery"):
            config.pop("BytesScannedCutoffPerQuery", None)
        if "ResultConfigurationUpdates" in updates:
            result = config.setdefault("ResultConfiguration", {})
            ru = updates["ResultConfigurationUpdates"]
            if ru.get("OutputLocation"):
                result["OutputLocation"] = ru["OutputLocation"]
            if ru.get("RemoveOutputLocation"):
                result.pop("OutputLocation", None)
        self.store.put_workgroup(ctx.account, ctx.region, doc, False)
        return {}

    def delete_work_group(self, ctx, params):
        doc = self._workgroup(ctx, params["WorkGroup"])
        if doc["Name"] == PRIMARY:
            raise _invalid("Primary WorkGroup cannot be deleted")
        self.store.delete_workgroup(ctx.account, ctx.region, doc["Name"])
        return {}

    @staticmethod
    def _wg_arn(ctx, name: str) -> str:
        return f"arn:aws:athena:{ctx.region}:{ctx.account}:workgroup/{name}"

    def authorize(self, ctx, params) -> None:
        """Every Athena call: a resource ARN of another account is refused (no resource policies)."""
        arn = params.get("ResourceARN")
        parts = arn.split(":") if isinstance(arn, str) else ()
        if len(parts) >= 6:
            iam_policy.check(ctx, parts[4], arn, f"athena:{ctx.operation}")

    def tag_resource(self, ctx, params):
        arn = params["ResourceARN"]
        if any(not tag.get("Key") for tag in params["Tags"]):  # Key is optional in the model, not in Athena
            raise _invalid("Tag keys must be between 1 and 128 characters long.")
        self.store.set_tags(arn, {**self.store.tags(arn), **{t["Key"]: t.get("Value", "") for t in params["Tags"]}})
        return {}

    def untag_resource(self, ctx, params):
        arn = params["ResourceARN"]
        self.store.set_tags(arn, {k: v for k, v in self.store.tags(arn).items() if k not in params["TagKeys"]})
        return {}

    def list_tags_for_resource(self, ctx, params):
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(self.store.tags(params["ResourceARN"]).items())]}

    # -- catalogs (the Glue catalog, AwsDataCatalog) ---------------------------------------------

    def list_data_catalogs(self, ctx, params):
        return {"DataCatalogsSummary": [{"CatalogName": "AwsDataCatalog", "Type": "GLUE"}]}

    def get_data_catalog(self, ctx, params):
        if params["Name"].lower() != "awsdatacatalog":
            raise _invalid(f"Catalog {params['Name']} is not found.")
        return {"DataCatalog": {"Name": "AwsDataCatalog", "Type": "GLUE", "Description": "AWS Glue Data Catalog",
                                "Parameters": {"catalog-id": ctx.account}}}

    async def list_databases(self, ctx, params):
        glue = await self.providers.get("glue")
        dbs = [{"Name": d["Name"], "Description": d.get("Description", ""), "Parameters": d.get("Parameters", {})}
               for d in glue.store.databases(ctx.account, ctx.region)]
        page, token = _page(dbs, params)
        return {"DatabaseList": page, "NextToken": token}

    async def get_database(self, ctx, params):
        glue = await self.providers.get("glue")
        doc = glue.store.database(ctx.account, ctx.region, params["DatabaseName"].lower())
        if doc is None:
            raise AwsError("MetadataException", f"Database {params['DatabaseName']} not found.")
        return {"Database": {"Name": doc["Name"], "Description": doc.get("Description", ""),
                             "Parameters": doc.get("Parameters", {})}}

    @staticmethod
    def _table_metadata(doc: dict) -> dict:
        sd = doc.get("StorageDescriptor") or {}
        return {"Name": doc["Name"], "CreateTime": doc.get("CreateTime"), "TableType": doc.get("TableType"),
                "Columns": [{"Name": c["Name"], "Type": c["Type"], **({"Comment": c["Comment"]} if c.get("Comment")
                                                                       else {})} for c in sd.get("Columns") or []],
                "PartitionKeys": [{"Name": c["Name"], "Type": c.get("Type", "string")}
                                  for c in doc.get("PartitionKeys") or []],
                "Parameters": {**(doc.get("Parameters") or {}), "location": sd.get("Location", ""),
                               "inputformat": sd.get("InputFormat", ""), "outputformat": sd.get("OutputFormat", ""),
                               "serde.serialization.lib": (sd.get("SerdeInfo") or {}).get("SerializationLibrary", "")}}

    async def list_table_metadata(self, ctx, params):
        glue = await self.providers.get("glue")
        if glue.store.database(ctx.account, ctx.region, params["DatabaseName"].lower()) is None:
            raise AwsError("MetadataException", f"Database {params['DatabaseName']} not found.")
        tables = [self._table_metadata(d) for d in glue.table_docs(ctx.account, ctx.region, params["DatabaseName"])]
        if params.get("Expression"):
            pattern = re.compile(params["Expression"].replace("*", ".*"), re.I)
            tables = [t for t in tables if pattern.fullmatch(t["Name"])]
        page, token = _page(tables, params)
        return {"TableMetadataList": page, "NextToken": token}

    async def get_table_metadata(self, ctx, params):
        glue = await self.providers.get("glue")
        try:
            doc = glue.table_doc(ctx.account, ctx.region, params["DatabaseName"], params["TableName"])
        except AwsError as e:
            raise AwsError("MetadataException", e.message) from None
        return {"TableMetadata": self._table_metadata(doc)}

    # -- named queries and prepared statements ----------------------------------------------------

    def create_named_query(self, ctx, params):
        workgroup = self._workgroup(ctx, params.get("WorkGroup"))["Name"]
        nid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.account}/{params['ClientRequestToken']}")) \
            if params.get("ClientRequestToken") else str(uuid.uuid4())
        doc = {"Name": params["Name"], "Description": params.get("Description", ""), "Database": params["Database"],
               "QueryString": params["QueryString"], "NamedQueryId": nid, "WorkGroup": workgroup}
        self.store.put_named(ctx.account, ctx.region, doc)
        return {"NamedQueryId": nid}

    def _named(self, ctx, nid: str) -> dict:
        doc = self.store.named(ctx.account, ctx.region, nid)
        if doc is None:
            raise _invalid(f"NamedQuery {nid} was not found.")
        return doc

    def get_named_query(self, ctx, params):
        return {"NamedQuery": self._named(ctx, params["NamedQueryId"])}

    def batch_get_named_query(self, ctx, params):
        found, missing = _batch_get(params["NamedQueryIds"], lambda nid: self.store.named(ctx.account, ctx.region, nid),
                                    "NamedQueryId", "The named query was not found.")
        return {"NamedQueries": found, "UnprocessedNamedQueryIds": missing}

    def list_named_queries(self, ctx, params):
        workgroup = self._workgroup(ctx, params.get("WorkGroup"))["Name"]
        page, token = _page(self.store.named_ids(ctx.account, ctx.region, workgroup), params)
        return {"NamedQueryIds": page, "NextToken": token}

    def update_named_query(self, ctx, params):
        doc = self._named(ctx, params["NamedQueryId"])
        doc.update({"Name": params["Name"], "QueryString": params["QueryString"],
                    "Description": params.get("Description", doc.get("Description", ""))})
        self.store.put_named(ctx.account, ctx.region, doc)
        return {}

    def delete_named_query(self, ctx, params):
        self._named(ctx, params["NamedQueryId"])
        self.store.delete_named(ctx.account, ctx.region, params["NamedQueryId"])
        return {}

    def create_prepared_statement(self, ctx, params):
        workgroup = self._workgroup(ctx, params["WorkGroup"])["Name"]
        doc = {"StatementName": params["StatementName"], "QueryStatement": params["QueryStatement"],
               "WorkGroupName": workgroup, "Description": params.get("Description", ""),
               "LastModifiedTime": time.time()}
        if not self.store.put_prepared(ctx.account, ctx.region, doc, True):
            raise _invalid(f"Prepared statement {params['StatementName']} already exists in WorkGroup {workgroup}")
        return {}

    def _prepared(self, ctx, workgroup: str, name: str) -> dict:
        doc = self.store.prepared(ctx.account, ctx.region, workgroup, name)
        if doc is None:
            raise AwsError("ResourceNotFoundException", f"Prepared statement {name} was not found in WorkGroup "
                           f"{workgroup}.")
        return doc

    def get_prepared_statement(self, ctx, params):
        return {"PreparedStatement": self._prepared(ctx, params["WorkGroup"], params["StatementName"])}

    def list_prepared_statements(self, ctx, params):
        docs = self.store.prepared_all(ctx.account, ctx.region, self._workgroup(ctx, params["WorkGroup"])["Name"])
        page, token = _page([{"StatementName": d["StatementName"], "LastModifiedTime": d["LastModifiedTime"]}
                             for d in docs], params)
        return {"PreparedStatements": page, "NextToken": token}

    def batch_get_prepared_statement(self, ctx, params):
        found, missing = [], []
        for name in params["PreparedStatementNames"]:
            doc = self.store.prepared(ctx.account, ctx.region, params["WorkGroup"], name)
            if doc:
                found.append(doc)
            else:
                missing.append({"StatementName": name, "ErrorCode": "INVALID_INPUT",
                                "ErrorMessage": "The prepared statement was not found."})
        return {"PreparedStatements": found, "UnprocessedPreparedStatementNames": missing}

    def update_prepared_statement(self, ctx, params):
        doc = self._prepared(ctx, params["WorkGroup"], params["StatementName"])
        doc.update({"QueryStatement": params["QueryStatement"], "LastModifiedTime": time.time(),
                    "Description": params.get("Description", doc.get("Description", ""))})
        self.store.put_prepared(ctx.account, ctx.region, doc, False)
        return {}

    def delete_prepared_statement(self, ctx, params):
        self._prepared(ctx, params["WorkGroup"], params["StatementName"])
        self.store.delete_prepared(ctx.account, ctx.region, params["WorkGroup"], params["StatementName"])
        return {}

    # -- query executions -----------------------------------------------------------------------

    async def wait_for_query(self, account: str, region: str, query_id: str) -> None:
        """Until the query has ended (Step Functions' athena:startQueryExecution.sync waits here)."""
        task = self._tasks.get(query_id)
        if task is not None:
            await asyncio.wait({task})

    def start_query_execution(self, ctx, params):
        wg = self._workgroup(ctx, params.get("WorkGroup"))
        if wg["State"] != "ENABLED":
            raise _invalid(f"WorkGroup {wg['Name']} is disabled.")
        config = wg.get("Configuration") or {}
        result_config = dict(params.get("ResultConfiguration") or {})
        wg_result = config.get("ResultConfiguration") or {}
        if config.get("EnforceWorkGroupConfiguration") and wg_result.get("OutputLocation"):
            result_config = dict(wg_result)
        elif not result_config.get("OutputLocation") and wg_result.get("OutputLocation"):
            result_config["OutputLocation"] = wg_result["OutputLocation"]
        if not result_config.get("OutputLocation"):
            raise _invalid("No output location provided. An output location is required either through the "
                           "Workgroup result configuration setting or as an API input.")
        token = params.get("ClientRequestToken")
        qid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.account}/{ctx.region}/{token}")) if token else str(uuid.uuid4())
        if token and self.store.query(ctx.account, ctx.region, qid) is not None:
            return {"QueryExecutionId": qid}
        location = result_config["OutputLocation"]
        if not location.endswith("/"):
            location += "/"
        query = params["QueryString"]
        statement, sub = athena_sql.classify(query)
        now = time.time()
        doc = {"QueryExecutionId": qid, "Query": query, "StatementType": statement, "SubstatementType": sub,
               "ResultConfiguration": {**result_config, "OutputLocation": f"{location}{qid}.csv"},
               "QueryExecutionContext": params.get("QueryExecutionContext") or {},
               "Status": {"State": "QUEUED", "SubmissionDateTime": now}, "Statistics": {},
               "WorkGroup": wg["Name"], "EngineVersion": ENGINE,
               "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}}}
        if params.get("ExecutionParameters"):
            doc["ExecutionParameters"] = params["ExecutionParameters"]
        self.store.add_query(ctx.account, ctx.region, qid, wg["Name"], now, doc)
        self._tasks[qid] = asyncio.get_running_loop().create_task(self._run(ctx.account, ctx.region, qid, location))
        return {"QueryExecutionId": qid}

    def _query(self, ctx, qid: str) -> tuple[dict, dict | None]:
        found = self.store.query(ctx.account, ctx.region, qid)
        if found is None:
            raise _invalid(f"QueryExecution {qid} was not found")
        return found

    def get_query_execution(self, ctx, params):
        return {"QueryExecution": self._query(ctx, params["QueryExecutionId"])[0]}

    def batch_get_query_execution(self, ctx, params):
        def lookup(qid):
            entry = self.store.query(ctx.account, ctx.region, qid)
            return entry[0] if entry else None

        found, missing = _batch_get(params["QueryExecutionIds"], lookup, "QueryExecutionId",
                                    "The query execution was not found.")
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def list_query_executions(self, ctx, params):
        workgroup = self._workgroup(ctx, params.get("WorkGroup"))["Name"]
        page, token = _page(self.store.query_ids(ctx.account, ctx.region, workgroup), params)
        return {"QueryExecutionIds": page, "NextToken": token}

    def stop_query_execution(self, ctx, params):
        qid = params["QueryExecutionId"]
        doc, _ = self._query(ctx, qid)
        if doc["Status"]["State"] in ("QUEUED", "RUNNING"):
            conn = self._conns.get(qid)
            if conn is not None:
                try:
                    conn.interrupt()
                except Exception:
                    pass
            task = self._tasks.get(qid)
            if task is not None:
                task.cancel()
            self._finish(ctx.account, ctx.region, doc, "CANCELLED", "Query cancelled by user", None)
        return {}

    async def get_query_results(self, ctx, params):
        qid = params["QueryExecutionId"]
        doc, result = self._query(ctx, qid)
        state = doc["Status"]["State"]
        if state != "SUCCEEDED":
            if state == "FAILED":
                raise _invalid(f"{doc['Status'].get('StateChangeReason', 'Query failed')}")
            raise _invalid(f"Query has not yet finished. Current state: {state}")
        result = result or {"columns": [], "header": False}
        rows = self._results.get(qid)
        if rows is None:
            try:
                rows = orjson.loads(await asyncio.to_thread(self.blobs.get, self._rows_key(ctx.account, qid)))
            except (OSError, orjson.JSONDecodeError):
                rows = []
            self._results[qid] = rows
            while len(self._results) > 16:
                self._results.popitem(last=False)
        columns = result["columns"]
        all_rows = ([[c["Name"] for c in columns]] if result.get("header") else []) + rows
        limit = params.get("MaxResults") or 1000
        if limit > 1000:
            raise _invalid("MaxResults must be at most 1000.")
        page, token = _page(all_rows, params, limit)
        out = {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]}
                                      for row in page],
                             "ResultSetMetadata": {"ColumnInfo": columns}},
               "UpdateCount": result.get("update_count", 0)}
        if token:
            out["NextToken"] = token
        return out

    def get_query_runtime_statistics(self, ctx, params):
        doc, result = self._query(ctx, params["QueryExecutionId"])
        stats = doc.get("Statistics") or {}
        return {"QueryRuntimeStatistics": {"Timeline": {
            "QueryQueueTimeInMillis": stats.get("QueryQueueTimeInMillis", 0),
            "QueryPlanningTimeInMillis": stats.get("QueryPlanningTimeInMillis", 0),
            "EngineExecutionTimeInMillis": stats.get("EngineExecutionTimeInMillis", 0),
            "ServiceProcessingTimeInMillis": stats.get("ServiceProcessingTimeInMillis", 0),
            "TotalExecutionTimeInMillis": stats.get("TotalExecutionTimeInMillis", 0)},
            "Rows": {"InputRows": 0, "InputBytes": stats.get("DataScannedInBytes", 0),
                     "OutputBytes": 0, "OutputRows": (result or {}).get("rows", 0)}}}

    @staticmethod
    def _rows_key(account: str, qid: str) -> str:
        return f"athena/results/{account}/{qid}.json"

    def _finish(self, account, region, doc, state, reason, error, stats=None, result=None) -> None:
        current = self.store.query(account, region, doc["QueryExecutionId"])
        if current and current[0]["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return
        now = time.time()
        status = {**doc["Status"], "State": state, "CompletionDateTime": now}
        if reason:
            status["StateChangeReason"] = reason
        if error:
            status["AthenaError"] = {"ErrorCategory": error[0], "ErrorType": error[1], "Retryable": False,
                                     "ErrorMessage": reason}
        doc = {**doc, "Status": status}
        if stats is not None:
            doc["Statistics"] = stats
        self.store.update_query(account, region, doc["QueryExecutionId"], doc, result)

    # -- execution ------------------------------------------------------------------------------

    async def _run(self, account, region, qid, location) -> None:
        doc, _ = self.store.query(account, region, qid)
        submitted = doc["Status"]["SubmissionDateTime"]
        started = time.time()
        doc["Status"]["State"] = "RUNNING"
        self.store.update_query(account, region, qid, doc)
        stats = {"QueryQueueTimeInMillis": int((started - submitted) * 1000), "DataScannedInBytes": 0}
        try:
            outcome = await self._execute(account, region, qid, doc, location, stats)
            engine_ms = int((time.time() - started) * 1000)
            # results go to S3 as Athena writes them
            s3 = await self.providers.get("s3")
            bucket, prefix = _s3_parts(location)
            columns, rows = outcome["columns"], outcome["rows"]
            header = outcome.get("header", True)
            try:
                if outcome.get("text"):
                    body = "".join("\t".join(v or "" for v in row) + "\n" for row in rows).encode()
                    key = f"{prefix}{qid}.txt"
                    doc["ResultConfiguration"]["OutputLocation"] = f"s3://{bucket}/{key}"
                else:
                    body = await asyncio.to_thread(engine.csv_bytes, [c["Name"] for c in columns]
                                                   if header else None, rows)
                    key = f"{prefix}{qid}.csv"
                if columns or rows or not outcome.get("text"):
                    await s3.write_object(account, region, bucket, key, body, content_type="text/csv")
                    metadata = orjson.dumps({"ColumnInfo": columns, "rows": len(rows)})
                    await s3.write_object(account, region, bucket, key + ".metadata", metadata)
            except AwsError as e:
                raise QueryError(f"Unable to verify/create output bucket {bucket}: {e.message}", 2, 1000) from None
            await asyncio.to_thread(self.blobs.put, self._rows_key(account, qid), orjson.dumps(rows))
            total = int((time.time() - submitted) * 1000)
            stats.update({"EngineExecutionTimeInMillis": engine_ms, "TotalExecutionTimeInMillis": total,
                          "QueryPlanningTimeInMillis": stats.get("QueryPlanningTimeInMillis", 0),
                          "ServiceProcessingTimeInMillis": max(0, total - engine_ms - stats["QueryQueueTimeInMillis"])})
            result = {"columns": columns, "header": header and not outcome.get("text"), "rows": len(rows),
                      "update_count": outcome.get("update_count", 0)}
            self._finish(account, region, doc, "SUCCEEDED", None, None, stats, result)
        except asyncio.CancelledError:
            self._finish(account, region, doc, "CANCELLED", "Query cancelled by user", None, stats)
        except QueryError as e:
            stats["TotalExecutionTimeInMillis"] = int((time.time() - submitted) * 1000)
            stats["EngineExecutionTimeInMillis"] = int((time.time() - started) * 1000)
            self._finish(account, region, doc, "FAILED", e.reason, (e.category, e.error_type), stats)
        except AwsError as e:
            self._finish(account, region, doc, "FAILED", e.message, (2, 1000), stats)
        except Exception as e:
            log.exception("Athena query %s failed", qid)
            self._finish(account, region, doc, "FAILED", f"GENERIC_INTERNAL_ERROR: {e}", (1, 100), stats)
        finally:
            self._tasks.pop(qid, None)
            self._conns.pop(qid, None)

    async def _execute(self, account, region, qid, doc, location, stats) -> dict:
        text = athena_sql.strip_comments(doc["Query"])
        params = doc.get("ExecutionParameters")
        if params:
            text = athena_sql.substitute(text, params)
        default_db = ((doc.get("QueryExecutionContext") or {}).get("Database") or "default").lower()
        m = re.match(r"(?is)EXECUTE\s+(\w+)(?:\s+USING\s+(.*))?$", text)
        if m:
            prepared = self.store.prepared(account, region, doc["WorkGroup"], m.group(1))
            if prepared is None:
                raise QueryError(f"PREPARED_STATEMENT_NOT_FOUND: Prepared statement not found: {m.group(1)}")
            values = [v.strip() for v in athena_sql.split_top(m.group(2) or "")]
            text = athena_sql.substitute(athena_sql.strip_comments(prepared["QueryStatement"]), values)
        statement, sub = athena_sql.classify(text)
        glue = await self.providers.get("glue")
        upper = text.upper()
        words = upper.split()
        if sub == "CREATE_TABLE_AS_SELECT":
            return await self._ctas(account, region, qid, text, default_db, location, stats)
        if statement == "DDL" or (statement == "UTILITY" and not upper.startswith("EXPLAIN")):
            return await self._ddl(account, region, glue, text, words, default_db)
        if words and words[0] == "INSERT":
            return await self._insert(account, region, qid, text, default_db, stats)
        explain = upper.startswith("EXPLAIN")
        body = re.sub(r"(?is)^EXPLAIN\s+(\(.*?\)\s*)?", "", text) if explain else text
        tree = athena_sql.parse_select(body)
        conn = engine.connect()
        self._conns[qid] = conn
        try:
            plan_start = time.time()
            resolved = await self._resolve(account, region, glue, conn, tree, default_db, stats)
            self._check_cutoff(account, region, doc, stats)
            query = athena_sql.to_duckdb(tree, resolved)
            stats["QueryPlanningTimeInMillis"] = int((time.time() - plan_start) * 1000)
            if explain:
                query = "EXPLAIN " + query
            columns, rows = await asyncio.to_thread(engine.run_select, conn, query)
        finally:
            conn.close()
        info = []
        for name, duck_type in columns:
            athena_type, precision, scale = engine.athena_type(duck_type)
            info.append({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
                         "Type": athena_type, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN",
                         "CaseSensitive": athena_type == "varchar"})
        return {"columns": info, "rows": rows}

    def _check_cutoff(self, account, region, doc, stats) -> None:
        """The workgroup's BytesScannedCutoffPerQuery: a query that would scan more is cancelled."""
        wg = self.store.workgroup(account, region, doc["WorkGroup"]) or {}
        cutoff = (wg.get("Configuration") or {}).get("BytesScannedCutoffPerQuery")
        if cutoff and stats.get("DataScannedInBytes", 0) > cutoff:
            raise QueryError("Query cancelled! : Bytes scanned limit was exceeded", 2, 1000)

    async def _resolve(self, account, region, glue, conn, tree, default_db, stats, made=None, depth=0) -> dict:
        """Create a DuckDB view for each catalog table (or Athena view) the query reads; returns
        (db, table) -> DuckDB view name."""
        if depth > 16:
            raise QueryError("VIEW_IS_RECURSIVE: line 1:1: View is recursive or nested too deeply")
        made = {} if made is None else made
        tables = athena_sql.tables_of(tree, default_db)
        resolved = {"__default__": default_db}
        for db, name, _ in {(d, n): (d, n, t) for d, n, t in tables}.values():
            if (db, name) in made:
                resolved[(db, name)] = made[(db, name)]
                continue
            i = len(made)
            try:
                doc = glue.table_doc(account, region, db, name)
            except AwsError as e:
                if "Database" in e.message:
                    raise QueryError(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{db}' does not exist") from None
                raise QueryError(f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{db}.{name}' does not exist") \
                    from None
            if doc.get("TableType") == "VIRTUAL_VIEW":
                sub_tree = athena_sql.parse_select(athena_sql.view_text(doc))
                made[(db, name)] = view = f"t{i}_{name}"
                sub = await self._resolve(account, region, glue, conn, sub_tree, doc.get("DatabaseName") or db,
                                          stats, made, depth + 1)
                try:
                    await asyncio.to_thread(conn.execute,
                                            f'CREATE VIEW "{view}" AS {athena_sql.to_duckdb(sub_tree, sub)}')
                except Exception as e:
                    raise QueryError(f"VIEW_IS_STALE: line 1:1: View '{db}.{name}' is stale or invalid: "
                                     f"{str(e).splitlines()[0]}") from None
                resolved[(db, name)] = view
                continue
            keys = doc.get("PartitionKeys") or []
            if keys:
                expression = athena_sql.partition_predicate(tree, {k["Name"].lower() for k in keys}) \
                    if len(tables) == 1 else None
                partitions = glue.partition_docs(account, region, db, name, expression)
                locations = [(p["Values"], (p.get("StorageDescriptor") or {}).get("Location")
                              or (doc.get("StorageDescriptor") or {}).get("Location", "").rstrip("/") + "/" +
                              "/".join(f"{k['Name']}={v}" for k, v in zip(keys, p["Values"], strict=False)) + "/")
                             for p in partitions]
            else:
                locations = [([], (doc.get("StorageDescriptor") or {}).get("Location") or "")]
            parts = []
            fmt = engine.table_format(doc)
            for values, loc in locations:
                files = await self._local_files(account, region, loc, fmt, stats, recursive=not keys)
                parts.append((values, files))
            view = f"t{i}_{name}"
            sql_text = await asyncio.to_thread(engine.view_sql, conn, doc, parts)
            try:
                await asyncio.to_thread(conn.execute, f'CREATE VIEW "{view}" AS {sql_text}')
            except Exception as e:
                raise QueryError(f"HIVE_METASTORE_ERROR: cannot read table {db}.{name}: "
                                 f"{str(e).splitlines()[0]}", 2, 1001) from None
            resolved[(db, name)] = made[(db, name)] = view
        return resolved

    async def _list(self, account, region, bucket, prefix) -> list[tuple[str, int, str]]:
        from overcast.services.s3.notifications import _internal_ctx

        s3 = await self.providers.get("s3")
        ctx = _internal_ctx("s3", account, region, "ListObjectsV2")
        out, token = [], None
        while True:
            try:
                page = s3.list_objects_v2(ctx, {"Bucket": bucket, "Prefix": prefix,
                                                **({"ContinuationToken": token} if token else {})})
            except AwsError:
                return out
            out += [(o["Key"], o["Size"], o.get("ETag", "")) for o in page.get("Contents") or []]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated"):
                return out

    async def _local_files(self, account, region, location, fmt, stats, recursive=True) -> list[str]:
        if not location:
            return []
        bucket, prefix = _s3_parts(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        s3 = await self.providers.get("s3")
        files = []
        for key, size, etag in await self._list(account, region, bucket, prefix):
            rel = key[len(prefix):]
            if size == 0 or any(p.startswith(("_", ".")) for p in rel.split("/")) or rel.endswith(
                    ("_$folder$", ".metadata")):
                continue
            digest = hashlib.sha1(f"{bucket}/{key}/{etag}/{size}".encode()).hexdigest()
            ext = ".parquet" if fmt in ("parquet", "orc") else ".gz" if key.endswith(".gz") else ""
            cache_key = f"athena-cache/{digest[:2]}/{digest}{ext}"
            cache = self.blobs.local  # copies on this node's disk, which DuckDB reads
            path = cache.path(cache_key)
            if not os.path.exists(path):
                data = await s3.read_object(account, region, bucket, key)
                await asyncio.to_thread(_materialize, cache, cache_key, key, data, fmt)
            stats["DataScannedInBytes"] = stats.get("DataScannedInBytes", 0) + size
            files.append(path)
        return files

    # -- DDL and utility statements -------------------------------------------------------------

    async def _ddl(self, account, region, glue, text, words, default_db) -> dict:
        def rows_of(name, values):
            return {"columns": [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name,
                                 "Label": name, "Type": "string", "Precision": 0, "Scale": 0,
                                 "Nullable": "UNKNOWN", "CaseSensitive": False}],
                    "rows": [[v] for v in values], "text": True}

        empty = {"columns": [], "rows": [], "text": True}
        upper = " ".join(words)
        if upper.startswith(("SHOW DATABASES", "SHOW SCHEMAS")):
            names = [d["Name"] for d in glue.store.databases(account, region)]
            if like := re.search(r"(?i)LIKE\s+'([^']*)'", text):
                pattern = re.compile(like.group(1).replace("*", ".*").replace("%", ".*"), re.I)
                names = [n for n in names if pattern.fullmatch(n)]
            return rows_of("database_name", names)
        if upper.startswith("SHOW TABLES"):
            m = re.match(r"(?is)SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+([`\"\w]+))?(?:\s+(?:LIKE\s+)?'([^']*)')?", text)
            db = (m.group(1) or default_db).strip("`\"").lower()
            if glue.store.database(account, region, db) is None:
                raise QueryError(f"FAILED: SemanticException [Error 10072]: Database does not exist: {db}", 2, 1003)
            names = [t["Name"] for t in glue.table_docs(account, region, db)]
            if m.group(2):
                pattern = re.compile(m.group(2).replace("*", ".*"), re.I)
                names = [n for n in names if pattern.fullmatch(n)]
            return rows_of("tab_name", names)
        if upper.startswith("SHOW PARTITIONS"):
            db, name = athena_sql.qualified(text.split()[2], default_db)
            doc = self._table_for_ddl(glue, account, region, db, name)
            keys = [k["Name"] for k in doc.get("PartitionKeys") or []]
            if not keys:
                raise QueryError(f"FAILED: SemanticException Table {name} is not a partitioned table", 2, 1003)
            parts = glue.partition_docs(account, region, db, name)
            return rows_of("partition", ["/".join(f"{k}={v}" for k, v in zip(keys, p["Values"], strict=False))
                                         for p in parts])
        if upper.startswith(("DESCRIBE", "DESC ", "SHOW COLUMNS")):
            target = re.sub(r"(?is)^(DESCRIBE|DESC|SHOW\s+COLUMNS\s+(IN|FROM))\s+(FORMATTED\s+|EXTENDED\s+)?", "",
                            text).split()[0]
            db, name = athena_sql.qualified(target, default_db)
            doc = self._table_for_ddl(glue, account, region, db, name)
            columns = (doc.get("StorageDescriptor") or {}).get("Columns") or []
            keys = doc.get("PartitionKeys") or []
            if upper.startswith("SHOW COLUMNS"):
                return rows_of("field", [c["Name"] for c in columns + keys])
            lines = [f"{c['Name']:<20}\t{c.get('Type', 'string'):<20}\t{c.get('Comment', '')}" for c in columns + keys]
            if keys:
                lines += ["", "# Partition Information", f"{'# col_name':<20}\t{'data_type':<20}\tcomment", ""]
                lines += [f"{k['Name']:<20}\t{k.get('Type', 'string'):<20}\t" for k in keys]
            return rows_of("col_name", lines)
        if upper.startswith(("CREATE DATABASE", "CREATE SCHEMA")):
            m = re.match(r"(?is)CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?([`\"\w]+)"
                         r"(?:\s+COMMENT\s+'([^']*)')?(?:\s+LOCATION\s+'([^']*)')?", text)
            if not m:
                raise QueryError("line 1:1: mismatched input. Expecting: CREATE DATABASE name")
            db = m.group(2).strip("`\"").lower()
            if glue.store.database(account, region, db) is not None:
                if m.group(1):
                    return empty
                raise QueryError(f"FAILED: AlreadyExistsException: Database {db} already exists", 2, 1003)
            doc = {"Name": db, "CreateTime": time.time(), "CatalogId": account,
                   **({"Description": m.group(3)} if m.group(3) else {}),
                   **({"LocationUri": m.group(4)} if m.group(4) else {})}
            glue.store.put_database(account, region, db, doc, True)
            return empty
        if upper.startswith(("DROP DATABASE", "DROP SCHEMA")):
            m = re.match(r"(?is)DROP\s+(?:DATABASE|SCHEMA)\s+(IF\s+EXISTS\s+)?([`\"\w]+)(\s+CASCADE)?", text)
            db = m.group(2).strip("`\"").lower()
            if glue.store.database(account, region, db) is None:
                if m.group(1):
                    return empty
                raise QueryError(f"FAILED: SemanticException [Error 10072]: Database does not exist: {db}", 2, 1003)
            if glue.table_docs(account, region, db) and not m.group(3):
                raise QueryError(f"FAILED: InvalidOperationException Database {db} is not empty. One or more tables "
                                 "exist.", 2, 1003)
            glue.store.delete_database(account, region, db)
            return empty
        if upper.startswith("CREATE EXTERNAL TABLE"):
            db, table, if_not_exists = athena_sql.parse_create_external(text, default_db)
            if glue.store.database(account, region, db) is None:
                raise QueryError(f"FAILED: SemanticException [Error 10072]: Database does not exist: {db}", 2, 1003)
            if glue.store.table(account, region, db, table["Name"]) is not None:
                if if_not_exists:
                    return empty
                raise QueryError(f"FAILED: AlreadyExistsException Table {table['Name']} already exists", 2, 1003)
            glue.save_table(account, region, db, table)
            return empty
        if upper.startswith("CREATE VIEW") or upper.startswith("CREATE OR REPLACE VIEW"):
            return await self._create_view(account, region, glue, text, default_db)
        if upper.startswith("DROP VIEW"):
            m = re.match(r"(?is)DROP\s+VIEW\s+(IF\s+EXISTS\s+)?([`\"\w.]+)", text)
            db, name = athena_sql.qualified(m.group(2), default_db)
            doc = glue.store.table(account, region, db, name)
            if doc is None or doc.get("TableType") != "VIRTUAL_VIEW":
                if m.group(1):
                    return empty
                raise QueryError(f"VIEW_NOT_FOUND: line 1:1: View 'awsdatacatalog.{db}.{name}' does not exist")
            glue.drop_table(account, region, db, name)
            return empty
        if upper.startswith("DROP TABLE"):
            m = re.match(r"(?is)DROP\s+TABLE\s+(IF\s+EXISTS\s+)?([`\"\w.]+)", text)
            db, name = athena_sql.qualified(m.group(2), default_db)
            if not glue.drop_table(account, region, db, name) and not m.group(1):
                raise QueryError(f"FAILED: SemanticException [Error 10001]: Table not found {db}.{name}", 2, 1003)
            return empty
        if upper.startswith("MSCK REPAIR TABLE"):
            db, name = athena_sql.qualified(text.split()[3], default_db)
            doc = self._table_for_ddl(glue, account, region, db, name)
            return await self._repair(account, region, glue, db, doc)
        if upper.startswith("ALTER TABLE"):
            m = re.match(r"(?is)ALTER\s+TABLE\s+([`\"\w.]+)\s+(ADD|DROP)\s+(IF\s+(?:NOT\s+)?EXISTS\s+)?(.*)$", text)
            if not m:
                raise QueryError("NOT_SUPPORTED: only ALTER TABLE ... ADD/DROP PARTITION is supported by overcast.")
            db, name = athena_sql.qualified(m.group(1), default_db)
            doc = self._table_for_ddl(glue, account, region, db, name)
            keys = [k["Name"].lower() for k in doc.get("PartitionKeys") or []]
            specs = re.findall(r"(?is)PARTITION\s*\(([^)]*)\)(?:\s*LOCATION\s+'([^']*)')?", m.group(4))
            if not specs:
                raise QueryError("line 1:1: Expecting: PARTITION (key='value', ...)")
            for spec, loc in specs:
                values = dict(athena_sql.parse_partition_spec(spec))
                if sorted(values) != sorted(keys):
                    raise QueryError(f"FAILED: ValidationException Partition spec {spec} does not match the table's "
                                     f"partition keys {keys}", 2, 1003)
                ordered = [values[k] for k in keys]
                if m.group(2).upper() == "ADD":
                    location = loc or doc["StorageDescriptor"]["Location"].rstrip("/") + "/" + "/".join(
                        f"{k}={values[k]}" for k in keys) + "/"
                    added = glue.add_partitions(account, region, db, name, [
                        {"Values": ordered, "StorageDescriptor": {**doc["StorageDescriptor"], "Location": location}}])
                    if not added and not m.group(3):
                        raise QueryError("FAILED: AlreadyExistsException Partition already exists.", 2, 1003)
                else:
                    removed = glue.store.delete_partition(account, region, db, name, ordered)
                    if not removed and not m.group(3):
                        raise QueryError("FAILED: SemanticException Partition not found", 2, 1003)
            return empty
        if upper.startswith("SHOW CREATE TABLE"):
            raise QueryError("NOT_SUPPORTED: SHOW CREATE TABLE is not supported by overcast yet.")
        raise QueryError(f"NOT_SUPPORTED: the statement {' '.join(words[:3])} is not supported by overcast yet.")

    async def _create_view(self, account, region, glue, text, default_db) -> dict:
        m = re.match(r"(?is)CREATE\s+(OR\s+REPLACE\s+)?VIEW\s+([`\"\w.]+)\s+AS\s+(.*)$", text)
        if not m:
            raise QueryError("SYNTAX_ERROR: line 1:1: Expecting: CREATE [OR REPLACE] VIEW name AS SELECT ...")
        db, name = athena_sql.qualified(m.group(2), default_db)
        if glue.store.database(account, region, db) is None:
            raise QueryError(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{db}' does not exist")
        existing = glue.store.table(account, region, db, name)
        if existing is not None and (not m.group(1) or existing.get("TableType") != "VIRTUAL_VIEW"):
            raise QueryError(f"TABLE_ALREADY_EXISTS: line 1:1: View 'awsdatacatalog.{db}.{name}' already exists")
        body = m.group(3)
        tree = athena_sql.parse_select(body)
        conn = engine.connect()
        try:
            resolved = await self._resolve(account, region, glue, conn, tree, default_db, {})
            query = athena_sql.to_duckdb(tree, resolved)
            try:
                described = await asyncio.to_thread(lambda: conn.execute(f"DESCRIBE {query}").fetchall())
            except Exception as e:
                raise QueryError(f"SYNTAX_ERROR: {str(e).splitlines()[0]}") from None
        finally:
            conn.close()
        columns = [{"Name": r[0].lower(), "Type": _hive_type(r[1])} for r in described]
        glue.save_table(account, region, db, athena_sql.view_doc(name, db, body, columns))
        return {"columns": [], "rows": [], "text": True}

    @staticmethod
    def _table_for_ddl(glue, account, region, db, name) -> dict:
        try:
            doc = glue.table_doc(account, region, db, name)
        except AwsError:
            raise QueryError(f"FAILED: SemanticException [Error 10001]: Table not found {db}.{name}", 2, 1003) from None
        doc.setdefault("StorageDescriptor", {})
        doc["StorageDescriptor"] = doc["StorageDescriptor"] or {}
        doc["StorageDescriptor"].setdefault("Location", "")
        return doc

    async def _repair(self, account, region, glue, db, doc) -> dict:
        keys = [k["Name"].lower() for k in doc.get("PartitionKeys") or []]
        location = doc["StorageDescriptor"]["Location"]
        if not location:
            raise QueryError(f"FAILED: Table {doc['Name']} has no location", 2, 1003)
        bucket, prefix = _s3_parts(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        existing = {tuple(p["Values"]) for p in glue.partition_docs(account, region, db, doc["Name"])}
        found: dict[tuple, str] = {}
        for key, _size, _ in await self._list(account, region, bucket, prefix):
            segments = key[len(prefix):].split("/")[:-1]
            if len(segments) < len(keys):
                continue
            pairs = [s.partition("=") for s in segments[:len(keys)]]
            if [p[0].lower() for p in pairs] != keys or not all(p[1] for p in pairs):
                continue
            values = tuple(p[2] for p in pairs)
            found.setdefault(values, f"s3://{bucket}/{prefix}{'/'.join(segments[:len(keys)])}/")
        new = {v: loc for v, loc in found.items() if v not in existing}
        glue.add_partitions(account, region, db, doc["Name"], [
            {"Values": list(v), "StorageDescriptor": {**doc["StorageDescriptor"], "Location": loc}}
            for v, loc in new.items()])
        lines = []
        if new:
            names = ["/".join(f"{k}={x}" for k, x in zip(keys, v, strict=True)) for v in new]
            lines.append("Partitions not in metastore:\t" + "\t".join(f"{doc['Name']}:{n}" for n in names))
            lines += [f"Repair: Added partition to metastore {doc['Name']}:{n}" for n in names]
        return {"columns": [], "rows": [[line] for line in lines], "text": True}

    async def _insert(self, account, region, qid, text, default_db, stats) -> dict:
        """INSERT INTO t [(columns)] SELECT ... | VALUES ...: new files under the table's location
        (its format: Parquet, JSON or delimited text), new partitions registered."""
        m = re.match(r"(?is)INSERT\s+INTO\s+([`\"\w.]+)\s*(?:\(([^)]*)\))?\s*((?:SELECT|WITH|VALUES|\().*)$", text)
        if not m:
            raise QueryError("SYNTAX_ERROR: line 1:1: Expecting: INSERT INTO table [(columns)] SELECT ... | VALUES ...")
        db, name = athena_sql.qualified(m.group(1), default_db)
        glue = await self.providers.get("glue")
        try:
            doc = glue.table_doc(account, region, db, name)
        except AwsError:
            raise QueryError(f"TABLE_NOT_FOUND: line 1:13: Table 'awsdatacatalog.{db}.{name}' does not exist") \
                from None
        sd = doc.get("StorageDescriptor") or {}
        location = sd.get("Location") or ""
        fmt = engine.table_format(doc)
        if fmt == "orc" or not location:
            raise QueryError(f"NOT_SUPPORTED: INSERT INTO {'ORC tables' if location else 'a table without location'}"
                             " is not supported by overcast yet.")
        from overcast.services.glue import types as hive

        keys = [k["Name"].lower() for k in doc.get("PartitionKeys") or []]
        table_columns = [(c["Name"].lower(), c.get("Type") or "string") for c in sd.get("Columns") or []] + \
            [(k["Name"].lower(), k.get("Type") or "string") for k in doc.get("PartitionKeys") or []]
        targets = [c.strip().strip('`"').lower() for c in m.group(2).split(",")] if m.group(2) else \
            [c for c, _ in table_columns]
        unknown = [c for c in targets if c not in dict(table_columns)]
        if unknown:
            raise QueryError(f"COLUMN_NOT_FOUND: line 1:1: Insert column name does not exist in target table: "
                             f"{unknown[0]}")
        tree = athena_sql.parse_select(m.group(3))
        conn = engine.connect()
        self._conns[qid] = conn
        folder = tempfile.mkdtemp(prefix="overcast-insert-")
        try:
            resolved = await self._resolve(account, region, glue, conn, tree, default_db, stats)
            inner = athena_sql.to_duckdb(tree, resolved)
            try:
                produced = await asyncio.to_thread(lambda: conn.execute(f"DESCRIBE {inner}").fetchall())
            except Exception as e:
                raise QueryError(f"SYNTAX_ERROR: {str(e).splitlines()[0]}") from None
            if len(produced) != len(targets):
                raise QueryError(f"SYNTAX_ERROR: line 1:1: Insert query has mismatched column sizes: Table has "
                                 f"{len(targets)} column(s) but query has {len(produced)} column(s)")
            position = {c: i for i, c in enumerate(targets)}
            projection = []
            for column, hive_type in table_columns:
                duck = hive.to_duckdb(hive.parse(hive_type))
                projection.append(f'CAST("_c{position[column]}" AS {duck}) AS "{column}"' if column in position
                                  else f'CAST(NULL AS {duck}) AS "{column}"')
            aliases = ", ".join(f'"_c{i}"' for i in range(len(produced)))
            query = f"SELECT {', '.join(projection)} FROM ({inner}) AS _src({aliases})"
            serde = (sd.get("SerdeInfo") or {}).get("Parameters") or {}
            delimiter = serde.get("field.delim") or serde.get("separatorChar") or \
                (doc.get("Parameters") or {}).get("delimiter") or ","
            _, count, files = await asyncio.to_thread(engine.ctas, conn, query, folder, keys,
                                                      {"parquet": "parquet", "json": "json"}.get(fmt, "textfile"),
                                                      delimiter)
            s3 = await self.providers.get("s3")
            bucket, prefix = _s3_parts(location if location.endswith("/") else location + "/")
            for rel in files:
                data = await asyncio.to_thread(_read, os.path.join(folder, rel))
                await s3.write_object(account, region, bucket, prefix + rel, data)
        finally:
            conn.close()
            shutil.rmtree(folder, ignore_errors=True)
        if keys:
            seen = {}
            for rel in files:
                segments = rel.split("/")[:-1]
                values = tuple(urllib.parse.unquote(seg.partition("=")[2]) for seg in segments)
                seen.setdefault(values, f"s3://{bucket}/{prefix}{'/'.join(segments)}/")
            glue.add_partitions(account, region, db, name, [
                {"Values": list(v), "StorageDescriptor": {**sd, "Location": loc}} for v, loc in seen.items()])
        return {"columns": [], "rows": [], "text": True, "update_count": count}

    async def _ctas(self, account, region, qid, text, default_db, location, stats) -> dict:
        m = re.match(r"(?is)CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?([`\"\w.]+)\s*(WITH\s*\((.*?)\)\s*)?AS\s+(.*)$",
                     text)
        if not m:
            raise QueryError("SYNTAX_ERROR: line 1:1: CREATE TABLE needs AS SELECT (or use CREATE EXTERNAL TABLE)")
        db, name = athena_sql.qualified(m.group(2), default_db)
        props = {k.lower(): v for k, v in re.findall(r"(\w+)\s*=\s*('(?:[^']|'')*'|ARRAY\s*\[[^\]]*\]|\w+)",
                                                       m.group(4) or "")}
        fmt = props.get("format", "'PARQUET'").strip("'").upper()
        partitioned = re.findall(r"'([^']+)'", props.get("partitioned_by", ""))
        partitioned = [p.lower() for p in partitioned]
        external = props.get("external_location", "").strip("'")
        glue = await self.providers.get("glue")
        if glue.store.database(account, region, db) is None:
            raise QueryError(f"SCHEMA_NOT_FOUND: line 1:1: Schema '{db}' does not exist")
        if glue.store.table(account, region, db, name) is not None:
            if m.group(1):
                return {"columns": [], "rows": [], "text": True}
            raise QueryError(f"TABLE_ALREADY_EXISTS: line 1:1: Table 'awsdatacatalog.{db}.{name}' already exists")
        if not external:
            external = f"{location}tables/{qid}/"
        if not external.endswith("/"):
            external += "/"
        tree = athena_sql.parse_select(m.group(5))
        conn = engine.connect()
        self._conns[qid] = conn
        folder = tempfile.mkdtemp(prefix="overcast-ctas-")
        try:
            resolved = await self._resolve(account, region, glue, conn, tree, default_db, stats)
            query = athena_sql.to_duckdb(tree, resolved)
            columns, count, files = await asyncio.to_thread(engine.ctas, conn, query, folder, partitioned, fmt)
            s3 = await self.providers.get("s3")
            bucket, prefix = _s3_parts(external)
            for rel in files:
                data = await asyncio.to_thread(_read, os.path.join(folder, rel))
                await s3.write_object(account, region, bucket, prefix + rel, data)
        finally:
            conn.close()
            shutil.rmtree(folder, ignore_errors=True)
        from overcast.services.glue.crawler import FORMATS

        kind = {"PARQUET": "parquet", "JSON": "json"}.get(fmt, "csv")
        spec = FORMATS[kind]
        hive_types = {name_: _hive_type(t) for name_, t in columns}
        descriptor = {"Columns": [{"Name": c, "Type": hive_types[c]} for c, _ in columns if c not in partitioned],
                      "Location": external, "InputFormat": spec["InputFormat"], "OutputFormat": spec["OutputFormat"],
                      "Compressed": False, "NumberOfBuckets": -1, "SerdeInfo": spec["SerdeInfo"],
                      "StoredAsSubDirectories": False}
        glue.save_table(account, region, db, {
            "Name": name, "TableType": "EXTERNAL_TABLE", "StorageDescriptor": descriptor,
            "PartitionKeys": [{"Name": p, "Type": hive_types.get(p, "string")} for p in partitioned],
            "Parameters": {"classification": kind, "EXTERNAL": "TRUE", "has_encrypted_data": "false"}})
        if partitioned:
            seen = {}
            for rel in files:
                segments = rel.split("/")[:-1]
                values = tuple(urllib.parse.unquote(s.partition("=")[2]) for s in segments)
                seen.setdefault(values, f"{external}{'/'.join(segments)}/")
            glue.add_partitions(account, region, db, name, [
                {"Values": list(v), "StorageDescriptor": {**descriptor, "Location": loc}} for v, loc in seen.items()])
        return {"columns": [], "rows": [], "text": True, "update_count": count}


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _hive_type(duck_type: str) -> str:
    t = duck_type.upper()
    simple = {"VARCHAR": "string", "BIGINT": "bigint", "HUGEINT": "bigint", "INTEGER": "int", "SMALLINT": "smallint",
              "TINYINT": "tinyint", "DOUBLE": "double", "FLOAT": "float", "BOOLEAN": "boolean", "DATE": "date",
              "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp", "BLOB": "binary"}
    if t in simple:
        return simple[t]
    if t.startswith("DECIMAL"):
        return t.lower()
    if t.endswith("[]"):
        return f"array<{_hive_type(t[:-2])}>"
    return "string"


def _materialize(blobs, cache_key: str, key: str, data: bytes, fmt: str) -> None:
    """Write an S3 object where DuckDB can read it: ORC becomes Parquet, Snappy text is inflated."""
    if fmt == "orc":
        import io

        import pyarrow as pa
        import pyarrow.orc as orc
        import pyarrow.parquet as pq

        out = io.BytesIO()
        pq.write_table(orc.ORCFile(pa.BufferReader(data)).read(), out)
        data = out.getvalue()
    elif fmt not in ("parquet",) and key.endswith(".snappy"):
        from overcast.services.glue.crawler import decompress

        data, _ = decompress(key, data)
    elif key.endswith(".zip"):
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(n) for n in archive.namelist())
    blobs.put(cache_key, data)
