"""What CloudWatch's metric and alarm operations share: its errors, times and a metric's
dimensions as stored."""

from __future__ import annotations

import time

import orjson

from overcast.aws.errors import AwsError

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MAX_DATAPOINTS = 1440  # per GetMetricStatistics call
KEPT_MS = 455 * 86_400_000  # AWS keeps metric data for 15 months
LISTED_MS = 14 * 86_400_000  # ListMetrics shows metrics with data in the last two weeks
PAGE = 500  # ListMetrics' page
VALUE_LIMIT = 2.0 ** 360  # AWS refuses values beyond ±2^360


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ms(when) -> int:
    return int(when.timestamp() * 1000)


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombinationException", message)


def dimensions_key(dimensions) -> str:
    """A metric's dimensions as stored: sorted [name, value] pairs (a metric is its namespace,
    name and exact set of dimensions, in any order)."""
    return orjson.dumps(sorted([d["Name"], d["Value"]] for d in dimensions or [])).decode()
