"""At start-up, start the providers that have work waiting for no request: deliveries to retry,
rules and schedules to arm, event source mappings to poll, buffers to flush
(ServiceSpec.pending_work). A store is imported only when its schema exists, so a fresh data
directory pays nothing. Then, in the background, remove what a crash left on disk: temporary
files and the blobs no row refers to (ServiceSpec.blob_prefixes)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import time

from overcast.services import SERVICES
from overcast.storage import blobs

log = logging.getLogger("overcast")
_sweeps: set[asyncio.Task] = set()


async def start_pending(providers) -> None:
    if providers.config.postgres:
        # every schema at once, in one transaction, now that the node may migrate (a cluster node
        # has checked that no older node runs); the blob store's tables are among them
        from overcast.storage.schemas import migrate_all

        with providers.db.transaction():
            migrate_all(providers.db, postgres=True)
    migrated = {row[0] for row in providers.db.query("SELECT service FROM schema_versions")}
    if providers.blobs.may_have_leftovers() or _has_files(os.path.join(providers.config.data_dir, "lambda")):
        task = asyncio.get_running_loop().create_task(sweep_leftovers(providers, migrated, time.time()))
        _sweeps.add(task)
        task.add_done_callback(_sweeps.discard)
    coordination = providers.coordination
    if coordination.cluster:
        # a cluster's node must know all leased work: it takes over a dead node's (storage/
        # coordination.py), whether or not any existed when it started. Loaded after the node is
        # ready, one service per loop turn, so requests are served meanwhile.
        task = asyncio.get_running_loop().create_task(_load_background_services(providers))
        _sweeps.add(task)
        task.add_done_callback(_sweeps.discard)
        if not coordination.first:
            return  # the rest was recovered by the cluster's first node
    for spec in SERVICES.values():
        for schema, target in spec.pending_work:
            if schema not in migrated:
                continue
            module_name, _, function = target.partition(":")
            if getattr(importlib.import_module(module_name), function)(providers.db):
                await providers.get(spec.name)
                break


def cancel_background() -> None:
    """At shutdown: stop what start_pending left running."""
    for task in list(_sweeps):
        task.cancel()


async def _load_background_services(providers) -> None:
    for spec in SERVICES.values():
        # (Lambda's queued events and Step Functions' executions are taken from dead nodes by the
        # live ones, which must have them loaded)
        if spec.leased or spec.shares_work or spec.name == "stepfunctions":
            await asyncio.sleep(0)
            try:
                await providers.get(spec.name)
            except Exception:
                log.exception("starting %s", spec.name)


async def sweep_leftovers(providers, migrated: set[str], started: float) -> tuple[int, int]:
    """Remove the temporary files and unreferenced blobs written before `started` (by a server
    that was killed); returns how many of each. The disk (or the blob table) is read in a thread;
    each service is asked once which of its blobs its rows reference (on the loop, where its
    store lives)."""
    owners = [(prefix, target) for spec in SERVICES.values() for schema, prefix, target in spec.blob_prefixes
              if schema in migrated]
    store = providers.blobs
    try:
        temporary = await asyncio.to_thread(blobs.local_leftovers, providers.config.data_dir, started)
        found = await asyncio.to_thread(store.orphan_candidates, [prefix for prefix, _ in owners], started)
        orphans = []
        for prefix, target in owners:
            if found[prefix]:
                module_name, _, function = target.partition(":")
                in_use = getattr(importlib.import_module(module_name), function)(providers.db, found[prefix])
                # a blob no row references now can never be referenced again: rows only copy keys from rows
                orphans += [key for key in found[prefix] if key not in in_use]
        removed = (await asyncio.to_thread(blobs.remove, temporary)
                   + await asyncio.to_thread(store.drop_unfinished, started),
                   await asyncio.to_thread(_delete_all, store, orphans))
    except Exception:
        log.exception("removing the files a crash left failed")
        return 0, 0
    if any(removed):
        log.info("removed %d temporary files and %d unreferenced blobs left by a crash", *removed)
    return removed


def _delete_all(store, keys: list[str]) -> int:
    for key in keys:
        store.delete(key)
    return len(keys)


def _has_files(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(True for _ in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False
