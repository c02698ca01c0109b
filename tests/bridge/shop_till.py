"""A corner shop's till for the workbench tests: python-escpos (``Dummy``) prints its receipts.

Its receipts vary as a real till's do: cash with change or a card, a loyalty card line or none,
one item or many, a weighed item printed ``qty x unit price``. Not one of ``fixtures/``: the
workbench must read a till it was never shown.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from drivers.escpos_cache import use_capability_cache

use_capability_cache(Path(__file__).resolve().parents[2] / ".escpos-cache")

from escpos.printer import Dummy  # noqa: E402  (needs the cache folder set first)

WIDTH = 40
STORE = "KIOSK AM ECK"


def _row(left: str, right: str) -> str:
    return f"{left}{' ' * max(2, WIDTH - len(left) - len(right))}{right}\n"


def _m(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def shop_receipt(
    items: list[tuple[str, Decimal, Decimal]],
    paid: Decimal | None = None,
    card: str | None = None,
    number: int = 101,
) -> bytes:
    """One receipt: ``items`` as (name, qty, unit price); ``paid`` in cash (else by card);
    ``card`` the customer's loyalty card."""
    p = Dummy(profile="TM-T88V")
    p.charcode("CP858")
    p.set(align="center", bold=True)
    p.text(f"{STORE}\n")
    p.set(align="center", bold=False)
    p.text("Hauptstr. 1, 10115 Berlin\n")
    p.set(align="left")
    p.text(_row(f"Bon {number}", "Kasse 1"))
    p.text("-" * WIDTH + "\n")
    total = Decimal(0)
    for name, qty, price in items:
        amount = (qty * price).quantize(Decimal("0.01"))
        total += amount
        if qty == 1:
            p.text(_row(name, _m(amount)))
        else:
            p.text(_row(f"{name}  {qty} x {_m(price)}", _m(amount)))
    p.text("-" * WIDTH + "\n")
    p.set(bold=True)
    p.text(_row("SUMME EUR", _m(total)))
    p.set(bold=False)
    if paid is None:
        p.text(_row("Karte", _m(total)))
    else:
        p.text(_row("Bar", _m(paid)))
        p.text(_row("Rückgeld", _m(paid - total)))
    if card is not None:
        p.text(f"Kundenkarte: {card}\n")
    p.text("Danke für Ihren Einkauf!\n")
    p.cut()
    return bytes(p.output)


CASH_WITH_CARD = shop_receipt(
    [("Zeitung", Decimal(1), Decimal("2.50")), ("Kaffee", Decimal(2), Decimal("1.80"))],
    paid=Decimal("10.00"),
    card="4711 0815 42",
)
CARD_NO_LOYALTY = shop_receipt(
    [("Brezel", Decimal(3), Decimal("0.90")), ("Wasser", Decimal(1), Decimal("1.20"))],
    number=102,
)
MANY_ITEMS = shop_receipt(
    [
        ("Zeitung", Decimal(1), Decimal("2.50")),
        ("Kaugummi", Decimal(1), Decimal("1.00")),
        ("Apfel", Decimal(4), Decimal("0.45")),
        ("Cola", Decimal(1), Decimal("1.90")),
    ],
    paid=Decimal("20.00"),
    number=103,
)
