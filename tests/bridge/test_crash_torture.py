"""Crash torture (issue 7, section 6): ``tillbridge run`` SIGKILLed dozens of times while three
tills print a few hundred sales through it, then the promises a printer cable makes.

Real parts only: the daemon is the console script in its own process group (the kill takes
its parse worker too, as a crash or the OOM killer would), the tills and the printers are real
sockets on 127.0.0.1, the ledger is the daemon's SQLite file read with the project's models.
The tills count as real tills do (``bench/faultkit.py``): a normal end of the connection after
the half-close is "printed"; a refusal, a reset or a timeout is a visible failure, and the till
resends that receipt as its operator would reprint it.

Afterwards, receipt by receipt: every receipt the till counted as printed reached the printer
whole (body to cut, in one connection, nothing of another connection in between), as often as
the till was told so; every sale that printed is awarded exactly once (in the ledger, or still
waiting in the journal or inbox for the daemon to apply it), none only by hand (``unread/``);
nothing that never printed is awarded; each till's receipts reached the printer in the order
it sent them.

The kill plan comes from a seed: the failure message names it, and
``TILLBRIDGE_TORTURE_SEED=N pytest tests/bridge/test_crash_torture.py`` replays that plan
(the timings of a loaded machine still vary). ``TILLBRIDGE_TORTURE_SEED=random`` draws one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from bench.faultkit import torture

DEFAULT_SEED = 7
TILLS = 3
SALES_PER_TILL = 80  # 240 sales
RANDOM_KILLS = 15  # at a random moment of each start's life
CONNECT_KILLS = 15  # just after a till has connected and sent its receipt


def _seed() -> int:
    chosen = os.environ.get("TILLBRIDGE_TORTURE_SEED", "")
    if chosen == "random":
        return random.SystemRandom().randrange(1_000_000)
    return int(chosen) if chosen else DEFAULT_SEED


def test_sigkill_torture_keeps_every_promise(tmp_path: Path) -> None:
    result = torture(
        tmp_path,
        seed=_seed(),
        tills=TILLS,
        sales_per_till=SALES_PER_TILL,
        random_kills=RANDOM_KILLS,
        connect_kills=CONNECT_KILLS,
        uptime=(0.05, 1.0),
    )
    problems = []
    # Torture that did not torture proves nothing: most planned kills must have landed.
    if result.kills < (RANDOM_KILLS + CONNECT_KILLS) * 2 // 3:
        problems.append(f"only {result.kills} SIGKILLs landed")
    if result.verdict.broken or result.not_started:
        problems.append("promises broken")
    if result.verdict.printed_whole != TILLS * SALES_PER_TILL:
        problems.append(
            f"{result.verdict.printed_whole} of {TILLS * SALES_PER_TILL} sales reached the "
            "printer whole, though each till resends until it is told printed"
        )
    if problems:
        pytest.fail("; ".join(problems) + "\n" + result.report(), pytrace=False)
