"""The local journal: awards (and voids) the database could not take yet, kept until it can.

An append-only JSON-lines file. ``append`` returns only once the line is on disk (fsync), so
the award survives a crash from the moment the receipt prints. ``replay`` applies every entry
through the ledger; the receipt's idempotency key makes that safe to repeat (a crash between
applying and compacting replays entries that then come back as duplicates). After a replay the
file keeps only what was not applied, plus whatever was appended meanwhile.

A crash in the middle of ``append`` can leave a torn last line. It is never lost silently and
never glued to the next entry: ``append`` starts a fresh line first, and compaction moves
unreadable lines to ``<journal>.rejected`` for a person to look at.

A write the disk refuses (full, or an I/O error) leaves nothing behind either: the line goes
out in one ``write``, and on any failure the file is cut back to its size before, so a full
disk never leaves half a line to be read as a torn one later. ``append`` then raises the
``OSError`` and the caller keeps the award elsewhere (``bridge.awards`` keeps it in memory).

**Voids.** A receipt that never reached the printer whole has its award voided; when the
database is down, that void is journaled like an award (a line of format 2, which a daemon
that does not know voids sets apart instead of awarding it). Replay applies the entries in the
order they were journaled, so a void journaled after its award voids the award just replayed.
Each still applies once: a void takes back the receipt's *latest* award, and a second void of
it finds it voided and does nothing; and an award replayed again after its void would count
as a reprint and earn again, so the entries before a void are compacted away (durably) before
the void is applied, and the void is compacted away before the entries after it are.

The journal and its companions are owner-only (0600, also after a compaction rewrote it).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from bridge.loyalty.earning import EarningRules, Policy
from bridge.loyalty.keys import idempotency_key
from bridge.loyalty.ledger import Outcome
from bridge.loyalty.rules import PointsRule
from parsers.receipt import Receipt


class Awarding(Protocol):
    """What a replay needs of a ledger: ``Ledger`` itself, or the daemon's ``LedgerProcess``."""

    def award(
        self, receipt: Receipt, rules: EarningRules, now: datetime, policy: Policy = ...
    ) -> Outcome: ...

    def void(self, receipt: Receipt, reason: str, now: datetime) -> int: ...


log = logging.getLogger(__name__)


def _rules_of(record: dict[str, Any]) -> EarningRules:
    """The rules an entry was journaled with: a rules file's text, or the one rate."""
    rules = record.get("rules")
    if rules is None:
        return PointsRule(Decimal(record["points_per_unit"]))
    from bridge.loyalty.programme import ProgrammeError, parse_programme

    try:
        return parse_programme(rules["text"], source=f"journal rules {rules.get('version')}")
    except ProgrammeError as exc:
        raise ValueError(str(exc)) from exc


FORMAT_VERSION = 1
VOID_FORMAT_VERSION = 2  # a void: unknown to older daemons, which set it apart unawarded
OWNER_ONLY = 0o600


class JournalLineError(ValueError):
    """A journal line that cannot be read back as an entry."""


@dataclass(frozen=True, slots=True)
class Voided:
    """A journaled void, applied: the points it took back (0: nothing was left to take)."""

    points: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    receipt: Receipt
    rule: EarningRules  # the rules in force at the sale: a late replay awards the same points
    at: datetime  # when the award (or the void) was journaled
    # Set for a void: why the receipt's award is taken back (it did not print whole).
    void_reason: str | None = None

    @property
    def key(self) -> str:
        return idempotency_key(self.receipt)

    @property
    def is_void(self) -> bool:
        return self.void_reason is not None

    def apply(self, ledger: Awarding, now: datetime) -> Outcome | Voided:
        if self.void_reason is not None:
            return Voided(ledger.void(self.receipt, self.void_reason, now))
        return ledger.award(self.receipt, self.rule, now, self.rule.policy)

    def to_json(self) -> str:
        receipt = self.receipt.to_dict()
        # to_dict leaves the text out, but the fingerprint (and so the key) is made from it.
        receipt["raw_text"] = self.receipt.raw_text
        record: dict[str, Any] = {
            "v": FORMAT_VERSION if self.void_reason is None else VOID_FORMAT_VERSION,
            "key": self.key,
            "at": self.at.isoformat(),
            "receipt": receipt,
        }
        if isinstance(self.rule, PointsRule):
            record["points_per_unit"] = str(self.rule.points_per_unit)
        else:
            # The rules file's whole text: small, and the replay needs no file that may have
            # been edited since (bridge.loyalty.programme).
            record["rules"] = {
                "version": self.rule.version,
                "text": getattr(self.rule, "source_text", ""),
            }
        if self.void_reason is not None:
            record["void"] = self.void_reason
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> JournalEntry:
        try:
            record: dict[str, Any] = json.loads(line)
            version = record.get("v")
            if version not in (FORMAT_VERSION, VOID_FORMAT_VERSION):
                raise JournalLineError(f"unknown journal format {version!r}")
            reason = record["void"] if version == VOID_FORMAT_VERSION else None
            if reason is not None and not isinstance(reason, str):
                raise JournalLineError(f"a void's reason must be text, not {reason!r}")
            entry = cls(
                receipt=Receipt.from_dict(record["receipt"]),
                rule=_rules_of(record),
                at=datetime.fromisoformat(record["at"]),
                void_reason=reason,
            )
        except JournalLineError:
            raise
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise JournalLineError(f"unreadable journal line: {exc}") from exc
        if entry.key != record["key"]:
            # Replaying under another key could award the receipt a second time.
            raise JournalLineError("journal line's receipt does not give its recorded key")
        return entry


class Journal:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.rejected_path = self.path.with_name(self.path.name + ".rejected")
        self._lock = threading.Lock()

    def append(self, entry: JournalEntry) -> None:
        """Write one entry and fsync it: when this returns, the award survives a crash.

        Raises ``OSError`` when the disk refuses it (full, I/O error); the file is then as it
        was before the call."""
        line = (entry.to_json() + "\n").encode("utf-8")
        with self._lock:
            created = not self.path.exists()
            fd = _open_owner_only(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
            try:
                size = os.fstat(fd).st_size
                if _ends_torn(fd, size):
                    line = b"\n" + line
                try:
                    written = os.write(fd, line)
                    if written != len(line):
                        raise OSError(
                            errno.ENOSPC,
                            f"journal {self.path}: only {written} of {len(line)} bytes written",
                        )
                    os.fsync(fd)
                except OSError:
                    _cut_back(fd, size, self.path)
                    raise
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)

    def pending(self) -> list[JournalEntry]:
        """The entries not applied yet, oldest first (unreadable lines left out)."""
        with self._lock:
            data = self._read()
        entries, _ = _parse(data)
        return entries

    def is_empty(self) -> bool:
        """Nothing journaled (no file, or an empty one): nothing waits to be applied."""
        try:
            return self.path.stat().st_size == 0
        except FileNotFoundError:
            return True

    def replay(self, ledger: Awarding, now: datetime | None = None) -> list[Outcome | Voided]:
        """Apply every pending entry once, in order, then compact the file to what is left:
        the awards' outcomes and the voids' ``Voided``.

        Stops at the first failure (``StoreUnavailable`` when the database went away again)
        and raises it after compacting: the entries from that one on stay for the next replay.
        A void is applied alone, between two compactions (see above).
        """
        results: list[Outcome | Voided] = []
        while True:
            with self._lock:
                data = self._read()
            entries, rejected = _parse(data)
            applied = 0
            try:
                for entry in entries:
                    if applied and (entry.is_void or entries[applied - 1].is_void):
                        break  # what went before is compacted away first
                    results.append(entry.apply(ledger, now or datetime.now(UTC)))
                    applied += 1
            finally:
                self._compact(len(data), entries[applied:], rejected)
            if applied == len(entries):
                return results

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def _compact(self, seen: int, remaining: list[JournalEntry], rejected: list[bytes]) -> None:
        with self._lock:
            appended_meanwhile = self._read()[seen:]
            if rejected:
                log.warning(
                    "journal: %d unreadable line(s) moved to %s", len(rejected), self.rejected_path
                )
                fd = _open_owner_only(self.rejected_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                try:
                    _write_all(fd, b"".join(line + b"\n" for line in rejected))
                    os.fsync(fd)
                finally:
                    os.close(fd)
            kept = b"".join((e.to_json() + "\n").encode("utf-8") for e in remaining)
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                fd = _open_owner_only(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                try:
                    _write_all(fd, kept + appended_meanwhile.lstrip(b"\n"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                # The journal itself is untouched: its entries replay again (as duplicates).
                tmp.unlink(missing_ok=True)
                raise
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)


def _parse(data: bytes) -> tuple[list[JournalEntry], list[bytes]]:
    entries: list[JournalEntry] = []
    rejected: list[bytes] = []
    for number, line in enumerate(_lines(data), start=1):
        try:
            entries.append(JournalEntry.from_json(line.decode("utf-8")))
        except (JournalLineError, UnicodeDecodeError) as exc:
            log.warning("journal line %d skipped: %s", number, exc)
            rejected.append(line)
    return entries, rejected


def _lines(data: bytes) -> Iterable[bytes]:
    return (line for line in data.split(b"\n") if line.strip())


def _ends_torn(fd: int, size: int) -> bool:
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _open_owner_only(path: Path, flags: int) -> int:
    fd = os.open(path, flags, OWNER_ONLY)
    try:
        # The mode given to open() passes through the umask; 0600 is meant whatever it is.
        if os.fstat(fd).st_mode & 0o777 != OWNER_ONLY:
            os.fchmod(fd, OWNER_ONLY)
    except OSError:
        os.close(fd)
        raise
    return fd


def _cut_back(fd: int, size: int, path: Path) -> None:
    """Undo a failed append: no partial line may stay to be read later."""
    try:
        os.ftruncate(fd, size)
    except OSError as exc:  # the torn line is then set apart at the next compaction
        log.error("journal %s: could not cut a failed write back to %d bytes: %s", path, size, exc)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(path: Path) -> None:
    # The new file's name is only durable once its folder is synced too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
