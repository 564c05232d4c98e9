"""A change set's Changes: which resources an update adds, modifies (replacing them or not) and
removes, computed from the deployed resources' properties and the new template."""

from __future__ import annotations

from overcast.services.cloudformation import schemas
from overcast.services.cloudformation.engine import dependencies, property_attribute, pseudo_parameters
from overcast.services.cloudformation.intrinsics import Evaluator, Unresolved, intrinsic, references
from overcast.services.cloudformation.resources import resource_type


def compute(engine, stack: dict | None, draft: dict, deployed: dict[str, dict]) -> tuple[list[dict], str | None]:
    """The change set's Changes, and the warning AWS shows (as StatusReason) with its property
    values when one of them cannot be worked out (an Fn::ImportValue of an export not there)."""
    template = draft["template"]
    resources = template["Resources"]
    changing: set[str] = set()  # resources whose Ref or attributes may change
    replaced: set[str] = set()

    def ref_resource(logical_id):
        resource = deployed.get(logical_id)
        if logical_id in replaced or resource is None or not resource.get("PhysicalResourceId"):
            raise Unresolved(logical_id)
        kind = resource_type(resource["ResourceType"])
        return kind.ref(resource["PhysicalResourceId"], resource.get("attributes") or {}) if kind else \
            resource["PhysicalResourceId"]

    def deployed_att(logical_id, attribute):
        # the value the deployed resource answers; none for one this change set adds or replaces
        resource = deployed.get(logical_id)
        if logical_id in replaced or resource is None:
            raise Unresolved(logical_id)
        attributes = resource.get("attributes") or {}
        if attribute in attributes:
            return attributes[attribute]
        found, value = property_attribute(resource, attribute)
        if not found:
            raise Unresolved(logical_id)
        return value

    def get_att(logical_id, attribute):  # Details: any change of the target makes the value Dynamic
        if logical_id in changing:
            raise Unresolved(logical_id)
        return deployed_att(logical_id, attribute)

    missing_exports: list[tuple[str, str]] = []  # (resource, export)
    at = [""]  # the resource being looked at

    def import_value(name):
        found = engine.store.export(draft["account"], draft["region"], name)
        if found is None:
            missing_exports.append((at[0], name))
            raise Unresolved(name)
        return found[0]

    evaluator = Evaluator(template, draft["values"], pseudo_parameters(draft), ref_resource=ref_resource,
                          get_att=get_att, import_value=import_value)
    # The property values (Before/AfterContext) AWS shows read Fn::GetAtt of a resource that stays
    # from what is deployed, also when this change set modifies it (its recorded answers do)
    values = Evaluator(template, draft["values"], pseudo_parameters(draft), ref_resource=ref_resource,
                       get_att=deployed_att, import_value=import_value)
    active = [r for r in resources if evaluator.active(r)]
    order = _topological(active, dependencies(template, evaluator))
    changes = []
    for logical_id in order:
        at[0] = logical_id
        definition = resources[logical_id]
        current = deployed.get(logical_id)
        if current is None:
            changing.add(logical_id)
            replaced.add(logical_id)
            changes.append(_change("Add", logical_id, definition["Type"],
                                   after=_context(values, definition)))
            continue
        if current["ResourceType"] != definition["Type"]:
            changing.add(logical_id)
            replaced.add(logical_id)
            changes.append(_change("Modify", logical_id, definition["Type"], current, "True", [],
                                   after=_context(values, definition)))
            continue
        details, replacement = _details(evaluator, definition, current, replaced | changing)
        if definition.get("Metadata") != current.get("Metadata") and not details:
            details.append({"Target": {"Attribute": "Metadata", "RequiresRecreation": "Never"},
                            "Evaluation": "Static", "ChangeSource": "DirectModification"})
        if details:
            changing.add(logical_id)
            if replacement == "True":
                replaced.add(logical_id)
            after = _context(values, definition)
            change = _change("Modify", logical_id, definition["Type"], current, replacement, details, after=after)
            if all(d["Evaluation"] == "Dynamic" for d in details) and \
                    after["Properties"] == (current.get("properties") or {}):
                # only Dynamic details whose values come out the same: AWS leaves this change out
                # when DescribeChangeSet shows property values
                change[SAME_VALUES] = True
            changes.append(change)
    for logical_id, current in deployed.items():
        if logical_id not in active:
            changes.append(_change("Remove", logical_id, current["ResourceType"], current))
    warning = None
    if missing_exports:
        warning = ("[WARN] --include-property-values option can return incomplete ChangeSet data because: "
                   f"ChangeSet creation failed for resource [{missing_exports[0][0]}] because: No export named "
                   f"{missing_exports[0][1]}")
    return changes, warning


def _details(evaluator: Evaluator, definition: dict, current: dict, moving: set[str]) -> tuple[list[dict], str]:
    schema = schemas.schema(definition["Type"])
    create_only = {p[0] for p in schema.create_only} if schema else set()
    new_props = definition.get("Properties") or {}
    old_props = current.get("properties") or {}
    details, replacement = [], "False"
    for name in sorted(set(new_props) | set(old_props)):
        dynamic = False
        if name in new_props:
            try:
                value = evaluator.evaluate({name: new_props[name]}).get(name)
            except Unresolved:
                value, dynamic = None, True
        else:
            value = None
        if not dynamic and value == old_props.get(name):
            continue
        refs, atts = references(new_props.get(name))
        recreation = "Never"
        if name in create_only:
            recreation = "Conditionally" if dynamic else "Always"
            if recreation == "Always":
                replacement = "True"
            elif replacement == "False":
                replacement = "Conditional"
        detail = {"Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
                  "Evaluation": "Dynamic" if dynamic else "Static"}
        causes = sorted({r for r in refs if r in moving} | {f"{a[0]}.{a[1]}" for a in atts if a[0] in moving})
        if dynamic and causes:
            detail["ChangeSource"] = "ResourceAttribute" if atts else "ResourceReference"
            detail["CausingEntity"] = causes[0]
        elif refs & set(evaluator.parameters):
            detail["ChangeSource"] = "ParameterReference"
            detail["CausingEntity"] = sorted(refs & set(evaluator.parameters))[0]
        else:
            detail["ChangeSource"] = "DirectModification"
        details.append(detail)
    return details, replacement


SAME_VALUES = "sameValues"  # a stored change's mark: not shown with IncludePropertyValues
KNOWN_AFTER_APPLY = "{{changeSet:KNOWN_AFTER_APPLY}}"  # AWS's stand-in for a value only deployment knows


def _context(evaluator: Evaluator, definition: dict) -> dict:
    """A resource's properties as the new template makes them (AfterContext)."""
    properties = {}
    for name, node in (definition.get("Properties") or {}).items():
        value = _known(evaluator, node)
        if value is not None:
            properties[name] = value
    return {"Properties": properties}


def _known(evaluator: Evaluator, node):
    """A property's value as far as the change set knows it: where a part of it depends on a
    resource being deployed, AWS's KNOWN_AFTER_APPLY stands for that part alone (the rest of an
    object or list is shown: a SAM API's generated Body is its swagger with the function's ARN
    unknown). None: AWS::NoValue."""
    try:
        return evaluator.evaluate({"value": node}).get("value")
    except Unresolved:
        pass
    if isinstance(node, dict) and intrinsic(node) is None:
        known = ((key, _known(evaluator, value)) for key, value in node.items())
        return {key: value for key, value in known if value is not None}
    if isinstance(node, list):
        return [value for value in (_known(evaluator, item) for item in node) if value is not None]
    return KNOWN_AFTER_APPLY


def _change(action: str, logical_id: str, type_name: str, current: dict | None = None,
            replacement: str | None = None, details: list | None = None, after: dict | None = None) -> dict:
    change = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": type_name, "Scope": [],
              "Details": details or []}
    # DescribeChangeSet shows these two only when asked for IncludePropertyValues
    if current is not None:
        change["BeforeContext"] = {"Properties": current.get("properties") or {}}
    if after is not None:
        change["AfterContext"] = after
    if current is not None and current.get("PhysicalResourceId"):
        change["PhysicalResourceId"] = current["PhysicalResourceId"]
    if action == "Modify":
        change["Replacement"] = replacement
        change["Scope"] = sorted({d["Target"]["Attribute"] for d in details or []} or {"Properties"})
    return {"Type": "Resource", "ResourceChange": change}


def _topological(nodes: list[str], needs: dict[str, set[str]]) -> list[str]:
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for dep in sorted(needs.get(node, ())):
            if dep in needs:
                visit(dep)
        if node in nodes:
            order.append(node)

    for node in nodes:
        visit(node)
    return order
