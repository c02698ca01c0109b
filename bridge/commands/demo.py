"""``tillbridge demo [--fixtures DIR] [--keep DIR] [-q] [--serve]``: the bridge, no hardware.

The daemon runs on its embedded defaults: a temporary SQLite database and journal, one till per
receipt layout, each printing to a virtual printer. Simulated tills send the shipped receipt
captures (``fixtures/*/*.bin``) as real tills would: over TCP (one connection per receipt), and
for the supermarket over a serial line (a pseudo-terminal pair, to a virtual printer on another
one). For each receipt it shows what came out of the printer: sales with the loyalty message
injected before the cut, everything else byte-exact; then the balances and the claim codes.

With ``--serve`` it then keeps one till open on 127.0.0.1:9100 (another port if that one is
taken), for ``tillbridge send`` with your own captures, and prints what comes out until Ctrl-C.

The printed receipts are kept as text, HTML and PNG under ``DIR/printed`` with ``--keep DIR``
(default: a temporary folder, removed at the end). Exit 0 when every receipt printed and every
byte the tills sent reached the printer in order; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SERIAL_LAYOUT = "supermarket"  # the till the demo wires over a serial line
RULE = "─" * 64
# Each shop's message in its receipts' language.
DEMO_LANGUAGES = {"bakery_es": "es", "bistro_fr": "fr", "sklep_pl": "pl", "supermarket": "de"}


@dataclass
class Sent:
    capture: Path
    printed: bytes = b""  # what the printer received for this capture
    text: str = ""  # the printer's rendering of it
    status_replies: int = 0


@dataclass
class DemoTill:
    name: str
    captures: list[Path]
    serial: bool = False
    sent: list[Sent] = field(default_factory=list)
    address: str = ""


def run(args: argparse.Namespace) -> int:
    folder = Path(args.fixtures) if args.fixtures else FIXTURES
    tills = _tills_for(folder)
    if not tills:
        print(f"tillbridge demo: no captures (*.bin) under {folder}", file=sys.stderr)
        return 2
    if args.keep:
        workdir = Path(args.keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        return _run_in(workdir, tills, args.quiet, keep=True, serve=args.serve)
    with tempfile.TemporaryDirectory(prefix="tillbridge-demo-") as temp:
        return _run_in(Path(temp), tills, args.quiet, keep=False, serve=args.serve)


def _tills_for(folder: Path) -> list[DemoTill]:
    by_layout: dict[str, list[Path]] = {}
    for capture in sorted(folder.glob("*/*.bin")):
        by_layout.setdefault(_layout_of(capture), []).append(capture)
    return [
        DemoTill(layout, captures, serial=layout == SERIAL_LAYOUT)
        for layout, captures in sorted(by_layout.items())
    ]


def _layout_of(capture: Path) -> str:
    expected = capture.with_suffix(".json")
    if expected.exists():
        return str(json.loads(expected.read_text(encoding="utf-8"))["layout"])
    return capture.parent.name


def _run_in(workdir: Path, tills: list[DemoTill], quiet: bool, keep: bool, serve: bool) -> int:
    from twisted.internet import defer, task

    from bridge.logs import setup_logging

    # The daemon's own log lines would drown the receipts; what it could not read is listed
    # at the end from its unread folder.
    setup_logging("ERROR")
    result: dict[str, Any] = {}

    async def demo(reactor: Any) -> None:
        await _demo(reactor, workdir, tills, result, keep)
        if result.get("ok") and (FIXTURES / "tills").is_dir():
            from bridge.commands.demo_story import run_story

            try:
                result["story"] = await run_story(reactor, workdir, _text)
            except Exception as exc:
                result["story_error"] = exc
        try:
            _report(workdir, tills, result, quiet, keep, serve)
            if serve and result.get("ok"):
                await _serve(reactor, workdir)
        except BrokenPipeError:
            # `tillbridge demo | head`: the reader has gone. Inside the reactor the error
            # would be logged as a failure with its traceback; it is raised again below.
            result["reader_gone"] = True

    try:
        task.react(lambda reactor: defer.ensureDeferred(demo(reactor)))
    except SystemExit as exit_:
        if result.get("reader_gone"):
            raise BrokenPipeError from None
        if exit_.code:
            return int(exit_.code)
    return 0 if result.get("ok") else 1


SERVE_PORT = 9100  # where a network till prints: the demo's own till, with --serve


async def _serve(reactor: Any, workdir: Path) -> None:
    """Keep a till open on 127.0.0.1:9100 (generic layout, the same database) for the user's
    own captures, printing each receipt as it comes, until Ctrl-C."""
    from dataclasses import replace

    from twisted.internet import defer
    from twisted.internet.error import CannotListenError

    from bridge.config import TcpConnect, TcpListen, default_config
    from bridge.daemon import Daemon
    from bridge.link import LinkOptions
    from drivers.virtual_printer import VirtualPrinterFactory

    def show(receipt: Any) -> None:
        try:
            print(f"\n{RULE}\nprinted:\n{_text([receipt])}", flush=True)
        except BrokenPipeError:  # the reader has gone: nobody to serve
            reactor.stop()

    printer = VirtualPrinterFactory(None, (), on_receipt=show)
    port = printer.listen_tcp(reactor)
    base = default_config(workdir)
    till = replace(base.tills[0], printer=TcpConnect("127.0.0.1", port.getHost().port))
    daemon = None
    for listen in (TcpListen("127.0.0.1", SERVE_PORT), TcpListen("127.0.0.1", 0)):
        candidate = Daemon(
            replace(base, tills=(replace(till, listen=listen),)),
            reactor,
            link_options=LinkOptions(linger=0.2),
        )
        try:
            await candidate.start()
        except CannotListenError:
            print(f"(port {SERVE_PORT} is taken here: using another)")
            continue
        daemon = candidate
        break
    assert daemon is not None
    address = daemon.tills["demo"].address
    print(
        f"\n{RULE}\nthe demo till listens on {address} (layout generic, the same database)."
        f"\nPrint your own captures to it, from another terminal:\n"
        f"    tillbridge send FILE.bin --to {address}\nCtrl-C to stop.",
        flush=True,
    )

    async def stop() -> None:
        await daemon.stop()
        await port.stopListening()

    reactor.addSystemEventTrigger("before", "shutdown", lambda: defer.ensureDeferred(stop()))
    await defer.Deferred()  # until Ctrl-C or SIGTERM


async def _demo(
    reactor: Any, workdir: Path, tills: list[DemoTill], result: dict[str, Any], keep: bool
) -> None:
    from twisted.internet import defer

    from bridge.config import (
        SerialPortConfig,
        TcpConnect,
        TcpListen,
        default_config,
    )
    from bridge.daemon import Daemon
    from bridge.link import LinkOptions
    from drivers.simulated_till import PtyPair, SerialTill, send_tcp
    from drivers.virtual_printer import VirtualPrinterFactory

    base = default_config(workdir)
    template = base.tills[0]
    printers: dict[str, VirtualPrinterFactory] = {}
    cleanups: list[Any] = []
    till_configs = []
    pty_pairs: dict[str, PtyPair] = {}
    for till in tills:
        printer = VirtualPrinterFactory(
            workdir / "printed" / till.name if keep else None,
            ("text", "html", "png"),
            keep_stream=True,
            paper=template.picture_paper(),
            language=DEMO_LANGUAGES.get(till.name, "en"),
        )
        printers[till.name] = printer
        if till.serial:
            printer_path, pty_printer = printer.serve_pty(reactor)
            cleanups.append(pty_printer.close)
            pair = PtyPair()
            pty_pairs[till.name] = pair
            listen: Any = SerialPortConfig(pair.path, 115200)
            printer_side: Any = SerialPortConfig(printer_path, 115200)
        else:
            port = printer.listen_tcp(reactor)
            cleanups.append(port.stopListening)
            listen = TcpListen("127.0.0.1", 0)
            printer_side = TcpConnect("127.0.0.1", port.getHost().port)
        till_configs.append(
            replace(
                template,
                name=till.name,
                listen=listen,
                printer=printer_side,
                layout=till.name,
                language=DEMO_LANGUAGES.get(till.name, "en"),
            )
        )
    config = replace(base, tills=tuple(till_configs))
    # A virtual printer closes as soon as it has printed: the short linger only matters for
    # the serial printer, which never closes.
    daemon = Daemon(config, reactor, link_options=LinkOptions(linger=0.2))
    await daemon.start()
    result["daemon"] = daemon

    async def drive(till: DemoTill) -> None:
        printer = printers[till.name]
        running = daemon.tills[till.name]
        till.address = running.address
        serial_till = (
            SerialTill.on_fd(reactor, pty_pairs[till.name].master) if till.serial else None
        )
        for capture in till.captures:
            data = capture.read_bytes()
            stream = printer.stream
            assert stream is not None
            start, receipts = len(stream), len(printer.receipts)

            def arrived(
                stream: bytearray = stream, start: int = start, size: int = len(data)
            ) -> bool:
                # Every byte the till sent has reached the printer, and so has any message
                # (it goes before the till's held bytes); a TCP printer has also closed.
                return len(stream) - start >= size and (
                    serial_till is not None or not printer.connections
                )

            if serial_till is not None:
                replies_before = len(serial_till.replies)
                serial_till.send(data)
                await _until(reactor, arrived)
                replies = len(serial_till.replies) - replies_before
            else:
                _, host, port = running.address.split(":")
                replies = len(await send_tcp(reactor, host, int(port), data))
                await _until(reactor, arrived)
            sent = Sent(capture, printed=bytes(stream[start:]), status_replies=replies)
            sent.text = _text(printer.receipts[receipts:])
            till.sent.append(sent)
        if serial_till is not None:
            serial_till.close()

    try:
        await defer.gatherResults(
            [defer.ensureDeferred(drive(t)) for t in tills], consumeErrors=True
        )
        result["balances"] = await daemon.desk.in_thread(lambda: _balances(daemon))
        result["claims"] = await daemon.desk.in_thread(lambda: _claim_one(daemon))
        result["ok"] = True
    except Exception as exc:
        result["error"] = exc
    finally:
        result["journaled"] = daemon.desk.journaled
        await daemon.stop()
        for close in cleanups:
            await defer.maybeDeferred(close)
        for pair in pty_pairs.values():
            pair.close()


async def _until(reactor: Any, condition: Any, seconds: float = 10.0) -> None:
    from twisted.internet import task

    deadline = reactor.seconds() + seconds
    while not condition():
        if reactor.seconds() > deadline:
            raise TimeoutError("the virtual printer did not get the receipt")
        await task.deferLater(reactor, 0.01, lambda: None)


def _text(receipts: list[Any]) -> str:
    from drivers.render import render_text

    # QR codes as one line, bold and underline as the terminal shows them: a readable log.
    ansi = sys.stdout.isatty()
    return "\n".join(render_text(r.document, compact=True, ansi=ansi) for r in receipts)


def _balances(daemon: Any) -> list[tuple[str, str, int]]:
    from sqlalchemy import select

    from bridge.store import Account, Customer

    with daemon.desk.engine.connect() as conn:
        rows = conn.execute(
            select(Customer.kind, Customer.value, Account.balance)
            .join(Account, Account.customer_id == Customer.id)
            .order_by(Customer.value)
        ).all()
    return [(kind, value, balance) for kind, value, balance in rows]


def _claim_one(daemon: Any) -> list[str]:
    """Show ``tillbridge claim``: the first claim code printed, credited to the first card."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bridge.store import ClaimCode, Customer

    with daemon.desk.engine.connect() as conn:
        codes = conn.execute(select(ClaimCode.code, ClaimCode.points).order_by(ClaimCode.id)).all()
        card = conn.execute(
            select(Customer.value).where(Customer.kind == "card").order_by(Customer.id)
        ).scalar()
    lines = [f"  claim code {code} for {points} points" for code, points in codes]
    if codes and card is not None:
        outcome = daemon.desk.ledger.claim(codes[0][0], card, datetime.now(UTC))
        lines.append(
            f"  $ tillbridge claim {codes[0][0]} {card}\n"
            f"    credited {outcome.points} points to {card}; balance {outcome.balance}"
        )
    return lines


def _unread(workdir: Path, tills: list[DemoTill]) -> list[str]:
    """Each receipt kept unread: the capture it came from (the one its bytes start like, with
    the capture's own description) and why it was not read."""
    lines = []
    for note in sorted((workdir / "unread").glob("*/*.why")):
        raw = note.with_suffix(".bin").read_bytes()
        captures = [c for t in tills if t.name == note.parent.name for c in t.captures]
        source = max(captures, key=lambda c: _shared_start(c.read_bytes(), raw), default=None)
        what = note.parent.name
        if source is not None:
            what = f"{source.parent.name}/{source.name} ({_description(source)})"
        lines.append(f"  {what}:\n    {note.read_text(encoding='utf-8').splitlines()[0]}")
    return lines


def _shared_start(a: bytes, b: bytes) -> int:
    """How many bytes ``a`` and ``b`` start with in common."""
    shorter = min(len(a), len(b))  # zip stops at the shorter one on purpose
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), shorter)


def _description(capture: Path) -> str:
    expected = capture.with_suffix(".json")
    if not expected.exists():
        return "no description"
    return str(json.loads(expected.read_text(encoding="utf-8")).get("description", ""))


def _report(
    workdir: Path,
    tills: list[DemoTill],
    result: dict[str, Any],
    quiet: bool,
    keep: bool,
    serve: bool,
) -> None:
    printed = injected = exact = broken = 0
    serial = sum(t.serial for t in tills)
    print(
        f"tillbridge demo: the daemon with {len(tills)} tills ({len(tills) - serial} over TCP, "
        f"{serial} over a serial line), each printing to a virtual printer; points in "
        f"{'SQLite in ' + str(workdir) if keep else 'a temporary SQLite database'}. Simulated "
        f"tills sent the receipt captures in {tills[0].captures[0].parents[1]}"
        + ("." if quiet else "; below, what came out of the printers.")
    )
    for till in tills:
        if not quiet:
            wire = "serial (pty)" if till.serial else "tcp"
            print(f"\n{RULE}\ntill {till.name}: {wire} {till.address} -> virtual printer\n{RULE}")
        for sent in till.sent:
            original = sent.capture.read_bytes()
            verdict, extra = _compare(original, sent.printed)
            printed += 1
            injected += verdict == "message"
            exact += verdict == "exact"
            broken += verdict == "changed"
            if quiet:
                continue
            name = f"{sent.capture.parent.name}/{sent.capture.name}"
            status = (
                f"; {sent.status_replies} status byte{'s' if sent.status_replies > 1 else ''} "
                "back to the till"
                if sent.status_replies
                else ""
            )
            if verdict == "message":
                print(
                    f"\n{name}: the till's {len(original)} bytes + {extra} bytes of message{status}"
                )
                print(_indent(sent.text))
            elif verdict == "exact":
                print(f"{name}: printed byte-exact ({len(original)} bytes{status})")
            else:
                print(f"{name}: CHANGED: sent {len(original)} bytes, printed {len(sent.printed)}")
    print(f"\n{RULE}\nbalances")
    for kind, value, balance in result.get("balances", []):
        print(f"  {kind:<8} {value:<20} {balance:>6} points")
    claims = result.get("claims", [])
    if claims:
        print("claim codes printed (sales with no customer)")
        print("\n".join(claims))
    unread = _unread(workdir, tills)
    if unread:
        print("not read (printed as the till sent them; raw bytes kept to award later)")
        print("\n".join(unread))
    story = result.get("story")
    if story:
        print(f"\n{RULE}\nthe programme, end to end: one customer at the diner\n{RULE}")
        for step in story:
            print(f"\n{step.title} (balance after: {step.balance})")
            if not quiet:
                print(_indent(step.text))
    if "story_error" in result:
        print(f"the programme's story failed: {result['story_error']!r}", file=sys.stderr)
    sent_total = sum(len(t.captures) for t in tills)
    print(
        f"\n{sent_total} captures sent, {printed} printed: {injected} with a loyalty message, "
        f"{exact} byte-exact, {broken} changed; {result.get('journaled', 0)} awards journaled"
    )
    if "error" in result:
        print(f"demo failed: {result['error']!r}", file=sys.stderr)
    result["ok"] = (
        result.get("ok", False)
        and broken == 0
        and printed == sent_total
        and "story_error" not in result
    )
    where = workdir / "printed"
    if where.exists():
        print(f"printed receipts (text, HTML, PNG): {where}")
    if not serve:
        print("next: `tillbridge demo --serve` for your own captures; docs/running.md for a till")


def _compare(original: bytes, printed: bytes) -> tuple[str, int]:
    """exact; message (every byte the till sent, in order, with bytes inserted: one message
    per sale); or changed."""
    if printed == original:
        return "exact", 0
    if len(printed) < len(original) or not _is_subsequence(original, printed):
        return "changed", 0
    return "message", len(printed) - len(original)


def _is_subsequence(needle: bytes, haystack: bytes) -> bool:
    # Greedy is exact for a subsequence test; matching runs at a time keeps it fast.
    at = 0
    i = 0
    while i < len(needle):
        run = 1
        while i + run <= len(needle) and haystack.startswith(needle[i : i + run], at):
            run *= 2
        run //= 2
        if run == 0:
            at = haystack.find(needle[i : i + 1], at)
            if at < 0:
                return False
            continue
        i += run
        at += run
    return True


def _indent(text: str) -> str:
    return "\n".join(f"    | {line}" for line in text.rstrip("\n").splitlines())
