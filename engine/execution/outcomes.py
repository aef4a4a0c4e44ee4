"""What driving a workflow reports (engine.execution.runtime): the steps a run finished and whether it failed
(:class:`RunOutcome`), the wait states the store must reflect after a command (:class:`Snapshot`: open human tasks,
timers with their due time, messages awaited) and the messages a process threw that nothing inside it caught."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["RunOutcome", "Snapshot", "StepRecord", "ThrownMessage", "WaitingMessage", "WaitingTimer"]


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    due_at: datetime


@dataclass(frozen=True)
class WaitingMessage:
    task_id: str
    element_id: str
    name: str
    correlations: dict[str, Any]


@dataclass(frozen=True)
class ThrownMessage:
    """A message a process threw that nothing inside it caught: published by engine/commands/messages.py."""

    name: str
    payload: Any
    element_id: str | None


@dataclass(frozen=True)
class StepRecord:
    """A BPMN element the engine finished during a command (for the audit trail)."""

    task_id: str
    element_id: str
    name: str | None
    kind: str


@dataclass
class Snapshot:
    """What the store must reflect after a command: the instance's wait states and outcome."""

    status: str  # running | completed | error
    open_tasks: dict[str, str]  # READY manual task id -> element id
    timers: list[WaitingTimer]
    messages: list[WaitingMessage]
    error: dict[str, Any] | None = None
    steps: list[StepRecord] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)  # steps that failed this command (RunOutcome)
    fatal: bool = False  # stopped by a failure that is no incident (RunOutcome.error): nothing waits any more

    @property
    def waits(self) -> bool:
        """Whether the instance's branches still wait: running, or with steps that failed as incidents (status
        "error" here too, but the other branches go on, as in Camunda); not completed, not stopped by a fatal error."""
        return self.status != "completed" and not self.fatal


@dataclass
class RunOutcome:
    """``error``: a failure that stops the instance (the step limit); ``incidents``: the steps (script tasks,
    expressions) that failed and wait in state ERROR for a retry or a skip while the other branches went on, each
    with ``element_id``, ``task_id`` and ``message``."""

    steps: list[StepRecord]
    error: dict[str, Any] | None
    incidents: list[dict[str, Any]] = field(default_factory=list)
