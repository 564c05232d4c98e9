"""XML bodies <-> Python values, shared by the query and rest-xml protocols.

Output is built as strings (with escaping), following the element naming rules botocore's XML
parsers apply (locationName, flattened lists and maps, xmlNamespace, xmlAttribute). Input is
parsed with the stdlib ElementTree after refusing any DTD (no entity expansion attacks).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from overcast.aws.models import ServiceModel
from overcast.aws.protocols.shapes import from_text, ref_traits, to_text

# Services whose XML times always carry milliseconds (`2023-11-15T12:02:40.000Z`), where others
# write them only when there is a fraction: S3 (the S3 API reference's examples, AWS's recorded
# answers).
MILLISECOND_TIMESTAMPS = frozenset(("s3",))

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#xD;", "\n": "&#xA;", "\t": "&#x9;"}
)
_NAMESPACE = re.compile(r"^\{[^}]*\}")
# members of an output structure that do not go in the body (uri/querystring ones do: AWS ignores
# request locations in responses)
BOUND_ELSEWHERE = frozenset(("header", "headers", "statusCode"))


class XmlSyntaxError(ValueError):
    pass


def escape_text(text: str) -> str:
    return text.translate(_TEXT_ESCAPES)


def escape_attr(text: str) -> str:
    return text.translate(_ATTR_ESCAPES)


def parse_xml(body: bytes) -> ET.Element:
    """Parse a request body; DTDs (and so entity declarations) are refused."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise XmlSyntaxError("DTDs are not allowed")
    parser = ET.XMLParser()
    try:
        parser.feed(body)
        return parser.close()
    except ET.ParseError as e:
        raise XmlSyntaxError(str(e)) from None


def tag_of(node: ET.Element) -> str:
    tag = node.tag
    return tag[tag.index("}") + 1:] if tag[:1] == "{" else tag


def namespace_attr(traits: dict) -> str:
    ns = traits.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{escape_attr(ns)}"'
    prefix = ns.get("prefix")
    uri = escape_attr(ns.get("uri", ""))
    return f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'


# -- structure plans ---------------------------------------------------------------------------


def _plan(model: ServiceModel, shape_name: str) -> list[tuple]:
    """(member name, element name, shape name, kind, traits, alternative element name) for each
    member of a structure. The element name is what botocore's parsers read (a target shape's own
    locationName, a flattened list's member name); Smithy clients name elements after the member
    reference alone, so input accepts that too."""
    cache = model.cache("xml_plans")
    plan = cache.get(shape_name)
    if plan is None:
        plan = []
        for name, ref in model.shapes[shape_name].get("members", {}).items():
            traits = ref_traits(model, ref)
            target = model.shapes[ref["shape"]]
            kind = target["type"]
            tag = traits.get("locationName", name)
            if kind == "list" and traits.get("flattened"):
                member_name = ref_traits(model, target["member"]).get("locationName")
                if member_name:
                    tag = member_name
            plan.append((name, tag, ref["shape"], kind, traits, ref.get("locationName", name)))
        cache[shape_name] = plan
    return plan


# -- output ------------------------------------------------------------------------------------


def structure_children(model: ServiceModel, shape_name: str, value: dict, parts: list[str]) -> None:
    """Append the child elements of a structure (members bound to a location are skipped)."""
    for name, tag, target, kind, traits, _ in _plan(model, shape_name):
        v = value.get(name)
        if v is None or traits.get("location") in BOUND_ELSEWHERE or traits.get("xmlAttribute"):
            continue
        element(model, target, kind, tag, traits, v, parts)


def structure_attrs(model: ServiceModel, shape_name: str, value: dict) -> str:
    attrs = []
    for name, tag, _target, kind, traits, _ in _plan(model, shape_name):
        if traits.get("xmlAttribute") and value.get(name) is not None:
            text = to_text(kind, value[name], traits.get("timestampFormat"))
            attrs.append(f' {tag}="{escape_attr(text)}"')
    return "".join(attrs)


def element(model: ServiceModel, shape_name: str, kind: str, tag: str, traits: dict, value, parts: list[str]) -> None:
    shape = model.shapes[shape_name]
    if kind == "structure":
        if not isinstance(value, dict):
            return
        attrs = namespace_attr(traits) + structure_attrs(model, shape_name, value)
        parts.append(f"<{tag}{attrs}>")
        structure_children(model, shape_name, value, parts)
        parts.append(f"</{tag}>")
    elif kind == "list":
        mref = shape["member"]
        mtraits = ref_traits(model, mref)
        mkind = model.shapes[mref["shape"]]["type"]
        if traits.get("flattened"):
            for item in value:
                if item is not None:
                    element(model, mref["shape"], mkind, tag, {**mtraits, **_ns_only(traits)}, item, parts)
        else:
            item_tag = mtraits.get("locationName", "member")
            parts.append(f"<{tag}{namespace_attr(traits)}>")
            for item in value:
                if item is not None:
                    element(model, mref["shape"], mkind, item_tag, mtraits, item, parts)
            parts.append(f"</{tag}>")
    elif kind == "map":
        kref, vref = shape["key"], shape["value"]
        ktraits, vtraits = ref_traits(model, kref), ref_traits(model, vref)
        ktag, vtag = ktraits.get("locationName", "key"), vtraits.get("locationName", "value")
        kkind, vkind = model.shapes[kref["shape"]]["type"], model.shapes[vref["shape"]]["type"]
        flattened = traits.get("flattened")
        if not flattened:
            parts.append(f"<{tag}{namespace_attr(traits)}>")
        for k, v in value.items():
            if v is None:
                continue
            parts.append(f"<{tag}{namespace_attr(traits)}>" if flattened else "<entry>")
            element(model, kref["shape"], kkind, ktag, ktraits, k, parts)
            element(model, vref["shape"], vkind, vtag, vtraits, v, parts)
            parts.append(f"</{tag}>" if flattened else "</entry>")
        if not flattened:
            parts.append(f"</{tag}>")
    else:
        fmt = traits.get("timestampFormat") or shape.get("timestampFormat")
        if kind == "timestamp" and fmt is None and model.name in MILLISECOND_TIMESTAMPS:
            fmt = "iso8601-milliseconds"
        text = to_text(kind, value, fmt)
        parts.append(f"<{tag}{namespace_attr(traits)}>{escape_text(text)}</{tag}>")


def _ns_only(traits: dict) -> dict:
    return {"xmlNamespace": traits["xmlNamespace"]} if "xmlNamespace" in traits else {}


# -- input -------------------------------------------------------------------------------------


def _children_by_tag(node: ET.Element) -> dict:
    out: dict = {}
    for child in node:
        key = tag_of(child)
        if key in out:
            existing = out[key]
            if isinstance(existing, list):
                existing.append(child)
            else:
                out[key] = [existing, child]
        else:
            out[key] = child
    return out


def decode_structure(model: ServiceModel, shape_name: str, node: ET.Element) -> dict:
    """A structure's members from an element's children and attributes."""
    if isinstance(node, list):
        node = node[0]
    children = _children_by_tag(node)
    out = {}
    for name, tag, target, kind, traits, alt in _plan(model, shape_name):
        if "location" in traits:
            continue
        if traits.get("xmlAttribute"):
            value = _attribute(node, tag)
            if value is not None:
                out[name] = _scalar(kind, value, traits, name, model.shapes[target])
            continue
        child = children.get(tag)
        if child is None and alt != tag:
            child = children.get(alt)
        if child is not None:
            out[name] = decode_value(model, target, kind, traits, child, name)
    return out


def _attribute(node: ET.Element, name: str):
    if ":" in name:
        prefix, local = name.split(":", 1)
        for key, value in node.attrib.items():
            if key.endswith("}" + local) or key == name:
                return value
        return None
    return node.attrib.get(name)


def decode_value(model: ServiceModel, shape_name: str, kind: str, traits: dict, node, name: str):
    shape = model.shapes[shape_name]
    if kind == "structure":
        return decode_structure(model, shape_name, node)
    if kind == "list":
        mref = shape["member"]
        mtraits = ref_traits(model, mref)
        mkind = model.shapes[mref["shape"]]["type"]
        if traits.get("flattened"):
            items = node if isinstance(node, list) else [node]
        else:
            items = list(node[0] if isinstance(node, list) else node)
        return [decode_value(model, mref["shape"], mkind, mtraits, item, name) for item in items]
    if kind == "map":
        kref, vref = shape["key"], shape["value"]
        ktraits, vtraits = ref_traits(model, kref), ref_traits(model, vref)
        ktag, vtag = ktraits.get("locationName", "key"), vtraits.get("locationName", "value")
        kkind, vkind = model.shapes[kref["shape"]]["type"], model.shapes[vref["shape"]]["type"]
        if traits.get("flattened"):
            entries = node if isinstance(node, list) else [node]
        else:
            entries = list(node[0] if isinstance(node, list) else node)
        out = {}
        for entry in entries:
            key = value = None
            for part in entry:
                ptag = tag_of(part)
                if ptag == ktag:
                    key = decode_value(model, kref["shape"], kkind, ktraits, part, name)
                elif ptag == vtag:
                    value = decode_value(model, vref["shape"], vkind, vtraits, part, name)
            if key is not None:
                out[key] = value
        return out
    if isinstance(node, list):
        node = node[0]
    return _scalar(kind, node.text or "", traits, name, shape)


def _scalar(kind: str, text: str, traits: dict, name: str, shape: dict):
    if kind not in ("string", "blob", "timestamp"):
        text = text.strip()
    return from_text(kind, text, traits.get("timestampFormat") or shape.get("timestampFormat"))
