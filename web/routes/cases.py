"""The case view: an instance's diagram with the path taken, its history, variables and dossier, under the rule of
GET /api/v1/process-instances/{id} (who may see the instance sees all of it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import QueriesDep
from phoihop.web.deps import Page
from phoihop.web.errors import WebRoute
from phoihop.web.templating import render, security_headers

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _agency_of(event: dict[str, Any], lanes: dict[str, str]) -> str | None:
    element = event.get("element_id")
    return lanes.get(element) if element else None


@router.get("/ho-so/{instance_id}")
async def case_page(instance_id: str, context: Page, queries: QueriesDep, started: bool = False) -> Response:
    assert context.session is not None
    diagram = await run_in_threadpool(queries.instance_diagram, context.session.actor, instance_id)
    instance = diagram["instance"]
    names, lanes = diagram["names"], diagram["lanes"]
    history = [
        {
            **event,
            "agency": _agency_of(event, lanes),
            "element_name": names.get(event.get("element_id") or "") or (event.get("data") or {}).get("name"),
        }
        for event in diagram["history"]
    ]
    marks = {key: diagram[key] for key in ("completed", "active", "overdue", "warning")}
    process_name = next(
        (
            r["name"]
            for r in await run_in_threadpool(queries.list_definitions)
            if r["key"] == instance["process_key"] and r["version"] == instance["process_version"]
        ),
        None,
    )
    return render(
        context,
        "case.html",
        {
            "instance": instance,
            "marks": marks,
            "history": history,
            "names": names,
            "process_name": process_name or instance["process_key"],
            "started": started,
            "steps_taken": [(element, names.get(element, element)) for element in diagram["completed"]],
            "waiting": [(element, names.get(element, element)) for element in diagram["active"]],
        },
    )


@router.get("/ho-so/{instance_id}/so-do.bpmn")
async def case_bpmn(instance_id: str, context: Page, queries: QueriesDep) -> Response:
    """The BPMN XML the case view's diagram draws (fetched by static/case-view.js)."""
    assert context.session is not None
    _name, content = await run_in_threadpool(queries.instance_bpmn, context.session.actor, instance_id)
    headers = {**security_headers(), "Content-Security-Policy": "default-src 'none'; sandbox"}
    return Response(content.encode("utf-8"), media_type="application/xml; charset=utf-8", headers=headers)
