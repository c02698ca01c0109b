"""``tillbridge claim``: through ``bridge.cli.main`` on a real SQLite file and a real config
file, with the claim code made as the daemon makes it (a sale without a customer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

import bridge.config
from bridge.cli import main
from bridge.loyalty import Ledger, PointsRule
from bridge.store import make_engine, migrate

from .conftest import ReceiptFactory

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
CONFIG = """\
[database]
url = "{url}"

[[tills]]
name = "front"
listen = "tcp:127.0.0.1:9100"
printer = "tcp:192.168.1.50:9100"
"""


def write_config(folder: Path, url: str = "sqlite:///tillbridge.sqlite") -> Path:
    path = folder / "tillbridge.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # A relative SQLite path: read from the config file's folder, as the daemon does.
    return write_config(tmp_path)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The database the config names, as the daemon leaves it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'tillbridge.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


def claim(code: str, card: str, config: Path) -> int:
    return main(["claim", code, card, "--config", str(config)])


def test_a_claim_code_is_credited_once(
    config: Path,
    engine: Engine,
    make_receipt: ReceiptFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="5.00", customer=CARD), PointsRule(), NOW)
    code = ledger.award(
        make_receipt(number="2", total="12.99", customer=None), PointsRule(), NOW
    ).claim_code
    assert code is not None

    # Typed as a person would: lower case, a space for the dash, the card in groups.
    assert claim(code.lower().replace("-", " "), "4000 1234 1234 1234", config) == 0
    out, err = capsys.readouterr()
    assert out == f"credited 12 points to {CARD} (claim {code}); balance 17\n"
    assert err == ""
    assert ledger.balance(CARD) == 17

    assert claim(code, "5555 6666", config) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"claim code {code} was already claimed" in err
    assert ledger.balance(CARD) == 17
    assert ledger.balance("55556666") == 0


def test_the_config_in_the_current_folder_is_used(
    config: Path,
    engine: Engine,
    make_receipt: ReceiptFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = (
        Ledger(engine)
        .award(make_receipt(number="3", total="1.00", customer=None), PointsRule(), NOW)
        .claim_code
    )
    assert code is not None
    monkeypatch.chdir(config.parent)
    assert main(["claim", code, "77"]) == 0
    assert capsys.readouterr().out == f"credited 1 point to 77 (claim {code}); balance 1\n"


def test_a_new_database_is_migrated_and_knows_no_code(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert claim("K7QM-3XPA", CARD, config) == 1
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "tillbridge claim: unknown code: no claim code K7QM-3XPA "
        "(newer codes have 9 characters, like K7Q-M3X-PAW)\n",
    )
    assert (config.parent / "tillbridge.sqlite").is_file()


@pytest.mark.parametrize(
    ("code", "card", "message"),
    [
        ("K7QM-3XP0", CARD, "'K7QM-3XP0' is not a claim code: 9 characters like K7Q-M3X-PAW"),
        ("K7QM3XP", CARD, "'K7QM3XP' is not a claim code"),
        ("K7QM-3XPA", " - ", "no card number, phone or loyalty id given"),
    ],
)
def test_typing_mistakes_are_refused_before_the_database_is_touched(
    config: Path, code: str, card: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert claim(code, card, config) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"tillbridge claim: {message}")
    assert not (config.parent / "tillbridge.sqlite").exists()


def test_a_database_that_cannot_be_opened_is_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "sqlite:///not-there/tillbridge.sqlite")
    assert claim("K7QM-3XPA", CARD, config) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tillbridge claim: database unavailable: unable to open database file")
    assert str(tmp_path / "not-there" / "tillbridge.sqlite") in err
    assert err.endswith(", try again\n")


def test_a_database_locked_past_the_busy_timeout_is_unavailable(
    config: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another writer (the daemon in a long transaction) holds the lock: try again later."""
    holder = sqlite3.connect(config.parent / "tillbridge.sqlite", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert claim("K7QM-3XPA", CARD, config) == 2
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert err.startswith("tillbridge claim: database unavailable: database is locked")
    assert err.endswith(", try again\n")
    assert claim("K7QM-3XPA", CARD, config) == 1  # once released: no such code


def test_no_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only the current folder is looked in, whatever this machine has in /etc.
    monkeypatch.setattr(bridge.config, "DEFAULT_PATHS", (Path("tillbridge.toml"),))
    monkeypatch.chdir(tmp_path)
    assert main(["claim", "K7QM-3XPA", CARD]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tillbridge claim: no config file")
    assert "--config PATH" in err


def test_a_config_that_cannot_be_read_or_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert claim("K7QM-3XPA", CARD, tmp_path / "missing.toml") == 2
    assert "cannot read the file" in capsys.readouterr().err
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[database]\nurl = "sqlite:///x.db"\n', encoding="utf-8")
    assert claim("K7QM-3XPA", CARD, wrong) == 2
    assert "tills: no till configured" in capsys.readouterr().err
