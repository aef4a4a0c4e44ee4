"""The public dossier lookup (tra cứu hồ sơ): no sign-in, the dossier code and the secret printed on the receipt.
A wrong code and a wrong secret get the same 404 after the same work; each client address is limited
(phoihop/public_lookup.py, per server process: 429 with Retry-After)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.public import PublicDossierOut
from phoihop.engine.reads.public_dossiers import PublicDossier
from phoihop.public_lookup import PublicReadsDep, take_lookup_token

router = APIRouter(prefix="/api/v1/public", tags=["public lookup"])


@router.get(
    "/dossiers/{code}",
    response_model=PublicDossierOut,
    summary="Public status of a dossier (no sign-in): its code and the secret printed on the receipt",
    description="Answers the portal status, the appointment date, any apology letter and the steps done with the "
    "agency of each; never officers, personal data or variables. A wrong code and a wrong secret both answer the "
    "same 404 problem (`/problems/dossier-not-found`). Limited per client address and server process "
    "(`PHOIHOP_PUBLIC_LOOKUP_PER_MINUTE`): 429 problem with `Retry-After` beyond it.",
    responses={404: {"description": "no dossier with this code and secret"}, 429: {"description": "too many"}},
    dependencies=[Depends(take_lookup_token)],
)
async def public_dossier(
    code: str,
    reads: PublicReadsDep,
    secret: Annotated[str, Query(max_length=100, description="Mã tra cứu in trên phiếu tiếp nhận")],
) -> PublicDossier:
    return await run_in_threadpool(reads.lookup, code, secret)
