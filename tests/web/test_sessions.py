"""Web sessions are kept server-side (issue 13.8): signing out ends the session at once, an admin signs a person out
everywhere, a session past its expiry stops. In-process app (dev sign-in page) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phoihop import cli
from phoihop.engine.clock import FakeClock
from phoihop.settings import Settings
from tests.conftest import TEST_SECRET, auth, reused_app
from tests.web.pages import parts

SIGN_IN_PAGE = "/dang-nhap?next=/&thong_bao=het-han"


@pytest.fixture
def dev_settings(db_url: str) -> Settings:
    return Settings(
        env="dev",
        database_url=db_url,
        secret_key=TEST_SECRET,
        deploy_on_start=False,
        run_scheduler=False,
        processes_dir=Path("processes"),
    )


@pytest.fixture
def app(dev_settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The app of the test; ``browser`` below makes each browser (cookie jar) a client of it."""
    with TestClient(reused_app(dev_settings, clock), raise_server_exceptions=False) as started:
        assert started.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        yield started


def browser(app: TestClient) -> TestClient:
    """Another browser on the same running app (its lifespan runs already, under ``app``): its own cookie jar."""
    return TestClient(app.app, raise_server_exceptions=False)


def sign_in(client: TestClient, sub: str) -> tuple[str, str]:
    """Sign ``client`` in as a demo user; (the session cookie, the session's CSRF token)."""
    page = client.get("/dang-nhap")
    signed_in = client.post(
        "/dang-nhap/thu", data={"sub": sub, "next": "/", "csrf_token": parts(page.text).csrf}, follow_redirects=False
    )
    assert signed_in.status_code == 303, signed_in.text
    inbox = client.get("/", follow_redirects=False)
    assert inbox.status_code == 200, inbox.text
    return client.cookies["phoihop_session"], parts(inbox.text).csrf


def inbox_with(app: TestClient, cookie: str) -> int | str:
    """The inbox asked with ``cookie`` from a fresh browser: 200, or where it redirects."""
    fresh = browser(app)
    fresh.cookies.set("phoihop_session", cookie)
    answer = fresh.get("/", follow_redirects=False)
    return answer.status_code if answer.status_code == 200 else answer.headers["location"]


def test_the_old_cookie_stops_working_after_signing_out(app: TestClient) -> None:
    cookie, csrf = sign_in(app, "skhcn.an")
    assert inbox_with(app, cookie) == 200
    signed_out = app.post("/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert inbox_with(app, cookie) == SIGN_IN_PAGE  # a copy of the cookie kept before signing out no longer works
    stale = browser(app)
    stale.cookies.set("phoihop_session", cookie)
    assert stale.post("/dang-xuat", data={"csrf_token": csrf}, follow_redirects=False).status_code == 403


def test_an_admin_signs_a_person_out_everywhere(app: TestClient) -> None:
    laptop, phone, colleague = browser(app), browser(app), browser(app)
    first, _ = sign_in(laptop, "skhcn.an")
    second, _ = sign_in(phone, "skhcn.an")
    other, _ = sign_in(colleague, "ttpvhcc.khanh")
    assert first != second

    refused = app.post("/api/v1/users/skhcn.an/sign-out", headers=auth("skhcn.binh", roles="lead"))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    anonymous = app.post("/api/v1/users/skhcn.an/sign-out")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"
    assert inbox_with(app, first) == 200

    done = app.post("/api/v1/users/skhcn.an/sign-out", headers=auth("admin", roles="admin"))
    assert done.status_code == 200, done.text
    assert done.json() == {"user_id": "skhcn.an", "sessions_revoked": 2}
    assert inbox_with(app, first) == SIGN_IN_PAGE
    assert inbox_with(app, second) == SIGN_IN_PAGE
    assert inbox_with(app, other) == 200  # other people stay signed in
    again = app.post("/api/v1/users/skhcn.an/sign-out", headers=auth("admin", roles="admin"))
    assert again.json() == {"user_id": "skhcn.an", "sessions_revoked": 0}


def test_a_session_past_its_expiry_stops(app: TestClient, dev_settings: Settings, clock: FakeClock) -> None:
    cookie, _ = sign_in(app, "skhcn.an")
    clock.advance(timedelta(minutes=dev_settings.session_ttl_minutes - 1))
    assert inbox_with(app, cookie) == 200
    clock.advance(timedelta(minutes=2))
    assert inbox_with(app, cookie) == SIGN_IN_PAGE


def test_the_cookie_carries_only_a_random_session_id(app: TestClient) -> None:
    cookie, _ = sign_in(app, "skhcn.an")
    assert "." not in cookie and "skhcn" not in cookie  # no JWT, no claims: an opaque random id
    assert inbox_with(app, cookie[:-2] + "xx") == SIGN_IN_PAGE


def test_the_cli_signs_a_person_out_everywhere(
    app: TestClient,
    dev_settings: Settings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.set(datetime.now(UTC))  # the CLI runs on the system clock
    first, _ = sign_in(browser(app), "skhcn.an")
    other, _ = sign_in(browser(app), "ttpvhcc.khanh")
    monkeypatch.setenv("PHOIHOP_DATABASE_URL", dev_settings.database_url)
    monkeypatch.setenv("PHOIHOP_SECRET_KEY", TEST_SECRET)
    assert cli.main(["sessions", "revoke", "--user", "skhcn.an"]) == 0
    assert "skhcn.an: 1 session(s) revoked" in capsys.readouterr().out
    assert inbox_with(app, first) == SIGN_IN_PAGE
    assert inbox_with(app, other) == 200


def test_expired_sessions_are_purged_on_sign_in(app: TestClient, dev_settings: Settings, clock: FakeClock) -> None:
    sign_in(browser(app), "skhcn.an")
    sign_in(browser(app), "ttpvhcc.khanh")
    sessions = app.app.state.container.web_sessions  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=dev_settings.session_ttl_minutes + 1))
    sign_in(browser(app), "skhcn.an")  # the two expired rows go on the way
    assert sessions.purge_expired() == 0
    clock.advance(timedelta(minutes=dev_settings.session_ttl_minutes + 1))
    assert sessions.purge_expired() == 1
