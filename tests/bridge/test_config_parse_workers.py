"""The parse pool's two top-level keys: their defaults, their bounds, what they set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, default_config, load_config

TILL = '[[tills]]\nname = "front"\nlisten = "tcp:127.0.0.1:9100"\nprinter = "tcp:127.0.0.1:9101"\n'


def write(folder: Path, text: str) -> Path:
    path = folder / "tillbridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_two_workers_and_five_seconds(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TILL))
    assert (config.parse_workers, config.parse_timeout_ms) == (2, 5000)
    demo = default_config(tmp_path)
    assert (demo.parse_workers, demo.parse_timeout_ms) == (2, 5000)


def test_both_are_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "parse_workers = 4\nparse_timeout_ms = 250\n" + TILL))
    assert (config.parse_workers, config.parse_timeout_ms) == (4, 250)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("parse_workers = 0", "parse_workers: 0 is not a whole number from 1 to 16"),
        ("parse_workers = 17", "parse_workers: 17 is not a whole number from 1 to 16"),
        ('parse_workers = "2"', 'parse_workers: "2" is not a whole number from 1 to 16'),
        ("parse_workers = 2.0", "parse_workers: 2.0 is not a whole number"),
        ("parse_timeout_ms = 50", "parse_timeout_ms: 50 is not a whole number from 100 to 600000"),
        ("parse_timeout_ms = true", "parse_timeout_ms: True is not a whole number"),
    ],
)
def test_out_of_bounds_names_the_key(tmp_path: Path, line: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, line + "\n" + TILL))
    messages = [str(error) for error in raised.value.errors]
    assert any(expected in message for message in messages), messages
