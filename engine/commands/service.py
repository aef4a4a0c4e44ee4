"""Use cases that change state. Each is ONE transaction: lock → load → check → run → save rows and audit together.

Lock, load and save are the command core in commands.py, which ``WorkflowService`` extends; the live-object cache
there makes "load" free when the stored version has not moved. Reads live in queries.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from phoihop.engine.commands.decisions import store_decisions
from phoihop.engine.commands.executor import CommandResult
from phoihop.engine.commands.messages import MessageCommands
from phoihop.engine.commands.timer_starts import ScheduledStarts, schedule_start
from phoihop.engine.commands.versions import DefinitionVersions
from phoihop.engine.definitions.forms import validate as validate_form
from phoihop.engine.definitions.forms import with_defaults
from phoihop.engine.definitions.lint import lint_deployment, refuse_errors
from phoihop.engine.dossier import CODE_VARIABLE
from phoihop.engine.errors import (
    AlreadyClaimed,
    ConcurrentUpdate,
    Forbidden,
    IdempotencyConflict,
    InstanceNotRunning,
    NotAssignee,
    TaskNotFound,
    TaskNotOpen,
)
from phoihop.engine.ids import uuid7
from phoihop.engine.instance_migration.commands import MigrationCommands
from phoihop.engine.model import SYSTEM, Actor, Finding, SourceFile
from phoihop.engine.reads.versions import start_definition
from phoihop.engine.store import external_tasks as external_store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.unit_of_work import UnitOfWork
from phoihop.engine.variables import check_variables

__all__ = ["CommandResult", "DeployedProcess", "WorkflowService"]


@dataclass(frozen=True)
class DeployedProcess:
    key: str
    version: int
    content_hash: str
    name: str | None
    created: bool
    warnings: tuple[Finding, ...] = ()  # "6 rõ" findings of the deployment (engine.lint) that did not block it
    default_version: int | None = None  # the key's explicit default version: new starts naming none still use it
    kind: str = "process"  # "decision": a decision of a deployment of DMN files alone (key = decision id)


class WorkflowService(DefinitionVersions, ScheduledStarts, MigrationCommands, MessageCommands):
    # --- deploy -----------------------------------------------------------------------------------------------------
    def deploy(
        self, actor: Actor, files: Sequence[SourceFile], *, strict: bool = False, change_note: str | None = None
    ) -> list[DeployedProcess]:
        """Compile, lint and store ``files`` as one deployment. Lint errors (and, when ``strict``, the "6 rõ" warnings)
        refuse it with InvalidDefinition; the remaining warnings come back on every result. A key whose latest
        version has the same content gets no new version (a revert to an older content does); ``change_note`` is
        kept with the deployment and in each new version's ``deployed`` audit event."""
        actor.require_role("process-owner")
        deployment = self.compile_files(files)
        findings = lint_deployment(deployment, strict=strict)
        refuse_errors(findings)
        for attempt in range(3):
            try:
                return [
                    replace(result, warnings=tuple(findings))
                    for result in self._store_deployment(actor, deployment, change_note)
                ]
            except IntegrityError:  # a concurrent deploy took the same version number: count again
                if attempt == 2:
                    raise ConcurrentUpdate(
                        "concurrent deployments of the same process",
                        detail_vi="Triển khai đồng thời cùng một quy trình, vui lòng thử lại",
                    ) from None
        raise AssertionError("unreachable")

    def _store_deployment(self, actor: Actor, deployment: Any, change_note: str | None) -> list[DeployedProcess]:
        if not deployment.processes:  # DMN files alone (the catalog accepts them when they hold a decision)
            return self._store_decisions(actor, deployment, change_note)
        results: list[DeployedProcess] = []
        with self._uow() as uow:
            deployment_id: int | None = None
            for process in deployment.processes:
                latest = repo.latest_definition(uow.conn, process.key, lock=True)
                pointer = repo.default_version(uow.conn, process.key) if latest is not None else None
                default_version = pointer["version"] if pointer is not None else None
                if latest is not None and latest["content_hash"] == deployment.content_hash:
                    results.append(
                        DeployedProcess(
                            process.key,
                            latest["version"],
                            deployment.content_hash,
                            latest["name"],
                            False,
                            default_version=default_version,
                        )
                    )
                    continue
                if deployment_id is None:
                    deployment_id = repo.insert_deployment(
                        uow.conn,
                        content_hash=deployment.content_hash,
                        deployed_by=actor.id,
                        deployed_at=uow.now,
                        files=[{"name": f.name, "content": f.content.decode("utf-8")} for f in deployment.files],
                        change_note=change_note,
                    )
                version = (latest["version"] if latest is not None else 0) + 1
                definition_id = repo.insert_definition(
                    uow.conn,
                    key=process.key,
                    version=version,
                    name=process.name,
                    content_hash=deployment.content_hash,
                    deployment_id=deployment_id,
                    status="active",
                    deployed_by=actor.id,
                    deployed_at=uow.now,
                    start_messages=list(process.start_message_names),
                )
                schedule_start(uow.conn, process, definition_id, uow.now)
                results.append(
                    DeployedProcess(
                        process.key,
                        version,
                        deployment.content_hash,
                        process.name,
                        True,
                        default_version=default_version,
                    )
                )
                before = (
                    {"version": latest["version"], "content_hash": latest["content_hash"]}
                    if latest is not None
                    else None
                )
                repo.insert_definition_audit(
                    uow.conn,
                    [
                        {
                            "process_key": process.key,
                            "at": uow.now,
                            "actor": actor.id,
                            "kind": "deployed",
                            "data": {
                                "version": version,
                                "deployment_id": deployment_id,
                                "change_note": change_note,
                                "files": [f.name for f in deployment.files],
                                "default_version": default_version,
                                "before": before,
                                "after": {"version": version, "content_hash": deployment.content_hash},
                            },
                        }
                    ],
                )
        return results

    def _store_decisions(self, actor: Actor, deployment: Any, change_note: str | None) -> list[DeployedProcess]:
        """Stored when a decision is new or changed; each decision comes back with its version (engine.decisions)."""
        with self._uow() as uow:
            stored = store_decisions(
                uow.conn, deployment, deployed_by=actor.id, deployed_at=uow.now, change_note=change_note
            )
            repo.insert_definition_audit(
                uow.conn,
                [
                    {
                        "process_key": None,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "decision_deployed",
                        "data": {
                            "decision_id": d.id,
                            "version": d.version,
                            "change_note": change_note,
                            "files": [f.name for f in deployment.files],
                        },
                    }
                    for d in stored
                    if d.created
                ],
            )
        return [
            DeployedProcess(d.id, d.version, deployment.content_hash, d.name, d.created, kind="decision")
            for d in stored
        ]

    # --- instances --------------------------------------------------------------------------------------------------
    def start_instance(
        self,
        actor: Actor,
        process_key: str,
        *,
        version: int | None = None,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[str, bool]:
        """Start an instance; returns (instance id, created). A repeated Idempotency-Key returns the first one."""
        actor.require_role("integrator", "officer", "lead")
        data = check_variables(variables)
        instance_id = uuid7()
        with self._uow() as uow:
            if idempotency_key is not None:
                request_hash = hashlib.sha256(
                    orjson.dumps([process_key, version, business_key, data], option=orjson.OPT_SORT_KEYS)
                ).hexdigest()
                if not repo.reserve_idempotency_key(
                    uow.conn,
                    caller=actor.id,
                    key=idempotency_key,
                    request_hash=request_hash,
                    instance_id=instance_id,
                    at=uow.now,
                ):
                    record = repo.idempotency_record(uow.conn, actor.id, idempotency_key)
                    assert record is not None
                    if record["request_hash"] != request_hash:
                        raise IdempotencyConflict(
                            "this Idempotency-Key was already used with a different request",
                            detail_vi="Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác",
                            idempotency_key=idempotency_key,
                        )
                    return str(record["instance_id"]), False
            definition = self._definition_for_start(uow.conn, process_key, version)
            model = self._model(uow.conn, definition["id"])
            if model.start_form is not None:  # before anything is written (the key reservation rolls back with it)
                data = with_defaults(model.start_form, data)
                validate_form(model.start_form, data, process_key=process_key)
            dossier_code = self._new_dossier_code(uow, model)  # after the idempotency check: a replay takes none
            start_data = {**data, CODE_VARIABLE: dossier_code} if dossier_code is not None else data
            workflow, outcome = self.runtime.start(model.spec, model.subprocess_specs, start_data)
            self._save_new(
                uow,
                instance_id,
                definition,
                business_key,
                model,
                workflow,
                outcome,
                actor,
                {"variables": data, "business_key": business_key},
                dossier_code=dossier_code,
            )
        return instance_id, True

    def _definition_for_start(self, conn: Connection, key: str, version: int | None) -> repo.Row:
        """``version``, else the explicit default, else the latest active version; suspended ones are refused."""
        return start_definition(conn, key, version)

    def cancel_instance(self, actor: Actor, instance_id: str, *, reason: str | None = None) -> None:
        actor.require_role("lead")
        with self._uow() as uow:
            head = self._lock(uow.conn, instance_id)
            if head["status"] != "running" and head["status"] != "error":
                raise InstanceNotRunning(
                    f"instance {instance_id} is {head['status']}",
                    detail_vi=f"Hồ sơ {instance_id} đang ở trạng thái {head['status']}",
                    instance_id=instance_id,
                    instance_status=head["status"],
                )
            if not actor.sees_all_instances and not self._takes_part(uow.conn, actor, instance_id, head):
                raise Forbidden(
                    "you take no part in this instance",
                    detail_vi="Bạn không tham gia hồ sơ này",
                    instance_id=instance_id,
                )
            self.cache.discard(instance_id)
            repo.close_tasks(uow.conn, repo.open_task_ids(uow.conn, instance_id), status="cancelled", at=uow.now)
            repo.replace_timers(uow.conn, instance_id, [])
            repo.replace_subscriptions(uow.conn, instance_id, [])
            external_store.close_instance(uow.conn, instance_id, uow.now)  # its external tasks (external_tasks.py)
            if not repo.set_instance_status(
                uow.conn, instance_id, head["version"], status="cancelled", ended_at=uow.now
            ):
                raise ConcurrentUpdate(
                    f"instance {instance_id} moved during the command",
                    detail_vi="Hồ sơ vừa được cập nhật bởi yêu cầu khác",
                    instance_id=instance_id,
                )
            repo.insert_audit(
                uow.conn,
                [
                    {
                        "instance_id": instance_id,
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "instance_cancelled",
                        "data": {"reason": reason},
                    }
                ],
            )

    @staticmethod
    def _takes_part(conn: Connection, actor: Actor, instance_id: str, head: Mapping[str, Any]) -> bool:
        if head["started_by"] == actor.id:
            return True
        return any(actor.may_see_task(t) for t in repo.tasks_of_instance(conn, instance_id, open_only=False))

    # --- human tasks ------------------------------------------------------------------------------------------------
    def claim_task(self, actor: Actor, task_id: str) -> None:
        with self._uow() as uow:
            task = self._task(uow.conn, task_id)
            actor.require_candidate(task)
            if task["status"] == "claimed" and task["assignee"] == actor.id:
                return
            self._require_open(task)
            if not repo.claim_task(uow.conn, task_id, actor.id, uow.now):
                current = repo.get_task(uow.conn, task_id)
                if current is not None and current["status"] not in repo.OPEN_STATUSES:
                    self._require_open(current)  # completed or cancelled meanwhile: TaskNotOpen
                raise AlreadyClaimed(
                    f"task {task_id} is already claimed",
                    detail_vi=f"Công việc {task_id} đã được người khác nhận",
                    task_id=task_id,
                    assignee=current["assignee"] if current else None,
                )
            repo.insert_audit(uow.conn, [self._task_event(uow, actor, task, "task_claimed")])

    def unclaim_task(self, actor: Actor, task_id: str) -> None:
        with self._uow() as uow:
            task = self._task(uow.conn, task_id)
            actor.require_candidate(task)
            self._require_open(task)
            if task["assignee"] != actor.id and not (
                actor.is_admin or ("lead" in actor.roles and actor.is_candidate(task))
            ):
                raise NotAssignee(
                    f"task {task_id} is assigned to {task['assignee']}",
                    detail_vi="Chỉ người đang nhận hoặc lãnh đạo đơn vị mới được trả lại công việc",
                    task_id=task_id,
                    assignee=task["assignee"],
                )
            if repo.unclaim_task(uow.conn, task_id):
                repo.insert_audit(uow.conn, [self._task_event(uow, actor, task, "task_unclaimed")])

    def complete_task(self, actor: Actor, task_id: str, variables: Mapping[str, Any] | None) -> CommandResult:
        """Complete a human task (claiming it implicitly if unassigned); returns where the instance stands."""
        data = check_variables(variables)
        with self._uow() as uow:
            task = self._task(uow.conn, task_id)
            actor.require_candidate(task)
            head = self._lock(uow.conn, task["instance_id"])
            if not self.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already excluded every other writer
                # re-read and lock the row: a claim takes only the task row, never the instance lock
                task = self._task(uow.conn, task_id, lock=True)
            self._require_open(task)
            if task["assignee"] is not None and task["assignee"] != actor.id:
                raise NotAssignee(
                    f"task {task_id} is claimed by {task['assignee']}",
                    detail_vi=f"Công việc {task_id} đã được {task['assignee']} nhận xử lý",
                    task_id=task_id,
                    assignee=task["assignee"],
                )
            if head["status"] != "running":
                raise InstanceNotRunning(
                    f"instance is {head['status']}",
                    detail_vi="Hồ sơ không còn đang xử lý",
                    instance_id=head["id"],
                    instance_status=head["status"],
                )
            form = self._model(uow.conn, head["definition_id"]).forms.get(task["form_key"] or "")
            if form is not None:  # before anything is written: a failure leaves the task open
                validate_form(form, data, task_id=task_id)
            repo.complete_task(uow.conn, task_id, actor.id, uow.now)
            audit = {
                "kind": "task_completed",
                "element_id": task["element_id"],
                "task_id": task_id,
                "data": {"variables": data, "name": task["name"]},
            }
            result = self._advance(
                uow,
                head,
                lambda wf: self.runtime.complete_task(wf, task_id, data),
                actor,
                audit,
                completed_task=task_id,
            )
        completed = {
            **task,
            "status": "completed",
            "completed_at": uow.now,
            "completed_by": actor.id,
            "assignee": actor.id,
            "claimed_at": task["claimed_at"] or uow.now,
        }  # what repo.complete_task set
        return replace(result, task=completed)

    @staticmethod
    def _task(conn: Connection, task_id: str, *, lock: bool = False) -> repo.Row:
        task = repo.get_task(conn, task_id, lock=lock)
        if task is None:
            raise TaskNotFound(
                f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}", task_id=task_id
            )
        return task

    @staticmethod
    def _require_open(task: Mapping[str, Any]) -> None:
        if task["status"] not in repo.OPEN_STATUSES:
            raise TaskNotOpen(
                f"task {task['id']} is {task['status']}",
                detail_vi=f"Công việc {task['id']} đã ở trạng thái {task['status']}",
                task_id=task["id"],
                task_status=task["status"],
            )

    @staticmethod
    def _task_event(uow: UnitOfWork, actor: Actor, task: Mapping[str, Any], kind: str) -> dict[str, Any]:
        return {
            "instance_id": task["instance_id"],
            "at": uow.now,
            "actor": actor.id,
            "kind": kind,
            "element_id": task["element_id"],
            "task_id": task["id"],
            "data": {"name": task["name"]},
        }

    # --- messages and timers ----------------------------------------------------------------------------------------
    def fire_due_timers(self, *, limit: int = 50) -> int:
        """Fire every timer due now; each in its own transaction. Safe with several schedulers (exactly once)."""
        with self._uow(write=False) as uow:
            due = repo.due_timers(uow.conn, uow.now, limit)
        fired = 0
        for timer in due:
            with self._uow() as uow:
                head = repo.lock_instance_head(uow.conn, timer["instance_id"], skip_locked=True)
                if head is None or head["status"] != "running" or not repo.timer_exists(uow.conn, timer["id"]):
                    continue  # another scheduler has it, or it already fired
                audit = {"kind": "timer_fired", "data": {"due_at": timer["due_at"].isoformat()}}
                self._advance(uow, head, self.runtime.fire_timers, SYSTEM, audit)
                fired += 1
        return fired

    def next_timer_due(self) -> datetime | None:
        with self._uow(write=False) as uow:
            return repo.next_timer_due(uow.conn)
