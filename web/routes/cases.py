"""The case view: an instance's diagram with the path taken, its history, variables and dossier, under the rule of
GET /api/v1/process-instances/{id} (who may see the instance sees all of it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import DefinitionReadsDep, InstanceViewsDep, WorkloadReadsDep
from phoihop.engine.reads.instances import HistoryEvent
from phoihop.web.deps import Page
from phoihop.web.errors import WebRoute
from phoihop.web.templating import render, security_headers

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """An audit event as the case page lists it: when, who, what, the agency (lane) and the name of its element."""

    at: datetime
    actor: str
    kind: str
    agency: str | None
    element_name: str | None
    actor_name: str = ""  # the person's display name (the directory of people), else their id
    signing: str | None = None  # "ký thay Phạm Quốc Cường": an act done through a delegation


def _history_row(
    event: HistoryEvent, names: Mapping[str, str], lanes: Mapping[str, str], people: Mapping[str, str]
) -> HistoryRow:
    element = event.element_id
    signing, whom = event.data.get("signing"), event.data.get("on_behalf_of")
    return HistoryRow(
        event.at,
        event.actor,
        event.kind,
        lanes.get(element) if element else None,
        names.get(element or "") or event.data.get("name"),
        people.get(event.actor, event.actor),
        f"{signing} {event.data.get('on_behalf_of_name') or people.get(whom, whom)}" if signing and whom else None,
    )


@router.get("/ho-so/{instance_id}")
async def case_page(
    instance_id: str,
    context: Page,
    instance_views: InstanceViewsDep,
    definitions: DefinitionReadsDep,
    workload: WorkloadReadsDep,
    started: bool = False,
) -> Response:
    assert context.session is not None
    diagram = await run_in_threadpool(instance_views.instance_diagram, context.session.actor, instance_id)
    people = await run_in_threadpool(workload.people_names, {event.actor for event in diagram.history})
    instance = diagram.instance
    names, lanes = diagram.names, diagram.lanes
    process = next(
        (p for p in await run_in_threadpool(definitions.list_definitions) if p.key == instance.process_key), None
    )
    version = process.version(instance.process_version) if process is not None else None
    people = await run_in_threadpool(
        instance_views.display_names, [instance.started_by, *(event.actor for event in diagram.history)]
    )
    marks = {
        "completed": list(diagram.completed),
        "active": list(diagram.active),
        "overdue": list(diagram.overdue),
        "warning": list(diagram.warning),
    }
    return render(
        context,
        "case.html",
        {
            "instance": instance,
            "money": diagram.money,
            "data": diagram.data,
            "people": people,
            "marks": marks,
            "history": [_history_row(event, names, lanes, people) for event in diagram.history],
            "names": names,
            "process_name": (version.name if version is not None else None) or instance.process_key,
            "started": started,
            "steps_taken": [(element, names.get(element, element)) for element in diagram.completed],
            "waiting": [(element, names.get(element, element)) for element in diagram.active],
        },
    )


@router.get("/ho-so/{instance_id}/so-do.bpmn")
async def case_bpmn(instance_id: str, context: Page, instance_views: InstanceViewsDep) -> Response:
    """The BPMN XML the case view's diagram draws (fetched by static/case-view.js)."""
    assert context.session is not None
    _name, content = await run_in_threadpool(instance_views.instance_bpmn, context.session.actor, instance_id)
    headers = {**security_headers(), "Content-Security-Policy": "default-src 'none'; sandbox"}
    return Response(content.encode("utf-8"), media_type="application/xml; charset=utf-8", headers=headers)
