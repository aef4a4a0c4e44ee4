"""Reading a case's documents: the list (newest first, deleted ones included with who, when and why), one document,
its bytes, and the digital signatures a PDF carries. Whoever may see the instance (reads/instances.py) may read its
documents; nobody else, whatever the document's id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection

from phoihop.engine.errors import DocumentNotFound, InstanceNotFound
from phoihop.engine.model import Actor
from phoihop.engine.reads.document_signatures import SignatureView, read_signatures
from phoihop.engine.reads.instances import require_access
from phoihop.engine.store import documents as store
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["DocumentReads", "DocumentView", "SignatureView", "document_view", "require_instance_access"]


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A document as the API and the pages show it. ``deleted_*`` are set once it was deleted (its bytes are kept)."""

    id: str
    instance_id: str
    task_id: str | None
    name: str
    title: str
    size: int
    sha256: str
    content_type: str
    signature_count: int
    added_by: str
    added_by_name: str
    added_by_agencies: tuple[str, ...]
    added_at: datetime
    deleted_at: datetime | None
    deleted_by: str | None
    deleted_by_name: str | None
    delete_reason: str | None


def document_view(row: repo.Row) -> DocumentView:
    return DocumentView(
        id=row["id"],
        instance_id=row["instance_id"],
        task_id=row["task_id"],
        name=row["name"],
        title=row["title"],
        size=row["size"],
        sha256=row["sha256"],
        content_type=row["content_type"],
        signature_count=row["signature_count"],
        added_by=row["added_by"],
        added_by_name=row["added_by_name"],
        added_by_agencies=tuple(row["added_by_agencies"] or ()),
        added_at=row["added_at"],
        deleted_at=row["deleted_at"],
        deleted_by=row["deleted_by"],
        deleted_by_name=row["deleted_by_name"],
        delete_reason=row["delete_reason"],
    )


def require_instance_access(conn: Connection, actor: Actor, instance_id: str) -> repo.Row:
    """The instance row, if it exists and ``actor`` may see it (InstanceNotFound, Forbidden otherwise)."""
    row = repo.get_instance(conn, instance_id)
    if row is None:
        raise InstanceNotFound.of(instance_id)
    require_access(actor, row, repo.tasks_of_instance(conn, instance_id, open_only=False))
    return row


def visible_document(conn: Connection, actor: Actor, document_id: str) -> repo.Row:
    """The document row, if it exists and ``actor`` may see its instance (DocumentNotFound, Forbidden otherwise)."""
    row = store.get_document(conn, document_id)
    if row is None:
        raise DocumentNotFound(
            f"document {document_id} not found",
            detail_vi=f"Không tìm thấy tài liệu {document_id}",
            document_id=document_id,
        )
    require_instance_access(conn, actor, row["instance_id"])
    return row


class DocumentReads:
    """One read-only transaction per call. ``trust_roots``: a PEM file (or a folder of them) of the certificate
    authorities a signature must chain to for ``trusted``; None: signatures are checked as intact only."""

    def __init__(self, db: Database, content: store.ContentStore, *, trust_roots: Path | None = None) -> None:
        self.db = db
        self.content = content
        self.trust_roots = trust_roots

    def of_instance(self, actor: Actor, instance_id: str) -> list[DocumentView]:
        """The case's documents, newest first, deleted ones included (``deleted_at`` set)."""
        with self.db.transaction(write=False) as conn:
            require_instance_access(conn, actor, instance_id)
            return [document_view(r) for r in store.instance_documents(conn, instance_id)]

    def get(self, actor: Actor, document_id: str) -> DocumentView:
        with self.db.transaction(write=False) as conn:
            return document_view(visible_document(conn, actor, document_id))

    def content_of(self, actor: Actor, document_id: str) -> tuple[DocumentView, Iterator[bytes]]:
        """The document and its bytes, in chunks (a deleted document's too: the history keeps it)."""
        with self.db.transaction(write=False) as conn:
            row = visible_document(conn, actor, document_id)
            return document_view(row), self.content.chunks(conn, row["sha256"])

    def signatures(self, actor: Actor, document_id: str) -> list[SignatureView]:
        """Each digital signature of a PDF document (none for other kinds): signer, time, intact, unchanged since,
        trusted."""
        with self.db.transaction(write=False) as conn:
            row = visible_document(conn, actor, document_id)
            if row["content_type"] != "application/pdf":
                return []
            pdf = b"".join(self.content.chunks(conn, row["sha256"]))
        return read_signatures(pdf, trust_roots=self.trust_roots)
