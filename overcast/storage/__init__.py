from overcast.storage.blobs import BlobStore
from overcast.storage.database import Database, SqliteDatabase

__all__ = ["Database", "SqliteDatabase", "BlobStore", "open_database"]


def open_database(config) -> Database:
    """The database the configuration names: PostgreSQL for a `--database` URL (cluster mode),
    else SQLite in the data directory. Raises StorageUnavailable when PostgreSQL is out of reach."""
    if config.postgres:
        from overcast.storage.postgres import PostgresDatabase

        return PostgresDatabase(config.database)
    return SqliteDatabase(config.database_path)
