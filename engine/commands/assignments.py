"""Phân công: a lead of a task's agency (or an admin) hands an open human task to a named officer of that agency,
or hands it on to another (reassigning). The task is claimed for that person; the act is the audit event
``task_assigned`` ``{task_id, element_id, user_id, previous_user_id?}`` (with ``on_behalf_of`` and ``signing`` when
the lead's authority came from a delegation)."""

from __future__ import annotations

from typing import Any

from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import AssigneeNotEligible, Forbidden, InvalidInput, TaskNotFound, TaskNotOpen
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import TaskView, task_view
from phoihop.engine.reads.workload import leads_task_agency, may_take
from phoihop.engine.store import assignments as store
from phoihop.engine.store import people
from phoihop.engine.store import repository as repo


class Assignments:
    def __init__(self, executor: CommandExecutor) -> None:
        self.executor = executor

    def assign(self, actor: Actor, task_id: str, user_id: str) -> TaskView:
        """Assign ``task_id`` to ``user_id``; returns the task as the database now holds it."""
        if not user_id or len(user_id) > 200:
            raise InvalidInput(
                "user_id must be 1 to 200 characters", detail_vi="Mã người dùng phải dài 1–200 ký tự", field="user_id"
            )
        with self.executor.transaction() as uow:
            task = repo.get_task(uow.conn, task_id, lock=True)
            if task is None:
                raise TaskNotFound(
                    f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
                )
            if not leads_task_agency(actor, task):
                raise Forbidden(
                    f"only a lead of the task's agency may assign task {task_id}",
                    detail_vi="Chỉ lãnh đạo đơn vị được giao công việc mới được phân công công việc này",
                    task_id=task_id,
                    required_roles=["lead"],
                )
            if task["status"] not in repo.OPEN_STATUSES:
                raise TaskNotOpen(
                    f"task {task_id} is {task['status']}",
                    detail_vi=f"Công việc {task_id} không còn mở để phân công",
                    task_id=task_id,
                    task_status=task["status"],
                )
            person = people.get_person(uow.conn, user_id)
            if person is None or not may_take(person, task):
                name = person["name"] if person is not None else user_id
                agencies = list(task["candidate_groups"] or [])
                raise AssigneeNotEligible(
                    f"user {user_id} is not an officer or lead of the task's agency ({', '.join(agencies) or '-'})",
                    detail_vi=f"Không thể phân công cho {name} ({user_id}): người này không phải chuyên viên hoặc "
                    "lãnh đạo của đơn vị xử lý công việc"
                    + (" (hoặc không có vai trò công việc yêu cầu)" if task.get("required_role") else ""),
                    field="user_id",
                    user_id=user_id,
                    agencies=agencies,
                )
            assigned = store.assign_task(uow.conn, task_id, user_id, uow.now)
            if assigned is None:  # read (and locked) above in this transaction
                raise TaskNotFound(
                    f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
                )
            delegated = actor.acting_through(lambda a: leads_task_agency(a, task))
            data: dict[str, Any] = {
                "task_id": task_id,
                "element_id": task["element_id"],
                "user_id": user_id,
                "user_name": person["name"],
                "name": task["name"],
            }
            if task["assignee"]:
                data["previous_user_id"] = task["assignee"]
            if delegated is not None:
                data.update(delegated.marks())
            event = {
                "instance_id": task["instance_id"],
                "at": uow.now,
                "actor": actor.id,
                "kind": "task_assigned",
                "element_id": task["element_id"],
                "task_id": task_id,
                "data": data,
            }
            repo.insert_audit(uow.conn, [event])
        return task_view(assigned, uow.now)
