"""The legacy (pre-expression) parameters, translated into the expression ASTs:
Expected + ConditionalOperator, AttributesToGet, KeyConditions, QueryFilter/ScanFilter and
AttributeUpdates."""

from __future__ import annotations

from overcast.services.dynamodb.expressions import Node, Path, Value
from overcast.services.dynamodb.values import check_value, invalid, params_invalid, type_of

_ARGS = {"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1, "NOT_NULL": 0, "NULL": 0, "CONTAINS": 1,
         "NOT_CONTAINS": 1, "BEGINS_WITH": 1, "BETWEEN": 2}
_COMPARE = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}


def _values(op: str, values: list | None) -> list[Value]:
    values = [Value(check_value(v), "") for v in values or ()]
    expected = _ARGS.get(op)
    if (expected is not None and len(values) != expected) or (op == "IN" and not values):
        raise params_invalid(f"Invalid number of argument(s) for the {op} ComparisonOperator")
    if op in ("LE", "LT", "GE", "GT", "BETWEEN", "BEGINS_WITH"):
        for value in values:
            kind = type_of(value.value)
            if kind not in ("S", "N", "B") or (op == "BEGINS_WITH" and kind == "N"):
                raise params_invalid(f"ComparisonOperator {op} is not valid for {kind} AttributeValue type")
    return values


def _condition(name: str, op: str, values: list | None) -> Node:
    path = Path((name,))
    args = _values(op, values)
    if op in _COMPARE:
        return Node(_COMPARE[op], path, args[0])
    if op == "NOT_NULL":
        return Node("attribute_exists", path)
    if op == "NULL":
        return Node("attribute_not_exists", path)
    if op == "CONTAINS":
        return Node("contains", path, args[0])
    if op == "NOT_CONTAINS":
        return Node("NOT", Node("contains", path, args[0]))
    if op == "BEGINS_WITH":
        return Node("begins_with", path, args[0])
    if op == "IN":
        return Node("IN", path, *args)
    if op == "BETWEEN":
        return Node("BETWEEN", path, args[0], args[1])
    raise invalid(f"Unsupported ComparisonOperator: {op}")


def _combine(nodes: list[Node], operator: str | None) -> Node:
    node = nodes[0]
    for other in nodes[1:]:
        node = Node("OR" if operator == "OR" else "AND", node, other)
    return node


def expected(expected: dict, operator: str | None) -> Node:
    nodes = []
    for name, spec in expected.items():
        op = spec.get("ComparisonOperator")
        exists = spec.get("Exists")
        if op is not None:
            if "Value" in spec:
                raise params_invalid("Value and ComparisonOperator cannot be used together for Attribute: " + name)
            nodes.append(_condition(name, op, spec.get("AttributeValueList")))
        elif exists is False:
            if "Value" in spec:
                raise params_invalid("Value cannot be used when Exists is false for Attribute: " + name)
            nodes.append(Node("attribute_not_exists", Path((name,))))
        elif "Value" in spec:
            nodes.append(Node("=", Path((name,)), Value(check_value(spec["Value"]), "")))
        else:
            raise params_invalid("Value must be provided when Exists is true for Attribute: " + name)
    return _combine(nodes, operator)


def filter_conditions(conditions: dict, operator: str | None) -> Node:
    return _combine([_condition(n, c["ComparisonOperator"], c.get("AttributeValueList")) for n, c in conditions.items()],
                    operator)


def attributes_to_get(names: list) -> list[Path]:
    if len(set(names)) != len(names):
        raise invalid("One or more parameter values were invalid: Duplicate value in attribute name: "
                      + next(n for n in names if names.count(n) > 1))
    return [Path((n,)) for n in names]


def key_conditions(conditions: dict, hash_name: str, range_name: str | None) -> tuple:
    hash_value, sk_op, sk_values = None, None, ()
    for name, condition in conditions.items():
        op = condition["ComparisonOperator"]
        values = [check_value(v) for v in condition.get("AttributeValueList") or ()]
        if name == hash_name:
            if op != "EQ" or len(values) != 1:
                raise invalid("Query key condition not supported")
            hash_value = values[0]
        elif name == range_name:
            mapped = {"EQ": "=", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">", "BEGINS_WITH": "begins_with",
                      "BETWEEN": "BETWEEN"}.get(op)
            if mapped is None or len(values) != (2 if op == "BETWEEN" else 1):
                raise invalid("Query key condition not supported")
            sk_op, sk_values = mapped, tuple(values)
        else:
            raise invalid("Query key condition not supported")
    if hash_value is None:
        raise invalid(f"Query condition missed key schema element: {hash_name}")
    return hash_value, sk_op, sk_values


def attribute_updates(updates: dict) -> dict:
    clauses: dict = {}
    for name, update in updates.items():
        action = update.get("Action") or "PUT"
        path = Path((name,))
        value = Value(check_value(update["Value"]), "") if "Value" in update else None
        if action == "PUT":
            if value is None:
                raise params_invalid("Only DELETE action is allowed when no attribute value is specified")
            clauses.setdefault("SET", []).append((path, value))
        elif action == "DELETE":
            if value is None:
                clauses.setdefault("REMOVE", []).append(path)
            else:
                if type_of(value.value) not in ("SS", "NS", "BS"):
                    raise params_invalid("DELETE action with value is not supported for the type "
                                         + type_of(value.value))
                clauses.setdefault("DELETE", []).append((path, value))
        elif action == "ADD":
            if value is None:
                raise params_invalid("Only DELETE action is allowed when no attribute value is specified")
            kind = type_of(value.value)
            if kind == "L":
                append = Node("list_append", Node("if_not_exists", path, Value({"L": []}, "")), value)
                clauses.setdefault("SET", []).append((path, append))
            elif kind in ("N", "SS", "NS", "BS"):
                clauses.setdefault("ADD", []).append((path, value))
            else:
                raise params_invalid("ADD action is not supported for the type " + kind)
    return clauses
