"""CloudWatch alarms' operations (mixed into CloudWatchProvider): PutMetricAlarm,
PutCompositeAlarm, DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory, SetAlarmState,
Enable/DisableAlarmActions, DeleteAlarms and the tagging API; their evaluation on timers and on
data arrival, and their actions. The logic without I/O is in alarms.py."""

from __future__ import annotations

import logging
import math
import os
import re
import time
import uuid

import orjson

from overcast.aws.errors import AwsError, not_implemented
from overcast.services.cloudwatch import alarms
from overcast.services.cloudwatch.common import STATISTICS, _ms, combination, dimensions_key, invalid
from overcast.services.cloudwatch.store import CloudWatchStore

log = logging.getLogger("overcast.cloudwatch")


# -- alarms -----------------------------------------------------------------------------------------
# A metric alarm is evaluated over the stored data points (store.py): on a timer every EVALUATION_CADENCE
# seconds (AWS evaluates alarms every minute), and at once when a data point of a metric it watches
# arrives (PutMetricData, a Logs metric filter). A state change is committed with its history
# item, then the actions of the new state run (SNS topics get the alarm's JSON message, Lambda
# functions the alarm payload), the "CloudWatch Alarm State Change" event goes to the default
# event bus, and the composite alarms whose rule names the alarm are evaluated again.

# seconds between an alarm's timed evaluations (AWS: a minute); tests of restarts shorten it
EVALUATION_CADENCE = float(os.environ.get("OVERCAST_CLOUDWATCH_EVALUATION_SECONDS") or 60)
HISTORY_KEPT = 30 * 86_400  # AWS keeps alarm history for 30 days
ALARM_PAGE = 50  # DescribeAlarms' default MaxRecords
INITIAL_REASON = "Unchecked: Initial alarm creation"
UNSUPPORTED_ALARM_PARAMETERS = ("EvaluationWindow", "WarmUpConfiguration", "EvaluationCriteria",
                                "EvaluationInterval", "ActionConfiguration")
_REGION_NAMES: dict[str, str] = {}


def region_name(region: str) -> str:
    """A Region's name as alarm messages give it ("US East (N. Virginia)"), from botocore's
    endpoint data."""
    if not _REGION_NAMES:
        from botocore.loaders import create_loader

        for partition in create_loader().load_data("endpoints")["partitions"]:
            for code, info in partition.get("regions", {}).items():
                _REGION_NAMES[code] = info.get("description", code)
    return _REGION_NAMES.get(region, region)


def _alarm_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def _event_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _page_offset(params) -> int:
    if not params.get("NextToken"):
        return 0
    try:
        offset = int(params["NextToken"])
    except ValueError:
        offset = -1
    if offset < 0:
        raise AwsError("InvalidNextToken", "The service couldn't process the request because the NextToken is invalid.")
    return offset


def _check_actions(params: dict) -> None:
    """SNS topics and Lambda functions are the actions overcast runs; EC2, Auto Scaling, Systems
    Manager and the other kinds answer NotImplemented rather than being stored and never run."""
    for key in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        for arn in params.get(key) or []:
            parts = arn.split(":")
            if len(parts) < 6 or parts[0] != "arn":
                raise alarms.validation(f"Invalid arn syntax: {arn}")
            if parts[2] not in ("sns", "lambda"):
                raise not_implemented(f"CloudWatch alarm action {arn} (overcast runs SNS topic and Lambda function "
                                      "actions)")


class AlarmOperations:
    """The alarm half of CloudWatchProvider (mixed in): its operations, evaluation and actions."""

    store: CloudWatchStore

    # -- timers ------------------------------------------------------------------------------------

    async def start(self) -> None:
        now = time.time()
        for account, region, name in self.store.all_metric_alarms():
            self._arm(account, region, name, _next_tick(now))

    async def stop(self) -> None:
        self._timers.cancel_all(tasks=True)

    def reset(self) -> None:
        self._timers.cancel_all()

    def _arm(self, account, region, name, when: float) -> None:
        self._timers.at(("alarm", account, region, name), when, lambda: self._timed(account, region, name))

    async def _timed(self, account, region, name) -> None:
        try:
            self._evaluate(account, region, name)
        except Exception:  # noqa: BLE001 - an alarm's failure must not stop its next evaluations
            log.exception("CloudWatch alarm %s evaluation failed", name)
        if self.store.alarm(account, region, name) is not None:
            self._arm(account, region, name, _next_tick(time.time()))

    def _wake(self, account, region, points) -> None:
        """Data arrived: evaluate the alarms of its metrics now."""
        for namespace, metric in {(p[0], p[1]) for p in points}:
            for name in self.store.alarms_of_metric(account, region, namespace, metric):
                try:
                    self._arm(account, region, name, 0)
                except RuntimeError:  # no event loop (a direct call outside the server): the timer will do it
                    return

    # -- evaluation --------------------------------------------------------------------------------

    def _evaluate(self, account, region, name) -> None:
        row = self.store.alarm(account, region, name)
        if row is None or row[0] != "MetricAlarm":
            return
        alarm = orjson.loads(row[1])
        now = time.time()
        outcome = alarms.evaluate(alarm, self._series(account, region, alarm, now), now, alarm["StateValue"])
        if outcome is not None and outcome.state != alarm["StateValue"]:
            self._change_state(account, region, alarm, "MetricAlarm", outcome.state, outcome.reason,
                               orjson.dumps(outcome.reason_data).decode())

    def _series(self, account, region, alarm: dict, now: float) -> list[tuple]:
        """(period start ms, statistic or None, sample count) of the alarm's evaluation range: its
        EvaluationPeriods and a few more (enough to cover a minute: standard-resolution data is
        stored at its minute), oldest first; the current period only when it has data."""
        query = _alarm_query(alarm)
        period = query["Period"]
        width = period * 1000
        n = alarm["EvaluationPeriods"] + max(2, math.ceil(60 / period))
        current = int(now * 1000) // width * width
        start = current - (n - 1) * width
        metric = query["Metric"]
        buckets: dict[int, list] = {}
        for ts, count, total, low, high, _unit in self.store.points(
                account, region, metric["Namespace"], metric["MetricName"], dimensions_key(metric.get("Dimensions")),
                start, current + width, query.get("Unit")):
            buckets.setdefault(ts // width * width, []).append((count, total, low, high))
        series = []
        for t in range(start, current + width, width):
            rows = buckets.get(t, [])
            value = alarms.statistic(query["Stat"], rows)
            if t == current and value is None:
                continue
            series.append((t, value, sum(r[0] for r in rows)))
        return series

    def _change_state(self, account, region, alarm: dict, kind: str, state: str, reason: str,
                      reason_data: str | None, depth: int = 0) -> None:
        """Commit a state update with its history item; on a change of value, run the new state's
        actions and evaluate the composite alarms above."""
        now = time.time()
        old = {k: alarm.get(k) for k in ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp")}
        alarm["StateValue"], alarm["StateReason"] = state, reason
        if reason_data is None:
            alarm.pop("StateReasonData", None)
        else:
            alarm["StateReasonData"] = reason_data
        alarm["StateUpdatedTimestamp"] = now
        changed = old["StateValue"] != state
        if changed:
            alarm["StateTransitionedTimestamp"] = now
        old_state = {"stateValue": old["StateValue"], "stateReason": old["StateReason"]}
        if old["StateReasonData"]:
            old_state["stateReasonData"] = orjson.loads(old["StateReasonData"])
        new_state = {"stateValue": state, "stateReason": reason}
        if reason_data:
            new_state["stateReasonData"] = orjson.loads(reason_data)
        name = alarm["AlarmName"]
        with self.store.transaction():
            self.store.update_alarm(account, region, name, orjson.dumps(alarm).decode())
            self._history(account, region, name, kind, now, "StateUpdate",
                          f"Alarm updated from {old['StateValue']} to {state}",
                          {"version": "1.0", "oldState": old_state, "newState": new_state})
        if not changed:
            return
        self._timers.spawn(self._act(account, region, dict(alarm), kind, old))
        if depth < 10:  # composite alarms may name composite alarms; a cycle stops here
            self._evaluate_parents(account, region, alarm, depth + 1)

    def _history(self, account, region, name, kind, ts: float, item_type: str, summary: str, data: dict) -> None:
        self.store.add_history(account, region, name, kind, ts, item_type, summary, orjson.dumps(data).decode(),
                               ts - HISTORY_KEPT)

    # -- composite alarms --------------------------------------------------------------------------

    def _state_of(self, account, region):
        prefix = _alarm_arn(account, region, "")

        def state_of(reference: str) -> str | None:
            row = self.store.alarm(account, region, reference.removeprefix(prefix))
            return orjson.loads(row[1])["StateValue"] if row is not None else None

        return state_of

    def _evaluate_parents(self, account, region, child: dict, depth: int) -> None:
        for _name, _kind, doc in self.store.alarms(account, region, ("CompositeAlarm",)):
            parent = orjson.loads(doc)
            references = alarms.rule_alarms(alarms.parse_rule(parent["AlarmRule"]))
            if child["AlarmName"] in references or child["AlarmArn"] in references:
                self._evaluate_composite(account, region, parent, [child], depth)

    def _evaluate_composite(self, account, region, alarm: dict, triggering: list[dict], depth: int = 0) -> None:
        """The rule true: ALARM, else OK; the triggering children are the ones whose change
        caused this evaluation (all of them at creation)."""
        tree = alarms.parse_rule(alarm["AlarmRule"])
        state = "ALARM" if alarms.rule_value(tree, self._state_of(account, region)) else "OK"
        if state == alarm["StateValue"]:
            return
        children = [{"arn": child["AlarmArn"],
                     "state": {"value": child["StateValue"],
                               "timestamp": alarms.iso(child.get("StateTransitionedTimestamp")
                                                       or child["StateUpdatedTimestamp"])}}
                    for child in triggering]
        reason = "; ".join(f"{c['arn']} transitioned to {c['state']['value']} at "
                           f"{time.strftime('%A %d %B, %Y %H:%M:%S UTC', time.gmtime())}" for c in children) \
            or "No alarm in the rule changed state"
        self._change_state(account, region, alarm, "CompositeAlarm", state, reason,
                           orjson.dumps({"triggeringAlarms": children}).decode(), depth)

    # -- actions -----------------------------------------------------------------------------------

    async def _act(self, account, region, alarm: dict, kind: str, old: dict) -> None:
        from overcast.engine.targets import DeliveryError, Sender, deliver

        state, name, arn = alarm["StateValue"], alarm["AlarmName"], alarm["AlarmArn"]
        now = time.time()
        if alarm.get("ActionsEnabled", True):
            for target in alarm.get(alarms.ACTIONS_OF[state]) or []:
                service = target.split(":")[2]
                try:
                    if service == "sns":
                        where = region_name(region)
                        body = orjson.dumps(alarms.sns_message(alarm, old["StateValue"], account, where)).decode()
                        await deliver(self.providers, target, body, subject=f'{state}: "{name}" in {where}'[:100],
                                      sender=Sender("cloudwatch.amazonaws.com", arn, account))
                    else:
                        body = orjson.dumps(self._lambda_payload(account, region, alarm, old, now)).decode()
                        await deliver(self.providers, target, body,
                                      sender=Sender("lambda.alarms.cloudwatch.amazonaws.com", arn, account))
                except DeliveryError as e:
                    log.warning("CloudWatch alarm %s: action %s failed (%s)", name, target, e)
                    self._history(account, region, name, kind, time.time(), "Action",
                                  f"Failed to execute action {target}. Received error: \"{e.message}\"",
                                  {"actionState": "Failed", "stateUpdateTimestamp": int(now * 1000),
                                   "notificationResource": target, "error": e.message})
                    continue
                self._history(account, region, name, kind, time.time(), "Action",
                              f"Successfully executed action {target}",
                              {"actionState": "Succeeded", "stateUpdateTimestamp": int(now * 1000),
                               "notificationResource": target})
        # the state change event goes to the default bus whether actions are enabled or not, as on AWS
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "CloudWatch Alarm State Change",
                 "source": "aws.cloudwatch", "account": account, "time": _event_time(now), "region": region,
                 "resources": [arn],
                 "detail": {"alarmName": name,
                            "state": alarms.event_state(state, alarm["StateReason"], alarm.get("StateReasonData"),
                                                        alarm["StateUpdatedTimestamp"]),
                            "previousState": alarms.event_state(old["StateValue"], old["StateReason"],
                                                                old["StateReasonData"],
                                                                old["StateUpdatedTimestamp"] or now),
                            "configuration": alarms.event_configuration(alarm)}}
        try:
            events = await self.providers.get("events")
            await events.put_event_internal(account, region, f"arn:aws:events:{region}:{account}:event-bus/default",
                                            orjson.dumps(event).decode())
        except AwsError as e:
            log.warning("CloudWatch alarm %s: state change event not sent (%s)", name, e.message)

    @staticmethod
    def _lambda_payload(account, region, alarm: dict, old: dict, now: float) -> dict:
        """What a Lambda alarm action receives (AWS's recorded invocation)."""
        return {"source": "aws.cloudwatch", "alarmArn": alarm["AlarmArn"], "accountId": account,
                "time": alarms.iso(now), "region": region,
                "alarmData": {"alarmName": alarm["AlarmName"],
                              "state": alarms.event_state(alarm["StateValue"], alarm["StateReason"],
                                                          alarm.get("StateReasonData"), alarm["StateUpdatedTimestamp"]),
                              "previousState": alarms.event_state(old["StateValue"], old["StateReason"],
                                                                  old["StateReasonData"],
                                                                  old["StateUpdatedTimestamp"] or now),
                              "configuration": alarms.event_configuration(alarm)}}

    # -- PutMetricAlarm / PutCompositeAlarm --------------------------------------------------------

    def put_metric_alarm(self, ctx, params):
        for key in UNSUPPORTED_ALARM_PARAMETERS:
            if params.get(key):
                raise not_implemented(f"CloudWatch PutMetricAlarm's {key}")
        if params.get("ThresholdMetricId") or params["ComparisonOperator"] in alarms.BANDS:
            raise not_implemented("CloudWatch anomaly detection alarms (ThresholdMetricId, band comparisons)")
        _check_actions(params)
        metrics = params.get("Metrics")
        single = [k for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period",
                              "Unit") if params.get(k)]
        if metrics and single:
            raise alarms.validation(f"Metrics list cannot be used together with {single[0]}.")
        if params.get("Threshold") is None:
            raise alarms.validation("Threshold must be specified for an alarm that is not an anomaly detection alarm.")
        evaluation = params["EvaluationPeriods"]
        if params.get("DatapointsToAlarm") is not None and params["DatapointsToAlarm"] > evaluation:
            raise alarms.validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
        treat = params.get("TreatMissingData")
        if treat is not None and treat not in ("breaching", "notBreaching", "ignore", "missing"):
            raise alarms.validation(f"The value {treat} is not valid for TreatMissingData; valid values are "
                                    "breaching, notBreaching, ignore and missing.")
        extended = params.get("ExtendedStatistic")
        low = params.get("EvaluateLowSampleCountPercentile")
        if low is not None and low not in ("evaluate", "ignore"):
            raise alarms.validation("EvaluateLowSampleCountPercentile must be evaluate or ignore.")
        if metrics:
            watched, period = self._check_alarm_metrics(metrics)
        else:
            if not params.get("MetricName") or not params.get("Namespace"):
                raise alarms.validation("MetricName and Namespace must be specified for an alarm without Metrics.")
            if params.get("Statistic") and extended:
                raise combination("The parameters Statistic and ExtendedStatistic are mutually exclusive and you have "
                                  "specified both.")
            if not params.get("Statistic") and not extended:
                raise AwsError("MissingParameter", "The parameter Statistic or ExtendedStatistic must be specified.")
            if extended:
                _check_extended(extended, "ExtendedStatistic")
            if low is not None and not extended:
                raise alarms.validation("EvaluateLowSampleCountPercentile can only be used with a percentile.")
            period = params.get("Period")
            if not period:
                raise AwsError("MissingParameter", "The parameter Period must be specified.")
            names = [d["Name"] for d in params.get("Dimensions") or []]
            if len(set(names)) != len(names):
                raise invalid("No metric may have duplicate dimension names: Dimensions.")
            watched = [(params["Namespace"], params["MetricName"])]
        _check_alarm_period(period, evaluation)
        now = time.time()
        name = params["AlarmName"]
        arn = _alarm_arn(ctx.account, ctx.region, name)
        doc = {"AlarmName": name, "AlarmArn": arn, "AlarmConfigurationUpdatedTimestamp": now,
               "ActionsEnabled": params.get("ActionsEnabled", True),
               "OKActions": params.get("OKActions") or [], "AlarmActions": params.get("AlarmActions") or [],
               "InsufficientDataActions": params.get("InsufficientDataActions") or []}
        if params.get("AlarmDescription") is not None:
            doc["AlarmDescription"] = params["AlarmDescription"]
        if metrics:
            doc["Metrics"] = metrics
        else:
            doc.update({"MetricName": params["MetricName"], "Namespace": params["Namespace"],
                        "Dimensions": params.get("Dimensions") or [], "Period": period})
            if extended:
                doc["ExtendedStatistic"] = extended
            else:
                doc["Statistic"] = params["Statistic"]
            if params.get("Unit"):
                doc["Unit"] = params["Unit"]
        doc.update({"EvaluationPeriods": evaluation, "Threshold": float(params["Threshold"]),
                    "ComparisonOperator": params["ComparisonOperator"]})
        for key in ("DatapointsToAlarm", "TreatMissingData", "EvaluateLowSampleCountPercentile"):
            if params.get(key) is not None:
                doc[key] = params[key]
        self._save_alarm(ctx, doc, "MetricAlarm", watched, params.get("Tags"), now)
        self._arm(ctx.account, ctx.region, name, _next_tick(now))
        return {}

    @staticmethod
    def _check_alarm_metrics(metrics: list[dict]) -> tuple[list[tuple[str, str]], int]:
        """An alarm's Metrics: ids unique, one query returning data; the metrics it watches and
        the period of the query it evaluates."""
        ids = [q["Id"] for q in metrics]
        if len(set(ids)) != len(ids):
            raise alarms.validation("The values for parameter Id in Metrics must be unique.")
        returned = [q for q in metrics if q.get("ReturnData", True)]
        if len(returned) != 1:
            raise alarms.validation("Exactly one element of the metrics list should return data.")
        watched = []
        for query in metrics:
            if query.get("Expression") is not None:
                raise not_implemented("CloudWatch metric math in alarms (Metrics' Expression)")
            stat = query.get("MetricStat")
            if stat is None:
                raise alarms.validation(f"The metrics list element {query['Id']} must have a MetricStat or an "
                                        "Expression.")
            metric = stat["Metric"]
            if not metric.get("Namespace") or not metric.get("MetricName"):
                raise alarms.validation("The parameter MetricStat.Metric must have a Namespace and a MetricName.")
            if stat["Stat"] not in STATISTICS:
                _check_extended(stat["Stat"], "MetricStat.Stat")
            watched.append((metric["Namespace"], metric["MetricName"]))
        return watched, returned[0]["MetricStat"]["Period"]

    def put_composite_alarm(self, ctx, params):
        for key in ("ActionsSuppressor", "ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod",
                    "ActionConfiguration"):
            if params.get(key):
                raise not_implemented(f"CloudWatch PutCompositeAlarm's {key}")
        _check_actions(params)
        name, rule = params["AlarmName"], params["AlarmRule"]
        tree = alarms.parse_rule(rule)
        prefix = _alarm_arn(ctx.account, ctx.region, "")
        references = [ref.removeprefix(prefix) for ref in alarms.rule_alarms(tree)]
        if name in references:
            raise alarms.validation("A composite alarm cannot refer to itself in its AlarmRule.")
        missing = [ref for ref in references if self.store.alarm(ctx.account, ctx.region, ref) is None]
        if missing:
            raise alarms.validation(f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm "
                                    "rule do not exist")
        now = time.time()
        doc = {"AlarmName": name, "AlarmArn": _alarm_arn(ctx.account, ctx.region, name), "AlarmRule": rule,
               "AlarmConfigurationUpdatedTimestamp": now, "ActionsEnabled": params.get("ActionsEnabled", True),
               "OKActions": params.get("OKActions") or [], "AlarmActions": params.get("AlarmActions") or [],
               "InsufficientDataActions": params.get("InsufficientDataActions") or []}
        if params.get("AlarmDescription") is not None:
            doc["AlarmDescription"] = params["AlarmDescription"]
        doc = self._save_alarm(ctx, doc, "CompositeAlarm", [], params.get("Tags"), now)
        children = [orjson.loads(self.store.alarm(ctx.account, ctx.region, ref)[1]) for ref in dict.fromkeys(references)]
        self._evaluate_composite(ctx.account, ctx.region, doc, children)
        return {}

    def _save_alarm(self, ctx, doc: dict, kind: str, watched, tags, now: float) -> dict:
        """Create the alarm, or replace its configuration keeping its state (and its tags: AWS
        ignores Tags on an update); commit it with its history item."""
        name = doc["AlarmName"]
        existing = self.store.alarm(ctx.account, ctx.region, name)
        if existing is not None and existing[0] != kind:
            raise alarms.validation(f"The alarm {name} already exists as a {existing[0]}.")
        if existing is not None:
            old = orjson.loads(existing[1])
            for key in ("StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp",
                        "StateTransitionedTimestamp"):
                if key in old:
                    doc[key] = old[key]
        else:
            doc.update({"StateValue": "INSUFFICIENT_DATA", "StateReason": INITIAL_REASON,
                        "StateUpdatedTimestamp": now, "StateTransitionedTimestamp": now})
        with self.store.transaction():
            self.store.put_alarm(ctx.account, ctx.region, name, kind, orjson.dumps(doc).decode(), watched)
            if existing is None and tags:
                self.store.tag(doc["AlarmArn"], {t["Key"]: t["Value"] for t in tags})
            change = "Update" if existing is not None else "Create"
            self._history(ctx.account, ctx.region, name, kind, now, "ConfigurationUpdate",
                          f'Alarm "{name}" {"updated" if existing is not None else "created"}',
                          {"version": "1.0", "type": change,
                           ("updatedAlarm" if existing is not None else "createdAlarm"): _configuration(doc)})
        return doc

    # -- DescribeAlarms and the rest -----------------------------------------------------------------

    def describe_alarms(self, ctx, params):
        names, prefix = params.get("AlarmNames"), params.get("AlarmNamePrefix")
        children_of, parents_of = params.get("ChildrenOfAlarmName"), params.get("ParentsOfAlarmName")
        if names and prefix:
            raise combination("The parameters AlarmNames and AlarmNamePrefix are mutually exclusive and you have "
                              "specified both.")
        if (children_of or parents_of) and (names or prefix or params.get("StateValue") or params.get("ActionPrefix")):
            raise combination("ChildrenOfAlarmName and ParentsOfAlarmName cannot be used with other filters "
                              "except AlarmTypes.")
        if children_of and parents_of:
            raise combination("The parameters ChildrenOfAlarmName and ParentsOfAlarmName are mutually exclusive.")
        kinds = tuple(params.get("AlarmTypes") or ("MetricAlarm",))
        size = params.get("MaxRecords") or ALARM_PAGE
        offset = _page_offset(params)
        rows = self.store.alarms(ctx.account, ctx.region, kinds, prefix or "")
        if names:
            wanted = set(names)
            rows = [row for row in rows if row[0] in wanted]
        docs = [(kind, orjson.loads(doc)) for _, kind, doc in rows]
        if params.get("StateValue"):
            docs = [(k, d) for k, d in docs if d["StateValue"] == params["StateValue"]]
        if params.get("ActionPrefix"):
            action = params["ActionPrefix"]
            docs = [(k, d) for k, d in docs if any(a.startswith(action) for key in alarms.ACTIONS_OF.values()
                                                  for a in d.get(key) or [])]
        if children_of:
            parent = self.store.alarm(ctx.account, ctx.region, children_of)
            refs = set()
            if parent is not None and parent[0] == "CompositeAlarm":
                arn_prefix = _alarm_arn(ctx.account, ctx.region, "")
                refs = {r.removeprefix(arn_prefix) for r in alarms.rule_alarms(
                    alarms.parse_rule(orjson.loads(parent[1])["AlarmRule"]))}
            docs = [(k, d) for k, d in docs if d["AlarmName"] in refs]
        if parents_of:
            arn = _alarm_arn(ctx.account, ctx.region, parents_of)
            docs = [(k, d) for k, d in docs if k == "CompositeAlarm" and {parents_of, arn} & set(
                alarms.rule_alarms(alarms.parse_rule(d["AlarmRule"])))]
        page = docs[offset:offset + size]
        out = {"MetricAlarms": [d for k, d in page if k == "MetricAlarm"],
               "CompositeAlarms": [d for k, d in page if k == "CompositeAlarm"]}
        if offset + size < len(docs):
            out["NextToken"] = str(offset + size)
        return out

    def describe_alarms_for_metric(self, ctx, params):
        dims = dimensions_key(params["Dimensions"]) if params.get("Dimensions") is not None else None
        found = []
        for _, _, doc in self.store.alarms(ctx.account, ctx.region, ("MetricAlarm",)):
            alarm = orjson.loads(doc)
            if alarm.get("Metrics"):
                queries = [q["MetricStat"] for q in alarm["Metrics"] if q.get("MetricStat")]
                candidates = [{"Namespace": s["Metric"]["Namespace"], "MetricName": s["Metric"]["MetricName"],
                               "Dimensions": s["Metric"].get("Dimensions") or [], "Period": s["Period"],
                               "Stat": s["Stat"], "Unit": s.get("Unit")} for s in queries]
            else:
                candidates = [{"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                               "Dimensions": alarm.get("Dimensions") or [], "Period": alarm["Period"],
                               "Stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
                               "Unit": alarm.get("Unit")}]
            for c in candidates:
                if (c["Namespace"] == params["Namespace"] and c["MetricName"] == params["MetricName"]
                        and (dims is None or dimensions_key(c["Dimensions"]) == dims)
                        and params.get("Statistic", c["Stat"]) == c["Stat"]
                        and params.get("ExtendedStatistic", c["Stat"]) == c["Stat"]
                        and params.get("Period", c["Period"]) == c["Period"]
                        and params.get("Unit", c["Unit"]) == c["Unit"]):
                    found.append(alarm)
                    break
        return {"MetricAlarms": found}

    def describe_alarm_history(self, ctx, params):
        if params.get("AlarmContributorId"):
            raise not_implemented("CloudWatch alarm contributors (AlarmContributorId)")
        kinds = tuple(params.get("AlarmTypes") or ("MetricAlarm", "CompositeAlarm"))
        start = _ms(params["StartDate"]) / 1000 if params.get("StartDate") else 0
        end = _ms(params["EndDate"]) / 1000 if params.get("EndDate") else time.time() + 1
        size = params.get("MaxRecords") or 100
        offset = _page_offset(params)
        rows = self.store.history(ctx.account, ctx.region, params.get("AlarmName"), kinds, params.get("HistoryItemType"),
                                  start, end, params.get("ScanBy") != "TimestampAscending")
        page = rows[offset:offset + size]
        out = {"AlarmHistoryItems": [{"AlarmName": alarm, "AlarmType": kind, "Timestamp": ts, "HistoryItemType": item,
                                      "HistorySummary": summary, "HistoryData": data}
                                     for _, alarm, kind, ts, item, summary, data in page]}
        if offset + size < len(rows):
            out["NextToken"] = str(offset + size)
        return out

    def set_alarm_state(self, ctx, params):
        name, state = params["AlarmName"], params["StateValue"]
        row = self.store.alarm(ctx.account, ctx.region, name)
        if row is None:
            raise AwsError("ResourceNotFound", "", status=404, _no_message=True)  # AWS's has no message
        data = params.get("StateReasonData")
        if data is not None:
            try:
                orjson.loads(data)
            except orjson.JSONDecodeError:
                raise AwsError("InvalidFormat", "Data was not syntactically valid JSON") from None
        alarm = orjson.loads(row[1])
        self._change_state(ctx.account, ctx.region, alarm, row[0], state, params["StateReason"], data)
        if row[0] == "MetricAlarm":
            # the alarm returns to the state its data gives at its next evaluation, as on AWS
            self._arm(ctx.account, ctx.region, name, time.time() + EVALUATION_CADENCE)
        return {}

    def enable_alarm_actions(self, ctx, params):
        self._actions_enabled(ctx, params["AlarmNames"], True)
        return {}

    def disable_alarm_actions(self, ctx, params):
        self._actions_enabled(ctx, params["AlarmNames"], False)
        return {}

    def _actions_enabled(self, ctx, names, enabled: bool) -> None:
        with self.store.transaction():
            for name in names:
                row = self.store.alarm(ctx.account, ctx.region, name)
                if row is None:
                    continue  # AWS ignores names of no alarm here
                alarm = orjson.loads(row[1])
                alarm["ActionsEnabled"] = enabled
                self.store.update_alarm(ctx.account, ctx.region, name, orjson.dumps(alarm).decode())

    def delete_alarms(self, ctx, params):
        now = time.time()
        with self.store.transaction():
            for name in params["AlarmNames"]:
                row = self.store.alarm(ctx.account, ctx.region, name)
                if row is None:
                    continue  # AWS answers success for a name of no alarm
                self.store.delete_alarm(ctx.account, ctx.region, name, _alarm_arn(ctx.account, ctx.region, name))
                self._history(ctx.account, ctx.region, name, row[0], now, "ConfigurationUpdate",
                              f'Alarm "{name}" deleted', {"version": "1.0", "type": "Delete"})
                self._timers.cancel(("alarm", ctx.account, ctx.region, name))
        return {}

    # -- tags --------------------------------------------------------------------------------------

    def _tagged(self, ctx, arn: str, must_exist: bool) -> str:
        """The ARN of an alarm or dashboard of the caller's account; ResourceNotFoundException for
        one that does not exist (when it must)."""
        parts = arn.split(":", 6)
        if len(parts) < 6 or parts[0] != "arn" or parts[2] != "cloudwatch":
            raise invalid(f"Invalid ARN: {arn}")
        if parts[5] == "alarm" and len(parts) == 7:
            exists = parts[4] == ctx.account and parts[3] == ctx.region and \
                self.store.alarm(ctx.account, ctx.region, parts[6]) is not None
        elif parts[5].startswith("dashboard/"):
            exists = parts[4] == ctx.account and self.store.dashboard(ctx.account, parts[5][10:]) is not None
        else:
            raise invalid(f"Invalid ARN: {arn}")
        if must_exist and not exists:
            raise AwsError("ResourceNotFoundException", f"{arn} does not exist.", status=404)
        return arn

    def tag_resource(self, ctx, params):
        arn = self._tagged(ctx, params["ResourceARN"], True)
        self.store.tag(arn, {t["Key"]: t["Value"] for t in params["Tags"]})
        return {}

    def untag_resource(self, ctx, params):
        arn = self._tagged(ctx, params["ResourceARN"], True)
        self.store.untag(arn, params["TagKeys"])
        return {}

    def list_tags_for_resource(self, ctx, params):
        arn = self._tagged(ctx, params["ResourceARN"], False)
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.store.tags(arn)]}


def _alarm_query(alarm: dict) -> dict:
    """The metric, statistic, period and unit an alarm evaluates (its own, or its Metrics' query
    that returns data)."""
    if alarm.get("Metrics"):
        query = next(q for q in alarm["Metrics"] if q.get("ReturnData", True))["MetricStat"]
        return {"Metric": query["Metric"], "Stat": query["Stat"], "Period": query["Period"], "Unit": query.get("Unit")}
    return {"Metric": {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"],
                       "Dimensions": alarm.get("Dimensions")},
            "Stat": alarm.get("Statistic") or alarm["ExtendedStatistic"], "Period": alarm["Period"],
            "Unit": alarm.get("Unit")}


def _configuration(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("State")}


def _next_tick(now: float) -> float:
    return (now // EVALUATION_CADENCE + 1) * EVALUATION_CADENCE


def _check_extended(stat: str, where: str) -> None:
    if not alarms.PERCENTILE.match(stat):
        if re.match(r"^(tm|wm|tc|ts|TM|WM|TC|TS|PR|IQM)", stat):
            raise not_implemented(f"CloudWatch statistic {stat} (trimmed, winsorized and rank statistics)")
        raise invalid(f"The value {stat} for parameter {where} is not supported.")


def _check_alarm_period(period: int, evaluation: int) -> None:
    if period not in (10, 20, 30) and period % 60:
        raise invalid("The parameter Period must be 10, 20, 30, or a multiple of 60.")
    limit = 7 * 86_400 if period >= 3600 else 86_400
    if period * evaluation > limit:
        raise invalid(f"The evaluation period (Period * EvaluationPeriods) must not exceed "
                      f"{'7 days' if limit > 86_400 else '1 day'}.")
