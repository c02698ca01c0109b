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

from bridge.parse_worker import ParseTimeout, ParseWorker, WorkerFailed, WorkerStopped
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
async def test_calls_queued_behind_a_stuck_parse_wait_and_are_answered_after_the_kill(
    worker: ParseWorker, slow_layout: str
) -> None:
    """Waiting in the queue kills nothing: a call's limit counts from its start in a process."""
    await worker.load(slow_layout, GENEROUS)
    text = sale_text()
    stuck = worker.parse(slow_layout, STUCK_TEXT, 2.0)
    impatient = worker.parse("bakery_es", text, 1.0)  # queued 2 s, longer than its limit
    abandoned = worker.parse("bakery_es", text, GENEROUS)
    patient = worker.parse("bakery_es", text, GENEROUS)
    asked = reactor.seconds()
    abandoned.cancel()  # leaves the queue at once
    assert type(await failure_of(abandoned)) is defer.CancelledError
    assert type(await failure_of(stuck)) is ParseTimeout
    expected = Layout.load("bakery_es").parse_text(text)
    assert await impatient == expected
    assert reactor.seconds() - asked >= 2.0
    # The kill threw nothing away: the queue went on in the replacement process.
    assert await patient == expected
    assert worker.killed == 1


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
    assert type(stopped) is WorkerStopped and isinstance(stopped, WorkerFailed)
    assert not any(alive(pid) for pid in pids)
    assert pool.pids == []
    assert type(await failure_of(pool.parse("bakery_es", text, GENEROUS))) is WorkerStopped


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


# --- the pool: fair between keys, limits from the start ---------------------------------------


def answered_in_order(calls: dict[str, defer.Deferred[Any]]) -> list[str]:
    """The names of ``calls``, in the order they are answered (success or failure)."""
    order: list[str] = []
    for name, call in calls.items():
        call.addBoth(lambda result, name=name: order.append(name) or result)
    return order


@pytest_twisted.ensureDeferred
async def test_keys_are_served_round_robin(worker: ParseWorker) -> None:
    text = sale_text()
    calls = {
        name: worker.parse("bakery_es", text, GENEROUS, key=name[0])
        for name in ("A1", "A2", "A3", "B1", "B2", "C1")
    }
    order = answered_in_order(calls)
    expected = Layout.load("bakery_es").parse_text(text)
    for call in calls.values():
        assert await call == expected
    # A1 went at once; then each key in turn, the one served longest ago first.
    assert order == ["A1", "B1", "C1", "A2", "B2", "A3"]


@pytest_twisted.ensureDeferred
async def test_a_stuck_key_delays_another_by_one_parse_at_most(
    worker: ParseWorker, slow_layout: str
) -> None:
    await worker.load(slow_layout, GENEROUS)
    text = sale_text()
    calls = {
        "A1": worker.parse(slow_layout, STUCK_TEXT, 1.0, key="A"),
        "A2": worker.parse(slow_layout, STUCK_TEXT, 1.0, key="A"),
        "A3": worker.parse(slow_layout, STUCK_TEXT, 1.0, key="A"),
        "B1": worker.parse("bakery_es", text, GENEROUS, key="B"),
    }
    order = answered_in_order(calls)
    assert await calls["B1"] == Layout.load("bakery_es").parse_text(text)
    # B waited for the one stuck parse in flight, not for A's queue.
    assert order == ["A1", "B1"]
    for name in ("A2", "A3"):
        assert type(await failure_of(calls[name])) is ParseTimeout
    assert worker.killed == 3


@pytest_twisted.ensureDeferred
async def test_with_two_processes_a_stuck_key_leaves_the_other_process_to_the_others(
    slow_layout: str,
) -> None:
    pool = ParseWorker(reactor, processes=2)
    try:
        await pool.start()
        await pool.load(slow_layout, GENEROUS, key="A")
        text = sale_text()
        expected = Layout.load("bakery_es").parse_text(text)
        assert await pool.parse("bakery_es", text, GENEROUS, key="B") == expected
        stuck = [pool.parse(slow_layout, STUCK_TEXT, 5.0, key="A") for _ in range(3)]
        # A has a parse in flight and B asked lately: A's others wait for A's process, and
        # B is answered at once every time, not after a stuck parse.
        for _ in range(5):
            assert await pool.parse("bakery_es", text, GENEROUS, key="B") == expected
            assert not any(call.called for call in stuck)
            await task.deferLater(reactor, 0.1, lambda: None)
        assert pool.queued == 2
        # After the kill, A (suspect now) waits for the replacement rather than take B's.
        assert type(await failure_of(stuck[0])) is ParseTimeout
        await task.deferLater(reactor, 0, lambda: None)
        assert pool.queued == 2  # the idle process is B's while A's is being replaced
        for _ in range(3):
            assert await pool.parse("bakery_es", text, GENEROUS, key="B") == expected
        assert pool.killed == 1
    finally:
        await pool.stop()
    for call in stuck[1:]:
        assert isinstance(await failure_of(call), ParseTimeout | WorkerStopped)


@pytest_twisted.ensureDeferred
async def test_alone_a_key_uses_every_process(slow_layout: str) -> None:
    pool = ParseWorker(reactor, processes=2)
    try:
        await pool.start()
        await pool.load(slow_layout, GENEROUS, key="A")
        stuck = [pool.parse(slow_layout, STUCK_TEXT, 1.0, key="A") for _ in range(2)]
        await wait_until(lambda: pool.queued == 0)
        for call in stuck:
            assert type(await failure_of(call)) is ParseTimeout
    finally:
        await pool.stop()


@pytest_twisted.ensureDeferred
async def test_a_kill_loses_no_queued_request(worker: ParseWorker, slow_layout: str) -> None:
    await worker.load(slow_layout, GENEROUS)
    names = ["sale_customer_card", "sale_card_payment", "refund", "copy"]
    stuck = worker.parse(slow_layout, STUCK_TEXT, 1.0, key="slow")
    queued = [
        (name, worker.parse("bakery_es", sale_text(name), GENEROUS, key=f"till{index % 3}"))
        for index, name in enumerate(names * 3)
    ]
    assert worker.queued == len(queued)
    assert type(await failure_of(stuck)) is ParseTimeout
    layout = Layout.load("bakery_es")
    for name, call in queued:
        assert await call == layout.parse_text(sale_text(name))
    assert worker.killed == 1


@pytest_twisted.ensureDeferred
async def test_a_process_new_to_a_layout_gets_the_compile_limit_too(slow_layout: str) -> None:
    """The kill limit is the parse's own once the layout has compiled in that process."""
    pool = ParseWorker(reactor, compile_timeout=GENEROUS)
    try:
        await pool.start()
        # generic takes about 0.3 s to compile, longer than this parse's own limit.
        receipt = await pool.parse("generic", "TOTAL 12.50\n", 0.25)
        assert receipt == Layout.load("generic").parse_text("TOTAL 12.50\n")
        # Compiled in this process now: the stuck parse gets its own limit, not the compile's.
        asked = reactor.seconds()
        timeout = await failure_of(pool.parse(slow_layout, STUCK_TEXT, 0.5))
        assert type(timeout) is ParseTimeout
        assert "no answer within 0.5 s" in str(timeout)
        assert reactor.seconds() - asked < GENEROUS / 2
    finally:
        await pool.stop()
