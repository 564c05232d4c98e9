"""AppSync's CloudWatch Logs (logConfig): request-level events (GraphQL Query, ExecutionSummary,
RequestSummary, headers) and field-level events by fieldLogLevel (RequestMapping/ResponseMapping,
Tracing, APPSYNC_JS console lines) in /aws/appsync/apis/{apiId}, each with the request id."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from appsync_support import create_api, query

SCHEMA = """
type Query { hello(name: String): String boom: String js(name: String): String pipe: String post: Post
  vtlLog(name: String): String vtlFail: String }
type Post { id: ID! title: String }
"""
ROLE = "arn:aws:iam::000000000000:role/appsync-logs"
JS = {"name": "APPSYNC_JS", "runtimeVersion": "1.0.0"}
JS_CODE = """import { util } from '@aws-appsync/utils';
export function request(ctx) {
  console.debug('debug line'); console.info('info line'); console.log('log', { n: 1 }); console.error('error line');
  return { payload: 'js ' + ctx.args.name };
}
export function response(ctx) { return ctx.result; }
"""


def _setup(appsync, log_config: dict | None) -> tuple[str, str]:
    extra = {"logConfig": log_config} if log_config is not None else {}
    api_id, key = create_api(appsync, f"logs-{uuid.uuid4().hex[:8]}", SCHEMA, **extra)
    appsync.create_data_source(apiId=api_id, name="none", type="NONE")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="hello", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": "hello $ctx.args.name"}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="boom", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": null}',
                            responseMappingTemplate='$util.error("it broke", "Boom")')
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="post", dataSourceName="none",
                            requestMappingTemplate='{"version": "2018-05-29", "payload": {"id": "p1", "title": "T"}}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="js", dataSourceName="none", runtime=JS,
                            code=JS_CODE)
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="vtlLog", dataSourceName="none",
                            requestMappingTemplate='$util.log.info("asked for {} with {}", $ctx.args.name, $ctx.args)'
                                                   '$util.log.error("an error line")'
                                                   '{"version": "2018-05-29", "payload": "ok"}',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    fn = appsync.create_function(apiId=api_id, name="stepOne", dataSourceName="none", functionVersion="2018-05-29",
                                 requestMappingTemplate='{"version": "2018-05-29", "payload": "piped"}',
                                 responseMappingTemplate="$util.toJson($ctx.result)")["functionConfiguration"]
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="pipe", kind="PIPELINE",
                            pipelineConfig={"functions": [fn["functionId"]]}, requestMappingTemplate="{}",
                            responseMappingTemplate="$util.toJson($ctx.prev.result)")
    appsync.create_resolver(apiId=api_id, typeName="Query", fieldName="vtlFail", dataSourceName="none",
                            requestMappingTemplate='$util.log.error("about to fail")$util.error("failed", "Fail")',
                            responseMappingTemplate="$util.toJson($ctx.result)")
    return api_id, key


def _events(logs, api_id: str, request_id: str | None = None, expect: bool = True) -> list[str]:
    group = f"/aws/appsync/apis/{api_id}"
    for _ in range(40):
        found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        if found:
            events = logs.filter_log_events(logGroupName=group)["events"]
            messages = [e["message"] for e in events]
            if request_id is not None:
                messages = [m for m in messages if request_id in m]
            if messages or not expect:
                return messages
        elif not expect:
            return []
        time.sleep(0.05)
    raise AssertionError(f"no log events in {group}")


def _json_events(messages: list[str]) -> list[dict]:
    return [json.loads(m) for m in messages if m.startswith("{")]


def _lines(messages: list[str]) -> list[str]:
    """The text lines (not JSON), without their leading request id."""
    return [m.split(" ", 1)[1] for m in messages if not m.startswith("{")]


def _of(events: list[dict], log_type: str) -> list[dict]:
    return [e for e in events if e.get("logType") == log_type]


def _gql(endpoint, api_id, key, text):
    answer = query(endpoint, api_id, key, text)
    return answer, answer.headers["x-amzn-RequestId"]


@pytest.fixture(scope="module")
def apis(client):
    appsync = client("appsync")
    return {level: _setup(appsync, {"fieldLogLevel": level, "cloudWatchLogsRoleArn": ROLE})
            for level in ("ALL", "ERROR", "NONE", "INFO", "DEBUG")}


def test_answer_carries_a_request_id(client, endpoint):
    api_id, key = _setup(client("appsync"), None)
    answer = query(endpoint, api_id, key, "{ hello(name: \"x\") }")
    assert answer.status_code == 200
    assert len(answer.headers["x-amzn-RequestId"]) == 36


def test_api_without_log_config_writes_nothing(client, endpoint):
    api_id, key = _setup(client("appsync"), None)
    assert query(endpoint, api_id, key, "{ hello(name: \"x\") boom }").status_code == 200
    time.sleep(0.2)
    logs = client("logs")
    assert logs.describe_log_groups(logGroupNamePrefix=f"/aws/appsync/apis/{api_id}")["logGroups"] == []


def test_request_level_events(apis, client, endpoint):
    api_id, key = apis["NONE"]
    answer, request_id = _gql(endpoint, api_id, key, "query Greet { hello(name: \"you\") }")
    assert answer.json() == {"data": {"hello": "hello you"}}
    messages = _events(client("logs"), api_id, request_id)
    assert any(m.startswith(f"{request_id} GraphQL Query: query Greet {{ hello(name: \"you\") }}, Operation: null, "
                            "Variables: {}") for m in messages)
    assert any(m.startswith(f"{request_id} Request Headers: {{") and "x-api-key" not in m for m in messages)
    assert any(m.startswith(f"{request_id} Response Headers: {{") and f"x-amzn-RequestId={request_id}" in m
               for m in messages)
    events = _json_events(messages)
    summary, = _of(events, "RequestSummary")
    assert summary["requestId"] == request_id and summary["graphQLAPIId"] == api_id
    assert summary["statusCode"] == 200 and summary["latency"] > 0
    execution, = _of(events, "ExecutionSummary")
    assert execution["requestId"] == request_id and execution["version"] == 1
    assert set(execution["parsing"]) == {"startOffset", "duration"}
    assert set(execution["validation"]) == {"startOffset", "duration"}
    assert execution["startTime"].endswith("Z") and execution["duration"] > 0
    # NONE: no field-level logs
    assert not [e for e in events if e["logType"] in ("RequestMapping", "ResponseMapping", "Tracing")]
    group = client("logs").describe_log_streams(logGroupName=f"/aws/appsync/apis/{api_id}")["logStreams"]
    assert len(group) == 1


def test_refused_request_is_summarised_with_its_status(apis, client, endpoint):
    api_id, _ = apis["NONE"]
    answer, request_id = _gql(endpoint, api_id, "da2-wrong", "{ hello }")
    assert answer.status_code == 401
    messages = _events(client("logs"), api_id, request_id)
    summary, = _of(_json_events(messages), "RequestSummary")
    assert summary["statusCode"] == 401
    assert any("x-amzn-ErrorType=UnauthorizedException" in m for m in messages)


def test_all_writes_mapping_templates_and_tracing(apis, client, endpoint):
    api_id, key = apis["ALL"]
    answer, request_id = _gql(endpoint, api_id, key, "{ hello(name: \"you\") post { id title } }")
    assert answer.json()["data"]["post"] == {"id": "p1", "title": "T"}
    events = _json_events(_events(client("logs"), api_id, request_id))
    assert all(e["requestId"] == request_id for e in events)
    request_mapping = [e for e in _of(events, "RequestMapping") if e["fieldName"] == "hello"]
    assert len(request_mapping) == 1
    entry = request_mapping[0]
    assert entry["path"] == ["hello"] and entry["parentType"] == "Query" and entry["fieldInError"] is False
    assert entry["resolverArn"].endswith(f"apis/{api_id}/types/Query/resolvers/hello")
    assert json.loads(entry["transformedTemplate"]) == {"version": "2018-05-29", "payload": "hello you"}
    assert entry["context"]["arguments"] == {"name": "you"}
    response_mapping = [e for e in _of(events, "ResponseMapping") if e["fieldName"] == "hello"][0]
    assert response_mapping["transformedTemplate"] == '"hello you"'
    assert response_mapping["context"]["result"] == "hello you"
    traces = {tuple(e["path"]): e for e in _of(events, "Tracing")}
    assert set(traces) == {("hello",), ("post",), ("post", "id"), ("post", "title")}
    assert traces[("post", "id")]["parentType"] == "Post" and traces[("post", "id")]["returnType"] == "ID!"
    assert traces[("post",)]["returnType"] == "Post" and traces[("post",)]["fieldName"] == "post"
    assert all(t["duration"] >= 0 and t["startOffset"] > 0 for t in traces.values())
    execution, = _of(events, "ExecutionSummary")  # written once the operation ran: its duration spans the fields'
    assert all(t["startOffset"] + t["duration"] <= execution["duration"] for t in traces.values())
    assert execution["parsing"]["startOffset"] <= execution["validation"]["startOffset"] < min(
        t["startOffset"] for t in traces.values())


def test_pipeline_entries_name_the_function(apis, client, endpoint):
    api_id, key = apis["ALL"]
    answer, request_id = _gql(endpoint, api_id, key, "{ pipe }")
    assert answer.json() == {"data": {"pipe": "piped"}}
    events = _json_events(_events(client("logs"), api_id, request_id))
    assert [e["logType"] for e in events if e["logType"] not in ("Tracing", "ExecutionSummary", "RequestSummary")] == [
        "BeforeMapping", "RequestMapping", "ResponseMapping", "AfterMapping"]
    function_entry, = _of(events, "RequestMapping")
    assert function_entry["functionName"] == "stepOne" and f"apis/{api_id}/functions/" in function_entry["functionArn"]


def test_error_level_writes_only_fields_in_error(apis, client, endpoint):
    api_id, key = apis["ERROR"]
    answer, request_id = _gql(endpoint, api_id, key, "{ hello(name: \"you\") boom js(name: \"a\") }")
    body = answer.json()
    assert body["data"]["hello"] == "hello you" and body["errors"][0]["message"] == "it broke"
    messages = _events(client("logs"), api_id, request_id)
    events = _json_events(messages)
    fields = [e for e in events if e["logType"] not in ("ExecutionSummary", "RequestSummary")]
    assert {e["fieldName"] for e in fields} == {"boom"}
    assert {e["logType"] for e in fields} == {"RequestMapping"}  # the response template raised the error
    assert all(e["fieldInError"] is True and e["errors"] == ["it broke"] for e in fields)
    assert not _of(events, "Tracing")
    console = [t for t in _lines(messages) if not t.startswith(("GraphQL", "Request", "Response"))]
    assert console == ["ERROR - error line"]


@pytest.mark.parametrize("level, expected", [
    ("INFO", ["INFO - info line", 'INFO - log {"n":1}', "ERROR - error line"]),
    ("DEBUG", ["DEBUG - debug line", "INFO - info line", 'INFO - log {"n":1}', "ERROR - error line"]),
    ("ALL", ["DEBUG - debug line", "INFO - info line", 'INFO - log {"n":1}', "ERROR - error line"]),
])
def test_js_console_lines_by_level(apis, client, endpoint, level, expected):
    api_id, key = apis[level]
    answer, request_id = _gql(endpoint, api_id, key, "{ js(name: \"a\") }")
    assert answer.json() == {"data": {"js": "js a"}}
    messages = _events(client("logs"), api_id, request_id)
    texts = _lines(messages)
    assert [t for t in texts if t.split(" - ", 1)[0] in ("DEBUG", "INFO", "ERROR", "WARN")] == expected
    evaluations = _of(_json_events(messages), "RequestFunctionEvaluation")
    if level == "ALL":
        assert evaluations[0]["evaluationResult"] == {"payload": "js a"}
    else:  # below ALL: mapping entries only for fields in error
        assert evaluations == []


def test_exclude_verbose_content_drops_headers_context_and_templates(client, endpoint):
    appsync = client("appsync")
    api_id, key = _setup(appsync, {"fieldLogLevel": "ALL", "cloudWatchLogsRoleArn": ROLE, "excludeVerboseContent": True})
    answer, request_id = _gql(endpoint, api_id, key, "{ hello(name: \"you\") }")
    assert answer.status_code == 200
    messages = _events(client("logs"), api_id, request_id)
    assert not any(" Request Headers: " in m or " Response Headers: " in m for m in messages)
    assert any(" GraphQL Query: " in m for m in messages)
    mapping, = _of(_json_events(messages), "RequestMapping")
    assert "context" not in mapping and "transformedTemplate" not in mapping
    assert mapping["fieldName"] == "hello" and mapping["fieldInError"] is False


def test_update_graphql_api_turns_logging_on(client, endpoint):
    appsync = client("appsync")
    api_id, key = _setup(appsync, None)
    appsync.update_graphql_api(apiId=api_id, name="renamed", authenticationType="API_KEY",
                               logConfig={"fieldLogLevel": "ERROR", "cloudWatchLogsRoleArn": ROLE})
    answer, request_id = _gql(endpoint, api_id, key, "{ hello(name: \"x\") }")
    assert answer.status_code == 200
    events = _json_events(_events(client("logs"), api_id, request_id))
    assert [e["logType"] for e in events] == ["ExecutionSummary", "RequestSummary"]


def test_validation_error_is_logged_with_its_status(apis, client, endpoint):
    api_id, key = apis["ALL"]
    answer, request_id = _gql(endpoint, api_id, key, "{ nope }")
    assert answer.status_code == 400
    events = _json_events(_events(client("logs"), api_id, request_id))
    assert _of(events, "RequestSummary")[0]["statusCode"] == 400
    assert len(_of(events, "ExecutionSummary")) == 1



@pytest.mark.parametrize("level, expected", [
    ("NONE", []),
    ("ERROR", ["ERROR - an error line"]),
    ("INFO", ["INFO - asked for you with {name=you}", "ERROR - an error line"]),
])
def test_vtl_util_log_lines_by_level(apis, client, endpoint, level, expected):
    api_id, key = apis[level]
    answer, request_id = _gql(endpoint, api_id, key, "{ vtlLog(name: \"you\") }")
    assert answer.json() == {"data": {"vtlLog": "ok"}}
    texts = _lines(_events(client("logs"), api_id, request_id))
    assert [t for t in texts if t.split(" - ", 1)[0] in ("INFO", "ERROR")] == expected


def test_util_log_line_before_util_error_is_kept(apis, client, endpoint):
    api_id, key = apis["ERROR"]
    answer, request_id = _gql(endpoint, api_id, key, "{ vtlFail }")
    assert answer.json()["errors"][0]["message"] == "failed"
    assert "ERROR - about to fail" in _lines(_events(client("logs"), api_id, request_id))


def test_evaluate_mapping_template_returns_util_log_lines(client):
    answer = client("appsync").evaluate_mapping_template(
        template='$util.log.info("hello {}", $ctx.args.name)$util.log.error("bad")done',
        context=json.dumps({"arguments": {"name": "you"}}))
    assert answer["evaluationResult"] == "done"
    assert answer["logs"] == ["hello you", "bad"]
