"""Reads of the officers' web app that the REST API has no endpoint for yet: the BPMN file and the highlighted
elements of an instance's diagram, and the dossier labels of inbox rows. ``Queries`` mixes this in; every read applies
the rule of GET /api/v1/process-instances/{id} (``Queries.get_instance``) first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from phoihop.engine.definitions.diagram_facts import diagram_facts, find_process_file
from phoihop.engine.errors import DefinitionNotFound
from phoihop.engine.model import Actor
from phoihop.engine.store import instance_views
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["InstanceViews"]

COMPLETED_KINDS = ("element_completed", "task_completed")


class InstanceViews:
    db: Database

    def _read(self) -> Any:
        return self.db.transaction(write=False)

    def get_instance(self, actor: Actor, instance_id: str) -> dict[str, Any]:  # Queries' (access rule)
        raise NotImplementedError

    def instance_bpmn(self, actor: Actor, instance_id: str) -> tuple[str, str]:
        """``(file name, BPMN XML)`` of the file that defines the instance's process, in the deployment the instance
        runs on. Raises InstanceNotFound / Forbidden as the instance API does."""
        instance = self.get_instance(actor, instance_id)
        return self._bpmn_file(instance)

    def _bpmn_file(self, instance: dict[str, Any]) -> tuple[str, str]:
        key, version = instance["process_key"], instance["process_version"]
        with self._read() as conn:
            definition = repo.definition_by_version(conn, key, version) if version is not None else None
            files = repo.deployment_files(conn, definition["deployment_id"]) if definition is not None else []
        found = find_process_file([(f["name"], f["content"]) for f in files], key)
        if found is None:
            raise DefinitionNotFound(
                f"no BPMN file of {key!r} version {version} defines the process",
                detail_vi=f"Không tìm thấy tệp BPMN của quy trình {key!r} phiên bản {version}",
                process_key=key,
                version=version,
            )
        return found

    def instance_diagram(self, actor: Actor, instance_id: str) -> dict[str, Any]:
        """The instance (as GET /api/v1/process-instances/{id} shows it) with its diagram: ``file`` and ``xml``;
        ``completed`` element ids in the order they finished; ``active`` (open human tasks, timers, external
        tasks, message catchers); ``overdue`` and ``warning`` (open tasks past due / in their warning period);
        ``names`` and ``lanes`` (element id → name, lane) and ``history`` (audit events, oldest first)."""
        instance = self.get_instance(actor, instance_id)
        name, content = self._bpmn_file(instance)
        with self._read() as conn:
            history = [dict(r) for r in repo.history(conn, instance_id)]
            waiting, messages = instance_views.waiting_elements(conn, instance_id)
        facts = diagram_facts(content, instance["process_key"], filename=name)
        completed: dict[str, None] = {}
        for event in history:
            if event["kind"] in COMPLETED_KINDS and event["element_id"]:
                completed.setdefault(event["element_id"], None)
        tasks = instance["open_tasks"]
        active = {t["element_id"] for t in tasks} | set(waiting)
        for message in messages:
            active |= set(facts.message_catchers.get(message, ()))
        # a sub-process drawn collapsed shows the state of what runs inside it
        overdue = facts.with_parents(t["element_id"] for t in tasks if t.get("deadline_state") == "overdue")
        warning = facts.with_parents(t["element_id"] for t in tasks if t.get("deadline_state") == "warning")
        return {
            "instance": instance,
            "file": name,
            "xml": content,
            "completed": list(completed),
            "active": sorted(facts.with_parents(active)),
            "overdue": sorted(overdue),
            "warning": sorted(warning),
            "names": dict(facts.names),
            "lanes": dict(facts.lanes),
            "history": history,
        }

    def with_instance_labels(self, tasks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Task rows (already visible to the caller) with their instance's ``business_key``, ``dossier_code`` and
        ``process_name``."""
        rows = list(tasks)
        with self._read() as conn:
            labels = instance_views.instance_labels(conn, (t["instance_id"] for t in rows))
        for task in rows:
            label = labels.get(task["instance_id"], {})
            task["business_key"] = label.get("business_key")
            task["dossier_code"] = label.get("dossier_code")
            task["process_name"] = label.get("process_name")
        return rows
