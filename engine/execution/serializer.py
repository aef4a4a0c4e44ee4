"""The one place that configures SpiffWorkflow's serializer and checks its version.

State is stored WITHOUT the process definition: the spec (13 of 23 KB in a typical instance) comes from the
per-version cache of compiled deployments. The stored format is SpiffWorkflow's own dictionary format ("1.5"),
minus ``spec`` and ``subprocess_specs``, encoded with orjson.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_FORMAT
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from phoihop.engine.errors import EngineError

SERIALIZER_VERSION = SPIFF_FORMAT  # "1.5" with spiffworkflow==3.2.0


class StateVersionError(EngineError):
    code = "state-version"
    title_vi = "Phiên bản dữ liệu trạng thái không được hỗ trợ"
    title_en = "Unsupported stored state version"


class SelfContainedEmptyTaskConverter(TaskConverter):  # type: ignore[misc]
    """SpiffWorkflow's task converter, except that a task with no data (every predicted task) is stored as exactly
    that, not as a delta against its parent's data. Its record then stays valid when the parent's data changes,
    so a command need not rewrite it. Restoring reads it unchanged: an empty delta means "use ``data``".

    Written out in one function (the same dictionary, key for key, as ``TaskConverter.to_dict`` gives for a task
    with data): every command writes the records of the tasks it moved, ~20 an instance of the engine benchmark."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        data = task.data
        internal = task.internal_data
        if not data:
            has_parent = task._parent is not None
            data_out: dict[str, Any] = {}
            delta: dict[str, Any] = {}
        else:
            parent = task.workflow.tasks.get(task._parent)  # Task.parent
            has_parent = parent is not None
            if parent is None:
                data_out, delta = data, {}
            else:
                above = parent.data
                data_out = {}
                delta = {
                    "updates": {key: value for key, value in data.items() if key not in above or value != above[key]},
                    "deletions": [key for key in above if key not in data],
                }
        return {
            "id": str(task.id),
            "parent": str(task._parent) if has_parent else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data_out,
            "delta": delta,
        }


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class StateSerializer:
    """Workflow ⇄ JSON text, with the spec supplied by the caller on load."""

    def __init__(self) -> None:
        registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, Task: SelfContainedEmptyTaskConverter})
        registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
        self._registry = registry
        # register() wraps converters as partial(_obj_to_dict, typename, converter.to_dict)
        self._workflow_converter = registry.convert_to_dict[registry.typenames[BpmnWorkflow]].args[1].__self__
        self._task_typename = registry.typenames[Task]
        self._task_converter = registry.convert_to_dict[self._task_typename].args[1].__self__

    def _meta(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        reg, conv = self._registry, self._workflow_converter
        return {
            "data": reg.convert(reg.clean(workflow.data)),
            "correlations": reg.convert(workflow.correlations),
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "root": str(workflow.task_tree.id),
            "subprocesses": conv.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": reg.convert(workflow.bpmn_events),
            "serializer_version": SERIALIZER_VERSION,
        }

    @staticmethod
    def _encode(value: Any) -> str:
        return orjson.dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()

    def dumps(self, workflow: BpmnWorkflow) -> str:
        """The whole state as one JSON document (SpiffWorkflow's format, minus the specs)."""
        dct = self._meta(workflow)
        dct["tasks"] = {str(k): self._registry.convert(t) for k, t in workflow.tasks.items()}
        return self._encode(dct)

    def dumps_meta(self, workflow: BpmnWorkflow) -> str:
        """Everything but the top workflow's task records (those are stored one row each)."""
        return self._encode(self._meta(workflow))

    def dumps_task(self, task: Any) -> str:
        """One task's record: what ``registry.convert(task)`` gives, the converter called straight."""
        dct = self._task_converter.to_dict(task)
        dct["typename"] = self._task_typename
        return self._encode(dct)

    def loads(self, state: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        dct = orjson.loads(state)
        return self._restore(dct, dct.pop("tasks"), spec, subprocess_specs)

    def loads_split(
        self, meta: str, tasks: list[tuple[str, str]], spec: Any, subprocess_specs: dict[str, Any]
    ) -> BpmnWorkflow:
        """Restore from the meta document and (task id, record) pairs in creation order."""
        return self._restore(
            orjson.loads(meta), {tid: orjson.loads(body) for tid, body in tasks}, spec, subprocess_specs
        )

    def _restore(
        self, dct: dict[str, Any], tasks: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]
    ) -> BpmnWorkflow:
        version = dct.pop("serializer_version", None)
        if version != SERIALIZER_VERSION:
            if version not in MIGRATIONS:
                raise StateVersionError(
                    f"stored state has serializer version {version!r}; this engine reads {SERIALIZER_VERSION}",
                    detail_vi=f"Trạng thái lưu có phiên bản {version!r}; máy chủ chỉ đọc {SERIALIZER_VERSION}",
                )
            dct["tasks"] = tasks
            MIGRATIONS[version](dct)
            tasks = dct.pop("tasks")
        reg, conv = self._registry, self._workflow_converter
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = conv.mapping_from_dict(tasks, UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        conv.set_default_attributes(workflow, dct)
        workflow.correlations = reg.restore(workflow.correlations)
        conv.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = reg.restore(dct.pop("bpmn_events", []))
        return workflow

    @staticmethod
    def to_json_text(value: Any) -> str:
        """Task data → JSON text (datetimes as ISO text): the read-side ``variables`` column, correlation values."""
        return orjson.dumps(value, default=_json_default).decode()


__all__ = ["SERIALIZER_VERSION", "StateSerializer", "StateVersionError"]
