"""Human tasks: claim, release (unclaim) and complete. Completing locks the instance, then the task's row, checks the
form, and moves the workflow on in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from phoihop.engine.commands.executor import CommandExecutor, CommandResult
from phoihop.engine.commands.task_flow import needs_approval, submit_draft
from phoihop.engine.definitions.forms.validation import validate as validate_form
from phoihop.engine.errors import (
    AlreadyClaimed,
    InstanceNotFound,
    InstanceNotRunning,
    NotAssignee,
    TaskNotFound,
    TaskNotOpen,
)
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import TaskView, extended, task_view
from phoihop.engine.store import repository as repo
from phoihop.engine.store.unit_of_work import UnitOfWork
from phoihop.engine.variables import check_variables


@dataclass(frozen=True)
class TaskCompleted(CommandResult):
    """Where completing a task left the instance, the task as the database now holds it, and the instance's open
    tasks the actor sees in their inbox (``next_tasks``, oldest first): what a client works on next without asking."""

    task: TaskView
    next_tasks: tuple[TaskView, ...] = ()


@dataclass(frozen=True, slots=True)
class CompletedTaskView(TaskView):
    """The answer to completing a task: the task as the database now holds it, and ``next_tasks``."""

    next_tasks: tuple[TaskView, ...] = ()

    @classmethod
    def of(cls, completed: TaskCompleted) -> CompletedTaskView:
        return extended(completed.task, cls, next_tasks=completed.next_tasks)


def sees_in_inbox(actor: Actor, task: Mapping[str, Any]) -> bool:
    """The task is in ``actor``'s inbox (GET /api/v1/tasks): an admin sees every task; anyone else those of their
    agencies (candidate groups), naming them, or held or completed by them (or by whoever delegated to them), as
    ``repo.task_visibility_clause`` says in SQL."""
    if actor.is_admin:
        return True
    ids = actor.user_ids
    return (
        task["assignee"] in ids
        or task.get("completed_by") in ids
        or bool(actor.groups.intersection(task["candidate_groups"] or ()))
        or bool(ids.intersection(task["candidate_users"] or ()))
    )


def next_tasks(uow: UnitOfWork, actor: Actor, result: CommandResult) -> tuple[TaskView, ...]:
    """The instance's open tasks after ``result``, those ``actor`` sees: from the rows the command inserted when they
    are all the open ones (a sequence of steps: no query), else read in the command's transaction (parallel branches
    still open from before, a draft)."""
    opened = {row["id"]: row for row in result.opened}
    if all(tid in opened for tid in result.open_tasks):  # created together: ordered by id, as the query orders them
        rows: list[dict[str, Any]] = [
            {"completed_at": None, "completed_by": None, **opened[tid]} for tid in sorted(result.open_tasks)
        ]
    elif result.open_tasks:
        rows = list(repo.tasks_of_instance(uow.conn, result.instance_id, open_only=True))
    else:
        rows = []
    return tuple(task_view(row, uow.now) for row in rows if sees_in_inbox(actor, row))


class TaskCommands:
    """Claiming, releasing and completing human tasks: the officer's daily work."""

    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def claim(self, actor: Actor, task_id: str) -> None:
        with self.executor.transaction() as uow:
            # locked (PostgreSQL; SQLite's BEGIN IMMEDIATE holds it anyway): a claim that raced this one committed
            # first is seen here, so the claim below needs no answer
            task = self._task(uow.conn, task_id, lock=True)
            actor.require_candidate(task)
            if task["status"] == "claimed" and task["assignee"] == actor.id:
                return
            self._require_open(task)
            if task["status"] != "open" or task["assignee"] is not None:
                raise AlreadyClaimed(
                    f"task {task_id} is already claimed",
                    detail_vi=f"Công việc {task_id} đã được người khác nhận",
                    task_id=task_id,
                    assignee=task["assignee"],
                )
            repo.claim_task(uow.conn, task_id, actor.id, uow.now)
            repo.insert_audit(uow.conn, [self._task_event(uow, actor, task, "task_claimed")])

    def unclaim(self, actor: Actor, task_id: str) -> None:
        with self.executor.transaction() as uow:
            task = self._task(uow.conn, task_id)
            actor.require_candidate(task)
            self._require_open(task)
            if task["assignee"] not in actor.user_ids and not (
                actor.is_admin or ("lead" in actor.roles and actor.is_candidate(task))
            ):
                raise NotAssignee(
                    f"task {task_id} is assigned to {task['assignee']}",
                    detail_vi="Chỉ người đang nhận hoặc lãnh đạo đơn vị mới được bỏ nhận công việc",
                    task_id=task_id,
                    assignee=task["assignee"],
                )
            if repo.unclaim_task(uow.conn, task_id):
                repo.insert_audit(uow.conn, [self._task_event(uow, actor, task, "task_unclaimed")])

    def complete(self, actor: Actor, task_id: str, variables: Mapping[str, Any] | None) -> TaskCompleted:
        """Complete a human task (claiming it implicitly if unassigned); returns where the instance stands, with the
        completed task as the database now holds it (``TaskCompleted.task``). An officer's complete of a task that
        needs a lead's approval is a draft instead (engine/commands/task_flow.py): the task awaits approval."""
        data = check_variables(variables)
        with self.executor.transaction() as uow:
            # the instance locked, then the task's row (a claim takes only the task's row), in one trip
            head, found = repo.lock_task_and_instance(uow.conn, task_id)
            task = self._found(found, task_id)
            actor.require_candidate(task)
            if head is None:
                raise InstanceNotFound.of(task["instance_id"])
            self._require_open(task)
            if task["assignee"] is not None and task["assignee"] not in actor.user_ids:
                raise NotAssignee(
                    f"task {task_id} is claimed by {task['assignee']}",
                    detail_vi=f"Công việc {task_id} đã được {task['assignee']} nhận xử lý",
                    task_id=task_id,
                    assignee=task["assignee"],
                )
            if head["status"] not in ("running", "incident", "error"):  # an incident: the other branches go on
                raise InstanceNotRunning(
                    f"instance is {head['status']}",
                    detail_vi="Hồ sơ không còn đang xử lý",
                    instance_id=head["id"],
                    instance_status=head["status"],
                )
            model = self.executor.model(uow.conn, head["definition_id"])
            form = model.forms.get(task["form_key"] or "")
            if form is not None:  # before anything is written: a failure leaves the task open
                validate_form(form, data, task_id=task_id)
            if needs_approval(model.user_tasks.get(task["element_id"]), actor):  # an officer's draft for the leads
                drafted = submit_draft(uow, actor, task, head, data)
                row = repo.get_task(uow.conn, task_id)
                assert row is not None
                return TaskCompleted(
                    drafted.instance_id,
                    drafted.status,
                    drafted.open_tasks,
                    task_view(row, uow.now),
                    next_tasks(uow, actor, drafted),
                )
            completed = repo.complete_task(uow.conn, task, actor.id, uow.now)  # the row read locked above
            audit = {
                "kind": "task_completed",
                "element_id": task["element_id"],
                "task_id": task_id,
                "data": {"variables": data, "name": task["name"], **actor.marks_for_task(task)},
            }
            result = self.executor.advance(
                uow,
                head,
                lambda wf: self.executor.runtime.complete_task(wf, task_id, data),
                actor,
                audit,
                completed_task=task_id,
            )
            following = next_tasks(uow, actor, result)
        # the task as the UPDATE left its row
        return TaskCompleted(
            result.instance_id, result.status, result.open_tasks, task_view(completed, uow.now), following
        )

    @classmethod
    def _task(cls, conn: Connection, task_id: str, *, lock: bool = False) -> repo.Row:
        return cls._found(repo.get_task(conn, task_id, lock=lock), task_id)

    @staticmethod
    def _found(task: repo.Row | None, task_id: str) -> repo.Row:
        if task is None:
            raise TaskNotFound(
                f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
            )
        return task

    @staticmethod
    def _require_open(task: Mapping[str, Any]) -> None:
        if task["status"] not in repo.OPEN_STATUSES:
            raise TaskNotOpen(
                f"task {task['id']} is {task['status']}",
                detail_vi=f"Công việc {task['id']} đã ở trạng thái {task['status']}",
                task_id=task["id"],
                task_status=task["status"],
            )

    @staticmethod
    def _task_event(uow: UnitOfWork, actor: Actor, task: Mapping[str, Any], kind: str) -> dict[str, Any]:
        return {
            "instance_id": task["instance_id"],
            "at": uow.now,
            "actor": actor.id,
            "kind": kind,
            "element_id": task["element_id"],
            "task_id": task["id"],
            "data": {"name": task["name"], **actor.marks_for_task(task)},
        }
