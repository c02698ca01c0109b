"""``tillbridge layout new|test``: the admin's workbench for writing a till's layout.

``layout new CAPTURE [-o FILE]`` writes a starting grammar from the generic layout's reading of a
real receipt (``parsers.layout_writer``) and checks at once that it reads that capture as the
generic layout did.

``layout test LAYOUT CAPTURE...`` reads every capture with the layout (in a child process under
a deadline, as ``tillbridge parse`` does) and compares each with the expected parse beside it
(``x.bin`` → ``x.json``, the format of ``fixtures/``: ``{"receipts": [...]}``, one entry per
receipt, the ``Receipt``'s fields with amounts as strings, or ``{"error": "words"}`` for a
receipt that must not read). ``--update`` writes those files from what was read, once the admin
has checked it; ``--watch`` runs again whenever the grammar or a capture is saved.

Exit status: 0 when every capture passes, 1 when one fails or is not read, 2 when the layout
does not compile or a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.commands.reading import (
    DEFAULT_TIMEOUT,
    LayoutProblem,
    Read,
    Reader,
    ReaderFailed,
    ReadTimeout,
    load_layout,
    not_a_capture,
)
from bridge.safe_text import json_safe

_PROG = "tillbridge layout"
IGNORED_FIELDS = frozenset({"fingerprint", "layout", "raw_text"})  # not the layout's reading
WATCH_POLL = 0.5  # seconds between looks at the files' modification times


def run(args: argparse.Namespace) -> int:
    if args.layout_command == "new":
        return run_new(args)
    return run_test(args)


# -- layout new -------------------------------------------------------------------------------


def run_new(args: argparse.Namespace) -> int:
    from parsers.layout_writer import LayoutWriterError, write_layout
    from parsers.layouts import GrammarError, Layout, ReceiptParseError
    from parsers.pipeline import read_receipts

    capture = Path(args.capture)
    output = Path(args.output) if args.output else None
    if output is not None and output.exists() and not args.force:
        print(f"{_PROG} new: {output} exists; --force replaces it", file=sys.stderr)
        return 2
    try:
        data = capture.read_bytes()
    except OSError as error:
        print(f"{_PROG} new: cannot read {capture}: {error.strerror}", file=sys.stderr)
        return 2
    problem = not_a_capture(data)
    if problem is not None:
        print(f"{capture}: {problem}", file=sys.stderr)
        return 1
    texts = [r.document.text() for r in read_receipts(data) if r.document.text().strip()]
    if not texts:
        print(f"{capture}: no receipt text in this capture", file=sys.stderr)
        return 1
    try:
        draft = write_layout(texts[0], str(capture), timezone=args.timezone)
    except (LayoutWriterError, ReceiptParseError) as error:
        print(f"{capture}: {error}", file=sys.stderr)
        return 1
    # The draft must read its own capture as the generic layout did: checked before it is kept.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (output.name if output is not None else "new.lark")
        path.write_text(draft.grammar, encoding="utf-8")
        try:
            got = Layout.load(path).parse_text(texts[0])
        except (GrammarError, ReceiptParseError) as error:
            print(f"{_PROG} new: the grammar written does not read {capture}: {error}")
            return 1
    differs = first_difference(draft.reads(draft.expected), draft.reads(got))
    if output is None:
        sys.stdout.write(draft.grammar)
    else:
        output.write_text(draft.grammar, encoding="utf-8")
    where = output if output is not None else "the grammar above"
    receipt = got
    summary = (
        f"store {receipt.store!r}, {len(receipt.items)} items, total {receipt.total}, "
        f"{len(receipt.tenders)} tender(s)"
        + (f", change {receipt.change}" if receipt.change is not None else "")
        + (f", customer {receipt.customer.value}" if receipt.customer else "")
    )
    more = f" ({len(texts) - 1} more receipt(s) in the capture not used)" if len(texts) > 1 else ""
    print(f"{where} reads {capture.name}: {summary}{more}", file=sys.stderr)
    if differs is not None:
        print(f"  but not as the generic layout does: {differs}", file=sys.stderr)
        return 1
    print(
        f"next: tillbridge layout test {output or 'shop.lark'} CAPTURES... (your other receipts)",
        file=sys.stderr,
    )
    return 0


# -- layout test ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    capture: str
    status: str  # PASS, FAIL, ERROR, NEW (read, nothing to compare with)
    detail: str
    reads: tuple[Read, ...] = ()


def expected_path(capture: Path) -> Path:
    return capture.with_suffix(".json")


def comparable(receipt: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in receipt.items() if k not in IGNORED_FIELDS}


def first_difference(expected: Any, got: Any, where: str = "") -> str | None:
    """The first field that differs, as ``field: expected → got``; None when they agree."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in [*expected, *(k for k in got if k not in expected)]:
            found = first_difference(expected.get(key), got.get(key), f"{where}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        for index, (a, b) in enumerate(zip(expected, got, strict=False)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found is not None:
                return found
        if len(expected) != len(got):
            return f"{where.lstrip('.')}: {len(expected)} entries → {len(got)}"
        return None
    if expected != got:
        return f"{where.lstrip('.')}: {json.dumps(expected, ensure_ascii=False)} → " + json.dumps(
            got, ensure_ascii=False
        )
    return None


def judge(capture: Path, reads: list[Read]) -> Outcome:
    name = str(capture)
    path = expected_path(capture)
    if not reads:
        return Outcome(name, "ERROR", "no receipt text in this capture")
    if not path.is_file():
        for read in reads:
            if read.receipt is None:
                return Outcome(name, "ERROR", _first_line(read.error), tuple(reads))
            if read.receipt.problems:
                return Outcome(name, "FAIL", "sums: " + "; ".join(read.receipt.problems))
        return Outcome(name, "NEW", f"no {path.name} to compare with (--update writes it)")
    try:
        expected = json.loads(path.read_text(encoding="utf-8"))["receipts"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return Outcome(name, "ERROR", f"{path.name} is not an expected parse: {error}")
    if len(expected) != len(reads):
        return Outcome(name, "FAIL", f"receipts: {len(expected)} → {len(reads)}", tuple(reads))
    for index, (want, read) in enumerate(zip(expected, reads, strict=True)):
        prefix = f"#{index + 1} " if len(reads) > 1 else ""
        if isinstance(want, dict) and "error" in want:
            if read.receipt is not None:
                return Outcome(name, "FAIL", f"{prefix}read, but should fail: {want['error']}")
            if str(want["error"]).lower() not in (read.error or "").lower():
                return Outcome(name, "FAIL", f"{prefix}error: {_first_line(read.error)}")
            continue
        if read.receipt is None:
            return Outcome(name, "ERROR", prefix + _first_line(read.error), tuple(reads))
        differs = first_difference(comparable(want), comparable(read.receipt.to_dict()))
        if differs is not None:
            return Outcome(name, "FAIL", prefix + differs, tuple(reads))
    return Outcome(name, "PASS", "", tuple(reads))


def write_expected(capture: Path, reads: list[Read], layout: str) -> bool:
    """The expected parse beside the capture, from what was read now; False if one was not."""
    if not reads or any(r.receipt is None for r in reads):
        return False
    receipts = [comparable(r.receipt.to_dict()) for r in reads if r.receipt is not None]
    document = {"layout": Path(layout).stem, "receipts": receipts}
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    expected_path(capture).write_text(text, encoding="utf-8")
    return True


def render(outcomes: list[Outcome]) -> str:
    width = max([len("capture"), *(len(o.capture) for o in outcomes)])
    lines = [f"{'capture':<{width}}  result  first difference (expected → got)"]
    lines += [f"{o.capture:<{width}}  {o.status:<6}  {o.detail}".rstrip() for o in outcomes]
    passed = sum(o.status in ("PASS", "NEW") for o in outcomes)
    lines.append(f"{passed} of {len(outcomes)} passed")
    return "\n".join(lines)


def test_once(args: argparse.Namespace, reader: Reader) -> int:
    if not load_layout(reader, args.layout, f"{_PROG} test"):
        return 2
    outcomes: list[Outcome] = []
    for name in args.captures:
        capture = Path(name)
        try:
            data = capture.read_bytes()
        except OSError as error:
            outcomes.append(Outcome(name, "ERROR", f"cannot read: {error.strerror}"))
            continue
        problem = not_a_capture(data)
        if problem is not None:
            outcomes.append(Outcome(name, "ERROR", problem))
            continue
        try:
            reads = reader.read(data, args.layout)
        except LayoutProblem as error:
            print(f"{_PROG} test: {error}", file=sys.stderr)
            return 2
        except (ReadTimeout, ReaderFailed) as error:
            outcomes.append(Outcome(name, "ERROR", f"not read: {error}"))
            continue
        if args.update:
            if write_expected(capture, reads, args.layout):
                outcomes.append(Outcome(name, "PASS", f"wrote {expected_path(capture).name}"))
            else:
                outcomes.append(judge(capture, reads))
            continue
        outcomes.append(judge(capture, reads))
    print(json_safe(render(outcomes)))
    return 0 if all(o.status in ("PASS", "NEW") for o in outcomes) else 1


def _mtimes(paths: list[str]) -> tuple[int | None, ...]:
    found: list[int | None] = []
    for path in paths:
        try:
            found.append(Path(path).stat().st_mtime_ns)
        except OSError:
            found.append(None)
    return tuple(found)


def run_test(args: argparse.Namespace) -> int:
    timeout = getattr(args, "timeout", None) or DEFAULT_TIMEOUT
    with Reader(timeout) as reader:
        status = test_once(args, reader)
        if not args.watch:
            return status
        watched = [args.layout, *args.captures]
        watched += [str(expected_path(Path(c))) for c in args.captures]
        seen = _mtimes(watched)
        print(f"watching {len(watched)} files; Ctrl-C ends", flush=True)
        try:
            while True:
                time.sleep(WATCH_POLL)
                now = _mtimes(watched)
                if now == seen:
                    continue
                time.sleep(WATCH_POLL)  # an editor still writing: wait for the save to end
                seen = _mtimes(watched)
                print(f"\n-- {time.strftime('%H:%M:%S')} a file changed: testing again", flush=True)
                status = test_once(args, reader)
                sys.stdout.flush()
                seen = _mtimes(watched)  # --update writes the .json files: not a change
        except KeyboardInterrupt:
            return status


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else "not read"
