#!/usr/bin/env python3
"""Set everything up and run phoihop, on a machine that has only python3. Standard library only.

    python3 dev.py run [--host H] [--port P]   the API on SQLite (var/phoihop.db), processes/ deployed
    python3 dev.py test [--require-postgres] [--fast] [pytest args...]
                                               ruff, mypy, import-linter, then pytest on SQLite and PostgreSQL
                                               (and the browser tests: Debian's chromium is installed if missing)
    python3 dev.py vendor                      fetch the web app's front-end packages into web/static/vendor/

Both create .venv when missing and reinstall the project (``pip install -e .[dev]``) only when pyproject.toml
changed since the last install (its SHA-256 is kept in .venv/phoihop-install.sha256). Both also run ``vendor``: the
npm packages pinned in web/package-lock.json are downloaded from their ``resolved`` URL, checked against their
``integrity`` hash, and only the files web/vendor.json names are copied (no node needed); skipped while the stamp
in web/static/vendor/ matches the lock file.

Tests. pytest runs on one worker per CPU (pytest-xdist ``-n``; PHOIHOP_TEST_WORKERS=N to choose, or pass ``-n N`` or
``-p no:xdist`` yourself; a test id alone runs without workers). Every database test runs on SQLite and on PostgreSQL
(one database per worker, emptied before each test). Markers set the slow parts apart: ``system`` (real ``phoihop``
server processes: tests/system, and the web tests on a live server), ``browser`` (Chromium driven by Playwright) and
``postgresql`` (the PostgreSQL variant of each database test). The loop to run while working:

    python3 dev.py test --fast                 the same checks, then pytest -m "not system and not browser and not
                                               postgresql": every test on SQLite (about 35 s on two cores)
    python3 dev.py test --fast tests/api       pytest arguments narrow it further (-k, a file, a test id)
    python3 dev.py test -m "not system and not browser"
                                               both databases, no server processes (about 75 s on two cores)
    python3 dev.py test -m browser             only the browser tests

Before pushing, ``python3 dev.py test``: everything, what CI runs (``.ci/run``).
"""

# ruff: noqa: S603, S606, S607  (this script's whole job is running fixed local commands, never a shell)

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / "phoihop-install.sha256"
PG_URL = os.environ.get("PHOIHOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WEB = ROOT / "web"
VENDOR = WEB / "static" / "vendor"
VENDOR_STAMP = VENDOR / ".phoihop-vendor.sha256"
NPM_REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 100_000_000
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AUTH_HINT = 'PHOIHOP_ENV=dev .venv/bin/phoihop token --sub u1 --name "Nguyễn Văn A" --groups skhcn --roles officer'


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def fail(message: str, code: int = 1) -> NoReturn:
    print(f"\ndev.py: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def base_python() -> str:
    """An interpreter satisfying requires-python (>=3.11): this one, or a newer python3.x on PATH."""
    if sys.version_info >= (3, 11):  # noqa: UP036  (this script may be started by an older python3)
        return sys.executable
    for name in ("python3.13", "python3.12", "python3.11"):
        found = shutil.which(name)
        if found:
            return found
    fail(f"phoihop needs Python >= 3.11; this is {sys.version.split()[0]} and no python3.11+ is on PATH")


def ensure_venv() -> None:
    python = BIN / "python"
    if python.exists() and subprocess.run([str(python), "-c", ""], check=False).returncode == 0:
        return
    say(f"creating {VENV.relative_to(ROOT)}/")
    created = subprocess.run([base_python(), "-m", "venv", "--clear", str(VENV)], check=False)
    if created.returncode != 0:
        fail("could not create the virtualenv (on Debian/Ubuntu: apt-get install python3-venv)")


def ensure_installed() -> None:
    """pip install -e .[dev], skipped when pyproject.toml has not changed since the last successful install."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and (BIN / "phoihop").exists():
        return
    say("installing phoihop and its dev tools into .venv (pip install -e .[dev]; the first run takes a minute)")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PIP_ROOT_USER_ACTION": "ignore"}
    STAMP.unlink(missing_ok=True)
    installed = subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "-qq", "-e", ".[dev]"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if installed.returncode != 0:
        fail(f"pip install failed (exit {installed.returncode}); see the errors above", installed.returncode)
    STAMP.write_text(digest + "\n")


def setup() -> None:
    os.chdir(ROOT)
    ensure_venv()
    ensure_installed()


# --- front-end packages (web/package-lock.json → web/static/vendor/) -------------------------------------------------
def vendor_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package-lock.json", "vendor.json"):
        digest.update((WEB / name).read_bytes())
    return digest.hexdigest()


def vendor_map() -> dict[str, list[str]]:
    """package → files to copy (web/vendor.json; keys starting with "_" are comments)."""
    wanted = json.loads((WEB / "vendor.json").read_text(encoding="utf-8"))
    return {name: list(paths) for name, paths in wanted.items() if not name.startswith("_")}


def vendor_ready() -> bool:
    if not VENDOR_STAMP.exists() or VENDOR_STAMP.read_text().strip() != vendor_digest():
        return False
    return all((VENDOR / name / path).is_file() for name, paths in vendor_map().items() for path in paths)


def tarball_url(name: str, entry: dict[str, str]) -> str:
    """The lock's ``resolved`` URL; without one (npm's omit-lockfile-registry-resolved) the registry's own."""
    url = entry.get("resolved") or f"{NPM_REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{entry['version']}.tgz"
    if urlsplit(url).scheme != "https":
        fail(f"{name}: refusing to download {url!r} (https only)")
    return url


def check_integrity(name: str, data: bytes, integrity: str) -> None:
    """Subresource Integrity as npm writes it (``sha512-<base64>``, possibly several): the strongest must match."""
    hashes = [part.split("-", 1) for part in integrity.split() if "-" in part]
    hashes = [(algo, value) for algo, value in hashes if algo in ("sha512", "sha384", "sha256")]
    if not hashes:
        fail(f"{name}: package-lock.json has no sha256/384/512 integrity hash ({integrity!r})")
    algo, value = max(hashes, key=lambda pair: pair[0])  # sha512 > sha384 > sha256 in string order, too
    if hashlib.new(algo, data).digest() != base64.b64decode(value):
        fail(f"{name}: the downloaded tarball does not match its {algo} integrity hash in package-lock.json")


def fetch_package(name: str, entry: dict[str, str], paths: list[str], into: Path) -> None:
    url = tarball_url(name, entry)
    print(f"    {name}@{entry['version']}  {url}", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310  (https only, checked above)
            data = response.read(MAX_TARBALL_BYTES + 1)
    except OSError as exc:
        fail(f"{name}: could not download {url}: {exc}")
    if len(data) > MAX_TARBALL_BYTES:
        fail(f"{name}: tarball larger than {MAX_TARBALL_BYTES} bytes")
    check_integrity(name, data, entry.get("integrity", ""))  # before anything is read from the archive
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        # npm tarballs hold one top folder (usually package/): index members by their path below it
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
        for path in paths:
            if path.startswith("/") or ".." in Path(path).parts:
                fail(f"{name}: web/vendor.json path {path!r} must be relative, without '..'")
            member = members.get(path)
            if member is None or not member.isfile():
                fail(f"{name}@{entry['version']} has no file {path!r} (web/vendor.json)")
            source = tar.extractfile(member)
            assert source is not None
            target = into / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())


def ensure_vendor() -> None:
    """Copy the front-end files the app serves into web/static/vendor/, unless the stamp says they are current."""
    if vendor_ready():
        print("    front-end packages up to date (web/static/vendor/)")
        return
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    packages = lock.get("packages", {})
    staging = VENDOR.with_name("vendor.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, paths in vendor_map().items():
        entry = packages.get(f"node_modules/{name}")
        if entry is None:
            fail(
                f"{name} is in web/vendor.json but not in web/package-lock.json: add it to web/package.json and "
                "run `npm install --package-lock-only` in web/"
            )
        fetch_package(name, entry, paths, staging)
    (staging / VENDOR_STAMP.name).write_text(vendor_digest() + "\n")
    shutil.rmtree(VENDOR, ignore_errors=True)
    staging.rename(VENDOR)
    print(f"    copied into {VENDOR.relative_to(ROOT)}/", flush=True)


def cmd_vendor(argv: list[str]) -> None:
    argparse.ArgumentParser(prog="dev.py vendor", description="fetch the web app's front-end packages").parse_args(argv)
    say("front-end packages (web/package-lock.json)")
    ensure_vendor()


def ensure_chromium() -> None:
    """Debian's chromium for the browser tests (Playwright's own browser download cannot work here). Never fatal:
    without it the web tests skip, or fail under CI / PHOIHOP_REQUIRE_POSTGRES=1."""
    if Path(CHROMIUM).exists():
        print(f"    {CHROMIUM} is installed")
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        print(
            f"    {CHROMIUM} is missing and this is not root with apt-get: the browser tests will skip "
            "(install it with: sudo apt-get install -y chromium)"
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        print(f"    running: {' '.join(command)}", flush=True)
        try:
            code = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False, timeout=900).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"    {command[1]} failed: {exc}")
            return
        if code != 0:
            print(f"    {' '.join(command)} exited with {code}: the browser tests will skip (fail under CI)")
            return
    print(f"    installed {CHROMIUM}")


def cmd_run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="dev.py run", description="run the API on SQLite, processes deployed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    setup()
    say("front-end packages (web/package-lock.json)")
    ensure_vendor()
    env = {**os.environ, "PHOIHOP_ENV": "dev"}
    env.setdefault("PHOIHOP_DATABASE_URL", "sqlite:///./var/phoihop.db")
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104  (only for display)
    url = f"http://{shown_host}:{args.port}"
    say("starting phoihop (PHOIHOP_ENV=dev: built-in development secret, tokens are forgeable)")
    print(
        f"    Web app   {url}/  (sign in as one of the demo users below)\n    API       {url}/api/v1\n"
        f"    Docs      {url}/docs\n    Database  {env['PHOIHOP_DATABASE_URL']}\n"
        f"    Processes {ROOT / 'processes'} (deployed at start)\n    Token     TOKEN=$({AUTH_HINT})\n"
        f'    Try       curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/tasks\n',
        flush=True,
    )
    from phoihop.web.demo_users import DEMO_USERS  # stdlib-only data module, shared with the sign-in page

    print("    Demo users (sign-in page, PHOIHOP_ENV=dev only):")
    for user in DEMO_USERS:
        print(f"      {user.sub:<16} {user.name:<24} {','.join(user.groups) or '-':<10} {','.join(user.roles)}")
    print(flush=True)
    phoihop = str(BIN / "phoihop")
    os.execve(phoihop, [phoihop, "serve", "--host", args.host, "--port", str(args.port)], env)


def postgres_reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def ensure_postgres() -> None:
    """Start the local PostgreSQL cluster(s) if nothing answers on the test server's port. Never fatal here:
    the tests skip PostgreSQL, or fail when PHOIHOP_REQUIRE_POSTGRES=1."""
    parts = urlsplit(PG_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if postgres_reachable(host, port):
        print(f"    PostgreSQL is up at {host}:{port}")
        return
    conf = Path("/etc/postgresql")
    if not (shutil.which("pg_ctlcluster") and conf.is_dir()):
        print(f"    PostgreSQL is not reachable at {host}:{port} and pg_ctlcluster is not installed")
        return
    for version in sorted(p.name for p in conf.iterdir() if p.is_dir()):
        print(f"    starting PostgreSQL {version}/main")
        try:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                stdin=subprocess.DEVNULL,
                check=False,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"    could not start PostgreSQL {version}: {exc}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if postgres_reachable(host, port):
            print(f"    PostgreSQL is up at {host}:{port}")
            return
        time.sleep(0.5)
    print(f"    PostgreSQL still not reachable at {host}:{port}")


def step(number: int, title: str, command: list[str], env: dict[str, str] | None = None) -> None:
    say(f"[{number}/4] {title}")
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    if code == 5 and command[1:3] == ["-m", "pytest"]:
        fail("pytest collected no tests (exit 5): that counts as a failure", 5)
    if code != 0:
        fail(f"step {number} ({title}) failed with exit code {code}", code)
    print(f"    ok ({time.monotonic() - started:.1f} s)", flush=True)


FAST_TESTS = "not system and not browser and not postgresql"  # the markers of tests/conftest.py


def pytest_workers(pytest_args: list[str]) -> list[str]:
    """``-n <workers>``, unless the pytest arguments choose already (-n, --numprocesses, -p no:xdist, --pdb) or name
    single tests (``file.py::test``: starting workers would take longer than running them here)."""
    chosen = ("-n", "--numprocesses", "--dist", "--pdb", "--trace", "no:xdist", "-pno:xdist")
    if any(arg.startswith(chosen) or "::" in arg for arg in pytest_args):
        return []
    workers = os.environ.get("PHOIHOP_TEST_WORKERS", "")
    if not workers:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        workers = str(cpus or 1)
    return ["-n", workers]


def cmd_test(argv: list[str]) -> None:
    require_pg = "--require-postgres" in argv or os.environ.get("CI", "").lower() not in ("", "0", "false")
    fast = "--fast" in argv
    pytest_args = [arg for arg in argv if arg not in ("--require-postgres", "--fast")]
    if fast:
        pytest_args = ["-m", FAST_TESTS, *pytest_args]
    setup()
    bin_ = str(BIN)
    step(1, "ruff check .", [f"{bin_}/ruff", "check", "."])
    step(2, "mypy (packages from pyproject.toml, strict)", [f"{bin_}/mypy"])
    step(3, "lint-imports (architecture contracts)", [f"{bin_}/lint-imports", "--no-cache", "--no-logo"])
    if not fast:  # the fast loop runs on SQLite alone, without a browser
        say("PostgreSQL for the tests" + (" (required: PHOIHOP_REQUIRE_POSTGRES=1)" if require_pg else ""))
        ensure_postgres()
    say("front-end packages" + ("" if fast else " and Chromium for the browser tests (tests/web)"))
    ensure_vendor()
    if not fast:
        ensure_chromium()
    env = dict(os.environ)
    if require_pg:
        env["PHOIHOP_REQUIRE_POSTGRES"] = "1"
    workers = pytest_workers(pytest_args)
    step(
        4,
        (f'pytest -m "{FAST_TESTS}" (SQLite)' if fast else "pytest on SQLite and PostgreSQL")
        + (f", {workers[1]} workers" if workers else ""),
        [f"{bin_}/python", "-m", "pytest", "-p", "no:cacheprovider", "-q", *workers, *pytest_args],
        env,
    )
    say("all checks passed")


def main(argv: list[str]) -> None:
    commands = {"run": cmd_run, "test": cmd_test, "vendor": cmd_vendor}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    commands[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
