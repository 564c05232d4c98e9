"""Helpers shared by the SQS tests."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo) -> dict:
    return excinfo.value.response["Error"]


def assert_error(excinfo, code: str, message: str | None = None, status: int = 400, legacy: str | None = None) -> None:
    """The error's model name (boto3 reports it as QueryErrorCode when AWS sends the legacy
    awsQuery code in x-amzn-query-error, and as Code otherwise), its message and status."""
    assert isinstance(excinfo.value, ClientError)
    error = error_of(excinfo)
    # the model's name, or the awsQuery code of an unmodelled error (AWS sends InvalidParameterValue
    # as the JSON type InvalidParameterValueException with the query code InvalidParameterValue)
    assert code in (error.get("QueryErrorCode", error["Code"]), error["Code"]), error
    if legacy is not None:
        assert error["Code"] == legacy, error
    if message is not None:
        assert error["Message"] == message, error
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def raises(fn, *args, **kwargs):
    with pytest.raises(ClientError) as excinfo:
        fn(*args, **kwargs)
    return excinfo


def receive_all(sqs, url: str, **kwargs) -> list[dict]:
    """Receive until the queue answers empty."""
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs).get("Messages", [])
        if not batch:
            return messages
        messages += batch


def wait_until(predicate, timeout: float = 5.0, step: float = 0.05):
    """For background work (message move tasks) only; never for SQS visibility."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
