"""The services overcast implements, and how requests find them.

Each entry is data only: providers are imported when their service is first called, so start-up
pays for none of them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str  # botocore model name
    provider: str  # "module:Class"
    signing_names: tuple[str, ...]  # SigV4 credential-scope service names
    target_prefixes: tuple[str, ...] = ()  # X-Amz-Target prefixes (JSON protocols)
    host_prefixes: tuple[str, ...] = ()  # first label of a service host name (sqs.us-east-1...)
    # Protocols accepted besides the model's own: SQS still takes awsQuery from older SDKs,
    # parsed and answered with the last awsQuery model of the service (see aws/legacy_models).
    legacy_query_model: str | None = None


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            "sqs",
            "overcast.services.sqs.provider:SqsProvider",
            signing_names=("sqs",),
            target_prefixes=("AmazonSQS",),
            host_prefixes=("sqs", "queue"),
            legacy_query_model="sqs-2012-11-05-query",
        ),
        ServiceSpec(
            "sts",
            "overcast.services.sts.provider:StsProvider",
            signing_names=("sts",),
            host_prefixes=("sts",),
        ),
        ServiceSpec(
            "iam",
            "overcast.services.iam.provider:IamProvider",
            signing_names=("iam",),
            host_prefixes=("iam",),
        ),
        ServiceSpec(
            "dynamodb",
            "overcast.services.dynamodb.provider:DynamoDbProvider",
            signing_names=("dynamodb",),
            target_prefixes=("DynamoDB_20120810",),
            host_prefixes=("dynamodb",),
        ),
        ServiceSpec(
            "dynamodbstreams",
            "overcast.services.dynamodbstreams.provider:DynamoDbStreamsProvider",
            signing_names=("dynamodb",),
            target_prefixes=("DynamoDBStreams_20120810",),
        ),
    )
}

BY_SIGNING_NAME: dict[str, list[str]] = {}
BY_TARGET_PREFIX: dict[str, str] = {}
BY_HOST_PREFIX: dict[str, str] = {}
for _spec in SERVICES.values():
    for _n in _spec.signing_names:
        BY_SIGNING_NAME.setdefault(_n, []).append(_spec.name)
    for _p in _spec.target_prefixes:
        BY_TARGET_PREFIX[_p] = _spec.name
    for _h in _spec.host_prefixes:
        BY_HOST_PREFIX[_h] = _spec.name


def load_provider_class(spec: ServiceSpec):
    module_name, _, class_name = spec.provider.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
