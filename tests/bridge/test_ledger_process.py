"""``LedgerProcess``: the ledger in a real child process, on a real SQLite file."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.ledger_process import LedgerProcess
from bridge.loyalty import Ledger, PointsRule
from bridge.loyalty.claims import ClaimError
from bridge.store import StoreUnavailable, make_engine, migrate

from .conftest import ReceiptFactory

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tillbridge.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def ledger(url: str) -> Iterator[LedgerProcess]:
    process = LedgerProcess(url, must_exist=lambda: True)
    yield process
    process.close()


def test_awards_in_the_child_are_the_ledger_s(
    url: str, ledger: LedgerProcess, make_receipt: ReceiptFactory
) -> None:
    first = ledger.award(make_receipt(number="1", total="12.99"), PointsRule(), NOW)
    assert (first.points, first.balance, first.duplicate) == (12, 12, False)
    again = ledger.award(make_receipt(number="1", total="12.99"), PointsRule(), NOW)
    assert (again.points, again.balance, again.duplicate) == (12, 12, True)
    assert ledger.balance(CARD) == 12
    assert ledger.started == 1 and ledger.pid != os.getpid()
    engine = make_engine(url)
    try:
        assert Ledger(engine).balance(CARD) == 12  # the same database, seen from here
    finally:
        engine.dispose()


def test_exceptions_cross_with_their_class(
    ledger: LedgerProcess, make_receipt: ReceiptFactory
) -> None:
    with pytest.raises(ClaimError):
        ledger.call("claim", "K7Q-M3X-PAW", CARD, NOW, source="test")
    with pytest.raises(AttributeError, match="no method '_award'"):
        ledger.call("_award")
    # Still serving after both.
    assert ledger.award(make_receipt(number="2"), PointsRule(), NOW).points == 12


def test_a_deleted_file_is_an_outage_never_a_new_file(
    tmp_path: Path, ledger: LedgerProcess, make_receipt: ReceiptFactory
) -> None:
    ledger.start()
    (tmp_path / "tillbridge.sqlite").unlink()
    with pytest.raises(StoreUnavailable, match=r"gone|deleted"):
        ledger.award(make_receipt(number="3"), PointsRule(), NOW)
    assert not (tmp_path / "tillbridge.sqlite").exists()
    # A child started afresh is told the file must exist, too.
    ledger.close()
    with pytest.raises(StoreUnavailable, match="gone"):
        ledger.award(make_receipt(number="3"), PointsRule(), NOW)
    assert not (tmp_path / "tillbridge.sqlite").exists()


def test_a_child_killed_is_an_outage_of_that_call_and_the_next_call_starts_another(
    ledger: LedgerProcess, make_receipt: ReceiptFactory, caplog: pytest.LogCaptureFixture
) -> None:
    ledger.start()
    pid = ledger.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(StoreUnavailable, match="killed by signal 9"):
        ledger.award(make_receipt(number="4"), PointsRule(), NOW)
    assert "ledger process" in caplog.text and "journaled" in caplog.text
    assert ledger.award(make_receipt(number="4"), PointsRule(), NOW).points == 12
    assert ledger.started == 2 and ledger.pid != pid


def test_the_child_outlives_sigterm_and_ends_when_its_stdin_closes(
    ledger: LedgerProcess, make_receipt: ReceiptFactory
) -> None:
    ledger.start()
    pid = ledger.pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # systemd's stop reaches the whole group
    os.kill(pid, signal.SIGINT)  # and so does a Ctrl-C
    assert ledger.award(make_receipt(number="5"), PointsRule(), NOW).points == 12
    assert ledger.pid == pid
    ledger.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_child_dies_with_its_daemon(url: str) -> None:
    """A daemon killed outright must not leave a ledger process to commit the award of a
    receipt whose till it just showed a failure."""
    import subprocess
    import sys
    import time

    daemon = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from bridge.ledger_process import LedgerProcess\n"
            f"p = LedgerProcess({url!r}, lambda: True)\n"
            "p.start()\n"
            "print(p.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert daemon.stdout is not None
    child = int(daemon.stdout.readline())
    os.kill(daemon.pid, signal.SIGKILL)
    daemon.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        # Reaped by init once it exits; until then it is a zombie or still running.
        with open(f"/proc/{child}/stat") as stat:
            if stat.read().split(") ")[1].startswith("Z"):
                return
        time.sleep(0.02)
    pytest.fail(f"ledger process {child} outlived its daemon")
