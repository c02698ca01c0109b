"""Receipts that end with no cut: the till's close, an idle gap, ESC @. Each is held like a
cut's and gets its message at its end; when no message is possible it is counted by reason."""

from __future__ import annotations

import pytest

from bridge.session import EndOfReceipt, Mode
from tests.bridge.test_session import CUT, DLE_EOT, ESC, GS_R, RESET, SALE, M, Run, lines, run

FEEDS = b"\n\n\n"
CODE_PAGE_858 = ESC + b"t\x13"
CENTRED = ESC + b"a\x01"

# --- the till's close (EOF) -------------------------------------------------------------------


def test_the_tills_close_ends_the_receipt_and_the_message_goes_before_its_tail_feeds() -> None:
    r = run().send(SALE + FEEDS, now=0.0)
    assert r.taken() == SALE  # the feeds may be followed by a cut: they wait
    r.take(r.session.till_finished(0.01))
    [request] = r.requests
    assert request.held and not request.document.cut
    assert request.raw == SALE + FEEDS
    assert r.session.holding and r.deadline == pytest.approx(1.51)
    r.answer(1, M, now=0.02)
    assert r.taken() == M + FEEDS
    assert not r.session.holding
    r.close(now=0.03)
    assert r.taken() == b"" and len(r.requests) == 1  # ended once, awarded once
    assert r.session.released_unanswered == 0


def test_at_the_close_feeds_that_already_went_on_stay_before_the_message() -> None:
    r = run().send(SALE + FEEDS, now=0.0)
    r.tick(0.05)  # feed_hold: the feeds went on
    assert r.taken() == SALE + FEEDS
    r.take(r.session.till_finished(1.0))
    r.answer(1, M, now=1.01)
    assert r.taken() == M


def test_at_the_close_a_line_left_open_is_ended_before_the_message() -> None:
    r = run().send(SALE + b"Thank you", now=0.0)
    r.take(r.session.till_finished(0.01))
    [request] = r.requests
    assert lines(request.document)[-1] == "Thank you"
    r.answer(1, M, now=0.02)
    assert r.taken() == SALE + b"Thank you" + b"\n" + M


def test_the_message_at_the_close_is_given_the_tills_printer_state() -> None:
    r = run().send(CODE_PAGE_858 + CENTRED + SALE, now=0.0)
    r.take(r.session.till_finished(0.01))
    [request] = r.requests
    assert request.state.code_page == 19 and request.state.align.value == "center"


def test_the_close_after_a_cut_ends_nothing_more() -> None:
    r = run().send(SALE + CUT + b"\n" + GS_R, now=0.0)
    r.answer(1, M)
    r.take(r.session.till_finished(0.1))
    assert len(r.requests) == 1 and not r.session.holding
    r.close(now=0.2)
    assert r.taken() == SALE + M + CUT + b"\n" + GS_R


def test_a_close_with_no_answer_in_time_releases_the_bytes_and_counts_the_reason() -> None:
    r = run().send(SALE + FEEDS, now=0.0)
    r.take(r.session.till_finished(0.0))
    r.close(now=0.5)  # the shell gives up waiting (its own cap): everything goes on
    assert r.taken() == SALE + FEEDS
    assert r.answer(1, M, now=0.6).to_printer == b""
    assert r.session.no_message == {"the till's stream ended while it was held": 1}


def test_a_stream_closed_without_till_finished_counts_its_receipt_with_no_message() -> None:
    r = run().send(SALE, now=0.0)
    r.close(now=0.1)  # a reset, say: the shell does not end the receipt first
    [request] = r.requests
    assert not request.held
    assert r.session.no_message == {"the till's stream ended before it could be held": 1}


def test_observe_and_passthrough_at_the_close() -> None:
    r = run(mode=Mode.OBSERVE).send(SALE, now=0.0)
    r.take(r.session.till_finished(0.0))
    [request] = r.requests
    assert not request.held and not r.session.holding
    assert r.session.no_message == {"observe mode": 1}
    p = run(mode=Mode.PASSTHROUGH).send(SALE)
    p.take(p.session.till_finished(0.0))
    assert p.requests == [] and p.taken() == SALE


# --- an idle gap ------------------------------------------------------------------------------


def idle(**config: object) -> Run:
    return run(end_of_receipt=EndOfReceipt.IDLE, idle_gap=1.0, **config)


def test_two_receipts_without_a_cut_apart_by_an_idle_gap_each_get_their_message() -> None:
    r = idle().send(b"ONE\nTOTAL 1.00\n" + FEEDS, now=0.0)
    r.tick(1.0)
    r.answer(1, M, now=1.01)
    r.send(b"TWO\nTOTAL 2.00\n" + FEEDS, now=5.0)
    r.tick(6.0)
    r.answer(2, M, now=6.01)
    assert r.taken() == b"ONE\nTOTAL 1.00\n" + M + FEEDS + b"TWO\nTOTAL 2.00\n" + M + FEEDS
    read = [[line for line in lines(q.document) if line] for q in r.requests]
    assert read == [["ONE", "TOTAL 1.00"], ["TWO", "TOTAL 2.00"]]


def test_status_polls_do_not_keep_the_idle_gap_from_ending_the_receipt() -> None:
    r = idle().send(SALE, now=0.0)
    for k in range(1, 4):
        r.send(DLE_EOT, now=0.4 * k)  # a till polling its printer, printing nothing
    r.tick(1.0)
    [request] = r.requests
    assert request.held


def test_a_slow_till_pausing_less_than_the_gap_is_one_receipt() -> None:
    r = idle().send(b"ONE\n", now=0.0)
    r.send(b"TWO\n", now=0.9)
    r.send(b"TOTAL 2.00\n", now=1.8)
    r.tick(2.8)
    [request] = r.requests
    assert lines(request.document) == ["ONE", "TWO", "TOTAL 2.00"]


def test_idle_mode_a_cut_still_ends_a_receipt_and_no_gap_end_follows_it() -> None:
    r = idle().send(SALE + CUT, now=0.0)
    r.answer(1, M)
    r.tick(5.0)
    assert len(r.requests) == 1
    assert r.taken() == SALE + M + CUT


# --- ESC @ ------------------------------------------------------------------------------------


def test_reset_mode_the_message_goes_before_the_esc_at_in_the_tills_state() -> None:
    r = run(end_of_receipt=EndOfReceipt.RESET).send(
        RESET + CODE_PAGE_858 + CENTRED + SALE + FEEDS + RESET + b"NEXT\n", now=0.0
    )
    [request] = r.requests
    assert request.held and request.state.code_page == 19
    r.answer(1, M)
    assert r.taken() == RESET + CODE_PAGE_858 + CENTRED + SALE + M + FEEDS + RESET + b"NEXT\n"


# --- no message possible ----------------------------------------------------------------------


def test_a_cut_that_had_gone_on_already_is_counted_with_its_reason() -> None:
    r = run().send(SALE + CUT[:1], now=0.0)
    r.tick(0.05)  # the start of the cut went on (feed_hold)
    r.send(CUT[1:], now=0.1)
    [request] = r.requests
    assert not request.held
    assert r.session.no_message == {"its end had gone on to the printer already": 1}
    assert r.session.released_unanswered == 1
