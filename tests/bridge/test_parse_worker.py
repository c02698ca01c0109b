"""The parse worker: real child processes, real grammars, a regex that backtracks for days.

Deadlines here are generous (a cold child imports Lark and compiles a layout, which takes a
while on a loaded machine), except the ones a test means to miss."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from bridge.parse_worker import ParseTimeout, ParseWorker, WorkerFailed
from parsers.document import build_documents
from parsers.escpos.tokenizer import tokenize
from parsers.layouts import GrammarError, Layout, ReceiptParseError, UnknownLayoutError
from parsers.receipt import Receipt

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GENEROUS = 60.0  # seconds: a deadline a healthy worker always meets

# Catastrophic backtracking (DESIGN.md): on a line of word characters with no colon, the
# regex tries every way of splitting the run; 22 characters take about a second, 40 take days.
SLOW_GRAMMAR = """\
//@ description: a layout whose line regex backtracks catastrophically
start: LINE+
LINE: /(\\w+\\s?)+:\\n/
"""
STUCK_TEXT = "a" * 40 + "\n"

BROKEN_GRAMMAR = """\
//@ description: a layout that uses a rule it never defines
start: header total
header: /[A-Z ]+\\n/
"""


def sale_text(name: str = "sale_customer_card") -> str:
    data = (FIXTURES / "bakery_es" / f"{name}.bin").read_bytes()
    documents = [d for d in build_documents(tokenize(data)) if d.text().strip()]
    return documents[0].text()


def alive(pid: int) -> bool:
    """True while the process exists, zombies included (signal 0 reaches a zombie too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError(f"still not true after {timeout} s")
        await task.deferLater(reactor, 0.05, lambda: None)
        waited += 0.05


async def failure_of(deferred: defer.Deferred[Any]) -> BaseException:
    try:
        await deferred
    except Exception as exc:
        return exc
    raise AssertionError("the call succeeded")


@pytest.fixture
def slow_layout(tmp_path: Path) -> str:
    path = tmp_path / "slow.lark"
    path.write_text(SLOW_GRAMMAR, encoding="utf-8")
    return str(path)


@pytest_twisted.async_yield_fixture
async def worker() -> AsyncIterator[ParseWorker]:
    pool = ParseWorker(reactor)
    await pool.start()
    yield pool
    await pool.stop()


@pytest_twisted.ensureDeferred
async def test_fixture_sales_read_as_in_process_in_the_order_asked(worker: ParseWorker) -> None:
    names = ["sale_customer_card", "sale_card_payment", "refund", "copy"]
    texts = [sale_text(name) for name in names]
    answered: list[int] = []
    calls = []
    for index, text in enumerate(texts):
        call = worker.parse("bakery_es", text, GENEROUS)
        call.addCallback(lambda receipt, i=index: answered.append(i) or receipt)
        calls.append(call)
    receipts = [await call for call in calls]
    layout = Layout.load("bakery_es")
    assert receipts == [layout.parse_text(text) for text in texts]
    assert all(isinstance(r, Receipt) for r in receipts)
    assert answered == [0, 1, 2, 3]
    assert receipts[0].customer is not None and receipts[0].total is not None


@pytest_twisted.ensureDeferred
async def test_a_receipt_the_layout_cannot_read_fails_as_in_process(worker: ParseWorker) -> None:
    text = sale_text().replace("TOTAL", "TOTL", 1)
    with pytest.raises(ReceiptParseError) as local:
        Layout.load("bakery_es").parse_text(text)
    remote = await failure_of(worker.parse("bakery_es", text, GENEROUS))
    assert type(remote) is ReceiptParseError
    assert str(remote) == str(local.value)
    assert (remote.layout, remote.line) == (local.value.layout, local.value.line)
    assert remote.line is not None


@pytest_twisted.ensureDeferred
async def test_unknown_layouts_fail_as_in_process(worker: ParseWorker, tmp_path: Path) -> None:
    for layout in ("no_such_till", str(tmp_path / "missing.lark")):
        with pytest.raises(UnknownLayoutError) as local:
            Layout.load(layout)
        for call in (worker.parse(layout, "x\n", GENEROUS), worker.load(layout, GENEROUS)):
            remote = await failure_of(call)
            assert type(remote) is UnknownLayoutError
            assert str(remote) == str(local.value)


@pytest_twisted.ensureDeferred
async def test_loading_names_the_layout_or_fails_with_the_grammar_error(
    worker: ParseWorker, tmp_path: Path, slow_layout: str
) -> None:
    assert await worker.load("bakery_es", GENEROUS) == "bakery_es"
    assert await worker.load(slow_layout, GENEROUS) == "slow"
    broken = tmp_path / "broken.lark"
    broken.write_text(BROKEN_GRAMMAR, encoding="utf-8")
    with pytest.raises(GrammarError) as local:
        Layout.load(str(broken))
    assert "broken.lark:2" in str(local.value)
    for call in (worker.load(str(broken), GENEROUS), worker.parse(str(broken), "A\n", GENEROUS)):
        remote = await failure_of(call)
        assert type(remote) is GrammarError
        assert str(remote) == str(local.value)


@pytest_twisted.ensureDeferred
async def test_a_parse_past_its_deadline_kills_the_worker_and_the_next_parse_works(
    worker: ParseWorker, slow_layout: str
) -> None:
    await worker.load(slow_layout, GENEROUS)  # compiled before the clock that matters
    [stuck_pid] = worker.pids
    timeout = await failure_of(worker.parse(slow_layout, STUCK_TEXT, 1.0))
    assert type(timeout) is ParseTimeout
    assert "within 1 s" in str(timeout)
    await wait_until(lambda: not alive(stuck_pid))
    receipt = await worker.parse("bakery_es", sale_text(), GENEROUS)
    assert receipt == Layout.load("bakery_es").parse_text(sale_text())
    [fresh_pid] = worker.pids
    assert fresh_pid != stuck_pid
    # It compiled the layouts its predecessor had, before taking calls.
    arguments = Path(f"/proc/{fresh_pid}/cmdline").read_bytes().decode().split("\0")
    assert slow_layout in arguments
    # The fresh process reads the slow layout too, on a line that does not backtrack.
    assert (await worker.parse(slow_layout, "total due:\n", GENEROUS)).raw_text == "total due:\n"


@pytest_twisted.ensureDeferred
async def test_calls_queued_behind_a_stuck_parse_keep_their_own_deadlines(
    worker: ParseWorker, slow_layout: str
) -> None:
    await worker.load(slow_layout, GENEROUS)
    text = sale_text()
    stuck = worker.parse(slow_layout, STUCK_TEXT, 5.0)
    impatient = worker.parse("bakery_es", text, 0.5)
    abandoned = worker.parse("bakery_es", text, GENEROUS)
    patient = worker.parse("bakery_es", text, GENEROUS)
    abandoned.cancel()  # leaves the queue at once
    assert type(await failure_of(abandoned)) is defer.CancelledError
    assert type(await failure_of(impatient)) is ParseTimeout
    assert not stuck.called  # the queued call did not wait for the stuck one
    assert type(await failure_of(stuck)) is ParseTimeout
    # The call still within its deadline is answered by the replacement process.
    assert await patient == Layout.load("bakery_es").parse_text(text)


@pytest_twisted.ensureDeferred
async def test_a_worker_killed_by_someone_else_fails_its_call_and_is_replaced(
    worker: ParseWorker, slow_layout: str
) -> None:
    await worker.load(slow_layout, GENEROUS)
    [busy_pid] = worker.pids
    call = worker.parse(slow_layout, STUCK_TEXT, GENEROUS)
    os.kill(busy_pid, signal.SIGKILL)
    failed = await failure_of(call)
    assert type(failed) is WorkerFailed
    assert "SIGKILL" in str(failed)
    assert await worker.load("bakery_es", GENEROUS) == "bakery_es"
    # An idle worker that dies is replaced too, before anyone asks.
    [idle_pid] = worker.pids
    assert idle_pid != busy_pid
    os.kill(idle_pid, signal.SIGTERM)
    await wait_until(lambda: bool(worker.pids) and worker.pids[0] != idle_pid)
    receipt = await worker.parse("bakery_es", sale_text(), GENEROUS)
    assert receipt == Layout.load("bakery_es").parse_text(sale_text())
    assert not alive(busy_pid) and not alive(idle_pid)


@pytest_twisted.ensureDeferred
async def test_two_processes_serve_others_while_one_is_stuck_and_stop_reaps_both(
    slow_layout: str,
) -> None:
    pool = ParseWorker(reactor, processes=2)
    try:
        await pool.start()
        pids = pool.pids
        assert len(pids) == 2
        await pool.load(slow_layout, GENEROUS)
        stuck = pool.parse(slow_layout, STUCK_TEXT, GENEROUS)
        text = sale_text()
        assert await pool.parse("bakery_es", text, GENEROUS) == Layout.load("bakery_es").parse_text(
            text
        )
        assert not stuck.called
    finally:
        await pool.stop()
    stopped = await failure_of(stuck)
    assert type(stopped) is WorkerFailed
    assert not any(alive(pid) for pid in pids)
    assert pool.pids == []
    assert type(await failure_of(pool.parse("bakery_es", text, GENEROUS))) is WorkerFailed


@pytest_twisted.ensureDeferred
async def test_a_worker_that_cannot_start_fails_its_calls_and_is_retried_on_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = ParseWorker(reactor)
    try:
        monkeypatch.setattr(sys, "executable", "/bin/false")  # starts, then exits at once
        failed = await failure_of(pool.start())
        assert type(failed) is WorkerFailed
        assert "before it was ready" in str(failed)
        assert type(await failure_of(pool.parse("bakery_es", "x\n", GENEROUS))) is WorkerFailed
        assert pool.pids == []  # no restart loop
        monkeypatch.undo()
        assert await pool.load("bakery_es", GENEROUS) == "bakery_es"
    finally:
        await pool.stop()
