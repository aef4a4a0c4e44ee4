"""Deployed decisions (DMN): where they live, their versions, and trying one on input values.

A decision's key is its DMN ``decision id``. Decisions come with deployments: the DMN files deployed with a process
folder, or DMN files deployed alone (a deployment without an executable process, valid when it holds a decision).
Nothing but the deployment rows is stored: the history of a key is read from the deployments in order, and a
decision gets a new version each time a deployment holds it with a different content (its ``<decision>`` element,
canonical XML), so redeploying a process folder whose table did not change keeps the version. The latest version
wins; an older one can be asked for by number.

Compiled decisions are cached by file content (``DecisionCache``), and which decisions a deployment holds by its
content hash: both are pure functions of content, so one cache may serve every database. Evaluation runs under the
runtime's scripting context with its sandboxed script engine (engine.definitions.dmn.tables).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, select

from phoihop.engine.definitions.dmn.tables import (
    CompiledDecision,
    DecisionInput,
    DecisionNotFound,
    DecisionOutput,
    DecisionResult,
    DecisionRule,
    compile_file,
    evaluate,
)
from phoihop.engine.definitions.structure import DMN_SUFFIXES
from phoihop.engine.errors import EngineError
from phoihop.engine.model import Actor
from phoihop.engine.reads.views import JsonObject
from phoihop.engine.store import repository as repo
from phoihop.engine.store.tables import definition_table, deployment_table

if TYPE_CHECKING:
    from phoihop.engine.definitions.catalog import Deployment
    from phoihop.engine.execution.runtime import Runtime
    from phoihop.engine.store.database import Database

__all__ = [
    "DecisionCache",
    "DecisionEvaluation",
    "DecisionMatch",
    "DecisionNote",
    "DecisionRef",
    "DecisionVersion",
    "DecisionView",
    "Decisions",
    "ProcessVersionRef",
    "StoredDecision",
    "store_decisions",
]

log = logging.getLogger("phoihop.decisions")
ROLES = ("process-owner", "integrator")  # and admin, who holds every role
ENGINE: Literal["python"] = "python"  # what DMN cells are written in here (not FEEL)


@dataclass(frozen=True)
class DecisionVersion:
    decision: CompiledDecision
    version: int
    deployment_id: int
    deployed_at: datetime
    deployed_by: str
    processes: tuple[tuple[str, int], ...]  # (key, version) of the process definitions of that deployment


class _Lru:
    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> Any:
        with self._lock:
            stored = self._entries.setdefault(key, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
            return stored


class DecisionCache:
    """Compiled DMN files by content hash; the DMN files of each deployment by the deployment's content hash."""

    def __init__(self, max_files: int = 256, max_deployments: int = 4096) -> None:
        self._files = _Lru(max_files)
        self._deployments = _Lru(max_deployments)

    def file(self, name: str, content: bytes) -> tuple[CompiledDecision, ...]:
        key = hashlib.sha256(name.encode("utf-8", "surrogatepass") + b"\0" + content).hexdigest()
        compiled: tuple[CompiledDecision, ...] | None = self._files.get(key)
        if compiled is None:
            compiled = self._files.put(key, tuple(compile_file(name, content)))
        return compiled

    def deployment(self, conn: Connection, deployment_id: int, content_hash: str) -> tuple[CompiledDecision, ...]:
        files: tuple[tuple[str, bytes], ...] | None = self._deployments.get(content_hash)
        if files is None:
            stored = conn.execute(
                select(deployment_table.c.files).where(deployment_table.c.id == deployment_id)
            ).scalar_one()
            files = self._deployments.put(
                content_hash, tuple((f["name"], f["content"].encode("utf-8")) for f in stored if _is_dmn(f["name"]))
            )
        found: list[CompiledDecision] = []
        for name, content in files:
            try:
                found += self.file(name, content)
            except EngineError as exc:  # deploying refuses such files; one stored before must not hide the others
                log.warning("deployment %s: %s is skipped: %s", deployment_id, name, exc.detail)
        return tuple(found)


DEFAULT_CACHE = DecisionCache()


def _is_dmn(name: str) -> bool:
    return name.lower().endswith(DMN_SUFFIXES)


def _history(conn: Connection, cache: DecisionCache) -> dict[str, list[DecisionVersion]]:
    """Every version of every deployed decision, oldest first."""
    processes: dict[int, list[tuple[str, int]]] = {}
    for key, version, deployment_id in conn.execute(
        select(definition_table.c.key, definition_table.c.version, definition_table.c.deployment_id).order_by(
            definition_table.c.key, definition_table.c.version
        )
    ):
        processes.setdefault(deployment_id, []).append((key, version))
    history: dict[str, list[DecisionVersion]] = {}
    for row in (
        conn.execute(
            select(
                deployment_table.c.id,
                deployment_table.c.content_hash,
                deployment_table.c.deployed_at,
                deployment_table.c.deployed_by,
            ).order_by(deployment_table.c.id)
        )
        .mappings()
        .all()
    ):
        for decision in cache.deployment(conn, row["id"], row["content_hash"]):
            versions = history.setdefault(decision.id, [])
            if versions and versions[-1].decision.content_hash == decision.content_hash:
                continue  # the same table deployed again (a process folder redeployed): same version
            versions.append(
                DecisionVersion(
                    decision,
                    len(versions) + 1,
                    row["id"],
                    row["deployed_at"],
                    row["deployed_by"],
                    tuple(processes.get(row["id"], ())),
                )
            )
    return history


# --- deploying DMN files alone --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredDecision:
    id: str
    name: str | None
    version: int
    created: bool


def store_decisions(
    conn: Connection,
    deployment: Deployment,
    *,
    deployed_by: str,
    deployed_at: datetime,
    change_note: str | None = None,
    cache: DecisionCache = DEFAULT_CACHE,
) -> list[StoredDecision]:
    """Store a deployment of DMN files without an executable process: a new deployment row when one of its decisions
    is new or differs from its latest version (as a process gets a new version only when its content changed)."""
    decisions = [
        decision
        for source in deployment.files
        if _is_dmn(source.name)
        for decision in cache.file(source.name, source.content)
    ]
    history = _history(conn, cache)
    latest = {key: versions[-1] for key, versions in history.items()}
    changed = [d for d in decisions if d.id not in latest or latest[d.id].decision.content_hash != d.content_hash]
    if changed:
        repo.insert_deployment(
            conn,
            content_hash=deployment.content_hash,
            deployed_by=deployed_by,
            deployed_at=deployed_at,
            change_note=change_note,
            files=[{"name": f.name, "content": f.content.decode("utf-8")} for f in deployment.files],
        )
    changed_ids = {d.id for d in changed}
    stored = []
    for decision in decisions:
        version = latest[decision.id].version if decision.id in latest else 0
        created = decision.id in changed_ids
        stored.append(StoredDecision(decision.id, decision.name, version + 1 if created else version, created))
    return stored


# --- reading and evaluating -----------------------------------------------------------------------------------------
def _not_found(key: str, version: int | None) -> DecisionNotFound:
    which = f"{key!r}" + (f" version {version}" if version is not None else "")
    return DecisionNotFound(
        f"no deployed decision {which}",
        detail_vi=f"Chưa triển khai bảng quyết định {which}",
        decision_id=key,
        version=version,
    )


@dataclass(frozen=True, slots=True)
class ProcessVersionRef:
    key: str
    version: int


@dataclass(frozen=True, slots=True)
class DecisionView:
    """A decision version as the API shows it: its table's columns, hit policy and where it was deployed; ``rules``
    only for one decision (None in the listing)."""

    id: str
    name: str | None
    file: str
    hit_policy: str
    inputs: tuple[DecisionInput, ...]
    outputs: tuple[DecisionOutput, ...]
    variables: tuple[str, ...]  # what the input expressions read: the inputs to give
    rule_count: int
    version: int
    deployment_id: int
    deployed_at: datetime
    deployed_by: str
    processes: tuple[ProcessVersionRef, ...]  # the process versions deployed together with this version
    engine: Literal["python"]
    rules: tuple[DecisionRule, ...] | None = None


@dataclass(frozen=True, slots=True)
class DecisionRef:
    id: str
    name: str | None
    hit_policy: str
    version: int
    file: str


@dataclass(frozen=True, slots=True)
class DecisionMatch:
    rule_id: str
    index: int  # row number, from 1
    annotation: str | None
    outputs: JsonObject | None  # None: computing them failed in a rule outside the result
    in_result: bool  # every match for COLLECT, else the first


@dataclass(frozen=True, slots=True)
class DecisionNote:
    code: str  # no-match, unique-overlap, unused-inputs, unreached-cell-fails
    detail: str
    detail_vi: str


@dataclass(frozen=True, slots=True)
class DecisionEvaluation:
    """What evaluating a decision matched, and ``outputs``: what a business rule task calling it would merge into its
    data (the first match's outputs, or for COLLECT each output as a list)."""

    decision: DecisionRef
    matched: tuple[DecisionMatch, ...]
    outputs: JsonObject
    notes: tuple[DecisionNote, ...]
    engine: Literal["python"]


def describe(found: DecisionVersion, *, rules: bool = False) -> DecisionView:
    """A decision version as the API shows it: its table's columns, hit policy and where it was deployed."""
    decision = found.decision
    return DecisionView(
        id=decision.id,
        name=decision.name,
        file=decision.file,
        hit_policy=decision.hit_policy,
        inputs=decision.inputs,
        outputs=decision.outputs,
        variables=decision.variables,
        rule_count=len(decision.rules),
        version=found.version,
        deployment_id=found.deployment_id,
        deployed_at=found.deployed_at,
        deployed_by=found.deployed_by,
        processes=tuple(ProcessVersionRef(key, version) for key, version in found.processes),
        engine=ENGINE,
        rules=decision.rules if rules else None,
    )


def result_out(found: DecisionVersion, result: DecisionResult) -> DecisionEvaluation:
    decision = found.decision
    first_only = decision.hit_policy != "COLLECT"
    return DecisionEvaluation(
        decision=DecisionRef(decision.id, decision.name, decision.hit_policy, found.version, decision.file),
        matched=tuple(
            DecisionMatch(m.rule.id, m.rule.index, m.rule.annotation, m.outputs, not first_only or position == 0)
            for position, m in enumerate(result.matched)
        ),
        outputs=result.outputs,
        notes=tuple(DecisionNote(n["code"], n["detail"], n["detail_vi"]) for n in result.notes),
        engine=ENGINE,
    )


class Decisions:
    """Read side of deployed decisions, plus evaluation (roles process-owner, integrator, admin)."""

    def __init__(self, db: Database, runtime: Runtime, *, cache: DecisionCache = DEFAULT_CACHE) -> None:
        self.db = db
        self.runtime = runtime
        self.cache = cache

    def _versions(self) -> dict[str, list[DecisionVersion]]:
        with self.db.transaction(write=False) as conn:
            return _history(conn, self.cache)

    def find(self, actor: Actor, key: str, version: int | None = None) -> DecisionVersion:
        actor.require_role(*ROLES)
        versions = self._versions().get(key, [])
        if version is None:
            if versions:
                return versions[-1]
        elif 1 <= version <= len(versions):
            return versions[version - 1]
        raise _not_found(key, version)

    def list(self, actor: Actor) -> list[DecisionView]:
        """The latest version of every deployed decision, by id."""
        actor.require_role(*ROLES)
        return [describe(versions[-1]) for _, versions in sorted(self._versions().items())]

    def get(self, actor: Actor, key: str, version: int | None = None) -> DecisionView:
        return describe(self.find(actor, key, version), rules=True)

    def evaluate(
        self, actor: Actor, key: str, inputs: Mapping[str, Any] | None, version: int | None = None
    ) -> DecisionEvaluation:
        """The matched rules and ``outputs``, what a business rule task calling the decision would merge into its
        data."""
        found = self.find(actor, key, version)
        with self.runtime.scripting():
            result = evaluate(found.decision, inputs, self.runtime.script_engine)
        return result_out(found, result)
