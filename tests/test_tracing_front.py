"""The front door's span in C (overcast/tracing/_front.c) and in Python (overcast.tracing.open_api and
close_api, used alone when the C part is not built or OVERCAST_TRACE_PURE=1) record the same spans
(docs/tracing.md, "Cost")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

import httpx
import pytest
from conftest import OvercastProcess, make_client

# Each case opens and closes a request's span in a context of its own (as server.py serves each
# request in a task of its own) and prints what the span records, the ring and the subscriber saw.
SCRIPT = r"""
import contextvars, json
from overcast import tracing

recorder = tracing.RECORDER
recorder.configure(True, max_traces=5, payload_bytes=8)
seen = []
recorder.subscribe(lambda span: seen.append(span.operation))

def serve(header, body, status, answer, own_task=True, operation="GetItem", fail=None):
    def request():
        span = tracing.open_api(header, "dynamodb", "111111111111", "eu-west-1", body, own_task)
        current = tracing.current() is span
        span.operation = operation
        span._hint = "orders"
        if fail is not None:
            span.fail(fail)
        tracing.close_api(span, status, answer, own_task)
        after = tracing.current() is span
        return span, current, after
    span, current, after = contextvars.copy_context().run(request)
    record = span.to_json()
    assert record["durationMs"] >= 0 and record["end"] >= record["start"], record
    for key in ("traceId", "spanId", "start", "end", "durationMs"):
        record.pop(key)
    return {"span": record, "current": current, "current after": after, "class": type(span).__name__,
            "parent": span.parent_id}

root = "1-5f000000-0123456789abcdef01234567"
out = {
    "usual": serve(None, b'{"Key":1}', 200, b'{"Item":{}}'),
    "empty body, none answered": serve(None, b"", 200, None),
    "error": serve(None, b"{}", 400, b'{"__type":"ValidationException"}'),
    "failed first": serve(None, b"{}", 400, b"{}", fail="ResourceNotFoundException: no table"),
    "text payloads": serve(None, "caf\u00e9 au lait", 200, "ok"),
    "binary payloads": serve(None, b"\x00\x01\x02", 200, b"\xff\xfe"),
    "with a trace header": serve(f"Root={root};Parent=0123456789abcdef;Sampled=1", b"{}", 200, b"{}"),
    "not sampled": serve("Root=1-5f000000-00000000000000000000dead;Sampled=0", b"{}", 200, b"{}"),
    "an empty header": serve("", b"{}", 200, b"{}"),
    "in-process call": serve(None, b"{}", 200, b"{}", own_task=False),
}
for n in range(12):
    serve(None, b"{}", 200, b"{}", operation=f"Op{n}")
out["ring"] = [summary["root"]["operation"] for summary in recorder.traces(limit=50)]
out["subscriber saw"] = seen
recorder.enabled = False
out["off"] = tracing.open_api(None, "sqs", "1", "r", b"x", True) is None
print(json.dumps({"front": type(tracing.open_api).__name__, "recorded": out}))
"""


def run(pure: bool) -> dict:
    env = {**os.environ, "OVERCAST_TRACE_PURE": "1" if pure else "0"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def has_compiler() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler) is not None


def test_the_front_door_is_built_in_c_where_a_compiler_is():
    if not has_compiler():
        pytest.skip("no C compiler: overcast.tracing runs in Python alone")
    from overcast import tracing

    if os.environ.get("OVERCAST_TRACE_PURE") == "1":
        assert tracing._front is None
    else:
        assert tracing._front is not None, "pip install built no overcast/tracing/_front.c"
        assert tracing.open_api is tracing._front.open_api


def test_c_and_python_record_the_same_spans():
    python = run(pure=True)
    assert python["front"] == "function"
    if has_compiler():
        c = run(pure=False)
        assert c["front"] == "builtin_function_or_method"
        assert c["recorded"] == python["recorded"]
    recorded = python["recorded"]
    usual = recorded["usual"]
    assert usual["span"] | {"attributes": None} == {
        "parentId": None, "name": "DynamoDB.GetItem", "kind": "api", "service": "dynamodb",
        "operation": "GetItem", "resource": "arn:aws:dynamodb:eu-west-1:111111111111:table/orders",
        "account": "111111111111", "region": "eu-west-1", "status": "ok", "error": None,
        "request": '{"Key":1 [truncated: 9 bytes]', "response": '{"Item": [truncated: 11 bytes]',
        "truncated": True, "attributes": None}
    assert usual["span"]["attributes"] == {"httpStatus": 200}
    assert usual["current"] and usual["current after"]  # (own task: the span stays current, the task ends)
    assert recorded["empty body, none answered"]["span"]["request"] is None
    assert recorded["empty body, none answered"]["span"]["response"] is None
    assert recorded["error"]["span"]["status"] == "error"
    assert recorded["error"]["span"]["error"] == "HTTP 400"
    assert recorded["failed first"]["span"]["error"] == "ResourceNotFoundException: no table"
    assert recorded["text payloads"]["span"]["request"] == "café au  [truncated: 12 bytes]"  # (a str is cut by characters)
    assert recorded["binary payloads"]["span"]["request"] == "[base64] AAEC"
    assert recorded["with a trace header"]["parent"] == "0123456789abcdef"
    assert recorded["an empty header"]["parent"] is None
    assert recorded["in-process call"]["current"] and not recorded["in-process call"]["current after"]
    # a ring of 5 traces: the newest first; the Sampled=0 request was not recorded, nor seen
    assert recorded["ring"] == ["Op11", "Op10", "Op9", "Op8", "Op7"]
    assert recorded["subscriber saw"] == ["GetItem"] * 9 + [f"Op{n}" for n in range(12)]
    assert recorded["off"] is True


def test_a_server_with_the_python_front_door_records_requests():
    server = OvercastProcess(env={"OVERCAST_TRACE_PURE": "1"})
    try:
        sqs = make_client(server.endpoint, "sqs")
        url = sqs.create_queue(QueueName="pure-front")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        traces = httpx.get(f"{server.endpoint}/_overcast/traces", params={"service": "sqs"}, timeout=10).json()
        operations = [trace["root"]["operation"] for trace in traces["traces"]]
        assert operations[:2] == ["SendMessage", "CreateQueue"]
    finally:
        server.stop()


LEAK_SCRIPT = r"""
import contextvars, gc, json, weakref
from overcast import tracing

recorder = tracing.RECORDER
recorder.configure(True, max_traces=3)

def request(with_hop):
    span = tracing.open_api(None, "sqs", "1", "r", b"{}", True)
    alone = gc.is_tracked(span)
    if with_hop:
        with tracing.hop("lambda", "Invocation"):
            pass
    tracing.close_api(span, 200, b"{}", True)
    return weakref.ref(span), alone, gc.is_tracked(span)

lone, lone_tracked, _ = contextvars.copy_context().run(request, False)
held, held_tracked_alone, held_tracked = contextvars.copy_context().run(request, True)
for _ in range(10):  # both traces leave the ring
    contextvars.copy_context().run(request, False)
gc.collect()
print(json.dumps({"front": type(tracing.open_api).__name__, "lone tracked": lone_tracked,
                  "holder tracked alone": held_tracked_alone, "holder tracked": held_tracked,
                  "lone freed": lone() is None, "holder freed": held() is None}))
"""


@pytest.mark.parametrize("pure", [False, True], ids=["c", "python"])
def test_a_trace_that_left_the_ring_is_freed(pure):
    """The front door's span is untracked by the cyclic collector while it is alone (C only) and
    tracked again once its trace has other spans (which refer back to it): either way it is freed
    when its trace leaves the ring, a trace with a hop (a reference cycle) included."""
    if not pure and not has_compiler():
        pytest.skip("no C compiler")
    env = {**os.environ, "OVERCAST_TRACE_PURE": "1" if pure else "0"}
    result = subprocess.run([sys.executable, "-c", LEAK_SCRIPT], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["lone freed"] and found["holder freed"], found
    assert found["holder tracked"]  # (its hop refers back to it: a cycle the collector must see)
    assert found["lone tracked"] is pure and found["holder tracked alone"] is pure
