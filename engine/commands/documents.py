"""Documents: attach a file to a case or to one of its tasks, and delete one with a reason.

An upload is read once, in chunks, into a temporary spool, counting and hashing as it goes and stopping at the size
limit (DocumentTooLarge); its kind is then sniffed from the bytes (engine/commands/document_types.py). Only then does
one transaction check who may attach to the case, keep the bytes (the content store), write the ``document`` row and
the ``document_added`` audit event. A refused upload stores nothing. Deleting never removes anything: the row is
marked (who, when, why) and ``document_deleted`` written; the bytes stay for the case history."""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from typing import IO

from phoihop.engine.commands.document_types import ArchiveLimits, sniff
from phoihop.engine.commands.executor import CommandExecutor
from phoihop.engine.errors import DocumentDeleted, DocumentTooLarge, Forbidden, InvalidInput, TaskNotFound
from phoihop.engine.ids import uuid7
from phoihop.engine.model import Actor
from phoihop.engine.reads.document_signatures import count_signatures
from phoihop.engine.reads.documents import DocumentView, document_view, require_instance_access, visible_document
from phoihop.engine.store import documents as store
from phoihop.engine.store import repository as repo

CHUNK = 1 << 16
SPOOL_IN_MEMORY = 1 << 20  # bytes kept in memory before the spool goes to a temporary file
MAX_NAME = 255
MAX_TITLE = 500
MAX_REASON = 2000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def clean_name(name: str | None) -> str:
    """The file name to keep: its last path part, without control characters, at most 255 characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip(" .")
    return base[:MAX_NAME] or "tai-lieu"


class DocumentCommands:
    """``content``: where the bytes go (engine/store/documents.py); ``max_bytes``: the largest accepted file."""

    def __init__(
        self,
        executor: CommandExecutor,
        content: store.ContentStore,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        archive_limits: ArchiveLimits | None = None,
    ) -> None:
        self.executor = executor
        self.content = content
        self.max_bytes = max_bytes
        self.archive_limits = archive_limits or ArchiveLimits()

    def add(
        self,
        actor: Actor,
        instance_id: str,
        upload: IO[bytes],
        *,
        name: str | None,
        title: str | None = None,
        task_id: str | None = None,
    ) -> DocumentView:
        """Attach ``upload`` (read from where it stands to its end) to the case, or to its task ``task_id``."""
        actor.require_role("integrator", "officer", "lead")
        file_name = clean_name(name)
        title = (title or "").strip() or file_name
        if len(title) > MAX_TITLE or "\x00" in title:
            raise InvalidInput(
                f"the title is longer than {MAX_TITLE} characters",
                detail_vi=f"Tiêu đề dài quá {MAX_TITLE} ký tự",
                field="title",
            )
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
            size, sha256 = self._spool(upload, spool)
            content_type = sniff(spool, size, limits=self.archive_limits)
            signatures = count_signatures(spool) if content_type == "application/pdf" else 0
            document_id = uuid7()
            with self.executor.transaction() as uow:
                require_instance_access(uow.conn, actor, instance_id)
                if task_id is not None:
                    task = repo.get_task(uow.conn, task_id)
                    if task is None or task["instance_id"] != instance_id:
                        raise TaskNotFound(
                            f"task {task_id} is not a task of instance {instance_id}",
                            detail_vi=f"Công việc {task_id} không thuộc hồ sơ {instance_id}",
                            task_id=task_id,
                            field="task_id",
                        )
                self.content.put(uow.conn, sha256, size, spool)
                row = {
                    "id": document_id,
                    "instance_id": instance_id,
                    "task_id": task_id,
                    "name": file_name,
                    "title": title,
                    "content_type": content_type,
                    "size": size,
                    "sha256": sha256,
                    "signature_count": signatures,
                    "added_by": actor.id,
                    "added_by_name": actor.name[:300],
                    "added_by_agencies": sorted(actor.groups),
                    "added_at": uow.now,
                }
                store.insert_document(uow.conn, **row)
                data = {"document_id": document_id, "name": file_name, "title": title, "sha256": sha256}
                if task_id is not None:
                    data["task_id"] = task_id
                repo.insert_audit(
                    uow.conn,
                    [
                        {
                            "instance_id": instance_id,
                            "at": uow.now,
                            "actor": actor.id,
                            "kind": "document_added",
                            "task_id": task_id,
                            "data": data,
                        }
                    ],
                )
                stored = store.get_document(uow.conn, document_id)
                assert stored is not None
                return document_view(stored)

    def delete(self, actor: Actor, document_id: str, *, reason: str) -> DocumentView:
        """Mark the document deleted with ``reason``: whoever added it, or a lead or admin who sees the case."""
        reason = (reason or "").strip()
        if not reason or len(reason) > MAX_REASON or "\x00" in reason:
            raise InvalidInput(
                f"a reason (1 to {MAX_REASON} characters) is required to delete a document",
                detail_vi=f"Cần ghi lý do xóa tài liệu (từ 1 đến {MAX_REASON} ký tự)",
                field="reason",
            )
        with self.executor.transaction() as uow:
            row = visible_document(uow.conn, actor, document_id)
            if row["added_by"] != actor.id and not (actor.is_admin or "lead" in actor.roles):
                raise Forbidden(
                    "only who added a document, a lead or an admin may delete it",
                    detail_vi="Chỉ người đã thêm tài liệu, lãnh đạo hoặc quản trị mới được xóa tài liệu",
                    document_id=document_id,
                )
            if not store.mark_deleted(
                uow.conn, document_id, at=uow.now, by=actor.id, by_name=actor.name[:300], reason=reason
            ):
                raise DocumentDeleted(
                    f"document {document_id} was deleted already",
                    detail_vi=f"Tài liệu {document_id} đã bị xóa trước đó",
                    document_id=document_id,
                    deleted_by=row["deleted_by"],
                )
            repo.insert_audit(
                uow.conn,
                [
                    {
                        "instance_id": row["instance_id"],
                        "at": uow.now,
                        "actor": actor.id,
                        "kind": "document_deleted",
                        "task_id": row["task_id"],
                        "data": {"document_id": document_id, "reason": reason},
                    }
                ],
            )
            stored = store.get_document(uow.conn, document_id)
            assert stored is not None
            return document_view(stored)

    def _spool(self, upload: IO[bytes], spool: IO[bytes]) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        while chunk := upload.read(CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise DocumentTooLarge(
                    f"the file is larger than {self.max_bytes} bytes",
                    detail_vi=f"Tệp lớn hơn giới hạn {self.max_bytes // (1024 * 1024)} MB",
                    limit=self.max_bytes,
                )
            digest.update(chunk)
            spool.write(chunk)
        return size, digest.hexdigest()
