#!/usr/bin/env python3
"""Set everything up and run phoihop, on a machine that has only python3. Standard library only.

    python3 dev.py run [--host H] [--port P]   the API on SQLite (var/phoihop.db), processes/ deployed
    python3 dev.py test [--require-postgres] [pytest args...]
                                               ruff, mypy, import-linter, then pytest on SQLite and PostgreSQL

Both create .venv when missing and reinstall the project (``pip install -e .[dev]``) only when pyproject.toml
changed since the last install (its SHA-256 is kept in .venv/phoihop-install.sha256).
"""

# ruff: noqa: S603, S606, S607  (this script's whole job is running fixed local commands, never a shell)

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / "phoihop-install.sha256"
PG_URL = os.environ.get("PHOIHOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
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
    installed = subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-qq", "-e", ".[dev]"],
                               cwd=ROOT, env=env, stdin=subprocess.DEVNULL, check=False)
    if installed.returncode != 0:
        fail(f"pip install failed (exit {installed.returncode}); see the errors above", installed.returncode)
    STAMP.write_text(digest + "\n")


def setup() -> None:
    os.chdir(ROOT)
    ensure_venv()
    ensure_installed()


def cmd_run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="dev.py run", description="run the API on SQLite, processes deployed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    setup()
    env = {**os.environ, "PHOIHOP_ENV": "dev"}
    env.setdefault("PHOIHOP_DATABASE_URL", "sqlite:///./var/phoihop.db")
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104  (only for display)
    url = f"http://{shown_host}:{args.port}"
    say("starting phoihop (PHOIHOP_ENV=dev: built-in development secret, tokens are forgeable)")
    print(f"    API       {url}\n    Docs      {url}/docs\n    Database  {env['PHOIHOP_DATABASE_URL']}\n"
          f"    Processes {ROOT / 'processes'} (deployed at start)\n    Token     TOKEN=$({AUTH_HINT})\n"
          f'    Try       curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/tasks\n', flush=True)
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
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                           stdin=subprocess.DEVNULL, check=False, timeout=60)
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


def cmd_test(argv: list[str]) -> None:
    require_pg = "--require-postgres" in argv or os.environ.get("CI", "").lower() not in ("", "0", "false")
    pytest_args = [arg for arg in argv if arg != "--require-postgres"]
    setup()
    bin_ = str(BIN)
    step(1, "ruff check .", [f"{bin_}/ruff", "check", "."])
    step(2, "mypy (packages from pyproject.toml, strict)", [f"{bin_}/mypy"])
    step(3, "lint-imports (architecture contracts)", [f"{bin_}/lint-imports", "--no-cache", "--no-logo"])
    say("PostgreSQL for the tests" + (" (required: PHOIHOP_REQUIRE_POSTGRES=1)" if require_pg else ""))
    ensure_postgres()
    env = dict(os.environ)
    if require_pg:
        env["PHOIHOP_REQUIRE_POSTGRES"] = "1"
    step(4, "pytest on SQLite and PostgreSQL", [f"{bin_}/python", "-m", "pytest", "-p", "no:cacheprovider", "-q",
                                                *pytest_args], env)
    say("all checks passed")


def main(argv: list[str]) -> None:
    commands = {"run": cmd_run, "test": cmd_test}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    commands[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
