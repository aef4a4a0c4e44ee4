"""Phân công công việc: an agency's officers and leads with their open assigned tasks, how many are overdue and how
many are due soon (in their warning period), and the agency's open tasks nobody holds yet. For the agency's leads
and admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.clock import Clock
from phoihop.engine.errors import Forbidden
from phoihop.engine.model import TASK_ROLES, Actor
from phoihop.engine.reads.views import TaskView, task_view
from phoihop.engine.store import people
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["OfficerLoad", "Workload", "WorkloadReads"]


@dataclass(frozen=True, slots=True)
class OfficerLoad:
    user_id: str
    name: str
    roles: tuple[str, ...]
    open_tasks: int
    overdue: int
    due_soon: int
    tasks: tuple[TaskView, ...]


@dataclass(frozen=True, slots=True)
class Workload:
    agency: str
    agency_name: str
    officers: tuple[OfficerLoad, ...]
    unassigned: tuple[TaskView, ...]  # open tasks of the agency that nobody holds
    others: tuple[TaskView, ...]  # open tasks held by someone outside the directory's officers of the agency
    read_at: datetime


def _count(tasks: list[TaskView], state: str) -> int:
    return sum(1 for t in tasks if t.deadline_state == state)


class WorkloadReads:
    def __init__(self, db: Database, clock: Clock, agencies: AgencyRegistry) -> None:
        self.db = db
        self.clock = clock
        self.agencies = agencies

    def workload(self, actor: Actor, agency: str) -> Workload:
        if not (actor.is_admin or ("lead" in actor.roles and agency in actor.groups)):
            raise Forbidden(
                f"only a lead of {agency} sees its workload",
                detail_vi="Chỉ lãnh đạo của đơn vị mới xem được tình hình phân công công việc của đơn vị",
                agency=agency,
                required_roles=["lead"],
            )
        now = self.clock.now()
        ht = repo.human_task_table
        conditions: list[Any] = [ht.c.status.in_(repo.OPEN_STATUSES), repo.candidate_group_clause(agency)]
        with self.db.transaction(write=False) as conn:
            staff = [p for p in people.people_of_agency(conn, agency) if set(p["roles"] or ()) & set(TASK_ROLES)]
            rows, _ = repo.list_tasks(conn, conditions=conditions, limit=10_000, offset=0)
        tasks = [task_view(r, now) for r in rows]
        by_person: dict[str, list[TaskView]] = {}
        for task in tasks:
            if task.assignee is not None:
                by_person.setdefault(task.assignee, []).append(task)
        ids = {p["id"] for p in staff}
        officers = tuple(
            OfficerLoad(
                p["id"],
                p["name"],
                tuple(p["roles"] or ()),
                len(mine := by_person.get(p["id"], [])),
                _count(mine, "overdue"),
                _count(mine, "warning"),
                tuple(mine),
            )
            for p in staff
        )
        known = self.agencies.get(agency)
        return Workload(
            agency=agency,
            agency_name=known.name_vi if known is not None else agency,
            officers=officers,
            unassigned=tuple(t for t in tasks if t.assignee is None),
            others=tuple(t for t in tasks if t.assignee is not None and t.assignee not in ids),
            read_at=now,
        )
