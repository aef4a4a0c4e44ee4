"""The one-stop slips of a case (engine.definitions.slips): their fields read from the case's variables, its human
tasks and its history, then the DOCX from the process's template (``<processes>/<process key>/slips/<kind>.docx``)
or the same fields for the print view of the web app. Who may read a case's slips: who may see the case.

A slip applies only when the case reached what it records: ``receipt`` once the dossier is accepted, ``supplement``
once a supplement was requested, ``refusal`` once the dossier was refused, ``apology`` once an apology was issued,
``control`` for any dossier; otherwise ``SlipNotApplicable`` (409). A case without a dossier code has no slips."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from phoihop.engine.agencies import AgencyRegistry
from phoihop.engine.clock import Clock
from phoihop.engine.definitions.slips import SLIP_KINDS, render_docx, vn_date_line, vn_moment
from phoihop.engine.errors import SlipNotApplicable, SlipNotFound
from phoihop.engine.model import KY_THAY, THUA_UY_QUYEN, Actor
from phoihop.engine.reads.instances import InstanceReads
from phoihop.engine.store import people
from phoihop.engine.store import repository as repo
from phoihop.engine.store.database import Database

__all__ = ["Slip", "SlipDocument", "SlipReads", "SlipStep"]

PARENT_AGENCY = "UBND THÀNH PHỐ HÀ NỘI"
ONE_STOP = "ttpvhcc"
NUMBER_SUFFIX = {"receipt": "TNHS", "supplement": "BSHS", "refusal": "TCHS", "apology": "XLHS", "control": "KSQT"}
SIGNING_PREFIX = {KY_THAY: "KT. ", THUA_UY_QUYEN: "TUQ. "}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True, slots=True)
class SlipStep:
    name: str
    agency: str
    received: str
    done: str
    by: str
    result: str  # Trước hạn, Đúng hạn, Quá hạn, Đang xử lý, Đã hủy


@dataclass(frozen=True, slots=True)
class Slip:
    """One slip's fields (``fields``: what the template reads; ``steps`` also inside it for ``control``)."""

    instance_id: str
    kind: str
    title: str
    form: str
    fields: dict[str, Any]
    steps: tuple[SlipStep, ...]


@dataclass(frozen=True, slots=True)
class SlipDocument:
    filename: str
    content: bytes
    content_type: str = DOCX_TYPE


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    moment = _moment(value)
    return vn_moment(moment) if moment is not None else ""


def _result(task: dict[str, Any]) -> str:
    if task["status"] == "cancelled":
        return "Đã hủy"
    if task["status"] != "completed":
        return "Đang xử lý"
    due, done = task["due_at"], task["completed_at"]
    if due is None or done is None:
        return "Đúng hạn"
    if done > due:
        return "Quá hạn"
    return "Trước hạn" if due.date() > done.date() else "Đúng hạn"


class SlipReads:
    def __init__(
        self, db: Database, clock: Clock, agencies: AgencyRegistry, instances: InstanceReads, folders: tuple[Path, ...]
    ) -> None:
        self.db = db
        self.clock = clock
        self.agencies = agencies
        self.instances = instances
        self.folders = folders  # processes folders, searched in order for <process key>/slips/<kind>.docx

    def slip(self, actor: Actor, instance_id: str, kind: str) -> Slip:
        found = SLIP_KINDS.get(kind)
        if found is None:
            raise SlipNotFound(
                f"no slip is called {kind!r} (kinds: {', '.join(SLIP_KINDS)})",
                detail_vi=f"Không có loại phiếu {kind!r}",
                kind=kind,
            )
        instance = self.instances.get_instance(actor, instance_id)  # existence and access
        variables = dict(instance.variables)
        code = instance.dossier.code if instance.dossier is not None else None
        if not code:
            raise SlipNotApplicable(
                f"instance {instance_id} is no dossier: it has no slips",
                detail_vi="Hồ sơ này không có mã hồ sơ một cửa nên không có phiếu",
                kind=kind,
                instance_id=instance_id,
            )
        self._require_applicable(kind, variables, instance_id)
        with self.db.transaction(write=False) as conn:
            tasks = repo.tasks_of_instance(conn, instance_id, open_only=False)
            events = repo.history(conn, instance_id)
            names = {
                p["id"]: p["name"] for p in people.people(conn, {t["completed_by"] for t in tasks if t["completed_by"]})
            }
        fields = self._fields(kind, variables, code, tasks, events, names)
        if kind == "receipt":  # the applicant looks the dossier up with it, without signing in (/tra-cuu)
            fields["lookup_secret"] = (instance.dossier.lookup_secret if instance.dossier is not None else None) or ""
        steps = tuple(self._steps(tasks, names))
        if kind == "control":
            fields["steps"] = [
                {
                    "name": s.name,
                    "agency": s.agency,
                    "received": s.received,
                    "done": s.done,
                    "by": s.by,
                    "result": s.result,
                }
                for s in steps
            ]
        fields["slip_title"] = found.title_vi
        return Slip(instance_id, kind, found.title_vi, found.form_vi, fields, steps)

    def applicable(self, actor: Actor, instance_id: str) -> list[str]:
        """The kinds of slip the case has now (none for a case without a dossier code)."""
        instance = self.instances.get_instance(actor, instance_id)  # existence and access
        if instance.dossier is None or not instance.dossier.code:
            return []
        kinds = []
        for kind in SLIP_KINDS:
            try:
                self._require_applicable(kind, dict(instance.variables), instance_id)
            except SlipNotApplicable:
                continue
            kinds.append(kind)
        return kinds

    def docx(self, actor: Actor, instance_id: str, kind: str) -> SlipDocument:
        slip = self.slip(actor, instance_id, kind)
        instance = self.instances.get_instance(actor, instance_id)
        template = self._template(instance.process_key, kind)
        content = render_docx(template.read_bytes(), slip.fields)
        safe_code = "".join(c if c.isalnum() or c in ".-" else "_" for c in str(slip.fields["dossier_code"]))
        return SlipDocument(f"{kind}-{safe_code}.docx", content)

    # --- what the slip says ------------------------------------------------------------------------------------------
    def _template(self, process_key: str, kind: str) -> Path:
        for folder in self.folders:
            path = folder / process_key / "slips" / f"{kind}.docx"
            if path.is_file():
                return path
        raise SlipNotFound(
            f"process {process_key} has no template for the {kind} slip (slips/{kind}.docx)",
            detail_vi=f"Quy trình {process_key} chưa có mẫu phiếu slips/{kind}.docx",
            kind=kind,
            process_key=process_key,
        )

    @staticmethod
    def _require_applicable(kind: str, variables: dict[str, Any], instance_id: str) -> None:
        reasons = {
            "receipt": (variables.get("accepted_at"), "the dossier has not been accepted", "hồ sơ chưa được tiếp nhận"),
            "supplement": (
                variables.get("supplement_requested"),
                "no supplement was requested",
                "hồ sơ không có yêu cầu bổ sung",
            ),
            "refusal": (variables.get("refused_at"), "the dossier was not refused", "hồ sơ không bị từ chối tiếp nhận"),
            "apology": (variables.get("apology_issued"), "no apology was issued", "hồ sơ chưa phát hành phiếu xin lỗi"),
        }
        if kind in reasons and not reasons[kind][0]:
            _, en, vi = reasons[kind]
            raise SlipNotApplicable(
                f"the {kind} slip does not apply: {en}",
                detail_vi=f"Không lập được phiếu này: {vi}",
                kind=kind,
                instance_id=instance_id,
            )

    def _agency(self, code: str | None) -> str:
        known = self.agencies.get(code) if code else None
        return known.name_vi if known is not None else (code or "")

    def _signer(
        self,
        element_ids: tuple[str, ...],
        tasks: list[dict[str, Any]],
        events: list[dict[str, Any]],
        names: dict[str, str],
        title: str,
    ) -> tuple[str, str]:
        """The title and name of who did the last of ``element_ids``; KT./TUQ. before the title when they did it
        through a delegation."""
        done = [t for t in tasks if t["element_id"] in element_ids and t["status"] == "completed"]
        if not done:
            return title, ""
        task = done[-1]
        prefix = ""
        for event in events:
            if event["task_id"] == task["id"] and event["kind"] == "task_completed":
                prefix = SIGNING_PREFIX.get((event["data"] or {}).get("signing", ""), "")
        who = task["completed_by"] or ""
        return prefix + title, names.get(who, who)

    def _fields(
        self,
        kind: str,
        v: dict[str, Any],
        code: str,
        tasks: list[dict[str, Any]],
        events: list[dict[str, Any]],
        names: dict[str, str],
    ) -> dict[str, Any]:
        applicant: dict[str, Any] = v["applicant"] if isinstance(v.get("applicant"), dict) else {}
        documents = [d.get("name", "") for d in v.get("documents") or [] if isinstance(d, dict)]
        moments = {
            "receipt": v.get("accepted_at"),
            "supplement": v.get("supplement_requested_at"),
            "refusal": v.get("refused_at"),
            "apology": v.get("apology_issued_at"),
        }
        dated = _moment(moments.get(kind)) or self.clock.now()
        issuing = self._agency(v.get("processing_agency")) if kind == "apology" else self._agency(ONE_STOP)
        checks = ("check_completeness", "recheck_completeness")
        signer_title, signer_name = (
            self._signer(("issue_apology",), tasks, events, names, "LÃNH ĐẠO CƠ QUAN GIẢI QUYẾT")
            if kind == "apology"
            else self._signer(checks, tasks, events, names, "NGƯỜI TIẾP NHẬN HỒ SƠ")
        )
        number = code.rsplit("-", 1)[-1]
        fields: dict[str, Any] = {
            "parent_agency": PARENT_AGENCY,
            "agency_name": issuing.upper(),
            "slip_number": f"{number}/{NUMBER_SUFFIX[kind]}",
            "place": "Hà Nội",
            "date_line": vn_date_line(dated),
            "dossier_code": code,
            "applicant_name": applicant.get("name", ""),
            "applicant_id_number": applicant.get("id_number", ""),
            "applicant_email": applicant.get("email", ""),
            "applicant_phone": applicant.get("phone", ""),
            "procedure_code": v.get("procedure_code", ""),
            "procedure_name": v.get("procedure_name", ""),
            "documents": documents,
            "received_at": _text(v.get("received_at")),
            "signer_title": signer_title,
            "signer_name": signer_name,
        }
        if kind == "receipt":
            fields |= {
                "accepted_at": _text(v.get("accepted_at")),
                "appointment_at": _text(v.get("appointment_at")),
                "deadline_days": v.get("deadline_days", ""),
                "return_place": "Trung tâm Phục vụ hành chính công Thành phố hoặc trực tuyến qua Cổng dịch vụ công",
            }
        elif kind == "supplement":
            fields |= {
                "missing_documents": [str(m) for m in v.get("missing_documents") or []],
                "supplement_note": v.get("note", "") or "Hồ sơ chưa đủ thành phần theo quy định.",
                "supplement_due_at": _text(v.get("supplement_due_at")),
                "requested_at": _text(v.get("supplement_requested_at")),
            }
        elif kind == "refusal":
            fields |= {"refusal_reason": v.get("refusal_reason", ""), "refused_at": _text(v.get("refused_at"))}
        elif kind == "apology":
            record: dict[str, Any] = v["deadline_record"] if isinstance(v.get("deadline_record"), dict) else {}
            fields |= {
                "apology_reason": v.get("apology_reason", record.get("apology_reason", "")),
                "previous_appointment_at": _text(
                    v.get("previous_appointment_at", record.get("previous_appointment_at"))
                ),
                "appointment_at": _text(v.get("appointment_at")),
                "extension_days": v.get("extension_days", record.get("extension_days", "")),
                "issued_at": _text(v.get("apology_issued_at")),
            }
            if v.get("apology_letter_number"):
                fields["slip_number"] = str(v["apology_letter_number"])
        else:
            fields |= {
                "accepted_at": _text(v.get("accepted_at")),
                "appointment_at": _text(v.get("appointment_at")),
                "returned_at": _text(v.get("returned_at")) or "chưa trả kết quả",
            }
        return fields

    def _steps(self, tasks: list[dict[str, Any]], names: dict[str, str]) -> list[SlipStep]:
        return [
            SlipStep(
                name=t["name"] or t["element_id"],
                agency=", ".join(self._agency(g) for g in t["candidate_groups"] or []) or (t["lane"] or ""),
                received=vn_moment(t["created_at"]),
                done=vn_moment(t["completed_at"]) if t["status"] == "completed" and t["completed_at"] else "",
                by=names.get(t["completed_by"] or "", t["completed_by"] or "") if t["status"] == "completed" else "",
                result=_result(t),
            )
            for t in tasks
        ]
