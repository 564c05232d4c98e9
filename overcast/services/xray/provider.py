"""AWS X-Ray (rest-json): PutTraceSegments (and the daemon's UDP port, daemon.py) stores segment
documents for X-Ray's 30 days and puts them in overcast's trace ring (ring.py), where they join
the traces they name; GetTraceSummaries, BatchGetTraces, GetTraceGraph and GetServiceGraph read
them back together with overcast's own spans of the same traces; the sampling API answers with
AWS's default rule. docs/xray.md says what works and what does not.
"""

from __future__ import annotations

import base64
import logging
import time

import orjson

from overcast.aws.errors import AwsError
from overcast.aws.routing import DEFAULT_ACCOUNT, DEFAULT_REGION
from overcast.services.base import Provider
from overcast.services.xray import ring
from overcast.services.xray import segments as seg
from overcast.services.xray.filters import compile_filter
from overcast.services.xray.store import TIME_COLUMNS, XRayStore

log = logging.getLogger("overcast.xray")

PAGE = 100  # trace summaries per page
PRUNE_EVERY = 3600.0  # seconds between removals of segments past X-Ray's retention
# AWS's default sampling rule: the first request each second, and 5% of any additional requests
DEFAULT_RULE = {"RuleName": "Default", "ResourceARN": "*", "Priority": 10000, "FixedRate": 0.05, "ReservoirSize": 1,
                "ServiceName": "*", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1,
                "Attributes": {}}
TARGET_INTERVAL = 10  # seconds between GetSamplingTargets calls the SDKs are told to keep


def invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message, 400)


class XRayProvider(Provider):
    service = "xray"

    def __init__(self, providers):
        super().__init__(providers)
        self.store = XRayStore(self.db)
        self._pruned = 0.0
        self._rules_created = time.time()

    # -- writing -------------------------------------------------------------------------------

    def put_trace_segments(self, ctx, params):
        accepted, unprocessed = self.ingest(ctx.account, ctx.region, params["TraceSegmentDocuments"])
        return {"UnprocessedTraceSegments": unprocessed}

    def ingest(self, account: str, region: str, documents: list) -> tuple[list[seg.Accepted], list[dict]]:
        """Check and store segment documents (committed before the answer); returns those
        accepted and X-Ray's UnprocessedTraceSegments entries for the others."""
        now = time.time()
        accepted, unprocessed = [], []
        for text in documents:
            try:
                accepted.append(seg.accept(text, now))
            except seg.Unprocessed as refused:
                unprocessed.append(refused.to_output())
        if accepted:
            self.store.put(account, region, [
                (a.trace_id, a.id, a.parent_id, a.kind, a.name, a.start, a.end, a.trace_time, now, a.text)
                for a in accepted])
            ring.record(accepted, account, region)
        if now - self._pruned > PRUNE_EVERY:
            self._pruned = now
            self.store.expire(now - seg.RETENTION)
        return accepted, unprocessed

    def ingest_daemon(self, text: str) -> None:
        """One document from the daemon's UDP port (daemon.py), filed under the account and region
        of the trace it joins (a function's invocation), else the default ones."""
        account, region = DEFAULT_ACCOUNT, DEFAULT_REGION
        try:
            trace_id = orjson.loads(text).get("trace_id")
        except (orjson.JSONDecodeError, AttributeError):
            trace_id = None
        if isinstance(trace_id, str):
            account, region = ring.owner(trace_id) or (account, region)
        _, unprocessed = self.ingest(account, region, [text])
        for refused in unprocessed:
            log.warning("X-Ray daemon port: unprocessed segment %s", refused)

    def put_telemetry_records(self, ctx, params):
        """The daemon's own counters: accepted as X-Ray accepts them; no API reads them back."""
        return {}

    # -- reading -------------------------------------------------------------------------------

    def _traces(self, account: str, region: str, trace_ids: list[str]) -> dict[str, seg.TraceData]:
        """The traces' documents: those stored for the account and region, and overcast's own
        spans of the same traces (from the ring of recent traces)."""
        found: dict[str, seg.TraceData] = {}
        for trace_id, rows in self.store.segments(account, region, trace_ids).items():
            trace = found[trace_id] = seg.TraceData(trace_id)
            for row in rows:
                trace.documents.append(orjson.loads(row[8]))
                trace.received = max(trace.received, row[7])
        if ring.enabled():
            for trace_id in trace_ids:
                own = ring.spans_of(trace_id, account, region)
                if own:
                    trace = found.setdefault(trace_id, seg.TraceData(trace_id))
                    trace.documents += own
                    trace.received = max(trace.received, max(d.get("end_time") or d["start_time"] for d in own))
        return found

    def _between(self, account: str, region: str, kind: str, start: float, end: float) -> list[str]:
        """Ids of the traces in [start, end] by TimeRangeType, stored or in the ring, latest first."""
        latest = dict(self.store.traces_between(account, region, TIME_COLUMNS[kind], start, end))
        if ring.enabled():
            for trace_id, when in ring.trace_ids(account, region, start, end):
                if kind == "TraceId" and not start <= (seg.trace_time(trace_id) or 0) <= end:
                    continue
                latest[trace_id] = max(latest.get(trace_id, when), when)
        return sorted(latest, key=latest.__getitem__, reverse=True)

    def batch_get_traces(self, ctx, params):
        ids = list(dict.fromkeys(params["TraceIds"]))
        traces = self._traces(ctx.account, ctx.region, ids)
        out, missing = [], []
        for trace_id in ids:
            trace = traces.get(trace_id)
            if trace is None or not trace.documents:
                missing.append(trace_id)
                continue
            documents = trace.assembled()
            out.append({"Id": trace_id, "Duration": round(trace.end() - trace.start(), 3), "LimitExceeded": False,
                        "Segments": [{"Id": d["id"], "Document": orjson.dumps(d).decode()} for d in documents]})
        return {"Traces": out, "UnprocessedTraceIds": missing}

    def get_trace_summaries(self, ctx, params):
        start, end = params["StartTime"].timestamp(), params["EndTime"].timestamp()
        if start > end:
            raise invalid("StartTime must be before EndTime.")
        kind = params.get("TimeRangeType") or "Event"
        matches = compile_filter(params["FilterExpression"]) if params.get("FilterExpression") else None
        offset = _offset(params.get("NextToken"))
        ids = self._between(ctx.account, ctx.region, kind, start, end)
        traces = self._traces(ctx.account, ctx.region, ids)
        summaries = []
        for trace_id in ids:
            trace = traces.get(trace_id)
            if trace is None or not trace.documents or (matches is not None and not matches(trace)):
                continue
            summaries.append(seg.summary(trace, ctx.account))
        page = summaries[offset:offset + PAGE]
        out = {"TraceSummaries": page, "ApproximateTime": end, "TracesProcessedCount": len(ids)}
        if offset + PAGE < len(summaries):
            out["NextToken"] = _token(offset + PAGE)
        return out

    def get_trace_graph(self, ctx, params):
        ids = list(dict.fromkeys(params["TraceIds"]))
        traces = self._traces(ctx.account, ctx.region, ids)
        return {"Services": seg.graph([traces[i] for i in ids if i in traces], ctx.account)}

    def get_service_graph(self, ctx, params):
        group = params.get("GroupName") or params.get("GroupARN")
        if group and group != "Default" and not group.endswith(":group/Default"):
            raise invalid("overcast has only the Default group (docs/xray.md).")
        start, end = params["StartTime"].timestamp(), params["EndTime"].timestamp()
        if start > end:
            raise invalid("StartTime must be before EndTime.")
        ids = self._between(ctx.account, ctx.region, "Event", start, end)
        traces = self._traces(ctx.account, ctx.region, ids)
        return {"StartTime": start, "EndTime": end, "ContainsOldGroupVersions": False,
                "Services": seg.graph([traces[i] for i in ids if i in traces], ctx.account)}

    # -- sampling --------------------------------------------------------------------------------

    def _default_rule(self, ctx) -> dict:
        return {**DEFAULT_RULE, "RuleARN": f"arn:aws:xray:{ctx.region}:{ctx.account}:sampling-rule/Default"}

    def get_sampling_rules(self, ctx, params):
        return {"SamplingRuleRecords": [{"SamplingRule": self._default_rule(ctx), "CreatedAt": 0.0,
                                         "ModifiedAt": self._rules_created}]}

    def get_sampling_targets(self, ctx, params):
        """Each client reporting on the Default rule gets its reservoir (one request a second) and
        the rule's fixed rate for the next interval."""
        now = time.time()
        targets, unprocessed = [], []
        for document in params["SamplingStatisticsDocuments"]:
            if document["RuleName"] != "Default":
                unprocessed.append({"RuleName": document["RuleName"], "ErrorCode": "400",
                                    "Message": f"Sampling rule {document['RuleName']} does not exist."})
                continue
            targets.append({"RuleName": "Default", "FixedRate": DEFAULT_RULE["FixedRate"],
                            "ReservoirQuota": DEFAULT_RULE["ReservoirSize"], "ReservoirQuotaTTL": now + TARGET_INTERVAL,
                            "Interval": TARGET_INTERVAL})
        return {"SamplingTargetDocuments": targets, "LastRuleModification": self._rules_created,
                "UnprocessedStatistics": unprocessed}


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except Exception:
        pass
    raise invalid("The NextToken is not valid.")
