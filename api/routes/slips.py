"""The one-stop slips of a case as DOCX (engine.reads.slips): receipt, supplement, refusal, apology, control."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import CurrentActor, SlipReadsDep

router = APIRouter(prefix="/api/v1/process-instances", tags=["slips"])

SlipKind = Annotated[
    str, Path(min_length=1, max_length=50, description="receipt, supplement, refusal, apology, control")
]


@router.get(
    "/{instance_id}/slips/{kind}",
    summary="A one-stop slip of the case as DOCX (Thông tư 01/2018/TT-VPCP forms)",
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}}},
        404: {"description": "no such case or slip kind, or no template for it"},
        409: {"description": "the slip does not apply to the case (e.g. a refusal slip of a case not refused)"},
    },
)
async def slip(instance_id: str, kind: SlipKind, actor: CurrentActor, slips: SlipReadsDep) -> Response:
    """A one-stop slip of the case as a DOCX file: the receipt (giấy tiếp nhận và hẹn trả kết quả), the supplement
    request, the refusal or the apology letter, filled from the case, per the forms of Thông tư 01/2018/TT-VPCP."""
    document = await run_in_threadpool(slips.docx, actor, instance_id, kind)
    return Response(
        document.content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )
