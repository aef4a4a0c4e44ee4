"""A wheel is a working server: ``pip install .`` in a fresh venv, then ``phoihop serve`` in an empty folder upgrades
the schema, deploys the Decision 5921 processes shipped in the package, and serves the web app with all its scripts
and styles, from nothing but the installed package.

The wheel is built from the files a clean clone would have (git's tracked and not-ignored files, copied to a temporary
folder: a stale build/ of the checkout cannot leak into it) with the dev venv's locked setuptools and no network. The
fresh venv sees the dev venv's installed dependencies through a .pth file, never the checkout: it runs from an empty
folder with no PYTHONPATH, and the test checks that ``phoihop`` is imported from the new venv.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import dev
from phoihop.auth import issue_token
from phoihop.settings import DEV_SECRET, Settings
from tests.system.conftest import free_port
from tests.web.pages import parts, sign_in

ROOT = Path(__file__).parents[2]
PROCESS_KEYS = {"annual_review", "escalation", "green_lane", "monthly_report", "procedure_list", "sandbox_review"}
READY_SECONDS = 90.0  # a bound against a hang, not a timing


def test_the_defaults_work_from_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No PHOIHOP_* but dev mode: the processes and calendar shipped in the package, a SQLite file in this folder."""
    for name in [name for name in os.environ if name.startswith("PHOIHOP_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    settings = Settings(env="dev")
    assert {p.name for p in settings.processes_dir.iterdir() if p.is_dir()} == PROCESS_KEYS
    assert settings.calendar_path == settings.processes_dir / "calendar.toml"
    assert settings.calendar_path.is_file()
    assert settings.database_url == "sqlite:///./var/phoihop.db"  # below the folder the service runs in


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"{command} exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def clean_clone(into: Path) -> Path:
    """The files of a clean clone of the checkout as it is now (committed or not, never ignored), links kept."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if not (source.is_file() or source.is_symlink()):  # deleted in the work tree, not yet in the index
            continue
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            target.write_bytes(source.read_bytes())
    return into


def bare_env(**settings: str) -> dict[str, str]:
    """This environment without the checkout's traces (PYTHONPATH, the dev venv, any PHOIHOP_*)."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOIHOP_") and k not in dropped}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({f"PHOIHOP_{key.upper()}": value for key, value in settings.items()})
    return env


def python_in(venv: Path, code: str, *, cwd: Path) -> str:
    """What ``code`` prints, run by the venv's python from ``cwd`` in the bare environment."""
    return run(venv / "bin" / "python", "-c", code, cwd=cwd, env=bare_env()).strip()


@dataclass
class InstalledWheel:
    wheel: Path
    venv: Path  # fresh, with the dev venv's dependencies but not the checkout
    site_packages: Path  # the fresh venv's
    timings: dict[str, float]


@dataclass
class InstalledServer:
    url: str
    installed: InstalledWheel
    folder: Path  # where it runs: empty before


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    tmp = tmp_path_factory.mktemp("wheel")
    started = time.monotonic()
    source = clean_clone(tmp / "clone")
    dist = tmp / "dist"
    build = ["wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(source)]
    run(sys.executable, "-m", "pip", *build, cwd=tmp)
    (wheel,) = dist.glob("phoihop-*.whl")
    built = time.monotonic()

    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    site_packages = Path(python_in(venv, "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp))
    # the dependencies, not the project: the dev venv's site-packages holds phoihop only as an editable finder, whose
    # own .pth is not read from a folder that a .pth file adds
    (site_packages / "dev-venv-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp)
    timings = {"build": built - started, "install": time.monotonic() - built}
    return InstalledWheel(wheel, venv, site_packages, timings)


@pytest.fixture(scope="module")
def installed_server(
    installed_wheel: InstalledWheel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InstalledServer]:
    """``phoihop serve`` of the fresh venv, in dev mode (demo sign-in), from an empty folder, nothing else set."""
    folder = tmp_path_factory.mktemp("empty")
    imported = python_in(installed_wheel.venv, "import phoihop; print(phoihop.__file__)", cwd=folder)
    assert Path(imported).is_relative_to(installed_wheel.site_packages / "phoihop"), imported
    port = free_port()
    log = folder.with_name(f"{folder.name}-serve.log")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(installed_wheel.venv / "bin" / "phoihop"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=bare_env(env="dev"),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while not healthy(url):
            assert server.poll() is None, f"phoihop serve exited with {server.returncode}:\n{log.read_text()[-4000:]}"
            assert time.monotonic() - started < READY_SECONDS, f"not ready:\n{log.read_text()[-4000:]}"
            time.sleep(0.1)
        installed_wheel.timings["serve"] = time.monotonic() - started
        yield InstalledServer(url, installed_wheel, folder)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.system
def test_the_wheel_is_one_phoihop_package_with_its_data(installed_wheel: InstalledWheel) -> None:
    with zipfile.ZipFile(installed_wheel.wheel) as wheel:
        names = set(wheel.namelist())
    assert {name.split("/", 1)[0] for name in names} == {"phoihop", "phoihop-0.1.0.dist-info"}  # no bare engine/, api/
    assert {"phoihop/engine/__init__.py", "phoihop/api/__init__.py", "phoihop/web/__init__.py"} <= names
    assert {"phoihop/migrations/env.py", "phoihop/migrations/script.py.mako"} <= names
    assert any(name.startswith("phoihop/migrations/versions/") and name.endswith(".py") for name in names)
    assert {"phoihop/processes/calendar.toml", "phoihop/processes/articles.toml"} <= names
    for key in PROCESS_KEYS:
        assert f"phoihop/processes/{key}/{key}.bpmn" in names
    _, vendored = dev.read_vendor_manifest()
    assert {f"phoihop/web/static/vendor/{path}" for path in [*vendored, dev.VENDOR_MANIFEST]} <= names
    assert not any("__pycache__" in name or name.startswith("phoihop/tests") for name in names)
    installed = installed_wheel.site_packages / "phoihop" / "web"
    assert dev.vendor_problems(installed / "static" / "vendor") == []  # the files served are the ones checked


def assets_of(client: httpx.Client, path: str) -> list[str]:
    """Every script, stylesheet (and image) the page at ``path`` makes the browser load; each must be this server's."""
    page = client.get(path)
    assert page.status_code == 200, f"{path}: {page.status_code} {page.text[:500]}"
    assert page.headers["content-type"].startswith("text/html")
    loads = parts(page.text).loads
    assert loads, f"{path} loads nothing"
    for url in loads:
        assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url} from elsewhere"
    return loads


@pytest.mark.system
def test_the_installed_wheel_serves_the_web_app_and_the_processes(installed_server: InstalledServer) -> None:
    url = installed_server.url
    health = httpx.get(f"{url}/healthz", timeout=10)
    assert health.json() == {"status": "ok", "database": "sqlite"}
    assert (installed_server.folder / "var" / "phoihop.db").is_file()  # the default database, in the empty folder

    portal = {"Authorization": f"Bearer {issue_token(DEV_SECRET, sub='portal', name='Cổng DVC', roles=['integrator'])}"}
    definitions = httpx.get(f"{url}/api/v1/process-definitions", headers=portal, timeout=10)
    assert definitions.status_code == 200, definitions.text
    assert {d["key"] for d in definitions.json()} == PROCESS_KEYS  # the processes shipped in the package, deployed
    started = httpx.post(
        f"{url}/api/v1/process-instances",
        headers=portal,
        timeout=30,
        json={"process_key": "green_lane", "business_key": "HS-WHEEL-1", "variables": GREEN_LANE_DOSSIER},
    )
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]

    loads: dict[str, list[str]] = {}
    with httpx.Client(base_url=url, timeout=30) as officer:
        loads["/dang-nhap"] = assets_of(officer, "/dang-nhap")
        assert "Lê Minh Khánh" in officer.get("/dang-nhap").text  # the demo users (PHOIHOP_ENV=dev)
        sign_in(officer, "ttpvhcc.khanh")
        loads["/"] = assets_of(officer, "/")
        loads["/ho-so"] = assets_of(officer, f"/ho-so/{instance_id}")
    with httpx.Client(base_url=url, timeout=30) as owner:
        sign_in(owner, "owner.bao")
        loads["/quy-trinh"] = assets_of(owner, "/quy-trinh/green_lane/phien-ban/1")

    _, vendored = dev.read_vendor_manifest()
    wanted = {asset.split("?", 1)[0] for page in loads.values() for asset in page}
    assert {"/assets/vendor/htmx.org/dist/htmx.min.js", "/assets/app.css"} <= wanted
    assert any(asset.startswith("/assets/vendor/bpmn-js/") for asset in loads["/ho-so"])  # the case view's diagram
    assert any("bpmn-modeler" in asset for asset in loads["/quy-trinh"])
    with httpx.Client(base_url=url, timeout=30) as browser:
        for asset in sorted(wanted):
            response = browser.get(asset)
            assert response.status_code == 200, f"{asset}: {response.status_code}"
            vendored_path = asset.removeprefix("/assets/vendor/")
            if vendored_path != asset:
                assert hashlib.sha256(response.content).hexdigest() == vendored[vendored_path], asset
    timings = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in installed_server.installed.timings.items())
    print(f"\nwheel: {timings}; {len(wanted)} scripts and stylesheets of {len(loads)} pages, each 200")


GREEN_LANE_DOSSIER = {
    "applicant": {
        "name": "Công ty Cổ phần Công nghệ Sông Hồng",
        "id_number": "0109876543",
        "email": "phaply@songhong.vn",
        "phone": "0912 345 678",
    },
    "procedure_code": "KHCN-01",
    "documents": [{"name": "Đơn đề nghị", "url": "https://dichvucong.hanoi.gov.vn/tep/1"}],
}
