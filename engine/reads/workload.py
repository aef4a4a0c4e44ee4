"""Phân công công việc: an agency's officers and leads with their open assigned tasks, how many are overdue and how
many are due soon (in their warning period), and the agency's open tasks nobody holds yet. For the agency's leads
and admins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.clock import Clock
from phoihop.engine.errors import Forbidden
from phoihop.engine.model import TASK_ROLES, Actor, Delegated
from phoihop.engine.reads.tasks import visible_task_row
from phoihop.engine.reads.views import TaskView, task_view
from phoihop.engine.store import people
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["Candidate", "OfficerLoad", "SignedAct", "TaskAssignment", "Workload", "WorkloadReads"]


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

    def task_assignment(self, actor: Actor, task_id: str) -> TaskAssignment:
        """Who holds the task, who may take it (for a lead of its agency), and its acts through delegations."""
        return task_assignment(self.db, self.clock, actor, task_id)

    def people_names(self, ids: set[str]) -> dict[str, str]:
        """Display names of ``ids`` from the directory of people (an id unknown there: absent)."""
        if not ids:
            return {}
        with self.db.transaction(write=False) as conn:
            return {p["id"]: p["name"] for p in people.people(conn, ids)}

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
        conditions: list[Any] = [
            ht.c.status.in_(repo.OPEN_STATUSES),
            repo.candidate_group_clause(agency, statuses=repo.OPEN_STATUSES),
        ]
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


@dataclass(frozen=True, slots=True)
class Candidate:
    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class SignedAct:
    """An act on the task done through a delegation: who, as what ("ký thay", "thừa ủy quyền"), for whom."""

    kind: str
    at: datetime
    actor_name: str
    signing: str
    on_behalf_of_name: str


@dataclass(frozen=True, slots=True)
class TaskAssignment:
    """What the task page's assignment section shows."""

    task: TaskView
    assignee_name: str | None
    may_assign: bool
    candidates: tuple[Candidate, ...]  # the officers and leads of the task's agencies who may take it
    acting_through: Delegated | None  # the caller works on this task through this delegation
    signed: tuple[SignedAct, ...]


def leads_task_agency(actor: Actor, task: Mapping[str, Any]) -> bool:
    """An admin, or a lead of one of the task's candidate agencies: who may assign it."""
    return actor.is_admin or ("lead" in actor.roles and bool(actor.groups & set(task["candidate_groups"] or [])))


def may_take(person: Mapping[str, Any], task: Mapping[str, Any]) -> bool:
    """A person of one of the task's agencies holding a task role (and the task's required role, if any)."""
    roles = set(person["roles"] or ())
    if not set(person["groups"] or ()) & set(task["candidate_groups"] or ()) or not roles & set(TASK_ROLES):
        return False
    return not task.get("required_role") or task["required_role"] in roles


def task_assignment(db: Database, clock: Clock, actor: Actor, task_id: str) -> TaskAssignment:
    """The assignment section of a task the caller may see (TaskNotFound, NotCandidate otherwise)."""
    now = clock.now()
    with db.transaction(write=False) as conn:
        row = visible_task_row(conn, actor, task_id)
        everyone = {p["id"]: p for p in people.people(conn)}
        events = [
            e
            for e in repo.history(conn, row["instance_id"])
            if e["task_id"] == task_id and (e["data"] or {}).get("signing")
        ]
    names = {pid: p["name"] for pid, p in everyone.items()}
    may_assign = row["status"] in repo.OPEN_STATUSES and leads_task_agency(actor, row)
    candidates = (
        tuple(Candidate(p["id"], p["name"]) for p in everyone.values() if may_take(p, row)) if may_assign else ()
    )
    return TaskAssignment(
        task=task_view(row, now),
        assignee_name=names.get(row["assignee"], row["assignee"]) if row["assignee"] else None,
        may_assign=may_assign,
        candidates=candidates,
        acting_through=actor.delegation_for_task(row) if row["status"] in repo.OPEN_STATUSES else None,
        signed=tuple(
            SignedAct(
                e["kind"],
                e["at"],
                names.get(e["actor"]) or e["actor"],
                e["data"]["signing"],
                e["data"].get("on_behalf_of_name") or names.get(e["data"].get("on_behalf_of", ""), ""),
            )
            for e in events
        ),
    )
