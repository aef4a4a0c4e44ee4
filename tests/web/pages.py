"""HTTP helpers of the web tests that need no browser: sign in through the dev page, read a page's CSRF token and
the URLs it loads."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx


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
