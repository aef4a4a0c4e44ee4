"""Healthy timers next to a poison timer (issue 13, item 1), in real time with the scheduler thread of ``serve``.

One instance waits one second then runs a script whose result cannot be stored (``amount = 2**64``); five healthy
instances each wait two seconds. The scheduler thread runs for ``--seconds``; the bench prints how late each healthy
timer fired (its ``timer_fired`` audit time minus its due time), "never" for one still waiting at the end, and one
JSON line. Run it on another checkout with ``PYTHONPATH=<checkout> python bench/poison_timers.py`` to compare.
Usage: python bench/poison_timers.py [--seconds S] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from phoihop.engine.container import build_engine
from phoihop.engine.model import Actor, SourceFile
from phoihop.engine.store import repository as repo
from phoihop.engine.store.schema import upgrade

OWNER = Actor.of("chu_quy_trinh", name="Chủ quy trình", roles=("process_owner", "admin"))
INTEGRATOR = Actor.of("he_thong", name="Hệ thống", roles=("integrator",))
HEALTHY = 5


def _process(key: str, wait: str, after: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D_{key}" targetNamespace="http://b">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="L" name="Sở Khoa học và Công nghệ">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>after</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>{wait}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="after"/>
    {after}
    <bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


POISON = _process(
    "poison",
    "PT1S",
    '<bpmn:scriptTask id="after" scriptFormat="python"><bpmn:script>amount = 2**64</bpmn:script></bpmn:scriptTask>',
)
HEALTHY_XML = _process("healthy", "PT2S", '<bpmn:userTask id="after" name="Xử lý"/>')


def lateness(url: str, seconds: float) -> list[float | None]:
    upgrade(url)
    container = build_engine(url)
    try:
        container.deployments.deploy(OWNER, [SourceFile("poison.bpmn", POISON)])
        container.deployments.deploy(OWNER, [SourceFile("healthy.bpmn", HEALTHY_XML)])
        container.instances.start(INTEGRATOR, "poison")
        healthy = [container.instances.start(INTEGRATOR, "healthy")[0] for _ in range(HEALTHY)]
        with container.db.transaction(write=False) as conn:
            due = {i: repo.instance_timers(conn, i)[0]["due_at"] for i in healthy}
        container.scheduler.start()
        time.sleep(seconds)
        container.scheduler.stop()
        late: list[float | None] = []
        with container.db.transaction(write=False) as conn:
            for instance_id in healthy:
                fired = [e["at"] for e in repo.history(conn, instance_id) if e["kind"] == "timer_fired"]
                late.append((fired[0] - due[instance_id]).total_seconds() if fired else None)
        return late
    finally:
        container.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="how long the scheduler thread runs")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        late = lateness(url, args.seconds)
    fired = [x for x in late if x is not None]
    waited = args.seconds - 2.0  # how long a healthy timer still waiting at the end has been due
    for number, value in enumerate(late, 1):
        shown = f"{value:.2f} s late" if value is not None else f"never fired (due {waited:.1f} s before the end)"
        print(f"healthy timer {number}: {shown}")
    worst = max(fired) if len(fired) == len(late) else None
    print(
        json.dumps(
            {
                "healthy": len(late),
                "fired": len(fired),
                "median_late_s": round(statistics.median(fired), 3) if fired else None,
                "worst_late_s": round(worst, 3) if worst is not None else f">{waited:.1f}",
                "run_s": args.seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
