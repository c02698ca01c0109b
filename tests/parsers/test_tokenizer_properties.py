"""Properties of the tokenizer over generated streams: byte accounting, chunking invariance,
never raising; and a bounded fuzz run."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.escpos import Tokenizer, Truncated, tokenize

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"

text = st.binary(min_size=1, max_size=60).map(lambda b: bytes(c | 0x20 for c in b))
any_bytes = st.binary(min_size=1, max_size=20)
arg = st.integers(0, 255)
small = st.integers(0, 6)


@st.composite
def fixed_command(draw: st.DrawFn) -> bytes:
    name, nargs = draw(
        st.sampled_from(
            [
                (ESC + b"!", 1), (ESC + b"E", 1), (ESC + b"a", 1), (ESC + b"t", 1),
                (ESC + b"R", 1), (ESC + b"-", 1), (ESC + b"@", 0), (ESC + b"d", 1),
                (ESC + b"p", 3), (ESC + b"i", 0), (ESC + b"m", 0), (GS + b"!", 1),
                (GS + b"B", 1), (GS + b"r", 1), (GS + b"I", 1), (GS + b"a", 1),
                (DLE + b"\x04", 1), (DLE + b"\x05", 1), (DLE + b"\x14\x01", 2),
                (FS + b"&", 0), (FS + b".", 0), (FS + b"C", 1), (ESC + b"c3", 1),
            ]
        )
    )  # fmt: skip
    return name + bytes(draw(st.lists(arg, min_size=nargs, max_size=nargs)))


@st.composite
def cut(draw: st.DrawFn) -> bytes:
    m = draw(st.sampled_from([0, 1, 48, 49, 65, 66, 97, 98, 103, 104]))
    return GS + b"V" + bytes((m,)) + (bytes((draw(arg),)) if m > 49 else b"")


@st.composite
def payload_command(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["raster", "esc*", "gs(", "gsk0", "gskn", "fsq", "esc&"]))
    data = draw(st.binary(max_size=300))
    if kind == "raster":
        x, y = draw(small), draw(small)
        return (
            GS
            + b"v0"
            + bytes((draw(arg), x, 0, y, 0))
            + draw(st.binary(min_size=x * y, max_size=x * y))
        )
    if kind == "esc*":
        m, count = draw(st.sampled_from([0, 1, 32, 33])), draw(small)
        size = count * (1 if m < 2 else 3)
        return ESC + b"*" + bytes((m, count, 0)) + draw(st.binary(min_size=size, max_size=size))
    if kind == "gs(":
        letter = draw(st.sampled_from(b"kLCE"))
        return GS + b"(" + bytes((letter, len(data) % 256, len(data) // 256)) + data
    if kind == "gsk0":
        return GS + b"k\x04" + data.replace(b"\x00", b"")[:250] + b"\x00"
    if kind == "gskn":
        return GS + b"kI" + bytes((len(data[:255]),)) + data[:255]
    if kind == "fsq":
        x, y = draw(small), draw(small)
        return (
            FS
            + b"q\x01"
            + bytes((x, 0, y, 0))
            + draw(st.binary(min_size=8 * x * y, max_size=8 * x * y))
        )
    y, x = draw(small), draw(small)
    glyph = draw(st.binary(min_size=x * y, max_size=x * y))
    return ESC + b"&" + bytes((y, 65, 65, x)) + glyph


segment = st.one_of(
    text, text, st.just(b"\n"), fixed_command(), cut(), payload_command(), any_bytes
)
streams = st.lists(segment, max_size=30).map(b"".join)


def feed_in_pieces(data: bytes, cuts: list[int]) -> tuple[list, Tokenizer]:
    tokenizer = Tokenizer()
    events = []
    start = 0
    for end in [*sorted(set(cuts)), len(data)]:
        piece = data[start:end]
        events += tokenizer.feed(piece)
        start = max(start, end)
        emitted = sum(len(e.raw) for e in events)
        assert emitted + tokenizer.pending == start
    events += tokenizer.close()
    assert tokenizer.pending == 0
    return events, tokenizer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams)
def test_every_byte_belongs_to_exactly_one_event(data):
    events = tokenize(data)
    assert b"".join(e.raw for e in events) == data
    # Only a stream that ends right after a header ends in an event with no byte, which
    # says so: a Truncated event.
    assert all(e.raw for e in events[:-1])
    assert not events or events[-1].raw or isinstance(events[-1], Truncated)
    assert not any(isinstance(e, Truncated) for e in events[:-1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_chunking_gives_the_same_events(draw):
    data = draw.draw(streams)
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=12))
    whole = Tokenizer()
    expected = whole.feed(data) + whole.close()
    events, tokenizer = feed_in_pieces(data, cuts)
    assert events == expected
    assert tokenizer.state == whole.state


def test_byte_at_a_time_equals_all_at_once():
    data = (
        ESC + b"@" + ESC + b"t\x13" + b"Caf\xe9 \xd5\n" + GS + b"v0\x00\x02\x00\x02\x00"
        + DLE + b"\x04\x01" + GS + b"V" + GS + b"k\x04123\x00" + FS + b"&"
        + "日本".encode("shift_jis") + b"\n" + GS + b"VA\x03"
    )  # fmt: skip
    events, _ = feed_in_pieces(data, list(range(len(data))))
    assert events == tokenize(data)


@pytest.mark.fuzz
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=400), streams), st.lists(st.integers(0, 400), max_size=6))
def test_fuzz_random_bytes(data, cuts):
    events, _ = feed_in_pieces(data, [c for c in cuts if c <= len(data)])
    assert b"".join(e.raw for e in events) == data
    assert events == tokenize(data)
