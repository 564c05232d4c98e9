"""Runs a state machine: every state type, both query languages, Retry and Catch, timeouts,
Parallel branches and Map iterations, recording the execution's event history as AWS does.

One execution is one asyncio task. Waits (Wait states, retry intervals, timeouts) are timers on the
event loop, never a sleeping thread. StopExecution cancels the task. A STANDARD execution commits
its history as it goes, together with a cursor (the top-level state it is in, that state's input
and the variables) so that a restarted server resumes it at that state.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from datetime import datetime

from overcast import tracing
from overcast.services.stepfunctions import jsonata_query, paths
from overcast.services.stepfunctions.asl import is_jsonata, is_rfc3339
from overcast.services.stepfunctions.errors import FailState, StatesError, data_limit_exceeded, over_limit
from overcast.services.stepfunctions.history import Scope, dumps, gather_or_fail

NOT_CAUGHT_BY_ALL = {"States.Runtime", "States.DataLimitExceeded"}
NEVER_CAUGHT = "States.Runtime"  # not even when named in ErrorEquals (AWS's recorded answers)
# errors whose cause names the state and its StateEntered event, as AWS's do
LOCATED = {"States.Runtime", "States.QueryEvaluationError"}
RETRIABLE = ("Task", "Parallel", "Map")  # the state types with Retry and Catch


def _check_size(text: str, state: str | None) -> None:
    """A state's output over the size limit (terminal: no Catch takes it), or with no state named,
    the input its states start from."""
    if not over_limit(text):
        return
    if state is not None:
        raise data_limit_exceeded(state)
    raise StatesError("States.DataLimitExceeded", "The state/task returned a result with a size exceeding the "
                                                  "maximum number of bytes service limit. (input)")


class Interpreter:
    """Runs one execution's states. `tasks` performs Task states (integrations.py); `checkpoint`
    commits history and the cursor (None for EXPRESS)."""

    def __init__(self, run, tasks, checkpoint=None):
        self.run = run  # the execution: arn, names, input, start time, role, context
        self.tasks = tasks
        self.history = run.history
        self.checkpoint = checkpoint
        # TestState: each processing step's data, and whether an error would be retried or was
        # caught (a test runs the state once and reports instead of retrying)
        self.inspection: dict | None = None

    async def flush(self) -> None:
        """Commit the events recorded so far (before the execution waits on something)."""
        if self.checkpoint is not None and self.history.pending:
            await self.checkpoint(None)

    # -- a sequence of states ------------------------------------------------------------------

    async def run_states(self, machine: dict, value, scope: Scope, language: str, start: str | None = None):
        """Run from StartAt (or `start`) to the end; each state's output is the next one's input,
        so only the first input needs its size checked here."""
        _check_size(dumps(value), None)
        name = start or machine["StartAt"]
        states = machine["States"]
        language = machine.get("QueryLanguage", language)
        while True:
            state = states[name]
            value, name = await self.run_state(name, state, value, scope, state.get("QueryLanguage", language))
            if name is None:
                return value

    async def run_state(self, name: str, state: dict, value, scope: Scope, language: str):
        """One state, as the span SFN.State (its input and output)."""
        run = self.run
        with tracing.hop("stepfunctions", "State", resource=run.arn, account=run.account, region=run.region,
                         attributes={"state": name, "type": state["Type"], "taskResource": state.get("Resource") or ""}
                         ) as span:
            # (the variables its JSONPath `$name` paths read; reset after, as a Parallel or Map
            # state may run its branches' states in this same task)
            token = paths.VARIABLES.set(scope.variables)
            try:
                output, next_name = await self._run_state(name, state, value, scope, language, span)
            finally:
                paths.VARIABLES.reset(token)
        return output, next_name

    async def _run_state(self, name: str, state: dict, value, scope: Scope, language: str, span):
        kind = state["Type"]
        entered = time.time()
        history = self.history
        entered_previous = scope.last_event
        if history.keep:
            text = dumps(value)
            span.set_request(text)
            scope.last_event = history.add(f"{kind}StateEntered", scope.last_event,
                                           stateEnteredEventDetails=_io("name", name, "input", text))
        else:
            scope.last_event = history.add("", scope.last_event)
        entered_event = scope.last_event
        if scope.top and self.checkpoint is not None:
            await self.checkpoint({"state": name, "input": value, "variables": scope.variables})
        context = self.run.context(name, entered, scope.map_item, kind == "Task", kind in RETRIABLE)
        scope.assigned = {}
        retries: dict[int, int] = {}
        while True:
            try:
                output, next_name = await self._execute(kind, name, state, value, scope, language, context)
                break
            except StatesError as error:
                self._locate(error, name, entered_event, entered_previous)
                # what a Map's or Parallel's next event follows: the failed iteration's or branch's last event
                failed_after = error.iteration_last_event or self.history.last_id
                error.iteration_last_event = None  # (an enclosing Map or Parallel has its own)
                if kind not in RETRIABLE:
                    raise
                delay = self._retry_delay(state.get("Retry") or [], error, retries)
                if delay is not None and self.inspection is not None:
                    self.inspection["outcome"] = "RETRIABLE"
                    raise
                if delay is not None:
                    if kind in ("Map", "Parallel"):
                        scope.last_event = failed_after
                    context["State"]["RetryCount"] += 1
                    await asyncio.sleep(delay)
                    continue
                # a task's failure is its TaskFailed event; a Map's or Parallel's own States.Runtime
                # (before any iteration or branch ran) ends it without a StateFailed event
                if kind != "Task" and not (error.state == name and error.error == "States.Runtime"):
                    scope.last_event = self.history.add(f"{kind}StateFailed", failed_after)
                caught = self._catch(state, error, value, scope, language, context)
                if caught is None:
                    raise
                output, next_name = caught
                if self.inspection is not None:
                    self.inspection.update(outcome="CAUGHT_ERROR", error=error.error, cause=error.cause)
                break
        text = dumps(output)
        span.set_response(text)
        _check_size(text, name)
        if history.keep:
            details = _io("name", name, "output", text)
            if scope.assigned:  # (AWS lists each assigned variable's value as JSON text)
                details["assignedVariables"] = {k: dumps(v) for k, v in scope.assigned.items()}
                details["assignedVariablesDetails"] = {"truncated": False}
            scope.last_event = history.add(f"{kind}StateExited", scope.last_event, stateExitedEventDetails=details)
        else:
            scope.last_event = history.add("", scope.last_event)
        return output, next_name

    def _locate(self, error: StatesError, name: str, entered_event: int, entered_previous: int) -> None:
        """A States.Runtime or evaluation error raised by this state: its cause names the state
        and its StateEntered event, and a failed JSONata expression is an EvaluationFailed event
        (which AWS links to the event before the StateEntered one)."""
        if error.error not in LOCATED or error.state is not None or isinstance(error, FailState):
            return
        error.state = name
        if error.cause:
            detail = error.cause.removeprefix("An error occurred while executing the state.").lstrip()
            error.cause = f"An error occurred while executing the state '{name}' (entered at the event id " \
                          f"#{entered_event}). {detail}"
        if error.location is not None and self.history.keep:
            details = {"error": error.error, "cause": error.cause, "location": error.location, "state": name}
            self.history.add("EvaluationFailed", entered_previous,
                             evaluationFailedEventDetails={k: v for k, v in details.items() if v})

    # -- Retry and Catch ------------------------------------------------------------------------

    @staticmethod
    def _matches(names: list[str], error: StatesError) -> bool:
        """ErrorEquals: the error's own name, States.ALL (all but the terminal errors) or
        States.TaskFailed (all but those and States.Timeout). A task whose result is over the
        size limit fails as tasks fail, which States.ALL catches (AWS's recorded histories), where
        a state's own input or output over it is terminal."""
        name = error.error
        if name == NEVER_CAUGHT:
            return False
        if name in names:
            return True
        if name in NOT_CAUGHT_BY_ALL and not error.task_failure:
            return False
        return "States.ALL" in names or ("States.TaskFailed" in names and name != "States.Timeout")

    def _retry_delay(self, retriers: list[dict], error: StatesError, retries: dict[int, int]) -> float | None:
        for i, retrier in enumerate(retriers):
            if not self._matches(retrier.get("ErrorEquals") or [], error):
                continue
            attempt = retries.get(i, 0)
            if attempt >= retrier.get("MaxAttempts", 3):
                return None
            retries[i] = attempt + 1
            delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** attempt
            if "MaxDelaySeconds" in retrier:
                delay = min(delay, retrier["MaxDelaySeconds"])
            if retrier.get("JitterStrategy") == "FULL":
                delay = random.uniform(0, delay)
            return delay
        return None

    def _catch(self, state, error: StatesError, value, scope: Scope, language: str, context):
        for catcher in state.get("Catch") or []:
            if not self._matches(catcher.get("ErrorEquals") or [], error):
                continue
            error_output = {"Error": error.error, "Cause": error.cause}
            if language == "JSONata":
                states = {"input": value, "errorOutput": error_output, "context": context}
                output = jsonata_query.evaluate(catcher["Output"], states, scope.variables, "Output") \
                    if "Output" in catcher else error_output
                self._assign(catcher.get("Assign"), states, scope, language, value)
            else:
                output = paths.put(value, catcher.get("ResultPath", "$"), error_output)
                self._assign(catcher.get("Assign"), {"errorOutput": error_output}, scope, language, error_output,
                             context)
            return output, catcher["Next"]
        return None

    # -- variables -------------------------------------------------------------------------------

    def _assign(self, assign, states: dict, scope: Scope, language: str, document=None, context=None) -> None:
        if not assign:
            return
        if language == "JSONata":
            values = jsonata_query.evaluate(assign, states, scope.variables, "Assign")
        else:
            values = paths.resolve_template(assign, document, context or {}, "Assign")
        scope.variables.update(values)
        scope.assigned = values

    # -- one state -------------------------------------------------------------------------------

    async def _execute(self, kind, name, state, value, scope: Scope, language, context):
        if language == "JSONata":
            return await self._execute_jsonata(kind, name, state, value, scope, context)
        return await self._execute_jsonpath(kind, name, state, value, scope, context)

    async def _execute_jsonpath(self, kind, name, state, raw, scope: Scope, context):
        if kind == "Choice":
            effective = self._input_path(state, raw, context)
            for rule in state["Choices"]:
                if _rule(rule, effective, context):
                    self._assign(rule.get("Assign"), {}, scope, "JSONPath", effective, context)
                    return self._output_path(state, effective, context), rule["Next"]
            if "Default" not in state:
                raise StatesError("States.NoChoiceMatched", f"No Matches! at state {name}")
            self._assign(state.get("Assign"), {}, scope, "JSONPath", effective, context)  # (the Default's)
            return self._output_path(state, effective, context), state["Default"]
        if kind == "Fail":
            error = state.get("Error")
            cause = state.get("Cause")
            if "ErrorPath" in state:
                error = paths.evaluate_value(state["ErrorPath"], raw, context, "ErrorPath")
            if "CausePath" in state:
                cause = paths.evaluate_value(state["CausePath"], raw, context, "CausePath")
            raise FailState(error or "", cause or "")
        effective = self._input_path(state, raw, context)
        self._inspect("afterInputPath", effective)
        if kind == "Succeed":
            return self._output_path(state, effective, context), None
        if kind == "Wait":
            await self._wait(state, name, effective, scope, context, "JSONPath")
            self._assign(state.get("Assign"), {}, scope, "JSONPath", effective, context)
            return self._output_path(state, effective, context), _next(state)
        if "Parameters" in state and kind != "Map":  # (a Map's Parameters is its legacy ItemSelector)
            effective = paths.resolve_template(state["Parameters"], effective, context)
        self._inspect("afterParameters", effective)
        if kind == "Pass":
            result = state.get("Result", effective)
        elif kind == "Task":
            result = await self.tasks.run(self, name, state, effective, scope, context, "JSONPath")
        elif kind == "Parallel":
            result = await self._parallel(name, state, effective, scope, "JSONPath")
        else:  # Map
            result = await self._map(name, state, raw, effective, scope, context, "JSONPath")
        self._inspect("result", result)
        if "ResultSelector" in state:
            result = paths.resolve_template(state["ResultSelector"], result, context, "ResultSelector")
        self._inspect("afterResultSelector", result)
        self._assign(state.get("Assign"), {}, scope, "JSONPath", result, context)
        output = paths.put(raw, state.get("ResultPath", "$"), result) if state.get("ResultPath", "$") is not None \
            else raw
        self._inspect("afterResultPath", output)
        return self._output_path(state, output, context), _next(state)

    def _inspect(self, step: str, value) -> None:
        if self.inspection is not None:
            self.inspection[step] = dumps(value)

    async def _execute_jsonata(self, kind, name, state, raw, scope: Scope, context):
        states = {"input": raw, "context": context}
        if kind == "Choice":
            for rule in state["Choices"]:
                if jsonata_query.condition(rule["Condition"], states, scope.variables):
                    output = self._jsonata_output(rule, states, scope, raw)
                    self._assign(rule.get("Assign"), states, scope, "JSONata")
                    return output, rule["Next"]
            if "Default" not in state:
                raise StatesError("States.NoChoiceMatched", f"No Matches! at state {name}")
            output = self._jsonata_output(state, states, scope, raw)
            self._assign(state.get("Assign"), states, scope, "JSONata")
            return output, state["Default"]
        if kind == "Fail":
            error = jsonata_query.evaluate(state.get("Error", ""), states, scope.variables, "Error")
            cause = jsonata_query.evaluate(state.get("Cause", ""), states, scope.variables, "Cause")
            raise FailState(error or "", cause or "")
        if kind in ("Succeed", "Pass"):
            output = self._jsonata_output(state, states, scope, raw)
            self._assign(state.get("Assign"), states, scope, "JSONata")
            return output, _next(state) if kind == "Pass" else None
        if kind == "Wait":
            await self._wait(state, name, raw, scope, context, "JSONata")
            output = self._jsonata_output(state, states, scope, raw)
            self._assign(state.get("Assign"), states, scope, "JSONata")
            return output, _next(state)
        arguments = jsonata_query.evaluate(state["Arguments"], states, scope.variables, "Arguments") \
            if "Arguments" in state else raw
        self._inspect("afterArguments", arguments)
        if kind == "Task":
            result = await self.tasks.run(self, name, state, arguments, scope, context, "JSONata")
        elif kind == "Parallel":
            result = await self._parallel(name, state, arguments, scope, "JSONata")
        else:
            result = await self._map(name, state, raw, arguments, scope, context, "JSONata")
        states["result"] = result
        self._inspect("result", result)
        output = jsonata_query.evaluate(state["Output"], states, scope.variables, "Output") \
            if "Output" in state else result
        self._assign(state.get("Assign"), states, scope, "JSONata")
        return output, _next(state)

    def _jsonata_output(self, state, states, scope: Scope, default):
        return jsonata_query.evaluate(state["Output"], states, scope.variables, "Output") if "Output" in state \
            else default

    @staticmethod
    def _input_path(state, raw, context):
        path = state.get("InputPath", "$")
        if path == "$":
            return raw
        return {} if path is None else _select(raw, path, context, "InputPath")

    @staticmethod
    def _output_path(state, value, context):
        path = state.get("OutputPath", "$")
        if path == "$":
            return value
        return {} if path is None else _select(value, path, context, "OutputPath")

    # -- Wait --------------------------------------------------------------------------------------

    async def _wait(self, state, name, value, scope: Scope, context, language) -> None:
        until = self.run.resume_wait_until(name) if scope.top else None
        if until is None:
            until = _wait_until(state, value, scope, context, language)
            if scope.top and self.checkpoint is not None:
                await self.checkpoint({"state": name, "input": value, "variables": scope.variables,
                                       "wait_until": until}, entered=True)
        delay = until - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- Parallel ----------------------------------------------------------------------------------

    async def _parallel(self, name, state, value, scope: Scope, language):
        scope.last_event = self.history.add("ParallelStateStarted", scope.last_event)
        start_event = scope.last_event

        async def branch(machine):
            inner = Scope(dict(scope.variables), start_event, False, scope.map_item)
            return await self.run_states(machine, value, inner, language)

        results = await gather_or_fail([branch(b) for b in state["Branches"]])
        # (ParallelStateSucceeded and then ParallelStateExited both follow the branches' last event)
        scope.last_event = self.history.last_id
        self.history.add("ParallelStateSucceeded", scope.last_event)
        return results

    # -- Map ---------------------------------------------------------------------------------------

    async def _map(self, name, state, raw, effective, scope: Scope, context, language):
        from overcast.services.stepfunctions.maps import run_map

        return await run_map(self, name, state, raw, effective, scope, context, language)


def _select(document, path: str, context, field: str):
    """InputPath and OutputPath: a path into the document, or into the context object (`$$...`)."""
    return paths.select(context, path[1:], field) if path.startswith("$$") else paths.select(document, path, field)


def _next(state) -> str | None:
    return None if state.get("End") else state.get("Next")


def _io(name_key, name, value_key, text: str) -> dict:
    return {name_key: name, value_key: text, f"{value_key}Details": {"truncated": False}}


def _wait_until(state, value, scope: Scope, context, language) -> float:
    if language == "JSONata":
        states = {"input": value, "context": context}
        if "Seconds" in state:
            seconds = jsonata_query.evaluate(state["Seconds"], states, scope.variables, "Seconds")
            return time.time() + _seconds(seconds, "Seconds")
        return _timestamp(jsonata_query.evaluate(state["Timestamp"], states, scope.variables, "Timestamp"),
                          "Timestamp")
    if "Seconds" in state:
        return time.time() + _seconds(state["Seconds"], "Seconds")
    if "SecondsPath" in state:
        path = state["SecondsPath"]
        seconds = _wait_path_value(path, value, context, "SecondsPath")
        problem = "cannot be parsed as a long value" if not paths.is_number(seconds) or seconds != int(seconds) \
            else "references a negative value" if seconds < 0 else None
        if problem:
            shown = seconds if isinstance(seconds, str) else dumps(seconds)
            raise StatesError("States.Runtime", f"An error occurred while executing the state. The SecondsPath "
                                                f"parameter {problem}: {path} == {shown}")
        return time.time() + _seconds(seconds, "SecondsPath")
    if "Timestamp" in state:
        return _timestamp(state["Timestamp"], "Timestamp")
    path = state["TimestampPath"]
    timestamp = _wait_path_value(path, value, context, "TimestampPath")
    if not isinstance(timestamp, str) or not is_rfc3339(timestamp):
        shown = timestamp if isinstance(timestamp, str) else dumps(timestamp)
        raise StatesError("States.Runtime", "An error occurred while executing the state. The TimestampPath parameter "
                                            "does not reference a valid ISO-8601 extended offset date-time format "
                                            f"string: {path} == {shown}")
    return _timestamp(timestamp, "TimestampPath")


def _wait_path_value(path: str, value, context, field: str):
    try:
        return paths.evaluate_value(path, value, context, field)
    except StatesError:
        raise StatesError("States.Runtime", f"An error occurred while executing the state. The {field} parameter "
                                            f"does not reference an input value: {path}") from None


def _seconds(value, field) -> float:
    if not paths.is_number(value) or value < 0 or value > 99999999:
        raise StatesError("States.Runtime", f"The {field} field must be a non-negative integer "
                                            f"no greater than 99999999, but was {value!r}")
    return float(value)


def _timestamp(value, field) -> float:
    if not isinstance(value, str):
        raise StatesError("States.Runtime", f"The {field} field must be an ISO-8601 timestamp, but was {value!r}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise StatesError("States.Runtime", f"The {field} field must be an ISO-8601 timestamp, "
                                            f"but was {value!r}") from None


# -- Choice rules (JSONPath) ----------------------------------------------------------------------

def _rule(rule: dict, value, context) -> bool:
    if "And" in rule:
        return all(_rule(r, value, context) for r in rule["And"])
    if "Or" in rule:
        return any(_rule(r, value, context) for r in rule["Or"])
    if "Not" in rule:
        return not _rule(rule["Not"], value, context)
    variable = rule["Variable"]
    try:
        actual = paths.evaluate_value(variable, value, context, "Variable")
        present = True
    except StatesError:
        actual, present = None, False
    for operator, expected in rule.items():
        if operator in ("Variable", "Next", "Assign", "Comment"):
            continue
        if operator == "IsPresent":
            return present == expected
        if not present:
            if operator.startswith("Is"):
                return False
            raise StatesError("States.Runtime", f"Invalid path '{variable}': The choice state's condition path "
                                                f"references an invalid value.")
        if operator.endswith("Path"):
            expected = paths.evaluate_value(expected, value, context, operator)
            operator = operator[:-4]
        return _compare(operator, actual, expected)
    return False


def _compare(operator: str, actual, expected) -> bool:
    if operator == "IsNull":
        return (actual is None) == expected
    if operator == "IsNumeric":
        return paths.is_number(actual) == expected
    if operator == "IsString":
        return isinstance(actual, str) == expected
    if operator == "IsBoolean":
        return isinstance(actual, bool) == expected
    if operator == "IsTimestamp":
        return _is_timestamp(actual) == expected
    if operator == "BooleanEquals":
        return isinstance(actual, bool) and actual == expected
    if operator == "StringMatches":
        return isinstance(actual, str) and _glob(expected, actual)
    for kind, check in (("String", lambda v: isinstance(v, str)), ("Numeric", paths.is_number),
                        ("Timestamp", _is_timestamp)):
        if operator.startswith(kind):
            if not check(actual) or not check(expected):
                return False
            if kind == "Timestamp":
                actual, expected = _timestamp(actual, "Variable"), _timestamp(expected, "Variable")
            op = operator[len(kind):]
            return {"Equals": actual == expected, "LessThan": actual < expected, "GreaterThan": actual > expected,
                    "LessThanEquals": actual <= expected, "GreaterThanEquals": actual >= expected}[op]
    return False


def _is_timestamp(value) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _glob(pattern: str, text: str) -> bool:
    """StringMatches: `*` matches any run of characters; `\\*` is a literal star."""
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if c == "*" else re.escape(c)
        i += 1
    return re.fullmatch(regex, text, re.S) is not None


def is_expression(value) -> bool:
    return is_jsonata(value)
