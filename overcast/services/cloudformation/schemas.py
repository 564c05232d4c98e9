"""The CloudFormation resource provider schemas, as data: which property changes replace a resource
(createOnlyProperties), which attributes Fn::GetAtt returns (readOnlyProperties) and each type's
primary identifier. They come from the `cfn-lint` package, which ships AWS's published schemas;
a type's schema is read the first time a template uses that type."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TypeSchema:
    type_name: str
    create_only: tuple[tuple[str, ...], ...]  # property paths, e.g. ("QueueName",)
    attributes: frozenset[str]  # GetAtt names: "Arn", "Endpoint.Address"
    primary_identifier: tuple[str, ...]
    properties: frozenset[str]

    def replaces(self, old: dict, new: dict) -> list[str]:
        """The top-level properties whose change requires a replacement."""
        changed = []
        for path in self.create_only:
            if _at(old, path) != _at(new, path) and path[0] not in changed:
                changed.append(path[0])
        return changed


def _at(doc, path: tuple[str, ...]):
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


@functools.cache
def _data_dir() -> str:
    # The package's data files only: importing cfn-lint itself would cost a second.
    spec = importlib.util.find_spec("cfnlint")
    return os.path.join(spec.submodule_search_locations[0], "data", "schemas")


@functools.cache
def _index() -> dict[str, str]:
    with open(os.path.join(_data_dir(), "providers", "us-east-1.json")) as f:
        return json.load(f)


def _paths(pointers) -> tuple[tuple[str, ...], ...]:
    out = []
    for pointer in pointers or ():
        parts = pointer.split("/")[2:]  # "/properties/A/B" -> ["A", "B"]
        if parts:
            out.append(tuple(p for p in parts if p != "*"))
    return tuple(out)


def known_type(type_name: str) -> bool:
    return type_name in _index()


@functools.cache
def schema(type_name: str) -> TypeSchema | None:
    """The schema of a registered AWS type, or None for types CloudFormation does not know."""
    digest = _index().get(type_name)
    if digest is None:
        return None
    with open(os.path.join(_data_dir(), "resources", f"{digest}.json")) as f:
        doc = json.load(f)
    return TypeSchema(
        type_name=type_name,
        create_only=_paths(doc.get("createOnlyProperties")),
        attributes=frozenset(".".join(p) for p in _paths(doc.get("readOnlyProperties"))),
        primary_identifier=tuple(".".join(p) for p in _paths(doc.get("primaryIdentifier"))),
        properties=frozenset(doc.get("properties") or ()),
    )
