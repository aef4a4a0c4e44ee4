"""dev.py's install and check helpers (standard library, run before .venv exists): uv's pinned entry is read from
requirements.lock with its hashes, and mypy's cache lives outside the checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dev


def test_the_uv_entry_of_the_lock_is_its_pin_with_every_hash_and_nothing_else() -> None:
    lock = dev.LOCK.read_text(encoding="utf-8")
    pin = re.search(r"^uv==(\S+) \\$", lock, re.MULTILINE)
    assert pin is not None, "uv is locked (pyproject.toml's dev tools)"
    block = lock[pin.start() :].split("\n    # via", 1)[0]
    hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)

    entry = dev.locked_entry("uv")

    assert entry.split() == [f"uv=={pin.group(1)}", *(f"--hash=sha256:{digest}" for digest in hashes)]
    assert len(hashes) >= 2  # one wheel per platform, and the sdist
    assert "\\" not in entry and "#" not in entry


def test_a_name_the_lock_does_not_pin_has_no_entry() -> None:
    assert dev.locked_entry("no-such-package") == ""
    assert dev.locked_entry("u") == ""  # a prefix of a locked name is not that name


def test_mypy_keeps_its_cache_below_the_users_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert dev.mypy_cache() == tmp_path / "phoihop" / "mypy"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert dev.mypy_cache() == Path.home() / ".cache" / "phoihop" / "mypy"
    assert not dev.mypy_cache().is_relative_to(dev.ROOT)
