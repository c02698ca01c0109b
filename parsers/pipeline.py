"""Bytes to receipts: tokenize, cut into documents, read each with a layout.

``read_receipts`` never raises for a receipt it cannot read: the error goes into its
``ReadResult`` (fail open: the bytes are passed through whatever we make of them).
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.document import Document, build_documents
from parsers.escpos.tokenizer import tokenize
from parsers.layouts import GrammarError, Layout, ReceiptParseError, available_layouts
from parsers.receipt import Receipt

GENERIC = "generic"


@dataclass
class ReadResult:
    document: Document
    receipt: Receipt | None
    error: str | None
    layout: str | None


def read_receipts(data: bytes, layout: Layout | None = None) -> list[ReadResult]:
    """Every receipt in a capture. With no layout, each document's layout is guessed."""
    results: list[ReadResult] = []
    for document in build_documents(tokenize(data)):
        if not document.text().strip():
            continue  # a stray feed, a status-only job or a picture: nothing to read
        if layout is None:
            chosen, receipt = guess_layout(document)
            results.append(ReadResult(document, receipt, None, chosen.name))
            continue
        try:
            receipt = layout.parse(document)
        except ReceiptParseError as exc:
            results.append(ReadResult(document, None, str(exc), layout.name))
        else:
            results.append(ReadResult(document, receipt, None, layout.name))
    return results


def guess_layout(document: Document) -> tuple[Layout, Receipt]:
    """The first shipped layout that reads the document into a consistent receipt; else the
    generic layout (which reads anything, if less well)."""
    text = document.text()
    for name in available_layouts():
        if name == GENERIC:
            continue
        try:
            layout = Layout.load(name)
            receipt = layout.parse_text(text)
        except (GrammarError, ReceiptParseError):
            continue  # a broken shipped layout must not stop the others from trying
        if not receipt.problems:
            return layout, receipt
    generic = Layout.load(GENERIC)
    return generic, generic.parse_text(text)
