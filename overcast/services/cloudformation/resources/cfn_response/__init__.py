"""The response modules CloudFormation adds to inline custom-resource code (read as files, not imported)."""
