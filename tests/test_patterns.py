"""The event-pattern engine, against the examples of AWS's EventBridge and SNS documentation."""

from __future__ import annotations

import time

import pytest

from overcast.engine.patterns import PatternError, compile_pattern

EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "location": "us-east-1a",
        "tags": ["prod", "web"],
    },
}


def m(pattern, event=EC2_EVENT, dialect="events"):
    return compile_pattern(pattern, dialect).matches(event)


def test_exact_match_on_top_level_and_nested_fields():
    assert m({"source": ["aws.ec2"], "detail": {"state": ["terminated"]}})
    assert not m({"source": ["aws.ec2"], "detail": {"state": ["running"]}})


def test_values_in_an_array_are_alternatives():
    assert m({"detail": {"state": ["pending", "terminated"]}})


def test_event_arrays_match_when_any_element_matches():
    assert m({"detail": {"tags": ["web"]}})
    assert m({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]})


def test_numbers_match_numerically_and_not_strings():
    assert m({"detail": {"c-count": [5.0]}})
    assert not m({"detail": {"c-count": ["5"]}})
    assert not m({"detail": {"state": [5]}})


def test_null_and_empty_string_are_distinct():
    event = {"a": None, "b": ""}
    assert m({"a": [None]}, event)
    assert not m({"a": [""]}, event)
    assert m({"b": [""]}, event)
    assert not m({"b": [None]}, event)


def test_prefix_and_prefix_ignore_case():
    assert m({"region": [{"prefix": "us-"}]})
    assert not m({"region": [{"prefix": "eu-"}]})
    assert m({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]})


def test_suffix_and_suffix_ignore_case():
    assert m({"detail": {"instance-id": [{"suffix": "def0"}]}})
    assert m({"detail": {"instance-id": [{"suffix": {"equals-ignore-case": "DEF0"}}]}})
    assert not m({"detail": {"instance-id": [{"suffix": ".png"}]}})


def test_equals_ignore_case():
    assert m({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}})


def test_anything_but_value_list_prefix_suffix_ignore_case_and_wildcard():
    assert m({"detail": {"state": [{"anything-but": "initializing"}]}})
    assert not m({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}})
    assert not m({"detail": {"c-count": [{"anything-but": [5, 6]}]}})
    assert m({"region": [{"anything-but": {"prefix": "eu-"}}]})
    assert not m({"region": [{"anything-but": {"prefix": "us-"}}]})
    assert m({"detail": {"instance-id": [{"anything-but": {"suffix": ".png"}}]}})
    assert not m({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}})
    assert not m({"detail": {"location": [{"anything-but": {"wildcard": "us-*"}}]}})
    assert m({"detail": {"location": [{"anything-but": {"wildcard": "*/lib/*"}}]}})


def test_anything_but_does_not_match_an_absent_field():
    assert not m({"detail": {"missing": [{"anything-but": "x"}]}})


def test_numeric_ranges():
    assert m({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}})
    assert not m({"detail": {"d-count": [{"numeric": ["<", 3]}]}})
    assert m({"detail": {"x-limit": [{"numeric": ["=", 301.8]}]}})
    assert not m({"detail": {"state": [{"numeric": [">", 0]}]}})


def test_exists_true_and_false():
    assert m({"detail": {"state": [{"exists": True}]}})
    assert not m({"detail": {"missing": [{"exists": True}]}})
    assert m({"detail": {"missing": [{"exists": False}]}})
    assert not m({"detail": {"state": [{"exists": False}]}})


def test_exists_false_on_an_absent_parent_object():
    assert m({"nothing": {"here": [{"exists": False}]}})


def test_wildcard():
    assert m({"detail": {"location": [{"wildcard": "us-*-1a"}]}})
    assert not m({"detail": {"location": [{"wildcard": "eu-*"}]}})
    assert m({"a": [{"wildcard": r"x\*y"}]}, {"a": "x*y"})
    assert not m({"a": [{"wildcard": r"x\*y"}]}, {"a": "xzy"})


def test_cidr_ipv4_and_ipv6():
    assert m({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}})
    assert not m({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}})
    assert m({"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"})


def test_or_across_fields():
    pattern = {"source": ["aws.ec2"], "$or": [{"detail": {"c-count": [{"numeric": [">", 10]}]}},
                                              {"detail": {"d-count": [{"numeric": ["<", 10]}]}}]}
    assert m(pattern)
    pattern["$or"][1]["detail"]["d-count"] = [{"numeric": [">", 10]}]
    assert not m(pattern)


def test_arrays_of_objects_match_nested_fields():
    event = {"detail": {"items": [{"kind": "a"}, {"kind": "b"}]}}
    assert m({"detail": {"items": {"kind": ["b"]}}}, event)
    assert not m({"detail": {"items": {"kind": ["c"]}}}, event)


def test_pattern_on_an_object_field_with_a_leaf_does_not_match():
    assert not m({"detail": ["x"]})


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ({"source": "aws.ec2"}, '"source" must be an object or an array'),
        ({"source": [{"prefixx": "a"}]}, "Unrecognized match type prefixx"),
        ({"source": [{"numeric": [">", "a"]}]}, "Value of > must be numeric"),
        ({"source": [{"numeric": ["<", 1, ">", 5]}]}, "Too many elements in numeric expression"),
        ({"source": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
        ({"source": [[1]]}, "Match value must be String, number, true, false, or null"),
        ({"$or": [{"a": ["b"]}]}, "Value of $or must be an array of at least 2 objects"),
        ({"a": [{"wildcard": "a**"}]}, "Consecutive wildcard characters"),
        ({"a": [{"cidr": "not-an-ip/8"}]}, "Nonstandard IP address: not-an-ip"),
        ("[1, 2]", "Filter is not an object"),
        ("{not json", "Unexpected character"),
    ],
)
def test_invalid_patterns_give_reasons(pattern, reason):
    with pytest.raises(PatternError) as info:
        compile_pattern(pattern)
    assert reason in info.value.reason


def test_sns_dialect_rejects_wildcard_and_more_than_five_keys():
    with pytest.raises(PatternError, match="Unrecognized match type wildcard"):
        compile_pattern({"a": [{"wildcard": "x*"}]}, "sns")
    with pytest.raises(PatternError, match="more than 5 keys"):
        compile_pattern({k: ["v"] for k in "abcdef"}, "sns")


def test_sns_dialect_limits_combinations_to_150():
    policy = {"a": [str(i) for i in range(10)], "b": [str(i) for i in range(16)]}
    with pytest.raises(PatternError, match="too complex"):
        compile_pattern(policy, "sns")
    compile_pattern({"a": [str(i) for i in range(10)], "b": [str(i) for i in range(15)]}, "sns")


def test_sns_dialect_numbers_within_one_billion():
    with pytest.raises(PatternError, match="between -1000000000 and 1000000000"):
        compile_pattern({"a": [{"numeric": [">", 2e9]}]}, "sns")


def test_matching_100_rules_is_fast():
    matchers = [compile_pattern({"source": [f"app.{i}"], "detail": {"state": ["terminated"]}}) for i in range(99)]
    matchers.append(compile_pattern({"source": ["aws.ec2"], "detail": {"c-count": [{"numeric": [">", 1]}]}}))
    start = time.perf_counter()
    for _ in range(1000):
        hits = [x for x in matchers if x.matches(EC2_EVENT)]
    elapsed = time.perf_counter() - start
    assert len(hits) == 1
    assert elapsed < 1.0  # 100,000 matches: well under 10 µs each


def test_sns_dialect_refuses_what_aws_refuses():
    # AWS's recorded answers: empty arrays, anything-but suffix, an upper bound named first in a range
    for policy, reason in [({"key": []}, "Empty arrays are not allowed"),
                           ({"key": [{"anything-but": {"suffix": "test"}}]}, "Unsupported anything-but pattern: suffix"),
                           ({"key": [{"numeric": ["<", 100, ">", 10]}]}, "Too many elements in numeric expression")]:
        with pytest.raises(PatternError) as info:
            compile_pattern(policy, "sns")
        assert info.value.reason == reason
    compile_pattern({"key": [{"numeric": [">", 10, "<", 100]}]}, "sns")


def test_sns_dialect_counts_nested_values_by_depth():
    # AWS's example: 3×4 (three levels down) × 2×3 (two levels) × 1×3 (top) = 216 > 150
    nested = {"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}}, "key_d": {"key_e": ["1", "2", "3"]},
              "key_f": ["1", "2", "3"]}
    with pytest.raises(PatternError) as info:
        compile_pattern(nested, "sns")
    assert info.value.reason == "Filter policy is too complex"
    compile_pattern({"key_a": {"key_b": ["1", "2"]}, "key_f": ["1", "2", "3"]}, "sns")  # 2×2 × 3 = 12


def test_sns_dialect_cidr_and_range_messages():
    for policy, reason in [({"k": [{"cidr": "bad-filter"}]}, "Malformed CIDR, one '/' required"),
                           ({"k": [{"cidr": "bad-/64filter"}]}, "Malformed CIDR, mask bits must be an integer"),
                           ({"k": [{"cidr": "xx.11.xx/8"}]}, "Nonstandard IP address: xx.11.xx"),
                           ({"k": [{"numeric": [">", 20, "<", 30, "<", 50]}]}, "Too many terms in numeric range expression"),
                           ({"k": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
                           ({"k": [{"numeric": [">=", 1, ">", 2]}]}, "Bad numeric range operator: >"),
                           ({"k": [{"numeric": [">", 3, "<", 1]}]}, "Bottom must be less than top"),
                           ({"k": [{"numeric": [">", 20, 30]}]}, "Bad value in numeric range: 30"),
                           ({"k": [{"numeric": [">", "20", "<", "30"]}]}, "Value of > must be numeric"),
                           ({"k": []}, "Empty arrays are not allowed"),
                           ({"k": [{"anything-but": {"prefix": False}}]}, "prefix match pattern must be a string")]:
        with pytest.raises(PatternError) as info:
            compile_pattern(policy, "sns")
        assert info.value.reason == reason


def test_sns_dialect_dotted_keys_read_every_way():
    policy = {"object.nested.test": ["v"]}
    for event in ({"object": {"nested": {"test": "v"}}}, {"object.nested.test": "v"}, {"object.nested": {"test": "v"}},
                  {"object": {"nested.test": "v"}}):
        assert compile_pattern(policy, "sns").matches(event)
    assert not compile_pattern(policy, "sns").matches({"object": {"nested": {"test": "w"}}})
