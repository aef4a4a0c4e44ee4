"""A task form's file field (``{"type": "string", "format": "document"}``) on the task page, from the in-process app
on SQLite and PostgreSQL: rendered as a file input in a multipart form; the file sent with the form is attached to
the case (listed with the task, in the history) and its document id becomes the variable; a refused file is shown at
its field and completes nothing; the documents section lists the case's files to another officer of the agency and
refuses another agency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from tests import document_files as files
from tests.conftest import auth
from tests.web.pages import dev_app, signed_in

FORMS = Path(__file__).parents[1] / "fixtures" / "forms"
ADMIN = auth("root", roles="admin")
TASK_FORM = {
    "type": "object",
    "title": "Kết quả thẩm định",
    "properties": {
        "y_kien": {"type": "string", "title": "Ý kiến thẩm định", "minLength": 1},
        "to_trinh": {"type": "string", "format": "document", "title": "Tờ trình đã ký"},
    },
    "required": ["y_kien", "to_trinh"],
}


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock) as started:
        deployed = started.post(
            "/api/v1/process-definitions",
            files=[
                ("files", ("kien_nghi.bpmn", (FORMS / "kien_nghi.bpmn").read_bytes(), "application/xml")),
                ("files", ("kien_nghi.form.json", (FORMS / "kien_nghi.form.json").read_bytes(), "application/json")),
                ("files", ("tham_dinh.form.json", json.dumps(TASK_FORM).encode(), "application/json")),
            ],
            headers=auth("owner", roles="process-owner"),
        )
        assert deployed.status_code == 201, deployed.text
        yield started


def start(app: TestClient) -> dict[str, Any]:
    response = app.post(
        "/api/v1/process-instances",
        json={
            "process_key": "kien_nghi",
            "variables": {
                "ten_doanh_nghiep": "Công ty Sông Hồng",
                "ma_so_thue": "0109876543",
                "linh_vuc": "khoa_hoc_cong_nghe",
                "noi_dung": "Kiến nghị về thủ tục chứng nhận",
            },
        },
        headers=auth("portal", roles="integrator"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_file_field_attaches_the_document_and_keeps_its_id(app: TestClient) -> None:
    instance = start(app)
    [task] = instance["open_tasks"]
    officer, csrf = signed_in(app, "skhcn.an")
    page = officer.get(f"/cong-viec/{task['id']}").text
    assert 'enctype="multipart/form-data"' in page
    assert 'name="to_trinh" type="file"' in page
    assert "{% include" not in page and 'id="tai-lieu"' in page  # the documents section, loaded by htmx

    refused = officer.post(
        f"/cong-viec/{task['id']}/hoan-thanh",
        data={"csrf_token": csrf, "y_kien": "Đồng ý"},
        files={"to_trinh": ("to-trinh.pdf", files.HTML, "application/pdf")},
    )
    assert refused.status_code == 422
    assert "Loại tệp này không được chấp nhận" in refused.text

    signed = officer.post(
        f"/cong-viec/{task['id']}/hoan-thanh",
        data={"csrf_token": csrf, "y_kien": "Đồng ý"},
        files={"to_trinh": ("Tờ trình.pdf", files.pdf(), "application/pdf")},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    [document] = app.get(f"/api/v1/process-instances/{instance['id']}/documents", headers=ADMIN).json()
    assert document["task_id"] == task["id"] and document["name"] == "Tờ trình.pdf"
    variables = app.get(f"/api/v1/process-instances/{instance['id']}", headers=ADMIN).json()["variables"]
    assert variables["to_trinh"] == document["id"]

    colleague, _ = signed_in(app, "skhcn.cuong")
    section = colleague.get(f"/ho-so/{instance['id']}/tai-lieu", headers={"HX-Request": "true"})
    assert section.status_code == 200
    assert (
        "Tờ trình.pdf" in section.text
        and "Nguyễn Văn An" in section.text
        and "Sở Khoa học và Công nghệ" in section.text
    )
    download = colleague.get(f"/tai-lieu/{document['id']}/tai-ve")
    assert download.content == files.pdf() and download.headers["content-disposition"].startswith("attachment;")
    other, _ = signed_in(app, "stp.dung")
    assert other.get(f"/ho-so/{instance['id']}/tai-lieu").status_code == 403
    assert other.get(f"/tai-lieu/{document['id']}/tai-ve").status_code == 403


def test_the_documents_section_uploads_shows_a_signed_pdf_and_refuses_a_page(app: TestClient) -> None:
    instance = start(app)
    officer, csrf = signed_in(app, "skhcn.an")
    section = f"/ho-so/{instance['id']}/tai-lieu"
    refused = officer.post(
        section, data={"csrf_token": csrf}, files={"file": ("don.pdf", files.SVG, "application/pdf")}
    )
    assert refused.status_code == 415 and "Loại tệp này không được chấp nhận" in refused.text
    signed = files.signed_pdf(files.authority())
    sent = officer.post(
        section,
        data={"csrf_token": csrf, "title": "Quyết định đã ký"},
        files={"file": ("quyet-dinh.pdf", signed, "application/pdf")},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/ho-so/{instance['id']}#tai-lieu"
    case_page = officer.get(f"/ho-so/{instance['id']}").text  # the case page loads the same section
    assert f'hx-get="{section}"' in case_page and 'id="tai-lieu"' in case_page
    page = officer.get(section).text  # without htmx: a page of its own
    assert "Quyết định đã ký" in page and "Có chữ ký số (1)" in page
    [document] = app.get(f"/api/v1/process-instances/{instance['id']}/documents", headers=ADMIN).json()
    signatures = officer.get(f"/tai-lieu/{document['id']}/chu-ky").text
    assert "Nguyen Van An" in signatures
    assert "Chữ ký còn nguyên vẹn nhưng chứng thư số không thuộc tổ chức chứng thực" in signatures  # no roots set
