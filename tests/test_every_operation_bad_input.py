"""No input gets a 500: every operation of every service overcast implements, called through
boto3 with client-side validation off — with no parameters, with values of the right types, and
with a value of the wrong type for every member. Each answer must be a success or an AWS error
below 500 (501 NotImplemented excepted: it is AWS's answer for an unsupported operation)."""

from __future__ import annotations

import datetime
import random

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from conftest import OvercastProcess

from overcast.services import SERVICES

# Members a client could lie about that make any HTTP server wait for bytes that never come.
WIRE_LEVEL = {"ContentLength"}


def _value(shape, rng: random.Random, depth: int = 0):
    kind = shape.type_name
    if depth > 3:
        return None
    if kind == "string":
        if shape.enum:
            return rng.choice(shape.enum)
        return rng.choice(["a", "x" * 300, "", "arn:aws:sqs:us-east-1:000000000000:q", "{}", "../..", "é中"])
    if kind in ("integer", "long"):
        return rng.choice([0, -1, 1, 10**12])
    if kind in ("float", "double"):
        return rng.choice([0.5, -1.0, 1e300])
    if kind == "boolean":
        return rng.choice([True, False])
    if kind == "timestamp":
        return datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    if kind == "blob":
        return b"\x00\xffdata"
    if kind == "list":
        return [_value(shape.member, rng, depth + 1) for _ in range(rng.randint(0, 2))]
    if kind == "map":
        return {"k": _value(shape.value, rng, depth + 1)}
    if kind == "structure":
        return {
            name: _value(member, rng, depth + 1)
            for name, member in shape.members.items()
            if name not in WIRE_LEVEL and (rng.random() < 0.7 or name in shape.required_members)
        }
    return None


def _variants(shape, rng: random.Random) -> list[dict]:
    if shape is None:
        return [{}]
    wrong = [{"x": 1}, [1, 2], "str", 12345, True]
    return [
        {},
        _value(shape, rng) or {},
        _value(shape, rng) or {},
        {name: rng.choice(wrong) for name in shape.members if name not in WIRE_LEVEL},
    ]


@pytest.fixture(scope="module")
def private_server():
    server = OvercastProcess()  # its own server: the calls create odd resources
    yield server
    server.stop()


def test_no_operation_answers_a_server_error(private_server):
    rng = random.Random(20261126)
    config = Config(parameter_validation=False, inject_host_prefix=False, retries={"max_attempts": 0}, read_timeout=20)
    server_errors = []
    for service in SERVICES:
        client = boto3.client(service, endpoint_url=private_server.endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test", config=config)
        model = client.meta.service_model
        for operation in model.operation_names:
            for params in _variants(model.operation_model(operation).input_shape, rng):
                params = {k: v for k, v in params.items() if v is not None}
                try:
                    client._make_api_call(operation, params)
                except ClientError as error:
                    status = error.response["ResponseMetadata"].get("HTTPStatusCode", 0)
                    if status >= 500 and status != 501:
                        server_errors.append(f"{service}.{operation} {status} {params!r:.200}")
                except (ReadTimeoutError, ConnectionClosedError, EndpointConnectionError) as error:
                    server_errors.append(f"{service}.{operation} {type(error).__name__} {params!r:.200}")
                except (BotoCoreError, ValueError, TypeError, AttributeError, KeyError, IndexError):
                    pass  # the client could not even build a request from these values: nothing was sent
    assert server_errors == []
