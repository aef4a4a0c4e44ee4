"""Process instances: starting and cancelling one, and how an instance, its history and the listing travel
(engine.reads.instances)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from phoihop.api.schemas.common import DeadlineState, In, Out, PageOut, Text, Variables
from phoihop.api.schemas.tasks import TaskOut


class StartInstance(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "process_key": "green_lane",
                "business_key": "DVC-2026-000123",
                "variables": {
                    "applicant": {
                        "name": "Công ty Cổ phần Công nghệ Sông Hồng",
                        "id_number": "0109876543",
                        "email": "phaply@songhong.vn",
                        "phone": "0912 345 678",
                    },
                    "procedure_code": "KHCN-01",
                    "documents": [{"name": "Đơn đề nghị", "url": "https://dichvucong.hanoi.gov.vn/tep/1"}],
                },
            }
        },
    )
    process_key: Text = Field(min_length=1, max_length=200, description="Executable process id (khóa quy trình)")
    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Exact version; latest active when omitted"
    )
    business_key: Text | None = Field(default=None, min_length=1, max_length=200)
    variables: Variables = Field(default_factory=dict)


class CancelInstance(In):
    reason: Text | None = Field(default=None, max_length=2000, examples=["Công dân rút hồ sơ theo đơn ngày 05/3/2026"])


class DossierOut(Out):
    code: str | None = Field(description="Mã hồ sơ <agency>-YYMMDD-NNNN (Thông tư 01/2018/TT-VPCP Điều 19)")
    status: int | None = Field(description="Trạng thái hồ sơ, 1–10 (national public-service portal)")
    status_name_vi: str | None
    status_name_en: str | None
    lookup_secret: str | None = Field(
        default=None,
        description="Secret printed on the receipt slip; with the code it opens the public lookup "
        "(GET /api/v1/public/dossiers/{code}?secret=…)",
        examples=["7KQ4MZR2XH"],
    )


class InstanceSummaryOut(Out):
    id: str
    process_key: str
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    error: dict[str, Any] | None
    due_at: datetime | None = Field(default=None, description="The appointment date (variable appointment_at)")
    deadline_state: DeadlineState | None = None
    dossier: DossierOut | None = None


class IncidentOut(Out):
    """Work of the instance stopped until someone acts: an external task whose retries ran out (kind
    ``external_task``: nobody fetches it until its retries are set again), or a timer whose firing failed every retry
    (kind ``timer``: parked, neither fired nor retried, until resolved)."""

    kind: str = Field(
        default="external_task",
        description="external_task | timer | task (a failed script or expression step); resolve a timer or a task "
        "with POST /api/v1/incidents/{incident_id}/retry or /skip",
    )
    external_task_id: str | None
    element_id: str | None
    name: str | None
    topic: str | None
    error_message: str | None
    incident_at: datetime | None
    incident_id: int | None = Field(default=None, description="The incident row (kind timer or task)")
    attempts: int | None = Field(default=None, description="How many times the timer's firing failed")


class WaitOut(Out):
    kind: Literal["message", "timer"] = Field(
        description="message: send it with POST /api/v1/messages; timer: it fires by itself"
    )
    name: str | None = Field(
        default=None, description="The message's name (kind message)", examples=["dossier_supplement"]
    )
    element_id: str | None = Field(
        default=None, description="The timer event's id in the BPMN (kind timer)", examples=["supplement_expired"]
    )
    correlation: dict[str, Any] | None = Field(
        default=None,
        description="What a message must carry to reach this instance (kind message): `business_key` and the "
        "`correlation_keys` of POST /api/v1/messages",
        examples=[{"dossier_code": "000.00.25.H26-260212-0001"}],
    )
    due_at: datetime | None = Field(default=None, description="When the timer fires (kind timer)")


class InstanceOut(InstanceSummaryOut):
    process_version: int | None
    variables: Variables
    open_tasks: list[TaskOut]
    incidents: list[IncidentOut] = Field(
        default_factory=list,
        description="Open incidents: external tasks out of retries (PUT .../retries resolves) and timers out of"
        " retries (parked until resolved)",
    )
    waiting_for: list[WaitOut] = Field(
        default_factory=list,
        description="While the instance runs: the messages it waits for (name and correlation keys) and its timers "
        "(due time), besides its open human tasks",
    )


class HistoryEventOut(Out):
    id: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    task_id: str | None
    data: dict[str, Any]


class InstancePage(PageOut):
    items: list[InstanceSummaryOut]
