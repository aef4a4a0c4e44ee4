"""Deployed DMN decisions: list them, read one, and try one on input values before a process uses it.

Roles process-owner, integrator (and admin). DMN cells here are Python expressions, not FEEL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from phoihop.api.schemas.decisions import DecisionEvaluationOut, DecisionOut, EvaluateDecision
from phoihop.deps import CurrentActor, DecisionsDep
from phoihop.engine.commands.decisions import DecisionEvaluation, DecisionView

router = APIRouter(prefix="/api/v1/decisions", tags=["decisions"])


Key = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00]*$", description="The DMN decision id")]
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Decision version; the latest when omitted")]


@router.get(
    "",
    response_model=list[DecisionOut],
    summary="Deployed decisions, the latest version of each (roles process-owner, integrator)",
)
async def list_decisions(actor: CurrentActor, decisions: DecisionsDep) -> list[DecisionView]:
    """The DMN decisions deployed with the processes (the green-lane procedure catalogue, the escalation routing), the
    latest version of each, with their inputs and outputs."""
    return await run_in_threadpool(decisions.list, actor)


@router.get("/{key}", response_model=DecisionOut, summary="One decision with its rules (latest version or ?version=N)")
async def get_decision(key: Key, actor: CurrentActor, decisions: DecisionsDep, version: Version = None) -> DecisionView:
    """One DMN decision table: its hit policy, inputs, outputs and every rule, as deployed; `?version=N` for an older
    version."""
    return await run_in_threadpool(decisions.get, actor, key, version)


@router.post(
    "/{key}/evaluate",
    response_model=DecisionEvaluationOut,
    summary="Evaluate a decision on input values, as a business rule task would (Python, not FEEL)",
)
async def evaluate_decision(
    key: Key, body: EvaluateDecision, actor: CurrentActor, decisions: DecisionsDep, version: Version = None
) -> DecisionEvaluation:
    """The matched rules and the outputs a business rule task would get. Missing inputs the table reads: 422
    ``decision-inputs-missing``; a cell that fails: 422 ``decision-evaluation-failed`` naming the rule and the
    expression; no rule matching: 200 with ``matched`` empty and a ``no-match`` note."""
    return await run_in_threadpool(decisions.evaluate, actor, key, body.inputs, version)
