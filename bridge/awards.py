"""The awards desk: every database call of the daemon, on one worker thread, never the reactor.

``award(receipt)`` fires with the ``Outcome`` to print, or with ``None`` when the database
could not take it: the award was then written to the local journal (fsynced) and is applied,
once, when the database is back (DESIGN rules 1, 2 and 4).

**One thread for awards.** The ledger's writes queue on one row lock anyway (SQLite has one
writer), and one thread keeps awards in the order receipts were cut. An award takes a few
milliseconds. Journal replays run on a second thread: after a long outage a replay can take
seconds, and new awards must not wait behind it (their holds would run out). The two never
award the same receipt twice: the ledger's key is unique, and the journal keeps entries
appended while it replays.

**In the daemon, the ledger's work runs in processes of its own** (``ledger_process=True``:
``bridge.ledger_process``, one for each of the two threads): the threads only wait on a pipe,
so an award's ~1 ms of Python no longer holds the interpreter lock the reactor needs. The
desk's own logic below is the same either way.

**When the database is down** each further award would wait for a connection timeout first,
and a queue of them would outlast every hold. So after the first ``StoreUnavailable`` the desk
goes straight to the journal, and a retry loop (``retry_interval``) replays the journal; the
first replay that goes through puts the desk back on the database. The same loop runs the
migrations if the database was down when the daemon started.

**After every outage the engine's connections are thrown away** (``engine.dispose()``): a
connection that opened a read-only file stays read-only after the file is made writable
again, and one that opened a deleted file keeps writing into it. The next try opens fresh
ones, so a mended database is used again without a restart.

**Only our own database.** Before the first write, and again after every outage, the
database's id is checked against the marker file beside the journal
(``bridge.store.identity``): a missing, empty or different database is refused and awards are
journaled until the right one is back; deleting the marker starts afresh on purpose.

**When the journal's disk is full too**, an award the journal refuses is kept in memory (at
most ``memory_bound`` of them, in order; past that an award fails and is logged as lost) and
the retry loop writes them to the journal, or straight to the database, as soon as either
takes them.

**Voids.** ``void(receipt, why)`` takes back the award of a receipt that never reached the
printer whole (``Ledger.void``), on the same thread, after the receipt's own award. With the
database down it is journaled like an award, and replayed after the awards journaled before
it. It is journaled too, even with the database up, while awards still wait in the journal or
in memory: the receipt's own award may be among them, and a void applied before it would find
nothing to take back. A replay is then started at once. A void never fails its caller: what
goes wrong is logged with the receipt's number and till, and counted (``void_failures``).

**WAL checkpoints** (SQLite) run on a thread of their own, never inside an award
(``bridge.store.engine``): every ``checkpoint_interval`` seconds when no award is in flight,
or after ``CHECKPOINT_AFTER`` awards on a desk that is never idle (and during a long replay).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from twisted.internet import defer, task, threads
from twisted.python.threadpool import ThreadPool

from bridge.ledger_process import LedgerProcess
from bridge.loyalty import Journal, JournalEntry, Ledger, Outcome, Voided
from bridge.loyalty.earning import EarningRules
from bridge.store import (
    StoreMarker,
    StoreRefused,
    StoreUnavailable,
    checkpoint,
    open_store,
    sqlite_file,
)
from parsers.receipt import CustomerRef, Receipt

log = logging.getLogger(__name__)

T = TypeVar("T")

MEMORY_BOUND = 10_000  # awards held in memory while the journal's disk refuses them
CHECKPOINT_INTERVAL = 1.0  # seconds between looks at whether a WAL checkpoint is due
# Past this many awards since the last checkpoint, it runs even with awards in flight: a busy
# desk must not let the WAL grow without end (an award adds ~5 pages; SQLite's own automatic
# checkpoint came every ~1,000 pages).
CHECKPOINT_AFTER = 200


class AwardNotKept(Exception):
    """Neither the database, the journal nor the memory queue could take the award."""


class AwardsDesk:
    def __init__(
        self,
        reactor: Any,
        engine: Engine,
        journal: Journal,
        rule: EarningRules,
        retry_interval: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        marker: Path | None = None,
        memory_bound: int = MEMORY_BOUND,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
        ledger_process: bool = False,
    ) -> None:
        self.reactor = reactor
        self.engine = engine
        # The award thread's ledger and the replay thread's: the same one in this process, or
        # a process each (``bridge.ledger_process``: the daemon's, off the interpreter lock).
        self.ledger: Ledger | LedgerProcess
        self._replay_ledger: Ledger | LedgerProcess
        if ledger_process:
            url = engine.url.render_as_string(hide_password=False)
            self.ledger = LedgerProcess(url, self._file_must_exist, "ledger")
            self._replay_ledger = LedgerProcess(url, self._file_must_exist, "ledger replay")
        else:
            self.ledger = self._replay_ledger = Ledger(engine)
        self.journal = journal
        self.marker = (
            StoreMarker(marker) if marker is not None else StoreMarker.beside(journal.path)
        )
        self.rule = rule
        self.retry_interval = retry_interval
        self.clock = clock
        self.memory_bound = memory_bound
        self.store_up = False  # set once migrations have run; cleared on StoreUnavailable
        # For logs and tests, since start:
        self.journaled = 0  # awards written to the journal (at once, or later from memory)
        self.replayed = 0  # journal (or memory) entries applied
        self.lost = 0  # awards refused with the memory queue full: logged one by one
        self.checkpoints = 0  # WAL checkpoints run
        self.voided = 0  # awards voided (at once, or from the journal or memory)
        self.voids_kept = 0  # voids left to the journal (or memory) for a later replay
        self.void_failures = 0  # voids that went wrong: logged one by one
        self._held: deque[JournalEntry] = deque()  # refused by the journal's disk, in order
        self._held_lock = threading.Lock()  # the award and the replay threads both use it
        self._last_refusal: str | None = None
        self._disk_refusing = False  # the journal's last write failed
        self._compact_due = False  # a replay's compaction failed: the journal needs another
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="tillbridge-db")
        self._replays = ThreadPool(minthreads=1, maxthreads=1, name="tillbridge-replay")
        self._checkpoints = ThreadPool(minthreads=1, maxthreads=1, name="tillbridge-checkpoint")
        self._retry = task.LoopingCall(self._retry_now)
        self._retry.clock = reactor
        self._in_flight = 0  # awards queued or running on the database thread
        self._since_checkpoint = 0
        self._replaying = 0  # replays queued or running
        self._checkpointing = False
        self._checkpoint = task.LoopingCall(self._checkpoint_if_idle)
        self._checkpoint.clock = reactor
        self._checkpoint_interval = checkpoint_interval
        self._started = False

    # --- life -----------------------------------------------------------------------------

    def start(self) -> defer.Deferred[None]:
        """Start the thread, migrate the database and replay the journal. Never fails: with
        the database down, the desk starts on the journal and keeps retrying."""
        self._pool.start()
        self._replays.start()
        self._checkpoints.start()
        self._started = True
        d = self._run(self._open)

        def opened(up: bool) -> None:
            if up:
                self._retry_now()  # a journal left by an earlier run, in the background
            if sqlite_file(self.engine) is not None:
                self._checkpoint.start(self._checkpoint_interval, now=False)

        d.addCallback(opened)
        return d

    @property
    def held(self) -> int:
        """Awards waiting in memory for the journal's disk (or the database) to take them."""
        return len(self._held)

    def stop(self) -> defer.Deferred[None]:
        """Let queued awards finish, then end the thread and close the database's pool."""
        if not self._started:
            return defer.succeed(None)
        self._started = False
        if self._retry.running:
            self._retry.stop()
        if self._checkpoint.running:
            self._checkpoint.stop()
        # A last job on each thread: when all have run, everything queued before is done.
        d = defer.DeferredList(
            [
                self.in_thread(self._last_flush),
                threads.deferToThreadPool(self.reactor, self._replays, lambda: None),
                threads.deferToThreadPool(self.reactor, self._checkpoints, lambda: None),
            ]
        )

        def done(_: object) -> None:
            self._pool.stop()
            self._replays.stop()
            self._checkpoints.stop()
            for ledger in (self.ledger, self._replay_ledger):
                if isinstance(ledger, LedgerProcess):
                    ledger.close()
            self.engine.dispose()

        d.addBoth(done)
        return d

    # --- awards ---------------------------------------------------------------------------

    def award(self, receipt: Receipt) -> defer.Deferred[Outcome | None]:
        """The receipt's award: its Outcome, or None if it was journaled for later."""
        at = self.clock()
        self._in_flight += 1
        d = self._run(lambda: self._award(receipt, at))

        def done(result: T) -> T:
            self._in_flight -= 1
            self._since_checkpoint += 1
            return result

        d.addBoth(done)
        return d

    def void(self, receipt: Receipt, why: str) -> defer.Deferred[None]:
        """Take back the receipt's award: it never reached the printer whole. Journaled when
        the database cannot take it. Never fails: a failure is logged and counted."""
        at = self.clock()
        self._in_flight += 1
        d = self._run(lambda: self._void(receipt, why, at))

        def failed(failure: Any) -> None:
            self.void_failures += 1
            log.error(
                "receipt %s of till %s: its award could not be voided (%s), although the "
                "receipt did not print: %s",
                _number(receipt),
                _till(receipt),
                why,
                failure.getErrorMessage() or failure.type.__name__,
            )

        def done(result: T) -> T:
            self._in_flight -= 1
            self._since_checkpoint += 1
            return result

        d.addErrback(failed)
        d.addBoth(done)
        return d

    def expire(self) -> defer.Deferred[int]:
        """Write the expiry rows of the lots past their day (the daemon's scheduled job), on
        the database thread: the points expired. A database that is away raises
        ``StoreUnavailable``; the next run expires them, exactly once (keyed by the lot)."""
        now = self.clock()
        return self.in_thread(lambda: self.ledger.expire(now))

    def balance(self, customer: CustomerRef | str) -> defer.Deferred[int]:
        return self.in_thread(lambda: self.ledger.balance(customer))

    def replay_now(self) -> defer.Deferred[bool]:
        """Try the journal now, on the replay thread (tests, and the retry loop); True if the
        store is up after."""
        self._replaying += 1
        d = threads.deferToThreadPool(self.reactor, self._replays, self._replay)

        def after(up: bool) -> bool:
            self._update_retry()
            return up

        def ended(result: object) -> object:
            self._replaying -= 1
            return result

        d.addBoth(ended)
        d.addCallback(after)
        return d

    # --- in the thread ----------------------------------------------------------------------

    def _open(self) -> bool:
        try:
            open_store(self.engine, self.marker)
        except Exception as exc:  # any failure here means "database not there"
            self._outage()
            if isinstance(exc, StoreRefused):
                self._last_refusal = str(exc)
            log.error("database %s unavailable at start: %s; journaling awards", self._url(), exc)
            return False
        if isinstance(self.ledger, LedgerProcess):
            try:
                self.ledger.start()  # its imports now, not at the first receipt's cut
            except StoreUnavailable as exc:
                self._outage()
                log.error("%s; journaling awards", exc)
                return False
        self.store_up = True
        return True

    def _file_must_exist(self) -> bool:
        file = sqlite_file(self.engine)
        return file is not None and file.must_exist

    def _award(self, receipt: Receipt, at: datetime) -> Outcome | None:
        if self.store_up:
            try:
                return self.ledger.award(receipt, self.rule, at, self.rule.policy)
            except StoreUnavailable as exc:
                self._outage()
                log.error("database unavailable (%s): journaling awards until it is back", exc)
        self._keep(JournalEntry(receipt, self.rule, at))
        return None

    def _void(self, receipt: Receipt, why: str, at: datetime) -> None:
        if self.store_up and not self._awards_waiting():
            try:
                taken = self.ledger.void(receipt, why, at)
            except StoreUnavailable as exc:
                self._outage()
                log.error("database unavailable (%s): journaling awards until it is back", exc)
            else:
                self._voided(receipt, why, taken)
                return
        self._keep(JournalEntry(receipt, self.rule, at, void_reason=why))
        self.voids_kept += 1
        if self.store_up:
            # The retry loop is off with the database up: replay now, after what waits.
            self.reactor.callFromThread(self._replay_soon)

    def _replay_soon(self) -> None:
        if self._started:
            self._retry_now()

    def _awards_waiting(self) -> bool:
        """Awards not in the database yet may be waiting, in the journal or in memory."""
        return bool(self._held) or self._replaying > 0 or not self.journal.is_empty()

    def _voided(self, receipt: Receipt, why: str, taken: int) -> None:
        self.voided += 1
        log.warning(
            "receipt %s of till %s: %s; its award is voided (%d points taken back): a reprint "
            "earns again",
            _number(receipt),
            _till(receipt),
            why,
            taken,
        )

    def _keep(self, entry: JournalEntry) -> None:
        """Journal the entry, or hold it in memory while the journal's disk refuses it."""
        number = entry.receipt.number or "?"
        what = "void" if entry.is_void else "award"
        with self._held_lock:
            if len(self._held) >= self.memory_bound:
                self.lost += 1
                failed = "award not voided" if entry.is_void else "not awarded"
                raise AwardNotKept(
                    f"receipt {number} {failed}: the database is unavailable, the "
                    f"journal {self.journal.path} cannot be written, and {len(self._held)} awards "
                    f"already wait in memory (the bound, memory_bound={self.memory_bound})"
                )
            self._held.append(entry)
            waiting = self._flush_held()
        if waiting == 0:
            log.warning("receipt %s journaled for a later %s (%s)", number, what, self.journal.path)
        else:
            log.warning(
                "receipt %s kept in memory for a later %s (%d waiting)", number, what, waiting
            )

    def _flush_held(self) -> int:
        """Write held entries to the journal, oldest first; how many still wait. Called with
        ``_held_lock`` held."""
        while self._held:
            try:
                self.journal.append(self._held[0])
            except OSError as exc:
                if not self._disk_refusing:  # said once per episode, not at every award
                    self._disk_refusing = True
                    log.error(
                        "journal %s refuses writes (%s): awards are kept in memory (at most "
                        "%d) and written as soon as the disk takes them",
                        self.journal.path,
                        exc,
                        self.memory_bound,
                    )
                break
            self._held.popleft()
            self.journaled += 1
        if not self._held and self._disk_refusing:
            self._disk_refusing = False
            log.warning(
                "journal %s takes writes again: the awards kept in memory are in it",
                self.journal.path,
            )
        return len(self._held)

    def _last_flush(self) -> None:
        """At the stop: a last try to journal what is held in memory; what stays is lost."""
        with self._held_lock:
            left = self._flush_held()
        if left:
            self.lost += left
            log.error(
                "stopping with %d award(s) that neither the database nor the journal's disk "
                "took: they are lost (their receipts printed without a message)",
                left,
            )

    def _replay(self) -> bool:
        with self._held_lock:
            self._flush_held()
        if not self.store_up:
            try:
                open_store(self.engine, self.marker)
            except StoreRefused as exc:
                self._outage()
                if str(exc) != self._last_refusal:  # said once, not at every retry
                    log.error("%s", exc)
                    self._last_refusal = str(exc)
                return False
            except Exception as exc:
                self._outage()
                log.info("database still unavailable: %s", _first_line(exc))
                return False
            self.store_up = True
            self._last_refusal = None
            log.warning("database %s is back", self._url())
        if not self._apply_held():
            return False
        if not self.journal.path.exists():
            return True
        try:
            outcomes = self.journal.replay(self._replay_ledger, self.clock())
        except StoreUnavailable as exc:
            self._outage()
            log.info("database unavailable again during replay: %s", _first_line(exc))
            return False
        except OSError as exc:  # the compaction's write; the entries replay again next time
            self._compact_due = True
            log.error(
                "journal %s could not be compacted after a replay: %s", self.journal.path, exc
            )
            return True
        self._compact_due = False
        if outcomes:
            self.replayed += len(outcomes)
            voids = [o for o in outcomes if isinstance(o, Voided)]
            self.voided += len(voids)
            taken = sum(v.points for v in voids)
            log.warning(
                "journal replayed: %d awards applied%s",
                len(outcomes) - len(voids),
                f", and {len(voids)} void(s) ({taken} points taken back)" if voids else "",
            )
        return True

    def _apply_held(self) -> bool:
        """Award the entries still held in memory straight in the database (its disk takes
        writes, the journal's does not); False if the database went away meanwhile."""
        applied = 0
        while True:
            with self._held_lock:
                if not self._held:
                    break
                if self._held[0].is_void and not self.journal.is_empty():
                    # Its award may wait in the journal (older than what memory holds): the
                    # void waits until the journal takes it, after that award.
                    break
                entry = self._held.popleft()
            try:
                result = entry.apply(self._replay_ledger, self.clock())
            except StoreUnavailable as exc:
                with self._held_lock:
                    self._held.appendleft(entry)
                self._outage()
                log.info("database unavailable again: %s", _first_line(exc))
                return False
            applied += 1
            if isinstance(result, Voided):
                self._voided(entry.receipt, entry.void_reason or "", result.points)
        if applied:
            self.replayed += applied
            log.warning("%d award(s) held in memory applied", applied)
        return True

    def _outage(self) -> None:
        """The database failed: mark it down, and throw its connections away (see above)."""
        self.store_up = False
        self.engine.dispose()

    def _checkpoint_if_idle(self) -> None:
        if not self.store_up or self._checkpointing:
            return
        if self._replaying:
            pass  # a long replay writes without pause: checkpoint beside it
        elif self._since_checkpoint == 0:
            return
        elif self._in_flight and self._since_checkpoint < CHECKPOINT_AFTER:
            return  # awards waiting: their turn first
        self._checkpointing = True
        self._since_checkpoint = 0
        d = threads.deferToThreadPool(self.reactor, self._checkpoints, checkpoint, self.engine)

        def done(_: object) -> None:
            self._checkpointing = False
            self.checkpoints += 1

        def failed(failure: Any) -> None:
            self._checkpointing = False
            # Not an outage of awards: the next award finds out for itself.
            log.warning("WAL checkpoint failed: %s", _first_line(failure.value))

        d.addCallbacks(done, failed)

    # --- plumbing ---------------------------------------------------------------------------

    def _run(self, job: Callable[[], T]) -> defer.Deferred[T]:
        """Run ``job`` in the thread, then start or stop the retry loop to match the store."""
        d = self.in_thread(job)

        def after(result: T) -> T:
            self._update_retry()
            return result

        d.addCallback(after)
        return d

    def in_thread(self, job: Callable[[], T]) -> defer.Deferred[T]:
        """Run ``job`` on the database thread (after every award queued before it)."""
        return threads.deferToThreadPool(self.reactor, self._pool, job)

    def _update_retry(self) -> None:
        if not self._started:
            return
        due = not self.store_up or bool(self._held) or self._compact_due
        if not due and self._retry.running:
            self._retry.stop()
        elif due and not self._retry.running:
            self._retry.start(self.retry_interval, now=False)

    def _retry_now(self) -> defer.Deferred[bool]:
        d = self.replay_now()
        d.addErrback(lambda f: log.error("journal replay failed: %s", f.getTraceback()) or False)
        return d

    def _url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


def _number(receipt: Receipt) -> str:
    return receipt.number or "?"


def _till(receipt: Receipt) -> str:
    return receipt.till or "?"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
