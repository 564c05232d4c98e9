"""Pure-logic tests: DynamoDB's expression grammar, evaluation, and the sortable number encoding."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from overcast.aws.errors import AwsError
from overcast.services.dynamodb.expressions import Parser, apply_update, evaluate, projected
from overcast.services.dynamodb.values import encode_number, normalize_number, parse_number


def condition(text, item, names=None, values=None):
    return evaluate(Parser(names, values).parse_condition(text), item)


def error_of(fn) -> str:
    with pytest.raises(AwsError) as info:
        fn()
    assert info.value.code == "ValidationException"
    return info.value.message


ITEM = {
    "id": {"S": "a1"},
    "n": {"N": "5"},
    "tags": {"SS": ["x", "y"]},
    "doc": {"M": {"arr": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"deep": {"S": "d"}}}]}, "flag": {"BOOL": True}}},
    "bin": {"B": b"\x01\x02\x03"},
}


def test_comparisons_and_boolean_precedence():
    values = {":a": {"N": "5"}, ":b": {"N": "6"}, ":s": {"S": "a1"}}
    assert condition("n = :a AND id = :s", ITEM, values=values)
    assert condition("n = :b OR n = :a AND id = :s", ITEM, values=values)
    assert not condition("(n = :b OR n = :a) AND NOT id = :s", ITEM, values=values)
    assert condition("n < :b AND n <= :a AND n >= :a AND n <> :b", ITEM, values=values)


def test_missing_attribute_compares_false_except_not_equal():
    values = {":a": {"N": "5"}}
    assert not condition("absent = :a", ITEM, values=values)
    assert not condition("absent < :a", ITEM, values=values)
    assert condition("absent <> :a", ITEM, values=values)


def test_between_in_and_functions():
    values = {":lo": {"N": "1"}, ":hi": {"N": "9"}, ":x": {"S": "x"}, ":p": {"S": "a"}, ":t": {"S": "SS"},
              ":three": {"N": "3"}, ":two": {"S": "two"}, ":b": {"B": b"\x01"}}
    assert condition("n BETWEEN :lo AND :hi", ITEM, values=values)
    assert condition("n IN (:lo, :hi, :three) OR id IN (:p, :x)", ITEM, values=values) is False
    assert condition("contains(tags, :x) AND begins_with(id, :p) AND attribute_type(tags, :t)", ITEM, values=values)
    assert condition("size(tags) < :three AND size(bin) = :three", ITEM, values=values)
    assert condition("contains(doc.arr, :two) AND attribute_exists(doc.arr[2].deep)", ITEM, values=values)
    assert condition("attribute_not_exists(doc.arr[7]) AND begins_with(bin, :b)", ITEM, values=values)


def test_nested_paths_with_placeholders():
    names = {"#d": "doc", "#l": "arr"}
    values = {":v": {"S": "d"}}
    assert condition("#d.#l[2].deep = :v", ITEM, names=names, values=values)


def test_syntax_error_names_the_token_and_its_neighbours():
    message = error_of(lambda: Parser(None, {":v": {"N": "1"}}).parse_condition("a = :v x"))
    assert message == 'Invalid ConditionExpression: Syntax error; token: "x", near: ":v x"'
    message = error_of(lambda: Parser(None, None).parse_update("SET a"))
    assert message == 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "a"'


def test_lone_colon_is_a_syntax_error():
    message = error_of(lambda: Parser(None, {":incr": {"N": "1"}}).parse_update("ADD hits : incr"))
    assert message == 'Invalid UpdateExpression: Syntax error; token: ":", near: "hits : incr"'
    message = error_of(lambda: Parser(None, None).parse_update("INVALID SYNTAX HERE"))
    assert message == 'Invalid UpdateExpression: Syntax error; token: "INVALID", near: "INVALID SYNTAX"'


def test_reserved_word_is_rejected():
    message = error_of(lambda: Parser(None, None).parse_projection("id, name"))
    assert message == "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name"


def test_undefined_placeholders_are_rejected():
    message = error_of(lambda: Parser(None, None).parse_condition("#n = :v"))
    assert message == ("Invalid ConditionExpression: An expression attribute name used in the document path is not "
                       "defined; attribute name: #n")
    message = error_of(lambda: Parser({"#n": "x"}, None).parse_condition("#n = :v"))
    assert message == ("Invalid ConditionExpression: An expression attribute value used in expression is not "
                       "defined; attribute value: :v")


def test_unused_placeholders_are_reported():
    parser = Parser({"#a": "a"}, {":v": {"N": "1"}, ":w": {"N": "2"}})
    parser.parse_condition("#a = :v")
    assert error_of(parser.check_unused) == \
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"


def test_between_bounds_out_of_order():
    message = error_of(lambda: Parser(None, {":a": {"N": "5"}, ":b": {"N": "1"}}).parse_condition("x BETWEEN :a AND :b"))
    assert message == ("Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or "
                       "equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: "
                       "AttributeValue: {N:1}")


def test_update_clause_used_twice():
    message = error_of(lambda: Parser(None, {":v": {"N": "1"}}).parse_update("SET a = :v SET b = :v"))
    assert message == 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'


def test_update_paths_overlap():
    message = error_of(lambda: Parser(None, {":v": {"N": "1"}}).parse_update("SET a = :v REMOVE a.b"))
    assert message == ("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
                       "one of these paths; path one: [a], path two: [a, b]")


def test_update_set_arithmetic_if_not_exists_list_append():
    parser = Parser(None, {":one": {"N": "1"}, ":zero": {"N": "0"}, ":l": {"L": [{"S": "z"}]}})
    clauses = parser.parse_update("SET n = n + :one, c = if_not_exists(c, :zero) - :one, "
                                  "doc.arr = list_append(doc.arr, :l)")
    new = apply_update(clauses, ITEM)
    assert new["n"] == {"N": "6"} and new["c"] == {"N": "-1"}
    assert new["doc"]["M"]["arr"]["L"][-1] == {"S": "z"}
    assert ITEM["n"] == {"N": "5"}  # the old item is untouched


def test_update_remove_add_delete():
    parser = Parser(None, {":s": {"SS": ["x", "z"]}, ":n": {"N": "2.5"}, ":d": {"SS": ["x", "y"]}})
    new = apply_update(parser.parse_update("REMOVE doc.arr[0], doc.arr[1] ADD n :n, more :s"), ITEM)
    assert new["doc"]["M"]["arr"]["L"] == [{"M": {"deep": {"S": "d"}}}]
    assert new["n"] == {"N": "7.5"} and new["more"] == {"SS": ["x", "z"]}
    new = apply_update(Parser(None, {":d": {"SS": ["x", "y"]}}).parse_update("DELETE tags :d"), ITEM)
    assert "tags" not in new


def test_update_arithmetic_on_missing_attribute_fails():
    clauses = Parser(None, {":one": {"N": "1"}}).parse_update("SET x = nope + :one")
    with pytest.raises(AwsError) as info:
        apply_update(clauses, ITEM)
    assert info.value.message == "The provided expression refers to an attribute that does not exist in the item"


def test_projection_of_nested_paths_and_list_indexes():
    paths = Parser(None, None).parse_projection("id, doc.arr[2].deep, doc.arr[0]")
    assert projected(ITEM, paths) == {
        "id": {"S": "a1"},
        "doc": {"M": {"arr": {"L": [{"N": "1"}, {"M": {"deep": {"S": "d"}}}]}}},
    }


def test_numbers_normalize_like_dynamodb():
    assert normalize_number("1.50") == "1.5"
    assert normalize_number("1e2") == "100"
    assert normalize_number("-0.000") == "0"
    assert normalize_number("0012.3400") == "12.34"


def test_number_precision_and_range_limits():
    assert error_of(lambda: parse_number("1" * 39)) == "Attempting to store more than 38 significant digits in a Number"
    assert parse_number("1" * 38 + "0000") == Decimal("1" * 38 + "0000")
    assert "overflow" in error_of(lambda: parse_number("1e126"))
    assert "underflow" in error_of(lambda: parse_number("1e-131"))
    assert error_of(lambda: parse_number("abc")) == "A value provided cannot be converted into a number"


def test_number_encoding_sorts_numerically():
    rng = random.Random(7)
    numbers = [Decimal(0), Decimal("-1"), Decimal("1"), Decimal("0.5"), Decimal("-0.5"), Decimal("10"),
               Decimal("9.99"), Decimal("-10"), Decimal("-9.99"), Decimal("1e125"), Decimal("-1e125"),
               Decimal("1e-130"), Decimal("-1e-130"), Decimal("0.12"), Decimal("0.123"), Decimal("-0.12"),
               Decimal("-0.123")]
    numbers += [Decimal(rng.randint(-10**6, 10**6)) / Decimal(10 ** rng.randint(0, 8)) for _ in range(500)]
    numbers = list(set(numbers))
    assert sorted(numbers, key=encode_number) == sorted(numbers)


def test_update_arithmetic_beyond_38_digits_is_rejected():
    clauses = Parser(None, {":big": {"N": "1" + "0" * 37}, ":tiny": {"N": "0.1"}}).parse_update("SET n = :big + :tiny")
    with pytest.raises(AwsError) as info:
        apply_update(clauses, ITEM)
    assert info.value.message == "Attempting to store more than 38 significant digits in a Number"
