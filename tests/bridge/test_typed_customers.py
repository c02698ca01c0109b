"""What an admin types for a claim is stored as the receipt printed it (one normalisation)."""

from __future__ import annotations

import pytest

from bridge.loyalty.claims import read_customer
from parsers.layouts import Layout


@pytest.mark.parametrize(
    ("printed", "typed"),
    [
        ("Member: RL-000451", "card:rl 000451"),
        ("Carta fedeltà: IT99887766", "card:it-99887766"),
        ("Klantnummer: NL-5521", "NL.5521"),
        ("Rewards phone: (518) 555-0199", "phone:518.555.0199"),
    ],
)
def test_what_an_admin_types_finds_what_the_receipt_printed(printed: str, typed: str) -> None:
    receipt = Layout.load("generic").parse_text(f"Bread  1,20\nTOTAL  1,20\n{printed}\n")
    assert receipt.customer is not None
    assert read_customer(typed)[1] == receipt.customer.value
