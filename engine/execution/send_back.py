"""Send-back (trả lại) on a live workflow: reset it to an earlier completed human task, for any process.

SpiffWorkflow resets a workflow to a task (``reset_from_task_id``): the task runs again, everything after it in the
task tree is dropped. A parallel (or inclusive) join is the one place where the tree is not the flow: the branches
that reached the join first end in a CANCELLED join task, and the flow goes on under the join task of the last
branch. So the work that depends on a task's completion (its *influence*) is its subtree, plus, for each merged join
in it, the influence of the join task that went on. A step is "earlier on the path" of a task when the task is in the
step's influence; resetting the step and each join that went on (after the step: a join reset first would fire on the
old branch) puts the workflow back as it was before the step, the other branches' finished work kept.

The reset step keeps SpiffWorkflow's task but gets a new id first (:func:`rekey`): every opening of a human task is
its own row, so the step's earlier, completed row stays in the case's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from phoihop.engine.errors import ReturnTargetInvalid, TaskNotOpen
from phoihop.engine.execution import task_index

__all__ = ["ReturnTarget", "choose_target", "earlier_steps", "reset_to"]


@dataclass(frozen=True)
class ReturnTarget:
    """An earlier completed human task a task can be sent back to, and the joins that went on after it."""

    task: Task
    joins: tuple[Task, ...]
    task_id: str  # the step's id as it completed (the task gets a new one when it opens again)

    @property
    def element_id(self) -> str:
        return str(self.task.task_spec.bpmn_id)

    @property
    def name(self) -> str:
        return str(self.task.task_spec.bpmn_name or self.task.task_spec.bpmn_id)


def _all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    tasks = list(workflow.tasks.values())
    for subprocess in workflow.subprocesses.values():
        tasks += subprocess.tasks.values()
    return tasks


def _host(task: Task) -> Task | None:
    """The subprocess (or call activity) task a task of a subprocess runs under, in its parent workflow."""
    workflow = task.workflow
    parent_id = getattr(workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    found: Task | None = workflow.top_workflow.get_task_from_id(parent_id)
    return found


def _descends(task: Task, ancestor: Task) -> bool:
    """``task`` is below ``ancestor`` in the tree (a loop makes trees deeper than SpiffWorkflow's recursive check
    can walk)."""
    current = task.parent
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def _influence(step: Task) -> tuple[set[UUID], list[Task]]:
    """The ids of the tasks whose existence depends on ``step``'s completion, and the joins that went on (to reset
    after the step, in order)."""
    seen: set[UUID] = set()
    joins: list[Task] = []
    pending = [step]
    while pending:
        root = pending.pop()
        if root.id in seen:
            continue
        for task in root:  # the subtree, root first
            seen.add(task.id)
            if isinstance(task.task_spec, UnstructuredJoin) and task.state == TaskState.CANCELLED:
                for other in task.workflow.tasks.values():
                    if (
                        other.task_spec is task.task_spec
                        and other.state == TaskState.COMPLETED
                        and other.id not in seen
                        and not _descends(task, other)
                    ):
                        joins.append(other)
                        pending.append(other)
        if root.workflow is not root.workflow.top_workflow:  # a step inside a finished subprocess: what came after
            host = _host(root)
            if host is not None and host.state == TaskState.COMPLETED:
                pending.append(host)
    return seen, joins


def _within(task: Task, ids: set[UUID]) -> bool:
    """``task`` (or the subprocess task it runs under) is one of ``ids``."""
    current: Task | None = task
    while current is not None:
        if current.id in ids:
            return True
        current = _host(current)
    return False


def earlier_steps(workflow: BpmnWorkflow, current: Task) -> list[ReturnTarget]:
    """The completed human tasks ``current`` can be sent back to, the most recently completed first."""
    found: list[ReturnTarget] = []
    for task in _all_tasks(workflow):
        if task.state != TaskState.COMPLETED or not task.task_spec.manual or task is current:
            continue
        ids, joins = _influence(task)
        if _within(current, ids):
            found.append(ReturnTarget(task, tuple(joins), str(task.id)))
    found.sort(key=lambda t: t.task.last_state_change, reverse=True)
    return found


def choose_target(workflow: BpmnWorkflow, current: Task, element_id: str | None) -> ReturnTarget:
    """The step to send ``current`` back to: the most recently completed earlier human task, or the most recent one
    of ``element_id``. ReturnTargetInvalid when there is none."""
    if current.state != TaskState.READY or not current.task_spec.manual:
        raise TaskNotOpen(
            f"task {current.id} is not ready",
            detail_vi=f"Công việc {current.id} chưa sẵn sàng",
            task_id=str(current.id),
        )
    steps = earlier_steps(workflow, current)
    chosen = [s for s in steps if element_id is None or s.element_id == element_id]
    if chosen:
        return chosen[0]
    targets = list(dict.fromkeys(s.element_id for s in steps))
    if element_id is None:
        raise ReturnTargetInvalid(
            f"task {current.task_spec.bpmn_id} has no earlier completed human step to send it back to",
            detail_vi=f"Công việc {current.task_spec.bpmn_name or current.task_spec.bpmn_id} không có bước xử lý nào "
            "trước đó để trả lại",
            element_id=current.task_spec.bpmn_id,
            targets=targets,
        )
    raise ReturnTargetInvalid(
        f"{element_id!r} is not an earlier completed human step of this case on the path of task "
        f"{current.task_spec.bpmn_id}; it can go back to: {', '.join(targets) or 'none'}",
        detail_vi=f"{element_id!r} không phải bước xử lý đã hoàn thành trước công việc "
        f"{current.task_spec.bpmn_name or current.task_spec.bpmn_id} trong hồ sơ này; có thể trả lại về: "
        f"{', '.join(targets) or 'không có'}",
        element_id=element_id,
        targets=targets,
    )


def rekey(task: Task, new_id: UUID) -> None:
    """Give ``task`` a new id, its links and the task index following: its stored record goes, a new one is written."""
    workflow = task.workflow
    old = task.id
    workflow.tasks[new_id] = workflow.tasks.pop(old)
    task.id = new_id
    parent = task.parent
    if parent is not None:
        parent._children = [new_id if c == old else c for c in parent._children]
    for child in task.children:
        child._parent = new_id
    if getattr(workflow, "last_task", None) is task:
        workflow.last_task = task
    index = task_index.index_of(workflow)
    if index is not None:
        index.live.pop(old, None)
        index.track(task)
        if workflow is workflow.top_workflow:
            index.dirty.pop(old, None)
            index.removed.add(old)
            index.mark(new_id)
            if parent is not None:  # its record lists its children's ids
                index.mark(parent.id)


def reset_to(workflow: BpmnWorkflow, target: ReturnTarget, new_id: UUID) -> None:
    """Reset ``workflow`` to ``target`` (the step's task, now with ``new_id``, READY again with the data it received;
    the joins that went on after it wait for its branch again)."""
    rekey(target.task, new_id)
    workflow.reset_from_task_id(new_id)
    for join in target.joins:
        if join.id in join.workflow.tasks:  # not dropped by an earlier reset
            workflow.reset_from_task_id(join.id)
    _forget_dropped(workflow)


def _forget_dropped(workflow: BpmnWorkflow) -> None:
    """Forget the tasks a reset dropped without telling: SpiffWorkflow 3.2 deletes a subprocess under the reset task
    from ``subprocesses`` only, and leaves the waiting events of removed tasks (a timer of the subprocess, a boundary
    event) in its event manager, whose next timer refresh then fails on a task without a parent. The task index
    (the engine's own list of live tasks) is cleared of them the same way."""
    alive = {id(workflow), *(id(sp) for sp in workflow.subprocesses.values())}

    def dropped(task: Task) -> bool:
        return id(task.workflow) not in alive or task.workflow.tasks.get(task.id) is not task

    events = workflow.event_manager.tasks
    for task_id, task in list(events.items()):
        if dropped(task):
            del events[task_id]
    index = task_index.index_of(workflow)
    if index is not None:
        for task_id, task in list(index.live.items()):
            if dropped(task):
                del index.live[task_id]
