"""The resource-policy evaluator every service shares (overcast/aws/policy.py), tested directly."""

from __future__ import annotations

import json

import pytest

from overcast.aws.policy import ALLOW, DENY, Principal, Request, allows, canonical_id, evaluate

A, B = "111111111111", "222222222222"
BUCKET = "arn:aws:s3:::shared"
B_ROOT = Principal(B)


def statement(**fields) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **fields}]}


def ask(principal=B_ROOT, action="s3:GetObject", resource=f"{BUCKET}/k", **context) -> Request:
    return Request(principal, action, resource, {k.lower(): v for k, v in context.items()})


def test_no_policy_grants_nothing_to_another_account():
    assert evaluate(None, ask()) is None
    assert not allows(None, ask(), A)
    assert not allows("not json", ask(), A)


def test_the_owner_account_is_never_refused():
    deny_all = statement(Principal="*", Action="*", Resource="*")
    deny_all["Statement"][0]["Effect"] = "Deny"
    assert allows(deny_all, ask(Principal(A)), A)


def test_principal_forms_for_an_account():
    for principal in ("*", {"AWS": "*"}, {"AWS": B}, {"AWS": f"arn:aws:iam::{B}:root"}, {"AWS": [A, B]}):
        doc = statement(Principal=principal, Action="s3:GetObject", Resource=f"{BUCKET}/*")
        assert allows(doc, ask(), A), principal
    assert not allows(statement(Principal={"AWS": A}, Action="*", Resource="*"), ask(), A)


def test_a_statement_as_one_object_and_policy_as_text():
    doc = {"Statement": {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "s3:*", "Resource": "*"}}
    assert allows(json.dumps(doc), ask(), A)


def test_user_and_role_arns_match_that_identity_and_the_roles_sessions():
    user = Principal(B, f"arn:aws:iam::{B}:user/alice")
    session = Principal(B, f"arn:aws:sts::{B}:assumed-role/reader/s1")
    by_user = statement(Principal={"AWS": f"arn:aws:iam::{B}:user/alice"}, Action="*", Resource="*")
    by_role = statement(Principal={"AWS": f"arn:aws:iam::{B}:role/reader"}, Action="*", Resource="*")
    assert allows(by_user, ask(user), A)
    assert not allows(by_user, ask(session), A)
    assert allows(by_role, ask(session), A)
    assert not allows(by_role, ask(user), A)
    assert not allows(by_role, ask(Principal(B, f"arn:aws:sts::{B}:assumed-role/readers/s1")), A)


def test_service_principals_match_only_services():
    sns = Principal(B, service="sns.amazonaws.com")
    doc = statement(Principal={"Service": "sns.amazonaws.com"}, Action="sqs:SendMessage", Resource="*")
    assert allows(doc, ask(sns, "sqs:SendMessage"), A)
    assert not allows(doc, ask(B_ROOT, "sqs:SendMessage"), A)
    assert not allows(statement(Principal={"AWS": "*"}, Action="*", Resource="*"), ask(sns), A)


def test_anonymous_matches_only_everyone():
    anonymous = Principal("000000000000", anonymous=True)
    assert allows(statement(Principal="*", Action="s3:GetObject", Resource="*"), ask(anonymous), A)
    assert not allows(statement(Principal={"AWS": "000000000000"}, Action="*", Resource="*"), ask(anonymous), A)


def test_canonical_user_principal():
    doc = statement(Principal={"CanonicalUser": canonical_id(B)}, Action="*", Resource="*")
    assert allows(doc, ask(), A)


def test_not_principal_applies_to_everyone_else():
    doc = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": B}, "Action": "*", "Resource": "*"},
    ]}
    assert allows(doc, ask(), A)
    assert not allows(doc, ask(Principal("333333333333")), A)


def test_action_wildcards_are_case_insensitive():
    doc = statement(Principal="*", Action=["s3:Get*"], Resource="*")
    assert allows(doc, ask(action="s3:GetObject"), A)
    assert allows(doc, ask(action="S3:getobjectTAGGING"), A)
    assert not allows(doc, ask(action="s3:PutObject"), A)
    assert allows(statement(Principal="*", Action="s3:?etObject", Resource="*"), ask(), A)


def test_not_action():
    doc = statement(Principal="*", NotAction="s3:Delete*", Resource="*")
    assert allows(doc, ask(action="s3:GetObject"), A)
    assert not allows(doc, ask(action="s3:DeleteObject"), A)


def test_resource_globbing_and_not_resource():
    doc = statement(Principal="*", Action="*", Resource=f"{BUCKET}/public/*")
    assert allows(doc, ask(resource=f"{BUCKET}/public/a/b"), A)
    assert not allows(doc, ask(resource=f"{BUCKET}/private/a"), A)
    assert not allows(statement(Principal="*", Action="*", Resource=f"{BUCKET}/PUBLIC/*"),
                      ask(resource=f"{BUCKET}/public/a"), A)
    doc = statement(Principal="*", Action="*", NotResource=f"{BUCKET}/private/*")
    assert allows(doc, ask(resource=f"{BUCKET}/public/a"), A)
    assert not allows(doc, ask(resource=f"{BUCKET}/private/a"), A)


def test_explicit_deny_wins_in_any_order():
    allow = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    deny = {"Effect": "Deny", "Principal": {"AWS": B}, "Action": "s3:GetObject", "Resource": "*"}
    for statements in ([allow, deny], [deny, allow]):
        assert evaluate({"Statement": statements}, ask()) == DENY
    assert evaluate({"Statement": [allow, deny]}, ask(action="s3:PutObject")) == ALLOW


@pytest.mark.parametrize("condition, context, expected", [
    ({"StringEquals": {"aws:SourceAccount": A}}, {"aws:SourceAccount": A}, True),
    ({"StringEquals": {"aws:SourceAccount": A}}, {"aws:SourceAccount": B}, False),
    ({"StringEquals": {"aws:SourceAccount": A}}, {}, False),
    ({"StringEquals": {"AWS:SOURCEACCOUNT": [B, A]}}, {"aws:SourceAccount": A}, True),
    ({"StringNotEquals": {"aws:SourceAccount": A}}, {"aws:SourceAccount": B}, True),
    ({"StringNotEquals": {"aws:SourceAccount": [A, B]}}, {"aws:SourceAccount": B}, False),
    ({"StringNotEquals": {"aws:SourceAccount": A}}, {}, True),
    ({"StringEqualsIfExists": {"aws:SourceAccount": A}}, {}, True),
    ({"StringEqualsIfExists": {"aws:SourceAccount": A}}, {"aws:SourceAccount": B}, False),
    ({"StringEqualsIgnoreCase": {"aws:UserAgent": "BOTO"}}, {"aws:UserAgent": "boto"}, True),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}}, {"aws:PrincipalArn": "arn:aws:iam::2:user/al"}, True),
    ({"StringNotLike": {"aws:PrincipalArn": "*:role/*"}}, {"aws:PrincipalArn": "arn:aws:iam::2:user/al"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:111111111111:*"}}, {"aws:SourceArn": f"arn:aws:sns:us-east-1:{A}:t"}, True),
    ({"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{A}:t"}}, {"aws:SourceArn": f"arn:aws:sns:us-east-1:{A}:u"}, False),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*"}}, {"aws:SourceArn": "arn:aws:s3:::b"}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, True),
    ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": "true"}, False),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
    ({"NumericGreaterThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": "5"}, False),
    ({"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
    ({"NumericEquals": {"s3:max-keys": "x"}}, {"s3:max-keys": "5"}, False),
    ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2026-01-01T00:00:00Z"}, True),
    ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2026-01-01T00:00:00Z"}, False),
    ({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"}, True),
    ({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.1/32"]}}, {"aws:SourceIp": "127.0.0.1"}, False),
    ({"Null": {"aws:SourceArn": "true"}}, {}, True),
    ({"Null": {"aws:SourceArn": "false"}}, {}, False),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["c", "b"]}, True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["c", "b"]}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
    ({"StringEquals": {"aws:SourceAccount": A}, "Bool": {"aws:SecureTransport": "true"}},
     {"aws:SourceAccount": A, "aws:SecureTransport": "false"}, False),
    ({"SomeUnknownOperator": {"aws:SourceAccount": A}}, {"aws:SourceAccount": A}, False),
])
def test_conditions(condition, context, expected):
    doc = statement(Principal="*", Action="*", Resource="*", Condition=condition)
    assert allows(doc, ask(**context), A) is expected


def test_a_deny_condition_that_does_not_hold_does_not_deny():
    doc = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}
    assert allows(doc, ask(**{"aws:SecureTransport": "true"}), A)
    assert not allows(doc, ask(**{"aws:SecureTransport": "false"}), A)


def test_malformed_statements_grant_nothing():
    for doc in ({"Statement": "x"}, {"Statement": [1, None]}, {"Statement": [{"Effect": "Allow", "Principal": 5,
                                                                               "Action": "*"}]}, [], "[]"):
        assert not allows(doc, ask(), A), doc
