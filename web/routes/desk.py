"""Phân công công việc (a lead's view of the agency's officers and their tasks, assigning and reassigning), ủy quyền
(delegating one's tasks and role for a period) and the print view of the one-stop slips ("In phiếu"). The same
commands and reads as POST /api/v1/tasks/{id}/assign, /api/v1/delegations and /api/v1/process-instances/{id}/slips.
The task page and the case page load their sections from here (htmx), so those pages only include a partial."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import AssignmentsDep, DelegationsDep, SlipReadsDep, WorkloadReadsDep
from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.errors import InvalidInput
from phoihop.engine.model import Actor
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute
from phoihop.web.templating import NAV, NavItem, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

NAV.append(NavItem("/phan-cong", "nav.assignment", lambda actor: "lead" in actor.roles or actor.is_admin))
NAV.append(NavItem("/uy-quyen", "nav.delegation", lambda actor: bool(actor.roles & {"officer", "lead"})))


def _led_agencies(actor: Actor) -> list[str]:
    """The agencies whose workload the person sees: every agency of a lead (an admin picks any)."""
    return sorted(actor.groups) if "lead" in actor.roles else []


# --- phân công ---------------------------------------------------------------------------------------------
@router.get("/phan-cong")
async def assignment_page(
    context: Page, workload: WorkloadReadsDep, don_vi: str | None = None, da_giao: str | None = None
) -> Response:
    assert context.session is not None
    actor = context.session.actor
    agencies = _led_agencies(actor)
    if actor.is_admin and not agencies:
        agencies = [a.code for a in context.request.app.state.container.agencies]
    agency = don_vi if don_vi in agencies else (agencies[0] if agencies else None)
    load = await run_in_threadpool(workload.workload, actor, agency) if agency else None
    return render(
        context,
        "assignment.html",
        {"agencies": agencies, "agency_code": agency, "load": load, "assigned": da_giao},
    )


@router.post("/phan-cong/giao", dependencies=[CsrfChecked])
async def assign(
    context: Page,
    assignments: AssignmentsDep,
    task_id: Annotated[str, Form(max_length=36)],
    user_id: Annotated[str, Form(max_length=200)],
    back: Annotated[str, Form(max_length=300)] = "/phan-cong",
) -> Response:
    assert context.session is not None
    await run_in_threadpool(assignments.assign, context.session.actor, task_id, user_id)
    target = back if back.startswith(("/phan-cong", "/cong-viec/")) and "//" not in back else "/phan-cong"
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}da_giao={quote(user_id)}", status_code=303)


@router.get("/cong-viec/{task_id}/phan-cong")
async def task_assignment(task_id: str, context: Page, workload: WorkloadReadsDep) -> Response:
    """The task page's assignment section (loaded by htmx): who holds the task, the lead's assign form, acts done
    through a delegation ("Nguyễn Văn A ký thay Phạm Quốc Cường")."""
    assert context.session is not None
    section = await run_in_threadpool(workload.task_assignment, context.session.actor, task_id)
    return render(context, "assignment_fragment.html", {"section": section})


# --- ủy quyền ---------------------------------------------------------------------------------------------
def _moment(day: str, hour: str, field: str) -> datetime:
    try:
        return datetime.combine(
            datetime.strptime(day, "%Y-%m-%d").date(), time.fromisoformat(hour or "00:00"), tzinfo=HANOI_TZ
        )
    except ValueError:
        raise InvalidInput(
            f"{field}: not a date and time", detail_vi="Ngày giờ ủy quyền không hợp lệ", field=field
        ) from None


@router.get("/uy-quyen")
async def delegation_page(context: Page, delegations: DelegationsDep) -> Response:
    assert context.session is not None
    actor = context.session.actor

    def read() -> tuple[list[object], list[object]]:
        mine = delegations.mine(actor)
        everyone = [p for p in delegations.people(actor) if p.id != actor.id and set(p.roles) & {"officer", "lead"}]
        return list(mine), list(everyone)

    mine, people = await run_in_threadpool(read)
    now = context.request.app.state.container.clock.now().astimezone(HANOI_TZ)
    return render(context, "delegation.html", {"delegations": mine, "people": people, "today": now.date().isoformat()})


@router.post("/uy-quyen", dependencies=[CsrfChecked])
async def create_delegation(
    context: Page,
    delegations: DelegationsDep,
    to_user_id: Annotated[str, Form(max_length=200)],
    starts_on: Annotated[str, Form(max_length=10)],
    ends_on: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=2000)],
    starts_time: Annotated[str, Form(max_length=5)] = "00:00",
    ends_time: Annotated[str, Form(max_length=5)] = "23:59",
) -> Response:
    assert context.session is not None
    actor = context.session.actor
    starts_at = _moment(starts_on, starts_time, "starts_at")
    ends_at = _moment(ends_on, ends_time, "ends_at")
    await run_in_threadpool(
        lambda: delegations.create(
            actor,
            to_user_id=to_user_id,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
        )
    )
    return RedirectResponse("/uy-quyen", status_code=303)


@router.post("/uy-quyen/{delegation_id}/thu-hoi", dependencies=[CsrfChecked])
async def revoke_delegation(delegation_id: int, context: Page, delegations: DelegationsDep) -> Response:
    assert context.session is not None
    await run_in_threadpool(delegations.revoke, context.session.actor, delegation_id)
    return RedirectResponse("/uy-quyen", status_code=303)


# --- in phiếu ---------------------------------------------------------------------------------------------
@router.get("/ho-so/{instance_id}/phieu")
async def case_slips(instance_id: str, context: Page, slips: SlipReadsDep) -> Response:
    """The case page's slips section (loaded by htmx): the slips the case has now."""
    assert context.session is not None
    kinds = await run_in_threadpool(slips.applicable, context.session.actor, instance_id)
    return render(context, "slips_fragment.html", {"instance_id": instance_id, "kinds": kinds})


@router.get("/ho-so/{instance_id}/phieu/{kind}")
async def slip_print(instance_id: str, kind: str, context: Page, slips: SlipReadsDep) -> Response:
    """A slip, print-ready (A4, Times New Roman): the browser prints it."""
    assert context.session is not None
    slip = await run_in_threadpool(slips.slip, context.session.actor, instance_id, kind)
    return render(context, "slip_print.html", {"slip": slip, "f": slip.fields})
