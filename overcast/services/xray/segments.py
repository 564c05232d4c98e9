"""X-Ray segment documents: checked as PutTraceSegments checks them, and the traces they make.

A document is a segment (the work one service did for a request), an in-progress segment (sent
when the work starts, replaced by the complete one), or an independent subsegment (`"type":
"subsegment"` with the `parent_id` of the segment or subsegment it belongs to), each as JSON text
of at most 64 kB. Subsegments may also be nested in their segment's `subsegments`.

A trace here is a list of documents: those stored, and overcast's own spans of the same trace
rendered as segments (`span_document`). Summaries, the trace graph and the filter expressions
(filters.py) read that list.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import orjson

MAX_DOCUMENT = 64 * 1024  # bytes of one segment document
RETENTION = 30 * 24 * 3600  # X-Ray keeps trace data 30 days
NAME_LENGTH = 200
# Unicode letters, numbers and whitespace, and _ . : / % & # = + \ - @ (AWS's segment name rules)
_NAME = re.compile(r"^[\w\s.:/%&#=+\\\-@]+$")
_ID = re.compile(r"^[0-9a-f]{16}$")
_TRACE_ID = re.compile(r"^1-([0-9a-f]{8})-[0-9a-f]{24}$")

# Where each of overcast's services appears in X-Ray (a segment's `origin`, a node's type).
ORIGINS = {
    "lambda": "AWS::Lambda::Function", "dynamodb": "AWS::DynamoDB::Table", "sqs": "AWS::SQS::Queue",
    "sns": "AWS::SNS::Topic", "s3": "AWS::S3::Bucket", "kinesis": "AWS::Kinesis::Stream",
    "apigateway": "AWS::ApiGateway::Stage", "apigatewayv2": "AWS::ApiGateway::Stage",
    "stepfunctions": "AWS::StepFunctions::StateMachine", "events": "AWS::Events::EventBus",
    "firehose": "AWS::Firehose::DeliveryStream", "appsync": "AWS::AppSync::GraphQLAPI",
}


class Unprocessed(Exception):
    """A document PutTraceSegments does not accept: its id (when it has one) and X-Ray's code."""

    def __init__(self, code: str, segment_id: str | None, subsegment: bool):
        self.code = code
        self.segment_id = segment_id
        self.message = (f"Invalid subsegment. ErrorCode: {code}, Cause: null" if subsegment
                        else f"Invalid segment. ErrorCode: {code}")
        super().__init__(self.message)

    def to_output(self) -> dict:
        out = {"ErrorCode": self.code, "Message": self.message}
        if self.segment_id:
            out["Id"] = self.segment_id
        return out


@dataclass(slots=True)
class Accepted:
    """A valid document: its row for the store, and the document itself."""

    trace_id: str
    id: str
    parent_id: str | None
    kind: str  # "segment" or "subsegment" (independent)
    name: str
    start: float
    end: float | None  # None: in progress
    trace_time: float  # the trace's start, from its id
    document: dict
    text: str


def trace_time(trace_id: str) -> float | None:
    """The epoch second an X-Ray trace id carries (1-{8 hex}-{24 hex}), or None."""
    match = _TRACE_ID.match(trace_id) if isinstance(trace_id, str) else None
    return float(int(match.group(1), 16)) if match else None


def accept(text, now: float | None = None) -> Accepted:
    """Check one document as X-Ray does; raises Unprocessed with X-Ray's error code."""
    now = time.time() if now is None else now
    if not isinstance(text, str):
        raise Unprocessed("MissingId", None, False)
    if len(text.encode()) > MAX_DOCUMENT:
        raise Unprocessed("SegmentTooLarge", _peek_id(text), False)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Unprocessed("MalformedJson", None, False) from None
    if not isinstance(doc, dict):  # `[]` is refused for its missing id
        raise Unprocessed("MissingId", None, False)
    subsegment = doc.get("type") == "subsegment"
    segment_id = doc.get("id")

    def fail(code: str, nested: bool = False):
        raise Unprocessed(code, segment_id if isinstance(segment_id, str) else None, subsegment or nested)

    _check_common(doc, fail)
    trace_id = doc.get("trace_id")
    if trace_id is None:
        fail("MissingTraceId")
    started = trace_time(trace_id)
    if started is None or started < now - RETENTION:
        fail("InvalidTraceId")
    parent_id = doc.get("parent_id")
    if subsegment and parent_id is None:
        fail("MissingParentId")
    if parent_id is not None and (not isinstance(parent_id, str) or not _ID.match(parent_id)):
        fail("InvalidParentId")
    _check_nested(doc.get("subsegments"), fail)
    end = None if doc.get("end_time") is None else float(doc["end_time"])
    return Accepted(trace_id, segment_id, parent_id, "subsegment" if subsegment else "segment", doc["name"],
                    float(doc["start_time"]), end, started, doc, text)


def _check_common(doc: dict, fail) -> None:
    """What every segment and subsegment needs: id, name, start_time, and end_time or in_progress."""
    segment_id = doc.get("id")
    if segment_id is None:
        fail("MissingId")
    if not isinstance(segment_id, str) or not _ID.match(segment_id):
        fail("InvalidId")
    name = doc.get("name")
    if name is None or name == "":
        fail("MissingName")
    if not isinstance(name, str) or len(name) > NAME_LENGTH or not _NAME.match(name):
        fail("InvalidName")
    if "start_time" not in doc:
        fail("MissingStartTime")
    if not _number(doc["start_time"]):
        fail("InvalidStartTime")
    end = doc.get("end_time")
    if end is None:
        if doc.get("in_progress") is not True:
            fail("MissingEndTime")
    elif not _number(end):
        fail("InvalidEndTime")


def _check_nested(subsegments, fail, depth: int = 0) -> None:
    if subsegments is None:
        return
    if not isinstance(subsegments, list) or depth > 32:
        fail("InvalidSubsegments", True)
    for sub in subsegments:
        if not isinstance(sub, dict):
            fail("MissingId", True)
        _check_common(sub, lambda code: fail(code, True))
        _check_nested(sub.get("subsegments"), fail, depth + 1)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _peek_id(text: str) -> str | None:
    match = re.search(r'"id"\s*:\s*"([0-9a-f]{16})"', text[:4096])
    return match.group(1) if match else None


# -- the parts of a document ------------------------------------------------------------------------

def walk(doc: dict, parent_id: str | None = None, depth: int = 0):
    """(subsegment dict, its parent's id) for every subsegment nested in `doc`, depth first."""
    if depth > 32:
        return
    for sub in doc.get("subsegments") or ():
        if isinstance(sub, dict):
            yield sub, doc.get("id") if parent_id is None else parent_id
            yield from walk(sub, sub.get("id"), depth + 1)


def status_of(doc: dict) -> int | None:
    http = doc.get("http")
    if isinstance(http, dict):
        response = http.get("response")
        if isinstance(response, dict) and _number(response.get("status")):
            return int(response["status"])
    return None


def flags(doc: dict) -> tuple[bool, bool, bool]:
    """(error, fault, throttle) of a segment: its own flags, else its HTTP status."""
    status = status_of(doc)
    error = doc.get("error") is True or (status is not None and 400 <= status < 500)
    fault = doc.get("fault") is True or (status is not None and status >= 500)
    throttle = doc.get("throttle") is True or status == 429
    return error, fault, throttle


def origin_of(doc: dict) -> str | None:
    origin = doc.get("origin")
    return origin if isinstance(origin, str) else None


def account_of(doc: dict) -> str | None:
    aws = doc.get("aws")
    if isinstance(aws, dict) and isinstance(aws.get("account_id"), str):
        return aws["account_id"]
    return None


# -- overcast's own spans as segments ---------------------------------------------------------------

def span_document(span: dict, display: str) -> dict:
    """A span of overcast's trace ring (TRACE_CONTRACT.md's JSON) as an X-Ray segment document:
    named after the service (a function's spans after the function, as Lambda's segments are),
    its operation, region, account and resource under `aws`, its HTTP status and error."""
    service = span.get("service") or ""
    resource = span.get("resource")
    name = display
    if service == "lambda" and isinstance(resource, str) and ":function:" in resource:
        name = resource.split(":function:", 1)[1].split(":", 1)[0]
    doc = {"id": span["spanId"], "trace_id": span["traceId"], "name": name, "start_time": span["start"],
           "origin": ORIGINS.get(service, f"AWS::{display}")}
    if span.get("parentId"):
        doc["parent_id"] = span["parentId"]
    if span.get("end") is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = span["end"]
    aws = {"operation": span.get("operation") or span.get("name"), "region": span.get("region") or None,
           "account_id": span.get("account") or None}
    doc["aws"] = {k: v for k, v in aws.items() if v}
    if resource:
        doc["resource_arn"] = resource
    attributes = span.get("attributes") or {}
    status = attributes.get("httpStatus")
    if isinstance(status, int):
        doc["http"] = {"response": {"status": status}}
        if status == 429:
            doc["throttle"] = True
        if 400 <= status < 500:
            doc["error"] = True
        elif status >= 500:
            doc["fault"] = True
    elif span.get("status") == "error":
        doc["fault"] = True
    if span.get("error"):
        doc["cause"] = {"exceptions": [{"message": span["error"]}]}
    doc["metadata"] = {"overcast": {"kind": span.get("kind"), "span": span.get("name")}}
    return doc


# -- a trace ----------------------------------------------------------------------------------------

@dataclass
class TraceData:
    """One trace's documents (segments and independent subsegments, stored or rendered)."""

    trace_id: str
    documents: list[dict] = field(default_factory=list)
    received: float = 0.0  # when its latest document arrived

    def segments(self) -> list[dict]:
        return [d for d in self.documents if d.get("type") != "subsegment"]

    def root(self) -> dict | None:
        """The entry point: the earliest segment whose parent is not in this trace."""
        ids = set()
        for doc in self.documents:
            ids.add(doc.get("id"))
            for sub, _ in walk(doc):
                ids.add(sub.get("id"))
        roots = [d for d in self.segments() if d.get("parent_id") not in ids]
        return min(roots, key=_start) if roots else None

    def start(self) -> float:
        return min((_start(d) for d in self.documents), default=0.0)

    def end(self) -> float:
        return max((d.get("end_time") or _start(d) for d in self.documents), default=0.0)

    def partial(self) -> bool:
        return any(d.get("in_progress") is True for d in self.documents)

    def owner_of(self) -> dict[str, dict]:
        """{id of every segment and subsegment: the segment (not subsegment) it belongs to}."""
        owner: dict[str, dict] = {}
        for seg in self.segments():
            owner[seg["id"]] = seg
            for sub, _ in walk(seg):
                owner[sub.get("id")] = seg
        pending = [d for d in self.documents if d.get("type") == "subsegment"]
        for _ in range(len(pending) + 1):  # independent subsegments belong to their parent's segment
            rest = []
            for sub in pending:
                seg = owner.get(sub.get("parent_id"))
                if seg is None:
                    rest.append(sub)
                    continue
                owner[sub["id"]] = seg
                for inner, _ in walk(sub):
                    owner[inner.get("id")] = seg
            if len(rest) == len(pending):
                break
            pending = rest
        return owner

    def assembled(self) -> list[dict]:
        """The trace as BatchGetTraces returns it: segments, with each independent subsegment put
        in its parent's `subsegments` (one whose parent never arrived stays on its own)."""
        segments = [orjson.loads(orjson.dumps(d)) for d in self.documents if d.get("type") != "subsegment"]
        orphans = [orjson.loads(orjson.dumps(d)) for d in self.documents if d.get("type") == "subsegment"]
        index: dict[str, dict] = {}
        for seg in segments:
            index[seg["id"]] = seg
            for sub, _ in walk(seg):
                index[sub.get("id")] = sub
        for _ in range(len(orphans) + 1):
            rest = []
            for sub in orphans:
                parent = index.get(sub.get("parent_id"))
                if parent is None:
                    rest.append(sub)
                    continue
                for key in ("type", "trace_id", "parent_id"):
                    sub.pop(key, None)
                parent.setdefault("subsegments", []).append(sub)
                index[sub["id"]] = sub
                for inner, _ in walk(sub):
                    index[inner.get("id")] = inner
            if len(rest) == len(orphans):
                break
            orphans = rest
        for seg in segments + orphans:
            _order(seg)
        return segments + orphans


def _start(doc: dict) -> float:
    value = doc.get("start_time")
    return float(value) if _number(value) else 0.0


def _order(doc: dict, depth: int = 0) -> None:
    subs = doc.get("subsegments")
    if isinstance(subs, list) and depth < 32:
        subs.sort(key=_start)
        for sub in subs:
            if isinstance(sub, dict):
                _order(sub, depth + 1)


def service_id(doc: dict, account: str) -> dict:
    out = {"Name": doc.get("name"), "Names": [doc.get("name")], "AccountId": account_of(doc) or account}
    origin = origin_of(doc)
    if origin:
        out["Type"] = origin
    return out


def summary(trace: TraceData, account: str) -> dict:
    """GetTraceSummaries' TraceSummary of a trace."""
    root = trace.root() or (trace.segments() or trace.documents)[0]
    error, fault, _ = flags(root)
    throttle = any(flags(d)[2] for d in trace.segments())
    start = trace.start()
    out = {"Id": trace.trace_id, "StartTime": start, "Duration": round(trace.end() - start, 3),
           "HasFault": fault, "HasError": error, "HasThrottle": throttle, "IsPartial": trace.partial(),
           "Revision": len(trace.documents), "MatchedEventTime": trace.received or trace.end()}
    if root.get("end_time") is not None:
        out["ResponseTime"] = round(float(root["end_time"]) - _start(root), 3)
    http = root.get("http") if isinstance(root.get("http"), dict) else {}
    request = http.get("request") if isinstance(http.get("request"), dict) else {}
    summary_http = {"HttpURL": request.get("url"), "HttpStatus": status_of(root), "HttpMethod": request.get("method"),
                    "UserAgent": request.get("user_agent"), "ClientIp": request.get("client_ip")}
    summary_http = {k: v for k, v in summary_http.items() if v is not None}
    if summary_http:
        out["Http"] = summary_http
    owner = trace.owner_of()
    services, annotations, users, arns = [], {}, {}, []
    for seg in trace.segments():
        sid = service_id(seg, account)
        if sid not in services:
            services.append(sid)
    for doc in _every(trace):
        seg = owner.get(doc.get("id"), doc)
        sid = service_id(seg, account)
        for key, value in (doc.get("annotations") or {}).items() if isinstance(doc.get("annotations"), dict) else ():
            entry = {"AnnotationValue": _annotation_value(value), "ServiceIds": [sid]}
            annotations.setdefault(key, [])
            if entry not in annotations[key]:
                annotations[key].append(entry)
        user = doc.get("user")
        if isinstance(user, str) and user:
            users.setdefault(user, [])
            if sid not in users[user]:
                users[user].append(sid)
        arn = doc.get("resource_arn")
        if isinstance(arn, str) and arn and {"ARN": arn} not in arns:
            arns.append({"ARN": arn})
    out["ServiceIds"] = services
    out["EntryPoint"] = service_id(root, account)
    out["Annotations"] = annotations
    out["Users"] = [{"UserName": name, "ServiceIds": ids} for name, ids in users.items()]
    out["ResourceARNs"] = arns
    return out


def _every(trace: TraceData):
    for doc in trace.documents:
        yield doc
        for sub, _ in walk(doc):
            yield sub


def _annotation_value(value) -> dict:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if _number(value):
        return {"NumberValue": float(value)}
    return {"StringValue": str(value)}


# -- the graph of services --------------------------------------------------------------------------

def graph(traces: list[TraceData], account: str) -> list[dict]:
    """GetTraceGraph / GetServiceGraph: a node per service (name, type, account), with the
    statistics of its segments and an edge to every service it called (a segment whose parent is
    in the caller's segment)."""
    nodes: dict[tuple, dict] = {}
    edges: dict[tuple, dict] = {}

    def node_for(seg: dict) -> dict:
        key = (seg.get("name"), origin_of(seg), account_of(seg) or account)
        node = nodes.get(key)
        if node is None:
            node = nodes[key] = {"ReferenceId": len(nodes), "Name": key[0], "Names": [key[0]], "Root": False,
                                 "AccountId": key[2], "State": "active", "StartTime": _start(seg),
                                 "EndTime": seg.get("end_time") or _start(seg), "Edges": [],
                                 "SummaryStatistics": _stats(), "DurationHistogram": [], "ResponseTimeHistogram": []}
            if key[1]:
                node["Type"] = key[1]
        node["StartTime"] = min(node["StartTime"], _start(seg))
        node["EndTime"] = max(node["EndTime"], seg.get("end_time") or _start(seg))
        return node

    for trace in traces:
        owner = trace.owner_of()
        root = trace.root()
        for seg in trace.segments():
            node = node_for(seg)
            if seg is root:
                node["Root"] = True
            took = (seg["end_time"] - _start(seg)) if seg.get("end_time") is not None else None
            _count(node["SummaryStatistics"], seg, took)
            if took is not None:
                _histogram(node["ResponseTimeHistogram"], took)
                _histogram(node["DurationHistogram"], took)
            caller = owner.get(seg.get("parent_id"))
            if caller is not None and caller is not seg:
                source = node_for(caller)
                key = (source["ReferenceId"], node["ReferenceId"])
                edge = edges.get(key)
                if edge is None:
                    edge = edges[key] = {"ReferenceId": node["ReferenceId"], "StartTime": _start(seg),
                                         "EndTime": seg.get("end_time") or _start(seg), "SummaryStatistics": _stats(),
                                         "ResponseTimeHistogram": [], "Aliases": []}
                    source["Edges"].append(edge)
                edge["StartTime"] = min(edge["StartTime"], _start(seg))
                edge["EndTime"] = max(edge["EndTime"], seg.get("end_time") or _start(seg))
                _count(edge["SummaryStatistics"], seg, took)
                if took is not None:
                    _histogram(edge["ResponseTimeHistogram"], took)
    return list(nodes.values())


def _stats() -> dict:
    return {"OkCount": 0, "ErrorStatistics": {"ThrottleCount": 0, "OtherCount": 0, "TotalCount": 0},
            "FaultStatistics": {"OtherCount": 0, "TotalCount": 0}, "TotalCount": 0, "TotalResponseTime": 0.0}


def _count(stats: dict, seg: dict, took: float | None) -> None:
    error, fault, throttle = flags(seg)
    stats["TotalCount"] += 1
    if took is not None:
        stats["TotalResponseTime"] = round(stats["TotalResponseTime"] + took, 6)
    if fault:
        stats["FaultStatistics"]["OtherCount"] += 1
        stats["FaultStatistics"]["TotalCount"] += 1
    elif error:
        stats["ErrorStatistics"]["ThrottleCount" if throttle else "OtherCount"] += 1
        stats["ErrorStatistics"]["TotalCount"] += 1
    else:
        stats["OkCount"] += 1


def _histogram(histogram: list[dict], seconds: float) -> None:
    value = round(seconds, 3)
    for entry in histogram:
        if entry["Value"] == value:
            entry["Count"] += 1
            return
    histogram.append({"Value": value, "Count": 1})
