"""CloudWatch (awsJson 1.0 `GraniteServiceVersion20100801.*`, Smithy RPC v2 CBOR, and awsQuery
from older clients): PutMetricData, ListMetrics, GetMetricStatistics and GetMetricData over the
data points kept in store.py — the ones clients put and the ones CloudWatch Logs metric filters
emit (`record`); dashboards; alarms (alarm_ops.py). Metric math, anomaly detection, insight rules
and metric streams answer NotImplemented."""

from __future__ import annotations

import math
import re

import orjson

from overcast.aws.errors import AwsError, not_implemented
from overcast.engine.timers import Timers
from overcast.services.base import Provider
from overcast.services.cloudwatch import alarms
from overcast.services.cloudwatch.alarm_ops import AlarmOperations, _check_extended
from overcast.services.cloudwatch.common import (
    KEPT_MS,
    LISTED_MS,
    MAX_DATAPOINTS,
    PAGE,
    STATISTICS,
    VALUE_LIMIT,
    _ms,
    _now_ms,
    combination,
    dimensions_key,
    invalid,
)
from overcast.services.cloudwatch.store import CloudWatchStore, Point


class CloudWatchProvider(AlarmOperations, Provider):
    service = "cloudwatch"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = CloudWatchStore(self.db)
        self._timers = Timers(providers.coordination.gate("cloudwatch"))  # ("alarm", account, region, name)

    # -- internal API (CloudWatch Logs metric filters) -------------------------------------------

    def record(self, account: str, region: str, points: list[Point]) -> None:
        """Store data points (namespace, metric, dimensions_key(...), ts ms, count, sum, min, max, unit)."""
        if points:
            self.store.add(account, region, points, _now_ms() - KEPT_MS)
            self._wake(account, region, points)

    # -- PutMetricData ---------------------------------------------------------------------------

    def put_metric_data(self, ctx, params):
        namespace = params["Namespace"]
        if namespace.startswith("AWS/"):
            raise invalid(f"The value {namespace} for parameter Namespace is invalid.")
        if params.get("EntityMetricData"):
            raise not_implemented("CloudWatch PutMetricData's EntityMetricData")
        data = params.get("MetricData") or []
        if not data:
            raise AwsError("MissingRequiredParameterException", "The parameter MetricData is required.")
        if len(data) > 1000:
            raise invalid("The collection MetricData must not have a size greater than 1000.")
        now = _now_ms()
        points = [point for i, datum in enumerate(data, 1) for point in self._points(namespace, i, datum, now)]
        self.record(ctx.account, ctx.region, points)
        return {}

    def _points(self, namespace: str, i: int, datum: dict, now: int) -> list[Point]:
        where = f"MetricData.member.{i}"
        names = [d["Name"] for d in datum.get("Dimensions") or []]
        if len(names) > 30:
            raise invalid(f"The collection {where}.Dimensions must not have a size greater than 30.")
        if len(set(names)) != len(names):
            raise invalid(f"No metric may have duplicate dimension names: {where}.Dimensions.")
        ts = _ms(datum["Timestamp"]) if datum.get("Timestamp") is not None else now
        if ts < now - 14 * 86_400_000 or ts > now + 2 * 3_600_000:
            raise invalid(f"The parameter {where}.Timestamp must specify a time no more than two weeks in the past "
                          "and no more than two hours in the future.")
        # AWS stores a standard-resolution point (StorageResolution 60, the default) at its minute and a
        # high-resolution one (1) at its second, so a point put now counts in a query ending later this minute
        resolution = datum.get("StorageResolution", 60)
        if resolution not in (1, 60):
            raise invalid(f"The value {resolution} for parameter {where}.StorageResolution is invalid.")
        ts -= ts % (resolution * 1000)
        given = [key for key in ("Value", "StatisticValues", "Values") if datum.get(key) is not None]
        if "Value" in given and len(given) > 1:
            raise combination(f"The parameters {where}.Value and {where}.{given[1]} are mutually exclusive and "
                              "you have specified both.")
        if not given:
            raise AwsError("MissingRequiredParameterException", f"At least one of the parameters {where}.Value, "
                           f"{where}.StatisticValues or {where}.Values must be specified.")
        # AWS accepts Values together with StatisticValues (LocalStack's recorded test); the set wins
        if given == ["Value"]:
            value = _checked(datum["Value"], f"{where}.Value")
            count, total, low, high = 1.0, value, value, value
        elif "StatisticValues" in given:
            stats = datum["StatisticValues"]
            count = _checked(stats["SampleCount"], f"{where}.StatisticValues.SampleCount")
            total = _checked(stats["Sum"], f"{where}.StatisticValues.Sum")
            low = _checked(stats["Minimum"], f"{where}.StatisticValues.Minimum")
            high = _checked(stats["Maximum"], f"{where}.StatisticValues.Maximum")
            if count <= 0 or low > high:
                raise invalid(f"The parameter {where}.StatisticValues is invalid: SampleCount must be positive and "
                              "Minimum not above Maximum.")
        else:
            values = [_checked(v, f"{where}.Values") for v in datum["Values"]]
            counts = datum.get("Counts")
            if counts is not None and len(counts) != len(values):
                raise invalid(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
            counts = [_checked(c, f"{where}.Counts") for c in counts] if counts is not None else [1.0] * len(values)
            if not values:
                raise invalid(f"The collection {where}.Values must not be empty.")
            # each value its own row: the period's statistics are the same, and its percentiles stay known
            key, unit = dimensions_key(datum.get("Dimensions")), datum.get("Unit") or "None"
            return [(namespace, datum["MetricName"], key, ts, c, v * c, v, v, unit)
                    for v, c in zip(values, counts, strict=True) if c > 0]
        return [(namespace, datum["MetricName"], dimensions_key(datum.get("Dimensions")), ts, count, total, low, high,
                 datum.get("Unit") or "None")]

    # -- ListMetrics -----------------------------------------------------------------------------

    def list_metrics(self, ctx, params):
        if params.get("OwningAccount") or params.get("IncludeLinkedAccounts"):
            raise not_implemented("CloudWatch cross-account observability (OwningAccount, IncludeLinkedAccounts)")
        since = _now_ms() - (3 * 3_600_000 if params.get("RecentlyActive") == "PT3H" else LISTED_MS)
        rows = self.store.metrics(ctx.account, ctx.region, params.get("Namespace"), params.get("MetricName"), since)
        wanted = params.get("Dimensions") or []
        metrics = []
        for namespace, metric, dims in rows:
            pairs = dict(orjson.loads(dims))
            if all(f["Name"] in pairs and f.get("Value") in (None, pairs[f["Name"]]) for f in wanted):
                metrics.append({"Namespace": namespace, "MetricName": metric,
                                "Dimensions": [{"Name": n, "Value": v} for n, v in pairs.items()]})
        offset = 0
        if params.get("NextToken"):
            try:
                offset = int(params["NextToken"])
            except ValueError:
                raise invalid("The value for parameter NextToken is invalid.") from None
        out = {"Metrics": metrics[offset:offset + PAGE]}
        if offset + PAGE < len(metrics):
            out["NextToken"] = str(offset + PAGE)
        return out

    # -- GetMetricStatistics ---------------------------------------------------------------------

    def get_metric_statistics(self, ctx, params):
        statistics = params.get("Statistics") or []
        extended = params.get("ExtendedStatistics") or []
        if not statistics and not extended:
            raise AwsError("MissingRequiredParameterException", "Must specify either Statistics or ExtendedStatistics.")
        for name in statistics:
            if name not in STATISTICS:
                raise invalid(f"The parameter Statistics contains an invalid value: {name}.")
        for name in extended:
            _check_extended(name, "ExtendedStatistics")
        start, end, period = _ms(params["StartTime"]), _ms(params["EndTime"]), params["Period"]
        _check_period(period, "Period")
        if start >= end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        wanted = math.ceil((end - start) / (period * 1000))
        if wanted > MAX_DATAPOINTS:
            raise combination(f"You have requested up to {wanted} datapoints, which exceeds the limit of "
                              f"{MAX_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or "
                              "decreasing the time range.")
        # without a Unit, the data put with each unit is a data point of its own (AWS converts no units);
        # the checks above take StartTime as given, the data is read from it rounded down
        start = _rounded_start(start)
        buckets = self._buckets(ctx, params["Namespace"], params["MetricName"], params.get("Dimensions"), start, end,
                                period, params.get("Unit"), by_unit=True)
        datapoints = []
        for (bucket_start, _unit), (count, total, low, high, unit, rows) in sorted(buckets.items()):
            point = {"Timestamp": bucket_start / 1000, "Unit": unit}
            for name in statistics:
                point[name] = _statistic(name, count, total, low, high)
            if extended:
                # percentiles of the raw values; a period holding only statistic sets has none (as on AWS)
                values = {name: alarms.statistic(name, rows) for name in extended}
                point["ExtendedStatistics"] = {k: v for k, v in values.items() if v is not None}
            datapoints.append(point)
        return {"Label": params["MetricName"], "Datapoints": datapoints}

    def _buckets(self, ctx, namespace, metric, dimensions, start, end, period, unit, by_unit=False) -> dict:
        """{period start ms (with the unit, by_unit): [count, sum, min, max, unit, rows]} of one metric's
        points in [start, end); periods are aligned on multiples of the period since the epoch."""
        width = period * 1000
        buckets: dict = {}
        for ts, count, total, low, high, point_unit in self.store.points(
                ctx.account, ctx.region, namespace, metric, dimensions_key(dimensions), start, end, unit):
            key = (ts // width * width, point_unit) if by_unit else ts // width * width
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = [count, total, low, high, point_unit, [(count, total, low, high)]]
            else:
                bucket[0] += count
                bucket[1] += total
                bucket[2] = min(bucket[2], low)
                bucket[3] = max(bucket[3], high)
                bucket[5].append((count, total, low, high))
        return buckets

    # -- GetMetricData ---------------------------------------------------------------------------

    def get_metric_data(self, ctx, params):
        queries = params["MetricDataQueries"]
        if not queries or len(queries) > 500:
            raise invalid("The collection MetricDataQueries must have between 1 and 500 items.")
        offset = 0
        if params.get("NextToken"):  # how many data points earlier pages answered
            try:
                offset = int(params["NextToken"])
            except ValueError:
                offset = -1
            if offset < 0:
                raise AwsError("InvalidNextToken", "The service couldn't process the request because the NextToken "
                               "is invalid.")
        start, end = _ms(params["StartTime"]), _ms(params["EndTime"])
        if start >= end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        start = _rounded_start(start)  # checked as given, read from rounded down
        ids = [q["Id"] for q in queries]
        if len(set(ids)) != len(ids):
            raise invalid("The values for parameter Id in MetricDataQueries must be unique.")
        ascending = params.get("ScanBy") == "TimestampAscending"
        series = []
        for query in queries:
            if query.get("Expression") is not None:
                raise not_implemented("CloudWatch metric math (MetricDataQueries' Expression)")
            stat = query.get("MetricStat")
            if stat is None:
                raise invalid(f"The parameter MetricDataQueries.{query['Id']} must have a MetricStat or an "
                              "Expression.")
            if stat["Stat"] not in STATISTICS:
                _check_extended(stat["Stat"], "MetricStat.Stat")
            _check_period(stat["Period"], "MetricStat.Period")
            metric = stat["Metric"]
            if not metric.get("Namespace") or not metric.get("MetricName"):
                raise invalid("The parameter MetricStat.Metric must have a Namespace and a MetricName.")
            buckets = self._buckets(ctx, metric["Namespace"], metric["MetricName"], metric.get("Dimensions"), start,
                                    end, stat["Period"], stat.get("Unit"))
            if query.get("ReturnData") is False:
                continue
            keys = sorted(buckets, reverse=not ascending)
            values = [(k / 1000, alarms.statistic(stat["Stat"], buckets[k][5])) for k in keys]
            series.append((query, [(t, v) for t, v in values if v is not None]))
        labels = _labels([query for query, _ in series])
        # one page: the data points at [offset, offset + MaxDatapoints) of all the queries' series in turn
        size = params.get("MaxDatapoints") or 100_800
        first, results = 0, []
        for query, points in series:
            low = min(max(offset - first, 0), len(points))
            high = min(max(offset + size - first, 0), len(points))
            taken = points[low:high]
            first += len(points)
            results.append({"Id": query["Id"], "Label": query.get("Label") or labels[query["Id"]],
                            "Timestamps": [t for t, _ in taken], "Values": [v for _, v in taken],
                            "StatusCode": "PartialData" if high < len(points) else "Complete"})
        out = {"MetricDataResults": results, "Messages": []}
        if offset + size < first:
            out["NextToken"] = str(offset + size)
        return out


    def put_dashboard(self, ctx, params):
        name, body = params["DashboardName"], params["DashboardBody"]
        _dashboard_name(name)
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("widgets", []), list):
            raise AwsError("DashboardInvalidInputError", "The field DashboardBody must be a valid JSON object",
                           dashboardValidationMessages=[{"DataPath": "/dashboardBody",
                                                         "Message": "Should be a JSON object with a list of widgets"}])
        if len(body.encode()) > 1_048_576:
            raise AwsError("DashboardInvalidInputError", "The field DashboardBody must be 1 MB or less.")
        with self.store.transaction():
            self.store.put_dashboard(ctx.account, name, body, _now_ms())
            if params.get("Tags"):
                self.store.tag(_dashboard_arn(ctx, name), {t["Key"]: t["Value"] for t in params["Tags"]})
        return {"DashboardValidationMessages": []}

    def get_dashboard(self, ctx, params):
        name = params.get("DashboardName") or ""
        row = self.store.dashboard(ctx.account, name)
        if row is None:
            raise AwsError("DashboardNotFoundError", f"Dashboard {name} does not exist", status=404)
        return {"DashboardArn": _dashboard_arn(ctx, name), "DashboardBody": row[1], "DashboardName": name}

    def list_dashboards(self, ctx, params):
        rows = self.store.dashboards(ctx.account, params.get("DashboardNamePrefix") or "")
        offset = 0
        if params.get("NextToken"):
            try:
                offset = int(params["NextToken"])
            except ValueError:
                raise invalid("The value for parameter NextToken is invalid.") from None
        page = rows[offset:offset + 1000]
        out = {"DashboardEntries": [{"DashboardName": name, "DashboardArn": _dashboard_arn(ctx, name),
                                     "LastModified": modified / 1000, "Size": size} for name, size, modified in page]}
        if offset + 1000 < len(rows):
            out["NextToken"] = str(offset + 1000)
        return out

    def delete_dashboards(self, ctx, params):
        names = params["DashboardNames"]
        missing = self.store.delete_dashboards(ctx.account, names)
        if missing:
            raise AwsError("DashboardNotFoundError", f"The specified dashboard does not exist. [{', '.join(missing)}]",
                           status=404)
        return {}

def _labels(queries: list[dict]) -> dict[str, str]:
    """The label AWS gives a query without one: the metric's name, then its statistic and period
    where the request's queries of the same metric differ in them."""
    def metric(query):
        m = query["MetricStat"]["Metric"]
        return m["Namespace"], m["MetricName"], dimensions_key(m.get("Dimensions"))

    labels = {}
    for query in queries:
        same = [q["MetricStat"] for q in queries if metric(q) == metric(query)]
        stat = query["MetricStat"]
        label = stat["Metric"]["MetricName"]
        if len({s["Stat"] for s in same}) > 1:
            label += f" {stat['Stat']}"
        if len({s["Period"] for s in same}) > 1:
            label += f" {stat['Period']}"
        labels[query["Id"]] = label
    return labels


# -- dashboards -------------------------------------------------------------------------------------
# A dashboard is a JSON document of widgets that the CloudWatch console draws; through the API it
# is kept, listed and returned as it was put. Dashboards are global (no region in their ARN).

_DASHBOARD_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _dashboard_name(name: str) -> None:
    if not _DASHBOARD_NAME.fullmatch(name or ""):
        raise invalid("The value for field DashboardName contains invalid characters. It can only contain "
                      "alphanumerics, dash (-) and underscore (_).\n")


def _dashboard_arn(ctx, name: str) -> str:
    return f"arn:aws:cloudwatch::{ctx.account}:dashboard/{name}"


def _checked(value, where: str) -> float:
    value = float(value)
    if math.isnan(value) or math.isinf(value) or abs(value) > VALUE_LIMIT:
        raise invalid(f"The value {value} for parameter {where} is invalid.")
    return value


def _rounded_start(start: int) -> int:
    """StartTime as CloudWatch rounds it down (its documentation): to the minute when less than 15
    days ago, to 5 minutes up to 63 days ago, to the hour before that."""
    age = _now_ms() - start
    unit = 60_000 if age < 15 * 86_400_000 else 300_000 if age < 63 * 86_400_000 else 3_600_000
    return start - start % unit


def _check_period(period: int, name: str) -> None:
    if period not in (1, 5, 10, 30) and period % 60:
        raise invalid(f"The parameter {name} must be 1, 5, 10, 30, or a multiple of 60.")


def _statistic(name: str, count: float, total: float, low: float, high: float) -> float:
    return {"SampleCount": count, "Sum": total, "Minimum": low, "Maximum": high,
            "Average": total / count if count else 0.0}[name]

