"""Intrinsic functions and conditions: evaluating a template value, and finding what it refers to.

`Evaluator` resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If,
Fn::Equals/And/Or/Not, Fn::FindInMap, Fn::Base64, Fn::GetAZs, Fn::ImportValue, Fn::Cidr and the
AWS::LanguageExtensions functions Fn::Length and Fn::ToJsonString. Resource references are answered
by the caller (`ref_resource`, `get_att`, `import_value`), so the same evaluator serves a
deployment, a change set's diff and the outputs.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable

from overcast.services.cloudformation.template import format_error, validation_error

NO_VALUE = object()  # AWS::NoValue: the property or list element disappears
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
FUNCTIONS = frozenset({"Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::If",
                       "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Fn::FindInMap", "Fn::Base64", "Fn::GetAZs",
                       "Fn::ImportValue", "Fn::Cidr", "Fn::Length", "Fn::ToJsonString", "Fn::Transform"})


class Unresolved(Exception):
    """A value that depends on a resource attribute not known yet (a change set's diff)."""


def template_error(message: str):
    return validation_error(f"Template error: {message}")


def sub_parts(text: str) -> list[str | tuple[str]]:
    """'a-${X}-${!Y}' -> ['a-', ('X',), '-${Y}']: literals and variable names."""
    parts: list = []
    pos = 0
    for m in _SUB_VAR.finditer(text):
        parts.append(text[pos:m.start()])
        name = m.group(1)
        if name.startswith("!"):
            parts.append("${" + name[1:] + "}")
        else:
            parts.append((name.strip(),))
        pos = m.end()
    parts.append(text[pos:])
    return [p for p in parts if p != ""]


def get_att_args(value) -> tuple[str, object]:
    if isinstance(value, str):
        logical, _, attribute = value.partition(".")
        return logical, attribute
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return value[0], value[1]
    raise template_error("every Fn::GetAtt object requires two non-empty parameters, the resource name and the "
                         "resource attribute")


def intrinsic(node) -> tuple[str, object] | None:
    """(function name, argument) when `node` is an intrinsic call."""
    if isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        if key in FUNCTIONS:
            return key, node[key]
    return None


class Evaluator:
    def __init__(self, template: dict, parameters: dict, pseudo: dict, *,
                 ref_resource: Callable[[str], object] | None = None,
                 get_att: Callable[[str, str], object] | None = None,
                 import_value: Callable[[str], str] | None = None):
        self.template = template
        self.parameters = parameters  # name -> value (a list for List<...> types)
        self.pseudo = pseudo
        self.resources = template.get("Resources") or {}
        self.mappings = template.get("Mappings") or {}
        self.condition_defs = template.get("Conditions") or {}
        self._conditions: dict[str, bool] = {}
        self._resolving: set[str] = set()
        self.ref_resource = ref_resource
        self.get_att = get_att
        self.import_value = import_value

    # -- conditions --------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.condition_defs:
                raise template_error(f"unresolved condition dependency {name} in Fn::If")
            if name in self._resolving:
                raise format_error(f"Circular dependency between conditions: [{name}]")
            self._resolving.add(name)
            try:
                self._conditions[name] = self._truth(self.evaluate(self.condition_defs[name]))
            finally:
                self._resolving.discard(name)
        return self._conditions[name]

    def active(self, logical_id: str) -> bool:
        """Whether a resource (or output) with a Condition is part of this deployment."""
        name = (self.resources.get(logical_id) or {}).get("Condition")
        return True if name is None else self.condition(name)

    @staticmethod
    def _truth(value) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise template_error("Conditions can only be boolean operations on parameters and other conditions")

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, node):
        call = intrinsic(node)
        if call is not None:
            return getattr(self, "_" + call[0].replace("Fn::", "").lower())(call[1])
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                value = self.evaluate(value)
                if value is not NO_VALUE:
                    out[key] = value
            return out
        if isinstance(node, list):
            return [v for v in (self.evaluate(x) for x in node) if v is not NO_VALUE]
        return node

    def _ref(self, name):
        if not isinstance(name, str):
            name = self.evaluate(name)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            if self.parameters[name] == "AWS::NoValue":
                # AWS's recorded answer (a LogGroupName parameter defaulting to "AWS::NoValue" gives
                # the group a generated name): the value is the pseudo parameter, not a string
                return NO_VALUE
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources and self.ref_resource is not None:
            return self.ref_resource(name)
        raise format_error(f"Unresolved resource dependencies [{name}] in the Resources block of the template")

    def _condition(self, name):
        return self.condition(name)

    def _getatt(self, args):
        logical, attribute = get_att_args(args)
        if not isinstance(attribute, str):
            attribute = self.evaluate(attribute)
        if logical not in self.resources:
            raise template_error(f"instance of Fn::GetAtt references undefined resource {logical}")
        if self.get_att is None:
            raise Unresolved(logical)
        return self.get_att(logical, attribute)

    def _sub(self, args):
        if isinstance(args, str):
            text, variables = args, {}
        elif isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
            text, variables = args[0], {k: self.evaluate(v) for k, v in args[1].items()}
        else:
            raise template_error("One or more Fn::Sub intrinsic functions don't specify expected arguments. "
                                 "Specify a string as first argument, and an optional second argument to specify "
                                 "a mapping of values to replace in the string")
        out = []
        for part in sub_parts(text):
            if isinstance(part, str):
                out.append(part)
                continue
            name = part[0]
            if name in variables:
                value = variables[name]
            elif "." in name and name.split(".", 1)[0] in self.resources:
                value = self._getatt(name.split(".", 1))
            else:
                value = self._ref(name)
            out.append(_string(value))
        return "".join(out)

    def _join(self, args):
        if not (isinstance(args, list) and len(args) == 2):
            raise template_error("every Fn::Join object requires two parameters, (1) a string delimiter and "
                                 "(2) a list of strings to be joined or a function that returns a list of strings "
                                 "(such as Fn::GetAZs) to be joined.")
        delimiter, values = self.evaluate(args[0]), self.evaluate(args[1])
        if not isinstance(values, list):
            raise template_error("every Fn::Join object requires two parameters, (1) a string delimiter and "
                                 "(2) a list of strings to be joined")
        return str(delimiter).join(_string(v) for v in values)

    def _select(self, args):
        if not (isinstance(args, list) and len(args) == 2):
            raise template_error("Fn::Select requires a list argument with two elements: an integer index "
                                 "and a list")
        index, values = self.evaluate(args[0]), self.evaluate(args[1])
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise template_error("Fn::Select requires a list argument with two elements: an integer index "
                                 "and a list") from None
        if not isinstance(values, list) or (isinstance(args[1], list) and not 0 <= index < len(values)):
            # what AWS answers for a literal list too short, as for a list that is none
            raise template_error("Fn::Select requires a list argument with two elements: an integer index "
                                 "and a list")
        if not 0 <= index < len(values):  # a list a function made
            raise template_error(f"Fn::Select cannot select nonexistent value at index {index}")
        return values[index]

    def _split(self, args):
        if not (isinstance(args, list) and len(args) == 2):
            raise template_error("every Fn::Split object requires two parameters, (1) a string delimiter and "
                                 "(2) a string to be split or a function that returns a string to be split.")
        delimiter, text = self.evaluate(args[0]), self.evaluate(args[1])
        return _string(text).split(str(delimiter))

    def _if(self, args):
        if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
            raise template_error("Fn::If requires a list argument with the first element being a condition")
        return self.evaluate(args[1] if self.condition(args[0]) else args[2])

    def _equals(self, args):
        if not (isinstance(args, list) and len(args) == 2):
            raise template_error("Fn::Equals requires a list argument with two elements")
        a, b = self.evaluate(args[0]), self.evaluate(args[1])
        return _comparable(a) == _comparable(b)

    def _and(self, args):
        if not isinstance(args, list) or not 2 <= len(args) <= 10:
            raise template_error("Fn::And requires a list argument with between 2 and 10 elements")
        return all(self._truth(self.evaluate(a)) for a in args)

    def _or(self, args):
        if not isinstance(args, list) or not 2 <= len(args) <= 10:
            raise template_error("Fn::Or requires a list argument with between 2 and 10 elements")
        return any(self._truth(self.evaluate(a)) for a in args)

    def _not(self, args):
        if not isinstance(args, list) or len(args) != 1:
            raise template_error("Fn::Not requires a list argument with one element")
        return not self._truth(self.evaluate(args[0]))

    def _findinmap(self, args):
        if not isinstance(args, list) or len(args) not in (3, 4):
            raise template_error("every Fn::FindInMap object requires three parameters, the map name, map key "
                                 "and the attribute for return value")
        name, top, second = (self.evaluate(a) for a in args[:3])
        try:
            return self.mappings[name][_string(top)][_string(second)]
        except (KeyError, TypeError):
            if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                return self.evaluate(args[3]["DefaultValue"])
            if name not in self.mappings:
                raise template_error(f"Unable to get mapping for {name}::{top}::{second}") from None
            raise template_error(f"Unable to get mapping for {name}::{top}::{second}") from None

    def _base64(self, value):
        return base64.b64encode(_string(self.evaluate(value)).encode()).decode()

    def _getazs(self, value):
        region = self.evaluate(value) or self.pseudo["AWS::Region"]
        return [f"{region}{z}" for z in "abc"]

    def _importvalue(self, value):
        name = self.evaluate(value)
        if self.import_value is None:
            raise Unresolved(f"import {name}")
        return self.import_value(_string(name))

    def _cidr(self, args):
        if not isinstance(args, list) or len(args) != 3:
            raise template_error("Fn::Cidr requires a list argument with three elements")
        block, count, bits = (self.evaluate(a) for a in args)
        try:
            network = ipaddress.ip_network(str(block), strict=False)
            count, bits = int(count), int(bits)
            prefix = network.max_prefixlen - bits
            subnets = network.subnets(new_prefix=prefix)
            return [str(next(subnets)) for _ in range(count)]
        except (ValueError, StopIteration):
            raise template_error(f"Fn::Cidr cannot split {block} into {count} subnets of {bits} bits") from None

    def _length(self, value):
        value = self.evaluate(value)
        if not isinstance(value, list):
            raise template_error("Fn::Length requires a list or a function that returns a list")
        return len(value)

    def _tojsonstring(self, value):
        return json.dumps(self.evaluate(value), separators=(",", ":"))

    def _transform(self, value):
        raise template_error("Fn::Transform (macros such as AWS::Include) is not supported by overcast")


def _string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list):
        return ",".join(_string(v) for v in value)
    raise template_error(f"a string was expected, found {type(value).__name__}")


def _comparable(value):
    if isinstance(value, (bool, int, float)):
        return _string(value)
    return value


# -- what a value refers to ----------------------------------------------------------------------

def references(node, conditions: Callable[[str], bool] | None = None) -> tuple[set[str], set[tuple[str, str]]]:
    """The names `node` Refs (including Sub's ${X}) and the (resource, attribute) pairs it GetAtts.
    With `conditions`, only the branch of each Fn::If that the condition selects is followed."""
    refs: set[str] = set()
    atts: set[tuple[str, str]] = set()

    def walk(value):
        call = intrinsic(value)
        if call is not None:
            name, arg = call
            if name == "Ref":
                if isinstance(arg, str):
                    refs.add(arg)
                else:
                    walk(arg)
                return
            if name == "Fn::GetAtt":
                try:
                    logical, attribute = get_att_args(arg)
                except Exception:
                    return
                atts.add((logical, attribute if isinstance(attribute, str) else ""))
                return
            if name == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (
                    (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else ("", {}))
                if isinstance(variables, dict):
                    walk(list(variables.values()))
                for part in sub_parts(text if isinstance(text, str) else ""):
                    if isinstance(part, tuple) and part[0] not in (variables or {}):
                        if "." in part[0]:
                            logical, attribute = part[0].split(".", 1)
                            atts.add((logical, attribute))
                        else:
                            refs.add(part[0])
                return
            if name == "Fn::If" and conditions is not None and isinstance(arg, list) and len(arg) == 3:
                try:
                    walk(arg[1] if conditions(arg[0]) else arg[2])
                    return
                except Exception:
                    pass
            walk(arg)
            return
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(node)
    return refs, atts
