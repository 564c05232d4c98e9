"""SQS logic that needs the clock to move (retention, the deduplication window) or no server at
all (AWS's MD5 encoding): the provider driven in-process on a temporary database."""

from __future__ import annotations

import asyncio
import hashlib
from types import SimpleNamespace

import pytest

from overcast.aws.context import HttpRequest, RequestContext
from overcast.aws.errors import AwsError
from overcast.engine.waiters import Waiters
from overcast.services.sqs import models
from overcast.services.sqs import provider as provider_module
from overcast.services.sqs.provider import SqsProvider
from overcast.storage import SqliteDatabase
from overcast.storage.coordination import Local


class Clock:
    def __init__(self, monkeypatch):
        self.offset_ms = 0
        real = provider_module._now_ms
        monkeypatch.setattr(provider_module, "_now_ms", lambda: real() + self.offset_ms)

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


@pytest.fixture
def sqs(tmp_path):
    db = SqliteDatabase(str(tmp_path / "overcast.db"))
    provider = SqsProvider(SimpleNamespace(db=db, blobs=None, config=None, coordination=Local()))
    yield provider
    db.close()


@pytest.fixture
def ctx():
    request = HttpRequest("POST", "/", "/", "", {"host": "localhost:4566"}, b"")
    return RequestContext("000000000000", "us-east-1", "sqs", request, operation="SendMessage")


def receive(sqs, ctx, url, **params):
    return asyncio.run(sqs.receive_message(ctx, {"QueueUrl": url, **params}))


def test_messages_older_than_the_retention_period_are_never_returned(sqs, ctx, monkeypatch):
    clock = Clock(monkeypatch)
    url = sqs.create_queue(ctx, {"QueueName": "r", "Attributes": {"MessageRetentionPeriod": "60"}})["QueueUrl"]
    sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "old"})
    clock.advance(30)
    sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "young"})
    clock.advance(31)
    messages = receive(sqs, ctx, url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["young"]
    attributes = sqs.get_queue_attributes(ctx, {"QueueUrl": url, "AttributeNames": ["All"]})["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_expired_messages_are_deleted(sqs, ctx, monkeypatch):
    clock = Clock(monkeypatch)
    url = sqs.create_queue(ctx, {"QueueName": "gone", "Attributes": {"MessageRetentionPeriod": "60"}})["QueueUrl"]
    sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "old"})
    clock.advance(61)
    assert receive(sqs, ctx, url) == {}
    assert sqs.db.scalar("SELECT COUNT(*) FROM sqs_messages") == 0


def test_deduplication_window_is_five_minutes(sqs, ctx, monkeypatch):
    clock = Clock(monkeypatch)
    url = sqs.create_queue(ctx, {"QueueName": "d.fifo", "Attributes": {"FifoQueue": "true"}})["QueueUrl"]
    send = {"QueueUrl": url, "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "same"}
    first = sqs.send_message(ctx, send)
    clock.advance(299)
    assert sqs.send_message(ctx, send)["MessageId"] == first["MessageId"]
    clock.advance(2)
    assert sqs.send_message(ctx, send)["MessageId"] != first["MessageId"]


def test_queue_deleted_recently_passes_after_60_seconds(sqs, ctx, monkeypatch):
    url = sqs.create_queue(ctx, {"QueueName": "again"})["QueueUrl"]
    sqs.delete_queue(ctx, {"QueueUrl": url})
    with pytest.raises(AwsError) as excinfo:
        sqs.create_queue(ctx, {"QueueName": "again"})
    assert excinfo.value.code == "QueueDeletedRecently"
    real_time = provider_module.time.time
    monkeypatch.setattr(provider_module.time, "time", lambda: real_time() + 61)
    assert sqs.create_queue(ctx, {"QueueName": "again"})["QueueUrl"] == url


def test_state_survives_a_new_provider_on_the_same_database(sqs, ctx):
    url = sqs.create_queue(ctx, {"QueueName": "kept", "Attributes": {"VisibilityTimeout": "5"}})["QueueUrl"]
    sent = sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "kept"})
    fresh = SqsProvider(SimpleNamespace(db=sqs.db, blobs=None, config=None, coordination=Local()))
    assert receive(fresh, ctx, url)["Messages"][0]["MessageId"] == sent["MessageId"]


def test_reset_drops_cached_queues(sqs, ctx):
    url = sqs.create_queue(ctx, {"QueueName": "cached"})["QueueUrl"]
    sqs.db.reset()
    sqs.reset()
    with pytest.raises(AwsError) as excinfo:
        sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "x"})
    assert excinfo.value.code == "QueueDoesNotExist"


def test_waiters_wake_on_notify_and_time_out_otherwise():
    async def scenario():
        waiters = Waiters()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, waiters.notify, "q")
        woke = await waiters.wait("q", 5)
        timed_out = await waiters.wait("q", 0.05)
        return woke, timed_out, waiters.has_waiters("q")

    assert asyncio.run(scenario()) == (True, False, False)


def md5_reference(attributes: dict) -> str:
    """AWS's documented encoding, written out independently of the implementation."""
    buffer = b""
    for name in sorted(attributes):
        value = attributes[name]
        buffer += len(name.encode()).to_bytes(4, "big") + name.encode()
        buffer += len(value["DataType"].encode()).to_bytes(4, "big") + value["DataType"].encode()
        if "StringValue" in value:
            data = value["StringValue"].encode()
            buffer += b"\x01" + len(data).to_bytes(4, "big") + data
        else:
            data = value["BinaryValue"]
            buffer += b"\x02" + len(data).to_bytes(4, "big") + data
    return hashlib.md5(buffer).hexdigest()


@pytest.mark.parametrize(
    "attributes, published",
    [
        ({"attribName1": {"DataType": "String", "StringValue": "attribValue 1"}}, "19e27d4e946b072f3f58da80d94fd778"),
        (
            {"customNumberTypeAttrib": {"DataType": "Number.float", "StringValue": "4563442423554324324264524243.32543234"}},
            "9fe1b90bbd9965bdf77bac517c7d2495",
        ),
        ({"binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"}}, "31a92b15d92f8db860eda32aceb656c3"),
        ({"ünïcode": {"DataType": "String", "StringValue": "välue \U0001f600"}}, None),
    ],
)
def test_md5_of_message_attributes_follows_the_documented_encoding(attributes, published):
    digest = models.md5_of_attributes(attributes)
    assert digest == md5_reference(attributes)
    if published:
        assert digest == published


def test_receipt_handles_round_trip_and_reject_garbage():
    handle = models.make_receipt_handle(7, 42, "id", "token")
    assert models.parse_receipt_handle(handle) == (7, 42, "id")
    assert models.parse_receipt_handle("garbage") is None
    assert models.parse_receipt_handle("") is None


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://localhost:4566/000000000000/q", ("000000000000", "q")),
        ("https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", ("123456789012", "q.fifo")),
        ("http://sqs.eu-west-1.localhost.localstack.cloud:4566/000000000000/q/", ("000000000000", "q")),
        ("q", (None, "q")),
        ("http://localhost:4566/q", ("", "")),
    ],
)
def test_queue_url_forms(url, expected):
    assert models.split_queue_url(url) == expected


def test_stale_receipt_handle_never_deletes_a_newer_message_in_a_reused_row(sqs, ctx):
    url = sqs.create_queue(ctx, {"QueueName": "reuse"})["QueueUrl"]
    sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "first"})
    handle = receive(sqs, ctx, url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(ctx, {"QueueUrl": url, "ReceiptHandle": handle})
    sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "second"})  # SQLite may reuse the row id
    sqs.delete_message(ctx, {"QueueUrl": url, "ReceiptHandle": handle})
    assert receive(sqs, ctx, url)["Messages"][0]["Body"] == "second"
