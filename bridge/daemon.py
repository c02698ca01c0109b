"""The daemon: the config made into running parts, started and stopped in order.

For each till: a ``TillLink`` (``bridge.link``) with the till's session settings, its
``ReceiptHandler`` and its printer side, served on the till side (a TCP listener, or a serial
port kept open). Shared by all tills: the parse pool (``parse_workers`` child processes, which
the tills take in turn) and the awards desk (one database thread, the journal).

Start-up fails open where it can: a database that is down, or a layout that does not compile,
is logged and the tills are still served (every byte passes; awards are journaled, unread
receipts kept). Only what makes a till unreachable fails the start: a port already in use.
A serial till whose device is missing is retried until it appears.

``stop()`` is the graceful stop (SIGTERM, SIGINT): no new tills are accepted; each open link is
ended as if its till had closed once the till is between receipts (quiet, nothing held), and a
held receipt is still answered within its ``max_hold``; then queued awards finish and the
worker ends.
"""

from __future__ import annotations

import gc
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet import task

from bridge import message_template
from bridge.awards import AwardsDesk
from bridge.config import (
    Config,
    DeviceFile,
    SerialPortConfig,
    TcpConnect,
    TcpListen,
    TillConfig,
)
from bridge.handler import ReceiptHandler
from bridge.inbox import Inbox
from bridge.layout_watch import LayoutWatch
from bridge.link import (
    LinkOptions,
    TcpTillSide,
    TillLink,
    serve_serial_from_config,
    serve_tcp,
)
from bridge.loyalty import Journal
from bridge.loyalty.in_force import rules_in_force
from bridge.message_template import MessageTemplate
from bridge.parse_worker import COMPILE_TIMEOUT, ParseWorker
from bridge.raw_store import RawStore, owner_only_folders
from bridge.session import Mode
from bridge.store import make_engine
from drivers.access import AccessFactory, AccessRules
from drivers.device_file import DeviceFilePrinter
from drivers.escpos_out import Message, render_message
from drivers.serial_port import SerialPrinter
from drivers.tcp import TcpPrinter
from drivers.transport import PrinterConnector
from parsers.escpos.state import PrinterState

log = logging.getLogger(__name__)

LAYOUT_COMPILE_TIMEOUT = COMPILE_TIMEOUT  # an admin's grammar can take long to lint
SERIAL_RETRY = 5.0  # seconds between attempts to open a serial till's device
DRAIN_POLL = 0.05
STOP_QUIET = 0.5  # a till quiet this long, with nothing held, is not in the middle of a receipt
STOP_GRACE = 3.0  # after the stop timeout, for held receipts and the printers' last bytes
GIL_SWITCH_S = 0.0005  # the interpreter lock is handed over at least this often (see start)
STATS_INTERVAL = 15 * 60.0  # seconds between stats lines in the log
# Points expire by the day: an hourly look writes each day's expiries soon after midnight,
# and a daemon that was down catches up at its start.
EXPIRY_INTERVAL = 60 * 60.0


@dataclass
class RunningTill:
    config: TillConfig
    link: TillLink
    handler: ReceiptHandler | None  # None in passthrough mode: receipts are not read
    listening: TcpTillSide | None = None  # a TCP till side
    serial: Any = None  # a serial till side (SerialPort), while open
    _reopen: task.LoopingCall | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """Where the till side is: ``tcp:HOST:PORT`` (the real port) or ``serial:DEVICE``."""
        if self.listening is not None:
            return f"tcp:{self.listening.host}:{self.listening.port}"
        return str(self.config.listen)


class Daemon:
    def __init__(
        self,
        config: Config,
        reactor: Any,
        link_options: LinkOptions | None = None,
        retry_interval: float = 5.0,
    ) -> None:
        self.config = config
        self.reactor = reactor
        self.link_options = link_options
        self.worker = ParseWorker(
            reactor, processes=config.parse_workers, compile_timeout=LAYOUT_COMPILE_TIMEOUT
        )
        self.journal = Journal(config.journal)
        self.desk = AwardsDesk(
            reactor,
            make_engine(config.database.url),
            self.journal,
            rules_in_force(config.loyalty.rules, config.loyalty.points_per_unit),
            retry_interval=retry_interval,
            ledger_process=True,
        )
        self.unread = RawStore(
            config.journal.parent / "unread", max_bytes=config.unread_max_mb * 2**20
        )
        # Each till's next inbox file is made on a thread, ready for its next connection.
        self.inbox = Inbox(config.journal.parent / "inbox", prepare=reactor.callInThread)
        self.template = _store_template(config.loyalty.template)
        self.captures = RawStore(config.capture_dir) if config.capture_dir is not None else None
        self.tills: dict[str, RunningTill] = {}
        self._stopping = False
        self.layout_watch: LayoutWatch | None = None  # from the start, once tills are served
        self._stats = task.LoopingCall(self.log_stats)
        self._expiry = task.LoopingCall(self._expire_points)
        self._stats.clock = reactor

    async def start(self) -> None:
        """Start every part; raises if a till side cannot be served (e.g. its port is taken)."""
        owner_only_folders(self.config.journal.parent)
        await self.worker.start()
        await self.desk.start()
        if self._stopping:
            return  # stopped (SIGTERM) while starting: stop() has ended what there was
        left = self.inbox.waiting()  # listed before any till prints into it again
        # The message's templates and catalogues (~40 ms): now, not at the first receipt's cut.
        message_template.warm()
        try:
            for till in self.config.tills:
                self.tills[till.name] = self._start_till(till)
        except Exception:
            await self.stop()
            raise
        log.info("tillbridge running: %d till(s)", len(self.tills))
        # The tills print meanwhile: a layout still compiling only makes its first receipts
        # wait for it (queued, where no limit runs), never the till.
        layouts = {t.layout for t in self.config.tills if t.mode is not Mode.PASSTHROUGH}
        # Watched from before the first compile: a save made while it runs is not missed.
        self.layout_watch = LayoutWatch(self.reactor, self.worker, layouts, LAYOUT_COMPILE_TIMEOUT)
        compiled = []
        for layout in sorted(layouts):
            if self._stopping:
                return
            try:
                await self.worker.load(layout, LAYOUT_COMPILE_TIMEOUT)
                compiled.append(layout)
            except Exception as exc:
                log.error(
                    "layout %s does not load: %s. Its tills still print; their receipts are "
                    "kept unread in %s",
                    layout,
                    exc,
                    self.unread.folder,
                )
        if self._stopping:
            return
        self.layout_watch.mark_compiled(compiled)
        self.layout_watch.start()
        await self._recover_inbox(left)
        # What start-up built (modules, grammars, SQLAlchemy's caches: ~100k objects) lives
        # as long as the daemon. Frozen, a full collection no longer walks it: measured
        # 23-31 ms per full collection before, which would hold a cut past the 10 ms aim.
        gc.collect()
        gc.freeze()
        # The awards desk's database thread runs Python between its SQLite calls, and the
        # reactor waits for the interpreter lock meanwhile: up to the switch interval (5 ms by
        # default) each time. At 100 tills (bench/bridge_bench.py --only fleet), two runs of
        # each in turn: cut p99 8.5 and 11.9 ms at 0.5 ms against 25 and 38 ms at 5 ms, the
        # same CPU per receipt; single runs either way have ranged 9-27 ms on this machine.
        sys.setswitchinterval(GIL_SWITCH_S)
        self._stats.start(STATS_INTERVAL, now=False)
        self._expiry.start(EXPIRY_INTERVAL, now=True)

    async def _expire_points(self) -> None:
        try:
            expired = await self.desk.expire()
        except Exception as exc:  # the database away: the next run expires them, once
            log.warning("points expiry not run now: %s", exc)
            return
        if expired:
            log.info("expired %d points of lots past their day", expired)

    def log_stats(self) -> None:
        """One line per till of what it has done since the start, and the journal's state."""
        for name, till in self.tills.items():
            handler = till.handler
            read = (
                f"{handler.read} read, {handler.awarded} awarded, {handler.unread} kept unread, "
                f"{handler.read_late} read too late for a message"
                if handler is not None
                else "not read (passthrough)"
            )
            reasons = ", ".join(f"{why}: {n}" for why, n in sorted(till.link.no_message.items()))
            log.info(
                "stats: till %s: %d connections, %s, %d released with no message%s",
                name,
                till.link.connections,
                read,
                till.link.released_unanswered,
                f" ({reasons})" if reasons else "",
            )
        log.info(
            "stats: parse workers: %d processes, %d killed (stuck past parse_timeout_ms), "
            "%d reads waiting",
            self.config.parse_workers,
            self.worker.killed,
            self.worker.queued,
        )
        log.info(
            "stats: database %s, %d awards journaled and %d replayed since start, "
            "%d waiting in memory for the disk, %d lost (memory queue full), "
            "%d taken back (not printed), %d of those failed",
            "up" if self.desk.store_up else "UNAVAILABLE",
            self.desk.journaled,
            self.desk.replayed,
            self.desk.held,
            self.desk.lost,
            self.desk.voided,
            self.desk.void_failures,
        )

    async def _recover_inbox(self, left: dict[str, list[Path]]) -> None:
        """Award the receipts a previous run had started to read but did not get to record
        (it was killed meanwhile). Each is awarded once: the ledger knows the keys of those
        it had recorded."""
        for till_name, paths in left.items():
            running = self.tills.get(till_name)
            for path in paths:
                if self._stopping:
                    return  # the rest waits for the next start
                if _empty(path):
                    self.inbox.discard(path)  # made ahead for a connection that never came
                    continue
                if running is None or running.handler is None:
                    log.warning("inbox %s: no reading till %s now: kept unread", path, till_name)
                    self.unread.keep(till_name, 0, path.read_bytes(), "left in the inbox")
                    self.inbox.discard(path)
                    continue
                log.warning("till %s: a receipt from before the last stop: %s", till_name, path)
                try:
                    await running.handler.recover(path)
                except Exception as exc:
                    log.error("inbox %s: %s; left there for the next start", path, exc)
                else:
                    self.inbox.discard(path)

    async def stop(self, timeout: float = 15.0) -> None:
        """The graceful stop; see the module docstring.

        A till's link is ended once the till has been quiet for ``STOP_QUIET`` seconds with
        no receipt held, so a receipt being sent is not cut off half-way; network tills usually
        close by themselves after each receipt. After ``timeout`` every link is ended anyway.
        """
        if self._stopping:
            return
        self._stopping = True
        log.info("stopping: finishing receipts in flight")
        if self._stats.running:
            self._stats.stop()
        if self._expiry.running:
            self._expiry.stop()
        if self.layout_watch is not None:
            self.layout_watch.stop()
        for till in self.tills.values():
            if till._reopen is not None and till._reopen.running:
                till._reopen.stop()
            if till.listening is not None:
                await till.listening.stopListening()
        deadline = self.reactor.seconds() + timeout
        while any(t.link.pairings for t in self.tills.values()):
            now = self.reactor.seconds()
            for till in self.tills.values():
                for pairing in list(till.link.pairings):
                    quiet = now - pairing.till_last_data >= STOP_QUIET
                    # A connection waiting its turn is served first: its receipt is in flight.
                    if pairing.till_reading and (
                        now >= deadline
                        or (pairing.started and quiet and not pairing.session.holding)
                    ):
                        pairing.till_ended("stopping")
            if now >= deadline + STOP_GRACE:
                log.warning("stop: links still open after %.0f s; closing them", timeout)
                break
            await task.deferLater(self.reactor, DRAIN_POLL, lambda: None)
        for till in self.tills.values():
            till.link.close_all()
        self.inbox.close()  # the files made ahead for connections that will not come
        for till in self.tills.values():
            if till.handler is not None:
                await till.handler.settle()  # receipts that did not print: awards taken back
        # The workers first: a read still pending is left in the inbox for the next start,
        # and every award of a read that came back is queued before the desk stops.
        await self.worker.stop()
        await self.desk.stop()
        self.log_stats()
        log.info("stopped")

    # --- one till -------------------------------------------------------------------------

    def _start_till(self, config: TillConfig) -> RunningTill:
        handler = None
        if config.mode is not Mode.PASSTHROUGH:
            profile = config.printer_profile()
            # The first render imports python-escpos and builds its data (~0.3 s): not at the
            # first receipt's cut.
            render_message(Message(lines=("tillbridge",)), profile, PrinterState())
            handler = ReceiptHandler(
                self.reactor,
                till=config.name,
                layout=config.layout,
                parser=self.worker,
                desk=self.desk,
                profile=profile,
                max_hold=config.max_hold_ms / 1000,
                unread=self.unread,
                captures=self.captures,
                claim_url=self.config.loyalty.claim_url,
                language=config.language,
                parse_timeout=self.config.parse_timeout_ms / 1000,
                store=self.config.store_id(config),
                template=self.template,
                points_pending=self.config.loyalty.points_pending,
            )
        link = TillLink(
            config.session_config(),
            handler if handler is not None else _no_message,
            printer_connector(config.printer, self.reactor),
            self.reactor,
            self.link_options,
            inbox=self.inbox if handler is not None else None,
            on_abandoned=handler.abandoned if handler is not None else None,
            on_not_printed=handler.not_printed if handler is not None else None,
        )
        running = RunningTill(config, link, handler)
        if isinstance(config.listen, TcpListen):
            # The allow list, connection limit and idle timeout stand before the till's link.
            access = AccessFactory(
                link,
                AccessRules.for_listener(
                    config.listen.host,
                    config.allow,
                    config.max_connections,
                    config.idle_timeout_s or None,
                ),
                config.name,
                self.reactor,
            )
            listen = config.listen
            running.listening = serve_tcp(
                link,
                listen.host,
                listen.port,
                self.reactor,
                backlog=config.listen_backlog,
                factory=access,
                # Only a network printer is checked: opening a serial port or a device file
                # to see is not free, and they do not refuse connections.
                printer_check=(
                    config.printer_check_s or None
                    if isinstance(config.printer, TcpConnect)
                    else None
                ),
            )
        elif isinstance(config.listen, SerialPortConfig):
            self._open_serial(running)
            running._reopen = task.LoopingCall(self._open_serial, running)
            running._reopen.clock = self.reactor
            running._reopen.start(SERIAL_RETRY, now=False)
        else:
            raise TypeError(f"till {config.name}: cannot listen on {config.listen}")
        log.info(
            "till %s: %s -> %s, layout %s, mode %s, language %s",
            config.name,
            running.address,
            config.printer,
            config.layout,
            config.mode.value,
            config.language,
        )
        return running

    def _open_serial(self, running: RunningTill) -> None:
        """Open the till's serial device unless a link on it is still open."""
        if self._stopping or running.link.pairings:
            return
        listen = running.config.listen
        assert isinstance(listen, SerialPortConfig)
        try:
            running.serial = serve_serial_from_config(running.link, listen, self.reactor)
        except Exception as exc:
            running.link.pairings.clear()  # the half-made pairing of the failed open
            log.error(
                "till %s: cannot open %s (%s); retrying every %.0f s",
                running.config.name,
                Path(listen.device),
                exc,
                SERIAL_RETRY,
            )


def printer_connector(printer: object, reactor: Any) -> PrinterConnector:
    """The printer side for a configured endpoint: TCP, serial port or device file."""
    if isinstance(printer, TcpConnect):
        return TcpPrinter.from_config(printer, reactor)
    if isinstance(printer, SerialPortConfig):
        return SerialPrinter.from_config(printer, reactor)
    if isinstance(printer, DeviceFile):
        return DeviceFilePrinter.from_config(printer, reactor)
    raise TypeError(f"cannot print to {printer}")


def _no_message(_: object) -> None:
    return None


def _store_template(path: Path | None) -> MessageTemplate | None:
    """The store's own message template, or None (ours): a template that does not load is
    logged and ours prints, so a receipt is never held up by it (``check-config`` says why)."""
    if path is None:
        return None
    try:
        return MessageTemplate.load(path)
    except Exception as exc:  # a template's syntax errors, an unreadable file...
        log.error("message template %s does not load (%s): printing the default message", path, exc)
        return None


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
