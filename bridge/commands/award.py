"""``tillbridge award FILE... --till NAME``: award kept receipts once their layout reads them.

For the receipts the daemon printed unchanged because it could not read them (kept in
``unread/`` beside the journal) once their layout is fixed, or any capture. Each file is read
with the till's layout (``--layout`` to try another) and every sale in it that adds up is
awarded, exactly once: a receipt awarded before shows its first award again
("already awarded"). One line per receipt. Each file is read in a child process under a
deadline (``--timeout``, 20 s by default), so a grammar that backtracks for minutes is reported
for that file and the others go on; a file that is not an ESC/POS capture is refused. Exit 0
when every receipt was read, 1 when one was not (fix the layout and run it again: nothing is
awarded twice), 2 for a config problem, an unknown till, a layout that does not load or an
unavailable database.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.commands import read_config

_PROG = "tillbridge award"


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, _PROG)
    if config is None:
        return 2
    till = next((t for t in config.tills if t.name == args.till), None)
    if till is None:
        names = ", ".join(t.name for t in config.tills)
        print(
            f"{_PROG}: no till {args.till!r} in {config.source} (tills: {names})", file=sys.stderr
        )
        return 2

    from bridge.commands.reading import (
        DEFAULT_TIMEOUT,
        LayoutProblem,
        Reader,
        ReaderFailed,
        ReadTimeout,
        not_a_capture,
    )
    from bridge.loyalty import Ledger
    from bridge.loyalty.in_force import rules_in_force
    from bridge.loyalty.keys import attribute
    from bridge.messages import why_no_message
    from bridge.store import StoreUnavailable, make_engine, migrate

    layout = args.layout or till.layout
    with Reader(getattr(args, "timeout", None) or DEFAULT_TIMEOUT) as reader:
        try:
            reader.load(layout)
        except LayoutProblem as error:
            print(f"{_PROG}: {error}", file=sys.stderr)
            return 2
        except (ReadTimeout, ReaderFailed) as error:
            print(f"{_PROG}: layout {layout}: {error}", file=sys.stderr)
            return 2
        engine = make_engine(config.database.url)
        ledger = Ledger(engine)
        rule = rules_in_force(config.loyalty.rules, config.loyalty.points_per_unit)
        unread = 0
        try:
            migrate(engine)
            for name in args.files:
                file = Path(name)
                try:
                    data = file.read_bytes()
                except OSError as error:
                    print(f"{file}: cannot read: {error.strerror or error}", file=sys.stderr)
                    unread += 1
                    continue
                problem = not_a_capture(data)
                if problem is not None:
                    print(f"{file}: {problem}", file=sys.stderr)
                    unread += 1
                    continue
                try:
                    results = reader.read(data, layout)
                except (LayoutProblem, ReadTimeout, ReaderFailed) as error:
                    print(f"{file}: not read: {error}")
                    unread += 1
                    continue
                for result in results:
                    receipt = result.receipt
                    if receipt is not None:
                        attribute(receipt, config.store_id(till), till.name)
                    if receipt is None:
                        first = (result.error or "").splitlines()[0]
                        print(f"{file}: not read: {first}")
                        unread += 1
                        continue
                    why_not = why_no_message(receipt)
                    if why_not is not None:
                        print(f"{file}: receipt {receipt.number}: nothing to award ({why_not})")
                        continue
                    outcome = ledger.award(receipt, rule, datetime.now(UTC), rule.policy)
                    again = " (already awarded)" if outcome.duplicate else ""
                    to = (
                        f"to {outcome.customer}, balance {outcome.balance}"
                        if outcome.customer
                        else f"claim code {outcome.claim_code}"
                    )
                    print(f"{file}: receipt {receipt.number}: {outcome.points} points {to}{again}")
        except StoreUnavailable as error:
            print(f"{_PROG}: database unavailable: {error}; try again", file=sys.stderr)
            return 2
        finally:
            engine.dispose()
    return 1 if unread else 0
