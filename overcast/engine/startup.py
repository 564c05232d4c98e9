"""At start-up, start the providers that have work waiting without a request: SNS deliveries not
yet made, EventBridge scheduled rules and pending target deliveries, Scheduler schedules, and
Lambda event source mappings (their pollers run in the engine)."""

from __future__ import annotations

import logging

log = logging.getLogger("overcast")

# service -> queries that find waiting work (a table that does not exist yet means none)
_WORK = {
    "sns": ("SELECT 1 FROM sns_deliveries LIMIT 1",),
    "events": ("SELECT 1 FROM events_rules WHERE schedule IS NOT NULL AND state = 'ENABLED' LIMIT 1",
               "SELECT 1 FROM events_deliveries LIMIT 1"),
    "scheduler": ("SELECT 1 FROM scheduler_schedules WHERE state = 'ENABLED' LIMIT 1",),
    "lambda": ("SELECT 1 FROM esm_mappings WHERE state IN ('Enabled', 'Enabling', 'Creating', 'Updating') LIMIT 1",),
    "s3": ("SELECT 1 FROM s3_buckets WHERE config LIKE '%lifecycle%' LIMIT 1",),  # lifecycle expiration timer
    "firehose": ("SELECT 1 FROM firehose_buffer LIMIT 1",  # buffered records to flush
                 "SELECT 1 FROM firehose_streams WHERE type = 'KinesisStreamAsSource' LIMIT 1"),
    # stale WebSocket connection rows of the previous run to clear
    "apigatewayv2": ("SELECT 1 FROM apigwv2_connections LIMIT 1",),
    "glue": ("SELECT 1 FROM glue_crawlers WHERE doc LIKE '%\"SCHEDULED\"%' OR doc LIKE '%\"RUNNING\"%' LIMIT 1",),
}


async def start_pending(providers) -> None:
    db = providers.db
    for service, queries in _WORK.items():
        for sql in queries:
            table = sql.split(" FROM ", 1)[1].split()[0]
            if db.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)) is None:
                continue
            if db.scalar(sql) is not None:
                await providers.get(service)
                break
