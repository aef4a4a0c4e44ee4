"""Process definitions: deploying and validating files, the keys with their versions, start forms
(engine.reads.definitions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from phoihop.api.schemas.common import Out


class FindingOut(Out):
    """A "6 rõ" lint finding (engine.definitions.lint) on an element of the deployed files."""

    code: str = Field(
        description="lane-not-agency, no-documentation, no-due-date, due-date-invalid, no-form, approval-invalid, "
        "on-return-invalid, "
        "dmn-no-default, dmn-feel, dmn-hit-policy, dmn-required-decision, camunda-ignored, camunda-coerced, "
        "unreachable, dead-end, "
        "implicit-end, flow-into-nothing, gateway-one-way, end-with-open-branches; "
        "from validation also invalid-bpmn (XML, schema, references, expressions), "
        "juel-unsupported, feel-unsupported, camunda-unsupported"
    )
    severity: Literal["warning", "error"] = Field(description="warning (deployed anyway) or error (refused)")
    file: str
    element_id: str | None
    element_name: str | None
    message_en: str
    message_vi: str
    line: int | None


class ValidationOut(Out):
    """What deploying the files would say, without storing anything (``POST /process-definitions/validate``)."""

    valid: bool = Field(description="true when there is no error: deploying these files would succeed")
    errors: list[FindingOut] = Field(
        description="what refuses the deployment: XML, schema, references, expressions, "
        "Camunda constructs that cannot run, lint errors"
    )
    warnings: list[FindingOut] = Field(description='"6 rõ" gaps and ignored Camunda attributes: deployed anyway')


class DeployedOut(Out):
    key: str
    version: int
    content_hash: str
    name: str | None
    created: bool
    warnings: list[FindingOut] = Field(
        default_factory=list, description='"6 rõ" findings of the deployment that did not block it'
    )
    default_version: int | None = Field(
        default=None,
        description="The key's explicit default version: starts "
        "naming no version still run on it (not on this one) until it is cleared",
    )
    kind: Literal["process", "decision"] = Field(
        default="process", description="decision: a DMN decision of a deployment of DMN files alone (key = decision id)"
    )


class DefinitionVersionOut(Out):
    version: int
    name: str | None
    content_hash: str
    status: str
    deployed_by: str
    deployed_at: datetime


class DefinitionOut(Out):
    key: str
    name: str | None
    latest_version: int
    versions: list[DefinitionVersionOut]


class StartFormOut(Out):
    key: str
    version: int
    form: dict[str, Any] | None = Field(description="JSON Schema (2020-12) of the start variables; null: none")
