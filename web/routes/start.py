"""Starting a case from the page (roles officer and lead, as POST /api/v1/process-instances allows people): the
process's start form rendered like a task form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import DefinitionReadsDep, InstancesDep
from phoihop.engine.errors import FormInvalid
from phoihop.engine.reads.definitions import DefinitionReads, StartForm
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute
from phoihop.web.forms import agency_defaults, build_fields, errors_by_field, parse_submission
from phoihop.web.templating import PageContext, may_start, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Key = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")]
BUSINESS_KEY = "_business_key"  # the form field of the optional business key (never a property name: leading _)


@router.get("/khoi-tao")
async def start_list(context: Page, definitions: DefinitionReadsDep) -> Response:
    processes = await run_in_threadpool(definitions.list_definitions)
    assert context.session is not None
    latest = [p.latest for p in processes]  # the latest version of each key, whatever its status
    return render(context, "start_list.html", {"processes": latest, "allowed": may_start(context.session.actor)})


def _start_page(
    context: PageContext,
    start: StartForm,
    name: str,
    *,
    raw: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    local: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    actor = context.session.actor if context.session is not None else None
    prefilled = agency_defaults(start.form, sorted(actor.groups) if actor is not None else [])
    fields = build_fields(start.form, context.t, values=prefilled, raw=raw)
    placed, general = errors_by_field(errors or [], fields, context.lang)
    for field_name, messages in (local or {}).items():
        placed.setdefault(field_name, []).extend(messages)
    if placed:
        fields = build_fields(start.form, context.t, values=prefilled, raw=raw, errors=placed)
    business_key = (raw or {}).get(BUSINESS_KEY, [""])[0] if raw else ""
    return render(
        context,
        "start_form.html",
        {
            "start": start,
            "name": name,
            "fields": fields,
            "general_errors": general,
            "business_key": business_key,
            "business_key_field": BUSINESS_KEY,
            "has_errors": bool(placed or general),
            "allowed": context.session is not None and may_start(context.session.actor),
        },
        status=status,
    )


def _name(definitions: DefinitionReads, key: str, version: int) -> str:
    process = next((p for p in definitions.list_definitions() if p.key == key), None)
    found = process.version(version) if process is not None else None
    return (found.name or key) if found is not None else key


@router.get("/khoi-tao/{key}")
async def start_form(key: Key, context: Page, definitions: DefinitionReadsDep) -> Response:
    start = await run_in_threadpool(definitions.start_form, key)
    return _start_page(context, start, await run_in_threadpool(_name, definitions, key, start.version))


@router.post("/khoi-tao/{key}", dependencies=[CsrfChecked])
async def start_instance(key: Key, context: Page, definitions: DefinitionReadsDep, instances: InstancesDep) -> Response:
    assert context.session is not None
    actor = context.session.actor
    form = await context.request.form()
    raw = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    start = await run_in_threadpool(definitions.start_form, key)
    name = await run_in_threadpool(_name, definitions, key, start.version)
    variables, local = parse_submission(start.form, raw, context.t)
    if local:
        return _start_page(context, start, name, raw=raw, local=local, status=422)
    business_key = (raw.get(BUSINESS_KEY) or [""])[0].strip()[:200] or None
    try:
        instance_id, _created = await run_in_threadpool(
            lambda: instances.start(actor, key, version=start.version, business_key=business_key, variables=variables)
        )
    except FormInvalid as exc:
        return _start_page(context, start, name, raw=raw, errors=exc.errors, status=422)
    return RedirectResponse(f"/ho-so/{instance_id}?started=true", status_code=303)
