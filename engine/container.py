"""Collaborators wired in one place: database, catalog, sandbox, runtime, service, queries, scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .agencies import AgencyRegistry, default_registry
from .catalog import DeploymentCache, SourceFile
from .clock import Clock, SystemClock
from .queries import Queries
from .runtime import Runtime
from .sandbox import SandboxedScriptEngine, check_source
from .scheduler import TimerScheduler
from .service import WorkflowService
from .store.database import Database
from .workflow_cache import WorkflowCache


@dataclass
class EngineContainer:
    db: Database
    service: WorkflowService
    queries: Queries
    scheduler: TimerScheduler
    agencies: AgencyRegistry
    clock: Clock

    def close(self) -> None:
        self.scheduler.stop()
        self.db.dispose()


def build_engine(database_url: str, *, clock: Clock | None = None, script_cpu_seconds: float = 1.0,
                 cache_size: int = 2000, max_steps: int = 10_000, pool_size: int = 10) -> EngineContainer:
    clock = clock or SystemClock()
    db = Database(database_url, pool_size=pool_size)
    agencies = default_registry()
    deployments = DeploymentCache()

    def compile_files(files: Sequence[SourceFile]) -> Any:
        return deployments.get_or_compile(files, agencies=agencies, check=check_source)

    runtime = Runtime(SandboxedScriptEngine(cpu_seconds=script_cpu_seconds), clock, max_steps=max_steps)
    service = WorkflowService(db, runtime=runtime, deployments=deployments, compile_files=compile_files, clock=clock,
                              cache=WorkflowCache(cache_size))
    scheduler = TimerScheduler(service, clock)
    return EngineContainer(db, service, Queries(db), scheduler, agencies, clock)


__all__ = ["EngineContainer", "build_engine"]
