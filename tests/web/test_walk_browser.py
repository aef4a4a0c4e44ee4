"""One green-lane dossier and one escalation walked to their end in Chromium by the demo users only (issue 10, done
when), generically, so that it holds while the processes change: at each step the case's open task is found, a demo
user of its agency who may act on it (a lead where the task needs one) signs in, fills the task's form in the page
with valid values (generated from the form's JSON Schema: each choice's first option, the way forward as
forms list it, and yes; a field the page already fills — an earlier answer,
the officer's agency — is left as it is) and submits it, until the case ends. The escalation is started from the
start page by a reporting officer; the dossier comes from the public-service portal (REST, as in production)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from phoihop.web.demo_users import DEMO_USERS, DemoUser
from tests.processes.schema_data import schema_data
from tests.web.conftest import LiveServer, bearer, ensure_vendor, start_server, submit_dossier

ADMIN = bearer("walk-admin", roles=("admin",))
MAX_STEPS = 40
REPORTER_AGENCY = "syt"  # the escalation's reporting agency (Sở Y tế): any agency with a demo officer would do


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A dev-mode server with green_lane and escalation deployed (the session's server has green_lane only)."""
    ensure_vendor()
    proc = start_server(tmp_path_factory.mktemp("walk-server"), processes=("green_lane", "escalation"), env="dev")
    try:
        yield LiveServer(proc.base_url, proc)
    finally:
        proc.stop()


class Officers:
    """One signed-in browser context per demo user, opened when first needed."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.browser, self.url = browser, url
        self.contexts: dict[str, BrowserContext] = {}

    def page(self, user: DemoUser) -> Page:
        if user.sub not in self.contexts:
            context = self.browser.new_context(base_url=self.url, locale="vi-VN")
            page = context.new_page()
            page.goto("/dang-nhap?next=/")
            page.get_by_test_id(f"sign-in-{user.sub}").click()
            expect(page.get_by_test_id("current-user")).to_be_visible()
            self.contexts[user.sub] = context
        return self.contexts[user.sub].pages[0]

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


def _api(server: str, path: str) -> Any:
    response = httpx.get(f"{server}/api/v1{path}", headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _who_may(task: Mapping[str, Any]) -> DemoUser:
    """A demo user who may act on ``task``: of its agency, with its required role (an officer's task: an officer
    first, a lead otherwise), or named as a candidate."""
    role = task.get("required_role")
    groups = set(task.get("candidate_groups") or ())
    users = set(task.get("candidate_users") or ())
    fitting = [
        u for u in DEMO_USERS if (groups & set(u.groups) or u.sub in users) and (role is None or role in u.roles)
    ]
    fitting.sort(key=lambda u: "lead" in u.roles)  # a lead's time is spared where an officer may act
    assert fitting, f"no demo user may act on {task['element_id']} ({sorted(groups)}, role {role})"
    return fitting[0]


def _fill(page: Page, data: Mapping[str, Any], prefix: str = "") -> None:
    """Put ``data`` into the rendered form: selects, yes/no radios, checkboxes, text, dates, lines, rows, JSON; a
    field the page already fills keeps its value."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        block = page.locator(f'[data-field="{name}"]').first
        if isinstance(value, Mapping) and block.count() and block.get_attribute("class") != "field":
            _fill(page, value, f"{name}.")
            continue
        if (
            isinstance(value, list)
            and value
            and isinstance(value[0], Mapping)
            and page.locator(f'[data-field="{name}"][data-rows]').count()
        ):
            rows = page.locator(f'[data-field="{name}"][data-rows]')
            for index, item in enumerate(value):
                if index >= rows.locator("[data-row]").count():
                    rows.locator("[data-add-row]").click()
                _fill(page, item, f"{name}[{index}].")
            continue
        controls = page.locator(f'[name="{name}"]')
        if controls.count() == 0:
            continue  # not shown (read-only)
        first = controls.first
        tag = first.evaluate("e => e.tagName.toLowerCase()")
        kind = first.get_attribute("type") or ""
        if kind == "radio":
            if page.locator(f'[name="{name}"]:checked').count() == 0:
                page.locator(f'[name="{name}"][value="{"true" if value else "false"}"]').check()
        elif kind == "checkbox":
            for item in value:
                page.locator(f'[name="{name}"][value="{item}"]').check()
        elif tag == "select":
            if not first.input_value():
                first.select_option(str(value))
        elif first.input_value().strip():
            continue  # an earlier answer, a pre-filled agency
        elif kind == "datetime-local":
            first.fill(str(value)[:16])
        elif isinstance(value, list):
            first.fill("\n".join(str(v) for v in value))
        elif isinstance(value, Mapping):
            first.fill(json.dumps(value, ensure_ascii=False))
        else:
            first.fill(str(value))


def _walk_to_the_end(server: str, officers: Officers, instance_id: str, rng: random.Random) -> list[str]:
    steps: list[str] = []
    for _ in range(MAX_STEPS):
        case = _api(server, f"/process-instances/{instance_id}")
        if case["status"] != "running":
            assert case["status"] == "completed", case
            return steps
        assert case["open_tasks"], f"the case waits with no task to do after {steps}"
        task = _api(server, f"/tasks/{case['open_tasks'][0]['id']}")
        user = _who_may(task)
        page = officers.page(user)
        page.goto(f"/cong-viec/{task['id']}")
        data = schema_data(task["form"], rng, name=task["element_id"], forward=True) if task["form"] else {}
        _fill(page, data)
        page.get_by_test_id("complete").click()
        expect(page).to_have_url(re.compile(r"/\?done="), timeout=15_000)
        steps.append(f"{task['element_id']} by {user.sub}")
    raise AssertionError(f"the case has not ended after {MAX_STEPS} steps: {steps}")


def test_a_green_lane_dossier_and_an_escalation_walk_to_their_end_with_the_demo_users(
    browser: Browser, walk_server: LiveServer
) -> None:
    server = walk_server.url
    officers = Officers(browser, server)
    rng = random.Random(10)
    try:
        dossier = submit_dossier(server)
        steps = _walk_to_the_end(server, officers, dossier["id"], rng)
        assert len(steps) > 1, f"the dossier did not go beyond its intake: {steps}"  # the way forward was taken

        reporter = next(u for u in DEMO_USERS if REPORTER_AGENCY in u.groups and "lead" not in u.roles)
        page = officers.page(reporter)
        page.goto("/khoi-tao/escalation")
        start = _api(server, "/process-definitions/escalation/start-form")
        _fill(page, schema_data(start["form"], rng, name="start", forward=True))
        page.get_by_test_id("start").click()
        expect(page).to_have_url(re.compile(r"/ho-so/[0-9a-f-]+\?started=true"))
        instance_id = page.url.split("/ho-so/")[1].split("?")[0]
        assert _walk_to_the_end(server, officers, instance_id, rng)
    finally:
        officers.close()
