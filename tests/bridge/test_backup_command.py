"""``tillbridge backup`` and ``restore``: through ``bridge.cli.main`` on a real SQLite file
(taken while another connection writes) and on the suite's real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.loyalty import Ledger, PointsRule
from bridge.store import make_engine, migrate

from .conftest import ReceiptFactory

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
CONFIG = """\
[database]
url = "{url}"

[[tills]]
name = "front"
listen = "tcp:127.0.0.1:9100"
printer = "tcp:192.168.1.50:9100"
"""


def write_config(folder: Path, url: str) -> Path:
    path = folder / "tillbridge.toml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return path


def award(url: str, make_receipt: ReceiptFactory, numbers: range) -> None:
    engine = make_engine(url)
    try:
        migrate(engine)
        ledger = Ledger(engine)
        for n in numbers:
            ledger.award(
                make_receipt(number=str(n), total="10.00", customer=CARD), PointsRule(), NOW
            )
    finally:
        engine.dispose()


def balance(url: str) -> int:
    engine = make_engine(url)
    try:
        return Ledger(engine).balance(CARD)
    finally:
        engine.dispose()


def test_a_sqlite_backup_taken_while_awarding_restores_whole(
    tmp_path: Path, make_receipt: ReceiptFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'tillbridge.sqlite'}"
    config = write_config(tmp_path, url)
    award(url, make_receipt, range(1, 51))
    # Awards go on during the backup, as they would with the daemon running.
    writer = threading.Thread(target=award, args=(url, make_receipt, range(51, 151)))
    writer.start()
    assert main(["backup", str(tmp_path / "b.sqlite"), "--config", str(config)]) == 0
    writer.join()
    out, _ = capsys.readouterr()
    assert out.startswith(f"backed up to {tmp_path / 'b.sqlite'} (")
    assert (tmp_path / "b.sqlite").stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob(".*partial"))
    taken = sqlite3.connect(tmp_path / "b.sqlite")
    (rows,) = taken.execute("SELECT count(*) FROM ledger_entries").fetchone()
    taken.close()
    assert 50 <= rows <= 150
    assert balance(url) == 1500

    # An existing database is replaced only when asked, and kept beside.
    assert main(["restore", str(tmp_path / "b.sqlite"), "--config", str(config)]) == 1
    assert "add --replace" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "b.sqlite"), "--replace", "--config", str(config)]) == 0
    out, _ = capsys.readouterr()
    assert "the database it replaced is kept as" in out
    assert balance(url) == rows * 10
    (kept,) = tmp_path.glob("tillbridge.sqlite.before-restore-*")
    assert balance(f"sqlite:///{kept}") == 1500


def test_backup_and_restore_refuse_what_they_cannot_do(
    tmp_path: Path, make_receipt: ReceiptFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'tillbridge.sqlite'}"
    config = write_config(tmp_path, url)
    assert main(["backup", str(tmp_path / "b.sqlite"), "--config", str(config)]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "tillbridge.sqlite").exists()  # a backup never creates one

    award(url, make_receipt, range(1, 3))
    (tmp_path / "b.sqlite").write_text("not a database")
    assert main(["backup", str(tmp_path / "b.sqlite"), "--config", str(config)]) == 1
    assert "exists already" in capsys.readouterr().err

    assert main(["restore", str(tmp_path / "b.sqlite"), "--replace", "--config", str(config)]) == 1
    assert "is not a SQLite database" in capsys.readouterr().err
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.close()
    assert (
        main(["restore", str(tmp_path / "other.sqlite"), "--replace", "--config", str(config)]) == 1
    )
    assert "not a tillbridge one" in capsys.readouterr().err
    assert balance(url) == 20  # untouched by the refusals


def test_a_postgresql_backup_restores_into_an_empty_database(
    tmp_path: Path,
    pg_url: str,
    make_receipt: ReceiptFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path, pg_url)
    award(pg_url, make_receipt, range(1, 21))
    archive = tmp_path / "b.dump"
    assert main(["backup", str(archive), "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"backed up to {archive} (")
    assert "backup: 100%" in err
    award(pg_url, make_receipt, range(21, 31))
    assert balance(pg_url) == 300

    assert main(["restore", str(archive), "--config", str(config)]) == 1
    assert "add --replace" in capsys.readouterr().err
    assert main(["restore", str(archive), "--replace", "--config", str(config)]) == 0
    assert balance(pg_url) == 200
