"""Older service models that clients still speak.

SQS moved from awsQuery to awsJson 1.0 in 2023; botocore ships only the JSON model, but older
SDKs (and many tools) still send awsQuery. The last awsQuery model of SQS (Apache-2.0, from
botocore's repository) is kept here so the same generic query protocol can parse and answer them.
"""

from __future__ import annotations

import gzip
import os
from functools import cache

import orjson

from overcast.aws.models import ServiceModel


@cache
def load_legacy_model(name: str) -> ServiceModel:
    path = os.path.join(os.path.dirname(__file__), f"{name}.json.gz")
    with gzip.open(path) as f:
        spec = orjson.loads(f.read())
    service = name.split("-", 1)[0]
    return ServiceModel(service, spec)
