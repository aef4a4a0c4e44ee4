"""A case's documents on the task page and the case page (templates/_documents.html loads the list, then upload,
download, delete with a reason) and a document's digital signatures. The same commands and rules as
/api/v1/process-instances/{id}/documents and /api/v1/documents/{id}: who may see the case sees its documents."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from phoihop.deps import DocumentReadsDep, DocumentsDep, attachment_headers
from phoihop.engine.commands.documents import DocumentCommands
from phoihop.engine.errors import DocumentTooLarge, InvalidInput, UnsupportedDocument
from phoihop.engine.model import Actor
from phoihop.engine.reads.documents import DocumentView
from phoihop.engine.reads.views import TaskView
from phoihop.web.deps import CsrfChecked, Page
from phoihop.web.errors import WebRoute, is_htmx
from phoihop.web.templating import PageContext, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

UNITS = ("byte", "KB", "MB", "GB")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def file_size(size: int) -> str:
    """A size as officers read it: 532 byte, 12 KB, 1,5 MB (a decimal comma, one decimal below 10)."""
    value = float(size)
    unit = 0
    while value >= 1024 and unit < len(UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{size} {UNITS[0]}"
    text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
    return f"{text.replace('.', ',').removesuffix(',0')} {UNITS[unit]}"


def _back(instance_id: str, task_id: str | None) -> str:
    """Where a form returns: the task page it was sent from, else the case page (never a URL the form names)."""
    return f"/cong-viec/{task_id}#tai-lieu" if task_id else f"/ho-so/{instance_id}#tai-lieu"


def _task_param(value: object) -> str | None:
    """A task id from a form or the query (a UUID), else None."""
    return value if isinstance(value, str) and _UUID.fullmatch(value) else None


@router.get("/ho-so/{instance_id}/tai-lieu")
async def documents_section(
    instance_id: str, context: Page, reads: DocumentReadsDep, cong_viec: str | None = None
) -> Response:
    """The list with its upload form: a fragment for the page that includes _documents.html, else a page."""
    assert context.session is not None
    documents = await run_in_threadpool(reads.of_instance, context.session.actor, instance_id)
    values = _section_values(context, instance_id, documents, _task_param(cong_viec))
    if is_htmx(context.request):
        return render(context, "_documents_list.html", values)
    return render(context, "documents.html", values)


def _section_values(
    context: PageContext, instance_id: str, documents: list[DocumentView], task_id: str | None
) -> dict[str, object]:
    return {
        "instance_id": instance_id,
        "task_id": task_id,
        "documents": documents,
        "file_size": file_size,
        "max_mb": context.settings.document_max_mb,
    }


@router.post("/ho-so/{instance_id}/tai-lieu", dependencies=[CsrfChecked])
async def upload(instance_id: str, context: Page, documents: DocumentsDep) -> Response:
    assert context.session is not None
    actor = context.session.actor
    form = await context.request.form()
    try:
        file = form.get("file")
        task_id = _task_param(form.get("cong_viec"))
        title = form.get("title")
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("choose a file to upload", detail_vi="Hãy chọn một tệp để tải lên", field="file")
        attach_to = task_id if form.get("gan_cong_viec") == "1" else None
        await run_in_threadpool(
            lambda: documents.add(
                actor,
                instance_id,
                file.file,
                name=file.filename,
                title=title if isinstance(title, str) else None,
                task_id=attach_to,
            )
        )
    finally:
        await form.close()
    return RedirectResponse(_back(instance_id, task_id), status_code=303)


@router.get("/tai-lieu/{document_id}/tai-ve")
async def download(document_id: str, context: Page, reads: DocumentReadsDep) -> Response:
    assert context.session is not None
    document, chunks = await run_in_threadpool(reads.content_of, context.session.actor, document_id)
    return StreamingResponse(
        chunks, media_type=document.content_type, headers=attachment_headers(document.name, document.size)
    )


@router.post("/tai-lieu/{document_id}/xoa", dependencies=[CsrfChecked])
async def delete(document_id: str, context: Page, documents: DocumentsDep) -> Response:
    assert context.session is not None
    actor = context.session.actor
    form = await context.request.form()
    reason = form.get("reason")
    task_id = _task_param(form.get("cong_viec"))
    document = await run_in_threadpool(
        lambda: documents.delete(actor, document_id, reason=reason if isinstance(reason, str) else "")
    )
    return RedirectResponse(_back(document.instance_id, task_id), status_code=303)


@router.get("/tai-lieu/{document_id}/chu-ky")
async def signatures(document_id: str, context: Page, reads: DocumentReadsDep) -> Response:
    assert context.session is not None
    actor = context.session.actor
    document = await run_in_threadpool(reads.get, actor, document_id)
    found = await run_in_threadpool(reads.signatures, actor, document_id)
    return render(context, "document_signatures.html", {"document": document, "signatures": found})


def attach_form_files(
    documents: DocumentCommands, actor: Actor, task: TaskView, form: FormData, raw: Mapping[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The files of a task form's document fields (``"format": "document"``), attached to the task's case: ``raw``
    with each field's value replaced by its new document's id, and a refused file's reason at its field."""
    values = dict(raw)
    errors: dict[str, list[str]] = {}
    uploads = [(name, value) for name, value in form.multi_items() if isinstance(value, UploadFile)]
    try:
        for name, upload in uploads:
            if not upload.filename:
                continue
            try:
                document = documents.add(actor, task.instance_id, upload.file, name=upload.filename, task_id=task.id)
            except (UnsupportedDocument, DocumentTooLarge, InvalidInput) as exc:
                errors.setdefault(name, []).append(exc.detail_vi)
                continue
            values[name] = [document.id]
    finally:
        for _, upload in uploads:
            upload.file.close()
    return values, errors
