"""AppSync's VTL layer (pure logic): $util members, Java rendering, #return, filters."""

from __future__ import annotations

import re

import pytest

from overcast.services.appsync import utils
from overcast.services.appsync.errors import EarlyReturn, ResolverError
from overcast.services.appsync.realtime import _filter_matches
from overcast.services.appsync.templates import AppSyncUtil, Extensions, parse_output, render


def run(text, ctx=None, errors=None):
    return render(text, ctx or {"args": {}, "stash": {}}, AppSyncUtil(errors if errors is not None else []))


def test_values_render_as_java_renders_them():
    assert run("$ctx.args.t $ctx.args.f $ctx.args.m $ctx.args.l", {"args": {"t": True, "f": False, "m": {"a": 1}, "l": [1, "x"]}}) \
        == "true false {a=1} [1, x]"


def test_return_with_a_value_ends_the_template():
    with pytest.raises(EarlyReturn) as e:
        run('#if(true)#return({"a": 1})#end{"never": 1}')
    assert e.value.value == {"a": 1} and e.value.has_value


def test_return_without_a_value():
    with pytest.raises(EarlyReturn) as e:
        run("#return")
    assert e.value.value is None


def test_util_error_raises_with_type_data_and_info():
    with pytest.raises(ResolverError) as e:
        run('$util.error("m", "T", {"d": 1}, {"i": 2})')
    assert (e.value.message, e.value.error_type, e.value.data, e.value.error_info) == ("m", "T", {"d": 1}, {"i": 2})


def test_util_append_error_continues():
    errors = []
    assert run('$util.appendError("m", "T")done', errors=errors) == "done"
    assert errors[0].message == "m"


def test_util_auto_ids_have_their_formats():
    assert re.fullmatch(r"[0-9a-f-]{36}", run("$util.autoId()"))
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", run("$util.autoUlid()"))
    assert len(run("$util.autoKsuid()")) == 27


def test_util_dynamodb_conversions():
    assert parse_output(run('$util.dynamodb.toDynamoDBJson({"a": [1, "x", true, null]})')) == \
        {"M": {"a": {"L": [{"N": 1}, {"S": "x"}, {"BOOL": True}, {"NULL": True}]}}}
    assert parse_output(run('$util.dynamodb.toStringSetJson(["a", "b"])')) == {"SS": ["a", "b"]}
    assert parse_output(run('$util.dynamodb.toMapValuesJson({"n": 2})')) == {"n": {"N": 2}}


def test_util_time_formats_and_parses():
    assert run("$util.time.epochMilliSecondsToISO8601(1700000000123)") == "2023-11-14T22:13:20.123Z"
    assert run('$util.time.parseISO8601ToEpochMilliSeconds("2023-11-14T22:13:20.123Z")') == "1700000000123"
    assert run('$util.time.epochMilliSecondsToFormatted(1700000000000, "yyyy-MM-dd HH:mm", "+01:00")') == "2023-11-14 23:13"
    assert run("$util.time.epochMilliSecondsToSeconds(1700000000999)") == "1700000000"


def test_util_type_checks_and_defaults():
    ctx = {"args": {"s": "x", "n": 1, "e": ""}}
    assert run("$util.isString($ctx.args.s) $util.isNumber($ctx.args.n) $util.isNullOrEmpty($ctx.args.e) "
               "$util.defaultIfNullOrBlank($ctx.args.e, 'd') $util.typeOf($ctx.args.n)", ctx) == "true true true d Number"


def test_transform_to_dynamodb_filter_expression():
    out = utils.to_dynamodb_filter_expression({"name": {"beginsWith": "a"}, "or": [{"n": {"gt": 1}}, {"n": {"lt": -1}}]})
    assert out["expression"] == "((begins_with(#name,:name_beginsWith)) AND ((#n > :n_gt_2) OR (#n < :n_lt_3)))"
    assert out["expressionNames"] == {"#name": "name", "#n": "n"}
    assert out["expressionValues"][":name_beginsWith"] == {"S": "a"}


def test_transform_to_dynamodb_filter_expression_has_no_redundant_parentheses():
    from overcast.services.dynamodb.expressions import Parser

    for filter_input in ({"and": [{"n": {"gt": "a"}}]}, {"or": [{"and": [{"n": {"gt": "a", "lt": "z"}}]}]},
                         {"not": {"and": [{"n": {"eq": "b"}}]}}):
        out = utils.to_dynamodb_filter_expression(filter_input)
        Parser(out["expressionNames"], out["expressionValues"]).parse_condition(out["expression"], "FilterExpression")
    assert utils.to_dynamodb_filter_expression({"and": [{"n": {"gt": 1}}]})["expression"] == "(#n > :n_gt)"


def test_transform_to_subscription_filter_and_matching():
    f = utils.to_subscription_filter({"severity": {"ge": 5}, "or": [{"kind": {"eq": "a"}}, {"kind": {"in": ["b", "c"]}}]})
    assert len(f["filterGroup"]) == 2
    assert _filter_matches(f, {"severity": 7, "kind": "c"})
    assert not _filter_matches(f, {"severity": 7, "kind": "z"})
    assert not _filter_matches(f, {"severity": 1, "kind": "a"})


def test_extensions_capture_the_subscription_filter():
    ext = Extensions()
    render('$extensions.setSubscriptionFilter({"filterGroup": [{"filters": [{"fieldName": "a", "operator": "eq", "value": 1}]}]})',
           {"args": {}}, AppSyncUtil([]), ext)
    assert ext.subscription_filter["filterGroup"][0]["filters"][0]["fieldName"] == "a"


def test_output_that_is_not_json_is_a_mapping_template_error():
    with pytest.raises(ResolverError) as e:
        parse_output("not json")
    assert e.value.error_type == "MappingTemplate"


def test_dynamodb_wire_round_trip():
    wire = utils.to_wire({"M": {"n": {"N": 1.5}, "s": {"SS": ["a"]}}})
    assert wire == {"M": {"n": {"N": "1.5"}, "s": {"SS": ["a"]}}}
    assert utils.from_wire(wire) == {"n": 1.5, "s": ["a"]}


def test_js_transform_to_dynamodb_filter_expression_has_no_redundant_parentheses():
    import asyncio

    from overcast.services.appsync import js
    from overcast.services.dynamodb.expressions import Parser

    code = ("import { util } from '@aws-appsync/utils';\n"
            "export function request(ctx) { return JSON.parse(util.transform.toDynamoDBFilterExpression("
            "{ and: [{ n: { gt: 'a' } }], or: [{ and: [{ m: { eq: 'b' } }, { m: { ne: 'c' } }] }] })); }\n"
            "export function response(ctx) { return ctx.result; }\n")
    outcome = asyncio.run(js.evaluate(code, "request", {}))
    assert outcome.error is None, outcome.error
    out = outcome.value
    Parser(out["expressionNames"], out["expressionValues"]).parse_condition(out["expression"], "FilterExpression")
