"""The capture corpus: every ``fixtures/<layout>/<name>.bin`` with a ``.json`` beside it must read
as the till printed it, and must tokenize the same whatever chunks the bytes arrive in.

The corpus grows by regenerating it (``python fixtures/generate.py``); this file names no fixture,
so new layouts and edge cases are picked up as they are added.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from parsers.escpos.events import Event
from parsers.escpos.tokenizer import Tokenizer, tokenize
from parsers.layouts import Layout
from parsers.pipeline import ReadResult, read_receipts

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CAPTURES = sorted(p for p in FIXTURES.glob("*/*.bin") if p.with_suffix(".json").is_file())
# Small fixed chunk sizes split every command, multi-byte character and payload header somewhere;
# the seeded random splits add uneven boundaries that stay the same from run to run.
CHUNK_SIZES = (1, 2, 3, 7, 64)
RANDOM_SPLITS = 3


def _capture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _expected(capture: Path) -> dict[str, Any]:
    expected: dict[str, Any] = json.loads(capture.with_suffix(".json").read_text("utf-8"))
    return expected


def _fed_in_chunks(data: bytes, lengths: list[int]) -> list[Event]:
    tokenizer = Tokenizer()
    events: list[Event] = []
    start = 0
    for length in lengths:
        events += tokenizer.feed(data[start : start + length])
        start += length
    events += tokenizer.feed(data[start:])
    return events + tokenizer.close()


def _check_entry(result: ReadResult, entry: dict[str, Any], where: str) -> None:
    if "error" in entry:
        assert result.receipt is None, f"{where}: read a receipt where an error was expected"
        assert result.error is not None, f"{where}: no error where one was expected"
        missing = [w for w in entry["error"].split() if w.lower() not in result.error.lower()]
        assert not missing, f"{where}: error lacks {missing}: {result.error}"
        return
    assert result.receipt is not None, f"{where}: no receipt; error: {result.error}"
    got = result.receipt.to_dict()
    got.pop("fingerprint")
    assert got == entry, where


def test_the_corpus_is_there() -> None:
    layouts = {p.parent.name for p in CAPTURES}
    assert {"bakery_es", "bistro_fr", "sklep_pl"} <= layouts


def test_every_expectation_has_its_capture() -> None:
    orphans = [p for p in FIXTURES.glob("*/*.json") if not p.with_suffix(".bin").is_file()]
    assert orphans == []


@pytest.mark.parametrize("capture", CAPTURES, ids=_capture_id)
def test_capture_reads_as_printed(capture: Path) -> None:
    expected = _expected(capture)
    layout = Layout.load(expected["layout"]) if expected.get("layout") else None
    results = read_receipts(capture.read_bytes(), layout)
    entries = expected["receipts"]
    assert len(results) == len(entries), f"{len(results)} documents read, {len(entries)} expected"
    for number, (result, entry) in enumerate(zip(results, entries, strict=True)):
        _check_entry(result, entry, f"{_capture_id(capture)} document {number}")


@pytest.mark.parametrize("capture", CAPTURES, ids=_capture_id)
def test_chunking_does_not_change_the_events(capture: Path) -> None:
    data = capture.read_bytes()
    whole = tokenize(data)
    assert b"".join(event.raw for event in whole) == data
    for size in CHUNK_SIZES:
        lengths = [size] * (len(data) // size)
        assert _fed_in_chunks(data, lengths) == whole, f"chunks of {size} bytes"
    rng = random.Random(capture.name)
    for _ in range(RANDOM_SPLITS):
        lengths = []
        while sum(lengths) < len(data):
            lengths.append(rng.randint(1, 16))
        assert _fed_in_chunks(data, lengths) == whole, f"random chunks {lengths[:8]}..."
