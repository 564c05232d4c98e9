"""The IAM policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) on overcast's one
policy evaluator (overcast.aws.policy).

For each action and resource the decision is AWS's evaluation logic for a request within one
account: an explicit Deny in any policy wins ("explicitDeny"); else the request is "allowed" when
an identity policy (or the resource policy) allows it and, when permissions boundaries are given,
a boundary allows it too; else "implicitDeny". A resource owned by another account
(ResourceOwner) needs both an identity policy's and the resource policy's Allow.

Each matched statement is located in its policy's text as AWS reports it: the line and column
(1-based) just inside the statement's opening brace, and just past its closing brace.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from overcast.aws import policy as evaluator

ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY = "allowed", "explicitDeny", "implicitDeny"
IDENTITY_TYPE = "IAM Policy"  # the SourcePolicyType AWS's recorded answers give identity policies
RESOURCE_TYPE = "resource"
# The members of a ResourceSpecificResult (a per-resource decision also carries how the identity
# and resource policies decided, for EvalDecisionDetails)
_RESOURCE_RESULT = ("EvalResourceName", "EvalResourceDecision", "MatchedStatements", "MissingContextValues")


class PolicySource(NamedTuple):
    id: str  # SourcePolicyId: a policy's name, or PolicyInputList.N for a policy given in the request
    type: str  # SourcePolicyType
    document: str


class Simulation(NamedTuple):
    identity: list[PolicySource]
    boundaries: list[PolicySource]  # empty: no permissions boundary applies
    resource_policy: PolicySource | None
    principal: evaluator.Principal
    context: dict  # condition keys, lower-cased
    cross_account: bool


def _positions(text: str, start: int, end: int) -> tuple[dict, dict]:
    def at(index: int) -> dict:
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        return {"Line": line, "Column": column}

    return at(start + 1), at(end)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def statement_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets in a policy's JSON text of each statement object, in order: start at
    its `{`, end just past its `}`. [] when the text cannot be scanned."""
    decoder = json.JSONDecoder()
    try:
        index = _skip_space(text, 0)
        if text[index] != "{":
            return []
        index += 1
        while True:
            index = _skip_space(text, index)
            if text[index] == "}":
                return []
            key, index = decoder.raw_decode(text, index)
            index = _skip_space(text, _skip_space(text, index) + 1)  # past the colon
            _, end = decoder.raw_decode(text, index)
            if key == "Statement":
                if text[index] == "{":
                    return [(index, end)]
                return _array_spans(text, index, decoder)
            index = _skip_space(text, end)
            if text[index] == ",":
                index += 1
    except (ValueError, IndexError):
        return []


def _array_spans(text: str, index: int, decoder: json.JSONDecoder) -> list[tuple[int, int]]:
    spans = []
    index += 1  # past the [
    while True:
        index = _skip_space(text, index)
        if text[index] == "]":
            return spans
        _, end = decoder.raw_decode(text, index)
        spans.append((index, end))
        index = _skip_space(text, end)
        if text[index] == ",":
            index += 1


def _matched(source: PolicySource, request: evaluator.Request) -> tuple[list[tuple[str, dict]], set[str]]:
    """The statements of one policy that apply to the request, as (effect, MatchedStatement), and
    the condition keys the request lacks for statements whose action and resource match."""
    spans = statement_spans(source.document)
    matched, missing = [], set()
    for position, statement in enumerate(evaluator.statements(source.document)):
        if not evaluator.applies(statement, request, conditions=False):
            continue
        missing |= {key for key in evaluator.condition_keys(statement) if key.lower() not in request.context}
        if not evaluator.applies(statement, request):
            continue
        entry = {"SourcePolicyId": source.id, "SourcePolicyType": source.type}
        if position < len(spans):
            entry["StartPosition"], entry["EndPosition"] = _positions(source.document, *spans[position])
        matched.append((statement.get("Effect"), entry))
    return matched, missing


def _decide(simulation: Simulation, action: str, resource: str) -> dict:
    request = evaluator.Request(simulation.principal, action, resource, simulation.context)
    statements, missing = [], set()
    effects = {"identity": set(), "boundary": set(), "resource": set()}
    groups = [("identity", s) for s in simulation.identity] + [("boundary", s) for s in simulation.boundaries]
    if simulation.resource_policy is not None:
        groups.append(("resource", simulation.resource_policy))
    for group, source in groups:
        matched, lacking = _matched(source, request)
        missing |= lacking
        for effect, entry in matched:
            effects[group].add(effect)
            statements.append(entry)
    by_identity = evaluator.ALLOW in effects["identity"]
    within_boundary = not simulation.boundaries or evaluator.ALLOW in effects["boundary"]
    by_resource = evaluator.ALLOW in effects["resource"]
    if evaluator.DENY in effects["identity"] | effects["boundary"] | effects["resource"]:
        decision = EXPLICIT_DENY
    elif simulation.cross_account:
        decision = ALLOWED if by_identity and within_boundary and by_resource else IMPLICIT_DENY
    else:
        decision = ALLOWED if (by_identity and within_boundary) or by_resource else IMPLICIT_DENY
    result = {
        "EvalResourceName": resource,
        "EvalResourceDecision": decision,
        "MatchedStatements": statements,
        "MissingContextValues": sorted(missing),
        "by_identity": _group_decision(effects["identity"]),
        "by_resource": _group_decision(effects["resource"]),
    }
    if simulation.boundaries:
        result["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": evaluator.ALLOW in effects["boundary"]
            and evaluator.DENY not in effects["boundary"]
        }
    return result


def _group_decision(effects: set) -> str:
    if evaluator.DENY in effects:
        return EXPLICIT_DENY
    return ALLOWED if evaluator.ALLOW in effects else IMPLICIT_DENY


def _combined(decisions: set[str]) -> str:
    if EXPLICIT_DENY in decisions:
        return EXPLICIT_DENY
    return ALLOWED if decisions == {ALLOWED} else IMPLICIT_DENY


def _details(per_resource: list[dict], resources: list[str], cross_account: bool) -> dict | None:
    """EvalDecisionDetails: how each kind of policy decided, for a cross-account simulation;
    empty within one account for named resources; absent for all resources ("*")."""
    if not cross_account:
        return None if resources == ["*"] else {}
    return {
        "IAM Policy": _combined({r["by_identity"] for r in per_resource}),
        "Resource Policy": _combined({r["by_resource"] for r in per_resource}),
    }


def simulate(simulation: Simulation, actions: list[str], resources: list[str]) -> list[dict]:
    """One EvaluationResult per action, with a ResourceSpecificResult per resource."""
    results = []
    for action in actions:
        per_resource = [_decide(simulation, action, resource) for resource in resources]
        decision = _combined({r["EvalResourceDecision"] for r in per_resource})
        matched = [s for r in per_resource for s in r["MatchedStatements"]]
        result = {
            "EvalActionName": action,
            "EvalResourceName": resources[0] if len(resources) == 1 else "*",
            "EvalDecision": decision,
            "MatchedStatements": list({json.dumps(s, sort_keys=True): s for s in matched}.values()),
            "MissingContextValues": sorted({k for r in per_resource for k in r["MissingContextValues"]}),
            "OrganizationsDecisionDetail": {"AllowedByOrganizations": True},  # no SCPs in overcast
            "ResourceSpecificResults": [{k: r[k] for k in _RESOURCE_RESULT} for r in per_resource],
        }
        details = _details(per_resource, resources, simulation.cross_account)
        if details is not None:
            result["EvalDecisionDetails"] = details
        boundary = [r["PermissionsBoundaryDecisionDetail"] for r in per_resource if "PermissionsBoundaryDecisionDetail" in r]
        if boundary:
            result["PermissionsBoundaryDecisionDetail"] = {
                "AllowedByPermissionsBoundary": all(b["AllowedByPermissionsBoundary"] for b in boundary)
            }
        results.append(result)
    return results


def context_from_entries(entries: list | None) -> dict:
    """ContextEntries as the evaluator's condition keys: lower-cased names, a list for *List types."""
    context = {}
    for entry in entries or []:
        name = entry.get("ContextKeyName")
        values = entry.get("ContextKeyValues") or []
        if not name:
            continue
        kind = entry.get("ContextKeyType") or "string"
        context[name.lower()] = values if kind.endswith("List") else (values[0] if values else None)
    return {key: value for key, value in context.items() if value is not None}
