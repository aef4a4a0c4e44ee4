"""The header keeps one row in Chromium at 1360 and 1024 px (issue 15): for the demo users with the most navigation
entries (an admin, a lead) and the longest agency line (Trung tâm Phục vụ hành chính công), no navigation label wraps
inside itself, the brand, the navigation and the user's box sit side by side in one row, nothing runs past the
window's edge, and the header is as tall as one row. The full agency line stays in the ``title`` of the cut one."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer, screenshot
from tests.web.test_browser import sign_in, sign_out

ONE_ROW_PX = 64  # .6rem padding twice, the tallest item (the two-line name box) and the 4 px accent border: ~55 px

MEASURE = """() => {
  const bar = document.querySelector('.topbar');
  const box = (e) => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, height: r.height}; };
  const links = [...bar.querySelectorAll('.mainnav a')].map((a) => ({
    text: a.textContent.trim(), height: a.getBoundingClientRect().height,
    line: parseFloat(getComputedStyle(a).lineHeight), top: a.getBoundingClientRect().top,
  }));
  return {
    height: bar.getBoundingClientRect().height,
    overflow: bar.scrollWidth - bar.clientWidth,
    parts: [...bar.children].map(box),
    links: links,
  };
}"""


@pytest.mark.parametrize("width", [1360, 1024])
@pytest.mark.parametrize("sub", ["admin.son", "snnmt.vinh", "ttpvhcc.khanh"])
def test_the_header_keeps_one_row(page: Page, live_server: LiveServer, width: int, sub: str) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, sub)
    expect(page.locator(".mainnav a").first).to_be_visible()
    bar: dict[str, Any] = page.evaluate(MEASURE)
    links = bar["links"]
    assert len(links) >= 3, links
    for link in links:  # one line each: a label wrapping inside itself doubles its height
        assert link["height"] < 2 * link["line"], link
    assert len({round(link["top"]) for link in links}) == 1, links  # all on one row
    parts = bar["parts"]
    assert len(parts) == 3  # brand, navigation, user's box
    assert max(p["top"] for p in parts) < min(p["bottom"] for p in parts), parts  # side by side, not stacked
    assert bar["overflow"] <= 0, bar
    assert bar["height"] <= ONE_ROW_PX, bar
    who = page.get_by_test_id("current-user").locator("small")
    assert who.get_attribute("title") == who.text_content()  # the whole line, where the row cuts it
    if sub == "ttpvhcc.khanh":
        assert "Trung tâm Phục vụ hành chính công" in (who.get_attribute("title") or "")
        screenshot(page, f"header-{width}")
    sign_out(page)
