"""Fixtures of the web app tests: a real ``phoihop serve`` (uvicorn) on a free port and SQLite, the green-lane process
deployed at start, in dev mode (the demo sign-in page); Playwright driving Debian's Chromium.

Recipe (../shared/notes/browser-tests.md): Playwright's own browser download cannot work here, so Chromium is
Debian's ``/usr/bin/chromium-headless-shell`` (or CHROMIUM_PATH; the full ``/usr/bin/chromium`` when only it is
installed) passed as ``executable_path``; ``python3 dev.py test`` installs the shell when it is missing. Without it the browser tests skip, except under CI (CI=true or PHOIHOP_REQUIRE_POSTGRES=1), where they
fail. The front-end packages (web/static/vendor/) are committed, checked against their SHA256SUMS.

One server serves the whole session (starting one costs ~2 s). Tests never share data: each starts its own
dossiers and finds them by their own dossier code or business key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import dev
from phoihop.auth import issue_token
from tests.conftest import TEST_SECRET
from tests.system.conftest import PHOIHOP, READY_SECONDS, Proc, free_port, process_env, wait_until

ROOT = Path(__file__).parents[2]
CHROMIUM = dev.chromium_path()  # Debian's chromium-headless-shell (or CHROMIUM_PATH): dev.py says why
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = os.environ.get("PHOIHOP_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "").lower() not in ("", "0", "false")
SCREENSHOTS = ROOT / "docs" / "screenshots"


def unavailable(reason: str) -> None:
    """Skip, or fail under CI: there the browser tests must run."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


@dataclass
class LiveServer:
    url: str
    proc: Proc

    def client(self) -> httpx.Client:
        """A plain HTTP client of the server (redirects not followed), closed with the server."""
        return self.proc.client()


def ensure_vendor() -> None:
    """The committed front-end files (web/static/vendor/) must match their SHA256SUMS and the lock: nothing is
    downloaded here (``python3 dev.py vendor`` does that, and its result is committed)."""
    problems = dev.vendor_problems()
    if problems:
        pytest.fail("web/static/vendor/ does not check out (run `python3 dev.py vendor`):\n" + "\n".join(problems))


def start_server(tmp: Path, *, processes: tuple[str, ...] = ("green_lane",), **settings: str) -> Proc:
    """``phoihop serve`` on a free port with ``processes`` deployed at start; returns once /healthz answers."""
    folder = tmp / "processes"
    folder.mkdir(parents=True, exist_ok=True)
    for name in processes:
        shutil.copytree(ROOT / "processes" / name, folder / name, dirs_exist_ok=True)
    shutil.copy(ROOT / "processes" / "calendar.toml", folder / "calendar.toml")
    env = process_env(
        f"sqlite:///{tmp / 'phoihop.db'}",
        deploy_on_start="true",
        processes_dir=str(folder),
        run_scheduler="false",
        **settings,
    )
    for attempt in range(3):  # a port found free may be taken before the server binds it (other xdist workers)
        port = free_port()
        log = tmp / f"server-{attempt}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [str(PHOIHOP), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=tmp,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc("web-server", ["serve"], env, popen, log, base_url=f"http://127.0.0.1:{port}")
        try:
            wait_until(proc.ready, READY_SECONDS * 2, proc)
        except RuntimeError:
            proc.stop()
            if attempt < 2 and "address already in use" in proc.output().lower():
                continue
            raise
        return proc
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The dev-mode server of the session (demo sign-in page)."""
    ensure_vendor()
    proc = start_server(tmp_path_factory.mktemp("web-server"), env="dev")
    try:
        yield LiveServer(proc.base_url, proc)
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """pytest-playwright's pages resolve relative URLs against it."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_name: str) -> dict[str, Any]:
    if browser_name != "chromium":
        return browser_type_launch_args
    if not Path(CHROMIUM).exists():
        unavailable(
            f"{CHROMIUM} is not installed (apt-get install chromium-headless-shell; python3 dev.py test does it as root)"
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "viewport": {"width": 1360, "height": 900},
        "locale": "vi-VN",
        "timezone_id": "Asia/Ho_Chi_Minh",
    }


def bearer(sub: str, *, groups: tuple[str, ...] = (), roles: tuple[str, ...] = ("officer",)) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(TEST_SECRET, sub=sub, name=sub, groups=groups, roles=roles)}"}


PORTAL = bearer("portal", roles=("integrator",))


def green_lane_dossier(applicant_name: str = "Công ty Cổ phần Công nghệ Sông Hồng", **fields: Any) -> dict[str, Any]:
    """What the public-service portal sends (processes/green_lane/start.form.json)."""
    return {
        "applicant": {
            "name": applicant_name,
            "id_number": "0109876543",
            "email": "phaply@songhong.vn",
            "phone": "0912 345 678",
        },
        "procedure_code": "KHCN-01",
        "documents": [{"name": "Đơn đề nghị", "url": "https://dichvucong.hanoi.gov.vn/tep/1"}],
        **fields,
    }


def submit_dossier(server_url: str, **fields: Any) -> dict[str, Any]:
    """Start a green-lane instance as the portal does (REST API, integrator token); returns the instance."""
    business_key = f"HS-{uuid.uuid4().hex[:10]}"
    response = httpx.post(
        f"{server_url}/api/v1/process-instances",
        headers=PORTAL,
        timeout=30,
        json={"process_key": "green_lane", "business_key": business_key, "variables": green_lane_dossier(**fields)},
    )
    assert response.status_code == 201, response.text
    instance: dict[str, Any] = response.json()
    return instance


def screenshot(page: Any, name: str) -> None:
    """Taken on every run (the whole page must render); written over docs/screenshots/<name>.png, which the README
    and docs/web-app.md show, only with PHOIHOP_SCREENSHOTS=1, so a test run leaves the working tree as it was."""
    folder = SCREENSHOTS if os.environ.get("PHOIHOP_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "phoihop"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def isolated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A second dev-mode server, for tests that deploy processes of their own (process owner pages, dashboard): the
    session's ``live_server`` keeps green_lane as its only process, as the inbox and English-page tests expect.
    Pages on it are opened by absolute URL (``base_url`` is the session server's)."""
    ensure_vendor()
    proc = start_server(tmp_path_factory.mktemp("isolated-server"), env="dev")
    try:
        yield LiveServer(proc.base_url, proc)
    finally:
        proc.stop()
