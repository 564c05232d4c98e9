"""AWS Glue: the Data Catalog (databases, tables with versions, partitions) and crawlers that
crawl S3 (see crawler.py for what they infer), on demand and on cron schedules.

In-process API (Athena and Firehose use it; no HTTP):

    glue = await providers.get("glue")
    doc = glue.table_doc(account, region, database, table)       # GetTable's Table (or AwsError)
    docs = glue.table_docs(account, region, database)
    parts = glue.partition_docs(account, region, database, table, expression=None)
    glue.save_table(account, region, database, doc)              # create or replace (a new version)
    glue.add_partitions(account, region, database, table, docs)  # existing ones are kept
    glue.drop_table(account, region, database, table)
    glue.ensure_database(account, region, database)
"""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
import re
import statistics
import time

import orjson

from overcast.aws import policy as iam_policy
from overcast.aws.errors import AwsError
from overcast.services.base import Provider
from overcast.services.glue import crawler as infer
from overcast.services.glue.store import GlueStore
from overcast.storage.coordination import WorkKind

log = logging.getLogger("overcast.glue")
STOPPING_SECONDS = 0.2
MAX_SAMPLED_FILES = 24


def _not_found(message: str) -> AwsError:
    return AwsError("EntityNotFoundException", message)


def _exists(message: str) -> AwsError:
    return AwsError("AlreadyExistsException", message)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidInputException", message)


def _page(items: list, params: dict, limit_default: int = 100) -> tuple[list, str | None]:
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            start = int(base64.b64decode(token).decode())
        except (ValueError, UnicodeDecodeError):
            raise _invalid("Invalid NextToken") from None
    limit = params.get("MaxResults") or limit_default
    page = items[start:start + limit]
    more = start + limit < len(items)
    return page, base64.b64encode(str(start + limit).encode()).decode() if more else None


def _name_pattern(expression: str):
    """Hive's table-name pattern: `*` matches any characters, `|` separates alternatives (a regular
    expression otherwise)."""
    text = re.sub(r"(?<!\.)\*", ".*", expression.strip())
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error:
        raise _invalid(f"Invalid expression: {expression}") from None


def filter_partitions(partitions: list[dict], keys: list[dict], expression: str | None) -> list[dict]:
    """Partitions whose values satisfy a Glue/Athena partition expression (SQL), evaluated by DuckDB."""
    if not expression:
        return partitions
    import sqlglot

    try:
        parsed = sqlglot.parse(f"SELECT 1 WHERE {expression}", read="duckdb")
    except sqlglot.errors.SqlglotError:
        parsed = None
    if not parsed or len(parsed) != 1 or parsed[0] is None or not parsed[0].args.get("where"):
        raise _invalid(f"Unsupported expression: {expression}")
    if not partitions:
        return partitions
    import duckdb

    names = [k["Name"] for k in keys]
    conn = duckdb.connect()
    try:
        conn.execute("CREATE TABLE p(i INTEGER, " + ", ".join(f'"{n}" VARCHAR' for n in names) + ")")
        conn.executemany(f"INSERT INTO p VALUES ({', '.join('?' * (len(names) + 1))})",
                         [[i, *p["Values"][:len(names)]] for i, p in enumerate(partitions)])
        casts = []
        for k in keys:
            t = (k.get("Type") or "string").lower()
            duck = {"int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT",
                    "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT", "date": "DATE",
                    "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}.get(t)
            casts.append(f'TRY_CAST("{k["Name"]}" AS {duck}) AS "{k["Name"]}"' if duck else f'"{k["Name"]}"')
        rows = conn.execute(f"SELECT i FROM (SELECT i, {', '.join(casts)} FROM p) WHERE {expression}").fetchall()
    except duckdb.Error as e:
        raise _invalid(f"Unsupported expression: {expression} ({str(e).splitlines()[0]})") from None
    finally:
        conn.close()
    keep = {r[0] for r in rows}
    return [p for i, p in enumerate(partitions) if i in keep]


class GlueProvider(Provider):
    service = "glue"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = GlueStore(self.db)
        self._crawls: dict[tuple, asyncio.Task] = {}
        self._timers: dict[tuple, asyncio.TimerHandle] = {}
        self._stopped = False
        # On a cluster, crawler schedules fire on the one node holding the lease "glue:schedules"
        # (storage/coordination.py; the others tell it of a change on the channel "glue"), a crawl
        # runs on the node that started it (its row names it), and the crawls of a node that died
        # are ended by a live node as a restart ends them. One node: all of it is this node's.
        coordination = providers.coordination
        self._coordination = coordination
        self._node = coordination.node_id
        self._channel = coordination.channel("glue")
        self._arms = self._channel is None
        self._schedules = WorkKind("glue", lambda: ("glue:schedules",), self._take_schedules, self._give_schedules)
        if self._channel is not None:
            self._channel.subscribe(self._heard, self._heard)
            coordination.on_nodes_gone(lambda: asyncio.get_running_loop().create_task(self._take_over()))

    async def start(self) -> None:
        if self._channel is not None:
            self._coordination.register(self._schedules)
            await self._take_over("a restart of overcast")
            return
        for account, region, doc, _metrics in self.store.crawlers():
            if doc.get("State") in ("RUNNING", "STOPPING"):  # interrupted by a restart
                self._interrupted(account, region, doc, "a restart of overcast")
            self._arm(account, region, doc)

    def _interrupted(self, account, region, doc, cause: str) -> None:
        doc["State"] = "READY"
        doc["LastCrawl"] = {**(doc.get("LastCrawl") or {}), "Status": "FAILED",
                            "ErrorMessage": f"The crawl was interrupted by {cause}."}
        self.store.put_crawl(account, region, doc, None)

    async def _take_over(self, cause: str = "the loss of the overcast node running it") -> None:
        """(A cluster) End the crawls that dead nodes were running, as a restart ends its own
        (at start-up, the dead node may be this server's earlier run: `cause` says a restart)."""
        try:
            others = self.store.crawl_nodes(self._node)
            dead = await self._coordination.dead_nodes(node for node in others if node is not None)
            for account, region, name in self.store.claim_crawls(self._node, sorted(dead), None in others):
                found = self.store.crawler(account, region, name)
                if found is not None:
                    self._interrupted(account, region, found[0], cause)
        except Exception as e:
            log.warning("ending the crawls of dead nodes: %s", e)

    def _take_schedules(self, _name: str) -> None:
        self._arms = True
        for account, region, doc, _metrics in self.store.crawlers():
            self._arm(account, region, doc)

    def _give_schedules(self, _name: str) -> None:
        self._arms = False
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _heard(self, _key=None) -> None:
        if self._arms:
            self._take_schedules("glue:schedules")

    async def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        for task in self._crawls.values():
            task.cancel()

    def reset(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- the in-process API ---------------------------------------------------------------------

    def table_doc(self, account, region, database, table) -> dict:
        doc = self.store.table(account, region, database.lower(), table.lower())
        if doc is None:
            if self.store.database(account, region, database.lower()) is None:
                raise _not_found(f"Database {database} not found.")
            raise _not_found(f"Table {table} not found.")
        return doc

    def table_docs(self, account, region, database) -> list[dict]:
        return self.store.tables(account, region, database.lower())

    def partition_docs(self, account, region, database, table, expression=None) -> list[dict]:
        doc = self.table_doc(account, region, database, table)
        parts = self.store.partitions(account, region, database.lower(), table.lower())
        return filter_partitions(parts, doc.get("PartitionKeys") or [], expression)

    def ensure_database(self, account, region, database) -> None:
        if self.store.database(account, region, database.lower()) is None:
            self.store.put_database(account, region, database.lower(),
                                    {"Name": database.lower(), "CreateTime": time.time(), "CatalogId": account}, True)

    def save_table(self, account, region, database, doc: dict) -> None:
        database = database.lower()
        doc = {**doc, "Name": doc["Name"].lower(), "DatabaseName": database, "CatalogId": account}
        existing = self.store.table(account, region, database, doc["Name"])
        now = time.time()
        doc.setdefault("CreateTime", existing["CreateTime"] if existing else now)
        doc["UpdateTime"] = now
        if existing is None:
            self.store.put_table(account, region, database, doc, True)
        else:
            self.store.put_table(account, region, database, doc, False)

    def add_partitions(self, account, region, database, table, docs: list[dict]) -> int:
        now = time.time()
        docs = [{**d, "DatabaseName": database.lower(), "TableName": table.lower(), "CatalogId": account,
                 "CreationTime": d.get("CreationTime", now)} for d in docs]
        return sum(self.store.put_partitions(account, region, database.lower(), table.lower(), docs))

    def drop_table(self, account, region, database, table) -> bool:
        return self.store.delete_table(account, region, database.lower(), table.lower())

    # -- databases ------------------------------------------------------------------------------

    def _database(self, ctx, name: str) -> dict:
        doc = self.store.database(ctx.account, ctx.region, name.lower())
        if doc is None:
            raise _not_found(f"Database {name} not found.")
        return doc

    def authorize(self, ctx, params) -> None:
        """Every Glue call: a CatalogId or resource ARN of another account is refused, since
        overcast keeps no Glue resource policies (PutResourcePolicy is not implemented)."""
        catalog = params.get("CatalogId")
        if catalog and catalog != ctx.account:
            iam_policy.check(ctx, catalog, f"arn:aws:glue:{ctx.region}:{catalog}:catalog", f"glue:{ctx.operation}")
        arn = params.get("ResourceArn")
        parts = arn.split(":") if isinstance(arn, str) else ()
        if len(parts) >= 6:
            iam_policy.check(ctx, parts[4], arn, f"glue:{ctx.operation}")

    def create_database(self, ctx, params):
        inp = dict(params["DatabaseInput"])
        name = inp["Name"].lower()
        doc = {**inp, "Name": name, "CreateTime": time.time(), "CatalogId": ctx.account}
        doc.setdefault("CreateTableDefaultPermissions", [{"Principal": {"DataLakePrincipalIdentifier":
                       "IAM_ALLOWED_PRINCIPALS"}, "Permissions": ["ALL"]}])
        if not self.store.put_database(ctx.account, ctx.region, name, doc, True):
            raise _exists("Database already exists.")
        if params.get("Tags"):
            self.store.set_tags(self._arn(ctx, f"database/{name}"), params["Tags"])
        return {}

    def get_database(self, ctx, params):
        return {"Database": self._database(ctx, params["Name"])}

    def get_databases(self, ctx, params):
        page, token = _page(self.store.databases(ctx.account, ctx.region), params)
        return {"DatabaseList": page, "NextToken": token}

    def update_database(self, ctx, params):
        current = self._database(ctx, params["Name"])
        doc = {**params["DatabaseInput"], "Name": current["Name"], "CreateTime": current["CreateTime"],
               "CatalogId": ctx.account}
        self.store.put_database(ctx.account, ctx.region, current["Name"], doc, False)
        return {}

    def delete_database(self, ctx, params):
        current = self._database(ctx, params["Name"])
        self.store.delete_database(ctx.account, ctx.region, current["Name"])
        return {}

    # -- tables ---------------------------------------------------------------------------------

    def _table(self, ctx, db: str, name: str) -> dict:
        self._database(ctx, db)
        doc = self.store.table(ctx.account, ctx.region, db.lower(), name.lower())
        if doc is None:
            raise _not_found(f"Table {name} not found.")
        return doc

    def create_table(self, ctx, params):
        db = self._database(ctx, params["DatabaseName"])["Name"]
        inp = params["TableInput"]
        name = inp["Name"].lower()
        now = time.time()
        doc = {**inp, "Name": name, "DatabaseName": db, "CreateTime": now, "UpdateTime": now,
               "CatalogId": ctx.account, "IsRegisteredWithLakeFormation": False}
        doc.setdefault("PartitionKeys", [])
        doc.setdefault("Retention", 0)
        doc.setdefault("CreatedBy", f"arn:aws:iam::{ctx.account}:user/overcast")
        if not self.store.put_table(ctx.account, ctx.region, db, doc, True):
            raise _exists("Table already exists.")
        return {}

    def get_table(self, ctx, params):
        return {"Table": self._table(ctx, params["DatabaseName"], params["Name"])}

    def get_tables(self, ctx, params):
        db = self._database(ctx, params["DatabaseName"])["Name"]
        tables = self.store.tables(ctx.account, ctx.region, db)
        if params.get("Expression"):
            pattern = _name_pattern(params["Expression"])
            tables = [t for t in tables if pattern.fullmatch(t["Name"])]
        page, token = _page(tables, params)
        return {"TableList": page, "NextToken": token}

    def update_table(self, ctx, params):
        db = params["DatabaseName"]
        if not params.get("TableInput"):  # optional in the model since view updates; required here
            raise _invalid("TableInput is required to update a table.")
        current = self._table(ctx, db, params["TableInput"]["Name"])
        if params.get("VersionId") and params["VersionId"] != current.get("VersionId"):
            raise AwsError("ConcurrentModificationException", "Table version mismatch: the table was updated "
                           "since version " + params["VersionId"])
        doc = {**params["TableInput"], "Name": current["Name"], "DatabaseName": current["DatabaseName"],
               "CreateTime": current["CreateTime"], "UpdateTime": time.time(), "CatalogId": ctx.account,
               "IsRegisteredWithLakeFormation": False}
        doc.setdefault("PartitionKeys", current.get("PartitionKeys", []))
        self.store.put_table(ctx.account, ctx.region, current["DatabaseName"], doc, False)
        return {}

    def delete_table(self, ctx, params):
        db = self._database(ctx, params["DatabaseName"])["Name"]
        if not self.store.delete_table(ctx.account, ctx.region, db, params["Name"].lower()):
            raise _not_found(f"Table {params['Name']} not found.")
        return {}

    def batch_delete_table(self, ctx, params):
        db = self._database(ctx, params["DatabaseName"])["Name"]
        errors = []
        for name in params["TablesToDelete"]:
            if not self.store.delete_table(ctx.account, ctx.region, db, name.lower()):
                errors.append({"TableName": name, "ErrorDetail": {"ErrorCode": "EntityNotFoundException",
                                                                  "ErrorMessage": f"Table {name} not found."}})
        return {"Errors": errors}

    def get_table_versions(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        versions = self.store.table_versions(ctx.account, ctx.region, table["DatabaseName"], table["Name"])
        page, token = _page([{"Table": d, "VersionId": str(v)} for v, d in versions], params)
        return {"TableVersions": page, "NextToken": token}

    def get_table_version(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        versions = dict(self.store.table_versions(ctx.account, ctx.region, table["DatabaseName"], table["Name"]))
        wanted = int(params.get("VersionId") or max(versions))
        if wanted not in versions:
            raise _not_found(f"Version {wanted} of table {table['Name']} not found.")
        return {"TableVersion": {"Table": versions[wanted], "VersionId": str(wanted)}}

    def delete_table_version(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        if not self.store.delete_table_version(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                               int(params["VersionId"])):
            raise _not_found(f"Version {params['VersionId']} of table {table['Name']} not found.")
        return {}

    def batch_delete_table_version(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        errors = []
        for version in params["VersionIds"]:
            if not self.store.delete_table_version(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                                   int(version)):
                errors.append({"TableName": table["Name"], "VersionId": version, "ErrorDetail": {
                    "ErrorCode": "EntityNotFoundException", "ErrorMessage": "Version not found."}})
        return {"Errors": errors}

    # -- partitions -----------------------------------------------------------------------------

    def _partition_doc(self, ctx, table: dict, inp: dict) -> dict:
        keys = table.get("PartitionKeys") or []
        if len(inp.get("Values") or []) != len(keys):
            raise _invalid(f"The number of partition values ({len(inp.get('Values') or [])}) does not match the "
                           f"number of partition keys ({len(keys)}) of table {table['Name']}.")
        return {**inp, "DatabaseName": table["DatabaseName"], "TableName": table["Name"],
                "CreationTime": time.time(), "CatalogId": ctx.account}

    def create_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        doc = self._partition_doc(ctx, table, params["PartitionInput"])
        if not self.store.put_partitions(ctx.account, ctx.region, table["DatabaseName"], table["Name"], [doc])[0]:
            raise _exists("Partition already exists.")
        return {}

    def batch_create_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        errors, docs = [], []
        for inp in params["PartitionInputList"]:
            try:
                docs.append(self._partition_doc(ctx, table, inp))
            except AwsError as e:
                errors.append({"PartitionValues": inp.get("Values"), "ErrorDetail": {
                    "ErrorCode": e.code, "ErrorMessage": e.message}})
        written = self.store.put_partitions(ctx.account, ctx.region, table["DatabaseName"], table["Name"], docs)
        for doc, ok in zip(docs, written, strict=True):
            if not ok:
                errors.append({"PartitionValues": doc["Values"], "ErrorDetail": {
                    "ErrorCode": "AlreadyExistsException", "ErrorMessage": "Partition already exists."}})
        return {"Errors": errors}

    def get_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        doc = self.store.partition(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                   params["PartitionValues"])
        if doc is None:
            raise _not_found("Partition not found.")
        return {"Partition": doc}

    def get_partitions(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        parts = self.store.partitions(ctx.account, ctx.region, table["DatabaseName"], table["Name"])
        parts = filter_partitions(parts, table.get("PartitionKeys") or [], params.get("Expression"))
        if params.get("ExcludeColumnSchema"):
            parts = copy.deepcopy(parts)
            for p in parts:
                (p.get("StorageDescriptor") or {}).pop("Columns", None)
        page, token = _page(parts, params, 1000)
        return {"Partitions": page, "NextToken": token}

    def batch_get_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        found, missing = [], []
        for entry in params["PartitionsToGet"]:
            doc = self.store.partition(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                       entry["Values"])
            (found if doc else missing).append(doc or entry)
        return {"Partitions": found, "UnprocessedKeys": missing}

    def update_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        doc = self._partition_doc(ctx, table, params["PartitionInput"])
        if not self.store.replace_partition(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                            params["PartitionValueList"], doc):
            raise _not_found("Partition not found.")
        return {}

    def batch_update_partition(self, ctx, params):
        errors = []
        for entry in params["Entries"]:
            try:
                self.update_partition(ctx, {**params, "PartitionValueList": entry["PartitionValueList"],
                                            "PartitionInput": entry["PartitionInput"]})
            except AwsError as e:
                errors.append({"PartitionValueList": entry["PartitionValueList"],
                               "ErrorDetail": {"ErrorCode": e.code, "ErrorMessage": e.message}})
        return {"Errors": errors}

    def delete_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        if not self.store.delete_partition(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                           params["PartitionValues"]):
            raise _not_found("Partition not found.")
        return {}

    def batch_delete_partition(self, ctx, params):
        table = self._table(ctx, params["DatabaseName"], params["TableName"])
        errors = []
        for entry in params["PartitionsToDelete"]:
            if not self.store.delete_partition(ctx.account, ctx.region, table["DatabaseName"], table["Name"],
                                               entry["Values"]):
                errors.append({"PartitionValues": entry["Values"], "ErrorDetail": {
                    "ErrorCode": "EntityNotFoundException", "ErrorMessage": "Partition not found."}})
        return {"Errors": errors}

    # -- tags -----------------------------------------------------------------------------------

    @staticmethod
    def _arn(ctx, resource: str) -> str:
        return f"arn:aws:glue:{ctx.region}:{ctx.account}:{resource}"

    def tag_resource(self, ctx, params):
        arn = params["ResourceArn"]
        self.store.set_tags(arn, {**self.store.tags(arn), **params["TagsToAdd"]})
        return {}

    def untag_resource(self, ctx, params):
        arn = params["ResourceArn"]
        self.store.set_tags(arn, {k: v for k, v in self.store.tags(arn).items() if k not in params["TagsToRemove"]})
        return {}

    def get_tags(self, ctx, params):
        return {"Tags": self.store.tags(params["ResourceArn"])}

    def tagged_resources(self, ctx) -> list[tuple[str, dict]]:
        """(ARN, tags) of this account's databases and crawlers in the request's region that have tags: what the
        Resource Groups Tagging API lists (services/resourcegroupstaggingapi)."""
        return [(arn, orjson.loads(tags)) for arn, tags in self.store.tagged(ctx.account, ctx.region)]

    # -- crawlers -------------------------------------------------------------------------------

    def _crawler(self, ctx, name: str) -> tuple[dict, dict]:
        found = self.store.crawler(ctx.account, ctx.region, name)
        if found is None:
            raise _not_found(f"Crawler with name {name} has not been found.")
        return found

    @staticmethod
    def _schedule_doc(expression: str | None, state: str) -> dict | None:
        if not expression:
            return None
        from overcast.engine import schedules

        try:
            schedules.parse(expression)
            if not expression.startswith("cron("):
                raise schedules.ScheduleError(expression)
        except schedules.ScheduleError:
            raise _invalid(f"Invalid schedule expression: {expression}. Crawler schedules are cron(...) "
                           "expressions.") from None
        return {"ScheduleExpression": expression, "State": state}

    def create_crawler(self, ctx, params):
        name = params["Name"]
        targets = params["Targets"]
        for target in targets.get("S3Targets") or []:
            if not target.get("Path", "").startswith("s3://"):
                raise _invalid(f"S3 target path {target.get('Path')!r} must start with s3://")
        unsupported = [k for k, v in targets.items() if v and k != "S3Targets"]
        if unsupported:
            raise _invalid(f"Crawler targets {unsupported[0]} are not supported by overcast yet (S3Targets are).")
        now = time.time()
        doc = {
            "Name": name, "Role": params["Role"], "Targets": targets, "DatabaseName": params.get("DatabaseName"),
            "Description": params.get("Description", ""), "Classifiers": params.get("Classifiers") or [],
            "RecrawlPolicy": params.get("RecrawlPolicy") or {"RecrawlBehavior": "CRAWL_EVERYTHING"},
            "SchemaChangePolicy": params.get("SchemaChangePolicy") or {
                "UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DEPRECATE_IN_DATABASE"},
            "LineageConfiguration": {"CrawlerLineageSettings": "DISABLE"}, "State": "READY",
            "TablePrefix": params.get("TablePrefix", ""), "CrawlElapsedTime": 0, "CreationTime": now,
            "LastUpdated": now, "Version": 1,
        }
        if params.get("Configuration"):
            doc["Configuration"] = params["Configuration"]
        schedule = self._schedule_doc(params.get("Schedule"), "SCHEDULED")
        if schedule:
            doc["Schedule"] = schedule
        if not self.store.put_crawler(ctx.account, ctx.region, doc, True):
            raise _exists(f"{name} already exists")
        if params.get("Tags"):
            self.store.set_tags(self._arn(ctx, f"crawler/{name}"), params["Tags"])
        self._arm(ctx.account, ctx.region, doc)
        return {}

    def get_crawler(self, ctx, params):
        return {"Crawler": self._crawler(ctx, params["Name"])[0]}

    def get_crawlers(self, ctx, params):
        page, token = _page([d for _, _, d, _ in self.store.crawlers(ctx.account, ctx.region)], params)
        return {"Crawlers": page, "NextToken": token}

    def list_crawlers(self, ctx, params):
        page, token = _page([d["Name"] for _, _, d, _ in self.store.crawlers(ctx.account, ctx.region)], params)
        return {"CrawlerNames": page, "NextToken": token}

    def batch_get_crawlers(self, ctx, params):
        found, missing = [], []
        for name in params["CrawlerNames"]:
            entry = self.store.crawler(ctx.account, ctx.region, name)
            if entry:
                found.append(entry[0])
            else:
                missing.append(name)
        return {"Crawlers": found, "CrawlersNotFound": missing}

    def update_crawler(self, ctx, params):
        doc, _ = self._crawler(ctx, params["Name"])
        if doc["State"] != "READY":
            raise AwsError("CrawlerRunningException", f"Crawler with name {doc['Name']} has already started")
        for key in ("Role", "DatabaseName", "Description", "Targets", "Classifiers", "TablePrefix",
                    "SchemaChangePolicy", "RecrawlPolicy", "Configuration"):
            if key in params:
                doc[key] = params[key]
        if "Schedule" in params:
            schedule = self._schedule_doc(params["Schedule"], "SCHEDULED")
            if schedule:
                doc["Schedule"] = schedule
            else:
                doc.pop("Schedule", None)
        doc["LastUpdated"] = time.time()
        doc["Version"] = doc.get("Version", 1) + 1
        self.store.put_crawler(ctx.account, ctx.region, doc, False)
        self._arm(ctx.account, ctx.region, doc)
        return {}

    def delete_crawler(self, ctx, params):
        doc, _ = self._crawler(ctx, params["Name"])
        if doc["State"] != "READY":
            raise AwsError("CrawlerRunningException", f"Crawler with name {doc['Name']} has already started")
        self.store.delete_crawler(ctx.account, ctx.region, doc["Name"])
        timer = self._timers.pop((ctx.account, ctx.region, doc["Name"]), None)
        if timer:
            timer.cancel()
        return {}

    def update_crawler_schedule(self, ctx, params):
        doc, _ = self._crawler(ctx, params["CrawlerName"])
        state = (doc.get("Schedule") or {}).get("State", "SCHEDULED")
        schedule = self._schedule_doc(params.get("Schedule"), state)
        if schedule:
            doc["Schedule"] = schedule
        else:
            doc.pop("Schedule", None)
        self.store.put_crawler(ctx.account, ctx.region, doc, False)
        self._arm(ctx.account, ctx.region, doc)
        return {}

    def start_crawler_schedule(self, ctx, params):
        doc, _ = self._crawler(ctx, params["CrawlerName"])
        if not doc.get("Schedule"):
            raise AwsError("NoScheduleException", f"Crawler {doc['Name']} has no schedule.")
        if doc["Schedule"]["State"] == "SCHEDULED":
            raise AwsError("SchedulerRunningException", f"The schedule of crawler {doc['Name']} is already running.")
        doc["Schedule"]["State"] = "SCHEDULED"
        self.store.put_crawler(ctx.account, ctx.region, doc, False)
        self._arm(ctx.account, ctx.region, doc)
        return {}

    def stop_crawler_schedule(self, ctx, params):
        doc, _ = self._crawler(ctx, params["CrawlerName"])
        if not doc.get("Schedule") or doc["Schedule"]["State"] != "SCHEDULED":
            raise AwsError("SchedulerNotRunningException", f"The schedule of crawler {doc['Name']} is not running.")
        doc["Schedule"]["State"] = "NOT_SCHEDULED"
        self.store.put_crawler(ctx.account, ctx.region, doc, False)
        self._arm(ctx.account, ctx.region, doc)
        return {}

    def get_crawler_metrics(self, ctx, params):
        names = params.get("CrawlerNameList")
        out = []
        for _account, _region, doc, metrics in self.store.crawlers(ctx.account, ctx.region):
            if names and doc["Name"] not in names:
                continue
            runs = metrics.get("runs") or []
            out.append({"CrawlerName": doc["Name"], "TimeLeftSeconds": 0.0,
                        "StillEstimating": doc["State"] == "RUNNING",
                        "LastRuntimeSeconds": runs[-1] if runs else 0.0,
                        "MedianRuntimeSeconds": statistics.median(runs) if runs else 0.0,
                        "TablesCreated": metrics.get("created", 0), "TablesUpdated": metrics.get("updated", 0),
                        "TablesDeleted": metrics.get("deleted", 0)})
        page, token = _page(out, params)
        return {"CrawlerMetricsList": page, "NextToken": token}

    def start_crawler(self, ctx, params):
        doc, metrics = self._crawler(ctx, params["Name"])
        self._begin(ctx.account, ctx.region, doc, metrics)
        return {}

    def stop_crawler(self, ctx, params):
        doc, _ = self._crawler(ctx, params["Name"])
        if doc["State"] == "READY":
            raise AwsError("CrawlerNotRunningException", f"Crawler with name {doc['Name']} is not running")
        if doc["State"] == "STOPPING":
            raise AwsError("CrawlerStoppingException", f"Crawler with name {doc['Name']} is stopping")
        task = self._crawls.get((ctx.account, ctx.region, doc["Name"]))
        if task:
            task.cancel()
        return {}

    # -- crawling -------------------------------------------------------------------------------

    def _begin(self, account, region, doc, metrics) -> None:
        if doc["State"] == "RUNNING":
            raise AwsError("CrawlerRunningException", f"Crawler with name {doc['Name']} has already started")
        if doc["State"] == "STOPPING":
            raise AwsError("CrawlerStoppingException", f"Crawler with name {doc['Name']} is stopping")
        doc["State"] = "RUNNING"
        doc["CrawlElapsedTime"] = 0
        self.store.put_crawl(account, region, doc, self._node)
        key = (account, region, doc["Name"])
        self._crawls[key] = asyncio.get_running_loop().create_task(self._crawl(account, region, doc["Name"]))

    async def _crawl(self, account, region, name) -> None:
        started = time.time()
        status, message, created, updated = "SUCCEEDED", None, 0, 0
        try:
            doc, _ = self.store.crawler(account, region, name)
            created, updated = await self._run(account, region, doc)
        except asyncio.CancelledError:
            status, message = "CANCELLED", None
        except AwsError as e:
            status, message = "FAILED", e.message
        except Exception as e:  # a crawl that breaks reports it; the server keeps answering
            log.exception("crawler %s failed", name)
            status, message = "FAILED", f"Internal error while crawling: {e}"
        found = self.store.crawler(account, region, name)
        if found is None:
            return
        doc, metrics = found
        doc["State"] = "STOPPING"
        elapsed = time.time() - started
        doc["CrawlElapsedTime"] = int(elapsed * 1000)
        self.store.put_crawler(account, region, doc, False)
        await asyncio.sleep(STOPPING_SECONDS)  # the crawler is seen STOPPING once, as on AWS
        found = self.store.crawler(account, region, name)
        if found is None:
            return
        doc, metrics = found
        doc["State"] = "READY"
        doc["CrawlElapsedTime"] = 0
        doc["LastCrawl"] = {"Status": status, "LogGroup": "/aws-glue/crawlers", "LogStream": name,
                            "MessagePrefix": f"{started:.0f}", "StartTime": started,
                            **({"ErrorMessage": message} if message else {})}
        metrics = {"runs": (metrics.get("runs") or [])[-20:] + [round(elapsed, 3)], "created": created,
                   "updated": updated, "deleted": 0}
        self.store.put_crawler(account, region, doc, False, metrics)
        self.store.put_crawl(account, region, doc, None)
        self._crawls.pop((account, region, name), None)

    async def _list(self, account, region, bucket: str, prefix: str) -> list[tuple[str, int, str]]:
        from overcast.services.s3.notifications import _internal_ctx

        s3 = await self.providers.get("s3")
        ctx = _internal_ctx("s3", account, region, "ListObjectsV2")
        out, token = [], None
        while True:
            params = {"Bucket": bucket, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
            try:
                page = s3.list_objects_v2(ctx, params)
            except AwsError as e:
                raise AwsError("EntityNotFoundException", f"S3 target s3://{bucket}/{prefix}: {e.message}") from None
            out += [(o["Key"], o["Size"], o.get("ETag", "")) for o in page.get("Contents") or []]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated"):
                return out

    async def _run(self, account, region, doc) -> tuple[int, int]:
        database = doc.get("DatabaseName")
        if not database or self.store.database(account, region, database.lower()) is None:
            raise _not_found(f"Database {database} not found.")
        s3 = await self.providers.get("s3")
        created = updated = 0
        for target in doc["Targets"].get("S3Targets") or []:
            path = target["Path"][5:]
            bucket, _, prefix = path.partition("/")
            objects = await self._list(account, region, bucket, prefix)
            exclusions = target.get("Exclusions") or []
            files = [o for o in objects if o[1] > 0 and not _hidden(o[0][len(prefix):]) and
                     not any(_glob(ex, o[0][len(prefix):].lstrip("/")) for ex in exclusions)]
            roots: dict[str, list] = {}
            if prefix and not prefix.endswith("/"):
                if any(o[0] == prefix for o in files):  # the path names one file
                    roots[prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""] = [o for o in files
                                                                                       if o[0] == prefix]
                else:
                    prefix += "/"
            if not roots:
                if prefix:
                    roots[prefix] = files
                else:
                    for o in files:
                        top = o[0].split("/", 1)[0] + "/" if "/" in o[0] else ""
                        if "=" in top:
                            top = ""
                        roots.setdefault(top, []).append(o)
            for root, group in roots.items():
                if not group:
                    continue
                result = await self._table_from(account, region, s3, bucket, root, group, doc)
                if result == "created":
                    created += 1
                elif result == "updated":
                    updated += 1
        return created, updated

    async def _table_from(self, account, region, s3, bucket, root, files, crawler) -> str | None:
        dirs = {o[0]: o[0][len(root):].split("/")[:-1] for o in files}
        keys = infer.partition_keys(list(dirs.values()))
        step = max(1, len(files) // MAX_SAMPLED_FILES)
        sample = files[::step][:MAX_SAMPLED_FILES]
        bodies = [(o[0], await s3.read_object(account, region, bucket, o[0])) for o in sample]
        inferred = await asyncio.to_thread(lambda: [infer.infer(k, b) for k, b in bodies])
        inferred = [i for i in inferred if i is not None]
        if not inferred:
            return None
        kind = inferred[0]
        columns: dict[str, object] = {}
        for item in inferred:
            if item.classification != kind.classification:
                continue
            for name, t in item.columns:
                columns[name] = t if name not in columns else (
                    columns[name] if columns[name] == t else infer.merge(columns[name], t)
                    if all(isinstance(x, str) for x in (columns[name], t)) and "<" not in columns[name] + t
                    else "string")
        partition_names = [k for k in keys if k not in columns]
        if len(partition_names) != len(keys):
            partition_names = keys = [f"partition_{i}" for i in range(len(keys))]
        name = (crawler.get("TablePrefix") or "") + infer.table_name(root.rstrip("/").rsplit("/", 1)[-1] or bucket)
        location = f"s3://{bucket}/{root}"
        fmt = infer.FORMATS[kind.classification]
        serde = copy.deepcopy(fmt["SerdeInfo"])
        params = {"classification": kind.classification, "compressionType": kind.compression,
                  "typeOfData": "file", "CrawlerSchemaSerializerVersion": "1.0",
                  "CrawlerSchemaDeserializerVersion": "1.0", "UPDATED_BY_CRAWLER": crawler["Name"],
                  "objectCount": str(len(files)), "sizeKey": str(sum(o[1] for o in files))}
        if kind.classification == "csv":
            serde["Parameters"]["field.delim"] = kind.delimiter
            params["delimiter"] = kind.delimiter
            if kind.header:
                params["skip.header.line.count"] = "1"
        if kind.classification == "json":
            serde["Parameters"]["paths"] = ",".join(columns)
        descriptor = {"Columns": [{"Name": n, "Type": t} for n, t in columns.items()], "Location": location,
                      "InputFormat": fmt["InputFormat"], "OutputFormat": fmt["OutputFormat"],
                      "Compressed": kind.compression != "none", "NumberOfBuckets": -1, "SerdeInfo": serde,
                      "BucketColumns": [], "SortColumns": [], "Parameters": dict(params),
                      "StoredAsSubDirectories": False}
        table = {"Name": name, "Owner": "owner", "Retention": 0, "StorageDescriptor": descriptor,
                 "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys], "TableType": "EXTERNAL_TABLE",
                 "Parameters": params, "CreatedBy": crawler["Role"]}
        database = crawler["DatabaseName"].lower()
        existing = self.store.table(account, region, database, name)
        result = "created"
        if existing is not None:
            same = (existing["StorageDescriptor"].get("Columns") == descriptor["Columns"] and
                    existing.get("PartitionKeys") == table["PartitionKeys"])
            if (crawler.get("SchemaChangePolicy") or {}).get("UpdateBehavior") == "LOG" or same:
                table = {**existing, "Parameters": {**existing.get("Parameters", {}), **params}}
                result = None
            else:
                result = "updated"
        self.save_table(account, region, database, table)
        if keys:
            seen, parts = set(), []
            for _key, segments in dirs.items():
                values = tuple(v for _, v in infer.partition_values(segments[:len(keys)]))
                if len(values) < len(keys) or values in seen:
                    continue
                seen.add(values)
                sub = root + "/".join(segments[:len(keys)]) + "/"
                parts.append({"Values": list(values), "StorageDescriptor": {
                    **copy.deepcopy(descriptor), "Location": f"s3://{bucket}/{sub}"}, "Parameters": {}})
            self.add_partitions(account, region, database, name, parts)
        return result

    # -- schedules ------------------------------------------------------------------------------

    def _arm(self, account, region, doc) -> None:
        if not self._arms:  # (a cluster) the node holding "glue:schedules" fires them: tell it
            self._channel.publish("schedules")
            return
        key = (account, region, doc["Name"])
        timer = self._timers.pop(key, None)
        if timer:
            timer.cancel()
        schedule = doc.get("Schedule")
        if self._stopped or not schedule or schedule.get("State") != "SCHEDULED":
            return
        from overcast.engine import schedules

        when = schedules.parse(schedule["ScheduleExpression"]).next_after(time.time())
        if when is None:
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_at(loop.time() + max(0.0, when - time.time()), self._fire, key)

    def _fire(self, key) -> None:
        self._timers.pop(key, None)
        found = self.store.crawler(*key)
        if found is None:
            return
        doc, metrics = found
        if doc["State"] == "READY":
            self._begin(key[0], key[1], doc, metrics)
        self._arm(key[0], key[1], doc)


def _hidden(relative: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.strip("/").split("/")) or \
        relative.endswith(("_$folder$", ".metadata"))


def _glob(pattern: str, path: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(path, pattern.replace("**", "*"))
