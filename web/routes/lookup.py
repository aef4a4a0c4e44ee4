"""Tra cứu hồ sơ: the public page where an applicant, without signing in, types the dossier code and the lookup code
printed on the receipt and sees how the dossier stands (engine.reads.public_dossiers: status, appointment date,
apology letters, the steps done with their agencies; no officer, no personal data).

The codes travel in a POST form (not in the address, so not in browser history or access logs), with the pre-session
CSRF token of the sign-in page. The lookup is limited per client address like the API's (phoihop/public_lookup.py)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from phoihop.engine.clock import HANOI_TZ
from phoihop.engine.errors import DossierLookupFailed, TooManyRequests
from phoihop.engine.reads.public_dossiers import PublicDossier
from phoihop.public_lookup import PublicReadsDep, take_lookup_token
from phoihop.web.deps import AnyPage, CsrfChecked
from phoihop.web.errors import WebRoute
from phoihop.web.session import CSRF_COOKIE
from phoihop.web.templating import PageContext, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PATH = "/tra-cuu"


def day(value: datetime | None) -> str:
    """dd/mm/yyyy in Hanoi time ("" for none)."""
    return value.astimezone(HANOI_TZ).strftime("%d/%m/%Y") if value is not None else ""


def shown(dossier: PublicDossier, lang: str) -> dict[str, Any]:
    """The dossier as the page prints it: dates as dd/mm/yyyy, names in the page's language."""
    vi = lang == "vi"
    return {
        "code": dossier.code,
        "status": dossier.status_name_vi if vi else dossier.status_name_en,
        "received": day(dossier.received_at),
        "appointment": day(dossier.appointment_at),
        "finished": day(dossier.finished_at) if dossier.finished else "",
        "apologies": [
            {
                "new_date": day(a.new_appointment_at),
                "old_date": day(a.previous_appointment_at),
                "reason": a.reason or "",
                "issued": day(a.issued_at),
            }
            for a in dossier.apologies
        ],
        "steps": [
            {
                "name": s.name,
                "agency": (s.agency_name_vi if vi else s.agency_name_en) or "",
                "date": day(s.completed_at),
            }
            for s in dossier.steps
        ],
    }


def _form(context: PageContext, values: dict[str, Any], *, status: int = 200) -> Response:
    if context.session is None:  # the form's CSRF token before any session (as on the sign-in page)
        context.new_csrf = context.request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    headers = {"Retry-After": str(values["retry_after"])} if values.get("retry_after") else None
    return render(
        context,
        "lookup.html",
        {"code": "", "error": None, "dossier": None, "path": PATH, **values},
        status=status,
        headers=headers,
    )


@router.get(PATH)
async def lookup_page(context: AnyPage) -> Response:
    return _form(context, {})


@router.post(PATH, dependencies=[CsrfChecked])
async def lookup(
    context: AnyPage,
    reads: PublicReadsDep,
    ma_ho_so: Annotated[str, Form(max_length=100)] = "",
    ma_tra_cuu: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    code = ma_ho_so.strip()
    try:
        take_lookup_token(context.request)
        dossier = await run_in_threadpool(reads.lookup, code, ma_tra_cuu)
    except TooManyRequests as exc:
        error = context.t("lookup.too_many", seconds=exc.retry_after)
        return _form(context, {"code": code, "error": error, "retry_after": exc.retry_after}, status=429)
    except DossierLookupFailed:
        return _form(context, {"code": code, "error": context.t("lookup.not_found")}, status=404)
    return _form(context, {"code": code, "dossier": shown(dossier, context.lang)})
