"""Each field of the message in each language, and plurals at their boundaries."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bridge.loyalty import Outcome
from bridge.loyalty.earning import ExpiringPoints
from bridge.messages import award_message, pending_message
from tests.bridge.message_samples import EXTRAS, LANGUAGE_CODES, full_outcome

NBSP = "\u00a0"  # babel's grouping space, kept unbreakable on paper

# What the full outcome prints at 48 columns: title, lines, then the voucher's caption.
EVERY_FIELD = {
    "en": (
        "Loyalty points",
        "Card **** 5678",
        "Tier: Gold",
        "Points earned: 1,404",
        "Bonus: Double points Tuesday +50",
        "Balance: 123,456",
        "This month: 2,210 points",
        "This year: 18,004 points",
        "96 points to go: 5 € voucher",
        "Coffee card: 7/10",
        "120 points expire on 31/01/2027",
        "Voucher V-7XK2P: -500 points",
        "Voucher V-1AAAA already used",
        "Unknown voucher V-2BBBB",
        "Voucher V-3CCCC expired",
        "Voucher V-4DDDD void",
        "Voucher: 5 € voucher",
        "Valid until 31/03/2027",
    ),
    "es": (
        "Puntos de fidelidad",
        "Tarjeta **** 5678",
        "Nivel: Gold",
        "Puntos ganados: 1.404",
        "Bono: Double points Tuesday +50",
        "Saldo: 123.456 puntos",
        "Este mes: 2.210 puntos",
        "Este año: 18.004 puntos",
        "Faltan 96 puntos: 5 € voucher",
        "Coffee card: 7/10",
        "120 puntos caducan el 31/1/2027",
        "Vale V-7XK2P usado: -500 puntos",
        "Vale V-1AAAA ya usado",
        "Vale desconocido V-2BBBB",
        "Vale V-3CCCC caducado",
        "Vale V-4DDDD anulado",
        "Vale: 5 € voucher",
        "Válido hasta el 31/3/2027",
    ),
    "fr": (
        "Points fidélité",
        "Carte **** 5678",
        "Niveau : Gold",
        f"Points gagnés : 1{NBSP}404",
        "Bonus : Double points Tuesday +50",
        f"Solde : 123{NBSP}456 points",
        f"Ce mois-ci : 2{NBSP}210 points",
        f"Cette année : 18{NBSP}004 points",
        "Encore 96 points : 5 € voucher",
        "Coffee card: 7/10",
        "120 points expirent le 31/01/2027",
        "Bon V-7XK2P utilisé : -500 points",
        "Bon V-1AAAA déjà utilisé",
        "Bon inconnu V-2BBBB",
        "Bon V-3CCCC expiré",
        "Bon V-4DDDD annulé",
        "Bon : 5 € voucher",
        "Valable jusqu'au 31/03/2027",
    ),
    "de": (
        "Treuepunkte",
        "Karte **** 5678",
        "Stufe: Gold",
        "Gesammelte Punkte: 1.404",
        "Bonus: Double points Tuesday +50",
        "Kontostand: 123.456 Punkte",
        "Diesen Monat: 2.210 Punkte",
        "Dieses Jahr: 18.004 Punkte",
        "Noch 96 Punkte: 5 € voucher",
        "Coffee card: 7/10",
        "120 Punkte verfallen am 31.01.2027",
        "Gutschein V-7XK2P eingelöst: -500 Punkte",
        "Gutschein V-1AAAA bereits eingelöst",
        "Unbekannter Gutschein V-2BBBB",
        "Gutschein V-3CCCC abgelaufen",
        "Gutschein V-4DDDD storniert",
        "Gutschein: 5 € voucher",
        "Gültig bis 31.03.2027",
    ),
    "pl": (
        "Punkty lojalnościowe",
        "Karta **** 5678",
        "Poziom: Gold",
        f"Zdobyte punkty: 1{NBSP}404",
        "Premia: Double points Tuesday +50",
        f"Saldo: 123{NBSP}456 punktów",
        f"W tym miesiącu: 2{NBSP}210 punktów",
        f"W tym roku: 18{NBSP}004 punkty",
        "Brakuje 96 punktów: 5 € voucher",
        "Coffee card: 7/10",
        "120 punktów wygasa 31.01.2027",
        "Bon V-7XK2P użyty: -500 punktów",
        "Bon V-1AAAA już wykorzystany",
        "Nieznany bon V-2BBBB",
        "Bon V-3CCCC wygasł",
        "Bon V-4DDDD unieważniony",
        "Bon: 5 € voucher",
        "Ważny do 31.03.2027",
    ),
}
OTHER_KINDS = {  # duplicate (balance 1), pending, a 1-point claim code
    "en": (
        ("Card **** 5678", "Already counted", "Balance: 1"),
        ("Loyalty points", "Points pending", "Your points will be added later."),
        ("This sale earns 1 point.", "Claim it with your card:"),
    ),
    "es": (
        ("Tarjeta **** 5678", "Ya contabilizado", "Saldo: 1 punto"),
        ("Puntos de fidelidad", "Puntos pendientes", "Sus puntos se sumarán más tarde."),
        ("Esta compra suma 1 punto.", "Canjéelo con su tarjeta:"),
    ),
    "fr": (
        ("Carte **** 5678", "Déjà comptabilisé", "Solde : 1 point"),
        ("Points fidélité", "Points en attente", "Vos points seront ajoutés plus tard."),
        ("Cet achat rapporte 1 point.", "Ajoutez-le à votre carte :"),
    ),
    "de": (
        ("Karte **** 5678", "Bereits gezählt", "Kontostand: 1 Punkt"),
        ("Treuepunkte", "Punkte ausstehend", "Ihre Punkte werden später gutgeschrieben."),
        ("Dieser Einkauf: 1 Punkt.", "Mit Ihrer Kundenkarte einlösen:"),
    ),
    "pl": (
        ("Karta **** 5678", "Już naliczone", "Saldo: 1 punkt"),
        ("Punkty lojalnościowe", "Punkty w toku", "Punkty zostaną dodane później."),
        ("Ten zakup daje 1 punkt.", "Odbierz go kartą klienta:"),
    ),
}


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_field_in_every_language(language: str) -> None:
    message = award_message(full_outcome(), None, language, width=48, **EXTRAS)
    assert message is not None
    (voucher,) = message.barcodes
    assert (message.title, *message.lines, *voucher.caption) == EVERY_FIELD[language]
    assert voucher.data == "V-5K2Q9" and voucher.symbology == "CODE128"


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_duplicate_pending_and_claim_in_every_language(language: str) -> None:
    duplicate, pending, claim = OTHER_KINDS[language]
    again = award_message(Outcome(12, 1, "4000123412345678", None, True), None, language)
    assert again is not None and again.lines == duplicate
    waiting = pending_message(language)
    assert (waiting.title, *waiting.lines) == pending
    code = award_message(Outcome(1, None, None, "K7QM-3XPA", False), None, language)
    assert code is not None and code.lines == claim and code.code == "K7QM-3XPA"


@pytest.mark.parametrize(
    ("n", "word"), [(0, "punktów"), (1, "punkt"), (2, "punkty"), (5, "punktów"), (22, "punkty")]
)
def test_polish_plurals_at_their_boundaries(n: int, word: str) -> None:
    claim = award_message(Outcome(n, None, None, "K7QM-3XPA", False), None, "pl")
    if n == 0:  # nothing earned, no customer: no message; the balance line says it instead
        message = award_message(Outcome(0, 0, "4000123412345678", None, False), None, "pl")
        assert message is not None and "Saldo: 0 punktów" in message.lines
        return
    assert claim is not None and claim.lines[0] == f"Ten zakup daje {n} {word}."
    balance = award_message(Outcome(1, n, "4000123412345678", None, False), None, "pl")
    assert balance is not None and f"Saldo: {n} {word}" in balance.lines


@pytest.mark.parametrize("n", [12, 13, 14, 112, 1_000_000])
def test_polish_teens_and_millions_take_the_genitive(n: int) -> None:
    message = award_message(Outcome(1, n, "4000123412345678", None, False), None, "pl")
    assert message is not None
    assert any(line.startswith("Saldo:") and line.endswith("punktów") for line in message.lines)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_one_point_is_never_points(language: str) -> None:
    sample = full_outcome(points=1, balance=1)
    assert sample.expiring is not None
    one = replace(sample, expiring=ExpiringPoints(1, sample.expiring.on))
    for outcome in (one, Outcome(1, None, None, "K7QM-3XPA", False)):
        message = award_message(outcome, None, language, width=48, points_month=1, points_year=1)
        assert message is not None
        text = "\n".join(message.lines)
        assert not re.search(r"\b1 (points|puntos|Punkte|punkty|punktów)\b", text), text


def test_french_zero_is_singular_as_french_writes_it() -> None:
    message = award_message(Outcome(0, 0, "4000123412345678", None, False), None, "fr")
    assert message is not None and "Solde : 0 point" in message.lines


def test_numbers_and_dates_per_language() -> None:
    lines = {
        language: award_message(full_outcome(), None, language, width=48, **EXTRAS)
        for language in LANGUAGE_CODES
    }
    expiry = {
        language: next(line for line in m.lines if line.startswith("120"))
        for language, m in lines.items()
        if m is not None
    }
    assert expiry["en"].endswith("31/01/2027")
    assert expiry["de"].endswith("31.01.2027")
    assert expiry["pl"].endswith("31.01.2027")
    assert expiry["fr"].endswith("31/01/2027")
    assert expiry["es"].endswith("31/1/2027")
