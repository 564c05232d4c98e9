"""Template text -> a dict: JSON, or YAML with CloudFormation's short-form tags (!Ref, !GetAtt a.b,
!Sub, ...), and the structural checks CloudFormation makes before it deploys anything."""

from __future__ import annotations

import json
import re

import yaml

from overcast.aws.errors import AwsError

SECTIONS = frozenset({"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
                      "Conditions", "Transform", "Resources", "Outputs", "Hooks"})
_FUNCTIONS = ("Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
              "Transform", "And", "Equals", "If", "Not", "Or", "Length", "ToJsonString", "ForEach")
RESOURCE_KEYS = frozenset({"Type", "Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy",
                           "Metadata", "CreationPolicy", "UpdatePolicy", "Version"})


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def format_error(message: str) -> AwsError:
    return validation_error(f"Template format error: {message}")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when PyYAML has it
    """SafeLoader without the timestamp resolver (AWSTemplateFormatVersion stays a string, as
    CloudFormation reads it) and with the intrinsic-function tags."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(loader: yaml.Loader, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _tag(name: str):
    key = "Ref" if name == "Ref" else "Condition" if name == "Condition" else f"Fn::{name}"

    def construct(loader, node):
        value = _construct(loader, node)
        if name == "GetAtt" and isinstance(value, str):
            logical, _, attribute = value.partition(".")
            value = [logical, attribute]
        return {key: value}

    return construct


for _name in ("Ref", "Condition", *_FUNCTIONS):
    _Loader.add_constructor(f"!{_name}", _tag(_name))


def parse(body: str) -> dict:
    """The template as a dict; "Template format error" for text that is neither JSON nor YAML."""
    text = body.lstrip()
    if text.startswith("{"):
        try:
            template = json.loads(body)
        except json.JSONDecodeError as e:
            # CloudFormation reads JSON leniently: a trailing comma before a closing brace or bracket
            # (which YAML's flow collections allow) deploys on AWS; anything worse is its JSON error
            try:
                template = yaml.load(body, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
            except yaml.YAMLError:
                raise format_error(f"JSON not well-formed. (line {e.lineno},  column {e.colno})") from None
    else:
        try:
            template = yaml.load(body, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise format_error(f"YAML not well-formed.{where}") from None
        except yaml.YAMLError:
            raise format_error("YAML not well-formed.") from None
    if not isinstance(template, dict):
        raise format_error("template is not a JSON or YAML object")
    return template


_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")  # logical ids of resources and parameters


def check_structure(template: dict) -> None:
    """The checks that fail a template before anything is deployed."""
    unknown = sorted(k for k in template if k not in SECTIONS)
    if unknown:
        raise format_error(f"Invalid template property or properties [{', '.join(unknown)}]")
    version = template.get("AWSTemplateFormatVersion")
    if version is not None and str(version) != "2010-09-09":
        raise format_error(f"'{version}' is not a valid template version")
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise format_error("At least one Resources member must be defined.")
    for logical_id, resource in resources.items():
        if not _ALPHANUMERIC.fullmatch(str(logical_id)):
            raise format_error(f"Resource name {logical_id} is non alphanumeric.")
        if not isinstance(resource, dict):
            raise format_error(f"[/Resources/{logical_id}] resource definition is malformed")
        if "Type" not in resource:
            raise format_error(f"[/Resources/{logical_id}] Every Resources object must contain a Type member.")
        if not isinstance(resource["Type"], str):
            raise format_error(f"[/Resources/{logical_id}/Type] Every Type member must be a string.")
        extra = sorted(k for k in resource if k not in RESOURCE_KEYS)
        if extra:
            raise format_error(f"Invalid template resource property '{extra[0]}'")
        props = resource.get("Properties")
        if props is not None and not isinstance(props, dict):
            raise format_error(f"[/Resources/{logical_id}/Properties] Every Properties member must be an object.")
    for section in ("Parameters", "Mappings", "Conditions", "Outputs"):
        value = template.get(section)
        if value is not None and not isinstance(value, dict):
            raise format_error(f"Every {section} member must be an object.")
    for name in template.get("Parameters") or {}:
        if not _ALPHANUMERIC.fullmatch(str(name)):
            raise format_error(f"Parameter name {name} is non alphanumeric.")
    for name, condition in (template.get("Conditions") or {}).items():
        if not isinstance(condition, dict):
            raise format_error(f"Every Condition member must be an object. [{name}]")
    for name, output in (template.get("Outputs") or {}).items():
        if not isinstance(output, dict) or "Value" not in output:
            raise format_error(f"Every Outputs member must contain a Value object, the Outputs member '{name}' "
                               "does not contain a Value object")


def dumps(template: dict) -> str:
    return json.dumps(template, indent=2)
