"""Every service's schema in one place, for `overcast migrate`: each store module names its row in
schema_versions (`SCHEMA`) beside its migration scripts (`MIGRATIONS`); this finds them all."""

from __future__ import annotations

import importlib
import pkgutil

import overcast.services
from overcast.storage.database import Database


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
