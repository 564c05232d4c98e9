"""Cloud Control's tables: resource operation requests (CreateResource, UpdateResource,
DeleteResource), each a ProgressEvent document committed before the request is answered, and the
resources those requests made, with what their handlers need to update and delete them later (the
physical id, the properties asked for, the attributes the create answered)."""

from __future__ import annotations

import orjson

from overcast.storage import Database

SCHEMA = "cloudcontrol"
MIGRATIONS = [
    """
    CREATE TABLE cloudcontrol_requests (
        request_token TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        client_token TEXT,
        type_name TEXT NOT NULL,
        identifier TEXT,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX cloudcontrol_requests_scope ON cloudcontrol_requests(account, region, created);
    CREATE INDEX cloudcontrol_requests_client ON cloudcontrol_requests(account, region, client_token);
    CREATE INDEX cloudcontrol_requests_status ON cloudcontrol_requests(status);
    CREATE TABLE cloudcontrol_resources (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        type_name TEXT NOT NULL,
        identifier TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (account, region, type_name, identifier)
    );
    """,
]

ACTIVE = ("PENDING", "IN_PROGRESS", "CANCEL_IN_PROGRESS")  # a handler still running


class CloudControlStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def put_request(self, account: str, region: str, event: dict, client_token: str | None, created: float,
                    request: dict) -> None:
        """A request's ProgressEvent (`event`) and what it asked for (`request`), as one row."""
        self.db.execute(
            "INSERT OR REPLACE INTO cloudcontrol_requests (request_token, account, region, client_token, type_name, "
            "identifier, status, created, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event["RequestToken"], account, region, client_token, event["TypeName"], event.get("Identifier"),
             event["OperationStatus"], created, orjson.dumps({"event": event, "request": request}).decode()))

    def request(self, account: str, region: str, token: str) -> dict | None:
        doc = self.db.scalar("SELECT doc FROM cloudcontrol_requests WHERE request_token=? AND account=? AND region=?",
                             (token, account, region))
        return orjson.loads(doc) if doc else None

    def request_by_client_token(self, account: str, region: str, client_token: str) -> dict | None:
        doc = self.db.scalar("SELECT doc FROM cloudcontrol_requests WHERE account=? AND region=? AND client_token=?",
                             (account, region, client_token))
        return orjson.loads(doc) if doc else None

    def requests(self, account: str, region: str) -> list[dict]:
        """Every request of the scope, newest first."""
        return [orjson.loads(doc) for (doc,) in self.db.query(
            "SELECT doc FROM cloudcontrol_requests WHERE account=? AND region=? ORDER BY created DESC, request_token",
            (account, region))]

    def active_on(self, account: str, region: str, type_name: str, identifier: str) -> bool:
        marks = ",".join("?" * len(ACTIVE))
        return self.db.scalar(
            f"SELECT 1 FROM cloudcontrol_requests WHERE account=? AND region=? AND type_name=? AND identifier=? "
            f"AND status IN ({marks}) LIMIT 1", (account, region, type_name, identifier, *ACTIVE)) is not None

    def unfinished(self) -> list[tuple[str, str, dict]]:
        """(account, region, doc) of the requests a stop or a crash interrupted."""
        marks = ",".join("?" * len(ACTIVE))
        return [(a, r, orjson.loads(doc)) for a, r, doc in self.db.query(
            f"SELECT account, region, doc FROM cloudcontrol_requests WHERE status IN ({marks})", ACTIVE)]

    def put_resource(self, account: str, region: str, type_name: str, identifier: str, doc: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO cloudcontrol_resources (account, region, type_name, identifier, doc) "
                        "VALUES (?, ?, ?, ?, ?)", (account, region, type_name, identifier, orjson.dumps(doc).decode()))

    def resource(self, account: str, region: str, type_name: str, identifier: str) -> dict | None:
        doc = self.db.scalar("SELECT doc FROM cloudcontrol_resources WHERE account=? AND region=? AND type_name=? "
                             "AND identifier=?", (account, region, type_name, identifier))
        return orjson.loads(doc) if doc else None

    def delete_resource(self, account: str, region: str, type_name: str, identifier: str) -> None:
        self.db.execute("DELETE FROM cloudcontrol_resources WHERE account=? AND region=? AND type_name=? "
                        "AND identifier=?", (account, region, type_name, identifier))
