"""An index of a workflow's live tasks and of what changed since the last save.

SpiffWorkflow 3.2 finds READY and WAITING tasks by walking the whole task tree, several times per step
(``do_engine_steps``, ``update_waiting_tasks`` after every completion). A loop adds tasks every iteration, so the
cost of a step grows with the instance's history. The index is kept up to date by four small hooks on
SpiffWorkflow's Task/Workflow (task created, state changed, task removed) and gives:

- ``live``: the tasks that are not finished, in creation order — what the engine loop, timers and the snapshot
  need, independent of history;
- ``dirty``/``removed``: which serialized task records must be written or deleted at the next save, so a command
  writes only what it changed.

A workflow without an index (e.g. one built by plain SpiffWorkflow code) behaves exactly as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

ATTR = "_phoihop_index"
_FINISHED = TaskState.FINISHED_MASK


class TaskIndex:
    __slots__ = ("dirty", "live", "next_seq", "removed", "seq")

    def __init__(self) -> None:
        self.live: dict[UUID, Task] = {}
        self.dirty: dict[UUID, None] = {}  # ordered set: creation order matters for restoring
        self.removed: set[UUID] = set()
        self.seq: dict[UUID, int] = {}
        self.next_seq = 0

    def track(self, task: Task) -> None:
        if task._state & _FINISHED:
            self.live.pop(task.id, None)
        else:
            self.live[task.id] = task

    def mark(self, task_id: UUID) -> None:
        self.dirty[task_id] = None

    def clean(self) -> None:
        self.dirty.clear()
        self.removed.clear()

    def changes(self, workflow: BpmnWorkflow) -> tuple[list[Task], list[int]]:
        """The top workflow's task records to (re)write, in creation order, and the ids to delete.

        Besides tasks that changed state or children, a task's children that hold data are rewritten with it (their
        data is stored as a delta to the parent's; empty ones are stored self-contained), and WAITING tasks always
        are (timers update their internal data in place)."""
        tasks = workflow.tasks
        wanted: dict[UUID, None] = {}
        for task_id in self.dirty:
            task = tasks.get(task_id)
            if task is not None:
                wanted[task_id] = None
                for child_id in task._children:
                    child = tasks.get(child_id)
                    if child is not None and child.data:
                        wanted[child_id] = None
        for task in self.live.values():
            if task._state == TaskState.WAITING and task.workflow is workflow:
                wanted[task.id] = None
        changed = [tasks[t] for t in wanted if t in tasks]
        for task in changed:
            if task.id not in self.seq:
                self.seq[task.id] = self.next_seq
                self.next_seq += 1
        changed.sort(key=lambda t: self.seq[t.id])
        removed = [self.seq.pop(task_id) for task_id in self.removed if task_id in self.seq]
        return changed, removed

    def ready_engine_tasks(self) -> list[Task]:
        return [t for t in self.live.values() if t._state == TaskState.READY and not t.task_spec.manual]

    def with_state(self, state: int) -> Iterator[Task]:
        return (t for t in list(self.live.values()) if t._state == state)


def index_of(workflow: Any) -> TaskIndex | None:
    top = getattr(workflow, "top_workflow", None)
    return getattr(top, ATTR, None) if top is not None else None


def attach(workflow: BpmnWorkflow) -> TaskIndex:
    """Index every task of a workflow (and its subprocesses); everything counts as saved."""
    index = TaskIndex()
    for task in workflow.tasks.values():
        index.track(task)
    for subprocess in workflow.subprocesses.values():
        for task in subprocess.tasks.values():
            index.track(task)
    setattr(workflow, ATTR, index)
    return index


def attach_new(workflow: BpmnWorkflow) -> TaskIndex:
    """Index a workflow that was never saved: every task is dirty."""
    index = attach(workflow)
    for task_id in workflow.tasks:
        index.mark(task_id)
    return index


def attach_loaded(workflow: BpmnWorkflow, seqs: dict[str, int]) -> TaskIndex:
    """Index a workflow restored from its task records (``seqs``: task id → creation order)."""
    index = attach(workflow)
    index.seq = {UUID(task_id): seq for task_id, seq in seqs.items()}
    index.next_seq = max(seqs.values(), default=-1) + 1
    return index


# --- hooks ------------------------------------------------------------------------------------------------------------
def _install() -> None:
    original_init: Callable[..., None] = Task.__init__
    original_remove: Callable[[Workflow, UUID], None] = Workflow._remove_task
    original_update_waiting: Callable[[Workflow], None] = Workflow.update_waiting_tasks

    def __init__(
        self: Task,
        workflow: Workflow,
        task_spec: Any,
        parent: Task | None = None,
        state: int = TaskState.MAYBE,
        id: UUID | None = None,
    ) -> None:
        original_init(self, workflow, task_spec, parent, state, id)
        index = index_of(workflow)
        if index is not None:
            index.track(self)
            if workflow is workflow.top_workflow:
                index.mark(self.id)
                if parent is not None:
                    index.mark(parent.id)

    def _set_state(self: Task, value: int) -> None:
        # As SpiffWorkflow's, minus its log call: it built a log-extras dict on every state change even with
        # logging off, a measurable share of each step.
        if value != self._state:
            self.last_state_change = time.time()
            self._state = value
            index = index_of(self.workflow)
            if index is not None:
                index.track(self)
                if self.workflow is self.workflow.top_workflow:
                    index.mark(self.id)

    def _remove_task(self: Workflow, task_id: UUID) -> None:
        task = self.tasks[task_id]
        parent_id = task._parent
        original_remove(self, task_id)
        index = index_of(self)
        if index is not None:
            index.live.pop(task_id, None)
            if self is self.top_workflow:
                index.dirty.pop(task_id, None)
                index.removed.add(task_id)
                if parent_id is not None:
                    index.mark(parent_id)

    def update_waiting_tasks(self: Workflow) -> None:
        index = index_of(self)
        if index is None:
            original_update_waiting(self)
            return
        for task in [t for t in index.with_state(TaskState.WAITING) if t.workflow is self]:
            task.task_spec._update(task)

    Task.__init__ = __init__
    Task._set_state = _set_state
    Workflow._remove_task = _remove_task
    Workflow.update_waiting_tasks = update_waiting_tasks


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        _install()
        _installed = True
