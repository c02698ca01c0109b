"""The committed .mo catalogues are the .po ones compiled, and every message is translated."""

from __future__ import annotations

import io

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bridge.texts import DOMAIN, LANGUAGES, LOCALE_DIR

FIX = "run: pybabel compile -D tillbridge -d bridge/locale"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_mo_file_is_the_po_file_compiled(language: str) -> None:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    with (folder / f"{DOMAIN}.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    assert (folder / f"{DOMAIN}.mo").read_bytes() == compiled.getvalue(), FIX


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_has_every_message(language: str) -> None:
    def ids(code: str) -> set[object]:
        with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
            return {message.id for message in read_po(po) if message.id}

    assert ids(language) == ids("en")
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    for message in catalogue:
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), (language, message.id)
            assert not message.fuzzy, (language, message.id)


def test_the_config_knows_the_languages() -> None:
    from bridge import config

    assert set(LANGUAGES) == {"en", "es", "fr", "de", "pl"}
    assert config.DEFAULT_LANGUAGE in LANGUAGES
