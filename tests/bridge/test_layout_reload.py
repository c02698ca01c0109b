"""The daemon notices a saved layout: compiled in the parse pool, logged at once, and a version
that does not compile leaves the one before it in force. A real daemon, a real file edited."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from tests.bridge.daemon_harness import (
    REPO,
    Balances,
    Rig,
    TillSpec,
    capture,
    check_inject,
    start_rig,
    until,
)


def _reload_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bridge.layout_watch"]


@pytest_twisted.ensureDeferred
async def test_a_saved_layout_is_reloaded_and_a_broken_one_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    grammar = tmp_path / "joes.lark"
    shipped = (REPO / "parsers" / "grammars" / "diner_us.lark").read_text(encoding="utf-8")
    grammar.write_text(shipped, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="bridge.layout_watch")
    rig = await start_rig(reactor, tmp_path, [TillSpec("diner", layout=str(grammar))])
    try:
        await _edits(rig, grammar, shipped, tmp_path, caplog)
    finally:
        await rig.close()


async def _edits(
    rig: Rig, grammar: Path, shipped: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sale = capture("diner_us/sale_card_tip")

    # An edit that compiles: logged as reloaded, with no receipt sent.
    saved = time.monotonic()
    grammar.write_text(shipped.replace("//@ description:", "//@ description: edited;", 1))
    await until(reactor, lambda: len(_reload_lines(caplog)) == 1, "the reload to be logged")
    noticed = time.monotonic() - saved
    assert _reload_lines(caplog) == [f"layout {grammar} reloaded"]
    assert noticed < 5.0  # about 2 x POLL (0.25 s) plus a compile; generous for a busy machine

    # A broken edit, as an editor would leave it half-saved: logged with why, at once.
    grammar.write_text(shipped[: shipped.index("start:") + 30], encoding="utf-8")
    await until(reactor, lambda: len(_reload_lines(caplog)) == 2, "the refusal to be logged")
    refused = _reload_lines(caplog)[1]
    assert refused.startswith(f"layout {grammar} not reloaded: joes.lark:")
    assert "does not end with a line end" in refused
    assert refused.endswith("the previous version stays in force")
    # ... and the version before it still reads the till's receipts.
    printed = await rig.send("diner", sale.data)
    check_inject(sale, printed.data, Balances())
    assert list((tmp_path / "unread").rglob("*.bin")) == []

    # Mended: reloaded again.
    grammar.write_text(shipped, encoding="utf-8")
    await until(reactor, lambda: len(_reload_lines(caplog)) == 3, "the second reload")
    assert _reload_lines(caplog)[2] == f"layout {grammar} reloaded"
    assert rig.daemon.layout_watch is not None
    assert (rig.daemon.layout_watch.reloads, rig.daemon.layout_watch.refused) == (2, 1)
