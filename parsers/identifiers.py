"""The one way a customer's identifier is written down, whoever wrote it.

A receipt prints ``RL-000451``, ``4000 1234 5678`` or ``(518) 555-0199``; a person at the
counter types ``rl000451`` or ``518.555.0199``. Both must land on the same stored value, so
both go through ``normalise_identifier``:

- a card number: separators removed (spaces, dashes, dots, slashes, parentheses), letters
  upper-cased, everything else kept: ``RL-000451`` and ``rl 000451`` are ``RL000451``;
  ``IT99887766`` stays ``IT99887766`` (the letters are part of the card);
- a phone: its digits, with one leading ``+`` when printed: ``(518) 555-0199`` is
  ``5185550199``;
- a loyalty id (an account name a shop's own layout reads): spaces and dashes removed, the
  rest kept as printed (``ab.12_x``), as the CLI always stored it.

Changing this changes stored customers: ``docs/grammars.md`` documents it for admins, and a
database migration must bring the customers stored before into the new form (as
``0005_identifiers`` did when this function replaced "spaces and dashes removed").
"""

from __future__ import annotations

import re
import unicodedata

from parsers.receipt import CustomerKind

# What people and tills put between groups of characters; never part of the identifier.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212./()]+")
_SPACES_AND_DASHES = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalise_identifier(text: str, kind: CustomerKind | None = None) -> str:
    """The stored form of a card number, phone or loyalty id as printed or typed.

    ``kind`` None (a bare number someone typed) is read as a card number.
    """
    text = unicodedata.normalize("NFKC", text)
    if kind is CustomerKind.LOYALTY_ID:
        return _SPACES_AND_DASHES.sub("", text)
    value = _SEPARATORS.sub("", text).upper()
    if kind is CustomerKind.PHONE:
        plus = "+" if value.startswith("+") else ""
        return plus + re.sub(r"\D", "", value)
    return value
