"""What the public dossier lookup's two doors share (the API, api/routes/public.py, and the page, web/routes/lookup.py):
its reads, and a token bucket per client address, in this server process (each process of a cluster counts on its
own: behind N processes a client gets up to N times the rate), since anyone may call it without signing in.

A bucket holds ``per_minute`` tokens and refills continuously at ``per_minute`` per minute; a request takes one, and
with none left is refused with the seconds until the next token (TooManyRequests → 429 with Retry-After). Full
buckets are forgotten, so the table stays small.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from phoihop.engine.errors import TooManyRequests
from phoihop.engine.reads.public_dossiers import PublicDossierReads

__all__ = ["PublicReadsDep", "TokenBuckets", "lookup_limiter", "take_lookup_token"]


class TokenBuckets:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 100_000):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """One token of ``client``'s bucket; TooManyRequests when it is empty."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise TooManyRequests(
                    f"too many lookups from this address: try again in {wait} s",
                    detail_vi=f"Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
                    retry_after=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_clients:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.capacity:
                del self._buckets[client]


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def lookup_limiter(request: Request) -> TokenBuckets:
    """The lookup's buckets of this application run: made on first use from its settings, and made again when the
    application is started again (a new engine container), so a restart starts with full buckets."""
    state = request.app.state
    current: tuple[object, TokenBuckets] | None = getattr(state, "public_lookup_buckets", None)
    if current is None or current[0] is not state.container:
        current = (state.container, TokenBuckets(state.settings.public_lookup_per_minute))
        state.public_lookup_buckets = current
    return current[1]


def take_lookup_token(request: Request) -> None:
    lookup_limiter(request).take(client_address(request))


def public_dossier_reads(request: Request) -> PublicDossierReads:
    return PublicDossierReads(request.app.state.container.db)


PublicReadsDep = Annotated[PublicDossierReads, Depends(public_dossier_reads)]
