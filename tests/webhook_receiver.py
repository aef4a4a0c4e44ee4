"""A real HTTP receiver for webhook tests, on loopback: a threaded http.server that records every request and answers
as the test says (``mode``: "ok" → 200, "fail" → 500, "slow" → answers after ``slow_seconds``, past the sender's
timeout). It also records how many requests of one event id were in flight at once, and when each arrived. A test may
close ``gate`` to hold every request open until it opens it again (a sender killed meanwhile)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int | None  # the status the receiver answered (None: too slow, the sender gave up)
    arrived_at: float = 0.0  # time.time() when the request arrived

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str = ""
    mode: str = "ok"
    slow_seconds: float = 0.6
    hold_seconds: float = 0.0  # how long an "ok" answer takes (to make concurrent sends overlap)
    gate: threading.Event = field(default_factory=threading.Event)  # cleared: requests wait (at most 60 s) for it
    requests: list[Received] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok_events(self) -> list[str]:
        return [r.headers["X-Phoihop-Event-Id"] for r in self.requests if r.answered == 200]


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    state.gate.set()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            arrived_at = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            event_id = self.headers.get("X-Phoihop-Event-Id", "")
            with state.lock:
                mode = state.mode
                state.in_flight[event_id] += 1
                state.max_in_flight[event_id] = max(state.max_in_flight[event_id], state.in_flight[event_id])
            try:
                if mode == "slow":
                    time.sleep(state.slow_seconds)
                    answered: int | None = None
                    status = 200
                else:
                    if not state.gate.is_set():
                        state.gate.wait(60)
                    if state.hold_seconds:
                        time.sleep(state.hold_seconds)
                    status = 200 if mode == "ok" else 500
                    answered = status
                with state.lock:
                    state.requests.append(Received(dict(self.headers.items()), body, answered, arrived_at))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender timed out and closed
                    pass
            finally:
                with state.lock:
                    state.in_flight[event_id] -= 1

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
