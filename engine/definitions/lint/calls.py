"""The lint of call activities (``call-recursive``): a called process that calls back, directly or through others,
the process holding the call activity."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from phoihop.engine.definitions.lint.findings import finding_at
from phoihop.engine.definitions.structure import BPMN_NS, BPMN_SUFFIXES
from phoihop.engine.model import Finding

__all__ = ["recursion_findings"]


def recursion_findings(trees: Mapping[str, Any]) -> Iterator[Finding]:
    """Call activities whose called process calls back, directly or through others, the process holding them: each
    start then nests until the runtime's step or time limit stops the command (``call-recursive``)."""
    calls: dict[str, list[tuple[str, Any]]] = {}  # process id → [(file, call activity)]
    for name, tree in trees.items():
        if name.lower().endswith(BPMN_SUFFIXES):
            for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
                for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
                    calls.setdefault(process.get("id") or "", []).append((name, call))

    def reaches(start: str, goal: str) -> bool:
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for _, call in calls.get(current, []):
                called = call.get("calledElement") or ""
                if called not in seen:
                    seen.add(called)
                    stack.append(called)
        return False

    for process_id, entries in calls.items():
        for file, call in entries:
            called = call.get("calledElement") or ""
            if reaches(called, process_id):
                yield finding_at(
                    "call-recursive",
                    "warning",
                    file,
                    call,
                    call.get("id"),
                    f"call activity {call.get('id')} calls {called!r}, which leads back to {process_id!r}: "
                    "unless a condition stops it, every instance nests until the step limit ends it in an "
                    "error",
                    f"hoạt động gọi {call.get('id')} gọi {called!r}, quy trình này lại gọi về "
                    f"{process_id!r}: nếu không có điều kiện dừng, mỗi hồ sơ sẽ lồng nhau đến khi vượt "
                    "giới hạn số bước và dừng do lỗi",
                )
