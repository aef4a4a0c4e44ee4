"""``GET /api/v1/events/stream``: the caller's inbox events as Server-Sent Events (tasks created, claimed, unclaimed
and completed in the caller's agencies or for the caller; engine/reads/inbox_events.py).

Signed in either way: a bearer token or API key as every API call (phoihop.deps), or the web app's session cookie, so
the inbox page can subscribe with ``EventSource`` (web/static/inbox-live.js). That is why the route sits here, above
both the API and the web app (which may not import each other), and is included by the app factory.

How events reach a stream: each command writes its audit events and, on PostgreSQL, ``NOTIFY phoihop_inbox`` in its
own transaction (engine/store/inbox_events.py), so the notification goes out on commit, to every server process. One
listener thread per process (alive while a stream is open) turns notifications into a wake-up; the streams then read
the audit trail after their cursor. A notification lost (the listener reconnecting) costs at most ``PG_POLL_SECONDS``:
the streams read anyway that often. On SQLite (one process) the streams read every ``SQLITE_POLL_SECONDS``.

Every ``KEEP_ALIVE_SECONDS`` without an event the stream sends a comment line (proxies keep it open; the server learns
of a client gone). On server shutdown (SIGINT/SIGTERM to uvicorn) every stream sends ``event: shutdown`` and ends, so
the server does not wait for its graceful-shutdown timeout; EventSource reconnects to another server by itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from phoihop.auth import Unauthenticated
from phoihop.deps import API_KEY, BEARER, get_actor
from phoihop.engine.model import Actor
from phoihop.engine.reads.inbox_events import InboxEvent, InboxEventReads
from phoihop.engine.store.inbox_events import listen_inbox
from phoihop.web.session import current_session

__all__ = ["KEEP_ALIVE_SECONDS", "SHUTTING_DOWN", "Wakeups", "router"]

log = logging.getLogger("phoihop.events")
KEEP_ALIVE_SECONDS = 15.0
SQLITE_POLL_SECONDS = 0.5
PG_POLL_SECONDS = 5.0
_STEP = 0.1  # how often a stream looks at its wake-up counter and the shutdown flag
SHUTTING_DOWN = threading.Event()  # set when uvicorn is told to exit (see _watch_uvicorn_exit)

router = APIRouter(prefix="/api/v1/events", tags=["events"])


class Wakeups:
    """A counter the streams of one application watch; on PostgreSQL a listener thread bumps it for each
    notification, started with the first open stream and ending soon after the last one closes."""

    def __init__(self, database_url: str, dialect: str) -> None:
        self.url = database_url
        self.dialect = dialect
        self.generation = 0
        self._streams = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def poll_seconds(self) -> float:
        return PG_POLL_SECONDS if self.dialect == "postgresql" else SQLITE_POLL_SECONDS

    def subscribe(self) -> None:
        with self._lock:
            self._streams += 1
            if self.dialect == "postgresql" and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._listen, name="phoihop-inbox-listener", daemon=True)
                self._thread.start()

    def unsubscribe(self) -> None:
        with self._lock:
            self._streams -= 1

    def _bump(self) -> None:
        self.generation += 1

    def _keep_going(self) -> bool:
        return self._streams > 0 and not SHUTTING_DOWN.is_set()

    def _listen(self) -> None:
        try:
            listen_inbox(self.url, self._bump, self._keep_going)
        except Exception as exc:  # the streams still poll every PG_POLL_SECONDS
            log.warning("inbox listener stopped: %s", exc)


def wakeups(request: Request) -> Wakeups:
    """The application's wake-ups, made again when the application starts again (a new engine container)."""
    state = request.app.state
    current: tuple[object, Wakeups] | None = getattr(state, "inbox_wakeups", None)
    if current is None or current[0] is not state.container:
        db = state.container.db
        current = (state.container, Wakeups(db.url, db.dialect))
        state.inbox_wakeups = current
    return current[1]


async def stream_actor(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    _api_key: Annotated[str | None, Security(API_KEY)] = None,
) -> Actor:
    """The bearer token's or API key's actor (declared as the API's security schemes), else the web session's
    (cookie); 401 problem otherwise."""
    if request.headers.get("authorization") or request.headers.get("x-api-key"):
        return await get_actor(request)
    session = await current_session(request)
    if session is None:
        raise Unauthenticated(
            "authentication required: Bearer token, X-API-Key or a web session",
            "Cần xác thực: mã Bearer, X-API-Key hoặc phiên đăng nhập",
        )
    return session.actor


def sse_event(event: InboxEvent) -> str:
    data = orjson.dumps(asdict(event), option=orjson.OPT_UTC_Z).decode()  # times in UTC with Z, as the API's
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"


async def inbox_stream(actor: Actor, reads: InboxEventReads, woken: Wakeups) -> AsyncIterator[str]:
    cursor = await run_in_threadpool(reads.cursor)
    woken.subscribe()
    try:
        yield "retry: 3000\n: connected\n\n"
        seen = woken.generation
        now = time.monotonic()
        last_sent, next_read = now, now + woken.poll_seconds
        while not SHUTTING_DOWN.is_set():
            await asyncio.sleep(_STEP)
            now = time.monotonic()
            if woken.generation != seen or now >= next_read:
                seen, next_read = woken.generation, now + woken.poll_seconds
                for event in await run_in_threadpool(reads.read, actor, cursor):
                    yield sse_event(event)
                    last_sent = now
            if now - last_sent >= KEEP_ALIVE_SECONDS:
                yield ": keep-alive\n\n"
                last_sent = now
        yield "event: shutdown\ndata: {}\n\n"
    finally:
        woken.unsubscribe()


@router.get(
    "/stream",
    summary="The caller's inbox events, live (Server-Sent Events; bearer token, API key or web session)",
    description="`text/event-stream`: `event: task.created|task.claimed|task.unclaimed|task.completed`, `id:` "
    "`<audit event id>-<task id>`, `data:` the task (id, instance, process, name, status, assignee, candidate "
    "groups, time). Only tasks of the caller's agencies or for the caller; from the moment of the request on. A "
    "comment every 15 s keeps it open; `event: shutdown` before the server stops.",
    responses={200: {"content": {"text/event-stream": {}}, "description": "the stream"}},
)
async def events_stream(request: Request, actor: Annotated[Actor, Depends(stream_actor)]) -> StreamingResponse:
    reads = InboxEventReads(request.app.state.container.db)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # nginx: no buffering of the stream
    return StreamingResponse(
        inbox_stream(actor, reads, wakeups(request)), media_type="text/event-stream", headers=headers
    )


def _watch_uvicorn_exit() -> None:
    """Set SHUTTING_DOWN when uvicorn is told to exit: uvicorn waits for open responses before the application's
    shutdown, so the streams must learn of it first (the approach of sse-starlette)."""
    try:
        from uvicorn.server import Server
    except ImportError:  # served by something else: streams end when their clients go
        return
    original: Any = Server.handle_exit
    if getattr(original, "phoihop_watched", False):
        return

    def handle_exit(self: Server, sig: int, frame: Any) -> None:
        SHUTTING_DOWN.set()
        original(self, sig, frame)

    handle_exit.phoihop_watched = True  # type: ignore[attr-defined]
    Server.handle_exit = handle_exit  # type: ignore[method-assign]


_watch_uvicorn_exit()
