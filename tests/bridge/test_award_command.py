"""``tillbridge award``: kept receipts awarded once their layout reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tillbridge.toml"
    path.write_text(
        'journal = "journal.jsonl"\n'
        "[database]\n"
        'url = "sqlite:///tillbridge.db"\n'
        "[[tills]]\n"
        'name = "front"\n'
        'listen = "tcp:127.0.0.1:9100"\n'
        'printer = "tcp:127.0.0.1:9101"\n'
        'layout = "bakery_es"\n',
        encoding="utf-8",
    )
    return path


def test_awards_sales_once_and_skips_the_rest(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(p) for p in sorted((FIXTURES / "bakery_es").glob("*.bin"))]
    assert main(["award", *files, "--till", "front", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert (
        "sale_customer_card.bin: receipt T1-004521: 13 points to 400012345678, balance 13\n" in out
    )
    assert "copy.bin: receipt T1-004522: nothing to award (a copy, not a sale)" in out
    assert "claim code" in out  # the sale with no customer
    # Again: the same figures, marked, and nothing more earned.
    assert main(["award", *files, "--till", "front", "--config", str(config)]) == 0
    again = capsys.readouterr().out
    assert "13 points to 400012345678, balance 13 (already awarded)" in again


def test_a_receipt_still_unread_exits_1(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sale = str(FIXTURES / "diner_us" / "sale_cash.bin")
    assert main(["award", sale, "--till", "front", "--config", str(config)]) == 1
    assert "not read: layout bakery_es" in capsys.readouterr().out
    # With the right layout it is read and awarded.
    command = ["award", sale, "--till", "front", "--layout", "diner_us", "--config", str(config)]
    assert main(command) == 0
    assert "points" in capsys.readouterr().out


def test_unknown_till_and_missing_config_exit_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sale = str(FIXTURES / "bakery_es" / "sale_customer_card.bin")
    assert main(["award", sale, "--till", "back", "--config", str(config)]) == 2
    assert "no till 'back'" in capsys.readouterr().err
    assert main(["award", sale, "--till", "front", "--config", str(tmp_path / "none.toml")]) == 2


def test_two_shops_printing_the_same_header_never_share_a_receipt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chain's shops share one database; two of them run the same till software with the
    same header, receipt numbers and items. Each shop's store id (config), not the printed
    header, tells their receipts apart: each earns once in its own shop."""

    def shop(store: str) -> Path:
        folder = tmp_path / store
        folder.mkdir()
        path = folder / "tillbridge.toml"
        path.write_text(
            f'chain = "acme"\nstore = "{store}"\n'
            f'journal = "journal.jsonl"\n[database]\nurl = "sqlite:///{tmp_path / "chain.db"}"\n'
            '[[tills]]\nname = "front"\nlisten = "tcp:127.0.0.1:9100"\n'
            'printer = "tcp:127.0.0.1:9101"\nlayout = "bakery_es"\n',
            encoding="utf-8",
        )
        return path

    sale = str(FIXTURES / "bakery_es" / "sale_customer_card.bin")
    for config, balance in ((shop("madrid"), 13), (shop("sevilla"), 26)):
        assert main(["award", sale, "--till", "front", "--config", str(config)]) == 0
        assert f"13 points to 400012345678, balance {balance}\n" in capsys.readouterr().out
        assert main(["award", sale, "--till", "front", "--config", str(config)]) == 0
        assert "(already awarded)" in capsys.readouterr().out

    import sqlite3

    db = sqlite3.connect(tmp_path / "chain.db")
    stores = db.execute("SELECT receipt_store, receipt_till FROM ledger_entries").fetchall()
    db.close()
    assert sorted(stores) == [("acme/madrid", "front"), ("acme/sevilla", "front")]
