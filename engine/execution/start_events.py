"""Which start event starts a new instance. As in Camunda, only the chosen one does and the others are cancelled
before anything runs: the none start event when started by hand or by an integrator (the timer start of a process
that has only that), the timer start event when the scheduler starts it (``TIMER_TRIGGER``, engine.commands.timers),
the start event catching a message when a message starts it. A timer start the scheduler chose has fired already."""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

__all__ = ["TIMER_TRIGGER", "choose_start"]

TIMER_TRIGGER = "timer"  # Runtime.start(trigger=...): the scheduler starts the instance at its timer start event


def _top_start_events(workflow: BpmnWorkflow) -> list[Task]:
    """The process's own start events (one, or the branches of SpiffWorkflow's StartEventSplit for several)."""
    found: list[Task] = []
    for task in list(workflow.task_tree.children):
        if isinstance(task.task_spec, StartEvent):
            found.append(task)
        else:  # StartEventSplit
            found += [child for child in task.children if isinstance(child.task_spec, StartEvent)]
    return found


def choose_start(workflow: BpmnWorkflow, trigger: str | None) -> None:
    """Cancel the top-level start events ``trigger`` does not choose (None, ``TIMER_TRIGGER`` or a message name), as
    long as the chosen kind is there; a chosen timer start has fired."""
    starts = _top_start_events(workflow)

    def kind(task: Task) -> str:
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            return TIMER_TRIGGER
        if isinstance(definition, MessageEventDefinition):
            return f"message:{definition.name}"
        return "none"

    if trigger is None:
        wanted = "none" if any(kind(t) == "none" for t in starts) else TIMER_TRIGGER
    else:
        wanted = TIMER_TRIGGER if trigger == TIMER_TRIGGER else f"message:{trigger}"
    if len(starts) > 1:
        for task in starts:
            if kind(task) != wanted and wanted in {kind(t) for t in starts}:
                task.cancel()
    for task in starts:
        if kind(task) == TIMER_TRIGGER and wanted == TIMER_TRIGGER:
            _fire_start_timer(task)


def _fire_start_timer(task: Task) -> None:
    """The scheduler (engine.commands.timers) starts an instance when its timer start is due, so that start event
    has fired: it must not wait a second time. (An event subprocess's timer start is not touched.)"""
    spec = task.task_spec
    task._set_internal_data(event_fired=True)
    if isinstance(spec.event_definition, CycleTimerEventDefinition):
        # SpiffWorkflow predicts no children for a cycle (it adds one per cycle): add the one path now.
        super(CatchingEvent, spec)._predict_hook(task)
        for child in task.children:
            child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
