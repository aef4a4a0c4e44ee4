"""The inbox refreshes itself (Chromium, real server): a dossier the portal sends and a claim by a colleague of the
same agency show in the open inbox's tab counters and rows without reloading the page (web/static/inbox-live.js on
the live stream GET /api/v1/events/stream, signed in by the session cookie)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import PORTAL, LiveServer, bearer, submit_dossier
from tests.web.test_browser import sign_in

COLLEAGUE = bearer("ttpvhcc.dong.nghiep", groups=("ttpvhcc",))


def count(page: Page, scope: str) -> int:
    return int(page.locator(f'.tabs a[data-scope="{scope}"] .count').inner_text())


def test_the_inbox_counters_and_rows_follow_other_peoples_actions(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "ttpvhcc.khanh")
    expect(page.locator("html")).to_have_attribute("data-inbox-live", "open")  # subscribed
    unclaimed, everything = count(page, "unclaimed"), count(page, "all")
    reloads: list[str] = []
    page.on("framenavigated", lambda frame: reloads.append(frame.url) if frame == page.main_frame else None)

    instance = submit_dossier(live_server.url)  # the portal, over REST: a task for the one-stop desk
    unclaimed_tab = page.locator('.tabs a[data-scope="unclaimed"] .count')
    expect(unclaimed_tab).to_have_text(str(unclaimed + 1))
    expect(page.locator('.tabs a[data-scope="all"] .count')).to_have_text(str(everything + 1))
    expect(page.locator("tr.task-row", has_text=instance["dossier"]["code"])).to_have_count(1)

    found = httpx.get(f"{live_server.url}/api/v1/process-instances/{instance['id']}", headers=PORTAL, timeout=30)
    (task,) = found.json()["open_tasks"]
    claimed = httpx.post(f"{live_server.url}/api/v1/tasks/{task['id']}/claim", headers=COLLEAGUE, timeout=30)
    assert claimed.status_code in (200, 204), claimed.text
    expect(unclaimed_tab).to_have_text(str(unclaimed))  # a colleague took it: no longer waiting for anyone
    expect(page.locator("tr.task-row", has_text=instance["dossier"]["code"])).to_contain_text(
        re.compile("ttpvhcc.dong.nghiep|dong.nghiep")
    )
    assert reloads == []  # all of it in place
