"""CloudWatch alarms' logic, without storage or I/O: a metric alarm's evaluation over its
periods' data points (comparison, DatapointsToAlarm out of EvaluationPeriods, TreatMissingData),
the reasons and reason data AWS writes, percentiles, the composite alarm rule language, and the
messages alarm actions send (SNS, Lambda, EventBridge), in the forms AWS's documentation and
recorded answers show."""

from __future__ import annotations

import math
import operator
import re
import time
import uuid
from dataclasses import dataclass

import orjson

from overcast.aws.errors import AwsError

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
ACTIONS_OF = {"OK": "OKActions", "ALARM": "AlarmActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
BANDS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?|100)$")


def validation(message: str) -> AwsError:
    return AwsError("ValidationError", message)


def iso(seconds: float) -> str:
    """AWS's timestamps in alarm reason data and messages: 2026-12-04T15:00:00.000+0000."""
    whole = time.gmtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{int(seconds * 1000) % 1000:03d}+0000"


def _short(seconds: float) -> str:
    """How a reason names a data point's time: (04/12/26 15:00:00), day first."""
    return time.strftime("%d/%m/%y %H:%M:%S", time.gmtime(seconds))


def _number(value: float) -> str:
    return repr(float(value))


# -- statistics --------------------------------------------------------------------------------------


def percentile(p: float, rows: list[tuple]) -> float | None:
    """The p-th percentile of the raw values behind `rows` (count, sum, min, max): as on AWS, only
    data put as values or as statistic sets of one value (SampleCount 1, or Minimum = Maximum)
    has percentiles; None when there is none."""
    values: list[tuple[float, float]] = []  # (value, how many times)
    for count, _total, low, high in rows:
        if count == 1 or low == high:
            values.append((low, count))
    if not values:
        return None
    values.sort()
    total = sum(c for _, c in values)
    rank = max(1.0, math.ceil(p / 100 * total - 1e-9))  # nearest rank
    seen = 0.0
    for value, count in values:
        seen += count
        if seen >= rank - 1e-9:
            return value
    return values[-1][0]


def statistic(name: str, rows: list[tuple]) -> float | None:
    """A statistic (SampleCount, Average, Sum, Minimum, Maximum, or a percentile pNN) of one
    period's stored rows (count, sum, min, max); None without data."""
    if not rows:
        return None
    if name.startswith("p"):
        return percentile(float(name[1:]), rows)
    count = sum(r[0] for r in rows)
    if name == "SampleCount":
        return count
    if name == "Sum":
        return sum(r[1] for r in rows)
    if name == "Minimum":
        return min(r[2] for r in rows)
    if name == "Maximum":
        return max(r[3] for r in rows)
    return sum(r[1] for r in rows) / count if count else 0.0


# -- metric alarm evaluation ---------------------------------------------------------------------------


@dataclass
class Outcome:
    state: str
    reason: str
    reason_data: dict


def evaluate(alarm: dict, series: list[tuple[int, float | None, float]], now: float,
             current_state: str) -> Outcome | None:
    """The state a metric alarm goes to, from its evaluation range's periods (start ms, value or
    None when missing, sample count), oldest first; None when the alarm keeps its state
    (TreatMissingData `ignore` without data, or too few samples for a percentile that says ignore).

    As AWS documents: the most recent EvaluationPeriods data points are evaluated; `missing` and
    `ignore` take the most recent real data points in the range (missing ones are not
    considered), `breaching` and `notBreaching` fill the missing ones of the last periods; the
    alarm goes to ALARM when at least DatapointsToAlarm of them breach, else to OK."""
    n = alarm["EvaluationPeriods"]
    m = alarm.get("DatapointsToAlarm") or n
    treat = alarm.get("TreatMissingData") or "missing"
    compare, words = COMPARISONS[alarm["ComparisonOperator"]]
    threshold = float(alarm["Threshold"])
    period = _period(alarm)
    if treat in ("missing", "ignore"):
        chosen = [point for point in series if point[1] is not None][-n:]
        if not chosen:
            if treat == "ignore":
                return None
            unknown = n
            reason = (f"Insufficient Data: {unknown} datapoint{'s were' if unknown > 1 else ' was'} unknown.")
            return Outcome("INSUFFICIENT_DATA", reason, _reason_data(alarm, [], now, threshold, period))
    else:
        chosen = series[-n:]
    low = alarm.get("EvaluateLowSampleCountPercentile")
    stat = alarm.get("ExtendedStatistic") or ""
    if low == "ignore" and PERCENTILE.match(stat) and float(stat[1:]) < 100:
        needed = math.ceil(10 / (1 - float(stat[1:]) / 100))
        if sum(c for _, v, c in chosen if v is not None) < needed:
            return None
    filled_breaching = treat == "breaching"
    breaching = [point for point in chosen if (point[1] is None and filled_breaching)
                 or (point[1] is not None and compare(point[1], threshold))]
    missing = sum(1 for point in chosen if point[1] is None)
    state = "ALARM" if len(breaching) >= m else "OK"
    real = [point for point in chosen if point[1] is not None]
    shown = [point for point in real if compare(point[1], threshold)] if state == "ALARM" else real
    if not real:
        label = "Breaching" if filled_breaching else "NonBreaching"
        reason = (f"Threshold Crossed: no datapoints were received for {missing} period{'s' if missing > 1 else ''} "
                  f"and {missing} missing datapoint{'s were' if missing > 1 else ' was'} treated as [{label}].")
    else:
        listed = ", ".join(f"{_number(v)} ({_short(t / 1000)})" for t, v, _ in reversed(shown))
        negation = "" if state == "ALARM" else "not "
        if state == "ALARM" and len(chosen) > len(shown) and m < n:
            reason = (f"Threshold Crossed: {len(shown)} out of the last {len(chosen)} datapoints [{listed}] were "
                      f"{words} the threshold ({_number(threshold)}) (minimum {m} datapoint"
                      f"{'s' if m > 1 else ''} for OK -> ALARM transition).")
        elif len(shown) == 1:
            reason = f"Threshold Crossed: 1 datapoint [{listed}] was {negation}{words} the threshold ({_number(threshold)})."
        else:
            reason = (f"Threshold Crossed: {len(shown)} datapoints [{listed}] were {negation}{words} the threshold "
                      f"({_number(threshold)}).")
        if missing:
            label = "Breaching" if filled_breaching else "NonBreaching"
            reason = reason[:-1] + (f" and {missing} missing datapoint{'s were' if missing > 1 else ' was'} treated "
                                    f"as [{label}].")
    return Outcome(state, reason, _reason_data(alarm, chosen, now, threshold, period))


def _period(alarm: dict) -> int:
    if alarm.get("Period"):
        return alarm["Period"]
    for query in alarm.get("Metrics") or []:
        if query.get("ReturnData", True) and query.get("MetricStat"):
            return query["MetricStat"]["Period"]
        if query.get("ReturnData", True) and query.get("Period"):
            return query["Period"]
    return 60


def _reason_data(alarm: dict, chosen: list, now: float, threshold: float, period: int) -> dict:
    data = {"version": "1.0", "queryDate": iso(now)}
    if chosen:
        data["startDate"] = iso(chosen[0][0] / 1000)
    if alarm.get("Unit"):
        data["unit"] = alarm["Unit"]
    if alarm.get("Statistic"):
        data["statistic"] = alarm["Statistic"]
    elif alarm.get("ExtendedStatistic"):
        data["statistic"] = alarm["ExtendedStatistic"]
    data["period"] = period
    data["recentDatapoints"] = [v for _, v, _ in chosen if v is not None]
    data["threshold"] = threshold
    evaluated = []
    for t, v, count in reversed(chosen):
        point: dict = {"timestamp": iso(t / 1000)}
        if v is not None:
            point["sampleCount"] = count
            point["value"] = v
        evaluated.append(point)
    if evaluated:
        data["evaluatedDatapoints"] = evaluated
    return data


# -- composite alarm rules ---------------------------------------------------------------------------
# AlarmRule: ALARM("name or ARN"), OK(...), INSUFFICIENT_DATA(...), TRUE, FALSE, combined with AND,
# OR, NOT and parentheses (NOT binds tightest, then AND, then OR).

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*("(?:[^"\\]|\\.)*"|[^()\s]+)\s*\)'
                    r'|(AND|OR|NOT|TRUE|FALSE)\b)')


def parse_rule(rule: str):
    """The rule as a tree: ("state", STATE, alarm), ("const", bool), ("not", x), ("and"|"or", a, b).
    Raises ValidationError for a rule that is not well formed."""
    tokens, pos = [], 0
    while pos < len(rule):
        if rule[pos:].strip() == "":
            break
        match = _TOKEN.match(rule, pos)
        if match is None:
            raise validation(f"Error in alarm rule: unexpected text at position {pos + 1}: "
                             f"{rule[pos:pos + 20].strip()!r}")
        if match.group(1):
            tokens.append(("(",))
        elif match.group(2):
            tokens.append((")",))
        elif match.group(3):
            name = match.group(4)
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"')
            tokens.append(("state", match.group(3), name))
        else:
            tokens.append((match.group(5),))
        pos = match.end()
    if not tokens:
        raise validation("AlarmRule must not be empty.")
    at = 0

    def peek():
        return tokens[at][0] if at < len(tokens) else None

    def take():
        nonlocal at
        at += 1
        return tokens[at - 1]

    def expr():
        left = term()
        while peek() == "OR":
            take()
            left = ("or", left, term())
        return left

    def term():
        left = factor()
        while peek() == "AND":
            take()
            left = ("and", left, factor())
        return left

    def factor():
        kind = peek()
        if kind == "NOT":
            take()
            return ("not", factor())
        if kind == "(":
            take()
            inner = expr()
            if peek() != ")":
                raise validation("Error in alarm rule: missing closing parenthesis.")
            take()
            return inner
        if kind in ("TRUE", "FALSE"):
            take()
            return ("const", kind == "TRUE")
        if kind == "state":
            _, state, name = take()
            return ("state", state, name)
        raise validation("Error in alarm rule: expected a state function, TRUE, FALSE, NOT or a parenthesis.")

    tree = expr()
    if at != len(tokens):
        raise validation("Error in alarm rule: unexpected token after the end of the expression.")
    return tree


def rule_alarms(tree) -> list[str]:
    """The alarm names or ARNs a rule refers to, in order."""
    if tree[0] == "state":
        return [tree[2]]
    if tree[0] == "const":
        return []
    return [name for child in tree[1:] for name in rule_alarms(child)]


def rule_value(tree, state_of) -> bool:
    """Evaluate a rule; `state_of(name or ARN)` answers an alarm's state value."""
    kind = tree[0]
    if kind == "state":
        return state_of(tree[2]) == tree[1]
    if kind == "const":
        return tree[1]
    if kind == "not":
        return not rule_value(tree[1], state_of)
    if kind == "and":
        return rule_value(tree[1], state_of) and rule_value(tree[2], state_of)
    return rule_value(tree[1], state_of) or rule_value(tree[2], state_of)


# -- action messages ---------------------------------------------------------------------------------


def sns_message(alarm: dict, old_state: str, account: str, region_name: str) -> dict:
    """The JSON an alarm publishes to its SNS actions (the fields of AWS's recorded messages)."""
    message = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": iso(alarm["AlarmConfigurationUpdatedTimestamp"]),
        "NewStateValue": alarm["StateValue"],
        "NewStateReason": alarm["StateReason"],
        "StateChangeTime": iso(alarm["StateUpdatedTimestamp"]),
        "Region": region_name,
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
    }
    if "AlarmRule" in alarm:
        message["AlarmRule"] = alarm["AlarmRule"]
        message["TriggeringChildren"] = [
            {"Arn": child["arn"], "State": {"Value": child["state"]["value"], "Timestamp": child["state"]["timestamp"]}}
            for child in orjson.loads(alarm.get("StateReasonData") or "{}").get("triggeringAlarms", [])]
        return message
    if alarm.get("Metrics"):
        trigger = {"Period": _period(alarm), "EvaluationPeriods": alarm["EvaluationPeriods"],
                   "ComparisonOperator": alarm["ComparisonOperator"], "Threshold": alarm.get("Threshold"),
                   "TreatMissingData": alarm.get("TreatMissingData", ""),
                   "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", ""),
                   "Metrics": [_trigger_query(q) for q in alarm["Metrics"]]}
    else:
        extended = alarm.get("ExtendedStatistic")
        trigger = {"MetricName": alarm["MetricName"], "Namespace": alarm["Namespace"],
                   "StatisticType": "ExtendedStatistic" if extended else "Statistic",
                   # AWS's messages name the statistic in upper snake case (SAMPLE_COUNT, AVERAGE)
                   "Statistic": extended if extended else re.sub(r"(?<=[a-z])(?=[A-Z])", "_",
                                                                 alarm["Statistic"]).upper(),
                   "Unit": alarm.get("Unit"),
                   "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])],
                   "Period": alarm["Period"], "EvaluationPeriods": alarm["EvaluationPeriods"],
                   "ComparisonOperator": alarm["ComparisonOperator"], "Threshold": alarm["Threshold"],
                   "TreatMissingData": alarm.get("TreatMissingData", ""),
                   "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", "")}
        if alarm.get("DatapointsToAlarm"):
            trigger["DatapointsToAlarm"] = alarm["DatapointsToAlarm"]
    message["Trigger"] = trigger
    return message


def _trigger_query(query: dict) -> dict:
    out = {"Id": query["Id"], "ReturnData": query.get("ReturnData", True)}
    if query.get("Label"):
        out["Label"] = query["Label"]
    if query.get("Expression"):
        out["Expression"] = query["Expression"]
    if query.get("MetricStat"):
        stat = query["MetricStat"]
        metric = stat["Metric"]
        out["MetricStat"] = {"Metric": {"Namespace": metric.get("Namespace"), "MetricName": metric.get("MetricName"),
                                        "Dimensions": [{"value": d["Value"], "name": d["Name"]}
                                                       for d in metric.get("Dimensions", [])]},
                             "Period": stat["Period"], "Stat": stat["Stat"]}
        if stat.get("Unit"):
            out["MetricStat"]["Unit"] = stat["Unit"]
    return out


def event_configuration(alarm: dict) -> dict:
    """`configuration` of the alarm's EventBridge events and Lambda payloads."""
    configuration: dict = {}
    if alarm.get("AlarmDescription"):
        configuration["description"] = alarm["AlarmDescription"]
    if "AlarmRule" in alarm:
        configuration["alarmRule"] = alarm["AlarmRule"]
        configuration["actionsSuppressor"] = None
        return configuration
    if alarm.get("Metrics"):
        metrics = []
        for query in alarm["Metrics"]:
            item: dict = {"id": query["Id"]}
            if query.get("MetricStat"):
                stat = query["MetricStat"]
                metric = stat["Metric"]
                item["metricStat"] = {"metric": {"namespace": metric.get("Namespace"), "name": metric.get("MetricName"),
                                                 "dimensions": {d["Name"]: d["Value"]
                                                                for d in metric.get("Dimensions", [])}},
                                      "period": stat["Period"], "stat": stat["Stat"]}
            if query.get("Expression"):
                item["expression"] = query["Expression"]
            if query.get("Label"):
                item["label"] = query["Label"]
            item["returnData"] = query.get("ReturnData", True)
            metrics.append(item)
        configuration["metrics"] = metrics
        return configuration
    configuration["metrics"] = [{
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm["AlarmArn"])),
        "metricStat": {"metric": {"namespace": alarm["Namespace"], "name": alarm["MetricName"],
                                  "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}},
                       "period": alarm["Period"], "stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic")},
        "returnData": True}]
    return configuration


def event_state(value: str, reason: str, reason_data: str | None, timestamp: float) -> dict:
    state = {"value": value, "reason": reason, "timestamp": iso(timestamp)}
    if reason_data:
        state["reasonData"] = reason_data
    return state
