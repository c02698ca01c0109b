"""Epson character code tables (ESC t n) and international character sets (ESC R n).

Epson numbers its code pages itself: 19 is PC858 (euro at 0xD5), 16 is WPC1252 (euro at
0x80). ``CODE_PAGES`` maps each number to its Epson name and the Python codec that decodes it.

Decoding never raises and never changes the byte count: every byte becomes exactly one
character. Bytes a page leaves undefined, high bytes (0x80–0xFF) of pages with no Python
codec (Hiragana, PC851, PC853, Thai, TCVN-3, Indian scripts, user-defined pages...) and any
page number not listed all decode to U+FFFD; 0x20–0x7F stay ASCII on every page, as they do
on the printer. ESC R replaces the twelve ASCII positions its table lists.

Kanji mode (FS &) decodes two-byte characters with ``PrinterState.kanji_encoding``: a Python
codec name (``shift_jis`` by default; a caller may start from ``gb18030`` or ``big5`` for
Chinese models), or ``"jis"`` for FS C 0, JIS code without escape sequences, which is read
as EUC-JP after setting the high bit of each byte.
"""

from __future__ import annotations

import codecs
import re
from functools import cache

REPLACEMENT = "\ufffd"

# Epson ESC t number -> (Epson name, Python codec or None).
CODE_PAGES: dict[int, tuple[str, str | None]] = {
    0: ("PC437", "cp437"),
    1: ("Katakana", None),  # built below from JIS X 0201
    2: ("PC850", "cp850"),
    3: ("PC860", "cp860"),
    4: ("PC863", "cp863"),
    5: ("PC865", "cp865"),
    6: ("Hiragana", None),
    7: ("One-pass Kanji", None),
    8: ("One-pass Kanji", None),
    11: ("PC851", None),
    12: ("PC853", None),
    13: ("PC857", "cp857"),
    14: ("PC737", "cp737"),
    15: ("ISO8859-7", "iso8859_7"),
    16: ("WPC1252", "cp1252"),
    17: ("PC866", "cp866"),
    18: ("PC852", "cp852"),
    19: ("PC858", "cp858"),
    20: ("Thai Character Code 42", None),
    21: ("Thai Character Code 11", None),
    22: ("Thai Character Code 13", None),
    23: ("Thai Character Code 14", None),
    24: ("Thai Character Code 16", None),
    25: ("Thai Character Code 17", None),
    26: ("Thai Character Code 18", None),
    30: ("TCVN-3", None),
    31: ("TCVN-3", None),
    32: ("PC720", "cp720"),
    33: ("WPC775", "cp775"),
    34: ("PC855", "cp855"),
    35: ("PC861", "cp861"),
    36: ("PC862", "cp862"),
    37: ("PC864", "cp864"),
    38: ("PC869", "cp869"),
    39: ("ISO8859-2", "iso8859_2"),
    40: ("ISO8859-15", "iso8859_15"),
    41: ("PC1098", None),
    42: ("PC1118", None),
    43: ("PC1119", None),
    44: ("PC1125", "cp1125"),
    45: ("WPC1250", "cp1250"),
    46: ("WPC1251", "cp1251"),
    47: ("WPC1253", "cp1253"),
    48: ("WPC1254", "cp1254"),
    49: ("WPC1255", "cp1255"),
    50: ("WPC1256", "cp1256"),
    51: ("WPC1257", "cp1257"),
    52: ("WPC1258", "cp1258"),
    53: ("KZ-1048", "kz1048"),
    254: ("Space page", None),
    255: ("User-defined page", None),
}

# ESC R n: the characters at 0x23 0x24 0x40 0x5B 0x5C 0x5D 0x5E 0x60 0x7B 0x7C 0x7D 0x7E.
INTERNATIONAL_POSITIONS = bytes(
    (0x23, 0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x60, 0x7B, 0x7C, 0x7D, 0x7E)
)
INTERNATIONAL: dict[int, tuple[str, str]] = {
    0: ("USA", "#$@[\\]^`{|}~"),
    1: ("France", "#$à°ç§^`éùè¨"),
    2: ("Germany", "#$§ÄÖÜ^`äöüß"),
    3: ("UK", "£$@[\\]^`{|}~"),
    4: ("Denmark I", "#$@ÆØÅ^`æøå~"),
    5: ("Sweden", "#¤ÉÄÖÅÜéäöåü"),
    6: ("Italy", "#$@°\\é^ùàòèì"),
    7: ("Spain I", "₧$@¡Ñ¿^`¨ñ}~"),
    8: ("Japan", "#$@[¥]^`{|}~"),
    9: ("Norway", "#¤ÉÆØÅÜéæøåü"),
    10: ("Denmark II", "#$ÉÆØÅÜéæøåü"),
    11: ("Spain II", "#$á¡Ñ¿é`íñóú"),
    12: ("Latin America", "#$á¡Ñ¿éüíñóú"),
    13: ("Korea", "#$@[₩]^`{|}~"),
    14: ("Slovenia/Croatia", "#$ŽŠĐĆČžšđćč"),
    15: ("China", "#¥@[\\]^`{|}~"),
    16: ("Vietnam", "#đ@[\\]^`{|}~"),
    17: ("Arabia", "#$@[\\]^`{|}~"),
}


def codec_for(code_page: int) -> str | None:
    """The Python codec for an Epson code page number, or ``None`` if there is none."""
    entry = CODE_PAGES.get(code_page)
    return entry[1] if entry else None


def _high_half(code_page: int) -> str:
    """Characters for bytes 0x80–0xFF, U+FFFD where undefined."""
    codec = codec_for(code_page)
    if codec is not None:
        return "".join(bytes((b,)).decode(codec, "replace")[:1] for b in range(0x80, 0x100))
    if code_page == 1:
        # JIS X 0201: half-width katakana at 0xA1–0xDF; Epson's graphics elsewhere are unmapped.
        return "".join(
            bytes((b,)).decode("shift_jis") if 0xA1 <= b <= 0xDF else REPLACEMENT
            for b in range(0x80, 0x100)
        )
    return REPLACEMENT * 0x80


@cache
def decoding_table(code_page: int, international: int = 0) -> str:
    """256 characters, one per byte value, for ``codecs.charmap_decode``."""
    low = [chr(b) for b in range(0x80)]
    _name, chars = INTERNATIONAL.get(international, INTERNATIONAL[0])
    for position, char in zip(INTERNATIONAL_POSITIONS, chars, strict=True):
        low[position] = char
    return "".join(low) + _high_half(code_page)


def decode(raw: bytes, code_page: int, international: int = 0) -> str:
    """``raw`` as the printer would print it with ESC t ``code_page`` and ESC R
    ``international``: one character per byte, never raising."""
    return codecs.charmap_decode(raw, "strict", decoding_table(code_page, international))[0]


def decode_kanji(raw: bytes, encoding: str) -> str:
    """Text printed in Kanji mode; malformed or unknown input decodes to U+FFFD."""
    if encoding == "jis":
        return _jis_to_euc(raw).decode("euc_jp", "replace")
    try:
        return raw.decode(encoding, "replace")
    except LookupError:
        return raw.decode("shift_jis", "replace")


_JIS_TO_EUC = bytes(b | 0x80 if 0x21 <= b <= 0x7E else b for b in range(256))


def _jis_to_euc(raw: bytes) -> bytes:
    return raw.translate(_JIS_TO_EUC)


def kanji_boundary(raw: bytes, encoding: str) -> int:
    """The length of the longest prefix of ``raw`` that ends on a character boundary, so a
    text run cut at a fixed length never splits a two-byte character."""
    if encoding == "jis":
        raw, encoding = _jis_to_euc(raw), "euc_jp"
    try:
        decoder = codecs.getincrementaldecoder(encoding)("replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("shift_jis")("replace")
    decoder.decode(raw, final=False)
    undecided, _flag = decoder.getstate()
    return len(raw) - len(undecided)


# A two-byte (or four-byte) character in each Kanji code system, as bytes.
_SJIS_WIDE = rb"[\x81-\x9f\xe0-\xfc][\x40-\x7e\x80-\xfc]"
_WIDE = {
    "shift_jis": _SJIS_WIDE,
    "shift_jis_2004": _SJIS_WIDE,
    "cp932": _SJIS_WIDE,
    "gb18030": rb"[\x81-\xfe][\x30-\x39][\x81-\xfe][\x30-\x39]|[\x81-\xfe][\x40-\x7e\x80-\xfe]",
    "big5": rb"[\x81-\xfe][\x40-\x7e\xa1-\xfe]",
    "euc_jp": rb"\x8f[\xa1-\xfe][\xa1-\xfe]|[\x8e\xa1-\xfe][\xa1-\xfe]",  # JIS, translated
}
_RUNS = {
    name: re.compile(rb"(?P<wide>(?:%s)+)|(?:(?!%s)[\x00-\xff])+" % (wide, wide))
    for name, wide in _WIDE.items()
}


def kanji_runs(raw: bytes, encoding: str) -> list[tuple[bytes, str, bool]]:
    """``raw`` (whole characters, as a Kanji-mode text run is) cut into runs of one-byte and of
    two-byte characters: ``(bytes, text, two_byte)``. The printer styles the two kinds apart
    (ESC ! for the first, FS ! for the second)."""
    source, codec = (_jis_to_euc(raw), "euc_jp") if encoding == "jis" else (raw, encoding)
    runs = _RUNS.get(codec, _RUNS["shift_jis"])
    return [
        (
            raw[m.start() : m.end()],
            decode_kanji(raw[m.start() : m.end()], encoding),
            bool(m["wide"]),
        )
        for m in runs.finditer(source)
    ]
