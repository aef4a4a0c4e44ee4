"""Webhooks (admins): subscribe a URL to engine events, list and delete subscriptions, read the delivery log, replay
a delivery. Delivery, signing and retries: engine/commands/webhooks.py; docs/api.md "Webhooks"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.webhooks import CreatedWebhookOut, DeliveryOut, WebhookIn, WebhookOut
from phoihop.deps import ContainerDep, CurrentActor
from phoihop.engine.commands.webhooks import DeliveryView, WebhookView

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedWebhookOut,
    summary="Subscribe a URL to engine events (admin); the signing secret is shown only in this answer",
)
async def create_webhook(
    body: WebhookIn, actor: CurrentActor, engine: ContainerDep, response: Response
) -> CreatedWebhookOut:
    """Subscribes `url` to engine events (`events`, all when omitted; `process_key`, every process when omitted). The
    answer carries the signing `secret` and `key_id`, shown only here: each delivery is signed with HMAC-SHA256
    (`X-Phoihop-Signature`)."""
    created = await run_in_threadpool(
        lambda: engine.webhooks.create(actor, body.url, events=body.events, process_key=body.process_key)
    )
    response.headers["Location"] = f"/api/v1/webhooks/{created.webhook.id}"
    fields = {name: getattr(created.webhook, name) for name in WebhookView.__slots__}
    return CreatedWebhookOut.model_validate({**fields, "secret": created.secret})


@router.get("/webhooks", response_model=list[WebhookOut], summary="The live webhook subscriptions (admin)")
async def list_webhooks(actor: CurrentActor, engine: ContainerDep) -> list[WebhookView]:
    """The webhook subscriptions not deleted, without their secrets."""
    return await run_in_threadpool(engine.webhooks.live, actor)


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, summary="One webhook subscription (admin)")
async def get_webhook(webhook_id: str, actor: CurrentActor, engine: ContainerDep) -> WebhookView:
    """One webhook subscription, without its secret."""
    return await run_in_threadpool(engine.webhooks.get, actor, webhook_id)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop sending to this webhook (admin): pending deliveries are cancelled, the log stays readable",
)
async def delete_webhook(webhook_id: str, actor: CurrentActor, engine: ContainerDep) -> Response:
    """Deletes the subscription: its pending deliveries are cancelled, its delivery log stays readable."""
    await run_in_threadpool(engine.webhooks.delete, actor, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    summary="The webhook's delivery log, newest first: status, tries and each try's answer (admin)",
)
async def webhook_deliveries(
    webhook_id: str,
    actor: CurrentActor,
    engine: ContainerDep,
    limit: int = Query(default=100, ge=1, le=500),
) -> list[DeliveryView]:
    """The webhook's delivery log, newest first: event, status (pending, delivered, dead), tries, and each try's HTTP
    status or error."""
    return await run_in_threadpool(lambda: engine.webhooks.deliveries(actor, webhook_id, limit=limit))


@router.post(
    "/webhook-deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again now with a fresh count of tries, the same event id (admin); 409 while in flight",
    responses=problem_responses(409),
)
async def replay_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="id from the delivery log")],
    actor: CurrentActor,
    engine: ContainerDep,
) -> Response:
    """Sends a delivery again now, with the same event id (the receiver de-duplicates by it) and a fresh count of
    tries; 409 while a try is in flight."""
    await run_in_threadpool(engine.webhooks.replay, actor, delivery_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)
