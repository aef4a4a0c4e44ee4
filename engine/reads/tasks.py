"""Reading human tasks: one task (with its form), the inbox listing, and the ids of an instance's open tasks. Who
may see a task: its candidates (groups, users), its assignee, who completed it, and admins (``Actor.may_see_task``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Hashable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from phoihop.engine.clock import Clock
from phoihop.engine.definitions.forms.display import SHOW_EARLIER, FieldLabel, display_value, field_labels
from phoihop.engine.definitions.task_flow import APPROVAL_PROPERTY
from phoihop.engine.errors import InvalidInput, NotCandidate, TaskNotFound
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import (
    EarlierAnswer,
    JsonObject,
    Models,
    Page,
    TaskDetail,
    TaskDraftView,
    TaskReturnView,
    TaskView,
    page_bounds,
    task_detail,
    task_view,
)
from phoihop.engine.search_text import fold
from phoihop.engine.store import human_tasks as task_store
from phoihop.engine.store import inbox_choices, instance_views
from phoihop.engine.store import repository as repo
from phoihop.engine.store import task_flow as flow_store
from phoihop.engine.store.database import Database
from phoihop.engine.time.deadlines import FILTERS

__all__ = ["COUNT_CAP", "TaskReads", "inbox_cursor", "inbox_cursor_key"]

# the inbox counts its matching tasks up to here, reading at most this many rows more (``total_capped`` past it)
COUNT_CAP = 1000
Choice = TypeVar("Choice", bound=Hashable)


def _answer(label: FieldLabel, value: Any) -> EarlierAnswer:
    return EarlierAnswer(label.name, label.label, label.form_title, value, display_value(value, label.schema))


class TaskReads:
    """One read-only transaction per call; deadline states are read against ``clock``."""

    def __init__(self, db: Database, clock: Clock, *, models: Models | None = None) -> None:
        self.db = db
        self.clock = clock
        self._models = models  # the compiled model of a stored definition (its forms); None: no form is shown

    def get_task(self, actor: Actor, task_id: str) -> TaskView:
        """One task the caller may see (TaskNotFound, NotCandidate otherwise)."""
        with self.db.transaction(write=False) as conn:
            return task_view(visible_task_row(conn, actor, task_id), self.clock.now())

    def get_task_detail(self, actor: Actor, task_id: str) -> TaskDetail:
        """One task with ``form``, the JSON Schema of its form (None when it has none)."""
        with self.db.transaction(write=False) as conn:
            row = visible_task_row(conn, actor, task_id)
            task = task_view(row, self.clock.now())
            form, values, earlier, summary = self._task_form(conn, task)
            returned, draft = self._flow(conn, task)
            if draft is not None and task.status in repo.OPEN_STATUSES:  # a draft sent back: the form starts from it
                fields = form.get("properties") if form is not None else None
                values = {**values, **{k: v for k, v in draft.data.items() if fields is None or k in fields}}
            return task_detail(
                task,
                form,
                values,
                returned=returned,
                draft=draft,
                approval=self._approval(conn, task),
                earlier=earlier,
                summary=summary,
            )

    def open_task_ids(self, actor: Actor, instance_id: str) -> list[str]:
        """Ids of the instance's open human tasks that the caller may see, oldest first (one indexed query)."""
        with self.db.transaction(write=False) as conn:
            return [t["id"] for t in repo.tasks_of_instance(conn, instance_id, open_only=True) if actor.may_see_task(t)]

    def list_tasks(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        assignee_me: bool = False,
        assignee: str | None = None,
        candidate_group: str | None = None,
        process_key: str | None = None,
        instance_id: str | None = None,
        deadline: str | None = None,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: str | None = None,
    ) -> Page[TaskView]:
        """Tasks the caller may see, soonest due first; open and claimed ones unless ``status`` says otherwise.
        ``deadline`` (on_time, warning, overdue) keeps the open tasks in that state now; ``text`` the tasks whose
        name, business key, dossier code, case title or applicant contains it, ignoring case and diacritics
        (engine/search_text.py); ``assignee`` the tasks held by that person ("me": the caller). ``total`` counts the
        matching tasks up to ``COUNT_CAP`` (``total_capped``: there are more); ``has_more``: a next page exists,
        read with ``next_cursor`` given back as ``after`` (the tasks after that one in this order: a keyset page, no
        rows read again to skip them) or with ``offset``."""
        limit, offset = page_bounds(limit, offset)
        key = inbox_cursor_key(after) if after is not None else None
        visible, conditions = self._inbox_query(
            actor,
            status=status,
            assignee_me=assignee_me,
            assignee=assignee,
            candidate_group=candidate_group,
            process_key=process_key,
            instance_id=instance_id,
            deadline=deadline,
            text=text,
        )
        selective = bool(text and fold(text))
        with self.db.transaction(write=False) as conn:
            rows = task_store.inbox_page(
                conn,
                visible=visible,
                conditions=conditions,
                limit=limit + 1,
                offset=offset,
                selective=selective,
                after=key,
            )
            total, capped = task_store.count_inbox(
                conn,
                visible=visible,
                conditions=conditions,
                cap=max(COUNT_CAP, offset + limit),
                selective=selective,
            )
        now = self.clock.now()
        items = tuple(task_view(r, now) for r in rows[:limit])
        more = len(rows) > limit
        return Page(
            items,
            total,
            limit,
            offset,
            has_more=more,
            total_capped=capped,
            next_cursor=inbox_cursor(items[-1]) if more and items else None,
        )

    def count_tasks(self, actor: Actor, *, cap: int = COUNT_CAP, **filters: Any) -> tuple[int, bool]:
        """How many tasks ``list_tasks(actor, **filters)`` would find, counted up to ``cap`` (True: there are more);
        reads at most ``cap + 1`` of them."""
        visible, conditions = self._inbox_query(actor, **filters)
        text = filters.get("text")
        with self.db.transaction(write=False) as conn:
            return task_store.count_inbox(
                conn,
                visible=visible,
                conditions=conditions,
                cap=cap,
                selective=bool(text and fold(text)),
            )

    def count_choices(
        self, actor: Actor, choices: Mapping[Choice, Mapping[str, Any]], *, cap: int = COUNT_CAP
    ) -> dict[Choice, tuple[int, bool]]:
        """For each choice (the filters of ``list_tasks``), what ``count_tasks(actor, cap=cap, **filters)`` gives, read
        by ONE statement (engine/store/inbox_choices.py): the caller's visible tasks kept by any choice, each choice a
        conditional sum. Reads at most ``len(choices) * (cap + 1)`` rows, no more than the separate counts could; past
        that (an admin, an agency with more live tasks) each choice is counted apart, in the same transaction."""
        if not choices:
            return {}
        queries = {key: self._inbox_query(actor, **filters) for key, filters in choices.items()}
        views = [visible for visible, _ in queries.values() if visible is not None]
        every = (
            replace(
                views[0],
                statuses=tuple(dict.fromkeys(s for v in views for s in v.statuses)),
                held=tuple(dict.fromkeys(s for v in views for s in v.held)),
            )
            if views
            else None
        )  # the same people and groups in each choice; the statuses (and the held drafts' statuses) of all of them
        conditions = [  # a choice reading fewer statuses than all of them (unclaimed: open) keeps only those
            [visible.status_clause(), *kept]
            if visible is not None
            and every is not None
            and (set(visible.statuses), set(visible.held)) != (set(every.statuses), set(every.held))
            else kept
            for visible, kept in queries.values()
        ]
        # the conditions every choice holds (the text searched, say) are tested once per row, not once per choice
        shared = [c for c in conditions[0] if all(any(c.compare(o) for o in other) for other in conditions[1:])]
        own = [[c for c in kept if not any(c.compare(s) for s in shared)] for kept in conditions]
        with self.db.transaction(write=False) as conn:
            found = inbox_choices.count_choices(
                conn, visible=every, shared=shared, choices=own, scan_cap=len(choices) * (cap + 1)
            )
            if found is None:
                return {  # as count_tasks counts each one (a searched text: by its trigram index)
                    key: task_store.count_inbox(
                        conn,
                        visible=visible,
                        conditions=kept,
                        cap=cap,
                        selective=bool(choices[key].get("text") and fold(choices[key]["text"])),
                    )
                    for key, (visible, kept) in queries.items()
                }
        return {key: (min(n, cap), n > cap) for key, n in zip(queries, found, strict=True)}

    def _inbox_query(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        assignee_me: bool = False,
        assignee: str | None = None,
        candidate_group: str | None = None,
        process_key: str | None = None,
        instance_id: str | None = None,
        deadline: str | None = None,
        text: str | None = None,
    ) -> tuple[task_store.Visibility | None, list[Any]]:
        """Who the caller sees (None: an admin sees every task) and the other conditions of the inbox."""
        if deadline is not None and deadline not in FILTERS:
            raise InvalidInput(
                f"deadline must be one of {', '.join(FILTERS)}, got {deadline!r}",
                detail_vi=f"deadline phải là một trong {', '.join(FILTERS)}, nhận được {deadline!r}",
                field="deadline",
            )
        now = self.clock.now()
        ht = repo.human_task_table
        conditions: list[Any] = []
        statuses: tuple[str, ...]
        held: tuple[str, ...]
        if status is not None:
            statuses, held = (status,), ()
        elif actor.is_admin or "lead" in actor.roles:  # and the drafts awaiting their approval
            statuses, held = repo.LIVE_STATUSES, ()
        else:  # and their own drafts awaiting a lead's approval
            statuses, held = repo.OPEN_STATUSES, (flow_store.AWAITING_APPROVAL,)
        visible = (
            None
            if actor.is_admin
            else task_store.Visibility(
                tuple(sorted(actor.user_ids)), tuple(sorted(actor.groups)), statuses, held, holder=actor.id
            )
        )
        if visible is None:
            conditions.append(ht.c.status.in_(statuses))
        if assignee_me or assignee == "me":
            conditions.append(ht.c.assignee == actor.id)
        elif assignee is not None:
            conditions.append(ht.c.assignee == assignee)
        if candidate_group is not None:
            conditions.append(repo.candidate_group_clause(candidate_group, statuses=statuses + held))
        if process_key is not None:
            conditions.append(ht.c.process_key == process_key)
        if instance_id is not None:
            conditions.append(ht.c.instance_id == instance_id)
        if deadline is not None:
            conditions += [ht.c.status.in_(repo.LIVE_STATUSES), repo.task_deadline_clause(deadline, now)]
        if text is not None and fold(text):
            live = all(s in repo.LIVE_STATUSES for s in statuses + held)  # what the live tasks' text index holds
            conditions.append(instance_views.task_text_clause(fold(text), live=live))
        return visible, conditions

    # --- rows ---------------------------------------------------------------------------------------------------------
    def _task_form(
        self, conn: Connection, task: TaskView
    ) -> tuple[JsonObject | None, JsonObject, tuple[EarlierAnswer, ...], tuple[EarlierAnswer, ...]]:
        """The task's form, the case's current values of its top-level fields (earlier answers), the earlier fields
        its ``x-show-earlier`` names and the case's start-form answers (labelled and formatted)."""
        if self._models is None:
            return None, {}, (), ()
        instance = repo.get_instance(conn, task.instance_id)
        if instance is None:
            return None, {}, (), ()
        model = self._models(conn, instance["definition_id"])
        variables = instance.get("variables") or {}
        start = model.start_form.name if model.start_form is not None else None
        forms = [(name, form.schema) for name, form in model.forms.items()]
        if model.start_form is not None and start not in model.forms:
            forms.append((model.start_form.name, model.start_form.schema))
        labels = field_labels(forms, start=start)
        summary = tuple(
            _answer(labels[name], variables.get(name))
            for name in labels
            if labels[name].form == start and variables.get(name) not in (None, "", [])
        )
        form = model.forms.get(task.form_key) if task.form_key else None
        if form is None:
            return None, {}, (), summary
        properties = form.schema.get("properties")
        names = properties if isinstance(properties, Mapping) else {}
        values = {name: variables[name] for name in names if variables.get(name) is not None}
        shown = [name for name in form.schema.get(SHOW_EARLIER) or () if isinstance(name, str)]
        earlier = tuple(
            _answer(labels.get(name) or FieldLabel(name, name, "", None), variables.get(name)) for name in shown
        )
        return form.schema, values, earlier, tuple(a for a in summary if a.field not in shown)

    def _approval(self, conn: Connection, task: TaskView) -> str | None:
        """The task's property ``approval`` (engine/definitions/task_flow.py), from its compiled definition."""
        instance = repo.get_instance(conn, task.instance_id) if self._models is not None else None
        if instance is None or self._models is None:
            return None
        info = self._models(conn, instance["definition_id"]).user_tasks.get(task.element_id)
        return info.properties.get(APPROVAL_PROPERTY) if info is not None else None

    @staticmethod
    def _flow(conn: Connection, task: TaskView) -> tuple[TaskReturnView | None, TaskDraftView | None]:
        """The latest send-back that opened ``task`` again, and its officer's draft (engine/commands/task_flow.py)."""
        back = flow_store.latest_returns(conn, [task.id]).get(task.id)
        returned = (
            TaskReturnView(
                reason=back["reason"],
                by=back["returned_by"],
                at=back["returned_at"],
                kind=back["kind"],
                from_task_id=back["task_id"],
                from_element_id=back["element_id"],
            )
            if back is not None
            else None
        )
        row = flow_store.get_draft(conn, task.id)
        draft = TaskDraftView(data=row["data"], by=row["drafted_by"], at=row["drafted_at"]) if row else None
        return returned, draft


def visible_task_row(conn: Connection, actor: Actor, task_id: str) -> repo.Row:
    """The task's row, when the caller may see it (TaskNotFound, NotCandidate otherwise)."""
    row = repo.get_task(conn, task_id)
    if row is None:
        raise TaskNotFound(
            f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
        )
    if not actor.may_see_task(row):
        raise NotCandidate(
            f"task {task_id} belongs to other agencies",
            detail_vi=f"Công việc {task_id} thuộc đơn vị khác",
            task_id=task_id,
        )
    return row


def inbox_cursor(task: TaskView) -> str:
    """The opaque keyset cursor of the inbox rows after ``task``: its place in the order (due, created, id)."""
    key = [task.due_at.isoformat() if task.due_at else None, task.created_at.isoformat(), task.id]
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def inbox_cursor_key(cursor: str) -> task_store.InboxKey:
    """The place an ``after`` cursor names (InvalidInput when it is not one ``inbox_cursor`` wrote)."""
    try:
        due, created, task_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = task_store.InboxKey(
            datetime.fromisoformat(due) if due is not None else None, datetime.fromisoformat(created), str(task_id)
        )
        if any(t is not None and t.tzinfo is None for t in (key.due_at, key.created_at)):
            raise ValueError("naive time")
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"after is not a cursor of this listing: {error}",
            detail_vi="Tham số after không phải con trỏ trang của danh sách này",
            field="after",
        ) from error
    return key
