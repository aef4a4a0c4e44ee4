"""The public dossier lookup (tra cứu hồ sơ): what an applicant sees with the code and the receipt secret
(engine.reads.public_dossiers). No officer, no personal data, no variables."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from phoihop.api.schemas.common import Out


class PublicApologyOut(Out):
    previous_appointment_at: datetime | None = Field(description="The appointment date before the letter")
    new_appointment_at: datetime | None = Field(description="The new appointment date the letter gives")
    reason: str | None = Field(description="Why the dossier is late, as the letter says")
    issued_at: datetime | None


class PublicStepOut(Out):
    name: str = Field(description="The step, as the process names it", examples=["Thẩm định hồ sơ"])
    completed_at: datetime | None
    agency_name_vi: str | None = Field(examples=["Sở Khoa học và Công nghệ"])
    agency_name_en: str | None = Field(examples=["Department of Science and Technology"])


class PublicDossierOut(Out):
    code: str = Field(examples=["000.00.25.H26-260105-0001"])
    status: int | None = Field(description="Portal status 1–10 when the process sets one", examples=[4])
    status_name_vi: str = Field(examples=["Đang xử lý"])
    status_name_en: str = Field(examples=["In processing"])
    finished: bool = Field(description="The dossier's processing has ended (result returned or stopped)")
    received_at: datetime
    appointment_at: datetime | None = Field(description="Ngày hẹn trả kết quả (the current one)")
    finished_at: datetime | None
    apologies: list[PublicApologyOut]
    steps: list[PublicStepOut] = Field(description="The steps done, oldest first, with the agency that did each")
