"""Every service's schema in one place, for `overcast migrate`: each store module names its row in
schema_versions (`SCHEMA`) beside its migration scripts (`MIGRATIONS`); this finds them all."""

from __future__ import annotations

import importlib
import pkgutil

import overcast.services
from overcast.storage.database import Database
from overcast.storage.errors import SchemaTooNew


def store_modules() -> list:
    """The modules of overcast.services.<service> that hold migrations (store.py, *_store.py)."""
    found = []
    for package in pkgutil.iter_modules(overcast.services.__path__):
        if not package.ispkg:
            continue
        path = [f"{overcast.services.__path__[0]}/{package.name}"]
        for module in pkgutil.iter_modules(path):
            if module.name == "store" or module.name.endswith("_store"):
                found.append(importlib.import_module(f"overcast.services.{package.name}.{module.name}"))
    return found


def schemas(postgres: bool = False) -> dict[str, list[str]]:
    """{schema name: its migration scripts} of every store (and, on PostgreSQL, of the blob
    store's tables, which live in the database there)."""
    found = {module.SCHEMA: module.MIGRATIONS for module in store_modules() if hasattr(module, "MIGRATIONS")}
    if postgres:
        from overcast.storage import pgblobs

        found[pgblobs.SCHEMA] = pgblobs.MIGRATIONS
    return found


def migrate_all(db: Database, postgres: bool = False) -> list[tuple[str, int, int]]:
    """Bring every service's schema up to date; returns (schema, old version, new version) of those
    that changed. Raises SchemaTooNew when the database is ahead of this build."""
    before = db.versions()
    changed = []
    for name, migrations in sorted(schemas(postgres).items()):
        db.migrate(name, migrations)
        if before.get(name, 0) != len(migrations):
            changed.append((name, before.get(name, 0), len(migrations)))
    return changed


def check_not_newer(db: Database, postgres: bool = False) -> None:
    """Raise SchemaTooNew when the database holds a schema newer than this build's (a newer
    overcast migrated it): at start, before anything reads it."""
    known = schemas(postgres)
    for name, version in db.versions().items():
        if name in known and version > len(known[name]):
            raise SchemaTooNew(name, version, len(known[name]))


def older_nodes(db: Database, version: str) -> list[tuple[str, str, str]]:
    """(node, version, address) of the live cluster nodes (storage/coordination.py) that run an
    older overcast than `version`: a migration must wait until they are stopped."""
    if "cluster_nodes" not in db.tables():
        return []
    from overcast.storage.coordination import LEASE_SECONDS

    rows = db.query("SELECT id, version, address, EXTRACT(EPOCH FROM now() - heartbeat) FROM cluster_nodes")
    return [(node, node_version, address) for node, node_version, address, age in rows
            if age < LEASE_SECONDS and _version(node_version) < _version(version)]


def _version(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))
