"""Amazon Data Firehose: delivery streams into S3."""
