"""X-Ray's table: the segment documents PutTraceSegments (and the daemon's UDP port) accepted, kept
for X-Ray's 30 days. One row per segment or independent subsegment, keyed by its trace and id, so
that a complete segment replaces the in-progress one sent before it."""

from __future__ import annotations

from overcast.storage import Database

SCHEMA = "xray"
MIGRATIONS = [
    """
    CREATE TABLE xray_segments (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        parent_id TEXT,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        start_time REAL NOT NULL,
        end_time REAL,
        trace_time REAL NOT NULL,
        received REAL NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (account, region, trace_id, id)
    );
    CREATE INDEX xray_segments_received ON xray_segments (account, region, received);
    CREATE INDEX xray_segments_trace_time ON xray_segments (account, region, trace_time);
    CREATE INDEX xray_segments_end_time ON xray_segments (account, region, end_time);
    CREATE INDEX xray_segments_age ON xray_segments (received);
    """,
]

# a segment row: trace_id, id, parent_id, kind, name, start_time, end_time, received, document
ROW = "trace_id, id, parent_id, kind, name, start_time, end_time, received, document"
# what GetTraceSummaries' TimeRangeType reads: the trace's start (from its id), a segment's arrival,
# a segment's end
TIME_COLUMNS = {"TraceId": "trace_time", "Event": "received", "Service": "end_time"}


class XRayStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    def put(self, account: str, region: str, rows: list[tuple]) -> None:
        """Store segments, committed before PutTraceSegments answers: rows of (trace_id, id,
        parent_id, kind, name, start_time, end_time, trace_time, received, document); one
        already stored with the same trace and id (an in-progress segment) is replaced."""
        with self.db.transaction():
            self.db.execute_many(
                "INSERT OR REPLACE INTO xray_segments (account, region, trace_id, id, parent_id, kind, name, "
                "start_time, end_time, trace_time, received, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(account, region, *row) for row in rows])

    def traces_between(self, account: str, region: str, column: str, start: float, end: float) -> list[tuple]:
        """(trace id, latest time) of the traces with a segment whose `column` (TIME_COLUMNS) falls
        in [start, end], latest first."""
        return self.db.query(
            f"SELECT trace_id, MAX({column}) AS t FROM xray_segments WHERE account=? AND region=? AND {column} >= ? "
            f"AND {column} <= ? GROUP BY trace_id ORDER BY t DESC", (account, region, start, end))

    def segments(self, account: str, region: str, trace_ids: list[str]) -> dict[str, list[tuple]]:
        """{trace id: its segment rows (ROW), in order of start}."""
        found: dict[str, list[tuple]] = {}
        for i in range(0, len(trace_ids), 500):
            chunk = trace_ids[i:i + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self.db.query(
                    f"SELECT {ROW} FROM xray_segments WHERE account=? AND region=? AND trace_id IN ({marks}) "
                    "ORDER BY start_time", (account, region, *chunk)):
                found.setdefault(row[0], []).append(row)
        return found

    def expire(self, before: float) -> int:
        """Remove segments received before `before` (X-Ray keeps traces 30 days)."""
        return self.db.execute("DELETE FROM xray_segments WHERE received < ?", (before,))
