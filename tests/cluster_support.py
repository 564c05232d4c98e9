"""A fresh PostgreSQL database for the cluster tests, and the nodes that run over it.

The server is at OVERCAST_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres,
trust authentication, as on this project's machines and in CI). Tests that need it skip when it
is not reachable, except in CI (CI=true), where .ci/run makes sure it is and they must run."""

from __future__ import annotations

import os
import secrets

import pytest

ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def postgres_or_skip():
    """A psycopg connection to the admin database, or skip (fail in CI)."""
    try:
        import psycopg

        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as e:  # psycopg missing or the server not reachable
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {e}")


def create_database(prefix: str = "overcast_cluster") -> tuple[str, callable]:
    """(url of a new empty database, a function dropping it)."""
    admin = postgres_or_skip()
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return _with_database(ADMIN_URL, name), drop


def start_nodes(url: str, count: int, env: dict | None = None) -> list:
    """`count` overcast nodes on free ports over the database at `url`, started side by side."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import OvercastProcess

    def start(_=None):
        return OvercastProcess(env={"OVERCAST_DATABASE_URL": url, **(env or {})})

    first = start()  # (several nodes creating a fresh database's first tables at once race in CREATE TABLE)
    with ThreadPoolExecutor(max(1, count - 1)) as pool:
        return [first, *pool.map(start, range(count - 1))]


def cluster_view(endpoint: str) -> dict:
    """What `overcast status` reads: the cluster's nodes and leases."""
    import httpx

    return httpx.get(f"{endpoint}/_overcast/cluster", timeout=10).json()


def holders(endpoint: str, prefix: str = "") -> dict[str, str]:
    """lease name -> holding node id, for the leases whose names start with `prefix`."""
    return {lease["name"]: lease["holder"] for lease in cluster_view(endpoint)["leases"]
            if lease["name"].startswith(prefix)}
