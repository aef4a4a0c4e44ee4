"""The public lookup does the same work for a wrong dossier code and a wrong secret (issue 14, item 4), so its answer
time tells nothing: the same SQL statement with the same parameter names, and one constant-time comparison of inputs
of the same lengths (against a stand-in secret when no dossier has the code). Counted, not timed: every statement the
store runs (``rawsql.run``, the one door of the store's hand-written SQL) and every comparison the lookup makes (the
real ``compare_digest``), each wrapped to note what it was given and then run for real. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from hmac import compare_digest
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from phoihop.engine.container import EngineContainer
from phoihop.engine.dossier import LOOKUP_SECRET_ALPHABET
from phoihop.engine.errors import DossierLookupFailed
from phoihop.engine.model import SourceFile
from phoihop.engine.reads import public_dossiers
from phoihop.engine.reads.public_dossiers import PublicDossierReads
from phoihop.engine.store import rawsql
from tests.conftest import INTEGRATOR, OWNER

REAL_RUN = rawsql.run
FIXTURE = Path(__file__).parent.parent / "fixtures" / "public" / "dossier_lookup.bpmn"


@dataclass
class Work:
    statements: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    comparisons: list[tuple[int, int]] = field(default_factory=list)


@contextmanager
def recorded(container: EngineContainer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Work]:
    work = Work()

    def running(conn: Any, sql: str, params: Any = None) -> Any:
        names = tuple(sorted(params)) if isinstance(params, dict) else ()
        work.statements.append((" ".join(sql.split()), names))
        return REAL_RUN(conn, sql, params)

    def comparing(a: bytes, b: bytes) -> bool:
        work.comparisons.append((len(a), len(b)))
        return compare_digest(a, b)

    monkeypatch.setattr(public_dossiers, "compare_digest", comparing)
    monkeypatch.setattr(rawsql, "run", running)
    yield work


def test_a_wrong_code_and_a_wrong_secret_do_the_same_work(
    container: EngineContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    container.deployments.deploy(OWNER, [SourceFile(FIXTURE.name, FIXTURE.read_bytes())])
    instance_id, _ = container.instances.start(INTEGRATOR, "dossier_lookup", variables={"appointment": "x"})
    with container.db.transaction(write=False) as conn:
        code, secret = conn.execute(
            text("SELECT dossier_code, lookup_secret FROM process_instance WHERE id = :id"), {"id": instance_id}
        ).one()
    wrong_secret = "".join(LOOKUP_SECRET_ALPHABET[(LOOKUP_SECRET_ALPHABET.index(c) + 1) % 31] for c in secret)
    wrong_code = code[:-4] + "9999"
    reads = PublicDossierReads(container.db)

    works = []
    for asked_code, asked_secret in ((code, wrong_secret), (wrong_code, secret), (wrong_code, wrong_secret)):
        with recorded(container, monkeypatch) as work, pytest.raises(DossierLookupFailed):
            reads.lookup(asked_code, asked_secret)
        works.append(work)
    wrong_secret_work, wrong_code_work, both_wrong_work = works
    assert wrong_secret_work.statements == wrong_code_work.statements == both_wrong_work.statements
    assert wrong_secret_work.statements == [
        ("SELECT id, lookup_secret FROM process_instance WHERE dossier_code = :code", ("code",))
    ]
    assert wrong_secret_work.comparisons == wrong_code_work.comparisons == [(len(secret), len(secret))]

    with recorded(container, monkeypatch) as right:  # the right pair reads the dossier only after the comparison
        assert reads.lookup(code, secret).code == code
    assert right.statements[: len(wrong_code_work.statements)] == wrong_code_work.statements
    assert right.comparisons == [(len(secret), len(secret))]
