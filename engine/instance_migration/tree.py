"""Moving a live SpiffWorkflow task tree onto another version's spec: the pure part of instance migration.

The stored state is loaded against the instance's own (source) spec, then changed in place (as SpiffWorkflow's own
``bpmn.util.diff.migrate_workflow`` does, but keeping the tasks that wait instead of resetting them):

1. **Predictions are dropped.** Tasks that are only predicted (LIKELY, MAYBE, and FUTURE below an unfinished task)
   are removed; they are re-predicted from the target spec in step 4.
2. **Live tasks keep their identity.** READY, WAITING and STARTED tasks (and a FUTURE task whose parent finished)
   get the target's task spec of their mapped element; their ids, data and internal data stay, so the human task
   rows, claims and pending timers (``event_value``) are the same objects after the move. A live task whose
   element has no target, or whose target is of another kind (a user task mapped to a timer), blocks the instance.
3. **History is mapped or pruned.** A finished task takes its mapped spec; when its element is gone it is spliced
   out of the tree (its children hang from its parent) - unless something depends on it being there: an
   unfinished child (the task right before a waiting element) or a join child (joins read their inputs' tasks).
   Then the instance is blocked. The audit trail keeps the full history either way.
4. **The future is re-predicted** from each live task with the target spec's outputs, as SpiffWorkflow predicts a
   live task (as its own ``reset_branch`` does; boundary events waiting beside their task as when their split ran).

Generated spec names follow their element: ``X.BoundaryEventSplit``, ``X.BoundaryEventJoin`` and ``P.EndJoin``
map with ``X`` and ``P``. Subprocesses are handled the same way against the target's subprocess specs; a finished
subprocess that cannot be mapped is dropped from the state (it is history). Not supported, and reported instead:
a multi-instance or loop task in progress, and boundary events added in the target to a task that is live now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit, EventSplit
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

__all__ = ["Finding", "TreePlan", "element_of", "is_live", "live_tasks", "plan_tree", "rebuild", "target_name"]

DERIVED_SUFFIXES = (".BoundaryEventSplit", ".BoundaryEventJoin", ".EndJoin")
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Finding:
    """Why an instance cannot move (or, with ``blocking`` False, what the owner should know)."""

    code: str
    element_id: str | None
    message_en: str
    message_vi: str
    blocking: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "element_id": self.element_id,
            "message_en": self.message_en,
            "message_vi": self.message_vi,
            "blocking": self.blocking,
        }


@dataclass
class TreePlan:
    """What ``rebuild`` will do, worked out without changing anything."""

    findings: list[Finding] = field(default_factory=list)
    prune: list[tuple[Any, UUID]] = field(default_factory=list)  # (workflow, task id) of finished tasks to splice out
    drop_subprocesses: list[UUID] = field(default_factory=list)  # finished subprocesses that cannot be mapped
    targets: dict[tuple[int, UUID], Any] = field(default_factory=dict)  # (id(workflow), task id) -> target spec
    workflows: list[tuple[Any, Any]] = field(default_factory=list)  # (workflow, target spec) to move

    @property
    def blocked(self) -> bool:
        return any(f.blocking for f in self.findings)


def target_name(name: str, mapping: Mapping[str, str]) -> str:
    """The target spec name of a source spec name: mapped element ids, generated names following their element."""
    if name in mapping:
        return mapping[name]
    for suffix in DERIVED_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            return mapping.get(base, base) + suffix
    return name


def element_of(spec: Any) -> str:
    """The BPMN element id a task spec stands for (its name for the generated ones)."""
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def _kind(spec: Any) -> str:
    definition = getattr(spec, "event_definition", None)
    return type(spec).__name__ + (f"/{type(definition).__name__}" if definition is not None else "")


def is_live(task: Task) -> bool:
    """READY, WAITING or STARTED, or FUTURE right after a finished task: a task that is not a prediction."""
    if task.state & _LIVE:
        return True
    parent = task.parent
    return bool(task.state == TaskState.FUTURE and (parent is None or parent.state & TaskState.FINISHED_MASK))


def _is_prediction(task: Task) -> bool:
    return bool(task.state & TaskState.NOT_FINISHED_MASK) and not is_live(task)


def live_tasks(workflow: Any) -> Iterator[Task]:
    """Live tasks of a workflow and of its subprocesses."""
    for wf in [workflow, *workflow.subprocesses.values()]:
        yield from (t for t in wf.tasks.values() if is_live(t))


def _name(spec: Any) -> str:
    label = getattr(spec, "bpmn_name", None)
    return f"{element_of(spec)} ({label})" if label else element_of(spec)


def plan_tree(
    workflow: Any, mapping: Mapping[str, str], target_spec: Any, target_subprocess_specs: Mapping[str, Any]
) -> TreePlan:
    """Check every task of ``workflow`` (and its subprocesses) against the target and plan the move."""
    plan = TreePlan()
    _plan_workflow(plan, workflow, mapping, target_spec, in_subprocess=False)
    for parent_id, subprocess in workflow.subprocesses.items():
        parent = workflow.get_task_from_id(parent_id)
        parent_target = plan.targets.get((id(parent.workflow), parent_id)) if parent is not None else None
        sub_name = getattr(parent_target, "spec", None)
        sub_spec = target_subprocess_specs.get(sub_name) if isinstance(sub_name, str) else None
        finished = subprocess.completed or not any(is_live(t) for t in subprocess.tasks.values())
        trial = TreePlan()
        if sub_spec is not None:
            _plan_workflow(trial, subprocess, mapping, sub_spec, in_subprocess=True)
        if finished and (sub_spec is None or trial.blocked):
            plan.drop_subprocesses.append(parent_id)
            continue
        if sub_spec is None:
            element = element_of(parent.task_spec) if parent is not None else str(parent_id)
            plan.findings.append(
                Finding(
                    "subprocess-not-mappable",
                    element,
                    f"subprocess {element} is in progress and the target version has no process {sub_name or '?'} "
                    "for it",
                    f"quy trình con {element} đang thực hiện nhưng phiên bản đích không có quy trình "
                    f"{sub_name or '?'} tương ứng",
                )
            )
            continue
        plan.findings += trial.findings
        plan.prune += trial.prune
        plan.targets.update(trial.targets)
        plan.workflows += trial.workflows
    return plan


def _plan_workflow(
    plan: TreePlan, wf: Any, mapping: Mapping[str, str], target_spec: Any, *, in_subprocess: bool
) -> None:
    plan.workflows.append((wf, target_spec))
    where_en, where_vi = (" (inside a subprocess)", " (trong quy trình con)") if in_subprocess else ("", "")
    code_removed = "subprocess-not-mappable" if in_subprocess else "element-removed"
    for task in wf.tasks.values():
        if _is_prediction(task):
            continue
        source = task.task_spec
        target = target_spec.task_specs.get(target_name(source.name, mapping))
        element = element_of(source)
        if is_live(task):
            if target is None:
                plan.findings.append(
                    Finding(
                        code_removed,
                        element,
                        f"{_name(source)} is waiting{where_en} and has no element in the target version: map it to one",
                        f"{_name(source)} đang chờ xử lý{where_vi} nhưng không có phần tử "
                        "tương ứng ở phiên bản đích: hãy ánh xạ sang một phần tử",
                    )
                )
                continue
            plan.targets[(id(wf), task.id)] = target
            if _kind(source) != _kind(target):
                plan.findings.append(
                    Finding(
                        "element-kind-changed",
                        element,
                        f"{_name(source)} is waiting as {_kind(source)}; its target {element_of(target)} is "
                        f"{_kind(target)}",
                        f"{_name(source)} đang chờ dưới dạng {_kind(source)}; phần tử đích "
                        f"{element_of(target)} lại là {_kind(target)}",
                    )
                )
            if isinstance(source, LoopTask) or isinstance(getattr(task.parent, "task_spec", None), LoopTask):
                plan.findings.append(
                    Finding(
                        "loop-in-progress",
                        element,
                        f"{_name(source)} is a multi-instance or loop task in progress",
                        f"{_name(source)} là công việc lặp hoặc đa phiên bản đang thực hiện",
                    )
                )
            split = target_spec.task_specs.get(f"{target.name}.BoundaryEventSplit")
            parent_spec = getattr(task.parent, "task_spec", None)
            if split is not None and not isinstance(parent_spec, BoundaryEventSplit):
                plan.findings.append(
                    Finding(
                        "boundary-events-added",
                        element,
                        f"the target version attaches boundary events to {_name(source)}, which is waiting now; "
                        "migrate after it is completed, or deploy the boundary events with a new step",
                        f"phiên bản đích gắn thêm sự kiện biên vào {_name(source)} đang chờ xử lý; hãy chuyển sau khi "
                        "bước này hoàn thành",
                    )
                )
            if split is not None and isinstance(parent_spec, BoundaryEventSplit):
                _new_boundary_events(plan, task, split, mapping)
            if any(is_live(child) for child in task.children):
                plan.findings.append(
                    Finding(
                        "unsupported-structure",
                        element,
                        f"{_name(source)} has waiting children",
                        f"{_name(source)} có các bước con đang chờ",
                    )
                )
            continue
        if target is not None:
            plan.targets[(id(wf), task.id)] = target
            continue
        children = task.children
        depends = [c for c in children if not c.state & TaskState.FINISHED_MASK or isinstance(c.task_spec, Join)]
        unmapped = [
            c
            for c in depends
            if is_live(c) and target_spec.task_specs.get(target_name(c.task_spec.name, mapping)) is None
        ]
        if depends and len(unmapped) == len(depends):
            continue  # what waits after it is reported itself
        if isinstance(source, BoundaryEventSplit) and depends:
            main = _name(depends[0].task_spec)
            plan.findings.append(
                Finding(
                    "boundary-events-removed",
                    element_of(depends[0].task_spec),
                    f"the target version removes the boundary events of {main}, which is waiting now; migrate after "
                    "it is completed",
                    f"phiên bản đích bỏ các sự kiện biên của {main} đang chờ xử lý; hãy chuyển sau "
                    "khi bước này hoàn thành",
                )
            )
        elif task.parent is None or depends:
            follower = _name(depends[0].task_spec) if depends else "the process start"
            plan.findings.append(
                Finding(
                    "history-not-mappable",
                    element,
                    f"completed step {_name(source)} has no element in the target version and {follower} depends on "
                    "it: map it to one",
                    f"bước đã hoàn thành {_name(source)} không có phần tử tương ứng ở phiên bản "
                    f"đích và {follower} phụ thuộc vào bước này: hãy ánh xạ sang một phần tử",
                )
            )
        else:
            plan.prune.append((wf, task.id))


def _new_boundary_events(plan: TreePlan, task: Task, split: Any, mapping: Mapping[str, str]) -> None:
    """Boundary events the target attaches to a live task that already has some: the new ones do not start for
    this instance (its split ran before they existed). Told, not blocking."""
    present = {target_name(sibling.task_spec.name, mapping) for sibling in task.parent.children}
    for output in split.outputs:
        if output.name not in present:
            plan.findings.append(
                Finding(
                    "boundary-event-not-started",
                    element_of(output),
                    f"boundary event {_name(output)} is new in the target version; it does not start for this "
                    f"instance, whose step {element_of(task.task_spec)} is already waiting",
                    f"sự kiện biên {_name(output)} mới có ở phiên bản đích; không áp dụng cho hồ sơ này vì bước "
                    f"{element_of(task.task_spec)} đã đang chờ xử lý",
                    blocking=False,
                )
            )


def rebuild(
    workflow: Any, plan: TreePlan, target_subprocess_specs: Mapping[str, Any], on_change: Callable[[Task], None]
) -> None:
    """Carry out ``plan`` (which must not be blocked) on ``workflow`` in place. ``on_change`` is called for each
    task kept, so the caller can mark its record as changed (its spec name changes)."""
    assert not plan.blocked, "a blocked plan cannot be carried out"
    for parent_id in plan.drop_subprocesses:
        workflow.subprocesses.pop(parent_id, None)
    for wf, _ in plan.workflows:
        tops = [t for t in wf.tasks.values() if _is_prediction(t) and not (t.parent and _is_prediction(t.parent))]
        for task in tops:
            if task.id in wf.tasks:
                wf._remove_task(task.id)
    for wf, task_id in plan.prune:
        _splice(wf, task_id)
    for wf, target_spec in plan.workflows:
        for task in wf.tasks.values():
            task.task_spec = plan.targets[(id(wf), task.id)]
            on_change(task)
        wf.spec = target_spec
    workflow.subprocess_specs = dict(target_subprocess_specs)
    for wf, _ in plan.workflows:
        for task in [t for t in wf.tasks.values() if is_live(t)]:
            _predict(task)


def _splice(wf: Any, task_id: UUID) -> None:
    task = wf.tasks[task_id]
    parent = task.parent
    kids = list(task._children)
    at = parent._children.index(task_id)
    parent._children[at + 1 : at + 1] = kids
    for kid in kids:
        wf.tasks[kid]._parent = parent.id
    task._children = []
    if wf.last_task is task:
        wf.last_task = parent
    wf._remove_task(task_id)


def _predict(task: Task) -> None:
    """Predict a live task's future from its (new) spec, as SpiffWorkflow first predicted it."""
    parent_spec = getattr(task.parent, "task_spec", None)
    if task.state == TaskState.WAITING and isinstance(parent_spec, EventSplit):
        # an event waiting beside the main task was predicted as MAYBE before its split ran: so are its children
        changed = task.last_state_change
        task._set_state(TaskState.MAYBE)
        task.task_spec._predict(task, looked_ahead=1, mask=TaskState.PREDICTED_MASK)
        task._set_state(TaskState.WAITING)
        task.last_state_change = changed
        return
    task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
