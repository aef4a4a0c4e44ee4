"""The business calendar: working-day deadlines, days off of a year, and the admins' overrides. ``async`` handlers,
engine work in the thread pool in one hop."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.calendar import CalendarOverrideIn, CalendarOverrideOut, CalendarYearOut, WorkingDaysOut
from phoihop.deps import CalendarDep, CurrentActor
from phoihop.engine.commands.calendar import CalendarOverride, parse_cutoff, parse_start

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])


@router.get(
    "/working-days",
    response_model=WorkingDaysOut,
    summary="Deadline: `add` working days after a receipt at `start` (any authenticated caller)",
)
async def working_days(
    actor: CurrentActor,
    calendar: CalendarDep,
    start: Annotated[
        str, Query(max_length=64, description="YYYY-MM-DD, or an ISO 8601 datetime (Hanoi time when it has no offset)")
    ],
    add: Annotated[int, Query(description="working days to add (0 = end of the day of receipt)")],
    cutoff: Annotated[
        str | None,
        Query(
            max_length=16,
            description="HH:MM: receipts at or after it count from "
            "the next working day; empty = none; "
            "omitted = the server's setting",
        ),
    ] = None,
) -> WorkingDaysOut:
    """The due date of a time limit counted in working days (Saturdays, Sundays, public holidays and the city's
    overrides skipped), as the engine counts `working_days(n)` in a process: a receipt after office hours counts
    from the next working day."""
    moment = parse_start(start)
    limit = parse_cutoff(cutoff) if cutoff is not None else ...
    result = await run_in_threadpool(lambda: calendar.working_days(moment, add, cutoff=limit))
    return WorkingDaysOut.model_validate(
        {
            "start": result.start,
            "add": add,
            "received_on": result.received_on,
            "due_date": result.due_date,
            "due_at": result.due_at,
            "skipped": result.skipped,
        }
    )


@router.get("/days", response_model=CalendarYearOut, summary="Holidays and days off by override of a year")
async def days_of_year(
    actor: CurrentActor, calendar: CalendarDep, year: Annotated[int, Query(ge=1, le=9999)]
) -> CalendarYearOut:
    """Every day of the year that is not an ordinary working day or ordinary weekend: public holidays and the days an
    override made working or off, with their names."""
    days_off, worked = await run_in_threadpool(calendar.days_off, year)
    return CalendarYearOut.model_validate({"year": year, "days_off": days_off, "working_weekend_days": worked})


@router.get("/overrides", response_model=list[CalendarOverrideOut], summary="Calendar overrides (role admin)")
async def list_overrides(
    actor: CurrentActor, calendar: CalendarDep, year: Annotated[int | None, Query(ge=1, le=9999)] = None
) -> list[CalendarOverride]:
    """The calendar's overrides (a Saturday made a working day, a bridge day off), with who set them and why."""
    return await run_in_threadpool(calendar.list_overrides, actor, year)


@router.put(
    "/overrides/{day}", response_model=CalendarOverrideOut, summary="Make a day a working day or a day off (role admin)"
)
async def set_override(
    day: date, body: CalendarOverrideIn, actor: CurrentActor, calendar: CalendarDep
) -> CalendarOverride:
    """Sets `day` as a working day or a day off, with a reason. Deadlines computed from now on count it; deadlines
    already set stay as they were. An audit event records it."""
    return await run_in_threadpool(
        lambda: calendar.set_override(actor, day, working=body.working, name_vi=body.name_vi, name_en=body.name_en)
    )


@router.delete(
    "/overrides/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a day's override (role admin)",
)
async def delete_override(day: date, actor: CurrentActor, calendar: CalendarDep) -> Response:
    """Removes the override of `day`: it is again what the national calendar says. 404 when the day has none."""
    await run_in_threadpool(calendar.delete_override, actor, day)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
