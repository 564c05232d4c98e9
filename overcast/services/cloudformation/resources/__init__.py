"""The resource types overcast deploys: CloudFormation type name -> "module:Class" of its
ResourceType (base.py). A module is imported the first time a template uses one of its types."""

from __future__ import annotations

import functools
import importlib

_P = "overcast.services.cloudformation.resources."

TYPES: dict[str, str] = {
    "AWS::SQS::Queue": _P + "sqs:Queue",
    "AWS::SQS::QueuePolicy": _P + "sqs:QueuePolicy",
}


@functools.cache
def resource_type(type_name: str):
    """The ResourceType instance for a type, or None when overcast does not support it."""
    target = TYPES.get(type_name)
    if target is None and type_name.startswith("Custom::"):
        target = TYPES.get("AWS::CloudFormation::CustomResource")
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
