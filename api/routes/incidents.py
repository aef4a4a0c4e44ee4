"""Incidents (Camunda's incident resolution): the failed steps and jobs that wait for a person. Leads of the
instance's agencies and admins list them with a count per process, retry one (after fixing variables) or skip its
step with a reason (engine/commands/incidents.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.incidents import IncidentPageOut, IncidentResolutionOut, RetryIncident, SkipIncident
from phoihop.deps import CurrentActor
from phoihop.engine.commands.incidents import IncidentCommands, IncidentPage, IncidentResolution

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


async def get_incidents(request: Request) -> IncidentCommands:
    incidents: IncidentCommands = request.app.state.container.incidents
    return incidents


IncidentsDep = Annotated[IncidentCommands, Depends(get_incidents)]


@router.get("", response_model=IncidentPageOut, summary="Open incidents with a count per process (lead, admin)")
async def list_incidents(
    actor: CurrentActor,
    incidents: IncidentsDep,
    process_key: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> IncidentPage:
    """Open incidents (a failed script or expression step, a timer or an external task out of retries) with their
    element, message, time and retries, and a count per process."""
    return await run_in_threadpool(lambda: incidents.open_incidents(actor, process_key=process_key))


@router.post(
    "/{incident_id}/retry",
    response_model=IncidentResolutionOut,
    summary="Run the failed step again, after setting variables (lead, admin)",
    responses=problem_responses(409),
)
async def retry(
    incident_id: int, actor: CurrentActor, incidents: IncidentsDep, body: RetryIncident | None = None
) -> IncidentResolution:
    """Runs the failed step again, after setting `variables` to fix what made it fail; the instance goes on. An audit
    event records who resolved it."""
    return await run_in_threadpool(incidents.retry, actor, incident_id, body.variables if body else None)


@router.post(
    "/{incident_id}/skip",
    response_model=IncidentResolutionOut,
    summary="Complete the failed step without running it, with a reason (lead, admin)",
    responses=problem_responses(409),
)
async def skip(
    incident_id: int, actor: CurrentActor, incidents: IncidentsDep, body: SkipIncident
) -> IncidentResolution:
    """Completes the failed step without running it, with a `reason`; the instance goes on. An audit event records who
    skipped it and why."""
    return await run_in_threadpool(incidents.skip, actor, incident_id, body.reason)
