"""The live-object cache: recently used BpmnWorkflow objects, keyed by instance id and the version they were saved at.

Deserializing dominates a persisted engine's cost. A command that holds the instance lock takes the entry out
(exclusive use), and puts it back only after its transaction committed; on any failure the entry is simply not put
back, because the object may be half-changed. A version mismatch (another process moved the instance) is a miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass
class LiveWorkflow:
    version: int
    workflow: Any
    open_tasks: frozenset[str]
    timers: tuple[Any, ...]
    messages: tuple[Any, ...]
    variables: dict[str, Any]  # the process variables as stored (see Runtime.merge_variables)


class WorkflowCache:
    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, LiveWorkflow] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, instance_id: str, version: int) -> LiveWorkflow | None:
        with self._lock:
            entry = self._entries.pop(instance_id, None)
            if entry is not None and entry.version == version:
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def put(self, instance_id: str, entry: LiveWorkflow) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._entries[instance_id] = entry
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def discard(self, instance_id: str) -> None:
        with self._lock:
            self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
