"""The JSONata query language of Amazon States Language: any string field of the form
`{% expression %}` is evaluated with `$states` (input, result, errorOutput, context) and the
execution's variables bound; objects and arrays are evaluated member by member. Expressions are
compiled once per text (jsonata-python) and cached."""

from __future__ import annotations

from functools import lru_cache

import jsonata
import orjson
from jsonata.utils import Utils

from overcast.services.stepfunctions.asl import is_jsonata, jsonata_text
from overcast.services.stepfunctions.errors import StatesError
from overcast.services.stepfunctions.jsonata_functions import STEP_FUNCTIONS_FUNCTIONS


@lru_cache(maxsize=4096)
def _compile(text: str):
    expression = jsonata.Jsonata(text)
    expression.set_output_convert_nulls(False)  # so that null and undefined (None) differ
    for name, function in STEP_FUNCTIONS_FUNCTIONS.items():
        expression.register_lambda(name, function)
    return expression


def evaluate(value, states: dict, variables: dict, field: str = "Arguments"):
    """`value` with every JSONata expression in it evaluated."""
    if isinstance(value, str):
        if not is_jsonata(value):
            return value
        text = jsonata_text(value)
        try:
            # a variable holding null is null, not undefined
            bindings = {name: Utils.NULL_VALUE if held is None else held for name, held in variables.items()}
            result = _compile(text).evaluate(None, {**bindings, "states": states})
        except StatesError:
            raise
        except RecursionError:
            raise _evaluation_error(f"The JSONata expression '{text.strip()}' specified for the field '{field}' "
                                    "exceeded the maximum recursion depth.", field) from None
        except Exception as e:  # jsonata raises JException and Python errors alike
            raise _evaluation_error(f"The JSONata expression '{text.strip()}' specified for the field '{field}' "
                                    f"threw an error during evaluation. {e}", field) from None
        if result is None:  # JSON has no undefined: AWS refuses it in every field
            raise _evaluation_error(f"The JSONata expression '{text.strip()}' specified for the field '{field}' "
                                    "returned nothing (undefined).", field)
        return _plain(Utils.convert_nulls(result))
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k] = evaluate(v, states, variables, f"{field}/{k}")  # (AWS names the member: Output/result)
        return out
    if isinstance(value, list):
        return [evaluate(v, states, variables, field) for v in value]
    return value


def _plain(value):
    """jsonata-python hands back its own sequence types and whole floats: make plain JSON."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if callable(value):
        raise StatesError("States.QueryEvaluationError", "A JSONata expression returned a function")
    return value


def condition(value, states: dict, variables: dict) -> bool:
    result = evaluate(value, states, variables, "Condition")
    if not isinstance(result, bool):
        raise StatesError("States.QueryEvaluationError",
                          f"The JSONata expression specified for the field 'Condition' returned {type(result).__name__}"
                          " but a boolean was expected")
    return result


def _evaluation_error(cause: str, field: str) -> StatesError:
    error = StatesError("States.QueryEvaluationError", cause)
    error.location = field
    return error


_JSON_TYPES = ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number"), (list, "array"),
               (dict, "object"))


def unexpected_type(expression: str, field: str, expected: str, value) -> StatesError:
    """An expression whose result is not of the type its field takes (an Items that is no array)."""
    found = "null" if value is None else next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), "")
    shown = orjson.dumps(value).decode()
    return _evaluation_error(f"The JSONata expression '{jsonata_text(expression).strip()}' specified for the field "
                             f"'{field}' returned an unexpected result type. Expected '{expected}', but was "
                             f"'{found}' for value: {shown}", field)
