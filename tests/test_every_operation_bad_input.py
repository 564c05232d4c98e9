"""No input gets a 500: every operation of every service overcast implements, called through
boto3 with client-side validation off — with no parameters, with values of the right types, and
with a value of the wrong type for every member; then nested as deep as each input shape allows
(recursive shapes such as DynamoDB's AttributeValue 500 levels deep), and with oversized values
(1 MB strings, lists and maps of 10,000 entries). Each answer must be a success or an AWS error
below 500 (501 NotImplemented excepted: it is AWS's answer for an unsupported operation), and
come back without hanging.

The deep and oversized passes cover a fixed, seeded sample of operations (every operation with a
recursive input shape is always in it) so that they add seconds, not minutes, to the suite;
OVERCAST_FUZZ_ALL=1 runs them over every operation."""

from __future__ import annotations

import datetime
import os
import random
import sys

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


CONFIG = Config(parameter_validation=False, inject_host_prefix=False, retries={"max_attempts": 0}, read_timeout=20)


def _client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test", config=CONFIG)


def _clients(endpoint: str):
    for service in SERVICES:
        yield service, _client(endpoint, service)


def _call(client, service: str, operation: str, params: dict, server_errors: list) -> None:
    """Send one request; record a 5xx (other than 501), a timeout or a dropped connection."""
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


# One test per service (not one for all): the pass is CPU-bound and took ~100 s as one test,
# so splitting it lets the suite's workers share it.
@pytest.mark.parametrize("service", SERVICES)
def test_no_operation_answers_a_server_error(private_server, service):
    rng = random.Random(f"20261126-{service}")  # seeded: the same values every run
    client = _client(private_server.endpoint, service)
    model = client.meta.service_model
    server_errors = []
    for operation in model.operation_names:
        for params in _variants(model.operation_model(operation).input_shape, rng):
            params = {k: v for k, v in params.items() if v is not None}
            _call(client, service, operation, params, server_errors)
    assert server_errors == []


# -- deep nesting ------------------------------------------------------------------------------

RECURSION_DEPTH = 500  # levels a recursive shape is nested (DynamoDB allows 32)
EVERYTHING = os.environ.get("OVERCAST_FUZZ_ALL") == "1"


def _children(shape):
    kind = shape.type_name
    if kind == "structure":
        return [(name, member) for name, member in shape.members.items() if name not in WIRE_LEVEL]
    if kind == "list":
        return [(0, shape.member)]
    if kind == "map":
        return [("k", shape.value)]
    return []


def _container(shape, key, inner):
    kind = shape.type_name
    if kind == "structure":
        return {key: inner}
    if kind == "list":
        return [inner]
    return {key: inner}


def _cycle(shape):
    """The steps [(shape, key), ...] from a recursive shape back to itself, or None."""
    queue = [(shape, [])]
    seen = set()
    while queue:
        current, steps = queue.pop(0)
        for key, child in _children(current):
            path = steps + [(current, key)]
            if child.name == shape.name:
                return path
            if child.name not in seen and child.type_name in ("structure", "list", "map"):
                seen.add(child.name)
                queue.append((child, path))
    return None


def _leaf(shape) -> dict:
    """A small value of a recursive shape, where its recursion ends."""
    return {"S": "leaf"} if shape.name == "AttributeValue" else {}


def _recursive_chain(shape, steps):
    """A value of a recursive shape nested RECURSION_DEPTH times through its own cycle."""
    value = _leaf(shape)
    for _ in range(RECURSION_DEPTH):
        for container, key in reversed(steps):
            value = _container(container, key, value)
    return value


def _deep(shape, rng: random.Random, stack: tuple = (), chains: list | None = None):
    """Every structure, list and map member present and filled, as deep as the shape allows; the
    first recursive shape met nested RECURSION_DEPTH levels (one chain a request: botocore takes
    about a second to serialize each), the others shallow."""
    chains = [1] if chains is None else chains
    if shape.type_name not in ("structure", "list", "map"):
        return _value(shape, rng)
    if shape.name in stack:
        return None
    steps = _cycle(shape)
    if steps is not None:
        if not chains[0]:
            return _leaf(shape)
        chains[0] -= 1
        return _recursive_chain(shape, steps)
    stack = stack + (shape.name,)
    if shape.type_name == "list":
        inner = _deep(shape.member, rng, stack, chains)
        return [] if inner is None else [inner]
    if shape.type_name == "map":
        inner = _deep(shape.value, rng, stack, chains)
        return {} if inner is None else {"k": inner}
    out = {}
    for name, member in _children(shape):
        inner = _deep(member, rng, stack, chains)
        if inner is not None:
            out[name] = inner
    return out


def _depth(shape, stack: tuple = ()) -> int:
    if shape.type_name not in ("structure", "list", "map") or shape.name in stack:
        return 0
    return 1 + max((_depth(child, stack + (shape.name,)) for _, child in _children(shape)), default=0)


def _recursive(shape, stack: tuple = ()) -> bool:
    """Whether a recursive shape occurs anywhere in this one."""
    if shape.type_name not in ("structure", "list", "map") or shape.name in stack:
        return False
    return _cycle(shape) is not None or any(_recursive(child, stack + (shape.name,)) for _, child in _children(shape))


def _sample(model, rng: random.Random, share: float, always=lambda shape: False) -> list:
    """(operation, input shape) of a seeded share of the operations, and of those `always` picks."""
    picked = []
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        if shape is not None and (EVERYTHING or rng.random() < share or always(shape)):
            picked.append((operation, shape))
    return picked


def test_deeply_nested_input_answers_no_server_error(private_server):
    rng = random.Random(20261203)
    server_errors = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # botocore serializes 500 levels recursively, client side
    try:
        for service, client in _clients(private_server.endpoint):
            for operation, shape in _sample(client.meta.service_model, rng, 0.12, _recursive):
                if _depth(shape) >= 3:  # a flat input has nothing to nest
                    _call(client, service, operation, _deep(shape, rng), server_errors)
    finally:
        sys.setrecursionlimit(limit)
    assert server_errors == []


# -- oversized values --------------------------------------------------------------------------

ONE_MB = "x" * (1 << 20)
MANY = 10_000


def _oversized(shape, rng: random.Random, depth: int = 0):
    """1 MB for the top-level strings, 10,000 entries for the top-level lists and maps; small
    values inside them (a request stays a few MB)."""
    kind = shape.type_name
    if kind == "string" and not shape.enum:
        return ONE_MB if depth == 1 else "x"
    if kind == "list" and depth == 1:
        return [_value(shape.member, rng, depth=3) or "x" for _ in range(MANY)]
    if kind == "map" and depth == 1:
        return {f"k{i}": _value(shape.value, rng, depth=3) or "x" for i in range(MANY)}
    if kind == "structure" and depth == 0:
        return {name: _oversized(member, rng, depth + 1) for name, member in _children(shape)}
    return _value(shape, rng, depth=3)


def test_oversized_values_answer_no_server_error(private_server):
    rng = random.Random(20261204)
    server_errors = []
    for service, client in _clients(private_server.endpoint):
        for operation, shape in _sample(client.meta.service_model, rng, 0.025):
            params = {k: v for k, v in _oversized(shape, rng).items() if v is not None}
            _call(client, service, operation, params, server_errors)
    assert server_errors == []
