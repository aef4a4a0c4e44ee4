"""A webhook worker killed mid-delivery on PostgreSQL (issue 14, "done when"): two real ``phoihop worker``
processes and a real receiver on loopback. Worker A leases a delivery and POSTs it; the receiver holds the request
open; A is killed with SIGKILL meanwhile (no shutdown code runs). Worker B, running all along, sends the events that
come next but leaves A's delivery alone while A's lease (PHOIHOP_WEBHOOK_LEASE_SECONDS) holds, then sends it once
the lease has run out. Nothing is lost, and no event is ever in flight twice at the receiver.

Worker B is paused (SIGSTOP) while the first event is written so that A, not B, takes it; it resumes before A is
killed. The waits are bounds against a hang, not timings.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from phoihop.engine.container import build_engine
from phoihop.engine.model import Actor
from phoihop.engine.store import rawsql
from tests.conftest import INTEGRATOR, empty_database
from tests.engine.helpers import deploy
from tests.webhook_receiver import receiver

from .conftest import Proc, Processes

ADMIN = Actor.of("root", name="Quản trị", roles=("admin",))
TIMEOUT_SECONDS = "5"
LEASE_SECONDS = "8"  # > the timeout (refused otherwise); the test waits about this long once
BOUND = 90.0  # seconds: a bound against a hang


def until(condition: object, what: str, *procs: Proc) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in procs)
    raise AssertionError(f"not after {BOUND} s: {what}\n{logs}")


def test_a_worker_killed_mid_delivery_loses_it_to_another_after_its_lease(
    processes: Processes, pg_database: str
) -> None:
    empty_database(pg_database)
    engine = build_engine(pg_database, script_workers=1)  # the commands: this test's own process
    sql = create_engine(pg_database)
    settings = {"webhook_timeout_seconds": TIMEOUT_SECONDS, "webhook_lease_seconds": LEASE_SECONDS}

    def deliveries() -> dict[str, dict[str, object]]:
        with sql.connect() as conn:
            rows = conn.execute(
                text("SELECT id, event_id, status, attempts, lease_until FROM webhook_delivery ORDER BY id")
            ).mappings()
            return {r["event_id"]: dict(r) for r in rows}

    try:
        with receiver() as hooks:
            engine.webhooks.create(ADMIN, hooks.url, events=["instance.started"])
            deploy(engine, "four_tasks.bpmn")
            worker_b = processes.worker(pg_database, name="worker-b", **settings)
            worker_a = processes.worker(pg_database, name="worker-a", **settings)
            worker_b.popen.send_signal(signal.SIGSTOP)  # SIGSTOP: A alone may take the first event
            hooks.gate.clear()  # the receiver holds every request open until the gate opens

            engine.instances.start(INTEGRATOR, "four_tasks")
            until(lambda: sum(hooks.in_flight.values()) == 1, "worker A is sending the first event", worker_a)
            (held_event,) = [event for event, n in hooks.in_flight.items() if n]
            lease_until = rawsql.ts_out(deliveries()[held_event]["lease_until"])
            assert lease_until is not None and lease_until > datetime.now(UTC)

            worker_b.popen.send_signal(signal.SIGCONT)  # SIGCONT: B runs while A's lease holds
            worker_a.kill()  # SIGKILL mid-delivery: A never records its attempt
            hooks.gate.set()  # the receiver answers A's request into a closed connection
            until(lambda: sum(hooks.in_flight.values()) == 0, "the receiver let go of A's request")

            for _ in range(3):  # events that come while A's lease still holds: B sends them
                engine.instances.start(INTEGRATOR, "four_tasks")
            until(
                lambda: [d["status"] for d in deliveries().values()] == ["delivered"] * 4,
                "worker B delivered all four events",
                worker_b,
            )
        final = deliveries()
        with sql.connect() as conn:
            counted = conn.execute(text("SELECT delivery_id, COUNT(*) FROM webhook_attempt GROUP BY delivery_id"))
            logged = {delivery_id: n for delivery_id, n in counted}
    finally:
        engine.close()
        sql.dispose()

    assert worker_b.alive()
    sent = Counter(r.headers["X-Phoihop-Event-Id"] for r in hooks.requests)
    assert set(sent) == set(final)  # nothing lost
    assert sent[held_event] == 2  # A's send, cut off, and B's after the lease
    assert all(n == 1 for event, n in sent.items() if event != held_event)
    assert set(hooks.max_in_flight.values()) == {1}  # never two sends of one event at once
    cut_off, resent = sorted(
        (r for r in hooks.requests if r.headers["X-Phoihop-Event-Id"] == held_event), key=lambda r: r.arrived_at
    )
    assert cut_off.arrived_at < lease_until.timestamp()
    assert resent.arrived_at >= lease_until.timestamp()  # B took it over only once A's lease had run out
    assert final[held_event]["attempts"] == 1  # A's attempt was never recorded, B's was
    assert logged[final[held_event]["id"]] == 1
