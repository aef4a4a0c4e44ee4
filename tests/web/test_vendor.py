"""The web app's front-end packages: committed in web/static/vendor/ with a SHA256SUMS that ``python3 dev.py vendor``
writes after checking each npm tarball against web/package-lock.json (python only, no node). Every file web/vendor.json
names comes from a package pinned there, with an https tarball URL and an integrity hash checked before anything is
read; SHA256SUMS names each package's version and integrity, and every file served is the one it lists."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

import dev
from tests.web.conftest import LiveServer


def test_every_vendored_package_is_locked_exactly_with_its_integrity() -> None:
    lock = json.loads((dev.WEB / "package-lock.json").read_text(encoding="utf-8"))
    declared = json.loads((dev.WEB / "package.json").read_text(encoding="utf-8"))["dependencies"]
    for name, paths in dev.vendor_map().items():
        entry = lock["packages"][f"node_modules/{name}"]
        assert declared[name] == entry["version"]  # pinned exactly, not a range
        assert entry["integrity"].startswith("sha512-")
        assert dev.tarball_url(name, entry).startswith(f"https://registry.npmjs.org/{name}/-/")
        assert paths and all(not p.startswith("/") and ".." not in p for p in paths)


def test_a_tarball_is_checked_against_the_lock_before_use() -> None:
    data = b"the tarball"
    good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    dev.check_integrity("pkg", data, good)
    dev.check_integrity("pkg", data, f"sha1-AAAA {good}")  # the strongest listed hash counts
    with pytest.raises(SystemExit):
        dev.check_integrity("pkg", data + b"!", good)
    with pytest.raises(SystemExit):
        dev.check_integrity("pkg", data, "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode())
    with pytest.raises(SystemExit):
        dev.tarball_url("pkg", {"version": "1.0.0", "resolved": "http://registry.npmjs.org/pkg/-/pkg-1.0.0.tgz"})
    assert (
        dev.tarball_url("@scope/pkg", {"version": "1.0.0"}) == "https://registry.npmjs.org/@scope/pkg/-/pkg-1.0.0.tgz"
    )


def test_the_manifest_names_the_locked_packages_and_exactly_the_listed_files() -> None:
    lock = json.loads((dev.WEB / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    packages, files = dev.read_vendor_manifest()
    assert packages == {
        name: (lock[f"node_modules/{name}"]["version"], lock[f"node_modules/{name}"]["integrity"])
        for name in dev.vendor_map()
    }
    assert set(files) == {f"{name}/{path}" for name, paths in dev.vendor_map().items() for path in paths}
    assert all(f"{name}/LICENSE" in files for name in dev.vendor_map())  # the licences travel with the code
    assert dev.vendor_problems() == []  # and every committed file has its listed SHA-256, no other file is there
    assert dev.vendor_ready()


def test_a_changed_missing_or_stray_vendored_file_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "vendor"
    shutil.copytree(dev.VENDOR, copy)
    assert dev.vendor_problems(copy) == []
    htmx = copy / "htmx.org" / "dist" / "htmx.min.js"
    htmx.write_bytes(htmx.read_bytes() + b"\n/* edited by hand */")
    (copy / "bpmn-js" / "LICENSE").unlink()
    (copy / "htmx.org" / "dist" / "htmx.js").write_text("/* not in vendor.json */")
    assert dev.vendor_problems(copy) == [
        "bpmn-js/LICENSE: missing",
        "htmx.org/dist/htmx.min.js: its SHA-256 is not the one in SHA256SUMS (changed after `dev.py vendor`)",
        "htmx.org/dist/htmx.js: not listed in SHA256SUMS",
    ]
    manifest = copy / dev.VENDOR_MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("# package htmx.org 2.", "# package htmx.org 1."))
    assert any(problem.startswith("htmx.org: SHA256SUMS has ('1.") for problem in dev.vendor_problems(copy))
    (manifest).unlink()
    assert dev.vendor_problems(copy) == [f"{manifest} is missing: run `python3 dev.py vendor`"]


def test_every_served_vendored_file_is_the_one_in_the_manifest(live_server: LiveServer) -> None:
    _, files = dev.read_vendor_manifest()
    client = live_server.client()
    for path, digest in files.items():
        response = client.get(f"/assets/vendor/{path}")
        assert response.status_code == 200, path
        assert hashlib.sha256(response.content).hexdigest() == digest, path
