"""The errors a state machine's states raise and catch (States.TaskFailed, States.Timeout, ...)."""

from __future__ import annotations


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


class Aborted(Exception):
    """The execution was stopped (StopExecution) or the server is shutting down."""


class FailState(StatesError):
    """A Fail state: ends its branch with its error and cause (catchable only by an enclosing
    Parallel or Map state, not by the state itself)."""
