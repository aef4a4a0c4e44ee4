"""Moving running instances to another version of their process: a dry run that tells per instance what would
happen, and the execution for chosen instances. Role process-owner (or admin). Rules in
engine/instance_migration/commands.py."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.instance_migration import (
    MigrationDryRunIn,
    MigrationDryRunOut,
    MigrationExecuteIn,
    MigrationExecuteOut,
    MigrationPlanIn,
)
from phoihop.deps import CurrentActor, InstanceMigrationDep
from phoihop.engine.instance_migration.commands import InstanceFilter, MigrationPlan
from phoihop.engine.instance_migration.results import MigrationDryRun, MigrationExecution

router = APIRouter(prefix="/api/v1/migrations", tags=["instance migration"])


def _plan(body: MigrationPlanIn) -> MigrationPlan:
    return MigrationPlan(body.process_key, body.from_version, body.to_version, dict(body.mapping))


@router.post(
    "/dry-run",
    response_model=MigrationDryRunOut,
    summary="Per instance of from_version: migratable or why not, and what happens to its open tasks and "
    "timers. Writes nothing (role process-owner)",
)
async def dry_run(body: MigrationDryRunIn, actor: CurrentActor, migration: InstanceMigrationDep) -> MigrationDryRun:
    """For each running instance of `from_version`: whether it can move to `to_version`, and if not why; which of its
    open tasks and timers carry over. Writes nothing."""
    selection = InstanceFilter(
        tuple(body.filter.statuses), tuple(body.filter.business_keys), tuple(body.filter.instance_ids)
    )
    return await run_in_threadpool(migration.dry_run, actor, _plan(body), selection, limit=body.limit)


@router.post(
    "/execute",
    response_model=MigrationExecuteOut,
    summary="Move exactly the instances named, each in its own transaction; refused or failing ones are "
    "reported and left as they were (role process-owner)",
)
async def execute(body: MigrationExecuteIn, actor: CurrentActor, migration: InstanceMigrationDep) -> MigrationExecution:
    """Moves the instances named to `to_version`, each in its own transaction; refused or failing ones are reported and
    left as they were. An audit event on each moved instance records it."""
    return await run_in_threadpool(migration.migrate, actor, _plan(body), body.instance_ids)
