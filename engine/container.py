"""Collaborators wired in one place: database, catalog, sandbox, runtime, service, queries, scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from phoihop.engine.agencies import AgencyRegistry, default_registry
from phoihop.engine.clock import Clock, SystemClock
from phoihop.engine.commands.calendar import CalendarService
from phoihop.engine.commands.external_tasks import ExternalTaskService
from phoihop.engine.commands.scheduler import TimerScheduler
from phoihop.engine.commands.service import WorkflowService
from phoihop.engine.definitions.catalog import DeploymentCache
from phoihop.engine.execution.runtime import Runtime
from phoihop.engine.execution.sandbox import SandboxedScriptEngine, check_source
from phoihop.engine.execution.script_functions import DEFAULT_GREEN_LANE_CUT
from phoihop.engine.execution.workflow_cache import WorkflowCache
from phoihop.engine.model import SourceFile
from phoihop.engine.reads.queries import Queries
from phoihop.engine.store.database import Database
from phoihop.engine.time.due_dates import DEFAULT_WARNING_RATIO


@dataclass
class EngineContainer:
    db: Database
    service: WorkflowService
    queries: Queries
    scheduler: TimerScheduler
    agencies: AgencyRegistry
    clock: Clock
    calendar: CalendarService
    external_tasks: ExternalTaskService

    def close(self) -> None:
        self.scheduler.stop()
        self.db.dispose()


def build_engine(
    database_url: str,
    *,
    clock: Clock | None = None,
    script_cpu_seconds: float = 1.0,
    cache_size: int = 2000,
    max_steps: int = 10_000,
    pool_size: int = 10,
    calendar_file: Path | None = None,
    calendar_cutoff: time | None = None,
    office_close: time = time(17, 0),
    green_lane_cut: float = DEFAULT_GREEN_LANE_CUT,
    warning_ratio: float = DEFAULT_WARNING_RATIO,
) -> EngineContainer:
    clock = clock or SystemClock()
    db = Database(database_url, pool_size=pool_size)
    agencies = default_registry()
    deployments = DeploymentCache()

    def compile_files(files: Sequence[SourceFile]) -> Any:
        return deployments.get_or_compile(files, agencies=agencies, check=check_source)

    calendar = CalendarService(db, clock, file=calendar_file, cutoff=calendar_cutoff, office_close=office_close)
    runtime = Runtime(
        SandboxedScriptEngine(cpu_seconds=script_cpu_seconds),
        clock,
        max_steps=max_steps,
        calendar=calendar.current,
        green_lane_cut=green_lane_cut,
    )
    service = WorkflowService(
        db,
        runtime=runtime,
        deployments=deployments,
        compile_files=compile_files,
        clock=clock,
        cache=WorkflowCache(cache_size),
        warning_ratio=warning_ratio,
    )
    scheduler = TimerScheduler(service, clock)
    # the service's cache of compiled definitions: task and start forms are read from the same Form objects
    queries = Queries(db, clock=clock, warning_ratio=warning_ratio, models=service._model)
    # external tasks (engine/external_tasks.py): same runtime, and the same live-object cache as the service
    external_tasks = ExternalTaskService(
        db,
        runtime=runtime,
        deployments=deployments,
        compile_files=compile_files,
        clock=clock,
        cache=service.cache,
        warning_ratio=warning_ratio,
    )
    return EngineContainer(
        db, service, queries, scheduler, agencies, clock, calendar=calendar, external_tasks=external_tasks
    )


__all__ = ["EngineContainer", "build_engine"]
