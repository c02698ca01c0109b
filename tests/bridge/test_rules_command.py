"""``tillbridge rules check|show|dry-run``: a rules file read, described, and tried over the
stored sales before it is put in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def config(bakery_config: str) -> str:
    return bakery_config


def test_check_and_show_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    example = str(ROOT / "programme.example.toml")
    assert main(["rules", "check", example]) == 0
    assert capsys.readouterr().out.startswith("rules OK: ")
    assert main(["rules", "show", example]) == 0
    shown = capsys.readouterr().out
    assert "campaign tuesday_double (Double points Tuesday): Tue 16:00-18:00: x2" in shown
    assert "reward five_eur: 500 points = 5 EUR voucher" in shown


def test_a_mistake_is_told_with_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[campaign]]\nid = "x"\nlabel = "x"\nhours = "18-16"\nbonus = 1\n')
    assert main(["rules", "check", str(bad)]) == 1
    assert "campaign[0].hours: the range" in capsys.readouterr().err


def test_dry_run_compares_a_new_file_with_what_was_awarded(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sale = str(FIXTURES / "bakery_es" / "sale_customer_card.bin")
    assert main(["award", sale, "--till", "front", "--config", config]) == 0  # 13 points
    double = tmp_path / "double.toml"
    double.write_text('version = "double"\n[base]\npoints_per_unit = 2\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["rules", "dry-run", str(double), "--config", config]) == 0
    out = capsys.readouterr().out
    assert "1 sales from" in out and "1 customers" in out
    assert "awarded:               13 points" in out
    assert "would award:           26 points (+13)" in out
