"""What an officer sees on the task page and in the inbox (issue 10.3), as HTML from the in-process app (dev sign-in
page, the demo users) on SQLite and PostgreSQL: lead-only tasks marked and shown read-only to an officer; a form
starts from the case's earlier answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.model import Actor
from phoihop.web.session import SESSION_COOKIE
from tests.processes.escalation_steps import SKHCN_LEAD as SKHCN_LEAD_HEADERS
from tests.processes.escalation_steps import (
    classify,
    consult_htkc,
    decide,
    deploy_escalation,
    give_opinions,
    open_task,
    propose,
    report,
    variables,
    vp_review,
)
from tests.web.pages import dev_app, signed_in

HOUR = timedelta(hours=1)


@pytest.fixture
def app(db_url: str, clock: FakeClock) -> Iterator[TestClient]:
    with dev_app(db_url, clock) as started:
        deploy_escalation(started)
        yield started


class TaskForm(HTMLParser):
    """The task form's controls: what a browser would submit untouched, which are disabled, the submit button."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[tuple[str, str]] = []
        self.controls: list[dict[str, str]] = []
        self.in_form = self.disabled_set = self.has_submit = False
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("data-testid") == "task-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "fieldset" and "disabled" in a and a.get("data-testid") == "task-fields":
            self.disabled_set = True
        if tag == "button" and a.get("data-testid") == "complete":
            self.has_submit = True
        if tag in ("input", "select", "textarea") and a.get("name") and a["name"] != "csrf_token":
            self.controls.append({**a, "tag": tag})
            if tag == "input" and (a.get("type") not in ("radio", "checkbox") or "checked" in a):
                self.submitted.append((a["name"], a.get("value", "")))
            self.textarea = a["name"] if tag == "textarea" else None
            self.select = a["name"] if tag == "select" else None
        if tag == "option" and self.select and "selected" in a:
            self.submitted.append((self.select, a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.submitted.append((self.textarea, data))
            self.textarea = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        if tag == "textarea" and self.textarea:
            self.submitted.append((self.textarea, ""))
            self.textarea = None


def task_form(html: str) -> TaskForm:
    found = TaskForm()
    found.feed(html)
    return found


def test_a_lead_only_task_is_marked_and_read_only_for_an_officer(app: TestClient) -> None:
    instance_id = report(app)
    classify(app, instance_id, "guidance")
    give_opinions(app, instance_id)  # Sở Tư pháp and Ban HTKC first
    guide = open_task(app, instance_id, "guide")  # Sở KH&CN, lead only
    officer, _ = signed_in(app, "skhcn.an")
    row = officer.get("/", params={"q": "khám bệnh từ xa"}).text
    assert f'data-task-id="{guide["id"]}"' in row and 'data-testid="lead-only"' in row and "Chỉ lãnh đạo" in row
    assert f"/cong-viec/{guide['id']}/nhan" not in row  # no claim button the officer could not use
    page = officer.get(f"/cong-viec/{guide['id']}").text
    assert 'data-testid="lead-only"' in page and "Chỉ lãnh đạo" in page
    assert "lãnh đạo của Sở Khoa học và Công nghệ hoàn thành" in page
    form = task_form(page)
    assert form.controls and form.disabled_set and not form.has_submit
    assert f"/cong-viec/{guide['id']}/nhan" not in page
    lead, _ = signed_in(app, "skhcn.cuong")
    page = lead.get(f"/cong-viec/{guide['id']}").text
    form = task_form(page)
    assert 'data-testid="lead-only"' in page and not form.disabled_set and form.has_submit


def test_a_form_starts_from_the_earlier_answer_and_keeps_it_when_submitted_untouched(app: TestClient) -> None:
    """UBND returned the proposal for more information: the proposal form starts from Sở KH&CN's earlier answers
    and, sent back as shown, keeps them."""
    instance_id = report(app)
    classify(app, instance_id)
    give_opinions(app, instance_id)
    propose(app, instance_id, proposal_type="allocate_funding")
    vp_review(app, instance_id)
    decide(app, instance_id, "more_info", "Bổ sung nguồn kinh phí")
    task = open_task(app, instance_id, "propose")
    lead, csrf = signed_in(app, "skhcn.cuong")
    page = lead.get(f"/cong-viec/{task['id']}").text
    shown = dict(task_form(page).submitted)
    assert (shown["proposal_type"], shown["proposal"]) == (
        "allocate_funding",
        "Trình UBND cho phép thí điểm kê đơn điện tử",
    )
    answer = lead.post(
        f"/cong-viec/{task['id']}/hoan-thanh", data={**shown, "csrf_token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    assert variables(app, instance_id)["proposal_type"] == "allocate_funding"
    detail = app.get(f"/api/v1/tasks/{task['id']}", headers=SKHCN_LEAD_HEADERS).json()
    assert detail["values"]["proposal_type"] == "allocate_funding"


def test_money_is_shown_with_separators_and_dong_on_the_case_page(app: TestClient) -> None:
    instance_id = report(app, needs_funding=True, funding_amount=600_000_000)
    officer, _ = signed_in(app, "skhcn.an")  # classify is in Sở KH&CN's inbox: its officers see the case
    page = officer.get(f"/ho-so/{instance_id}")
    assert page.status_code == 200 and "<span data-money>600.000.000 đồng</span>" in page.text


def test_a_person_without_a_task_role_reads_the_task_without_buttons_they_could_not_use(app: TestClient) -> None:
    """An integrator's or role-less sign-in of Sở KH&CN sees the agency's task (as the API lets them) but no claim
    button and a read-only form saying why: the engine refuses claim and complete without officer or lead."""
    instance_id = report(app)
    task = open_task(app, instance_id, "classify")
    container = app.app.state.container  # type: ignore[attr-defined]
    opened = container.web_sessions.open(Actor.of("tich_hop", name="Cổng dịch vụ công", groups=("skhcn",)), ttl=HOUR)
    browser = TestClient(app.app, raise_server_exceptions=False)
    browser.cookies.set(SESSION_COOKIE, opened.token)
    page = browser.get(f"/cong-viec/{task['id']}").text
    assert "nhận và xử lý công việc cần vai trò chuyên viên hoặc lãnh đạo" in page
    form = task_form(page)
    assert form.controls and form.disabled_set and not form.has_submit
    assert f"/cong-viec/{task['id']}/nhan" not in page


def test_the_case_history_says_in_vietnamese_that_a_silent_agency_is_deemed_to_agree(
    app: TestClient, clock: FakeClock
) -> None:
    instance_id = report(app)
    classify(app, instance_id)
    consult_htkc(app, instance_id)  # Sở Tư pháp stays silent past its consultation limit
    clock.advance(timedelta(days=10))
    assert app.app.state.container.scheduler.run_once() == 1  # type: ignore[attr-defined]
    officer, _ = signed_in(app, "skhcn.an")
    page = officer.get(f"/ho-so/{instance_id}").text
    rows = [row for row in page.split("<tr") if 'data-kind="consultation_tacit_consent"' in row]
    assert len(rows) == 1
    assert "Quá thời hạn không có ý kiến: coi như đồng ý" in rows[0] and "Sở Tư pháp" in rows[0]
    assert "consultation_tacit_consent</td>" not in page and "consult_stp" not in rows[0]


def deadline_choices(html: str) -> list[str]:
    """The labels of the inbox's deadline filter, without their counts."""
    select = re.search(r'<select name="deadline">(.*?)</select>', html, re.S)
    assert select is not None
    return [re.sub(r"\s*\(\d+\+?\)$", "", label.strip()) for label in re.findall(r"<option[^>]*>([^<]*)<", select[1])]


def test_the_deadline_filter_offers_capitalised_choices_and_the_badge_stays_lower_case(app: TestClient) -> None:
    report(app)  # classification waits in Sở KH&CN's inbox, on time
    officer, _ = signed_in(app, "skhcn.an")
    page = officer.get("/").text
    assert deadline_choices(page) == ["Mọi thời hạn", "Trong hạn", "Sắp đến hạn", "Quá hạn"]
    assert re.search(r'data-deadline="on_time">trong hạn<', page)  # a state read in the row, not a choice
    officer.cookies.set("phoihop_lang", "en")
    assert deadline_choices(officer.get("/").text) == ["Any deadline", "On time", "Due soon", "Overdue"]
