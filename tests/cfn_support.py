"""Helpers for the CloudFormation tests."""

from __future__ import annotations


def own_tags(tags):
    """A resource's tags without the aws:cloudformation:* ones CloudFormation adds to everything it
    tags (tests/test_cloudformation_stack_behaviour.py checks those): a {key: value} map or a list
    of {Key, Value}."""
    if isinstance(tags, dict):
        return {k: v for k, v in tags.items() if not k.startswith("aws:")}
    return [t for t in tags if not t["Key"].startswith("aws:")]
