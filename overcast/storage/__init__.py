import os

from overcast.storage.blobs import BlobStore, FileBlobStore
from overcast.storage.database import Database, SqliteDatabase

__all__ = ["Database", "SqliteDatabase", "BlobStore", "FileBlobStore", "open_database", "open_blobs"]


def open_database(config) -> Database:
    """The database the configuration names: PostgreSQL for a `--database` URL (cluster mode),
    else SQLite in the data directory. Raises StorageUnavailable when PostgreSQL is out of reach."""
    if config.postgres:
        from overcast.storage.postgres import PostgresDatabase

        return PostgresDatabase(config.database)
    return SqliteDatabase(config.database_path)


def open_blobs(config, db: Database) -> BlobStore:
    """Where bodies live: in PostgreSQL beside the state in cluster mode (the one thing the nodes
    share), else files under the data directory."""
    if config.postgres:
        from overcast.storage.pgblobs import PostgresBlobStore

        return PostgresBlobStore(db, os.path.join(config.data_dir, "cache"))
    return FileBlobStore(config.blob_dir)
