"""The one-stop slips of a green-lane dossier (processes/green_lane/slips/*.docx) through
GET /api/v1/process-instances/{id}/slips/{kind} on SQLite and PostgreSQL, read back with python-docx: the national
motto, the agency header, the dossier code and dates as state documents write them; a slip that does not apply is a
409, an unknown kind a 404, another agency's officer a 403. A template field no slip has is a lint finding."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from docx.document import Document
from fastapi.testclient import TestClient

from phoihop.engine.agencies import default_registry
from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.engine.definitions.catalog import compile_deployment
from phoihop.engine.definitions.lint.deployment import lint_path
from phoihop.engine.definitions.slips import lint_slip_folder, vn_date_line
from phoihop.engine.execution.sandbox_policy import check_source
from tests.api.calls import DEFINITIONS, INSTANCES, MOT_CUA, OWNER, TASKS, assert_problem
from tests.conftest import auth
from tests.processes.test_green_lane import PROCESS_DIR, RECEIVED, GreenLane, near_miss

# an agency that takes no part in a green-lane dossier (Sở Tư pháp does: every accepted dossier consults it)
STC = auth("stc.ha", groups="stc", roles="officer")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def lane(client: TestClient, app_container: EngineContainer, clock: FakeClock) -> GreenLane:
    """The green-lane process deployed (its top-level files, as processes/ deploys it), the clock at RECEIVED."""
    clock.set(RECEIVED)
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in sorted(PROCESS_DIR.iterdir())
        if p.is_file()
    ]
    assert client.post(DEFINITIONS, files=files, headers=OWNER).status_code == 201
    return GreenLane(client, app_container, clock)


def slip(lane: GreenLane, instance_id: str, kind: str, headers: dict[str, str] = MOT_CUA) -> Document:
    response = lane.client.get(f"{INSTANCES}/{instance_id}/slips/{kind}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    assert response.headers["content-disposition"].startswith("attachment; filename*=UTF-8''" + kind)
    return docx.Document(io.BytesIO(response.content))


def texts(document: Document) -> list[str]:
    """Every paragraph's text, table cells included, in order."""
    found = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            found += [p.text for cell in row.cells for p in cell.paragraphs]
    return [t for t in found if t.strip()]


def test_receipt_and_control_slips_of_an_accepted_dossier(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    code = lane.view(instance_id)["dossier"]["code"]
    assert_problem(lane.client.get(f"{INSTANCES}/{instance_id}/slips/receipt", headers=MOT_CUA), 409)
    lane.accept(instance_id)

    receipt = slip(lane, instance_id, "receipt")
    lines = texts(receipt)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in lines and "Độc lập - Tự do - Hạnh phúc" in lines
    assert "UBND THÀNH PHỐ HÀ NỘI" in lines and "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG THÀNH PHỐ HÀ NỘI" in lines
    assert "Hà Nội, ngày 12 tháng 02 năm 2026" in lines  # the day of receipt; months 1 and 2 with a leading 0
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in lines and f"Mã hồ sơ: {code}" in lines
    assert "Số: 0001/TNHS" in lines
    assert "5. Thời gian trả kết quả giải quyết hồ sơ: 17 giờ 00 phút, ngày 24 tháng 02 năm 2026." in lines
    assert "3. Thời gian giải quyết hồ sơ theo quy định: 3 ngày làm việc." in lines
    secret = lane.view(instance_id)["dossier"]["lookup_secret"]  # the public lookup's secret (tra cứu hồ sơ)
    assert len(secret) == 10 and any(line.startswith(f"7. Mã tra cứu hồ sơ: {secret} ") for line in lines)
    assert "- Đơn đề nghị" in lines and "- Giấy chứng nhận đăng ký doanh nghiệp" in lines
    assert (
        "Trung tâm Phục vụ hành chính công Thành phố tiếp nhận hồ sơ của: Công ty Cổ phần Công nghệ Sông Hồng" in lines
    )
    assert receipt.styles["Normal"].font.name == "Times New Roman"
    assert not any("{{" in line or "{%" in line for line in lines)  # every field filled

    control = texts(slip(lane, instance_id, "control"))
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in control
    row = control.index("Kiểm tra tính đầy đủ của hồ sơ — Trung tâm Phục vụ hành chính công thành phố Hà Nội")
    assert control[row + 1] == "09 giờ 00 phút, ngày 12 tháng 02 năm 2026"  # received
    assert control[row + 2] == "09 giờ 00 phút, ngày 12 tháng 02 năm 2026"  # done (the clock stood still)
    assert control[row + 4] == "Trước hạn"  # due 13/2 17:00
    assert "Thẩm định hồ sơ — Sở Khoa học và Công nghệ" in control and "Đang xử lý" in control

    for kind in ("refusal", "supplement", "apology"):  # none of them happened
        assert_problem(
            lane.client.get(f"{INSTANCES}/{instance_id}/slips/{kind}", headers=MOT_CUA), 409, "slip-not-applicable"
        )
    assert_problem(lane.client.get(f"{INSTANCES}/{instance_id}/slips/invoice", headers=MOT_CUA), 404, "slip-not-found")
    assert_problem(lane.client.get(f"{INSTANCES}/{instance_id}/slips/receipt", headers=STC), 403, "forbidden")


def test_refusal_and_supplement_slips(lane: GreenLane) -> None:
    instance_id = lane.submit("KHCN-01")
    lane.complete(instance_id, "check_completeness", MOT_CUA, outcome="refuse", refusal_reason="Đơn không có chữ ký")
    lines = texts(slip(lane, instance_id, "refusal"))
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in lines and "Đơn không có chữ ký" in lines
    assert vn_date_line(RECEIVED) in lines and "NGƯỜI TIẾP NHẬN HỒ SƠ" in lines
    assert_problem(lane.client.get(f"{INSTANCES}/{instance_id}/slips/receipt", headers=MOT_CUA), 409)

    incomplete = lane.submit("KHCN-01")
    lane.complete(
        incomplete, "check_completeness", MOT_CUA, outcome="supplement", missing_documents=["Báo cáo tài chính 2025"]
    )
    supplement = texts(slip(lane, incomplete, "supplement"))
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in supplement and "- Báo cáo tài chính 2025" in supplement
    # ten working days from 12/2/2026, Tết 16–20/2 skipped
    assert "Thời hạn bổ sung, hoàn thiện hồ sơ: trước 17 giờ 00 phút, ngày 05 tháng 3 năm 2026." in supplement


def test_apology_slip_signed_ky_thay_by_an_officer_the_lead_delegated(lane: GreenLane) -> None:
    instance_id = near_miss(lane)  # KHCN-03 is Ban HTKC's: its lead issues the apology
    lead = auth("hung", groups="htkc", roles="lead", name="Lê Văn Hùng")
    officer = auth("giang", groups="htkc", name="Vũ Thu Giang")
    assert lane.client.get(TASKS, headers=officer).status_code == 200  # in the directory of people
    now = lane.clock.now()
    body = {"to_user_id": "giang", "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
    assert lane.client.post("/api/v1/delegations", json={**body, "reason": "Họp"}, headers=lead).status_code == 201
    lane.complete(
        instance_id,
        "issue_apology",  # a lead's task: the officer signs it for the lead
        officer,
        apology_reason="Cần xác minh thêm thông tin dự án",
        extension_days=3,
        apology_letter_number="12/PXL-BQL",
    )
    lines = texts(slip(lane, instance_id, "apology"))
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in lines and "Số: 12/PXL-BQL" in lines
    assert "BAN QUẢN LÝ CÁC KHU CÔNG NGHỆ CAO VÀ KHU CÔNG NGHIỆP HÀ NỘI" in lines
    assert "Hà Nội, ngày 02 tháng 3 năm 2026" in lines  # the 90% mark (Sunday 1/3) moved to Monday's opening
    assert "KT. LÃNH ĐẠO CƠ QUAN GIẢI QUYẾT" in lines and "Vũ Thu Giang" in lines
    [promise] = [line for line in lines if "hẹn lại" in line]
    assert promise.endswith("(3 ngày làm việc) vào: 17 giờ 00 phút, ngày 06 tháng 3 năm 2026.")
    assert any("thời gian hẹn trả kết quả: 17 giờ 00 phút, ngày 03 tháng 3 năm 2026." in line for line in lines)


def test_an_unknown_template_field_is_a_lint_finding(tmp_path: Path) -> None:
    folder = tmp_path / "green_lane"
    shutil.copytree(PROCESS_DIR, folder)
    assert lint_slip_folder(folder / "slips") == []  # the shipped templates use known fields only
    template = docx.Document(str(folder / "slips" / "receipt.docx"))
    template.add_paragraph("Người nộp: {{ applicant_nam }}")
    template.save(str(folder / "slips" / "receipt.docx"))
    (folder / "slips" / "invoice.docx").write_bytes((folder / "slips" / "refusal.docx").read_bytes())

    agencies = default_registry()
    [(_, findings)] = lint_path(
        folder, compile_files=lambda f: compile_deployment(f, agencies=agencies, check=check_source)
    )
    slips = [(f["code"], f["file"], f["element_id"], f["severity"]) for f in findings if f["code"].startswith("slip")]
    assert slips == [
        ("slip-unknown-kind", "slips/invoice.docx", None, "error"),
        ("slip-unknown-field", "slips/receipt.docx", "applicant_nam", "error"),
    ]
