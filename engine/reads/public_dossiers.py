"""The public lookup of a dossier (tra cứu hồ sơ): what an applicant may see with the code and the secret printed
on the receipt, without signing in.

What it shows: the portal status in plain Vietnamese, the receipt and appointment dates, the apology letter (new
date, reason) and the steps done with the agency that did each. What it never shows: officers (names, ids), the
applicant's own data, the variables, the tasks still open inside an agency.

A wrong code and a wrong secret are one answer (DossierLookupFailed) after the same work: one read of the id and
secret by code (the same statement either way), then one constant-time comparison (``compare_digest``) of inputs of
the same length, against a stand-in secret when no row matched; the dossier itself is read only after a match
(tests/engine/test_public_lookup_work.py counts the statements and comparisons of both paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from hmac import compare_digest
from typing import Any

from phoihop.engine.agencies import AgencyRegistry, default_registry
from phoihop.engine.dossier import (
    DOSSIER_STATUSES,
    LOOKUP_SECRET_ALPHABET,
    LOOKUP_SECRET_LENGTH,
    STATUS_VARIABLE,
    normalize_lookup_secret,
    status_code,
)
from phoihop.engine.errors import DossierLookupFailed
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database
from phoihop.engine.time.deadlines import APPOINTMENT_VARIABLE, parse_appointment

__all__ = ["PublicApology", "PublicDossier", "PublicDossierReads", "PublicStep"]

# compared against when no row matched: same length and alphabet as a real secret, never issued (it repeats one symbol)
_STAND_IN_SECRET = LOOKUP_SECRET_ALPHABET[0] * LOOKUP_SECRET_LENGTH
_MAX_TYPED = 100  # longer input is cut before the comparison (the answer is the same 404 either way)

# what the instance's own state says when the process sets no portal status
_STATE_VI = {
    "running": "Đang xử lý",
    "incident": "Đang xử lý",
    "error": "Đang xử lý",
    "completed": "Đã giải quyết xong",
    "cancelled": "Dừng xử lý",
}
_STATE_EN = {
    "running": "In processing",
    "incident": "In processing",
    "error": "In processing",
    "completed": "Processed",
    "cancelled": "Stopped",
}


@dataclass(frozen=True, slots=True)
class PublicApology:
    """A letter of apology (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""

    previous_appointment_at: datetime | None
    new_appointment_at: datetime | None
    reason: str | None
    issued_at: datetime | None


@dataclass(frozen=True, slots=True)
class PublicStep:
    """A step done: its name, when, and the agency that did it (no officer)."""

    name: str
    completed_at: datetime | None
    agency_name_vi: str | None
    agency_name_en: str | None


@dataclass(frozen=True, slots=True)
class PublicDossier:
    code: str
    status: int | None
    status_name_vi: str
    status_name_en: str
    finished: bool
    received_at: datetime
    appointment_at: datetime | None
    finished_at: datetime | None
    apologies: tuple[PublicApology, ...]
    steps: tuple[PublicStep, ...]


def secrets_match(typed: str, stored: str | None) -> bool:
    """Constant-time comparison of what was typed with the stored secret (or the stand-in when none is stored)."""
    candidate = normalize_lookup_secret(typed[:_MAX_TYPED]).encode()
    return compare_digest(candidate, (stored or _STAND_IN_SECRET).encode()) and stored is not None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _apologies(variables: dict[str, Any]) -> tuple[PublicApology, ...]:
    """The apology letter the process recorded (green_lane.bpmn's reschedule step: one at most), from the instance's
    variables or its shared ``deadline_record``."""
    record = variables.get("deadline_record")
    sources = [variables, record if isinstance(record, dict) else {}]

    def first(name: str) -> Any:
        return next((s[name] for s in sources if s.get(name) not in (None, "")), None)

    if first("apology_issued") is not True:
        return ()
    return (
        PublicApology(
            previous_appointment_at=parse_appointment(first("previous_appointment_at")),
            new_appointment_at=parse_appointment(first(APPOINTMENT_VARIABLE)),
            reason=_text(first("apology_reason")),
            issued_at=parse_appointment(first("apology_issued_at")),
        ),
    )


class PublicDossierReads:
    """One read-only transaction per lookup."""

    def __init__(self, db: Database, agencies: AgencyRegistry | None = None) -> None:
        self.db = db
        self.agencies = agencies or default_registry()

    def lookup(self, code: str, secret: str) -> PublicDossier:
        """The public view of dossier ``code`` when ``secret`` is its receipt secret; DossierLookupFailed otherwise."""
        with self.db.transaction(write=False) as conn:
            key = repo.dossier_lookup_secret(conn, code[:_MAX_TYPED])
            row = None
            if secrets_match(secret, key[1] if key is not None else None):
                row = repo.instance_by_dossier_code(conn, code[:_MAX_TYPED])
            if row is None:
                raise DossierLookupFailed(
                    "no dossier with this code and secret",
                    detail_vi="Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này. "
                    "Vui lòng kiểm tra lại hai mã in trên phiếu tiếp nhận.",
                )
            tasks = repo.tasks_of_instance(conn, row["id"], open_only=False)
        return self._view(row, tasks)

    def _view(self, row: repo.Row, tasks: list[repo.Row]) -> PublicDossier:
        variables: dict[str, Any] = row["variables"] or {}
        number = status_code(variables.get(STATUS_VARIABLE))
        known = DOSSIER_STATUSES.get(number) if number is not None else None
        state = row["status"]
        steps = []
        for task in sorted(
            (t for t in tasks if t["status"] == "completed"), key=lambda t: t["completed_at"] or row["started_at"]
        ):
            agency = next(
                (a for a in map(self.agencies.resolve, [*(task["candidate_groups"] or []), task["lane"]]) if a), None
            )
            steps.append(
                PublicStep(
                    name=task["name"] or "",
                    completed_at=task["completed_at"],
                    agency_name_vi=agency.name_vi if agency else None,
                    agency_name_en=agency.name_en if agency else None,
                )
            )
        return PublicDossier(
            code=row["dossier_code"],
            status=number,
            status_name_vi=known.name_vi if known else _STATE_VI.get(state, "Đang xử lý"),
            status_name_en=known.name_en if known else _STATE_EN.get(state, "In processing"),
            finished=state in ("completed", "cancelled"),
            received_at=row["started_at"],
            appointment_at=parse_appointment(variables.get(APPOINTMENT_VARIABLE)),
            finished_at=row["ended_at"],
            apologies=_apologies(variables),
            steps=tuple(s for s in steps if s.name),
        )
