"""Fixtures of the S3 tests (loaded with pytest_plugins = ["s3_fixtures"])."""

from __future__ import annotations

import pytest


@pytest.fixture
def s3(client):
    return client("s3")


@pytest.fixture
def bucket(s3, unique_name):
    name = unique_name("b")
    s3.create_bucket(Bucket=name)
    return name
