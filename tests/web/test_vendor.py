"""dev.py's front-end package step (python only, no node): every file web/vendor.json names comes from a package pinned
in web/package-lock.json, with an https tarball URL and an integrity hash that is checked before anything is read."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

import dev
from tests.web.conftest import ensure_vendor


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


def test_the_vendored_files_are_in_place_and_stamped() -> None:
    ensure_vendor()  # python3 dev.py vendor when they are missing
    assert dev.vendor_ready()
