"""The words of the loyalty message, per language: data, so a language is a table entry.

Each till prints in its own ``language`` (config), the language of its receipts. Placeholders:
``{points}`` and ``{balance}``. Keep lines short: they must fit a 32-column printer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Texts:
    title: str
    earned: str  # a customer's points for this sale
    balance: str  # the customer's balance after it
    claim_earned: str  # a sale with no customer: what it earns
    claim_how: str  # ...and how to get them


LANGUAGES: dict[str, Texts] = {
    "en": Texts(
        title="Loyalty points",
        earned="Points earned: {points}",
        balance="Balance: {balance}",
        claim_earned="This sale earns {points} points.",
        claim_how="Claim them with your card:",
    ),
    "es": Texts(
        title="Puntos de fidelidad",
        earned="Puntos ganados: {points}",
        balance="Saldo: {balance} puntos",
        claim_earned="Esta compra suma {points} puntos.",
        claim_how="Canjéelos con su tarjeta:",
    ),
    "fr": Texts(
        title="Points fidélité",
        earned="Points gagnés : {points}",
        balance="Solde : {balance} points",
        claim_earned="Cet achat rapporte {points} points.",
        claim_how="Ajoutez-les à votre carte :",
    ),
    "de": Texts(
        title="Treuepunkte",
        earned="Gesammelte Punkte: {points}",
        balance="Kontostand: {balance} Punkte",
        claim_earned="Dieser Einkauf: {points} Punkte.",
        claim_how="Mit Ihrer Kundenkarte einlösen:",
    ),
    "pl": Texts(
        title="Punkty lojalnościowe",
        earned="Zdobyte punkty: {points}",
        balance="Saldo: {balance} pkt",
        claim_earned="Ten zakup daje {points} pkt.",
        claim_how="Odbierz je kartą klienta:",
    ),
}

DEFAULT_LANGUAGE = "en"
