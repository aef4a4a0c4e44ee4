#!/usr/bin/env python3
"""Set everything up and run phoihop, on a machine that has only python3. Standard library only.

    python3 dev.py run [--host H] [--port P]   the service on SQLite (var/phoihop.db), the processes deployed
    python3 dev.py test [--require-postgres] [--fast] [pytest args...]
                                               ruff check, ruff format --check, mypy and import-linter, with pytest
                                               on SQLite and PostgreSQL running beside them (and the browser tests:
                                               Debian's chromium-headless-shell is installed if missing)
    python3 dev.py lock [--upgrade | --upgrade-package NAME]
                                               pin every Python dependency with its hashes into requirements.lock
    python3 dev.py vendor                      download the web app's front-end packages into web/static/vendor/

run and test create .venv when missing and install into it the locked dependencies (``uv pip install --require-hashes
-r requirements.lock``, uv itself locked and installed by pip; pip does it all where uv cannot), then phoihop itself
(``--no-deps -e .``), again only when requirements.lock or pyproject.toml changed since the last install (their SHA-256
is kept in .venv/phoihop-install.sha256). mypy keeps its incremental cache in ~/.cache/phoihop/mypy (XDG_CACHE_HOME),
shared by every checkout, so a fresh clone is not checked from nothing. ``lock``
runs pip-compile (a locked dev tool) on pyproject.toml's ranges; ``pip install .`` still uses those ranges.

The front-end files are committed (web/static/vendor/ with its SHA256SUMS), so run and test download nothing for
them. ``vendor`` updates them: the npm packages pinned in web/package-lock.json are downloaded from their
``resolved`` URL, checked against their ``integrity`` hash, and only the files web/vendor.json names are copied (no
node needed), with SHA256SUMS naming each package's version and integrity and each file's SHA-256.

Tests. pytest runs on one worker per CPU, one more for the whole suite (pytest-xdist ``-n``; PHOIHOP_TEST_WORKERS=N to
choose, or pass ``-n N`` or ``-p no:xdist`` yourself; a test id alone runs without workers). Every database test runs
on SQLite and on PostgreSQL (one database per worker, emptied before each test). Markers set the slow parts apart:
``system`` (real ``phoihop`` server processes: tests/system, and the web tests on a live server), ``browser``
(Chromium driven by Playwright) and ``postgresql`` (the PostgreSQL variant of each database test). The loop to run
while working:

    python3 dev.py test --fast                 the same checks, with pytest -m "not system and not browser and not
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
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / "phoihop-install.sha256"
LOCK = ROOT / "requirements.lock"  # the Python dependencies pinned with hashes: `python3 dev.py lock` writes it
PG_URL = os.environ.get("PHOIHOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WEB = ROOT / "web"
VENDOR = WEB / "static" / "vendor"
VENDOR_MANIFEST = "SHA256SUMS"  # below VENDOR: the packages' versions and integrity, each file's SHA-256
NPM_REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 100_000_000
# Debian's chromium-headless-shell: Chromium's own engine (Blink, V8, the same version as the chromium package) built
# without the browser's windows, the build Playwright itself runs for headless tests. The full /usr/bin/chromium runs
# headless too, but starts its browser UI's renderer and compositor with every page: the 28 browser tests took 64
# CPU-seconds with it against 42 with the shell (same run, load 10-14). CHROMIUM_PATH chooses another binary.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
FULL_CHROMIUM = "/usr/bin/chromium"
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


def pip(*args: str, quiet: bool = True) -> None:
    """``.venv/bin/python -m pip ARGS`` in the checkout; a failure ends dev.py with pip's exit code."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PIP_ROOT_USER_ACTION": "ignore"}
    command = [str(BIN / "python"), "-m", "pip", *args[:1], *(["-qq"] if quiet else []), *args[1:]]
    done = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        fail(f"{' '.join(['pip', *args])} failed (exit {done.returncode}); see the errors above", done.returncode)


def install_digest() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def ensure_installed(*, check_lock: bool = True) -> None:
    """The locked dependencies (requirements.lock, every file checked against its hash), then phoihop itself in
    editable mode; skipped when neither the lock nor pyproject.toml changed since the last successful install.
    Without ``check_lock`` (``dev.py lock``, about to rewrite it) a lock that lacks what pyproject.toml asks for is
    let through, and the install is not stamped as done."""
    digest = install_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and (BIN / "phoihop").exists():
        return
    STAMP.unlink(missing_ok=True)
    if LOCK.exists():
        say(f"installing the locked dependencies ({LOCK.name}) and phoihop into .venv")
        started = time.monotonic()
        if not uv_install_locked():
            # --no-compile: byte-compiling every installed file up front cost ~11 of ~28 s here; Python compiles what
            # it imports on first use instead (measured on a fresh venv from pip's cache)
            pip("install", "--no-compile", "--require-hashes", "-r", str(LOCK))
            # no dependency of its own (they are all locked above) and no build environment to download: the locked
            # setuptools builds the editable install
            pip("install", "--no-deps", "--no-build-isolation", "-e", ".")
        print(f"    installed ({time.monotonic() - started:.1f} s)", flush=True)
        if not check_lock:
            return
        check_lock_covers_pyproject()
    else:
        say(f"no {LOCK.name}: installing phoihop and its dev tools unlocked (pip install -e .[dev])")
        pip("install", "-e", ".[dev]")
    STAMP.write_text(digest + "\n")


def locked_entry(name: str) -> str:
    """``name``'s entry in requirements.lock (``name==version --hash=... --hash=...``) as one requirements line;
    empty when the lock has none."""
    entry: list[str] = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if entry and line.lstrip().startswith("--hash="):
            entry.append(line.strip().rstrip("\\").strip())
        elif entry:
            break
        elif line.startswith(f"{name}=="):
            entry.append(line.rstrip("\\").strip())
    return " ".join(entry)


def uv_install_locked() -> bool:
    """The locked dependencies, then phoihop in editable mode, installed by uv (itself locked: pip installs it first,
    checked against its hashes). uv installs the ~110 locked packages from its cache in ~3 s where pip takes ~30 s of
    CPU (measured on a fresh venv, both caches warm); like ``pip --no-compile`` it byte-compiles nothing. False when
    uv is not in the lock or cannot install (no index it can reach: it reads ``UV_*`` settings, not pip's): pip
    does the install then."""
    entry = locked_entry("uv")
    if not entry:
        return False
    requirement = VENV / "uv-requirement.txt"
    requirement.write_text(entry + "\n", encoding="utf-8")
    pip("install", "--no-compile", "--require-hashes", "-r", str(requirement))
    env = {**os.environ, "VIRTUAL_ENV": str(VENV), "UV_NO_PROGRESS": "1"}
    python = str(BIN / "python")
    for args in (
        ["--require-hashes", "-r", str(LOCK)],
        ["--no-deps", "--no-build-isolation", "-e", "."],  # the locked setuptools builds it, nothing downloaded
    ):
        command = [str(BIN / "uv"), "pip", "install", "--quiet", "--python", python, *args]
        if subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, check=False).returncode != 0:
            print("    uv could not install (see above): pip installs instead", flush=True)
            return False
    return True


def check_lock_covers_pyproject() -> None:
    """pip check: every dependency pyproject.toml asks for is installed at a version it accepts (a dependency added
    to pyproject.toml but not to the lock shows here)."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        [str(BIN / "python"), "-m", "pip", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        fail(f"{done.stdout.strip()}\n{LOCK.name} does not satisfy pyproject.toml: run `python3 dev.py lock`")


def cmd_lock(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="dev.py lock",
        description=f"write {LOCK.name}: every Python dependency of phoihop and its dev tools pinned, with hashes "
        "(pip-compile); versions already locked stay unless pyproject.toml excludes them or --upgrade is given",
    )
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions pyproject.toml allows")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME", help="upgrade NAME only")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    ensure_venv()
    ensure_installed(check_lock=False)  # pip-compile is a locked dev tool: .venv from the current lock
    target = subprocess.run(
        [
            str(BIN / "python"),
            "-c",
            "import platform, sys; print(sys.implementation.name, sys.version_info[:2], "
            "platform.system(), platform.machine())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if target != "cpython (3, 11) Linux x86_64":
        print(f"    note: {LOCK.name} is made for CPython 3.11 on Linux x86_64 (CI); this is {target}", flush=True)
    say(f"locking the Python dependencies into {LOCK.name} (pip-compile --generate-hashes --extra dev)")
    command = [
        str(BIN / "pip-compile"),
        "--quiet",
        "--generate-hashes",
        "--extra=dev",
        "--strip-extras",
        "--allow-unsafe",  # pip and setuptools are locked too: pip-tools needs a recent pip, setuptools builds phoihop
        "--no-build-isolation",
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--no-emit-trusted-host",
        f"--output-file={LOCK.name}",
        *(["--upgrade"] if args.upgrade else []),
        *[f"--upgrade-package={name}" for name in args.upgrade_package],
        "pyproject.toml",
    ]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"}
    code = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, check=False).returncode
    if code != 0:
        fail(f"pip-compile failed (exit {code})", code)
    ensure_installed()  # the new lock, into .venv
    print(f"    wrote {LOCK.name}; commit it with pyproject.toml", flush=True)


def setup() -> None:
    os.chdir(ROOT)
    ensure_venv()
    ensure_installed()


# --- front-end packages (web/package-lock.json → web/static/vendor/, committed with its SHA256SUMS) -----------------
def vendor_map() -> dict[str, list[str]]:
    """package → files to copy (web/vendor.json; keys starting with "_" are comments)."""
    wanted = json.loads((WEB / "vendor.json").read_text(encoding="utf-8"))
    return {name: list(paths) for name, paths in wanted.items() if not name.startswith("_")}


def locked_packages() -> dict[str, dict[str, str]]:
    """package → its entry in web/package-lock.json (version, resolved, integrity), for every package of vendor.json."""
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    packages = lock.get("packages", {})
    entries = {}
    for name in vendor_map():
        entry = packages.get(f"node_modules/{name}")
        if entry is None:
            fail(
                f"{name} is in web/vendor.json but not in web/package-lock.json: add it to web/package.json and "
                "run `npm install --package-lock-only` in web/"
            )
        entries[name] = entry
    return entries


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_vendor_manifest(folder: Path = VENDOR) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """SHA256SUMS of ``folder``: packages (name → (version, integrity)) from its ``# package`` lines, and files
    (path below the folder → SHA-256). Missing: both empty."""
    manifest = folder / VENDOR_MANIFEST
    packages: dict[str, tuple[str, str]] = {}
    files: dict[str, str] = {}
    if not manifest.is_file():
        return packages, files
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.startswith("# package "):
            name, version, integrity = line.removeprefix("# package ").split()
            packages[name] = (version, integrity)
        elif line and not line.startswith("#"):
            digest, path = line.split("  ", 1)
            files[path] = digest
    return packages, files


def vendor_problems(folder: Path = VENDOR) -> list[str]:
    """What is wrong with the vendored files in ``folder`` (empty: nothing), with no network: SHA256SUMS must name
    each package of web/vendor.json at the version and integrity web/package-lock.json pins, list exactly the files
    web/vendor.json names, and every file must have its listed SHA-256; no other file may be there."""
    packages, files = read_vendor_manifest(folder)
    if not packages and not files:
        return [f"{folder / VENDOR_MANIFEST} is missing: run `python3 dev.py vendor`"]
    problems = []
    locked = locked_packages()
    for name, entry in locked.items():
        if packages.get(name) != (entry["version"], entry.get("integrity", "")):
            problems.append(
                f"{name}: {VENDOR_MANIFEST} has {packages.get(name)}, the lock {entry['version']} "
                f"{entry.get('integrity', '')}: run `python3 dev.py vendor`"
            )
    problems += [f"{name}: in {VENDOR_MANIFEST} but not in web/vendor.json" for name in packages.keys() - locked.keys()]
    wanted = {f"{name}/{path}" for name, paths in vendor_map().items() for path in paths}
    problems += [f"{path}: in web/vendor.json but not in {VENDOR_MANIFEST}" for path in sorted(wanted - files.keys())]
    problems += [f"{path}: in {VENDOR_MANIFEST} but not in web/vendor.json" for path in sorted(files.keys() - wanted)]
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {VENDOR_MANIFEST}
    for path, digest in sorted(files.items()):
        if path not in present:
            problems.append(f"{path}: missing")
        elif sha256_file(folder / path) != digest:
            problems.append(f"{path}: its SHA-256 is not the one in {VENDOR_MANIFEST} (changed after `dev.py vendor`)")
    problems += [f"{path}: not listed in {VENDOR_MANIFEST}" for path in sorted(present - files.keys())]
    return problems


def vendor_ready() -> bool:
    return not vendor_problems()


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


def write_vendor_manifest(folder: Path, locked: dict[str, dict[str, str]]) -> None:
    lines = [
        "# The web app's front-end files, copied by `python3 dev.py vendor` from the npm tarballs that",
        "# web/package-lock.json pins (each checked against its integrity hash first), as web/vendor.json lists them.",
        "# Do not edit: change web/package.json (then `npm install --package-lock-only` in web/) or web/vendor.json,",
        "# and run `python3 dev.py vendor`. Check the files here with `sha256sum -c SHA256SUMS`.",
    ]
    lines += [f"# package {name} {entry['version']} {entry['integrity']}" for name, entry in sorted(locked.items())]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    lines += [f"{sha256_file(folder / path)}  {path}" for path in files]
    (folder / VENDOR_MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")


def fetch_vendor() -> None:
    """Download the packages, check them, and replace web/static/vendor/ with the listed files and their SHA256SUMS."""
    locked = locked_packages()
    staging = VENDOR.with_name("vendor.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, paths in vendor_map().items():
        fetch_package(name, locked[name], paths, staging)
    write_vendor_manifest(staging, locked)
    shutil.rmtree(VENDOR, ignore_errors=True)
    staging.rename(VENDOR)
    print(
        f"    copied into {VENDOR.relative_to(ROOT)}/ with its {VENDOR_MANIFEST}; commit them "
        f"(`git status {VENDOR.relative_to(ROOT)}` shows what changed)",
        flush=True,
    )


def cmd_vendor(argv: list[str]) -> None:
    argparse.ArgumentParser(
        prog="dev.py vendor",
        description="download the web app's front-end packages pinned in web/package-lock.json and copy the files "
        "web/vendor.json lists into web/static/vendor/ (committed) with their SHA256SUMS",
    ).parse_args(argv)
    say("front-end packages (web/package-lock.json → web/static/vendor/)")
    fetch_vendor()
    problems = vendor_problems()
    if problems:
        fail("the vendored files do not check out:\n    " + "\n    ".join(problems))


def warn_if_vendor_stale() -> None:
    """The committed front-end files must match the lock; say so (no download: `dev.py vendor` does that)."""
    problems = vendor_problems()
    if problems:
        print("    web/static/vendor/ does not match web/package-lock.json / web/vendor.json:", flush=True)
        for problem in problems[:10]:
            print(f"      {problem}", flush=True)


def chromium_path() -> str:
    """The browser the tests drive: CHROMIUM_PATH, else the headless shell, else the full chromium when only it is
    installed (the shell's path when neither is: the tests then say it is missing)."""
    chosen = os.environ.get("CHROMIUM_PATH")
    if chosen:
        return chosen
    if Path(HEADLESS_SHELL).exists() or not Path(FULL_CHROMIUM).exists():
        return HEADLESS_SHELL
    return FULL_CHROMIUM


def ensure_chromium() -> None:
    """Debian's chromium-headless-shell for the browser tests (Playwright's own browser download cannot work here).
    Never fatal: without a Chromium the web tests skip, or fail under CI / PHOIHOP_REQUIRE_POSTGRES=1; without the
    shell but with the full chromium they run on the full one."""
    browser = chromium_path()
    if os.environ.get("CHROMIUM_PATH") or (browser == HEADLESS_SHELL and Path(browser).exists()):
        print(
            f"    {browser} "
            + ("is installed" if Path(browser).exists() else "does not exist: the browser tests will skip")
        )
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        print(
            f"    {HEADLESS_SHELL} is missing and this is not root with apt-get: the browser tests "
            + (f"run on {FULL_CHROMIUM}" if browser == FULL_CHROMIUM else "will skip")
            + " (install it with: sudo apt-get install -y chromium-headless-shell)"
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium-headless-shell"]):
        print(f"    running: {' '.join(command)}", flush=True)
        try:
            code = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False, timeout=900).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"    {command[1]} failed: {exc}")
            return
        if code != 0:
            print(f"    {' '.join(command)} exited with {code}: the browser tests will skip (fail under CI)")
            return
    print(f"    installed {HEADLESS_SHELL}")


def bytecode_cached(env: dict[str, str]) -> dict[str, str]:
    """Python caches compiled modules in .venv/pycache even where the environment turns caching off
    (PYTHONDONTWRITEBYTECODE, set on this project's CI machines): every server, worker and script-worker process
    the tests start otherwise compiles its imports from source again (a script worker took 0.9 s to start, 0.8 s of
    it compiling ``holidays``). The cache lives in the venv, so the working tree stays as it was."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(VENV / "pycache")
    return env


def cmd_run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="dev.py run", description="run the API on SQLite, processes deployed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    setup()
    warn_if_vendor_stale()
    env = bytecode_cached({**os.environ, "PHOIHOP_ENV": "dev"})
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


PHASES: list[tuple[str, float]] = []  # (phase, wall seconds) of this run, summed up at its end


def check_commands() -> list[tuple[str, list[str]]]:
    """The static checks, in the order they report: (title, command)."""
    bin_ = str(BIN)
    return [
        ("ruff check .", [f"{bin_}/ruff", "check", "."]),
        ("ruff format --check . (the formatter owns the layout)", [f"{bin_}/ruff", "format", "--check", "."]),
        ("mypy (packages from pyproject.toml, strict)", [f"{bin_}/mypy", "--cache-dir", str(mypy_cache())]),
        ("lint-imports (architecture contracts)", [f"{bin_}/lint-imports", "--no-cache", "--no-logo"]),
    ]


class Checks(threading.Thread):
    """The static checks, one after another, while pytest runs beside them (they need one core for ~5 s, ~15 s when
    mypy's cache is cold, and pytest's workers spend that time starting and collecting). Each one's output is kept
    and shown by ``report``: the first that fails ends the run (``cmd_test`` stops pytest)."""

    def __init__(self) -> None:
        super().__init__(name="checks", daemon=True)
        self.results: list[tuple[str, int, str, float]] = []  # (title, exit code, output, wall seconds)

    def run(self) -> None:
        for title, command in check_commands():
            started = time.monotonic()
            done = subprocess.run(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
            )
            self.results.append((title, done.returncode, done.stdout + done.stderr, time.monotonic() - started))
            if done.returncode != 0:
                return

    def failed(self) -> tuple[str, int] | None:
        return next(((title, code) for title, code, _, _ in self.results if code != 0), None)

    def report(self) -> None:
        for number, (title, code, output, seconds) in enumerate(self.results, 1):
            say(f"[{number}/5] {title}")
            print(output.rstrip("\n"), flush=True)
            if code == 0:
                PHASES.append((title.split(" (")[0], seconds))
                print(f"    ok ({seconds:.1f} s)", flush=True)


def interrupt(process: subprocess.Popen[bytes]) -> None:
    """^C for ``process``'s group, as the terminal would have sent it: pytest stops and says where; then ``stop``."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End ``process`` and everything it started (its own process group: pytest's workers, their servers)."""
    for signal_, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, signal_)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def mypy_cache() -> Path:
    """mypy's incremental cache, shared by the checkouts of this user: mypy keys it by module and checks each file's
    hash, so a fresh clone rechecks only what differs from the last run (~1 s of CPU instead of ~15 s from nothing,
    measured on this project), and checkouts at other commits only make it recheck their differences."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "phoihop" / "mypy"


FAST_TESTS = "not system and not browser and not postgresql"  # the markers of tests/conftest.py


def pytest_workers(pytest_args: list[str], *, fast: bool) -> list[str]:
    """``-n <workers>``, unless the pytest arguments choose already (-n, --numprocesses, -p no:xdist, --pdb) or name
    single tests (``file.py::test``: starting workers would take longer than running them here). One worker per CPU
    for the fast loop (CPU-bound); one more for the whole suite, whose server and browser tests spend much of their
    time waiting: on the 2-core machine a fresh clone's whole suite took 215 s on 3 workers against 242-250 s on 2
    and 227 s on 4 (7/12/2026, idle machine)."""
    chosen = ("-n", "--numprocesses", "--dist", "--pdb", "--trace", "no:xdist", "-pno:xdist")
    if any(arg.startswith(chosen) or "::" in arg for arg in pytest_args):
        return []
    workers = os.environ.get("PHOIHOP_TEST_WORKERS", "")
    if not workers:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        workers = str((cpus or 1) + (0 if fast else 1))
    return ["-n", workers]


def cmd_test(argv: list[str]) -> None:
    require_pg = "--require-postgres" in argv or os.environ.get("CI", "").lower() not in ("", "0", "false")
    fast = "--fast" in argv
    pytest_args = [arg for arg in argv if arg not in ("--require-postgres", "--fast")]
    if fast:
        pytest_args = ["-m", FAST_TESTS, *pytest_args]
    began = time.monotonic()
    setup()
    PHASES.append(("setup (.venv)", time.monotonic() - began))
    say("[1-4/5] ruff check, ruff format --check, mypy and lint-imports, beside pytest (their output when it ends)")
    checks = Checks()
    checks.start()
    if not fast:  # the fast loop runs on SQLite alone, without a browser
        say("PostgreSQL for the tests" + (" (required: PHOIHOP_REQUIRE_POSTGRES=1)" if require_pg else ""))
        ensure_postgres()
        say("Chromium for the browser tests (tests/web)")
        ensure_chromium()
    env = bytecode_cached(dict(os.environ))
    if require_pg:
        env["PHOIHOP_REQUIRE_POSTGRES"] = "1"
    workers = pytest_workers(pytest_args, fast=fast)
    title = (f'pytest -m "{FAST_TESTS}" (SQLite)' if fast else "pytest on SQLite and PostgreSQL") + (
        f", {workers[1]} workers" if workers else ""
    )
    say(f"[5/5] {title}")
    started = time.monotonic()
    command = [str(BIN / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q", *workers, *pytest_args]
    # its own process group, so that a failed check or ^C ends its workers and their servers with it
    pytest = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        checks.join()
        failed = checks.failed()
        if failed is not None:
            stop(pytest)
            checks.report()
            fail(f"{failed[0]} failed with exit code {failed[1]} (pytest stopped)", failed[1])
        code = pytest.wait()
    except KeyboardInterrupt:  # ^C reaches dev.py alone (pytest has its own session): pass it on, pytest reports
        interrupt(pytest)
        fail("interrupted", 130)
    except BaseException:  # nothing is left running
        stop(pytest)
        raise
    pytest_seconds = time.monotonic() - started
    checks.report()
    if code == 5:
        fail("pytest collected no tests (exit 5): that counts as a failure", 5)
    if code != 0:
        fail(f"step 5 ({title}) failed with exit code {code}", code)
    PHASES.append((title.split(" (")[0], pytest_seconds))
    PHASES.append(("total", time.monotonic() - began))
    say("all checks passed: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in PHASES))


def main(argv: list[str]) -> None:
    commands = {"run": cmd_run, "test": cmd_test, "vendor": cmd_vendor, "lock": cmd_lock}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    commands[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
