"""The generic layout: reads receipts from tills that have no layout of their own.

Written in Python, not Lark: each line is classified on its own by compiled keyword tables
(``keywords``), so the cost grows with the lines and stays close to a shop layout's. A layout
file that says ``//@ parser: generic`` (the shipped ``generic.lark``) is read this way; its
``timezone``, ``date_order`` and ``currency`` lines apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parsers.generic.reader import Meta, read
from parsers.receipt import Receipt

if TYPE_CHECKING:
    from parsers.layouts import LayoutMeta


def read_receipt(text: str, name: str, meta: LayoutMeta) -> Receipt:
    """The receipt printed as ``text``, read by the generic layout."""
    settings = Meta(name, meta.timezone, meta.currency, meta.date_order)
    return read(text, settings)
