"""One normalisation for customers, printed or typed."""

from __future__ import annotations

import pytest

from parsers.identifiers import normalise_identifier
from parsers.receipt import CustomerKind


@pytest.mark.parametrize(
    ("text", "kind", "stored"),
    [
        ("IT99887766", CustomerKind.CARD, "IT99887766"),
        ("RL-000451", CustomerKind.CARD, "RL000451"),
        ("rl.000 451", CustomerKind.CARD, "RL000451"),
        ("4000 1234 5678", CustomerKind.CARD, "400012345678"),
        ("NL–5521", CustomerKind.CARD, "NL5521"),  # an en dash
        ("(518) 555-0199", CustomerKind.PHONE, "5185550199"),
        ("+48 601-234-567", CustomerKind.PHONE, "+48601234567"),
        ("ab.12_x", CustomerKind.LOYALTY_ID, "ab.12_x"),
        ("rl-000451", None, "RL000451"),
    ],
)
def test_the_stored_form(text: str, kind: CustomerKind | None, stored: str) -> None:
    assert normalise_identifier(text, kind) == stored
