"""Bytes to receipts: tokenize, cut into documents, read each with a layout.

A layout's grammar reads one thing: ``Document.text()`` of each document that printed text.
``grammar_texts`` gives exactly those texts for a capture (``tillbridge parse --show-text``
prints them), and ``read_receipts`` parses exactly those, so what an admin sees is what the
grammar got.

``read_receipts`` never raises for a receipt it cannot read: the error goes into its
``ReadResult`` (fail open: the bytes are passed through whatever we make of them). A capture
that ends inside a command is reported as truncated, whatever the layout makes of it: the
printer was left waiting for the rest of that command.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.document import Document, build_documents
from parsers.escpos.events import Event, Truncated
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
    events = tokenize(data)
    for document in documents_to_read(events):
        result = _read(document, layout)
        if document.truncated is not None:
            result = _truncated(result, document.truncated)
        results.append(result)
    end = events[-1] if events else None
    if isinstance(end, Truncated) and not any(r.document.truncated for r in results):
        # Cut short where no text was printed (a picture, a header, after the last cut):
        # still a capture that stops inside a command, which a reader must hear about.
        results.append(_truncated(ReadResult(Document(truncated=end.reason), None, None, None)))
    return results


def documents_to_read(events: list[Event]) -> list[Document]:
    """The documents in a stream of events that a layout reads: those that printed text (a
    stray feed, a status-only job or a picture has nothing to read)."""
    return [document for document in build_documents(events) if document.text().strip()]


def grammar_texts(data: bytes) -> list[str]:
    """What the grammar reads, one text per receipt in ``data``, in order: ``read_receipts``
    parses exactly these."""
    return [document.text() for document in documents_to_read(tokenize(data))]


def _read(document: Document, layout: Layout | None) -> ReadResult:
    if layout is None:
        chosen, receipt = guess_layout(document)
        return ReadResult(document, receipt, None, chosen.name)
    try:
        receipt = layout.parse(document)
    except ReceiptParseError as exc:
        return ReadResult(document, None, str(exc), layout.name)
    return ReadResult(document, receipt, None, layout.name)


def _truncated(result: ReadResult, reason: str | None = None) -> ReadResult:
    """The result of a document the capture cut short: an error that says so first, and
    what the layout made of it after."""
    reason = reason if reason is not None else result.document.truncated
    error = f"{reason} (the capture ends inside this command)"
    if result.receipt is not None:
        number = f"receipt {result.receipt.number}" if result.receipt.number else "it"
        error += f"; the layout read {number}, but it may not have printed whole"
    elif result.error is not None:
        error += f"; {result.error}"
    return ReadResult(result.document, None, error, result.layout)


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
