"""The places where SpiffWorkflow 3.2.0 must behave differently, patched once and documented.

1. Task data isolation. 3.2.0 copies task data one level deep when a task inherits from its parent
   (``DeepMerge.merge`` uses ``copy.copy``), so a script that edits ``ho_so["chi_tiet"]`` also changes completed
   tasks and the parallel branch. 3.1.2 deep-copied; we restore that (about 6% run time).
2. Timers read the wall clock through ``datetime.now`` in ``bpmn/specs/event_definitions/timer.py``. We give that
   module a ``datetime`` whose ``now`` reads the clock of the command being run (a context variable), so tests
   move time with a FakeClock instead of sleeping, and every engine in the process keeps its own clock.
3. Held timers. A timer whose firing failed waits out a retry backoff, or is parked on an incident
   (engine/commands/jobs.py), while the rest of its instance goes on: ``holding(task_ids)`` makes those timers read
   as not yet due for the command being run, whoever runs it (SpiffWorkflow refreshes every timer of an instance in
   each engine loop).
4. Decision results. A business rule task merges ``DMNEngine.result`` into its data unchecked; an output such as
   ``n * 4`` could leave an integer no column stores, and the command failed as a whole (a 500). The result is
   checked like a script's (engine.variables.check_results) before it is merged: the task fails alone, naming the
   output, and its data stays as it was.
5. Multi-instance input collections. A loop whose ``loopDataInputRef`` (or ``camunda:collection``) names a variable
   the instance does not have, or one that is no collection, made SpiffWorkflow iterate ``None`` (a ``TypeError``, so
   a 500 on start). It fails as the loop's task instead, naming the variable: a ``WorkflowTaskException`` the runtime
   handles like a failing script.
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime as _datetime
from datetime import tzinfo
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.util import deep_merge as _deep_merge_module

from phoihop.engine.clock import Clock, SystemClock
from phoihop.engine.errors import ScriptError
from phoihop.engine.variables import check_results

_SYSTEM_CLOCK = SystemClock()
_current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("phoihop_clock", default=None)
_held: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("phoihop_held_timers", default=frozenset())


@contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)


@contextmanager
def holding(task_ids: frozenset[str]) -> Iterator[None]:
    """While inside, the timers of these task ids do not fire."""
    token = _held.set(task_ids)
    try:
        yield
    finally:
        _held.reset(token)


def _unless_held(method: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def checked(self: Any, my_task: Any) -> bool:
        held = _held.get()
        if held and str(my_task.id) in held:
            return False
        return method(self, my_task)

    return checked


class _ClockDatetimeMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _datetime)

    def __getattr__(cls, name: str) -> Any:
        return getattr(_datetime, name)


class ClockDatetime(metaclass=_ClockDatetimeMeta):
    """Stands in for ``datetime`` inside SpiffWorkflow's timer module; only ``now`` differs."""

    @staticmethod
    def now(tz: tzinfo | None = None) -> _datetime:
        moment = (_current_clock.get() or _SYSTEM_CLOCK).now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


_dmn_result = DMNEngine.result


def _checked_result(self: Any, task: Any) -> Any:
    result = _dmn_result(self, task)
    check_results(result)
    return result


def _check_collection(self: Any, my_task: Any) -> None:
    if self.data_input is not None:
        collection = self.data_input.get(my_task)
        if isinstance(collection, (str, bytes)) or not hasattr(collection, "__iter__"):
            name = self.data_input.bpmn_id
            missing = collection is None
            error = ScriptError(
                f"the multi-instance collection {name!r} is {'missing' if missing else 'not a list'}: set it to a "
                "list before this step",
                detail_vi=f"tập dữ liệu đa thực thể {name!r} {'chưa có' if missing else 'không phải danh sách'}: "
                "hãy gán một danh sách cho biến này trước bước này",
            )
            raise WorkflowTaskException(error.detail, task=my_task, exception=error) from error


def _checking_collection(method: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def checked(self: Any, my_task: Any) -> Any:
        _check_collection(self, my_task)
        return method(self, my_task)

    return checked


_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    _deep_merge_module.copy = copy.deepcopy
    _timer_module.datetime = ClockDatetime
    for cls in (_timer_module.TimeDateEventDefinition, _timer_module.DurationTimerEventDefinition):
        cls.has_fired = _unless_held(cls.has_fired)
    cycle = _timer_module.CycleTimerEventDefinition
    cycle.cycle_complete = _unless_held(cycle.cycle_complete)
    DMNEngine.result = _checked_result
    ParallelMultiInstanceTask.create_children = _checking_collection(ParallelMultiInstanceTask.create_children)
    SequentialMultiInstanceTask._update_hook = _checking_collection(SequentialMultiInstanceTask._update_hook)
    _applied = True
