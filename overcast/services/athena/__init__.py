"""Amazon Athena: Trino SQL over the Glue catalog, run by DuckDB."""
