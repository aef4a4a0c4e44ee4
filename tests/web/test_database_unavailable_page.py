"""A page asked for while the database cannot serve it (no pooled connection in time) is a 503 page in Vietnamese,
"hệ thống đang bận, vui lòng thử lại", with ``Retry-After``, not a 500 (issue 13, item 2). PostgreSQL: SQLite has no
pool."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from phoihop.engine.clock import FakeClock
from phoihop.engine.container import EngineContainer
from phoihop.settings import Settings
from phoihop.web.session import SESSION_COOKIE
from tests.conftest import officer, reused_app


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_page_while_the_database_is_busy_is_a_503_page_in_vietnamese(settings: Settings, clock: FakeClock) -> None:
    small = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.3})
    with TestClient(reused_app(small, clock), raise_server_exceptions=False) as client:
        # the start-up work (deploy-on-start, warming) holds the only connection for a while: the test begins after it
        assert client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        container: EngineContainer = client.app.state.container  # type: ignore[attr-defined]
        opened = container.web_sessions.open(officer("an", "skhcn"), ttl=timedelta(hours=1))
        client.cookies.set(SESSION_COOKIE, opened.token)
        assert client.get("/").status_code == 200
        with container.db.transaction(write=False):  # someone holds the only connection
            page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 503 and page.headers["retry-after"] == "2"
        assert page.headers["content-type"].startswith("text/html")
        assert 'data-code="database-unavailable"' in page.text
        assert "Hệ thống đang bận, vui lòng thử lại" in page.text
        assert client.get("/").status_code == 200
