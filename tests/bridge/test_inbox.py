"""The inbox on its own: a till stream on disk from its first byte (bridge.inbox)."""

from __future__ import annotations

import stat
from pathlib import Path

from bridge.inbox import Inbox
from parsers.document import build_documents
from parsers.escpos.state import PrinterState
from parsers.escpos.tokenizer import tokenize
from tests.bridge.fault_helpers import fill, small_tmpfs


def test_a_stream_is_a_capture_that_starts_in_its_printer_state(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox")
    stream = inbox.open("front", PrinterState(code_page=19))  # PC858, set earlier
    stream.write(b"Caf\xe9 1,00 \xd5\n")  # 0xD5 is the euro sign in PC858 only
    (path,) = inbox.waiting()["front"]
    (document,) = build_documents(tokenize(path.read_bytes()))
    assert "€" in document.text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stream.remove()
    assert inbox.waiting() == {}


def test_a_full_disk_leaves_no_part_of_a_stream(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "state") as folder:
        inbox = Inbox(folder / "inbox")
        stream = inbox.open("front")
        fill(folder)
        stream.write(b"x" * 10_000)  # the disk refuses it: logged, and nothing is left
        assert inbox.waiting() == {}
        stream.write(b"more")  # and the stream goes on without a file
        stream.remove()


def test_files_made_ahead_are_used_in_order_and_removed_when_unused(tmp_path: Path) -> None:
    later: list[object] = []
    inbox = Inbox(tmp_path / "inbox", prepare=later.append)  # a thread that has not run yet
    first = inbox.open("front")
    made_ahead = later.pop()
    second = inbox.open("front")  # nothing ready yet: made on the spot
    made_ahead()  # the file begun before the second one: too old to come after it
    third_ahead = later.pop()
    third_ahead()
    third = inbox.open("front")  # the one made ahead, after the second
    assert first.path.name < second.path.name < third.path.name
    for stream in (first, second, third):
        stream.write(b"x")
    later.pop()()  # the fourth, made ahead and never used
    assert len(inbox.waiting()["front"]) == 4
    inbox.close()
    assert sorted(inbox.waiting()["front"]) == sorted([first.path, second.path, third.path])
    later.clear()
    inbox.open("front").remove()
    assert later and inbox.waiting()["front"] == sorted([first.path, second.path, third.path])
    later.pop()()  # made ahead after the close: dropped at once
    assert len(inbox.waiting()["front"]) == 3
