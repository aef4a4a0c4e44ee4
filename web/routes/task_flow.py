"""Send-back (trả lại) and a lead's approval on the task page (partial templates/_task_flow.html): the same commands
and rules as POST /api/v1/tasks/{id}/return and /approve (engine/commands/task_flow.py).

- ``GET /cong-viec/{id}/buoc-truoc``: the earlier steps of the case a lead may choose to send the task back to, as
  ``<option>`` elements (loaded by htmx into the send-back form; without it the form sends the task back to the step
  just before);
- ``POST /cong-viec/{id}/tra-lai-ho-so``: send back (a reason; a step), or a draft back to its drafter;
- ``POST /cong-viec/{id}/phe-duyet``: approve a draft (a comment);
- ``GET /ho-so/{id}/tra-lai``: the case's send-backs and approvals with their reasons (a card of the case page, loaded
  by htmx; empty for a case without any)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import InstanceReadsDep, TaskFlowDep, TaskReadsDep
from phoihop.engine.reads.instances import HistoryEvent
from phoihop.web.demo_users import demo_user
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute
from phoihop.web.templating import ENV, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def person_name(user_id: str | None) -> str:
    """A person as officers read them: the name of a known user, else the id they signed in with."""
    if not user_id:
        return ""
    known = demo_user(user_id)
    return known.name if known is not None else user_id


ENV.globals.setdefault("person", person_name)  # the partial names the lead who sent a task back and the drafter


@router.get("/cong-viec/{task_id}/buoc-truoc")
async def earlier_steps(
    task_id: str, context: Page, task_reads: TaskReadsDep, instance_reads: InstanceReadsDep
) -> Response:
    assert context.session is not None
    actor = context.session.actor

    def steps() -> list[tuple[str, str]]:
        task = task_reads.get_task(actor, task_id)
        found: dict[str, str] = {}
        for event in reversed(instance_reads.history(actor, task.instance_id)):  # the most recent first
            if event.kind == "task_completed" and event.element_id and event.element_id != task.element_id:
                name = event.data.get("name") if isinstance(event.data.get("name"), str) else None
                found.setdefault(event.element_id, name or event.element_id)
        return list(found.items())

    return render(context, "_task_flow_steps.html", {"steps": await run_in_threadpool(steps)})


@dataclass(frozen=True, slots=True)
class FlowRow:
    """A send-back or an approval as the case page lists it."""

    at: datetime
    actor: str
    kind: str
    label: str  # a text key of web/i18n.py
    from_step: str
    to_step: str
    text: str


def _flow_row(event: HistoryEvent) -> FlowRow | None:
    data = event.data

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    name = text("name") or (event.element_id or "")
    if event.kind == "task_returned":
        draft = data.get("kind") == "draft_returned"
        return FlowRow(
            event.at,
            event.actor,
            event.kind,
            "flow.case_draft_returned" if draft else "event.task_returned",
            name,
            name if draft else text("reopened_name") or text("reopened_element_id"),
            text("reason"),
        )
    if event.kind == "task_approved":
        return FlowRow(event.at, event.actor, event.kind, "flow.case_approved", name, "", text("comment"))
    return None


@router.get("/ho-so/{instance_id}/tra-lai")
async def case_send_backs(instance_id: str, context: Page, instance_reads: InstanceReadsDep) -> Response:
    assert context.session is not None
    events = await run_in_threadpool(instance_reads.history, context.session.actor, instance_id)
    rows = [row for row in map(_flow_row, events) if row is not None]
    return render(context, "_task_flow_case_rows.html", {"rows": rows})


@router.post("/cong-viec/{task_id}/tra-lai-ho-so", dependencies=[CsrfChecked])
async def send_back(
    task_id: str,
    context: Page,
    flow: TaskFlowDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
    to_element_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    assert context.session is not None
    returned = await run_in_threadpool(flow.send_back, context.session.actor, task_id, reason, to_element_id or None)
    if returned.task.id == task_id:  # a draft back with its drafter: the lead sees the task as it is now
        return RedirectResponse(f"/cong-viec/{task_id}", status_code=303)
    return RedirectResponse(f"/ho-so/{returned.instance_id}", status_code=303)


@router.post("/cong-viec/{task_id}/phe-duyet", dependencies=[CsrfChecked])
async def approve(
    task_id: str, context: Page, flow: TaskFlowDep, comment: Annotated[str, Form(max_length=4000)] = ""
) -> Response:
    assert context.session is not None
    await run_in_threadpool(flow.approve, context.session.actor, task_id, comment or None)
    return RedirectResponse(f"/?done={task_id}", status_code=303)
