"""Pure SpiffWorkflow driving: start, run to the next wait state, complete, fire timers, deliver messages.

Nothing here touches the database; the command executor (engine.commands.executor) persists what ``snapshot``
reports (engine.execution.outcomes). Every run is bounded by a step and a time limit, so a process that loops forever
ends in an instance error, never a stuck worker; the time limit counts the engine steps only (it starts once the
command's calendar is read), and the database being unavailable (StoreUnavailable) is never instance state. Which
start event a new instance begins at is engine.execution.start_events'.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.clock import Clock
from phoihop.engine.errors import (
    EngineError,
    InvalidScriptResult,
    MessageNotCorrelated,
    StepLimitExceeded,
    StoreUnavailable,
    TaskNotFound,
    TaskNotOpen,
)
from phoihop.engine.execution import script_functions, send_back, spiff_patches, task_index
from phoihop.engine.execution.outcomes import (
    RunOutcome,
    Snapshot,
    StepRecord,
    ThrownMessage,
    WaitingMessage,
    WaitingTimer,
)
from phoihop.engine.execution.sandbox import unwrap_script_error
from phoihop.engine.execution.script_functions import DEFAULT_CONSULTATION_DAYS, DEFAULT_GREEN_LANE_CUT, ScriptContext
from phoihop.engine.execution.send_back import ReturnTarget
from phoihop.engine.execution.start_events import choose_start
from phoihop.engine.time.calendar import BusinessCalendar

spiff_patches.apply()
task_index.install()


ERROR = TaskState.ERROR


def _element_id(task: Task) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


MAX_NESTING = 32  # subprocess/call-activity depth: a process calling itself stops here, long before the step limit


def _nesting(workflow: Any) -> int:
    depth = 0
    while getattr(workflow, "parent_workflow", None) is not None and depth <= MAX_NESTING:
        workflow = workflow.parent_workflow
        depth += 1
    return depth


def _definitions(spec: Any) -> list[Any]:
    """The event definitions a waiting task catches: one, or those of a multiple event (an event-based gateway)."""
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def _error_details(exc: BaseException, task: Task | None) -> dict[str, Any]:
    inner = unwrap_script_error(exc)
    details: dict[str, Any] = {"message": str(exc)}
    if inner is not None:
        details.update(message=inner.detail, message_vi=inner.detail_vi, code=inner.code, **inner.fields)
    elif isinstance(exc, EngineError):
        details.update(message=exc.detail, message_vi=exc.detail_vi, code=exc.code)
    spiff_task = getattr(exc, "task", None) or task
    if spiff_task is not None:
        details.setdefault("element_id", _element_id(spiff_task))
        details.setdefault("task_id", str(spiff_task.id))
    if isinstance(inner, InvalidScriptResult) and details.get("element_id"):  # say which element left it
        element = details["element_id"]
        details.update(message=f"{element}: {inner.detail}", message_vi=f"{element}: {inner.detail_vi}")
    line = getattr(exc, "line_number", None)
    if line:
        details.setdefault("line", line)
    return details


def _forget_bad_result(exc: BaseException, task: Task | None) -> None:
    """A task that left an unstorable result (InvalidScriptResult) keeps the data it received, not the result: the
    instance's error state must itself be storable, even when the script changed a container in place."""
    spiff_task = getattr(exc, "task", None) or task
    if spiff_task is None or not isinstance(unwrap_script_error(exc), InvalidScriptResult):
        return
    parent = spiff_task.parent
    spiff_task.data = copy.deepcopy(parent.data) if parent is not None else {}


class Runtime:
    def __init__(
        self,
        script_engine: Any,
        clock: Clock,
        *,
        max_steps: int = 10_000,
        max_seconds: float = 30.0,
        calendar: Callable[[], BusinessCalendar] | None = None,
        green_lane_cut: float = DEFAULT_GREEN_LANE_CUT,
        consultation_days: int = DEFAULT_CONSULTATION_DAYS,
    ) -> None:
        self.script_engine = script_engine
        self.clock = clock
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.calendar = calendar or BusinessCalendar
        self.green_lane_cut = green_lane_cut
        self.consultation_days = consultation_days

    @contextmanager
    def scripting(self) -> Iterator[None]:
        """Timers and script functions read this command's clock and the current business calendar."""
        context = ScriptContext(self.clock, self.calendar(), self.green_lane_cut, self.consultation_days)
        with spiff_patches.using_clock(self.clock), script_functions.using_context(context):
            yield

    @staticmethod
    def holding_timers(task_ids: frozenset[str]) -> AbstractContextManager[None]:
        """Timers of these task ids do not fire inside (a retry backoff or an incident holds them)."""
        return spiff_patches.holding(task_ids)

    # --- commands ---------------------------------------------------------------------------------------------------
    def start(
        self, spec: Any, subprocess_specs: dict[str, Any], variables: Mapping[str, Any], *, trigger: str | None = None
    ) -> tuple[BpmnWorkflow, RunOutcome]:
        """A new instance, run to its first wait state. ``trigger``: None (started by hand or by an integrator: the
        none start event, or the timer start of a process that has only that), ``TIMER_TRIGGER`` (the scheduler: the
        timer start event), or a message name (the start event catching it). As in Camunda, only the chosen start
        event starts the instance; the others are cancelled before anything runs."""
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(variables)
        task_index.attach_new(workflow)
        choose_start(workflow, trigger)
        return workflow, self.run(workflow)

    def attach(self, workflow: BpmnWorkflow, seqs: dict[str, int]) -> None:
        """After a deserialize: re-attach the sandboxed engine (SpiffWorkflow resets it to plain eval/exec) and
        index the tasks (``seqs``: task id → creation order of the stored records)."""
        workflow.script_engine = self.script_engine
        task_index.attach_loaded(workflow, seqs)

    @staticmethod
    def changes(workflow: BpmnWorkflow) -> tuple[list[tuple[Task, int]], list[int]]:
        """Task records to write and the records to delete since the last call, by creation order (seq)."""
        index = task_index.index_of(workflow)
        assert index is not None, "workflow was not attached"
        changed, removed = index.changes(workflow)
        index.clean()
        return [(t, index.seq[t.id]) for t in changed], removed

    def complete_task(self, workflow: BpmnWorkflow, task_id: str, variables: Mapping[str, Any]) -> RunOutcome:
        task = self.find_task(workflow, task_id)
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotOpen(
                f"task {task_id} is not ready", detail_vi=f"Công việc {task_id} chưa sẵn sàng", task_id=task_id
            )
        task.set_data(**variables)
        with self.scripting():
            task.run()
        return self.run(
            workflow, first=[StepRecord(task_id, _element_id(task) or "", task.task_spec.bpmn_name, "human_task")]
        )

    def send_back(
        self, workflow: BpmnWorkflow, task_id: str, element_id: str | None, new_id: UUID
    ) -> tuple[RunOutcome, ReturnTarget]:
        """Send READY human task ``task_id`` back to an earlier completed human step (the most recent one, or the most
        recent of ``element_id``), which opens again as task ``new_id``; run on to the next wait state
        (engine.execution.send_back)."""
        target = send_back.choose_target(workflow, self.find_task(workflow, task_id), element_id)
        with self.scripting():
            send_back.reset_to(workflow, target, new_id)
        return self.run(workflow), target

    def fire_timers(self, workflow: BpmnWorkflow) -> RunOutcome:
        with self.scripting():
            workflow.refresh_timers()
        return self.run(workflow)

    def deliver_message(self, workflow: BpmnWorkflow, name: str, variables: Mapping[str, Any]) -> RunOutcome:
        waiting = [
            (t, d)
            for t in self._open(workflow, TaskState.WAITING)
            for d in _definitions(t.task_spec)
            if isinstance(d, MessageEventDefinition) and d.name == name
        ]
        if not waiting:
            raise MessageNotCorrelated(
                f"instance waits for no message {name!r}",
                detail_vi=f"Hồ sơ không chờ thông điệp {name!r}",
                message_name=name,
            )
        definition = waiting[0][1]
        try:
            correlations = definition.get_correlations(waiting[0][0], dict(variables))
            with self.scripting():
                workflow.send_event(BpmnEvent(definition, dict(variables), correlations))
        except StoreUnavailable:
            raise
        except (WorkflowException, EngineError) as exc:  # its correlation values do not match this instance
            raise MessageNotCorrelated(
                f"instance does not accept message {name!r}: {exc}",
                detail_vi=f"Hồ sơ không nhận thông điệp {name!r}",
                message_name=name,
            ) from exc
        for task, caught in waiting:
            # Camunda semantics: without spiffworkflow:messageVariable the message's variables become process data.
            if task.state != TaskState.WAITING and caught.message_var is None:
                task.set_data(**variables)
        return self.run(workflow)

    # --- running ----------------------------------------------------------------------------------------------------
    def run(self, workflow: BpmnWorkflow, first: list[StepRecord] | None = None) -> RunOutcome:
        steps: list[StepRecord] = list(first or [])
        count = 0
        deadline = 0.0  # set when the steps start: a wait before them (the calendar, a lock) is not the process's
        current: list[Task | None] = [None]

        def will_complete(task: Task) -> None:
            nonlocal count
            count += 1
            current[0] = task
            if task.workflow is not workflow and _nesting(task.workflow) > MAX_NESTING:
                raise StepLimitExceeded(
                    f"subprocesses and call activities nested more than {MAX_NESTING} deep (a process calling itself?)",
                    detail_vi=f"Quy trình con và hoạt động gọi lồng nhau quá {MAX_NESTING} cấp (quy trình tự gọi lại?)",
                    element_id=_element_id(task),
                )
            if count > self.max_steps or time.monotonic() > deadline:
                raise StepLimitExceeded(
                    f"more than {self.max_steps} steps or {self.max_seconds}s in one command",
                    detail_vi=f"Quá {self.max_steps} bước hoặc {self.max_seconds} giây trong một lệnh",
                    element_id=_element_id(task),
                )

        def did_complete(task: Task) -> None:
            element_id = _element_id(task)
            if element_id is not None:
                steps.append(
                    StepRecord(str(task.id), element_id, task.task_spec.bpmn_name, type(task.task_spec).__name__)
                )

        incidents: list[dict[str, Any]] = []
        with self.scripting():
            deadline = time.monotonic() + self.max_seconds
            while True:
                try:
                    self._engine_steps(workflow, will_complete, did_complete)
                    break
                except StoreUnavailable:  # the database, not the process: the command fails and rolls back
                    raise
                except (WorkflowException, EngineError, RecursionError) as exc:  # RecursionError: SpiffWorkflow's
                    _forget_bad_result(exc, current[0])  # prediction
                    failed = getattr(exc, "task", None) or current[0]
                    if isinstance(exc, (StepLimitExceeded, RecursionError)) or failed is None or failed.state != ERROR:
                        return RunOutcome(steps, _error_details(exc, current[0]), incidents)
                    # an incident: the step waits in ERROR for a retry or a skip; the other branches go on (the
                    # ERROR task is never READY again by itself, so this loop ends within the step limit)
                    incidents.append(_error_details(exc, failed))
        return RunOutcome(steps, None, incidents)

    def retry_task(self, workflow: BpmnWorkflow, task_id: str, variables: Mapping[str, Any]) -> RunOutcome:
        """Run a failed step (an incident) again, from the data it received plus ``variables``."""
        task = self._failed(workflow, task_id)
        task.data = copy.deepcopy(task.parent.data) if task.parent is not None else {}
        task.set_data(**copy.deepcopy(dict(variables)))
        task._set_state(TaskState.READY)
        return self.run(workflow)

    def skip_task(self, workflow: BpmnWorkflow, task_id: str) -> RunOutcome:
        """Complete a failed step without running it (with the data it received) and go on."""
        task = self._failed(workflow, task_id)
        task.data = copy.deepcopy(task.parent.data) if task.parent is not None else {}
        task._set_state(TaskState.READY)
        with self.scripting():
            task.complete()
        return self.run(workflow)

    def has_failed(self, workflow: BpmnWorkflow, task_id: str) -> bool:
        """Whether a step still waits in ERROR (an open incident's)."""
        try:
            return bool(self.find_task(workflow, task_id).state == ERROR)
        except TaskNotFound:
            return False

    def failed_kind(self, workflow: BpmnWorkflow, task_id: str) -> str:
        """The SpiffWorkflow spec class of a failed step (a gateway cannot be skipped: it has no path to take)."""
        return type(self._failed(workflow, task_id).task_spec).__name__

    def _failed(self, workflow: BpmnWorkflow, task_id: str) -> Task:
        task = self.find_task(workflow, task_id)
        if task.state != ERROR:
            raise TaskNotOpen(
                f"step {task_id} has not failed", detail_vi=f"Bước {task_id} không ở trạng thái lỗi", task_id=task_id
            )
        return task

    def _engine_steps(self, workflow: BpmnWorkflow, will: Any, did: Any) -> None:
        """Run READY engine tasks until only human tasks and waits remain.

        With the task index, READY tasks come from the live-task index instead of a walk of the whole tree, so a
        step costs the same in the 50th loop iteration as in the first. While a subprocess is active,
        SpiffWorkflow's own loop runs first (it orders subprocess work and completes call activities); whatever it
        cannot see (its tree walk stops at depth 1000) still runs from the index. Every round counts against the
        step limit, so no round can spin without end."""
        index = task_index.index_of(workflow)
        ran = [0]

        def counting_will(task: Task) -> None:
            ran[0] += 1
            will(task)

        for _ in range(self.max_steps + 1):
            if index is None or workflow.get_active_subprocesses():
                before = ran[0]
                workflow.do_engine_steps(counting_will, did)
                if index is None or not index.ready_engine_tasks():
                    return
                if ran[0] > before:
                    continue
            ready = index.ready_engine_tasks()
            if not ready:
                workflow.refresh_timers()
                ready = index.ready_engine_tasks()
                if not ready:
                    return
            for task in ready:
                if task._state == TaskState.READY:
                    counting_will(task)
                    task.run()
                    did(task)
        raise StepLimitExceeded(
            f"more than {self.max_steps} engine rounds in one command",
            detail_vi=f"Quá {self.max_steps} vòng xử lý trong một lệnh",
        )

    @staticmethod
    def _open(workflow: BpmnWorkflow, state: int) -> list[Task]:
        index = task_index.index_of(workflow)
        if index is None:
            return list(workflow.get_tasks(state=state))
        return list(index.with_state(state))

    # --- reading ----------------------------------------------------------------------------------------------------
    @staticmethod
    def find_task(workflow: BpmnWorkflow, task_id: str) -> Task:
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, TypeError):
            task = None
        if task is None:
            raise TaskNotFound(
                f"task {task_id} not found in instance",
                detail_vi=f"Không tìm thấy công việc {task_id}",
                task_id=task_id,
            )
        return task

    def snapshot(self, workflow: BpmnWorkflow, outcome: RunOutcome) -> Snapshot:
        open_tasks: dict[str, str] = {}
        timers: list[WaitingTimer] = []
        messages: list[WaitingMessage] = []
        if outcome.error is None and not workflow.completed:
            for task in self._open(workflow, TaskState.READY) + self._open(workflow, TaskState.WAITING):
                spec = task.task_spec
                if task.state == TaskState.READY:
                    if spec.manual:
                        open_tasks[str(task.id)] = spec.bpmn_id
                    continue
                for definition in _definitions(spec):  # an event-based gateway waits for several
                    if isinstance(definition, TimerEventDefinition):
                        due = self._timer_due(task)
                        if due is not None:
                            timers.append(WaitingTimer(str(task.id), spec.bpmn_id, due))
                    elif isinstance(definition, MessageEventDefinition):
                        messages.append(
                            WaitingMessage(str(task.id), spec.bpmn_id, definition.name, dict(workflow.correlations))
                        )
        if outcome.error is not None or outcome.incidents:
            status = "error"
        elif workflow.completed:
            status = "completed"
        else:
            status = "running"
        error = outcome.error if outcome.error is not None else outcome.incidents[0] if outcome.incidents else None
        return Snapshot(
            status,
            open_tasks,
            timers,
            messages,
            error,
            outcome.steps,
            list(outcome.incidents),
            fatal=outcome.error is not None,
        )

    @staticmethod
    def _timer_due(task: Task) -> datetime | None:
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # cycle timer: {"cycles", "next", "duration"}
            if value.get("cycles") == 0:
                return None
            value = value.get("next")
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = TimerEventDefinition.get_datetime(value)
            except ValueError:
                return None
        else:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    def evaluate_on_task(self, workflow: BpmnWorkflow, task_id: str, expression: str) -> Any:
        """``expression`` evaluated in the sandbox against a task's data (a due date, a candidate variable)."""
        task = self.find_task(workflow, task_id)
        with self.scripting():
            return self.script_engine.environment.evaluate(expression, task.data)

    def task_data(self, workflow: BpmnWorkflow, task_id: str) -> dict[str, Any]:
        return dict(self.find_task(workflow, task_id).data)

    @staticmethod
    def thrown_messages(workflow: BpmnWorkflow) -> list[ThrownMessage]:
        """The messages thrown during the command and not caught inside the workflow (taken: asked once)."""
        return [
            ThrownMessage(event.event_definition.name, event.payload, None)
            for event in workflow.get_events()
            if isinstance(event.event_definition, MessageEventDefinition)
        ]

    @staticmethod
    def merge_variables(
        workflow: BpmnWorkflow,
        previous: Mapping[str, Any],
        steps: list[StepRecord],
    ) -> dict[str, Any]:
        """The process variables after a command: ``previous`` with the changes each top-level task finished in it
        made to the data it received (keys set, changed or deleted), in order.

        SpiffWorkflow keeps data per task; the last completed task's data is not "the" variables once branches run
        in parallel (a branch finishing late would put back values another branch had changed). Like Camunda's
        process variables, each task contributes what it changed. Cost: the data of the tasks of this command."""
        result = dict(previous)
        for step in steps:
            try:
                task = workflow.get_task_from_id(UUID(step.task_id))
            except (KeyError, ValueError):
                continue
            if task is None or task.workflow is not workflow:
                continue  # inside a subprocess: its results reach the parent through the subprocess task
            before = task.parent.data if task.parent is not None else {}
            for key, value in task.data.items():
                if key not in before or before[key] != value:
                    result[key] = copy.deepcopy(value)  # never shared with live task data
            for key in before:
                if key not in task.data:
                    result.pop(key, None)
        return result
