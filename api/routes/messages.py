from __future__ import annotations

from fastapi import APIRouter

from ..deps import CurrentActor, ServiceDep
from ..schemas import MessageDelivery, MessageOut, SendMessage

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


@router.post("", response_model=MessageOut, summary="Deliver a message to the waiting instance(s) (role integrator)")
def send_message(body: SendMessage, actor: CurrentActor, service: ServiceDep) -> MessageOut:
    delivered = service.correlate_message(actor, body.name, business_key=body.business_key,
                                          correlation_keys=body.correlation_keys, variables=body.variables)
    return MessageOut(delivered=[MessageDelivery(**d) for d in delivered])
