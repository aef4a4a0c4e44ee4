"""A lead's control of the work of the agency: send a task back to an earlier human step (trả lại), and the officer's
draft that a lead approves (property ``approval="lead"``: cán bộ dự thảo, lãnh đạo phê duyệt).

- ``send_back``: the task is closed as ``returned``, the workflow is reset to the most recent earlier completed human
  step on its path (or the one named), which opens again as a new task, for its own agency, with the reason; any
  process, parallel branches included (engine/execution/send_back.py). Its due time follows the step's property
  ``onReturn``: ``restart`` (the default: the step's ``dueDate`` counted again from now) or ``continue`` (the time it
  had left when it was completed).
- ``submit_draft`` (from TaskCommands.complete): an officer completing a task that needs a lead's approval leaves the
  workflow where it is; the form data is kept as the draft and the task is ``awaiting_approval`` for the agency's
  leads. ``approve`` completes the workflow task with the draft's data; ``send_back`` on a draft returns it to its
  drafter with the lead's comment. A lead's (or an admin's) own complete of such a task is final.

Every act is an audit event (``task_returned``, ``task_draft_submitted``, ``task_approved``), in the command's
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

from phoihop.engine.commands.executor import CommandExecutor, CommandResult
from phoihop.engine.definitions.human_tasks import UserTaskModel
from phoihop.engine.definitions.task_flow import APPROVAL_PROPERTY, ON_RETURN_PROPERTY
from phoihop.engine.errors import (
    InstanceNotFound,
    InstanceNotRunning,
    InvalidInput,
    NotCandidate,
    RoleRequired,
    TaskNotFound,
    TaskNotOpen,
)
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import TaskView, task_view
from phoihop.engine.store import rawsql
from phoihop.engine.store import repository as repo
from phoihop.engine.store import task_flow as flow_store
from phoihop.engine.store.unit_of_work import UnitOfWork
from phoihop.engine.time.due_dates import warning_time

__all__ = [
    "MAX_REASON",
    "TaskFlowCommands",
    "TaskReturned",
    "needs_approval",
    "submit_draft",
]

MAX_REASON = 2000


def needs_approval(info: UserTaskModel | None, actor: Actor) -> bool:
    """Completing this task is a draft for a lead to approve: the task declares ``approval="lead"`` and the actor
    is neither a lead nor an admin (whose complete is final: no one approves their own work)."""
    if info is None or info.properties.get(APPROVAL_PROPERTY) != "lead":
        return False
    return not (actor.is_admin or "lead" in actor.roles)


@dataclass(frozen=True)
class TaskReturned(CommandResult):
    """Where a send-back left the instance, and the task that opened again (``task``: a new task on the earlier
    step, or the draft's own task back with its drafter)."""

    task: TaskView


def _agency(actor: Actor, task: Mapping[str, Any]) -> str | None:
    """The agency the actor acts for on ``task``: one of the task's groups the actor belongs to."""
    shared = sorted(actor.groups & set(task["candidate_groups"] or []))
    return shared[0] if shared else None


def _reason(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(
            f"{field} is required",
            detail_vi="Cần nêu lý do trả lại" if field == "reason" else "Cần nhập nội dung",
            field=field,
        )
    if len(text) > MAX_REASON:
        raise InvalidInput(
            f"{field} is longer than {MAX_REASON} characters",
            detail_vi=f"Nội dung dài quá {MAX_REASON} ký tự",
            field=field,
        )
    return text


class TaskFlowCommands:
    """Send-back, drafts and approval: one transaction each, through the executor."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    # --- send back ----------------------------------------------------------------------------------------------------
    def send_back(
        self, actor: Actor, task_id: str, reason: str | None, to_element_id: str | None = None
    ) -> TaskReturned:
        """Return ``task_id`` to an earlier human step (or, for a draft awaiting approval, to its drafter)."""
        text = _reason(reason, "reason")
        target_element = (to_element_id or "").strip() or None
        with self.executor.transaction() as uow:
            head, task, (draft, variables) = self._lock(
                uow, task_id, flow_store.DRAFT_OF_TASK, flow_store.VARIABLES_OF_TASK_INSTANCE
            )
            self.require_lead(actor, task)
            self._require_running(head)
            if task["status"] == flow_store.AWAITING_APPROVAL:
                return self._return_draft(uow, actor, task, head, text, flow_store.draft_out(draft))
            self._require_open(task, repo.OPEN_STATUSES)
            snapshot = dict(rawsql.js_out(variables["variables"]) or {}) if variables is not None else {}
            return self._send_back(uow, actor, task, head, text, target_element, snapshot)

    def _send_back(
        self,
        uow: UnitOfWork,
        actor: Actor,
        task: Mapping[str, Any],
        head: Mapping[str, Any],
        reason: str,
        to_element_id: str | None,
        snapshot: dict[str, Any],
    ) -> TaskReturned:
        """``snapshot``: the instance's variables, read with the locks."""
        conn, now = uow.conn, uow.now
        model = self.executor.model(conn, head["definition_id"])
        new_id = uuid4()
        reopened_id = str(new_id)
        data: dict[str, Any] = {
            "task_id": task["id"],
            "element_id": task["element_id"],
            "name": task["name"],
            "reopened_task_id": reopened_id,
            "reason": reason,
            "kind": "send_back",
            "agency": _agency(actor, task),
            "variables": snapshot,  # the case's data as it was returned (the returned work stays in the history)
            **actor.marks_for_task(task),  # done through a delegation: on whose behalf, ký thay / thừa ủy quyền
        }
        audit = {"kind": "task_returned", "element_id": task["element_id"], "task_id": task["id"], "data": data}
        opened: dict[str, dict[str, Any]] = {}

        def action(workflow: Any) -> Any:
            outcome, target = self.executor.runtime.send_back(workflow, task["id"], to_element_id, new_id)
            info = model.user_tasks.get(target.element_id)
            data.update(
                reopened_element_id=target.element_id,
                reopened_name=target.name,
                returned_to_task_id=target.task_id,
                on_return=(info.properties.get(ON_RETURN_PROPERTY) if info else None) or "restart",
            )
            if data["on_return"] == "continue":
                earlier = repo.get_task(conn, target.task_id)
                if earlier is not None and earlier["due_at"] is not None and earlier["completed_at"] is not None:
                    left = max(earlier["due_at"] - earlier["completed_at"], timedelta(0))
                    due = now + left
                    opened[reopened_id] = {
                        "due_at": due,
                        "warn_at": warning_time(now, due, self.executor.warning_ratio),
                    }
            return outcome

        result = self.executor.advance(uow, head, action, actor, audit, gone_status=flow_store.RETURNED, opened=opened)
        flow_store.insert_return(
            conn,
            {
                "instance_id": head["id"],
                "task_id": task["id"],
                "element_id": task["element_id"],
                "reopened_task_id": reopened_id,
                "reopened_element_id": data["reopened_element_id"],
                "kind": "send_back",
                "reason": reason,
                "returned_by": actor.id,
                "returned_at": now,
            },
        )
        # the reopened task as the save inserted it (no read-back)
        inserted = {row["id"]: row for row in result.opened}.get(reopened_id)
        if inserted is not None:
            reopened: repo.Row | None = {"completed_at": None, "completed_by": None, **inserted}
        else:  # the instance failed right after the reset: the returned task is the answer
            reopened = repo.get_task(conn, task["id"])
        assert reopened is not None
        return TaskReturned(result.instance_id, result.status, result.open_tasks, task_view(reopened, now))

    def _return_draft(
        self,
        uow: UnitOfWork,
        actor: Actor,
        task: Mapping[str, Any],
        head: Mapping[str, Any],
        comment: str,
        draft: Mapping[str, Any] | None,
    ) -> TaskReturned:
        """``draft``: the task's draft, read with the locks."""
        conn, now = uow.conn, uow.now
        drafter = draft["drafted_by"] if draft is not None else task["assignee"]
        row = flow_store.reopen_draft(conn, task, drafter, now)
        flow_store.insert_return(
            conn,
            {
                "instance_id": head["id"],
                "task_id": task["id"],
                "element_id": task["element_id"],
                "reopened_task_id": task["id"],
                "reopened_element_id": task["element_id"],
                "kind": "draft_returned",
                "reason": comment,
                "returned_by": actor.id,
                "returned_at": now,
            },
        )
        repo.insert_audit(
            conn,
            [
                self.event(
                    uow,
                    actor,
                    task,
                    "task_returned",
                    reopened_task_id=task["id"],
                    reopened_element_id=task["element_id"],
                    reason=comment,
                    kind="draft_returned",
                    drafted_by=drafter,
                ),
            ],
        )
        open_tasks = tuple(sorted(repo.open_task_ids(conn, head["id"])))
        return TaskReturned(head["id"], head["status"], open_tasks, task_view(row, now))

    # --- approval ---------------------------------------------------------------------------------------------------
    def approve(self, actor: Actor, task_id: str, comment: str | None = None) -> TaskReturned:
        """A lead approves a draft: the workflow task completes with the draft's data."""
        note = (comment or "").strip() or None
        if note is not None:
            note = _reason(note, "comment")
        with self.executor.transaction() as uow:
            head, task, (found,) = self._lock(uow, task_id, flow_store.DRAFT_OF_TASK)
            self.require_lead(actor, task)
            self._require_open(task, (flow_store.AWAITING_APPROVAL,))
            self._require_running(head)
            draft = flow_store.draft_out(found)
            data = dict(draft["data"]) if draft is not None else {}
            drafter = draft["drafted_by"] if draft is not None else task["assignee"]
            completed = flow_store.approve_task(uow.conn, task, actor.id, uow.now)  # the row read locked above
            approved = {"comment": note} if note else {}
            repo.insert_audit(uow.conn, [self.event(uow, actor, task, "task_approved", drafted_by=drafter, **approved)])
            audit = {
                "kind": "task_completed",
                "element_id": task["element_id"],
                "task_id": task_id,
                "data": {
                    "variables": data,
                    "name": task["name"],
                    "drafted_by": drafter,
                    "approved_by": actor.id,
                    **actor.marks_for_task(task),
                },
            }
            result = self.executor.advance(
                uow,
                head,
                lambda wf: self.executor.runtime.complete_task(wf, task_id, data),
                actor,
                audit,
                completed_task=task_id,
            )
        return TaskReturned(result.instance_id, result.status, result.open_tasks, task_view(completed, uow.now))

    # --- rules --------------------------------------------------------------------------------------------------------
    @staticmethod
    def require_lead(actor: Actor, task: Mapping[str, Any]) -> None:
        """A lead of the task's agency (a candidate holding the role ``lead``), or an admin."""
        if actor.is_admin:
            return
        if not actor.is_candidate(task):
            raise NotCandidate(
                f"user {actor.id} is not of the agency of task {task['id']}",
                detail_vi=f"Công việc {task['name'] or task['id']} thuộc đơn vị khác",
                task_id=task["id"],
                candidate_groups=list(task["candidate_groups"] or []),
            )
        if "lead" not in actor.roles:
            raise RoleRequired(
                f"only a lead of the agency may send task {task['id']} back or approve it",
                detail_vi="Chỉ lãnh đạo đơn vị mới được trả lại hoặc phê duyệt công việc này",
                task_id=task["id"],
                required_role="lead",
            )

    @staticmethod
    def _lock(uow: UnitOfWork, task_id: str, *reads: str) -> tuple[repo.Row, repo.Row, list[repo.Row | None]]:
        """The task's instance locked, then the task's row, in one trip on PostgreSQL: the order and the pipeline a
        complete takes (engine/commands/tasks.py), so neither waits on the other crosswise; ``reads`` (statements of
        ``:id``, the task's id) answered in the same trip."""
        head, task, more = repo.lock_task_and_instance_then(uow.conn, task_id, reads)
        if task is None:
            raise TaskNotFound(
                f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
            )
        if head is None:
            raise InstanceNotFound.of(task["instance_id"])
        return head, task, more

    @staticmethod
    def _require_open(task: Mapping[str, Any], statuses: tuple[str, ...]) -> None:
        if task["status"] not in statuses:
            awaiting = statuses == (flow_store.AWAITING_APPROVAL,)
            raise TaskNotOpen(
                f"task {task['id']} is {task['status']}" + (", not awaiting approval" if awaiting else ""),
                detail_vi=f"Công việc {task['name'] or task['id']} "
                + ("không ở trạng thái chờ phê duyệt" if awaiting else "không còn mở"),
                task_id=task["id"],
                task_status=task["status"],
            )

    @staticmethod
    def _require_running(head: Mapping[str, Any]) -> None:
        if head["status"] != "running":
            raise InstanceNotRunning(
                f"instance is {head['status']}",
                detail_vi="Hồ sơ không còn đang xử lý",
                instance_id=head["id"],
                instance_status=head["status"],
            )

    @staticmethod
    def event(uow: UnitOfWork, actor: Actor, task: Mapping[str, Any], event_kind: str, **more: Any) -> dict[str, Any]:
        return {
            "instance_id": task["instance_id"],
            "at": uow.now,
            "actor": actor.id,
            "kind": event_kind,
            "element_id": task["element_id"],
            "task_id": task["id"],
            "data": {
                "task_id": task["id"],
                "element_id": task["element_id"],
                "name": task["name"],
                "agency": _agency(actor, task),
                **actor.marks_for_task(task),
                **more,
            },
        }


def submit_draft(
    uow: UnitOfWork, actor: Actor, task: Mapping[str, Any], head: Mapping[str, Any], data: Mapping[str, Any]
) -> CommandResult:
    """An officer's complete of a task that needs a lead's approval (called by TaskCommands.complete inside its
    transaction, the instance locked and the form checked): the draft is kept, the task awaits the agency's leads."""
    conn, now = uow.conn, uow.now
    flow_store.save_draft(
        conn,
        {
            "task_id": task["id"],
            "instance_id": head["id"],
            "data": dict(data),
            "drafted_by": actor.id,
            "drafted_at": now,
        },
    )
    if not flow_store.mark_awaiting_approval(conn, task["id"], actor.id, now):
        raise TaskNotFound(
            f"task {task['id']} not found", detail_vi=f"Không tìm thấy công việc {task['id']}", task_id=task["id"]
        )
    repo.insert_audit(conn, [TaskFlowCommands.event(uow, actor, task, "task_draft_submitted")])
    return CommandResult(head["id"], head["status"], tuple(sorted(repo.open_task_ids(conn, head["id"]))))
