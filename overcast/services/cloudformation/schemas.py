"""The CloudFormation resource provider schemas, as data: which property changes replace a resource
(createOnlyProperties), which attributes Fn::GetAtt returns (readOnlyProperties), each type's
primary identifier, where its tags go (tagging.tagProperty: stack tags are added there) and the
type of every property (a template's "5" becomes the integer 5 where the schema says integer, as
CloudFormation hands typed properties to its resource handlers). They come from the `cfn-lint`
package, which ships AWS's published schemas; a type's schema is read the first time a template
uses that type."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TypeSchema:
    type_name: str
    create_only: tuple[tuple[str, ...], ...]  # property paths, e.g. ("QueueName",)
    attributes: frozenset[str]  # GetAtt names: "Arn", "Endpoint.Address"
    primary_identifier: tuple[str, ...]
    properties: frozenset[str]
    # Where stack tags go: the top-level property, whether it is a {key: value} map (else a list of
    # {Key, Value}), and whether a change of them is an in-place update (tagging.tagUpdatable).
    tag_property: str | None = None
    tag_map: bool = False
    tags_updatable: bool = True
    document: dict = field(default_factory=dict, repr=False, compare=False)

    def coerce(self, properties: dict) -> dict:
        """`properties` with scalars converted to the types the schema declares."""
        return _coerce(self.document, {"properties": self.document.get("properties") or {}}, properties, 0)

    def property_path(self, attribute: str) -> tuple[str, ...] | None:
        """The property path an Fn::GetAtt name reads when it is no readOnlyProperty: CloudFormation
        answers Fn::GetAtt of a registry type's own properties too ("DisplayName", "A.B")."""
        path = tuple(attribute.split("."))
        return path if path[0] in self.properties else None

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
    tagging = doc.get("tagging") or {}
    tag_path = _paths([tagging["tagProperty"]])[0] if tagging.get("taggable", True) and tagging.get(
        "tagProperty") else ()
    tag_property = tag_path[0] if len(tag_path) == 1 else None
    tag_spec = _resolve(doc, (doc.get("properties") or {}).get(tag_property) or {}) if tag_property else {}
    kind = tag_spec.get("type")
    if tag_property and kind not in ("array", "object") and not (isinstance(kind, list) and "object" in kind):
        tag_property = None
    return TypeSchema(
        type_name=type_name,
        create_only=_paths(doc.get("createOnlyProperties")),
        attributes=frozenset(".".join(p) for p in _paths(doc.get("readOnlyProperties"))),
        primary_identifier=tuple(".".join(p) for p in _paths(doc.get("primaryIdentifier"))),
        properties=frozenset(doc.get("properties") or ()),
        tag_property=tag_property,
        tag_map=kind != "array",
        tags_updatable=bool(tagging.get("tagUpdatable", True)),
        document=doc,
    )


def _resolve(doc: dict, spec: dict) -> dict:
    for _ in range(8):  # a $ref to a $ref, never a loop
        ref = spec.get("$ref") if isinstance(spec, dict) else None
        if not ref or not ref.startswith("#/definitions/"):
            break
        spec = (doc.get("definitions") or {}).get(ref[len("#/definitions/"):]) or {}
    return spec if isinstance(spec, dict) else {}


_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _coerce(doc: dict, spec: dict, value, depth: int):
    spec = _resolve(doc, spec)
    if depth > 32 or not spec:
        return value
    if isinstance(value, dict):
        properties = spec.get("properties") or {}
        patterns = spec.get("patternProperties") or {}
        extra = spec.get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None:
                sub = next((s for p, s in patterns.items() if _key_matches(p, key)), None)
            if sub is None and isinstance(extra, dict):
                sub = extra
            out[key] = _coerce(doc, sub, item, depth + 1) if sub is not None else item
        return out
    if isinstance(value, list):
        items = spec.get("items")
        return [_coerce(doc, items, v, depth + 1) for v in value] if isinstance(items, dict) else value
    kinds = spec.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if not kinds or _matches(value, kinds):
        return value
    for kind in kinds:
        converted = _convert(value, kind)
        if converted is not None:
            return converted
    return value


@functools.lru_cache(maxsize=512)
def _pattern(pattern: str):
    try:
        return re.compile(pattern)
    except re.error:  # an ECMA/Java class Python lacks (\\p{L}): the pattern admits any key
        return None


def _key_matches(pattern: str, key: str) -> bool:
    compiled = _pattern(pattern)
    return compiled is None or compiled.search(key) is not None


def _matches(value, kinds: list) -> bool:
    for kind in kinds:
        if kind == "string" and isinstance(value, str):
            return True
        if kind == "boolean" and isinstance(value, bool):
            return True
        if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if kind in ("object", "array"):
            return True  # a string where an object may be (JSON text) is the handler's to read
    return False


def _convert(value, kind: str):
    if kind == "integer":
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind == "number" and isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if _INTEGER.fullmatch(value.strip()) else number
    elif kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    elif kind == "string" and isinstance(value, (bool, int, float)):
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    return None
