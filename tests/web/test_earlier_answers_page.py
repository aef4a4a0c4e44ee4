"""The task page shows the earlier answers its form names ("x-show-earlier") and the case's applicant and request,
read-only, labelled and formatted, above the form (issue 10.3); HTML from the in-process app on SQLite and
PostgreSQL, signed in as a demo user."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.web.forms import agency_defaults
from phoihop.web.i18n import agency_name
from phoihop.web.templating import _task_agency
from tests.api.calls import OWNER, STP, complete, open_tasks, start, upload
from tests.web.pages import dev_app, signed_in

FIXTURES = Path(__file__).parent.parent / "fixtures" / "show_earlier"


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock, processes_dir=None) as started:
        assert upload(started, *((p.name, p.read_bytes()) for p in sorted(FIXTURES.iterdir()))).status_code == 201
        yield started


def test_the_task_page_shows_earlier_answers_and_the_case_summary(app: TestClient) -> None:
    case = start(
        app, "de_xuat", variables={"title": "Đề xuất thử nghiệm", "amount": 600_000_000, "needs_funding": True}
    )
    complete(app, open_tasks(app, case["id"])["y_kien"]["id"], STP, legal_opinion="Phù hợp", legal_result="disagree")
    task_id = open_tasks(app, case["id"])["quyet_dinh"]["id"]
    browser, _csrf = signed_in(app, "skhcn.an")

    html = browser.get(f"/cong-viec/{task_id}").text
    earlier = html[html.index('data-testid="earlier"') : html.index('data-testid="case-summary"')]
    assert "Ý kiến, kết quả các bước trước" in earlier
    assert "Kết luận" in earlier and "Không đồng ý" in earlier and "disagree" not in earlier
    assert "600.000.000 đồng" in earlier and "(Ý kiến pháp lý của Sở Tư pháp)" in earlier
    assert ">Có<" in earlier  # needs_funding, and the form's radio starts from it too
    assert 'name="needs_funding" value="true" checked' in html
    summary = html[html.index('data-testid="case-summary"') : html.index('data-testid="task-form"')]
    assert "Trích yếu đề xuất" in summary and "Đề xuất thử nghiệm" in summary
    assert html.index('data-testid="earlier"') < html.index('data-testid="task-form"')  # at the top of the page


def test_a_start_form_starts_with_the_officers_agency_as_the_reporting_agency(app: TestClient) -> None:
    app.post(
        "/api/v1/process-definitions",
        files=[
            ("files", (p.name, p.read_bytes(), "application/octet-stream"))
            for p in sorted(Path("processes/escalation").iterdir())
        ],
        headers=OWNER,
    )
    browser, _csrf = signed_in(app, "skhcn.an")
    html = browser.get("/khoi-tao/escalation").text
    select = html[html.index('name="reporting_agency"') :]
    select = select[: select.index("</select>")]
    assert '<option value="skhcn" selected>' in select
    assert agency_defaults({"properties": {"agency": {"enum": ["stp", "htkc"]}}}, ["skhcn"]) == {}


def test_the_case_page_shows_labelled_formatted_data_and_no_codes(app: TestClient) -> None:
    case = start(
        app,
        "de_xuat",
        variables={"title": "Đề xuất", "amount": 600_000_000, "received_on": "2026-12-07", "sector": "other"},
    )
    complete(app, open_tasks(app, case["id"])["y_kien"]["id"], STP, legal_opinion="Phù hợp", legal_result="agree")
    browser, _csrf = signed_in(app, "stp.dung")
    html = browser.get(f"/ho-so/{case['id']}").text
    table = html[html.index('data-testid="variables"') :]
    table = re.sub(r"<[^>]+>", "|", table[: table.index("</table>")])  # what the officer reads
    for shown in ("Kinh phí đề nghị", "600.000.000 đồng", "Ngày nhận", "07/12/2026", "Lĩnh vực khác", "Đồng ý"):
        assert shown in table, shown
    for hidden in ("legal_result", "received_on", "2026-12-07", "|agree|", "|other|", "600000000"):
        assert hidden not in table, hidden
    assert 'data-testid="technical-variables"' not in html  # the engine's own data: administrators only
    admin, _csrf = signed_in(app, "admin.son")
    assert 'data-testid="technical-variables"' in admin.get(f"/ho-so/{case['id']}").text


def test_people_are_named_by_their_display_name_not_their_login_id(app: TestClient) -> None:
    case = start(app, "de_xuat", variables={"title": "Đề xuất"})
    task_id = open_tasks(app, case["id"])["y_kien"]["id"]
    officer, csrf = signed_in(app, "stp.dung")
    assert officer.post(f"/cong-viec/{task_id}/nhan", data={"csrf_token": csrf}).status_code == 200
    colleague, _csrf = signed_in(app, "stp.minh")
    page = colleague.get(f"/cong-viec/{task_id}").text
    assignee = page[page.index('data-testid="assignee"') :]
    assert assignee.split("</dd>")[0].endswith("Trần Thị Dung") and "stp.dung" not in page
    history = colleague.get(f"/ho-so/{case['id']}").text
    assert "Trần Thị Dung" in history and ">stp.dung<" not in history


def test_a_task_names_its_real_agency_not_a_generic_lane() -> None:
    """The green lane's "Cơ quan giải quyết" lane is whichever agency the dossier was sent to (issue 10.3)."""
    task = SimpleNamespace(lane="Cơ quan giải quyết", candidate_groups=("htkc",))
    assert _task_agency(task, "vi") == "Ban Quản lý các Khu công nghệ cao và Khu công nghiệp Hà Nội"
    assert _task_agency(task, "vi", short=True) == "Ban Quản lý các Khu CNC và KCN"
    assert _task_agency(SimpleNamespace(lane="Sở Tư pháp", candidate_groups=()), "vi") == "Sở Tư pháp"
    assert agency_name("ttpvhcc", "vi") == "Trung tâm Phục vụ hành chính công thành phố Hà Nội"
