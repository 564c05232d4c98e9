"""The errors a state machine's states raise and catch (States.TaskFailed, States.Timeout, ...)."""

from __future__ import annotations

MAX_PAYLOAD = 256 * 1024  # bytes of a state's input or output, or a task's result (States.DataLimitExceeded above)


class StatesError(Exception):
    """A run-time error inside an execution: its name (what Retry and Catch match on) and cause."""

    def __init__(self, error: str, cause: str = ""):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.state: str | None = None  # the state it was raised in, once its cause names it
        self.location: str | None = None  # the field whose JSONata expression failed (EvaluationFailed)
        # the last event of the Map iteration that failed (before its MapIterationFailed): AWS links
        # the Map's next event (MapStateFailed, or a retry's MapStateStarted) to it
        self.iteration_last_event: int | None = None
        self.task_failure = False  # a task's own failure, however named (result_too_large)


class Aborted(Exception):
    """The execution was stopped (StopExecution) or the server is shutting down."""


class FailState(StatesError):
    """A Fail state: ends its branch with its error and cause (catchable only by an enclosing
    Parallel or Map state, not by the state itself)."""


def over_limit(text: str) -> bool:
    """Whether a state's or task's JSON text is over the size limit (in UTF-8 bytes)."""
    return len(text) > MAX_PAYLOAD // 4 and len(text.encode()) > MAX_PAYLOAD  # (4 bytes a character at most)


def data_limit_exceeded(name: str) -> StatesError:
    """AWS's States.DataLimitExceeded for what `name` (a state, or a task's resource) returned."""
    return StatesError("States.DataLimitExceeded", f"The state/task '{name}' returned a result with a size "
                                                   "exceeding the maximum number of bytes service limit.")


def result_too_large(text: str, task: str) -> StatesError | None:
    """States.DataLimitExceeded for a task result (its JSON text) over the limit, naming the task as
    AWS's cause does: a Lambda function by its ARN, a service integration by its service (`lambda`).
    It fails the task as a task's own failure does (Interpreter._matches)."""
    if not over_limit(text):
        return None
    error = data_limit_exceeded(task)
    error.task_failure = True
    return error
