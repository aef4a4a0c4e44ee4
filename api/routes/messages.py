"""Messages from integrated systems. ``async`` handler, engine work in the thread pool in one hop."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.messages import MessageOut, SendMessage
from phoihop.deps import CurrentActor, MessagesDep

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


@router.post(
    "",
    response_model=MessageOut,
    summary="Deliver a message to the waiting instance(s) (role integrator)",
    responses=problem_responses(
        **{
            "404": "No instance waits for this message with this business key and correlation keys, and no process "
            "starts on it (`/problems/message-not-correlated`)",
            "409": "Several instances wait for it and `all` is false (`/problems/message-ambiguous`)",
        }
    ),
)
async def send_message(body: SendMessage, actor: CurrentActor, messages: MessagesDep) -> MessageOut:
    """Correlates a message (a BPMN message event: the applicant's supplement, another agency's answer, …) with the
    instance that waits for it, by `business_key` and/or `correlation_keys` (what `waiting_for` of the instance
    shows), and moves it on with `variables`; or starts a process whose start event is that message. The answer
    lists the instances reached and whether each was started by it."""
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
