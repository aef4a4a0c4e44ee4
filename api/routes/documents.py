"""Documents: attach a file to a case (or one of its tasks), list them, download one, read its signatures, delete
one with a reason. The bytes are checked by the engine (engine/commands/documents.py): sniffed kind, size limit,
archive bombs; a download is always an attachment with the sniffed type and ``nosniff``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from phoihop.api.openapi import problem_responses
from phoihop.api.schemas.documents import DeleteDocument, DocumentOut, SignatureOut
from phoihop.deps import CurrentActor, DocumentReadsDep, DocumentsDep, attachment_headers
from phoihop.engine.reads.documents import DocumentView, SignatureView

router = APIRouter(prefix="/api/v1", tags=["documents"])


@router.post(
    "/process-instances/{instance_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentOut,
    summary="Attach a file to the case or one of its tasks (roles integrator, officer, lead; who sees the case)",
    responses=problem_responses(409, 413, 415),
)
async def add_document(
    instance_id: str,
    actor: CurrentActor,
    documents: DocumentsDep,
    response: Response,
    file: Annotated[UploadFile, File(description="PDF, DOCX, XLSX, ODT, ODS, PNG, JPEG or ZIP")],
    title: Annotated[str | None, Form(max_length=500)] = None,
    task_id: Annotated[str | None, Form(max_length=36)] = None,
) -> DocumentView:
    """Uploads a file (multipart `file`) to the case, or to one of its tasks with `task_id`: its type is sniffed from
    its bytes, its SHA-256 kept, its size bounded. An audit event `document_added` records it."""

    def add() -> DocumentView:
        return documents.add(actor, instance_id, file.file, name=file.filename, title=title, task_id=task_id or None)

    document = await run_in_threadpool(add)
    response.headers["Location"] = f"/api/v1/documents/{document.id}"
    return document


@router.get(
    "/process-instances/{instance_id}/documents",
    response_model=list[DocumentOut],
    summary="The case's documents, newest first (deleted ones too, with who, when and why)",
)
async def list_documents(instance_id: str, actor: CurrentActor, reads: DocumentReadsDep) -> list[DocumentView]:
    """The case's documents, newest first; deleted ones stay listed with who deleted them, when and why."""
    return await run_in_threadpool(reads.of_instance, actor, instance_id)


@router.get("/documents/{document_id}", response_model=DocumentOut, summary="One document's record")
async def get_document(document_id: str, actor: CurrentActor, reads: DocumentReadsDep) -> DocumentView:
    """One document's record: name, type, size, SHA-256, who added it, when, to which task, deleted or not."""
    return await run_in_threadpool(reads.get, actor, document_id)


@router.get(
    "/documents/{document_id}/content",
    response_class=StreamingResponse,
    summary="The bytes, as an attachment with the sniffed type and X-Content-Type-Options: nosniff",
)
async def document_content(document_id: str, actor: CurrentActor, reads: DocumentReadsDep) -> StreamingResponse:
    """The document's bytes, always as an attachment (never shown inline), with its sniffed type."""
    document, chunks = await run_in_threadpool(reads.content_of, actor, document_id)
    return StreamingResponse(
        chunks,
        media_type=document.content_type,
        headers=attachment_headers(document.name, document.size),
    )


@router.get(
    "/documents/{document_id}/signatures",
    response_model=list[SignatureOut],
    summary="Each digital signature of a PDF: signer, time, valid, unchanged since, trusted",
)
async def document_signatures(document_id: str, actor: CurrentActor, reads: DocumentReadsDep) -> list[SignatureView]:
    """Each digital signature of a PDF document: the signer's certificate, the signing time, whether the signature is
    valid, whether the file is unchanged since, and whether the signer is trusted."""
    return await run_in_threadpool(reads.signatures, actor, document_id)


@router.delete(
    "/documents/{document_id}",
    response_model=DocumentOut,
    summary="Delete with a reason: the record and bytes stay in the case history (who added it, a lead, an admin)",
    responses=problem_responses(409),
)
async def delete_document(
    document_id: str, body: DeleteDocument, actor: CurrentActor, documents: DocumentsDep
) -> DocumentView:
    """Deletes a document with a `reason`: it is no longer offered, but its record and bytes stay in the case history.
    An audit event `document_deleted` records it."""
    return await run_in_threadpool(lambda: documents.delete(actor, document_id, reason=body.reason))


@router.post(
    "/documents/{document_id}/delete",
    response_model=DocumentOut,
    summary="The same as DELETE /documents/{id}, for clients that cannot send a DELETE with a body",
    responses=problem_responses(409),
)
async def delete_document_by_post(
    document_id: str, body: DeleteDocument, actor: CurrentActor, documents: DocumentsDep
) -> DocumentView:
    """Deletes a document with a `reason`, as `DELETE /api/v1/documents/{document_id}` does, for clients that cannot
    send a body with DELETE."""
    return await run_in_threadpool(lambda: documents.delete(actor, document_id, reason=body.reason))
