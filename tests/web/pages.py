"""HTTP helpers of the web tests that need no browser: sign in through the dev page, read a page's CSRF token and
the URLs it loads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from phoihop.engine.clock import Clock
from phoihop.settings import Settings
from tests.conftest import TEST_SECRET, reused_app


class PageParts(HTMLParser):
    """The CSRF token (meta csrf-token) and every URL the page makes the browser load."""

    def __init__(self) -> None:
        super().__init__()
        self.csrf = ""
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name") == "csrf-token":
            self.csrf = values.get("content") or ""
        if tag in ("script", "img", "iframe", "source", "audio", "video") and values.get("src"):
            self.loads.append(str(values["src"]))
        if tag == "link" and values.get("href"):
            self.loads.append(str(values["href"]))


def parts(html: str) -> PageParts:
    found = PageParts()
    found.feed(html)
    return found


def sign_in(client: httpx.Client, sub: str) -> str:
    """Sign ``client`` in as a demo user (PHOIHOP_ENV=dev); returns the session's CSRF token."""
    page = client.get("/dang-nhap")
    assert page.status_code == 200, page.text
    response = client.post("/dang-nhap/thu", data={"sub": sub, "next": "/", "csrf_token": parts(page.text).csrf})
    assert response.status_code == 303, response.text
    inbox = client.get("/")
    assert inbox.status_code == 200, inbox.text
    return parts(inbox.text).csrf


@contextmanager
def dev_app(db_url: str, clock: Clock, *, processes_dir: Path | None = Path("processes")) -> Iterator[TestClient]:
    """The app in dev mode (the demo sign-in page) on ``db_url``, started in-process: nothing deployed, no scheduler."""
    settings = Settings(
        env="dev",
        database_url=db_url,
        secret_key=TEST_SECRET,
        deploy_on_start=False,
        run_scheduler=False,
        **({"processes_dir": processes_dir} if processes_dir is not None else {}),
    )
    with TestClient(reused_app(settings, clock), raise_server_exceptions=False) as started:
        assert started.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        yield started


def signed_in(app: TestClient, sub: str) -> tuple[TestClient, str]:
    """A browser of ``app`` signed in as the demo user ``sub``, and its CSRF token."""
    browser = TestClient(app.app, raise_server_exceptions=False)
    page = browser.get("/dang-nhap")
    answer = browser.post(
        "/dang-nhap/thu", data={"sub": sub, "next": "/", "csrf_token": parts(page.text).csrf}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return browser, parts(browser.get("/").text).csrf
