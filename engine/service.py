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

from .actors import SYSTEM, Actor
from .catalog import SourceFile
from .commands import CommandCore, CommandResult
from .errors import (
    AlreadyClaimed,
    ConcurrentUpdate,
    DefinitionNotFound,
    DefinitionSuspended,
    Forbidden,
    IdempotencyConflict,
    InstanceNotRunning,
    MessageAmbiguous,
    MessageNotCorrelated,
    NotAssignee,
    TaskNotFound,
    TaskNotOpen,
)
from .ids import uuid7
from .store import repository as repo
from .unit_of_work import UnitOfWork
from .variables import check_variables

__all__ = ["CommandResult", "DeployedProcess", "WorkflowService"]


@dataclass(frozen=True)
class DeployedProcess:
    key: str
    version: int
    content_hash: str
    name: str | None
    created: bool



class WorkflowService(CommandCore):
    # --- deploy -----------------------------------------------------------------------------------------------------
    def deploy(self, actor: Actor, files: Sequence[SourceFile]) -> list[DeployedProcess]:
        actor.require_role("process-owner")
        deployment = self.compile_files(files)
        for attempt in range(3):
            try:
                return self._store_deployment(actor, deployment)
            except IntegrityError:  # a concurrent deploy took the same version number: count again
                if attempt == 2:
                    raise ConcurrentUpdate("concurrent deployments of the same process", detail_vi="Triển khai "
                                           "đồng thời cùng một quy trình, vui lòng thử lại") from None
        raise AssertionError("unreachable")

    def _store_deployment(self, actor: Actor, deployment: Any) -> list[DeployedProcess]:
        results: list[DeployedProcess] = []
        with self._uow() as uow:
            deployment_id: int | None = None
            for process in deployment.processes:
                latest = repo.latest_definition(uow.conn, process.key, lock=True)
                if latest is not None and latest["content_hash"] == deployment.content_hash:
                    results.append(DeployedProcess(process.key, latest["version"], deployment.content_hash,
                                                   latest["name"], False))
                    continue
                if deployment_id is None:
                    deployment_id = repo.insert_deployment(
                        uow.conn, content_hash=deployment.content_hash, deployed_by=actor.id, deployed_at=uow.now,
                        files=[{"name": f.name, "content": f.content.decode("utf-8")} for f in deployment.files])
                version = (latest["version"] if latest is not None else 0) + 1
                repo.insert_definition(uow.conn, key=process.key, version=version, name=process.name,
                                       content_hash=deployment.content_hash, deployment_id=deployment_id,
                                       status="active", deployed_by=actor.id, deployed_at=uow.now,
                                       start_messages=list(process.start_message_names))
                results.append(DeployedProcess(process.key, version, deployment.content_hash, process.name, True))
            repo.insert_audit(uow.conn, [{"instance_id": None, "at": uow.now, "actor": actor.id, "kind": "deployed",
                                          "data": {"processes": [r.__dict__ for r in results],
                                                   "files": [f.name for f in deployment.files]}}])
        return results

    # --- instances --------------------------------------------------------------------------------------------------
    def start_instance(self, actor: Actor, process_key: str, *, version: int | None = None,
                       business_key: str | None = None, variables: Mapping[str, Any] | None = None,
                       idempotency_key: str | None = None) -> tuple[str, bool]:
        """Start an instance; returns (instance id, created). A repeated Idempotency-Key returns the first one."""
        actor.require_role("integrator", "officer", "lead")
        data = check_variables(variables)
        instance_id = uuid7()
        with self._uow() as uow:
            if idempotency_key is not None:
                request_hash = hashlib.sha256(orjson.dumps([process_key, version, business_key, data],
                                                           option=orjson.OPT_SORT_KEYS)).hexdigest()
                if not repo.reserve_idempotency_key(uow.conn, caller=actor.id, key=idempotency_key,
                                                    request_hash=request_hash, instance_id=instance_id, at=uow.now):
                    record = repo.idempotency_record(uow.conn, actor.id, idempotency_key)
                    assert record is not None
                    if record["request_hash"] != request_hash:
                        raise IdempotencyConflict(
                            "this Idempotency-Key was already used with a different request",
                            detail_vi="Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác",
                            idempotency_key=idempotency_key)
                    return str(record["instance_id"]), False
            definition = self._definition_for_start(uow.conn, process_key, version)
            model = self._model(uow.conn, definition["id"])
            workflow, outcome = self.runtime.start(model.spec, model.subprocess_specs, data)
            self._save_new(uow, instance_id, definition, business_key, model, workflow, outcome, actor,
                           {"variables": data, "business_key": business_key})
        return instance_id, True

    def _definition_for_start(self, conn: Connection, key: str, version: int | None) -> repo.Row:
        if version is None:
            definition = repo.latest_active_definition(conn, key)
            if definition is None and repo.latest_definition(conn, key) is not None:
                raise DefinitionSuspended(f"every version of {key!r} is suspended",
                                          detail_vi=f"Mọi phiên bản của quy trình {key!r} đều đang tạm dừng",
                                          process_key=key)
        else:
            definition = repo.definition_by_version(conn, key, version)
            if definition is not None and definition["status"] != "active":
                raise DefinitionSuspended(f"version {version} of {key!r} is suspended",
                                          detail_vi=f"Phiên bản {version} của {key!r} đang tạm dừng",
                                          process_key=key, version=version)
        if definition is None:
            which = f"{key!r}" + (f" version {version}" if version else "")
            raise DefinitionNotFound(f"no deployed process {which}", detail_vi=f"Chưa triển khai quy trình {which}",
                                     process_key=key, version=version)
        return definition

    def cancel_instance(self, actor: Actor, instance_id: str, *, reason: str | None = None) -> None:
        actor.require_role("lead")
        with self._uow() as uow:
            head = self._lock(uow.conn, instance_id)
            if head["status"] != "running" and head["status"] != "error":
                raise InstanceNotRunning(f"instance {instance_id} is {head['status']}",
                                         detail_vi=f"Hồ sơ {instance_id} đang ở trạng thái {head['status']}",
                                         instance_id=instance_id, instance_status=head["status"])
            if not actor.sees_all_instances and not self._takes_part(uow.conn, actor, instance_id, head):
                raise Forbidden("you take no part in this instance", detail_vi="Bạn không tham gia hồ sơ này",
                                instance_id=instance_id)
            self.cache.discard(instance_id)
            repo.close_tasks(uow.conn, repo.open_task_ids(uow.conn, instance_id), status="cancelled", at=uow.now)
            repo.replace_timers(uow.conn, instance_id, [])
            repo.replace_subscriptions(uow.conn, instance_id, [])
            if not repo.set_instance_status(uow.conn, instance_id, head["version"], status="cancelled",
                                            ended_at=uow.now):
                raise ConcurrentUpdate(f"instance {instance_id} moved during the command",
                                       detail_vi="Hồ sơ vừa được cập nhật bởi yêu cầu khác", instance_id=instance_id)
            repo.insert_audit(uow.conn, [{"instance_id": instance_id, "at": uow.now, "actor": actor.id,
                                          "kind": "instance_cancelled", "data": {"reason": reason}}])

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
                raise AlreadyClaimed(f"task {task_id} is already claimed",
                                     detail_vi=f"Công việc {task_id} đã được người khác nhận", task_id=task_id,
                                     assignee=current["assignee"] if current else None)
            repo.insert_audit(uow.conn, [self._task_event(uow, actor, task, "task_claimed")])

    def unclaim_task(self, actor: Actor, task_id: str) -> None:
        with self._uow() as uow:
            task = self._task(uow.conn, task_id)
            actor.require_candidate(task)
            self._require_open(task)
            if task["assignee"] != actor.id and not (actor.is_admin or ("lead" in actor.roles
                                                                         and actor.is_candidate(task))):
                raise NotAssignee(f"task {task_id} is assigned to {task['assignee']}",
                                  detail_vi="Chỉ người đang nhận hoặc lãnh đạo đơn vị mới được trả lại công việc",
                                  task_id=task_id, assignee=task["assignee"])
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
                raise NotAssignee(f"task {task_id} is claimed by {task['assignee']}",
                                  detail_vi=f"Công việc {task_id} đã được {task['assignee']} nhận xử lý",
                                  task_id=task_id, assignee=task["assignee"])
            if head["status"] != "running":
                raise InstanceNotRunning(f"instance is {head['status']}", detail_vi="Hồ sơ không còn đang xử lý",
                                         instance_id=head["id"], instance_status=head["status"])
            repo.complete_task(uow.conn, task_id, actor.id, uow.now)
            audit = {"kind": "task_completed", "element_id": task["element_id"], "task_id": task_id,
                     "data": {"variables": data, "name": task["name"]}}
            result = self._advance(uow, head, lambda wf: self.runtime.complete_task(wf, task_id, data), actor, audit,
                                   completed_task=task_id)
        completed = {**task, "status": "completed", "completed_at": uow.now, "completed_by": actor.id,
                     "assignee": actor.id, "claimed_at": task["claimed_at"] or uow.now}  # what repo.complete_task set
        return replace(result, task=completed)

    @staticmethod
    def _task(conn: Connection, task_id: str, *, lock: bool = False) -> repo.Row:
        task = repo.get_task(conn, task_id, lock=lock)
        if task is None:
            raise TaskNotFound(f"task {task_id} not found", detail_vi=f"Không tìm thấy công việc {task_id}",
                               task_id=task_id)
        return task

    @staticmethod
    def _require_open(task: Mapping[str, Any]) -> None:
        if task["status"] not in repo.OPEN_STATUSES:
            raise TaskNotOpen(f"task {task['id']} is {task['status']}",
                              detail_vi=f"Công việc {task['id']} đã ở trạng thái {task['status']}",
                              task_id=task["id"], task_status=task["status"])

    @staticmethod
    def _task_event(uow: UnitOfWork, actor: Actor, task: Mapping[str, Any], kind: str) -> dict[str, Any]:
        return {"instance_id": task["instance_id"], "at": uow.now, "actor": actor.id, "kind": kind,
                "element_id": task["element_id"], "task_id": task["id"], "data": {"name": task["name"]}}

    # --- messages and timers ----------------------------------------------------------------------------------------
    def correlate_message(self, actor: Actor, name: str, *, business_key: str | None = None,
                          correlation_keys: Mapping[str, Any] | None = None,
                          variables: Mapping[str, Any] | None = None,
                          all_instances: bool = False) -> list[dict[str, Any]]:
        """Deliver a message to the instance waiting for it (matching business key and correlation variables);
        if none waits, start the processes whose start event catches it. Returns [{instance_id, started}].

        As in Camunda, a message that several waiting instances match is refused (MessageAmbiguous) unless
        ``all_instances`` asks to deliver it to each of them: a forgotten key must not move many cases at once."""
        actor.require_role("integrator")
        data = check_variables(variables)
        keys = dict(correlation_keys or {})
        with self._uow() as uow:
            waiting = repo.subscriptions_for(uow.conn, name, business_key)
            # locked in id order: two deliveries that match the same instances can never lock them crosswise
            instance_ids = sorted({s["instance_id"] for s in waiting
                                   if all((s["variables"] or {}).get(k) == v for k, v in keys.items())})
            if len(instance_ids) > 1 and not all_instances:
                raise MessageAmbiguous(
                    f"{len(instance_ids)} instances wait for message {name!r}; narrow it with business_key or "
                    "correlation_keys, or send it to all of them with all=true",
                    detail_vi=f"Có {len(instance_ids)} hồ sơ đang chờ thông điệp {name!r}; hãy nêu business_key "
                              "hoặc correlation_keys, hoặc gửi cho tất cả với all=true",
                    message_name=name, matches=len(instance_ids))
            delivered: list[dict[str, Any]] = []
            for instance_id in instance_ids:
                head = self._lock(uow.conn, instance_id)
                still_waiting = [m for m in repo.instance_subscriptions(uow.conn, instance_id)
                                 if m["message_name"] == name]
                if head["status"] != "running" or not still_waiting:
                    continue  # another command delivered it between our read and our lock
                audit = {"kind": "message_received", "data": {"message": name, "variables": data}}
                try:
                    self._advance(uow, head, lambda wf: self.runtime.deliver_message(wf, name, data), actor, audit)
                except MessageNotCorrelated:
                    continue  # raised before anything of this instance was written; its cached object was dropped
                delivered.append({"instance_id": instance_id, "started": False})
            if not delivered and not keys:
                for definition in repo.definitions_started_by_message(uow.conn, name):
                    delivered.append({"instance_id": self._start_by_message(uow, actor, definition, name,
                                                                            business_key, data), "started": True})
        if not delivered:
            raise MessageNotCorrelated(f"no instance waits for message {name!r}",
                                       detail_vi=f"Không có hồ sơ nào đang chờ thông điệp {name!r}",
                                       message_name=name, business_key=business_key)
        return delivered

    def _start_by_message(self, uow: UnitOfWork, actor: Actor, definition: repo.Row, name: str,
                          business_key: str | None, data: dict[str, Any]) -> str:
        model = self._model(uow.conn, definition["id"])
        workflow, outcome = self.runtime.start(model.spec, model.subprocess_specs, {})
        if outcome.error is None:
            outcome = self.runtime.deliver_message(workflow, name, data)
        instance_id = uuid7()
        self._save_new(uow, instance_id, definition, business_key, model, workflow, outcome, actor,
                       {"message": name, "variables": data})
        return instance_id

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

