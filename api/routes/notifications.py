"""The caller's notifications (``/api/v1/notifications``) and how they want them
(``/api/v1/notification-preferences``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.notifications import (
    MarkedRead,
    NotificationOut,
    NotificationPageOut,
    PreferencesIn,
    PreferencesOut,
)
from phoihop.deps import CurrentActor, Limit, NotificationsDep, Offset
from phoihop.engine.commands.notifications import NotificationPage, NotificationView, Preferences

router = APIRouter(tags=["notifications"])


@router.get(
    "/api/v1/notifications",
    response_model=NotificationPageOut,
    summary="The caller's notifications, newest first (unread=true: the unread ones)",
)
async def list_notifications(
    actor: CurrentActor, notifications: NotificationsDep, unread: bool = False, limit: Limit = 50, offset: Offset = 0
) -> NotificationPage:
    """The caller's in-app notifications (a task assigned, a return, an instruction, a deadline coming), newest
    first."""
    return await run_in_threadpool(lambda: notifications.list(actor, unread=unread, limit=limit, offset=offset))


@router.post("/api/v1/notifications/read-all", response_model=MarkedRead, summary="Mark all the caller's as read")
async def read_all(actor: CurrentActor, notifications: NotificationsDep) -> dict[str, int]:
    """Marks every notification of the caller as read."""
    return {"marked": await run_in_threadpool(notifications.mark_all_read, actor)}


@router.post(
    "/api/v1/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark one of the caller's notifications as read (another person's is 404)",
)
async def read_one(
    notification_id: Annotated[int, Path(ge=1, le=2**62)], actor: CurrentActor, notifications: NotificationsDep
) -> NotificationView:
    """Marks one of the caller's notifications as read; another person's is answered 404."""
    return await run_in_threadpool(notifications.mark_read, actor, notification_id)


@router.get("/api/v1/notification-preferences", response_model=PreferencesOut, summary="How the caller is notified")
async def get_preferences(actor: CurrentActor, notifications: NotificationsDep) -> Preferences:
    """How the caller receives notifications by email: immediately, as a daily digest, or not at all."""
    return await run_in_threadpool(notifications.preferences, actor)


@router.put(
    "/api/v1/notification-preferences",
    response_model=PreferencesOut,
    summary="Email immediately, as a daily digest, or not at all (in-app notifications are always on)",
)
async def put_preferences(body: PreferencesIn, actor: CurrentActor, notifications: NotificationsDep) -> Preferences:
    """Sets how the caller receives notifications by email; in-app notifications are always on."""
    return await run_in_threadpool(
        lambda: notifications.set_preferences(actor, email_mode=body.email_mode, email=body.email)
    )
