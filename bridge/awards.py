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

**When the database is down** each further award would wait for a connection timeout first,
and a queue of them would outlast every hold. So after the first ``StoreUnavailable`` the desk
goes straight to the journal, and a retry loop (``retry_interval``) replays the journal; the
first replay that goes through puts the desk back on the database. The same loop runs the
migrations if the database was down when the daemon started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from twisted.internet import defer, task, threads
from twisted.python.threadpool import ThreadPool

from bridge.loyalty import Journal, JournalEntry, Ledger, Outcome, PointsRule
from bridge.store import StoreUnavailable, migrate
from parsers.receipt import CustomerRef, Receipt

log = logging.getLogger(__name__)

T = TypeVar("T")


class AwardsDesk:
    def __init__(
        self,
        reactor: Any,
        engine: Engine,
        journal: Journal,
        rule: PointsRule,
        retry_interval: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reactor = reactor
        self.engine = engine
        self.ledger = Ledger(engine)
        self.journal = journal
        self.rule = rule
        self.retry_interval = retry_interval
        self.clock = clock
        self.store_up = False  # set once migrations have run; cleared on StoreUnavailable
        self.journaled = 0  # awards journaled since start, for logs and tests
        self.replayed = 0  # journal entries applied since start
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="tillbridge-db")
        self._replays = ThreadPool(minthreads=1, maxthreads=1, name="tillbridge-replay")
        self._retry = task.LoopingCall(self._retry_now)
        self._retry.clock = reactor
        self._started = False

    # --- life -----------------------------------------------------------------------------

    def start(self) -> defer.Deferred[None]:
        """Start the thread, migrate the database and replay the journal. Never fails: with
        the database down, the desk starts on the journal and keeps retrying."""
        self._pool.start()
        self._replays.start()
        self._started = True
        d = self._run(self._open)

        def opened(up: bool) -> None:
            if up:
                self._retry_now()  # a journal left by an earlier run, in the background

        d.addCallback(opened)
        return d

    def stop(self) -> defer.Deferred[None]:
        """Let queued awards finish, then end the thread and close the database's pool."""
        if not self._started:
            return defer.succeed(None)
        self._started = False
        if self._retry.running:
            self._retry.stop()
        # A last job on each thread: when both have run, everything queued before is done.
        d = defer.DeferredList(
            [
                self.in_thread(lambda: None),
                threads.deferToThreadPool(self.reactor, self._replays, lambda: None),
            ]
        )

        def done(_: object) -> None:
            self._pool.stop()
            self._replays.stop()
            self.engine.dispose()

        d.addBoth(done)
        return d

    # --- awards ---------------------------------------------------------------------------

    def award(self, receipt: Receipt) -> defer.Deferred[Outcome | None]:
        """The receipt's award: its Outcome, or None if it was journaled for later."""
        at = self.clock()
        return self._run(lambda: self._award(receipt, at))

    def balance(self, customer: CustomerRef | str) -> defer.Deferred[int]:
        return self.in_thread(lambda: self.ledger.balance(customer))

    def replay_now(self) -> defer.Deferred[bool]:
        """Try the journal now, on the replay thread (tests, and the retry loop); True if the
        store is up after."""
        d = threads.deferToThreadPool(self.reactor, self._replays, self._replay)

        def after(up: bool) -> bool:
            self._update_retry()
            return up

        d.addCallback(after)
        return d

    # --- in the thread ----------------------------------------------------------------------

    def _open(self) -> bool:
        try:
            migrate(self.engine)
        except Exception as exc:  # any failure here means "database not there"
            log.error("database %s unavailable at start: %s; journaling awards", self._url(), exc)
            return False
        self.store_up = True
        return True

    def _award(self, receipt: Receipt, at: datetime) -> Outcome | None:
        if self.store_up:
            try:
                return self.ledger.award(receipt, self.rule, at)
            except StoreUnavailable as exc:
                self.store_up = False
                log.error("database unavailable (%s): journaling awards until it is back", exc)
        self.journal.append(JournalEntry(receipt, self.rule, at))
        self.journaled += 1
        log.warning(
            "receipt %s journaled for a later award (%s)", receipt.number or "?", self.journal.path
        )
        return None

    def _replay(self) -> bool:
        if not self.store_up:
            try:
                migrate(self.engine)
            except Exception as exc:
                log.info("database still unavailable: %s", _first_line(exc))
                return False
            self.store_up = True
            log.warning("database %s is back", self._url())
        if not self.journal.path.exists():
            return True
        try:
            outcomes = self.journal.replay(self.ledger, self.clock())
        except StoreUnavailable as exc:
            self.store_up = False
            log.info("database unavailable again during replay: %s", _first_line(exc))
            return False
        if outcomes:
            self.replayed += len(outcomes)
            log.warning("journal replayed: %d awards applied", len(outcomes))
        return True

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
        if self.store_up and self._retry.running:
            self._retry.stop()
        elif not self.store_up and not self._retry.running:
            self._retry.start(self.retry_interval, now=False)

    def _retry_now(self) -> defer.Deferred[bool]:
        d = self.replay_now()
        d.addErrback(lambda f: log.error("journal replay failed: %s", f.getTraceback()) or False)
        return d

    def _url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
