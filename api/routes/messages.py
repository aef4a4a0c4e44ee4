"""Messages from integrated systems. ``async`` handler, engine work in the thread pool in one hop."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.messages import MessageOut, SendMessage
from phoihop.deps import CurrentActor, MessagesDep

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


@router.post("", response_model=MessageOut, summary="Deliver a message to the waiting instance(s) (role integrator)")
async def send_message(body: SendMessage, actor: CurrentActor, messages: MessagesDep) -> MessageOut:
    delivered = await run_in_threadpool(
        lambda: messages.correlate(
            actor,
            body.name,
            business_key=body.business_key,
            correlation_keys=body.correlation_keys,
            variables=body.variables,
            all_instances=body.all,
        )
    )
    return MessageOut.model_validate({"delivered": delivered})
