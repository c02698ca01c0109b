"""The Epson TM-series ESC/POS command set, as data: each command's name and length rule.

A command is a prefix byte (ESC, GS, FS, DLE), one or two name bytes, then arguments. The
tokenizer looks a command up by its first two bytes in ``TABLE``; a ``Family`` there means a
third name byte follows (``GS ( k``, ``GS v 0``, ``ESC c 3``).

Length rules, in the order the tokenizer applies them:

- ``args``: fixed count of argument bytes after the name.
- ``args_by_first``: the first argument selects how many argument bytes there are in all
  (``GS V m [n]``, ``DLE DC4 fn ...``, ``GS k m [n]``); a first argument missing from the map
  falls back to ``args_default``, or makes the command malformed when that is ``None``.
- ``until_nul``: the arguments are a NUL-terminated list of at most this many bytes (``ESC D``).
- ``payload``: bytes that follow the header and are data, never commands (images, barcodes,
  2D codes). ``payload(args)`` gives their count; ``UNTIL_NUL`` means "up to and including the
  next NUL, looked for within ``NUL_SCAN`` bytes" (``GS k`` with m = 0..6).
- ``items``: after the header come ``count(args)`` sub-items, each a small fixed header
  followed by its own payload (``FS q`` NV images, ``ESC &`` user-defined characters).

``kind`` says which event the tokenizer builds (plain ``Command``, ``Cut``, ``Reset``,
``DrawerKick`` or ``StatusRequest``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

ESC = 0x1B
GS = 0x1D
FS = 0x1C
DLE = 0x10
NUL = 0x00

PREFIXES = frozenset((ESC, GS, FS, DLE))

UNTIL_NUL = -1
NUL_SCAN = 255  # GS k m (m = 0..6): the NUL must be within this many data bytes


class Kind(Enum):
    COMMAND = "command"
    CUT = "cut"
    RESET = "reset"
    DRAWER = "drawer"
    STATUS = "status"


PayloadRule = Callable[[tuple[int, ...]], int]


@dataclass(frozen=True, slots=True)
class Items:
    """Sub-items after a header: ``count(args)`` times a ``header``-byte sub-header named
    ``name``, then a payload of ``payload(args, sub_args)`` bytes (``args`` being the main
    header's). ``unit`` names the items in words ("characters"), for a truncated stream."""

    name: str
    count: Callable[[tuple[int, ...]], int]
    header: int
    payload: Callable[[tuple[int, ...], tuple[int, ...]], int]
    unit: str = "items"


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    args: int = 0
    kind: Kind = Kind.COMMAND
    args_by_first: Mapping[int, int] | None = None
    args_default: int | None = None
    until_nul: int = 0
    payload: PayloadRule | None = None
    items: Items | None = None


@dataclass(frozen=True, slots=True)
class Family:
    """Commands sharing two name bytes, told apart by a third (``GS ( k``, ``ESC c 4``).

    ``members`` maps the third byte to its spec; ``other`` (if set) builds the spec for any
    third byte not listed, as for the ``GS ( x pL pH`` functions, which all share one rule.
    """

    prefix: str
    members: Mapping[int, Spec]
    other: Callable[[int], Spec] | None = None


def _le(*indices: int) -> PayloadRule:
    """Payload length as a little-endian number made of the given argument bytes."""

    def rule(args: tuple[int, ...]) -> int:
        total = 0
        for shift, index in enumerate(indices):
            total |= args[index] << (8 * shift)
        return total

    return rule


def _esc_star(args: tuple[int, ...]) -> int:
    m, nl, nh = args
    return (nl + 256 * nh) * (1 if m in (0, 1) else 3)


def _raster(args: tuple[int, ...]) -> int:
    _m, xl, xh, yl, yh = args
    return (xl + 256 * xh) * (yl + 256 * yh)


def _gs_star(args: tuple[int, ...]) -> int:
    x, y = args
    return x * y * 8


def _gs_k(args: tuple[int, ...]) -> int:
    return UNTIL_NUL if args[0] <= 6 else args[1]


def _fs_q_count(args: tuple[int, ...]) -> int:
    return args[0]


def _fs_q_image(_args: tuple[int, ...], sub: tuple[int, ...]) -> int:
    xl, xh, yl, yh = sub
    return (xl + 256 * xh) * (yl + 256 * yh) * 8


def _bmp(args: tuple[int, ...]) -> int:
    # The arguments end with the BMP file's first six bytes: "BM" and the file's size.
    size = args[-4] | args[-3] << 8 | args[-2] << 16 | args[-1] << 24
    return max(0, size - 6)


def _esc_amp_count(args: tuple[int, ...]) -> int:
    _y, c1, c2 = args
    return max(0, c2 - c1 + 1)  # c2 < c1 defines nothing


def _esc_amp_char(args: tuple[int, ...], sub: tuple[int, ...]) -> int:
    # ESC & y c1 c2, then per character: x (its width in dots) and y·x bytes.
    return args[0] * sub[0]


def _paren(prefix: str) -> Callable[[int], Spec]:
    """``X ( c pL pH``: every function of the ESC (, GS ( and FS ( families carries
    pL + 256·pH parameter bytes (cn/m, fn, then data), so one rule covers them all."""

    def spec(third: int) -> Spec:
        return Spec(f"{prefix} ( {chr(third)}", 2, payload=_le(0, 1))

    return spec


def _fixed(prefix: str, specs: str) -> dict[bytes, Spec]:
    """Fixed-length commands written compactly: ``"!1 $2"`` is ESC ! n, ESC $ nL nH."""
    lead = {"ESC": ESC, "GS": GS, "FS": FS, "DLE": DLE}[prefix]
    return {
        bytes((lead, ord(item[0]))): Spec(f"{prefix} {item[0]}", int(item[1:]))
        for item in specs.split()
    }


def _key(prefix: int, second: str | int) -> bytes:
    return bytes((prefix, second if isinstance(second, int) else ord(second)))


# Every command the tokenizer knows, by its first two bytes.
TABLE: dict[bytes, Spec | Family] = {
    **_fixed("ESC", r"!1 $2 %1 -1 20 31 =1 ?1 E1 G1 J1 K1 L0 M1 R1 S0 T1 U1 V1 W8 \2 a1 d1"),
    **_fixed("ESC", "e1 r1 t1 {1"),
    _key(ESC, " "): Spec("ESC SP", 1),
    _key(ESC, 0x0C): Spec("ESC FF"),  # print the page (page mode)
    _key(ESC, 0x0E): Spec("ESC SO"),  # double width on (older models)
    _key(ESC, 0x14): Spec("ESC DC4"),  # double width off (older models)
    **_fixed("GS", r"!1 $2 /1 :0 B1 E1 H1 L2 P2 T1 W2 \2 ^3 b1 c0 f1 h1 w1"),
    **_fixed("FS", "!1 &0 -1 .0 ?2 C1 S2 W1 p2"),
    # Events other than a plain Command.
    _key(ESC, "@"): Spec("ESC @", kind=Kind.RESET),
    # Epson's current reference documents both as partial cuts (one and three points left).
    _key(ESC, "i"): Spec("ESC i", kind=Kind.CUT),
    _key(ESC, "m"): Spec("ESC m", kind=Kind.CUT),
    _key(ESC, "p"): Spec("ESC p", 3, kind=Kind.DRAWER),
    _key(ESC, "u"): Spec("ESC u", 1, kind=Kind.STATUS),  # peripheral status (older models)
    _key(ESC, "v"): Spec("ESC v", 0, kind=Kind.STATUS),  # paper sensor status (older models)
    _key(GS, "I"): Spec("GS I", 1, kind=Kind.STATUS),
    _key(GS, "a"): Spec("GS a", 1, kind=Kind.STATUS),
    _key(GS, "j"): Spec("GS j", 1, kind=Kind.STATUS),  # ASB for ink: the printer answers too
    _key(GS, "r"): Spec("GS r", 1, kind=Kind.STATUS),
    _key(GS, "V"): Spec(
        "GS V",
        kind=Kind.CUT,
        args_by_first={0: 1, 1: 1, 48: 1, 49: 1, 65: 2, 66: 2, 97: 2, 98: 2, 103: 2, 104: 2},
    ),
    _key(DLE, 0x04): Spec(
        "DLE EOT", kind=Kind.STATUS, args_by_first={7: 2, 8: 2, 18: 2}, args_default=1
    ),
    _key(DLE, 0x05): Spec("DLE ENQ", 1, kind=Kind.STATUS),
    # DLE DC4 fn: 1 pulse (m t), 2 power-off (1 8), 3 buzzer (a n r t1 t2),
    # 7 transmit status (m), 8 clear buffers (1 3 20 1 6 2 8).
    _key(DLE, 0x14): Spec("DLE DC4", args_by_first={1: 3, 2: 3, 3: 6, 7: 2, 8: 8}),
    _key(ESC, "D"): Spec("ESC D", until_nul=33),  # up to 32 tab positions, then NUL
    # Commands followed by a payload.
    _key(ESC, "*"): Spec("ESC *", 3, payload=_esc_star),
    _key(GS, "*"): Spec("GS *", 2, payload=_gs_star),
    _key(GS, "k"): Spec(
        "GS k",
        args_by_first={**dict.fromkeys(range(7), 1), **dict.fromkeys(range(65, 80), 2)},
        payload=_gs_k,
    ),
    _key(FS, "q"): Spec(
        "FS q", 1, items=Items("FS q image", _fs_q_count, 4, _fs_q_image, "images")
    ),
    # FS 2 c1 c2 d1...d72: one user-defined 24x24 Kanji character (Epson TM models).
    _key(FS, "2"): Spec("FS 2", 2, payload=lambda _args: 72),
    _key(ESC, "&"): Spec(
        "ESC &", 3, items=Items("ESC & char", _esc_amp_count, 1, _esc_amp_char, "characters")
    ),
    # Families: a third name byte.
    _key(ESC, "("): Family("ESC (", {}, _paren("ESC")),
    _key(GS, "("): Family("GS (", {}, _paren("GS")),
    _key(FS, "("): Family("FS (", {}, _paren("FS")),
    _key(ESC, "c"): Family("ESC c", {ord(c): Spec(f"ESC c {c}", 1) for c in "013456"}),
    _key(GS, "v"): Family("GS v", {ord("0"): Spec("GS v 0", 5, payload=_raster)}),
    # GS D 0 C a kc1 kc2 b c BMP (NV graphics) and GS D 0 S a BMP (download graphics): a
    # Windows BMP file whose length is in its own header, read here as the last arguments.
    _key(GS, "D"): Family(
        "GS D", {ord("0"): Spec("GS D 0", args_by_first={67: 12, 83: 8}, payload=_bmp)}
    ),
    # GS Q 0 m xL xH yL yH: a variable vertical size image, x dots wide, y bytes high.
    _key(GS, "Q"): Family("GS Q", {ord("0"): Spec("GS Q 0", 5, payload=_raster)}),
    _key(GS, "8"): Family("GS 8", {ord("L"): Spec("GS 8 L", 4, payload=_le(0, 1, 2, 3))}),
    _key(GS, "g"): Family(
        "GS g", {ord("0"): Spec("GS g 0", 3), ord("2"): Spec("GS g 2", 3, kind=Kind.STATUS)}
    ),
    _key(GS, "z"): Family("GS z", {ord("0"): Spec("GS z 0", 2)}),
    _key(FS, "g"): Family(
        "FS g",
        {
            ord("1"): Spec("FS g 1", 7, payload=_le(5, 6)),
            ord("2"): Spec("FS g 2", 7, kind=Kind.STATUS),
        },
    ),
}
