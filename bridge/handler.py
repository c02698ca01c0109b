"""What the daemon does with each receipt a till prints: read, award, and answer with a message.

The link (``bridge.link``) calls the till's ``ReceiptHandler`` with each ``HandleReceipt`` and
prints the bytes it answers before the held cut (``None``: nothing). The steps:

1. read the receipt's text with the till's layout, in the parse worker (``bridge.parse_worker``:
   an admin's grammar must not freeze the daemon). The read is waited for however long it takes
   (the pool kills only a read stuck past ``parse_timeout``): a receipt read after its hold
   ended is still awarded, with no message, and counted in ``read_late``;
2. only a sale that adds up goes on (``bridge.messages.why_no_message``);
3. award it on the awards desk's thread (``bridge.awards``); with the database down the award
   is journaled and the receipt prints unchanged;
4. render the message for this printer and the state the till left it in
   (``drivers.escpos_out``).

Fail open (DESIGN rule 1): any failure on the way answers ``None`` and the receipt prints as the
till sent it. Until its award is recorded (or journaled), the receipt's raw bytes also wait in
the *inbox* (``bridge.inbox``, written by the link from the receipt's first byte): a daemon
killed meanwhile awards them at its next start (``recover``).

A receipt we could not read, or that did not add up, is kept as raw bytes in the
*unread* folder (a ``RawStore``) so that its points can be awarded once the grammar is fixed
(``tillbridge award``). With ``capture_dir`` set, every receipt's raw bytes are kept too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime

from bridge.awards import AwardsDesk
from bridge.config import DEFAULT_STORE
from bridge.inbox import LeftInInbox
from bridge.loyalty import Outcome
from bridge.loyalty.keys import attribute
from bridge.message_template import MessageTemplate
from bridge.messages import award_message, pending_message, why_no_message
from bridge.parse_worker import WorkerStopped
from bridge.raw_store import RawStore
from bridge.session import HandleReceipt
from bridge.texts import DEFAULT_LANGUAGE
from drivers.escpos_out import PrinterProfile, render_message
from parsers.escpos.state import PrinterState
from parsers.layouts import ReceiptParseError
from parsers.receipt import Receipt, ReceiptKind

log = logging.getLogger(__name__)

DEFAULT_PARSE_TIMEOUT = 5.0  # seconds a parse may run in its process before it counts as stuck


class Parser(Protocol):
    def parse(
        self, layout: str, text: str, timeout: float, *, key: str = ...
    ) -> defer.Deferred[Receipt]: ...


class Pending:
    """An award journaled while the database is away: the receipt says its points come later
    (``[loyalty] points_pending``), and they are awarded once the database is back."""

    def __repr__(self) -> str:
        return "PENDING"


PENDING = Pending()


class ReceiptHandler:
    """The handler of one till's receipts; see the module docstring."""

    def __init__(
        self,
        reactor: IReactorTime,
        till: str,
        layout: str,
        parser: Parser,
        desk: AwardsDesk,
        profile: PrinterProfile,
        max_hold: float,
        unread: RawStore,
        captures: RawStore | None = None,
        claim_url: str | None = None,
        language: str = DEFAULT_LANGUAGE,
        parse_timeout: float = DEFAULT_PARSE_TIMEOUT,
        store: str = DEFAULT_STORE,
        template: MessageTemplate | None = None,
        points_pending: bool = True,
    ) -> None:
        self.reactor = reactor
        self.till = till
        self.store = store  # the config's chain/store: what the ledger knows receipts by
        self.log = logging.LoggerAdapter(log, {"till": till})
        self.layout = layout
        self.parser = parser
        self.desk = desk
        self.profile = profile
        self.max_hold = max_hold
        self.parse_timeout = parse_timeout
        self.unread_store = unread
        self.captures = captures
        self.claim_url = claim_url
        self.language = language
        self.template = template  # the store's message template; None: ours
        self.points_pending = points_pending  # say "points pending" while the database is away
        # For the daemon's stats line, and tests.
        self.read = 0  # receipts the layout read
        self.awarded = 0  # sales awarded (or found awarded before)
        self.unread = 0  # kept in unread/: not read, did not add up, or not awarded
        self.read_late = 0  # held receipts read after their hold had ended: no message
        self._taking_back: set[defer.Deferred[None]] = set()  # awards of receipts not printed

    def __call__(self, request: HandleReceipt) -> defer.Deferred[bytes | None]:
        return defer.ensureDeferred(self.handle(request))

    async def handle(self, request: HandleReceipt) -> bytes | None:
        if self.captures is not None:
            self.captures.keep(self.till, request.receipt_id, request.raw)
        if request.truncated:
            self._keep_unread(request, "too long to be a receipt: not read, first bytes kept")
            return None
        text = request.document.text()
        if not text.strip():
            return None  # a stray feed, a status-only job, a logo: nothing to read
        if request.document.truncated is not None:
            # The stream ended inside a command: the printer did not get the receipt whole.
            why = f"the stream ended inside a command: {request.document.truncated}"
            self._keep_unread(request, why)
            return None
        outcome = await self.award(request, text)
        if outcome is None or not request.held:
            return None  # nothing to say, or observe mode, or its cut had gone on already
        width = self.profile.columns
        if outcome is PENDING:
            if not self.points_pending:
                return None
            message = pending_message(self.language, width, self.template)
        else:
            message = award_message(
                outcome, self.claim_url, self.language, width=width, template=self.template
            )
        if message is None:
            return None
        return render_message(message, self.profile, request.state)

    async def award(
        self, request: HandleReceipt, text: str | None = None
    ) -> Outcome | Pending | None:
        """Read the receipt (``text``: its document's, if known already) and award it; the
        outcome to print, or None (see the module docstring: every failure is logged, and the
        receipt kept where it needs to be)."""
        asked = self.reactor.seconds()
        if text is None:
            text = request.document.text()
        try:
            receipt = await self.parser.parse(self.layout, text, self.parse_timeout, key=self.till)
            attribute(receipt, self.store, self.till)
        except ReceiptParseError as exc:
            self._keep_unread(request, f"layout {self.layout} could not read it: {exc}")
            return None
        except WorkerStopped as exc:
            # The daemon is stopping: not a fault of the receipt's, so not "unread" (which
            # would need a hand to award it). It stays in the inbox for the next start.
            raise LeftInInbox(f"receipt {request.receipt_id}: {exc}") from exc
        except Exception as exc:  # a timeout, a dead worker, a broken grammar
            self._keep_unread(request, f"not read: {type(exc).__name__}: {exc}")
            return None
        self.read += 1
        if request.held and self.reactor.seconds() - asked >= self.max_hold:
            # The session let the cut go at max_hold: this one is awarded with no message.
            self.read_late += 1
            self.log.info(
                "%s: receipt %d read %.1f s after its cut, past its hold: no message",
                self.till,
                request.receipt_id,
                self.reactor.seconds() - asked,
            )
        if receipt.kind is ReceiptKind.REFUND and not receipt.problems:
            # A refund prints as the till sent it, and takes back what its sale earned.
            await self._take_back_refund(receipt)
            return None
        why_not = why_no_message(receipt)
        if why_not is not None:
            if receipt.problems:
                self._keep_unread(request, f"receipt {receipt.number}: {why_not}")
            else:
                self.log.info(
                    "%s: receipt %s: %s; printed unchanged", self.till, receipt.number, why_not
                )
            return None
        try:
            outcome = await self.desk.award(receipt)
        except Exception as exc:  # e.g. the journal's disk is full
            self.log.error("%s: receipt %s not awarded: %s", self.till, receipt.number, exc)
            self._keep_unread(request, f"award failed: {type(exc).__name__}: {exc}")
            return None
        if outcome is None:
            return PENDING  # journaled: awarded once the database is back
        self.awarded += 1
        self.log.info(
            "%s: receipt %s: %d points%s%s%s",
            self.till,
            receipt.number,
            outcome.points,
            f" to {outcome.customer}, balance {outcome.balance}" if outcome.customer else "",
            f", claim code {outcome.claim_code}" if outcome.claim_code else "",
            " (awarded before)" if outcome.duplicate else "",
        )
        return outcome

    async def _take_back_refund(self, receipt: Receipt) -> None:
        try:
            outcome = await self.desk.award(receipt)
        except Exception as exc:  # e.g. the journal's disk is full
            self.log.error("%s: refund %s not recorded: %s", self.till, receipt.number, exc)
            return
        if outcome is None:
            return  # journaled: taken back once the database is back
        self.log.info(
            "%s: refund %s: %d points taken back%s%s",
            self.till,
            receipt.number,
            abs(outcome.points),
            f" from {outcome.customer}, balance {outcome.balance}" if outcome.customer else "",
            " (recorded before)" if outcome.duplicate else "",
        )

    async def recover(self, path: Path) -> None:
        """Award the receipts of a stream left in the inbox by a daemon that stopped before
        recording them (``bridge.inbox``: the file decodes as it printed).

        Exactly once: a receipt whose award was recorded after all is known to the ledger."""
        from parsers.document import build_documents
        from parsers.escpos.tokenizer import tokenize

        raw = path.read_bytes()
        for number, document in enumerate(build_documents(tokenize(raw)), 1):
            text = document.text()
            if text.strip():
                request = HandleReceipt(number, document, raw, PrinterState(), held=False)
                await self.award(request, text)

    def not_printed(self, request: HandleReceipt, why: str) -> defer.Deferred[None]:
        """A receipt handled (perhaps awarded) that then did not reach the printer whole (the
        link saw the printer go with bytes owed): its award is taken back, and the receipt kept
        unread, so that it can be awarded by hand if it printed after all. The till got a
        reset and reprints it; a reprint earns again."""
        taking = defer.ensureDeferred(self._take_back(request, why))
        self._taking_back.add(taking)
        taking.addBoth(lambda result: self._taking_back.discard(taking) or result)
        return taking

    async def settle(self) -> None:
        """Wait for the awards being taken back (a stop waits for them before it ends the
        parse workers and the desk)."""
        while self._taking_back:
            await defer.DeferredList(list(self._taking_back), consumeErrors=True)

    async def _take_back(self, request: HandleReceipt, why: str) -> None:
        text = request.document.text()
        if request.truncated or request.document.truncated is not None or not text.strip():
            return  # never awarded (see handle)
        self._keep(request.receipt_id, request.raw, f"not printed: {why}", "award taken back")
        try:
            # Read again rather than remembered: this is rare, and a receipt's reading is
            # what its award's key comes from.
            receipt = await self.parser.parse(self.layout, text, self.parse_timeout, key=self.till)
            attribute(receipt, self.store, self.till)
        except Exception:
            return  # not read the first time either: nothing was awarded
        await self.desk.void(receipt, why)

    def abandoned(self, raw: bytes, why: str) -> None:
        """A receipt that did not reach the printer whole (the link gave up on it): it earns
        nothing, and is kept so that it can be awarded by hand if it printed after all."""
        self._keep(0, raw, why, f"of {len(raw)} bytes did not reach the printer whole")

    def _keep_unread(self, request: HandleReceipt, why: str) -> None:
        self._keep(request.receipt_id, request.raw, why, "printed unchanged")

    def _keep(self, receipt_id: int, raw: bytes, why: str, what: str) -> None:
        """Keep a receipt in unread/ (awardable by hand), logging ``what`` happened to it."""
        path = self.unread_store.keep(self.till, receipt_id, raw, why)
        if path is not None:  # only a file really written counts as kept
            self.unread += 1
        first = why.splitlines()[0]
        self.log.warning(
            "%s: receipt %s %s, %s%s",
            self.till,
            receipt_id or "(under way)",
            what,
            first,
            f"; raw bytes kept in {path}" if path is not None else "",
        )
        for line in why.splitlines()[1:]:
            self.log.info("%s:   %s", self.till, line)
