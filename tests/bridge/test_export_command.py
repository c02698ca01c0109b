"""``tillbridge export``: customers and their segments as CSV."""

from __future__ import annotations

import csv
import io
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.loyalty.export import COLUMNS, CustomerRow, write_csv

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "tillbridge.toml"
    path.write_text(
        'journal = "journal.jsonl"\n[database]\nurl = "sqlite:///tillbridge.db"\n'
        '[[tills]]\nname = "front"\nlisten = "tcp:127.0.0.1:9100"\n'
        'printer = "tcp:127.0.0.1:9"\nlayout = "bakery_es"\n',
        encoding="utf-8",
    )
    return path


def test_export_writes_one_row_per_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    sale = str(FIXTURES / "bakery_es" / "sale_customer_card.bin")
    assert main(["award", sale, "--till", "front", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["export", "--config", str(config)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["identifier"], r["balance"], r["visits"], r["segment"]) for r in rows] == [
        ("400012345678", "13", "1", "new")
    ]
    assert rows[0]["currency"] == "EUR" and Decimal(rows[0]["spend"]) > 0

    target = tmp_path / "customers.csv"
    assert main(["export", "-o", str(target), "--config", str(config)]) == 0
    assert "exported 1 customers to" in capsys.readouterr().err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)


def test_segments_follow_the_visits() -> None:
    def row(first_days: int, last_days: int, recent: int) -> CustomerRow:
        return CustomerRow(
            1,
            "card",
            "1234",
            visits=recent + 1,
            visits_90_days=recent,
            first_visit=NOW - timedelta(days=first_days),
            last_visit=NOW - timedelta(days=last_days),
        )

    assert row(10, 1, 2).segment(NOW, 60) == "new"
    assert row(400, 61, 0).segment(NOW, 60) == "lapsed"
    assert row(400, 3, 5).segment(NOW, 60) == "regular"
    assert row(400, 3, 1).segment(NOW, 60) == "occasional"
    assert CustomerRow(1, "card", "1").segment(NOW, 60) == "no visits"


def test_an_identifier_that_looks_like_a_formula_stays_text() -> None:
    out = io.StringIO()
    write_csv(out, [CustomerRow(7, "loyalty_id", "=HYPERLINK(1)")], NOW)
    assert "'=HYPERLINK(1)" in out.getvalue()
    out = io.StringIO()
    write_csv(out, [CustomerRow(8, "phone", "+34600111222")], NOW)
    assert ",+34600111222," in out.getvalue()  # a number stays a number
