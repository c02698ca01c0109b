"""Text as the generic layout compares it: case, accents and look-alike letters folded away.

``TOTAL À PAYER``, ``Total a payer`` and ``total à payer`` all fold to ``total a payer``;
``Rückgeld`` to ``ruckgeld``, ``Gotówka`` to ``gotowka``, ``Łączna`` to ``laczna``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Letters NFKD does not take apart; folded by hand so keywords can be written plainly.
_LOOKALIKES = str.maketrans(
    {"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
     "ß": "ss", "’": "'", "`": "'"}
)  # fmt: skip


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower case, no accents, look-alike letters replaced; one character may become two."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.translate(_LOOKALIKES)


_WORDS_RE = re.compile(r"[^\W_]+")


def words_of(folded: str) -> tuple[str, ...]:
    """The words of folded text: letters and digits, split at spaces and punctuation."""
    return tuple(_WORDS_RE.findall(folded))


def phrase_key(phrase: str) -> str:
    """A phrase's words run together: ``sub total``, ``sub-total`` and ``subtotal`` share
    ``subtotal``; ``i.v.a`` is ``iva``."""
    return "".join(words_of(fold(phrase)))


@dataclass(frozen=True, slots=True)
class Span:
    """Where a phrase was found, in words: ``start`` is the index of its first word."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Scan:
    """Every phrase of every table found in one text."""

    words: tuple[str, ...]
    hits: dict[str, tuple[Span, ...]]

    def first(self, table: str) -> Span | None:
        """The earliest phrase of ``table`` (the longest of those that start there)."""
        spans = self.hits.get(table)
        return spans[0] if spans else None

    def covered(self, tables: Iterable[str]) -> set[int]:
        """The indexes of the words some phrase of ``tables`` covers."""
        spans = [span for table in tables for span in self.hits.get(table, ())]
        return {i for span in spans for i in range(span.start, span.end)}


class KeywordIndex:
    """Every table's phrases in one dictionary, by their run-together words.

    A text is scanned once for all tables: each run of up to ``longest`` words is one look-up,
    so the cost is a few dictionary look-ups a word, whatever the number of phrases and
    languages (a regex alternation of them all cost microseconds a table a line).
    """

    def __init__(self, tables: dict[str, Iterable[str]]) -> None:
        self._keys: dict[str, set[str]] = {}
        self._longest = 1
        for table, phrases in tables.items():
            for phrase in phrases:
                key = phrase_key(phrase)
                if key:
                    self._keys.setdefault(key, set()).add(table)
                    self._longest = max(self._longest, len(words_of(fold(phrase))))
        self.scan = lru_cache(maxsize=8192)(self._scan)

    def _scan(self, folded: str) -> Scan:
        words = words_of(folded)
        found: dict[str, list[Span]] = {}
        keys = self._keys
        for i in range(len(words)):
            key = ""
            for n in range(min(self._longest, len(words) - i)):
                key += words[i + n]
                tables = keys.get(key)
                if tables is not None:
                    for table in tables:
                        found.setdefault(table, []).append(Span(i, i + n + 1))
        hits = {
            t: tuple(sorted(spans, key=lambda s: (s.start, -s.end))) for t, spans in found.items()
        }
        return Scan(words, hits)
