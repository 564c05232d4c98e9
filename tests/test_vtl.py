"""The shared VTL engine (overcast/vtl): airspeed with the Java methods AWS templates use, the
$util basics, and the JSONPath API Gateway's $input and AppSync use."""

from __future__ import annotations

import pytest

from overcast.vtl import Util, VtlError, compile_template, escape_javascript, jsonpath, render


def test_render_sets_variables_loops_and_conditions():
    out = render("#set($n = 0)#foreach($x in $items)#if($x > 1)$x#if($foreach.hasNext),#end#end#end", {"items": [1, 2, 3]})
    assert out == "2,3"


def test_compiled_templates_are_cached_by_text():
    assert compile_template("$a") is compile_template("$a")


def test_template_syntax_error_raises_vtl_error():
    with pytest.raises(VtlError):
        render("#if($a", {"a": 1})


def test_java_string_methods_are_available():
    out = render("$s.toUpperCase() $s.length() $s.substring(1, 3) $s.replace('b', 'x') $s.contains('c')", {"s": "abc"})
    assert out == "ABC 3 bc axc True"


def test_map_and_list_methods_are_available():
    out = render("$m.size() $m.containsKey('a') $l.size() $l.isEmpty()#foreach($k in $m.keySet()) $k#end",
                 {"m": {"a": 1, "b": 2}, "l": [1]})
    assert out == "2 True 1 False a b"


def test_util_escape_javascript_escapes_quotes_and_control_characters():
    assert escape_javascript('he said "hi"\n') == 'he said \\"hi\\"\\n'
    assert escape_javascript("it's") == "it\\'s"


def test_util_parse_json_and_url_and_base64():
    util = Util()
    assert util.parseJson('{"a": [1]}') == {"a": [1]}
    assert util.urlEncode("a b&c=d/é") == "a+b%26c%3Dd%2F%C3%A9"
    assert util.urlDecode("a+b%26c") == "a b&c"
    assert util.base64Encode("hello") == "aGVsbG8="
    assert util.base64Decode("aGVsbG8=") == "hello"


def test_util_parse_json_of_invalid_text_raises_vtl_error():
    with pytest.raises(VtlError):
        render("$util.parseJson('nope')", {"util": Util()})


def test_jsonpath_selects_members_indexes_wildcards_and_descendants():
    doc = {"a": {"b": [{"c": 1}, {"c": 2}]}, "x y": 5}
    assert jsonpath.evaluate(doc, "$") is doc
    assert jsonpath.evaluate(doc, "$.a.b[1].c") == 2
    assert jsonpath.evaluate(doc, "$.a.b[-1].c") == 2
    assert jsonpath.evaluate(doc, "$['x y']") == 5
    assert jsonpath.evaluate(doc, "$.a.b[*].c") == [1, 2]
    assert jsonpath.evaluate(doc, "$..c") == [1, 2]
    assert jsonpath.evaluate(doc, "$.missing") is None


def test_jsonpath_rejects_malformed_expressions():
    with pytest.raises(jsonpath.JsonPathError):
        jsonpath.evaluate({}, "$.a[")


def test_a_rendering_prints_values_its_own_way_only_where_it_is_used():
    from overcast.vtl import Rendering

    shouting = Rendering(lambda v: f"<{type(v).__name__}>", null="-")
    namespace = {"m": {"a": 1}, "n": None}
    assert render("$m $m.toString() $n $!n", namespace, shouting) == "<dict> <dict> - "
    # without one: Python's forms, a null reference as its text; a map's toString as Java's
    assert render("$m $m.toString() $n", namespace) == "{'a': 1} {a=1} $n"
