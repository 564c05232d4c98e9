"""AWS Glue Data Catalog and crawlers."""
