"""``tillbridge report``: the owner's figures from the ledger, and the report printed on a till."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.commands.report import period
from bridge.loyalty.earning import Policy, Reward
from bridge.loyalty.report import build_report, point_value, report_lines
from bridge.store import make_engine

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _config(tmp_path: Path, listen_port: int = 9100) -> Path:
    path = tmp_path / "tillbridge.toml"
    path.write_text(
        'journal = "journal.jsonl"\n'
        "[database]\n"
        'url = "sqlite:///tillbridge.db"\n'
        "[[tills]]\n"
        'name = "front"\n'
        f'listen = "tcp:127.0.0.1:{listen_port}"\n'
        'printer = "tcp:127.0.0.1:9"\n'
        'layout = "bakery_es"\n',
        encoding="utf-8",
    )
    return path


def _award_the_bakery(config: Path) -> None:
    files = [str(p) for p in sorted((FIXTURES / "bakery_es").glob("*.bin"))]
    assert main(["award", *files, "--till", "front", "--config", str(config)]) == 0


def test_the_report_adds_up_the_ledger_of_today(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    _award_the_bakery(config)
    capsys.readouterr()
    assert main(["report", "--json", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    # Two sales earned: one to a card (13 points), one to a claim code nobody claimed yet.
    assert report["receipts"] == 2
    assert report["issued"] == report["outstanding"] + report["unclaimed"]
    assert report["outstanding"] == 13
    assert [c["label"] for c in report["top"]] == ["card **** 5678"]
    assert report["top"][0]["points"] == 13 and report["top"][0]["visits"] == 1
    assert report["redeemed"] == report["expired"] == report["reversed"] == 0
    assert report["liability"] is None  # no reward with a money value: no rate for a point

    assert main(["report", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "Points issued" in table and "Outstanding points" in table
    assert all(len(line) <= 64 for line in table.splitlines())


def test_a_day_with_nothing_reports_zeros(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    _award_the_bakery(config)
    capsys.readouterr()
    assert main(["report", "--day", "2020-01-01", "--json", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["receipts"], report["issued"], report["outstanding"]) == (0, 0, 0)


def test_bad_periods_are_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path))
    assert main(["report", "--day", "yesterday", "--config", config]) == 2
    assert "--day 'yesterday' is not a day like 2026-12-01" in capsys.readouterr().err
    assert main(["report", "--from", "2026-12-02", "--to", "2026-12-01", "--config", config]) == 2
    assert "--to 2026-12-01 is before --from 2026-12-02" in capsys.readouterr().err
    assert main(["report", "--day", "2026-12-01", "--to", "2026-12-02", "--config", config]) == 2


def test_periods_run_midnight_to_midnight_in_the_zone() -> None:
    start, end = period(None, "2026-10-24", "2026-10-25", UTC)
    assert (start, end) == (
        datetime(2026, 10, 24, tzinfo=UTC),
        datetime(2026, 10, 26, tzinfo=UTC),
    )
    start, end = period("2026-12-01", None, None, UTC)
    assert end - start == timedelta(days=1)


def test_liability_is_at_the_best_rewards_rate(tmp_path: Path) -> None:
    policy = Policy(
        rewards=(
            Reward("small", 500, "5 EUR voucher", Decimal(5)),
            Reward("big", 1000, "12 EUR voucher", Decimal(12)),
            Reward("mug", 300, "a mug"),
        )
    )
    assert point_value(policy) == Decimal("0.012")
    config = _config(tmp_path)
    _award_the_bakery(config)
    engine = make_engine(f"sqlite:///{tmp_path / 'tillbridge.db'}")
    try:
        now = datetime.now(UTC)
        report = build_report(
            engine, now - timedelta(days=1), now + timedelta(days=1), policy=policy
        )
    finally:
        engine.dispose()
    assert report.liability == Decimal("0.16")  # 13 points at 0.012
    for width in (32, 42, 48):
        assert all(len(line) <= width for line in report_lines(report, width))


def test_print_sends_the_report_to_the_tills_listener(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bridge's till side, as a socket: what the till would send it, the report now is.
    listener = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    config = _config(tmp_path, listener.getsockname()[1])
    try:
        _award_the_bakery(config)
        capsys.readouterr()
        assert main(["report", "--print", "front", "--config", str(config)]) == 0
        thread.join(10)
    finally:
        listener.close()
    assert "printed the report on till front's printer" in capsys.readouterr().out
    assert b"Loyalty report" in received and b"Points issued" in received
    assert received.rstrip().endswith((b"\x1dVA\x00", b"\x1dV\x00", b"\x1dVB\x00"))


def test_print_to_a_till_nobody_listens_for_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    config = _config(tmp_path, port)
    assert main(["report", "--print", "front", "--config", str(config)]) == 1
    assert "is tillbridge running?" in capsys.readouterr().err
    assert main(["report", "--print", "back", "--config", str(config)]) == 2
    assert "no till 'back' in the config (tills: front)" in capsys.readouterr().err


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_report_and_export_read_both_databases_alike(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    from bridge.loyalty import Ledger, PointsRule
    from bridge.loyalty.export import customer_rows
    from bridge.store import migrate
    from parsers.receipt import CustomerKind, CustomerRef, Receipt, ReceiptKind

    url = (
        request.getfixturevalue("pg_url")
        if database == "postgresql"
        else f"sqlite:///{tmp_path / 'x.db'}"
    )
    engine = make_engine(url)
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    try:
        migrate(engine)
        ledger = Ledger(engine)
        for number, (card, total) in enumerate(
            [("1111222233334444", "10.50"), ("1111222233334444", "5.25"), (None, "7.00")]
        ):
            ledger.award(
                Receipt(
                    kind=ReceiptKind.SALE,
                    store="main",
                    till="front",
                    number=str(number),
                    issued_at=now,
                    currency="EUR",
                    total=Decimal(total),
                    customer=CustomerRef(CustomerKind.CARD, card) if card else None,
                    raw_text=f"sale {number}",
                ),
                PointsRule(),
                now,
            )
        report = build_report(engine, now - timedelta(hours=1), now + timedelta(hours=1))
        rows = customer_rows(engine, now + timedelta(hours=1))
    finally:
        engine.dispose()
    assert (report.receipts, report.issued, report.outstanding, report.unclaimed) == (3, 22, 15, 7)
    assert report.sales == {"EUR": Decimal("22.75")}
    assert [(t.label, t.points, t.visits, t.spend) for t in report.top] == [
        ("card **** 4444", 15, 2, Decimal("15.75"))
    ]
    assert [(r.identifier, r.balance, r.visits, r.spend) for r in rows] == [
        ("1111222233334444", 15, 2, Decimal("15.75"))
    ]
