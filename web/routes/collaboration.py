"""Comments and instructions of a case, and a person's notifications: the same commands and rules as
/api/v1/process-instances/{id}/comments, /api/v1/notifications and /api/v1/notification-preferences.

The task and case pages load the comments section (``_comments.html``: the latest instruction first, highlighted, then
the comments and the form) from ``/ho-so/{id}/y-kien``, and the page header its bell count from
``/thong-bao/so-chua-doc``, both with htmx; without script the bell still links to the notifications page and the
section to the comments page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from phoihop.deps import CommentsDep, NotificationsDep
from phoihop.engine.commands.comments import MAX_COMMENT_LENGTH, CommentView
from phoihop.engine.commands.notifications import EMAIL_MODES
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute, is_htmx
from phoihop.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def is_id(value: str) -> bool:
    """A canonical UUID (task and instance ids): what may go into a redirect's path."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _back(instance_id: str, task_id: str | None) -> str:
    """The page a comment was written on (ids only: never a free redirect target)."""
    if task_id and is_id(task_id):
        return f"/cong-viec/{task_id}#y-kien"
    return f"/ho-so/{instance_id}#y-kien" if is_id(instance_id) else "/"


@router.get("/ho-so/{instance_id}/y-kien")
async def comments_section(
    instance_id: str, context: Page, comments: CommentsDep, task_id: str | None = None
) -> Response:
    """The comments section (an htmx fragment), or the comments page without script."""
    assert context.session is not None
    listed: list[CommentView] = await run_in_threadpool(comments.list, context.session.actor, instance_id)
    instructions = [c for c in listed if c.kind == "instruction"]
    values = {
        "instance_id": instance_id,
        "task_id": task_id if task_id and is_id(task_id) else None,
        "comments": listed,
        "instruction": instructions[-1] if instructions else None,
        "max_length": MAX_COMMENT_LENGTH,
    }
    return render(context, "_comments.html" if is_htmx(context.request) else "comments.html", values)


@router.post("/ho-so/{instance_id}/y-kien", dependencies=[CsrfChecked])
async def add_comment(
    instance_id: str,
    context: Page,
    comments: CommentsDep,
    text: Annotated[str, Form(max_length=20_000)],
    kind: Annotated[str, Form()] = "comment",
    task_id: Annotated[str | None, Form()] = None,
) -> Response:
    assert context.session is not None
    actor, task = context.session.actor, task_id or None
    await run_in_threadpool(lambda: comments.add(actor, instance_id, text, kind=kind, task_id=task))
    return RedirectResponse(_back(instance_id, task), status_code=303)


@router.get("/thong-bao/so-chua-doc")
async def bell_count(context: Page, notifications: NotificationsDep) -> Response:
    assert context.session is not None
    unread = await run_in_threadpool(notifications.unread_count, context.session.actor)
    return render(context, "_bell_count.html", {"unread": unread})


@router.get("/thong-bao")
async def notifications_page(
    context: Page, notifications: NotificationsDep, chua_doc: bool = False, luu: bool = False
) -> Response:
    assert context.session is not None
    actor = context.session.actor

    def read() -> tuple[object, object]:
        return notifications.list(actor, unread=chua_doc, limit=100), notifications.preferences(actor)

    page, preferences = await run_in_threadpool(read)
    values = {"page": page, "preferences": preferences, "unread_only": chua_doc, "saved": luu, "modes": EMAIL_MODES}
    return render(context, "notifications.html", values)


@router.post("/thong-bao/{notification_id}/da-doc", dependencies=[CsrfChecked])
async def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=2**62)], context: Page, notifications: NotificationsDep
) -> Response:
    assert context.session is not None
    await run_in_threadpool(notifications.mark_read, context.session.actor, notification_id)
    return RedirectResponse("/thong-bao", status_code=303)


@router.post("/thong-bao/da-doc-het", dependencies=[CsrfChecked])
async def mark_all_read(context: Page, notifications: NotificationsDep) -> Response:
    assert context.session is not None
    await run_in_threadpool(notifications.mark_all_read, context.session.actor)
    return RedirectResponse("/thong-bao", status_code=303)


@router.post("/thong-bao/cai-dat", dependencies=[CsrfChecked])
async def save_preferences(
    context: Page,
    notifications: NotificationsDep,
    email_mode: Annotated[str, Form()],
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    assert context.session is not None
    actor = context.session.actor
    await run_in_threadpool(lambda: notifications.set_preferences(actor, email_mode=email_mode, email=email or None))
    return RedirectResponse("/thong-bao?luu=true", status_code=303)
