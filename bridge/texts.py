"""The words of the loyalty message, per language: gettext catalogues and babel formats.

Each till prints in its own ``language`` (config), the language of its receipts. The words
live in ``bridge/locale/<language>/LC_MESSAGES/tillbridge.po`` (compiled to the ``.mo``
beside it, both committed; a test checks they agree), so a translator edits a catalogue, not
Python, and plurals follow each language's own rule (Polish: 1 punkt, 2 punkty, 5 punktów).

``Words`` is what a message template calls: ``_`` and ``ngettext`` take their placeholders
as keywords (``%(points)s``) and format them for the language: an ``int`` as a grouped
number ("1,404", "1.404", "1 404"), a ``date`` in the short numeric form ("31/01/2027",
"31.01.2027"). Grouping spaces become a no-break space, which code pages PC858 and
WPC1252 can print and line wrapping never breaks at.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "tillbridge"


@dataclass(frozen=True, slots=True)
class Language:
    code: str  # the config's ``language``: "pl"
    name: str
    locale: str  # babel's locale for numbers and dates: British English writes 31/01/2027


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "English", "en_GB"),
    "es": Language("es", "Español", "es_ES"),
    "fr": Language("fr", "Français", "fr_FR"),
    "de": Language("de", "Deutsch", "de_DE"),
    "pl": Language("pl", "Polski", "pl_PL"),
}

DEFAULT_LANGUAGE = "en"

_NARROW_SPACES = {0x202F: 0x00A0, 0x2009: 0x00A0}


class Words:
    """The catalogue and formats of one language; what templates call ``_`` and ``ngettext``."""

    def __init__(self, language: str) -> None:
        self.language = LANGUAGES[language]
        self._locale = Locale.parse(self.language.locale)
        self._catalogue = gettext.translation(DOMAIN, LOCALE_DIR, [language])

    def _(self, message: str, **values: Any) -> str:
        return self._fill(self._catalogue.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self._fill(self._catalogue.ngettext(singular, plural, n), values)

    def _fill(self, text: str, values: dict[str, Any]) -> str:
        # Only a message with placeholders is formatted: a shop's "-50% today" stays as written.
        return text % self._formatted(values) if values else text

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self._locale).translate(_NARROW_SPACES)

    def date(self, value: date) -> str:
        return format_skeleton("yMMdd", value, locale=self._locale)

    def _formatted(self, values: dict[str, Any]) -> dict[str, Any]:
        return {key: self._format(value) for key, value in values.items()}

    def _format(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return self.number(value)
        if isinstance(value, date):
            return self.date(value)
        return value


@cache
def words(language: str) -> Words:
    """The ``Words`` of a known language, read once per process."""
    return Words(language)
