"""At start-up, start the providers that have work waiting for no request: deliveries to retry,
rules and schedules to arm, event source mappings to poll, buffers to flush
(ServiceSpec.pending_work). A store is imported only when its schema exists, so a fresh data
directory pays nothing."""

from __future__ import annotations

import importlib

from overcast.services import SERVICES


async def start_pending(providers) -> None:
    migrated = {row[0] for row in providers.db.query("SELECT service FROM schema_versions")}
    for spec in SERVICES.values():
        for schema, target in spec.pending_work:
            if schema not in migrated:
                continue
            module_name, _, function = target.partition(":")
            if getattr(importlib.import_module(module_name), function)(providers.db):
                await providers.get(spec.name)
                break
