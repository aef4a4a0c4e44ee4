"""Documents attached to cases and tasks, and the signatures of a PDF (engine.reads.documents)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Text


class DeleteDocument(In):
    reason: Text = Field(min_length=1, max_length=2000, description="Lý do xóa (kept in the case history)")


class DocumentOut(Out):
    id: str
    instance_id: str
    task_id: str | None
    name: str = Field(description="file name as uploaded")
    title: str
    size: int = Field(description="bytes")
    sha256: str
    content_type: str = Field(description="sniffed from the bytes: PDF, DOCX, XLSX, ODT, ODS, PNG, JPEG or ZIP")
    signature_count: int = Field(description="digital signatures the PDF carries (GET …/signatures checks them)")
    added_by: str
    added_by_name: str
    added_by_agencies: list[str]
    added_at: datetime
    deleted_at: datetime | None
    deleted_by: str | None
    deleted_by_name: str | None
    delete_reason: str | None


class SignatureOut(Out):
    field_name: str
    signer: str | None = Field(description="the signer certificate's common name")
    signer_subject: str | None
    signed_at: datetime | None = Field(description="signing time the signer reported")
    intact: bool = Field(description="the signed bytes match the signature's digest")
    valid: bool = Field(description="intact and cryptographically verified")
    unchanged: bool = Field(description="the document is unchanged since this signature (modification level)")
    coverage: str = Field(description="entire_file, entire_revision or partial")
    modification_level: str | None
    trusted: bool = Field(description="the certificate chains to PHOIHOP_SIGNATURE_TRUST_ROOTS")
    problem: str | None
