"""What a ready Epson TM printer answers, and how its conditions change the answers.

Pure functions from ``Conditions`` (paper, cover, online, drawer) to the reply bytes of the
status commands. The bit layouts are Epson's, from the ESC/POS command reference (the TM-T88
and TM-U220 specifications give the same tables):

- ``DLE EOT n`` (real-time status), one byte each, bits 1 and 4 fixed on, bits 0 and 7 off, so
  a printer with nothing to report answers ``0x12`` (``0001 0010``):

  - n=1 printer status: bit 2 drawer kick-out connector pin 3 HIGH, bit 3 offline. A TM
    printer with no drawer, or a closed one, usually reads pin 3 HIGH, hence ``0x16``.
  - n=2 offline cause: bit 2 cover open, bit 3 paper fed by the FEED button, bit 5 printing
    stopped by a paper end, bit 6 an error.
  - n=3 error cause: bit 2 recoverable (mechanical) error, bit 3 autocutter error, bit 5
    unrecoverable error, bit 6 automatically recoverable error.
  - n=4 roll paper sensor: bits 2-3 near end, bits 5-6 paper end.

- ``GS r n`` (status, answered in order), bit 4 fixed *off*, which is how a host tells it from
  a ``DLE EOT`` reply: n=1/49 bits 0-1 near end, bits 2-3 paper end; n=2/50 bit 0 drawer pin 3.
- ``GS a n`` automatic status back (ASB): four bytes, sent when enabled and on every change of
  a status group that ``n`` selects (bit 0 drawer, 1 online/offline, 2 errors, 3 paper
  sensor). Byte 1: bit 2 drawer pin 3, bit 3 offline, bit 4 fixed on, bit 5 cover open, bit 6
  FEED button; byte 2: bit 0 waiting for online recovery, bits 2/3/5/6 errors as in
  ``DLE EOT 3``; byte 3: bits 0-1 near end, bits 2-3 paper end; byte 4: reserved, 0.
- ``GS I n`` (printer ID, in order): one byte of the form ``0xx0xxxx`` for n=1-3/49-51
  (model, type, version); for n=65-69 "printer information B", framed ``0x5F`` text ``NUL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

_FIXED = 0x12  # bits 1 and 4 of every DLE EOT reply


@dataclass(slots=True)
class Conditions:
    """The physical state of the virtual printer, changed by tests and the demo.

    ``paper_out`` and ``cover_open`` take the printer offline as on the real one, and an
    offline printer stops printing: it still answers real-time requests, but ``GS r`` and the
    rest of the data wait until it is back online.
    """

    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    offline: bool = False  # taken offline by other means (the till's own ESC = / a switch)
    # Which level of pin 3 means "drawer open" depends on the drawer, which is why Epson
    # reports the level rather than the drawer: HIGH is what a printer without a drawer reads.
    drawer_pin3_high: bool = True

    @property
    def is_offline(self) -> bool:
        return self.offline or self.paper_out or self.cover_open

    @property
    def near_end(self) -> bool:
        # The near-end sensor sits before the end sensor on the roll: an empty roll trips both.
        return self.paper_near_end or self.paper_out


def change(conditions: Conditions, **changes: bool) -> None:
    """Set conditions by name (``paper_out=True``), refusing names that are not conditions."""
    names = {f.name for f in fields(Conditions)}
    for name, value in changes.items():
        if name not in names:
            raise TypeError(f"no printer condition named {name!r}; known: {sorted(names)}")
        setattr(conditions, name, bool(value))


@dataclass(frozen=True, slots=True)
class Identity:
    """What ``GS I`` reports. The defaults describe a TM-T88V-like printer with a cutter."""

    model_id: int = 0x20  # n=1/49
    type_id: int = 0x02  # n=2/50: bit 1 autocutter fitted, no multi-byte fonts, no display
    version_id: int = 0x00  # n=3/51
    information: dict[int, bytes] = field(
        default_factory=lambda: {
            65: b"30.01 ESC/POS",  # firmware version
            66: b"EPSON",  # maker
            67: b"TM-T88V",  # model name
            68: b"VIRTUAL0001",  # serial number
            69: b"",  # font of a multilingual model: none
        }
    )


def real_time_status(n: int, conditions: Conditions) -> bytes | None:
    """The reply to ``DLE EOT n``; ``None`` for an ``n`` the printer ignores."""
    if n == 1:
        return bytes((_FIXED | conditions.drawer_pin3_high << 2 | conditions.is_offline << 3,))
    if n == 2:
        return bytes((_FIXED | conditions.cover_open << 2 | conditions.paper_out << 5,))
    if n == 3:
        return bytes((_FIXED,))
    if n == 4:
        return bytes((_FIXED | conditions.near_end * 0x0C | conditions.paper_out * 0x60,))
    return None


def transmit_status(n: int, conditions: Conditions) -> bytes | None:
    """The reply to ``GS r n``; ``None`` for an ``n`` the printer ignores."""
    if n in (1, 49):
        return bytes((conditions.near_end * 0x03 | conditions.paper_out * 0x0C,))
    if n in (2, 50):
        return bytes((int(conditions.drawer_pin3_high),))
    return None


def printer_id(n: int, identity: Identity) -> bytes | None:
    """The reply to ``GS I n``; ``None`` for an ``n`` the printer ignores."""
    one_byte = {1: identity.model_id, 2: identity.type_id, 3: identity.version_id}
    if n in (1, 2, 3, 49, 50, 51):
        # Bits 4 and 7 off: that is how a host tells a printer ID from other replies.
        return bytes((one_byte[n % 48] & 0x6F,))
    if 65 <= n <= 69:
        return b"\x5f" + identity.information.get(n, b"") + b"\x00"
    return None


def asb_status(conditions: Conditions) -> bytes:
    """The four bytes of automatic status back."""
    first = (
        0x10
        | conditions.drawer_pin3_high << 2
        | conditions.is_offline << 3
        | conditions.cover_open << 5
    )
    third = conditions.near_end * 0x03 | conditions.paper_out * 0x0C
    return bytes((first, 0x00, third, 0x00))


# For each bit of GS a's n, the ASB bits (one mask per status byte) whose change is reported.
_ASB_GROUPS: tuple[tuple[int, bytes], ...] = (
    (0x01, bytes((0x04, 0x00, 0x00, 0x00))),  # drawer kick-out connector
    (0x02, bytes((0x68, 0x01, 0x00, 0x00))),  # online/offline, cover, FEED button, recovery
    (0x04, bytes((0x00, 0x6C, 0x00, 0x00))),  # errors
    (0x08, bytes((0x00, 0x00, 0x0F, 0x00))),  # roll paper sensors
)


def asb_changed(enabled: int, before: bytes, after: bytes) -> bool:
    """Whether the change from ``before`` to ``after`` is one that ``GS a enabled`` reports."""
    for bit, masks in _ASB_GROUPS:
        if enabled & bit and any((b ^ a) & m for b, a, m in zip(before, after, masks, strict=True)):
            return True
    return False
