"""Operations (issue 14.8, 14.9): a request id for every HTTP request, one structured log line per request (and the
engine's one per command), JSON logs, and the Prometheus metrics of ``GET /metrics``.

- ``RequestContext`` (ASGI middleware, outside everything but the last-resort error handler): takes the caller's
  ``X-Request-Id`` when it is a short token (letters, digits, ``._-``), else makes one; sets it in
  ``engine.correlation.request_id`` for the request's work (audit events carry it), answers it in ``X-Request-Id``,
  and logs ``phoihop.request``: method, path (never the query string, which may hold a search text or a secret),
  route template, status, duration. The actor is not logged: ids only, no personal data.
- ``JsonFormatter``: one JSON object per line with ``ts`` (UTC, with offset), ``level``, ``logger``, ``message``,
  ``request_id`` and the record's structured extras.
- Metrics: per process, command latency by command and outcome (from the executor's observer), HTTP requests by
  route and status, the connection pool; from the database at scrape time (engine/reads/metrics.py), instances by
  process and status, open and overdue tasks per agency, open incidents, timers due and the timer lag.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phoihop.engine import correlation
from phoihop.engine.reads.metrics import MetricsSnapshot

__all__ = [
    "REGISTRY",
    "JsonFormatter",
    "RequestContext",
    "configure_logging",
    "metrics_text",
    "observe_command",
]

request_log = logging.getLogger("phoihop.request")
_HANDLER_NAME = "phoihop"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# the record attributes every LogRecord has; anything else on a record was passed as ``extra=`` and is kept
_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}

# orjson leaves datetimes and dataclasses to ``default``, as json.dumps does: the same values, compact
_ORJSON_AS_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

REGISTRY = CollectorRegistry(auto_describe=True)  # this process's own figures (the default registry is not used)
COMMAND_SECONDS = Histogram(
    "phoihop_command_duration_seconds",
    "Time from opening a command's transaction to its commit or rollback, by command and outcome.",
    ["command", "outcome"],
    registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_SECONDS = Histogram(
    "phoihop_http_request_duration_seconds",
    "HTTP requests by method, route template and status class.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_IN_FLIGHT = Gauge("phoihop_http_requests_in_flight", "HTTP requests being served.", registry=REGISTRY)
COMMANDS_FAILED = Counter(
    "phoihop_commands_failed", "Commands rolled back (refused or failed), by command.", ["command"], registry=REGISTRY
)


def observe_command(command: str, outcome: str, seconds: float) -> None:
    """The executor's observer (engine/commands/executor.py)."""
    COMMAND_SECONDS.labels(command, outcome).observe(seconds)
    if outcome != "ok":
        COMMANDS_FAILED.labels(command).inc()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = correlation.request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        try:  # a third of json's cost, the same values (times and other objects through str, as json's default=str)
            return orjson.dumps(line, default=str, option=_ORJSON_AS_JSON).decode()
        except TypeError:  # what orjson refuses (an int past 64 bits, a key that is not a string)
            return json.dumps(line, ensure_ascii=False, default=str)


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (as logging's last-resort handler does), not the
    stream it was when set up: a redirected or replaced standard error keeps receiving the lines."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(log_format: str = "json", level: int = logging.INFO) -> None:
    """The root logger's one handler (standard error) in ``json`` or ``text``; uvicorn's own access log is left off
    by ``phoihop serve`` (RequestContext logs each request once)."""
    handler = _StandardError()
    handler.set_name(_HANDLER_NAME)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    # replaces the handler an earlier call set up, and leaves any other (a test's log capture) in place
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = correlation.request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            HTTP_IN_FLIGHT.dec()
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            method = str(scope.get("method", ""))
            HTTP_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)
            request_log.info(
                "%s %s %s %.1f ms",
                method,
                scope.get("path", ""),
                status,
                seconds * 1000,
                extra={
                    "method": method,
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            correlation.request_id.reset(token)


def metrics_text(snapshot: MetricsSnapshot) -> bytes:
    """This process's figures, then the database's (read at this scrape), in the Prometheus text format."""
    database = CollectorRegistry(auto_describe=True)
    instances = Gauge(
        "phoihop_instances", "Process instances by process and status.", ["process_key", "status"], registry=database
    )
    for key, status, count in snapshot.instances:
        instances.labels(key, status).set(count)
    open_tasks = Gauge(
        "phoihop_tasks_open", "Open human tasks per agency (candidate group).", ["agency"], registry=database
    )
    overdue = Gauge(
        "phoihop_tasks_overdue", "Open human tasks past their due time, per agency.", ["agency"], registry=database
    )
    for row in snapshot.tasks:
        open_tasks.labels(row.agency).set(row.open)
        overdue.labels(row.agency).set(row.overdue)
    incidents = Gauge("phoihop_incidents_open", "Unresolved incidents per process.", ["process_key"], registry=database)
    for key, count in snapshot.incidents:
        incidents.labels(key).set(count)
    Gauge("phoihop_timers_due", "Timers due and not yet fired.", registry=database).set(snapshot.timers_due)
    Gauge(
        "phoihop_timer_lag_seconds", "How long the oldest due timer has waited past its due time.", registry=database
    ).set(snapshot.timer_lag_seconds)
    pool = snapshot.pool
    Gauge("phoihop_db_pool_size", "Pooled database connections (PostgreSQL).", registry=database).set(pool.size)
    Gauge("phoihop_db_pool_checked_out", "Connections in use.", registry=database).set(pool.checked_out)
    Gauge("phoihop_db_pool_overflow", "Connections beyond the pool size.", registry=database).set(pool.overflow)
    return generate_latest(REGISTRY) + generate_latest(database)
