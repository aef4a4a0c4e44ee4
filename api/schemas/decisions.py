"""Deployed DMN decisions and their evaluation (engine.commands.decisions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Variables


class EvaluateDecision(In):
    inputs: Variables = Field(default_factory=dict, description="Values of the variables the table reads")


class DecisionInputOut(Out):
    id: str
    label: str | None
    expression: str | None = Field(description="Python expression of the input (None: the variable named by label)")
    type_ref: str | None


class DecisionOutputOut(Out):
    id: str
    name: str = Field(description="The variable a business rule task sets")
    label: str | None
    type_ref: str | None


class DecisionRuleOut(Out):
    id: str
    index: int = Field(description="Row number, from 1")
    annotation: str | None
    input_entries: list[str | None] = Field(description="Python cells; None matches anything ('-')")
    output_entries: list[str | None]


class ProcessVersionRef(Out):
    key: str
    version: int


class DecisionOut(Out):
    id: str = Field(description="The DMN decision id: the key of the decision")
    name: str | None
    file: str
    hit_policy: str
    inputs: list[DecisionInputOut]
    outputs: list[DecisionOutputOut]
    variables: list[str] = Field(description="Variables the input expressions read: the inputs to give")
    rule_count: int
    version: int = Field(description="Decision version: a new one each time a deployment changes the table")
    deployment_id: int
    deployed_at: datetime
    deployed_by: str
    processes: list[ProcessVersionRef] = Field(description="Process versions deployed together with this version")
    engine: Literal["python"] = Field(description="DMN cells are Python expressions, not FEEL")
    rules: list[DecisionRuleOut] | None = None


class DecisionRefOut(Out):
    id: str
    name: str | None
    hit_policy: str
    version: int
    file: str


class DecisionMatchOut(Out):
    rule_id: str
    index: int = Field(description="Row number, from 1")
    annotation: str | None = Field(description="The rule's description")
    outputs: dict[str, Any] | None = Field(description="The rule's outputs (None: failed in a rule outside the result)")
    in_result: bool = Field(
        description="Whether these outputs are in the result (every match for COLLECT, else the first)"
    )


class DecisionNoteOut(Out):
    code: str = Field(description="no-match, unique-overlap, unused-inputs, unreached-cell-fails")
    detail: str
    detail_vi: str


class DecisionEvaluationOut(Out):
    decision: DecisionRefOut
    matched: list[DecisionMatchOut]
    outputs: dict[str, Any] = Field(
        description="What a business rule task calling the decision adds to its data: "
        "the first match's outputs, or for COLLECT each output as a list"
    )
    notes: list[DecisionNoteOut]
    engine: Literal["python"] = Field(description="DMN cells are Python expressions, not FEEL")
