"""Raw captures on disk: whole files or none (a real full tmpfs), owner-only whatever the
umask, and the size cap of the unread folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bridge.raw_store import RawStore

from .fault_helpers import fill, mode, small_tmpfs


def _everything(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_kept_files_are_whole_and_listed_in_order(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "unread")
    first = store.keep("front", 1, b"\x1b@one", "not read")
    second = store.keep("front", 2, b"\x1b@two")
    assert first is not None and second is not None
    assert first.read_bytes() == b"\x1b@one"
    assert first.with_suffix(".why").read_text() == "not read\n"
    assert store.waiting() == {"front": [first, second]}


def test_a_full_disk_keeps_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        store = RawStore(disk / "unread")
        assert store.keep("front", 1, b"x") is not None  # the folders exist before the disk fills
        before = _everything(disk / "unread")
        fill(disk)
        assert store.keep("front", 2, b"\x1b@" + b"A" * 20_000, "layout could not read it") is None
        # Neither a partial .bin nor its .why nor a temporary file is left to be counted.
        assert _everything(disk / "unread") == before
        assert "could not keep receipt 2's 20002 raw bytes" in caplog.text


def test_files_and_folders_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    before = os.umask(0)
    try:
        store = RawStore(tmp_path / "state" / "unread")
        path = store.keep("front till", 1, b"raw", "why")
        assert path is not None
        assert mode(path) == 0o600 and mode(path.with_suffix(".why")) == 0o600
        assert mode(path.parent) == 0o700  # the till's folder
        assert mode(tmp_path / "state" / "unread") == 0o700
        assert mode(tmp_path / "state") == 0o700  # made by the store: owner-only too
    finally:
        os.umask(before)


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    (tmp_path / "captures").mkdir(mode=0o750)
    os.chmod(tmp_path / "captures", 0o750)  # the admin's choice
    RawStore(tmp_path / "captures").keep("front", 1, b"raw")
    assert mode(tmp_path / "captures") == 0o750


def test_past_its_cap_the_oldest_captures_are_pruned_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RawStore(tmp_path / "unread", max_bytes=10_000)
    kept = []
    with caplog.at_level(logging.WARNING):
        for n in range(8):
            path = store.keep("front" if n % 2 else "back", n, bytes(2_000), f"receipt {n}")
            assert path is not None
            kept.append(path)
    remaining = [p for till in store.waiting().values() for p in till]
    assert sorted(remaining) == sorted(kept[-4:])  # the newest four fit under 10,000 bytes
    assert sum(p.stat().st_size for p in _everything(tmp_path / "unread")) <= 10_000
    for old in kept[:-4]:
        assert not old.exists() and not old.with_suffix(".why").exists()
        assert str(old) in caplog.text
    assert store.pruned == 4
    assert caplog.text.count("past its size cap") == 4


def test_the_cap_counts_what_is_already_there(tmp_path: Path) -> None:
    earlier = RawStore(tmp_path / "unread")
    old = [earlier.keep("front", n, bytes(3_000)) for n in range(3)]
    store = RawStore(tmp_path / "unread", max_bytes=7_000)  # a restart with a smaller cap
    new = store.keep("front", 9, bytes(3_000))
    assert new is not None and new.exists()
    assert [p.exists() for p in old] == [False, False, True]
