"""The owner's customer commands, as typed: customer, card, points and verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def config(bakery_config: str) -> str:
    return bakery_config


def test_a_customer_from_enrolment_to_forgetting(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sale = str(FIXTURES / "bakery_es" / "sale_customer_card.bin")
    assert main(["award", sale, "--till", "front", "--config", config]) == 0  # card 400012345678
    assert main(["customer", "edit", "400012345678", "--name", "Ana Ruiz", "--consent",
                 "--birthday", "1990-05-17", "--config", config]) == 0  # fmt: skip
    assert main(["customer", "find", "--name", "ruiz", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "Ana Ruiz  card:400012345678  balance 13" in out

    # A second card for the family, a lost card blocked, points adjusted with a reason.
    assert main(["card", "link", "400012345678", "card:400099990000", "--label", "family",
                 "--config", config]) == 0  # fmt: skip
    assert main(["points", "adjust", "card:400099990000", "7", "--reason", "goodwill",
                 "--config", config]) == 0  # fmt: skip
    assert "adjusted by +7 points: balance 20" in capsys.readouterr().out
    assert main(["card", "block", "card:400099990000", "--config", config]) == 0
    assert main(["customer", "show", "400012345678", "--config", config]) == 0
    shown = capsys.readouterr().out
    assert "name: Ana Ruiz" in shown and "balance: 20" in shown and "(blocked " in shown
    assert main(["verify", "--config", config]) == 0
    assert "agree" in capsys.readouterr().out

    # Forgetting needs --yes, then erases what names the customer and keeps the sums.
    assert main(["customer", "forget", "400012345678", "--config", config]) == 1
    assert "add --yes" in capsys.readouterr().err
    assert main(["customer", "forget", "400012345678", "--yes", "--config", config]) == 0
    assert main(["customer", "find", "--name", "ruiz", "--config", config]) == 1
    assert main(["verify", "--config", config]) == 0


def test_a_number_never_seen_is_refused_not_enrolled(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["points", "adjust", "card:999", "5", "--reason", "typo", "--config", config]) == 1
    assert "card" in capsys.readouterr().err
    assert main(["customer", "show", "card:123456789", "--config", config]) == 1
    assert main(["customer", "add", "card:123456789", "--name", "Jo", "--config", config]) == 0
    assert "customer #1 added" in capsys.readouterr().out
    assert main(["customer", "add", "card:123456789", "--config", config]) == 1
    assert "already belongs" in capsys.readouterr().err
    assert main(["customer", "merge", "#1", "#1", "--config", config]) == 1
    assert main(["customer", "edit", "#1", "--config", config]) == 1
    assert "nothing to change" in capsys.readouterr().err


def test_vouchers_on_request_listed_and_voided(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rules.toml").write_text(
        'version = "t"\n[policy]\nreward_issue = "on_request"\n'
        '[[reward]]\nid = "ten"\npoints = 10\nlabel = "1 EUR voucher"\nvalue = "1.00"\n',
        encoding="utf-8",
    )
    text = Path(config).read_text(encoding="utf-8")
    Path(config).write_text(text + '[loyalty]\nrules = "rules.toml"\n', encoding="utf-8")
    sale = str(FIXTURES / "bakery_es" / "sale_customer_card.bin")
    assert main(["award", sale, "--till", "front", "--config", config]) == 0  # 13 points
    capsys.readouterr()
    assert main(["voucher", "issue", "400012345678", "--config", config]) == 0
    issued = capsys.readouterr().out
    assert "(1 EUR voucher) issued to customer #1" in issued
    code = issued.split()[1]
    # Its points are reserved: 3 left, not enough for another.
    assert main(["voucher", "issue", "400012345678", "--config", config]) == 1
    assert "3 points available" in capsys.readouterr().err
    assert main(["voucher", "list", "400012345678", "--config", config]) == 0
    assert f"{code}  1 EUR voucher  10 points" in capsys.readouterr().out
    assert main(["voucher", "void", code, "--config", config]) == 0
    assert main(["voucher", "issue", "400012345678", "--reward", "ten", "--config", config]) == 0
    assert main(["voucher", "issue", "400012345678", "--reward", "nope", "--config", config]) == 1
    assert "no reward 'nope'" in capsys.readouterr().err
