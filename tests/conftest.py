"""Shared fixtures: every database-backed test runs on real SQLite and on real PostgreSQL.

- SQLite: one file migrated by Alembic per session, copied per test (fresh state, no shared rows).
- PostgreSQL: one database per session and xdist worker (``phoihop_test_<pid>``) migrated by Alembic, emptied
  before each test by ``empty_database``: a DELETE of every table, child tables first, in one transaction (a
  TRUNCATE per test cost 0.2-0.5 s on a loaded machine and left new files for the next checkpoint to sync; the
  DELETE takes ~4 ms). Ids are not restarted: tests never rely on an id's value.
  Without a reachable server the PostgreSQL variants are skipped, unless ``PHOIHOP_REQUIRE_POSTGRES=1`` (CI),
  where they fail.

Markers, applied here by directory and fixture (registered in pyproject.toml, ``--strict-markers``):

- ``system``: the test talks to real ``phoihop`` server processes (tests/system, and the web tests on a live server);
- ``browser``: the test drives Chromium through Playwright (tests/web);
- ``postgresql``: the test uses the PostgreSQL server (the PostgreSQL variant of a database test, or the session's
  PostgreSQL database).
- ``sqlite_only("why")``, set by the test itself: its requests are answered before any SQL runs (a refused token, an
  unknown route, the OpenAPI document), so its PostgreSQL variant is deselected; the reason is required.

``python3 dev.py test --fast`` leaves all three out: every test on SQLite, in about 40 s on two cores.

Under pytest-xdist (``dev.py test`` runs ``-n``), ``pytest_xdist_make_scheduler`` hands out work by ``xdist_scope``: the
Chromium tests and the live servers' tests of tests/web go to one worker together (one session server, one browser for
the run), each module of tests/system to a worker, and every other test alone: the web unit first, then the system
modules, then the rest. (``--dist loadgroup`` cannot do this here: pytest 9 derives ``nodeid`` from the item's id, so
the group suffix xdist 3.8 writes is lost.)
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, event, text
from xdist.scheduler import LoadScopeScheduling

from phoihop.app import create_app
from phoihop.auth import issue_token
from phoihop.engine.clock import Clock, FakeClock
from phoihop.engine.container import EngineContainer, build_engine, stop_script_workers
from phoihop.engine.model import Actor
from phoihop.engine.store.schema import DATABASE_DEPENDENT_TABLE, upgrade
from phoihop.settings import Settings

PG_ADMIN_URL = os.environ.get("PHOIHOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("PHOIHOP_REQUIRE_POSTGRES") == "1"
TEST_SECRET = secrets.token_urlsafe(48)
FIXTURES = Path(__file__).parent / "fixtures"
SYSTEM_DIR = Path(__file__).parent / "system"
BROWSER_FIXTURES = frozenset({"page", "context", "browser"})  # pytest-playwright's
SERVER_FIXTURES = frozenset({"live_server", "isolated_server", "oidc", "processes"})  # real server processes


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, sqlite_only = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if item.path.is_relative_to(SYSTEM_DIR) or fixtures & SERVER_FIXTURES:
            item.add_marker(pytest.mark.system)
        params = getattr(item, "callspec", None)
        if "pg_database" in fixtures or (params is not None and "postgresql" in params.params.values()):
            if _runs_no_sql(item):
                sqlite_only.append(item)
                continue
            item.add_marker(pytest.mark.postgresql)
        kept.append(item)
    if sqlite_only:
        config.hook.pytest_deselected(items=sqlite_only)
        items[:] = kept


def _runs_no_sql(item: pytest.Item) -> bool:
    """Whether ``item`` is marked ``sqlite_only``: its requests are answered before any SQL runs (a refused token, a
    route that does not exist, the OpenAPI document, the docs pages), so its PostgreSQL variant would prove nothing
    the SQLite one does not. The marker must say why; a test whose requests reach the engine stays on both."""
    marker = item.get_closest_marker("sqlite_only")
    if marker is None:
        return False
    if not (marker.args and isinstance(marker.args[0], str) and marker.args[0].strip()):
        raise pytest.UsageError(f"{item.nodeid}: sqlite_only needs the reason why no SQL runs, as its argument")
    return True


WEB_UNIT = "the web server and Chromium"
DATABASES = frozenset({"sqlite", "postgresql"})  # the params of db_url


def xdist_scope(nodeid: str) -> str:
    """The unit of work of an xdist worker that ``nodeid`` belongs to: every Chromium test and every test of
    tests/web that is not a database test (the live servers' tests among them) together, on one session server and
    one browser; each module of tests/system (its servers are shared by its tests, ``pg_servers``); every other test
    alone (tests/web's database tests too: they use neither server nor browser)."""
    path, _, rest = nodeid.partition("::")
    params = set(rest.rpartition("[")[2].rstrip("]").split("-")) if rest.endswith("]") else set()
    if "chromium" in params or (path.startswith("tests/web/") and not params & DATABASES):
        return WEB_UNIT
    if path.startswith("tests/system/"):
        return path
    return nodeid


def unit_rank(scope: str, size: int) -> tuple[int, int]:
    """The order units go out in: the web unit first (the longest chain of one worker), then the modules of
    tests/system (their servers mostly wait: another worker's tests use the cores meanwhile), the largest first, then
    the single tests in the order collected."""
    if scope == WEB_UNIT:
        return (0, 0)
    if scope.startswith("tests/system/"):
        return (1, -size)
    return (2, 0)


class ScopedScheduling(LoadScopeScheduling):
    """xdist's load-by-scope scheduling over ``xdist_scope``, the units handed out in ``unit_rank`` order."""

    _ranked = False

    def _split_scope(self, nodeid: str) -> str:
        return xdist_scope(nodeid)

    def _assign_work_unit(self, node: Any) -> None:
        if not self._ranked:  # the queue is complete when the first unit goes out: order it once
            units = sorted(self.workqueue.items(), key=lambda unit: unit_rank(unit[0], len(unit[1])))
            self.workqueue.clear()
            self.workqueue.update(units)
            self._ranked = True
        super()._assign_work_unit(node)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown without it (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    if config.getvalue("dist") != "load":  # another --dist asked for explicitly: xdist's own
        return None
    return ScopedScheduling(config, log)


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required (PHOIHOP_REQUIRE_POSTGRES=1) but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"phoihop_test_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    _session_emptiers[url] = _Emptier(url)
    yield url
    _session_emptiers.pop(url).engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class _Emptier:
    """The DELETE statements that empty a migrated database, child tables first (read from its foreign keys once),
    and a connection pool to run them on."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        metadata = MetaData()
        with self.engine.connect() as conn:
            metadata.reflect(conn)
        self.statements = [
            f'DELETE FROM "{table.name}"'
            for table in reversed(metadata.sorted_tables)
            if table.name != KEPT_TABLE and not table.name.startswith(FTS_SHADOW_TABLES)
        ]

    def run(self) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # one round trip: psycopg sends statements without parameters at once
                conn.exec_driver_sql("; ".join(self.statements))
            else:
                for statement in self.statements:
                    conn.exec_driver_sql(statement)


KEPT_TABLE = "alembic_version"
# SQLite's FTS5 table of migration 0204 keeps its index and configuration in shadow tables: emptied through the table
# itself (its rows deleted), never directly (an FTS5 table without its configuration row no longer opens); migration
# 0207's human_task_live_search_key, under the same prefix, is emptied by human_task's delete trigger
FTS_SHADOW_TABLES = f"{DATABASE_DEPENDENT_TABLE}_"
_session_emptiers: dict[str, _Emptier] = {}  # the session's PostgreSQL database(s), kept until the session ends


def empty_database(url: str) -> None:
    """Delete every row of the migrated database at ``url`` but Alembic's version, in one transaction."""
    emptier = _session_emptiers.get(url)
    if emptier is not None:
        emptier.run()
        return
    once = _Emptier(url)
    try:
        once.run()
    finally:
        once.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "phoihop.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    empty_database(url)
    return url


@pytest.fixture(scope="session", autouse=True)
def script_workers() -> Iterator[None]:
    """The engines of a test process share one pool of script workers; they end with the session (each xdist worker
    ends its own), not with each test's engine."""
    yield
    stop_script_workers()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def container(db_url: str, clock: FakeClock) -> Iterator[EngineContainer]:
    built = build_engine(db_url, clock=clock, script_cpu_seconds=0.5)
    yield built
    built.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        env="test",
        database_url=db_url,
        secret_key=TEST_SECRET,
        deploy_on_start=False,
        run_scheduler=False,
        processes_dir=Path("processes"),
    )


_apps: dict[str, FastAPI] = {}


def reused_app(settings: Settings, clock: Clock) -> FastAPI:
    """``create_app(settings, clock=clock)``, on an app object that earlier tests of this worker used already.

    FastAPI analyses the parameters of every route of a router the first time an app matches a request to it (tens of
    milliseconds per router and app: a third of the API tests' CPU time when each test built its own app). What a test
    changes, its database and its clock, is read by the lifespan and kept in ``app.state``: the app returned runs the
    lifespan of this test's own ``create_app(...)``, so it starts a fresh engine on ``settings.database_url``.
    Whatever else create_app reads when it builds the app (the body limits) is part of the key.
    """
    fresh = create_app(settings, clock=clock, upgrade_schema=False)
    shared = _apps.setdefault(settings.model_dump_json(exclude={"database_url"}), fresh)
    shared.router.lifespan_context = fresh.router.lifespan_context
    return shared


@pytest.fixture
def client(request: pytest.FixtureRequest, settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(reused_app(settings, clock), raise_server_exceptions=False) as test_client:
        # the start-up work (calendar file, deploy-on-start, warming) runs after the app listens: tests begin after it
        assert test_client.app.state.startup.done.wait(60)  # type: ignore[attr-defined]
        if request.node.get_closest_marker("sqlite_only") is None:
            yield test_client
            return
        # a sqlite_only test runs on SQLite alone because its requests run no SQL: checked, so the claim stays true
        statements: list[str] = []
        engine = test_client.app.state.container.db.engine  # type: ignore[attr-defined]

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            yield test_client
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert not statements, f"marked sqlite_only, yet its requests ran SQL: {statements[:3]}"


@pytest.fixture
def app_container(client: TestClient) -> EngineContainer:
    """The engine behind ``client`` (same clock, same database)."""
    built: EngineContainer = client.app.state.container  # type: ignore[attr-defined]
    return built


def auth(sub: str, *, groups: str = "", roles: str = "officer", name: str = "") -> dict[str, str]:
    """Headers with a bearer token signed by the test secret."""
    token = issue_token(
        TEST_SECRET,
        sub=sub,
        name=name or sub,
        groups=[g for g in groups.split(",") if g],
        roles=[r for r in roles.split(",") if r],
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers() -> Callable[..., dict[str, str]]:
    return auth


OWNER = Actor.of("owner", name="Chủ quy trình", roles=("process-owner",))
INTEGRATOR = Actor.of("portal", name="Cổng dịch vụ công", roles=("integrator",))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def officer(sub: str, *groups: str, roles: tuple[str, ...] = ("officer",)) -> Actor:
    return Actor.of(sub, name=sub, groups=groups, roles=roles)


def payload(**kw: Any) -> dict[str, Any]:
    return kw


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """A test that runs the ``phoihop`` command in-process (phoihop.cli.main) sets up the root logger as the command
    does (JSON lines on standard error, INFO): put it back, so later tests of the worker neither print every INFO
    line nor capture records they did not ask for."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    alembic = logging.getLogger("alembic").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(alembic)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the modules are imported and the tests collected, the objects alive now (modules, classes, SQLAlchemy
    and SpiffWorkflow's tables, the collected items) live until the end: ``gc.freeze`` keeps every later collection
    from walking them again, and a larger first generation runs collections less often. Measured on SQLite over
    tests/api/test_tasks.py, tests/processes/test_escalation.py and tests/engine/test_external_tasks.py: the
    collector's CPU time fell from 2.2 s (1,380 collections) to 0.9 s (576) of 7.5-11 s. Each xdist worker runs this
    hook itself; the servers the system tests start are left as production runs them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
