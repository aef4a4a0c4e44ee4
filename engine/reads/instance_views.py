"""Reads of the officers' web app that the REST API has no endpoint for yet: the BPMN file and the highlighted
elements of an instance's diagram, and the dossier labels of inbox rows. Every read of an instance applies the rule of
GET /api/v1/process-instances/{id} first (``InstanceReads.get_instance``, composed here, never inherited)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phoihop.engine.definitions.diagram_facts import diagram_facts, find_process_file
from phoihop.engine.definitions.forms.display import FieldLabel, display_value, field_labels
from phoihop.engine.definitions.forms.formats import money_fields
from phoihop.engine.errors import DefinitionNotFound
from phoihop.engine.model import Actor
from phoihop.engine.reads.instances import HistoryEvent, InstanceReads, InstanceView, history_event
from phoihop.engine.reads.views import EarlierAnswer, TaskView
from phoihop.engine.store import instance_views, people
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["InstanceDiagram", "InstanceLabels", "InstanceViews"]

COMPLETED_KINDS = ("element_completed", "task_completed")
START_FORM = "start.form.json"  # the project's start forms are named so; its labels come first


def _schemas(files: Iterable[tuple[str, str]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, JSON Schema) of the form files among ``files`` (one that does not parse is left out)."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for name, content in files:
        if not name.endswith(".form.json"):
            continue
        try:
            schema = json.loads(content)
        except ValueError:
            continue
        if isinstance(schema, dict):
            found.append((name, schema))
    return found


@dataclass(frozen=True, slots=True)
class InstanceDiagram:
    """An instance with its diagram: ``file`` and ``xml``; ``completed`` element ids in the order they finished;
    ``active`` (open human tasks, timers, external tasks, message catchers); ``overdue`` and ``warning`` (open tasks
    past due / in their warning period, with the sub-processes around them); ``names`` and ``lanes`` (element id →
    name, lane) and ``history`` (audit events, oldest first)."""

    instance: InstanceView
    file: str
    xml: str
    completed: tuple[str, ...]
    active: tuple[str, ...]
    overdue: tuple[str, ...]
    warning: tuple[str, ...]
    names: Mapping[str, str]
    lanes: Mapping[str, str]
    history: tuple[HistoryEvent, ...]
    money: frozenset[str] = frozenset()  # variables a form of the version marks as money (đồng)
    data: tuple[EarlierAnswer, ...] = ()  # the variables a form of the version asks for, labelled and formatted


@dataclass(frozen=True, slots=True)
class InstanceLabels:
    """What the inbox shows of a task's instance."""

    business_key: str | None = None
    dossier_code: str | None = None
    process_name: str | None = None


class InstanceViews:
    def __init__(self, db: Database, instances: InstanceReads) -> None:
        self.db = db
        self.instances = instances

    def instance_bpmn(self, actor: Actor, instance_id: str) -> tuple[str, str]:
        """``(file name, BPMN XML)`` of the file that defines the instance's process, in the deployment the instance
        runs on. Raises InstanceNotFound / Forbidden as the instance API does."""
        return self._bpmn_file(self.instances.get_instance(actor, instance_id))

    def _bpmn_file(self, instance: InstanceView) -> tuple[str, str]:
        return self._bpmn_money_labels(instance)[0]

    def _bpmn_money_labels(
        self, instance: InstanceView
    ) -> tuple[tuple[str, str], frozenset[str], dict[str, FieldLabel]]:
        """The BPMN file of the instance's version, the variables its forms mark as money and the labels its forms
        give the variables (the start form's first)."""
        key, version = instance.process_key, instance.process_version
        with self.db.transaction(write=False) as conn:
            definition = repo.definition_by_version(conn, key, version) if version is not None else None
            files = repo.deployment_files(conn, definition["deployment_id"]) if definition is not None else []
        named = [(f["name"], f["content"]) for f in files]
        found = find_process_file(named, key)
        if found is None:
            raise DefinitionNotFound(
                f"no BPMN file of {key!r} version {version} defines the process",
                detail_vi=f"Không tìm thấy tệp BPMN của quy trình {key!r} phiên bản {version}",
                process_key=key,
                version=version,
            )
        return found, money_fields(named), field_labels(_schemas(named), start=START_FORM)

    def instance_diagram(self, actor: Actor, instance_id: str) -> InstanceDiagram:
        """The instance (as GET /api/v1/process-instances/{id} shows it) with its diagram and history."""
        instance = self.instances.get_instance(actor, instance_id)
        (name, content), money, labels = self._bpmn_money_labels(instance)
        with self.db.transaction(write=False) as conn:
            history = [history_event(r) for r in repo.history(conn, instance_id)]
            waiting, messages = instance_views.waiting_elements(conn, instance_id)
        facts = diagram_facts(content, instance.process_key, filename=name)
        completed: dict[str, None] = {}
        for event in history:
            if event.kind in COMPLETED_KINDS and event.element_id:
                completed.setdefault(event.element_id, None)
        tasks = instance.open_tasks
        active = {t.element_id for t in tasks} | set(waiting)
        for message in messages:
            active |= set(facts.message_catchers.get(message, ()))
        # a sub-process drawn collapsed shows the state of what runs inside it
        overdue = facts.with_parents(t.element_id for t in tasks if t.deadline_state == "overdue")
        warning = facts.with_parents(t.element_id for t in tasks if t.deadline_state == "warning")
        return InstanceDiagram(
            instance=instance,
            file=name,
            xml=content,
            completed=tuple(completed),
            active=tuple(sorted(facts.with_parents(active))),
            overdue=tuple(sorted(overdue)),
            warning=tuple(sorted(warning)),
            names=dict(facts.names),
            lanes=dict(facts.lanes),
            history=tuple(history),
            money=money,
            data=tuple(
                EarlierAnswer(
                    n,
                    label.label,
                    label.form_title,
                    instance.variables[n],
                    display_value(instance.variables[n], label.schema),
                )
                for n, label in labels.items()
                if instance.variables.get(n) not in (None, "", [])
            ),
        )

    def display_names(self, user_ids: Iterable[str | None]) -> dict[str, str]:
        """``{user id: display name}`` of the people among ``user_ids`` who signed in once (pages name people by it)."""
        with self.db.transaction(write=False) as conn:
            return people.names_of(conn, (u for u in user_ids if u))

    def instance_labels(self, tasks: Iterable[TaskView]) -> dict[str, InstanceLabels]:
        """``{instance id: labels}`` for the instances of ``tasks`` (tasks the caller may already see): business key,
        dossier code and the name of the process version each runs on."""
        ids = {t.instance_id for t in tasks}
        with self.db.transaction(write=False) as conn:
            found = instance_views.instance_labels(conn, ids)
        labels = {i: InstanceLabels(f["business_key"], f["dossier_code"], f["process_name"]) for i, f in found.items()}
        return {instance_id: labels.get(instance_id, InstanceLabels()) for instance_id in ids}
