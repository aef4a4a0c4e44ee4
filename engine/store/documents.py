"""Documents attached to cases and tasks (``document`` rows) and the two content stores of their bytes, behind one
interface (``ContentStore``), both addressed by SHA-256 (the same file attached twice is kept once):

- ``FolderStore``: files under a folder (``<root>/ab/cd/<sha256>``), the embedded default (SQLite);
- ``DatabaseStore``: the ``document_content`` table, in the command's own transaction, so several servers on one
  PostgreSQL share the files without a shared disk.

Nothing here ever deletes bytes: deleting a document marks its row. Never commits: the caller owns the transaction."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Connection, insert, select, update

from phoihop.engine.store.tables import Row, all_rows, document_content_table, document_table, insert_ignore, is_id, one

T = document_table
C = document_content_table
CHUNK = 1 << 16


class ContentStore(Protocol):
    """Where document bytes live. ``put`` reads ``content`` from its start to its end and keeps it under ``sha256``
    (the caller computed it; a store may check it); ``chunks`` gives the bytes back."""

    kind: str

    def put(self, conn: Connection, sha256: str, size: int, content: IO[bytes]) -> None: ...

    def chunks(self, conn: Connection, sha256: str) -> Iterator[bytes]: ...


class FolderStore:
    """Files under ``root``: written to a temporary file in the same folder and renamed into place, so a reader never
    sees half a file; a file already there (the same content) is kept as it is."""

    kind = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, conn: Connection, sha256: str, size: int, content: IO[bytes]) -> None:
        target = self.path(sha256)
        if target.is_file() and target.stat().st_size == size:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        content.seek(0)
        digest = hashlib.sha256()
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := content.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != sha256:
                raise ValueError("the content changed while it was stored")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def chunks(self, conn: Connection, sha256: str) -> Iterator[bytes]:
        path = self.path(sha256)
        if not path.is_file():  # now: a missing file fails here, not halfway through a response
            raise FileNotFoundError(f"document content {sha256} is missing from {self.root}")

        def read() -> Iterator[bytes]:
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk

        return read()


class DatabaseStore:
    """Bytes in ``document_content``, written in the caller's transaction (a failed command leaves none)."""

    kind = "database"

    def put(self, conn: Connection, sha256: str, size: int, content: IO[bytes]) -> None:
        content.seek(0)
        statement = insert_ignore(conn, C).values(sha256=sha256, size=size, content=content.read())
        conn.execute(statement.on_conflict_do_nothing(index_elements=["sha256"]))

    def chunks(self, conn: Connection, sha256: str) -> Iterator[bytes]:
        """Read now, in the caller's transaction (the connection is gone when the response is sent)."""
        data = bytes(conn.execute(select(C.c.content).where(C.c.sha256 == sha256)).scalar_one())
        return iter([data[start : start + CHUNK] for start in range(0, len(data), CHUNK)])


def insert_document(conn: Connection, **values: Any) -> None:
    conn.execute(insert(T).values(**values))


def get_document(conn: Connection, document_id: str) -> Row | None:
    if not is_id(document_id):
        return None
    return one(conn.execute(select(T).where(T.c.id == document_id)))


def instance_documents(conn: Connection, instance_id: str) -> list[Row]:
    """The case's documents, newest first (deleted ones included: they are part of its history)."""
    return all_rows(
        conn.execute(select(T).where(T.c.instance_id == instance_id).order_by(T.c.added_at.desc(), T.c.id.desc()))
    )


def mark_deleted(conn: Connection, document_id: str, *, at: datetime, by: str, by_name: str, reason: str) -> bool:
    result = conn.execute(
        update(T)
        .where(T.c.id == document_id, T.c.deleted_at.is_(None))
        .values(deleted_at=at, deleted_by=by, deleted_by_name=by_name, delete_reason=reason)
    )
    return bool(result.rowcount == 1)
