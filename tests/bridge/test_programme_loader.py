"""The programme file's loader: every mistake names the file, the key path and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.loyalty.programme import ProgrammeError, load_programme, parse_programme


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("multipler = 2", "multipler", "unknown key"),
        ("[base]\npoints_per_unit = -1", "base.points_per_unit", "must be >= 0, not -1"),
        ('[base]\npoints_per_unit = "x"', "base.points_per_unit", "must be a number, not 'x'"),
        ("timezone = 3", "timezone", "must be a string, not int"),
        ('timezone = "Mars/Base"', "timezone", "unknown time zone 'Mars/Base'"),
        ('tax = "maybe"', "tax", 'must be "included" or "excluded", not \'maybe\''),
        (
            '[[product]]\nid = "a"\nname = "("\nmultiplier = 2',
            "product[0].name",
            "not a valid regular expression",
        ),
        (
            '[[product]]\nid = "a"\nname = "x"\nmultiplier = -2',
            "product[0].multiplier",
            "must be >= 0",
        ),
        ('[[product]]\nid = "a"\nmultiplier = 2', "product[0]", "needs name, plu or category"),
        (
            '[[campaign]]\nid = "a"\nbonus = 1\n[[campaign]]\nid = "a"\nbonus = 2',
            "campaign[1].id",
            "duplicate rule id 'a'",
        ),
        (
            '[[campaign]]\nid = "a"\nweekdays = ["funday"]\nbonus = 1',
            "campaign[0].weekdays[0]",
            "not a weekday: 'funday'",
        ),
        ('[[campaign]]\nid = "a"\nhours = "18-16"\nbonus = 1', "campaign[0].hours", "ends before"),
        ('[[campaign]]\nid = "a"\nhours = "25-26"\nbonus = 1', "campaign[0].hours", "out of range"),
        (
            '[[campaign]]\nid = "a"\nfrom = "2026-02-01"\nto = "2026-01-01"\nbonus = 1',
            "campaign[0].to",
            "is before from",
        ),
        ('[[campaign]]\nid = "a"\nfrom = "soon"\nbonus = 1', "campaign[0].from", "must be a date"),
        ('[[campaign]]\nid = "a"', "campaign[0]", "needs exactly one of multiplier or bonus"),
        ("[caps]\nper_day = 1.5", "caps.per_day", "must be a whole number"),
        ('[[campaign]]\nid = "welcome"\nbonus = 1', "campaign[0].id", "duplicate rule id"),
        ("[product]\nid = 1", "product", "must be an array of tables"),
        ('[[campaign]]\nid = "a"\nweekdays = "tue"\nbonus = 1', "campaign[0].weekdays", "list"),
    ],
)
def test_errors(text: str, key: str, message: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        parse_programme(text, source="shop.toml")
    assert info.value.source == "shop.toml"
    assert info.value.key == key
    assert message in info.value.message
    assert str(info.value).startswith(f"shop.toml: {key}: ")


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProgrammeError, match="not valid TOML"):
        parse_programme("a = ", source="x.toml")
    with pytest.raises(ProgrammeError, match="cannot read"):
        load_programme(tmp_path / "missing.toml")


def test_version_changes_with_every_edit(tmp_path: Path) -> None:
    a = parse_programme('version = "2026-12"\n[base]\npoints_per_unit = 1')
    b = parse_programme('version = "2026-12"\n[base]\npoints_per_unit = 2')
    c = parse_programme('version = "2026-12"  # a comment\n[base]\npoints_per_unit = 1')
    assert a.version.startswith("2026-12+") and a.version != b.version
    assert a.version == c.version


def test_example_file_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "programme.example.toml"
    assert load_programme(example).version.startswith("2026-12")
