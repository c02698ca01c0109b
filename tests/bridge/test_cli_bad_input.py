"""Bad input to the CLI: closed pipes, files that are not captures, receipts full of control
characters, a grammar that backtracks for days. The real console script as a process where
the behaviour is about the process (pipes, exit codes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures").glob("*/*.bin"))
INIT, CUT = b"\x1b@", b"\x1dV\x00"
TILLBRIDGE = shutil.which("tillbridge", path=str(Path(sys.executable).parent)) or "tillbridge"
# ESC t 40 selects a code page in which bytes 0x80..0x9F print as C1 controls; then a CSI
# (0x9B) that would clear the screen (a BEL is a printer command: it never reaches the text).
HOSTILE = (
    INIT
    + b"\x1bt\x28"
    + b"BAKERY \x9b2J\x07\n"
    + b"Bread                    1.20\n"
    + b"TOTAL                    1.20\n\n\n"
    + CUT
)
SLOW_GRAMMAR = """\
//@ description: a layout whose line regex backtracks catastrophically
start: LINE+
LINE: /(\\w+\\s?)+:\\n/
"""


def shell(command: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


# --- closed pipes ----------------------------------------------------------------------


def test_parse_into_a_closed_pipe_ends_quietly() -> None:
    files = " ".join(str(p) for p in FIXTURES)
    done = shell(f"{TILLBRIDGE} parse {files} | head -1")
    assert done.stdout.startswith("== ")
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 141  # what pipefail shows for a writer the reader left


def test_demo_into_a_closed_pipe_ends_quietly() -> None:
    done = shell(f"{TILLBRIDGE} demo | head -1", timeout=240)
    assert done.stdout.startswith("tillbridge demo: ")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 141


# --- not a capture ---------------------------------------------------------------------


def test_a_text_file_is_not_reported_as_a_sale() -> None:
    done = shell(f"{TILLBRIDGE} parse README.md")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(
        "README.md: not an ESC/POS capture: text with no ESC/POS command and no cut"
    )


def test_award_refuses_a_text_file_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tillbridge.toml"
    config.write_text(
        '[[tills]]\nname = "front"\nlisten = "tcp:127.0.0.1:9100"\n'
        'printer = "tcp:192.168.1.50:9100"\n',
        encoding="utf-8",
    )
    readme = str(ROOT / "README.md")
    assert main(["award", readme, "--till", "front", "--config", str(config)]) == 1
    assert "not an ESC/POS capture" in capsys.readouterr().err


# --- control characters ----------------------------------------------------------------


def test_parse_and_render_escape_every_control_character(tmp_path: Path) -> None:
    path = tmp_path / "hostile.bin"
    path.write_bytes(HOSTILE)
    for command in (f"{TILLBRIDGE} parse {path}", f"{TILLBRIDGE} render {path}"):
        done = shell(command)
        assert done.returncode == 0, done.stderr
        shown = done.stdout + done.stderr
        assert not any(
            (ord(ch) < 0x20 and ch not in "\n\t") or 0x7F <= ord(ch) <= 0x9F for ch in shown
        ), repr(shown)
        assert "\\x9b2J" in done.stdout, done.stdout


def test_parse_json_stays_valid_json_with_c1_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    path = tmp_path / "hostile.bin"
    path.write_bytes(HOSTILE)
    assert main(["parse", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x9b" not in out and "\\u009b" in out
    assert "\x9b2J" in json.loads(out)[0]["store"]


def test_a_file_name_with_control_characters_is_shown_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(tmp_path / "no\x1b[2J.bin")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "no\\x1b[2J.bin" in err


# --- the deadline ----------------------------------------------------------------------


def test_parse_with_a_grammar_that_backtracks_ends_at_its_deadline(tmp_path: Path) -> None:
    grammar = tmp_path / "slow.lark"
    grammar.write_text(SLOW_GRAMMAR, encoding="utf-8")
    stuck = tmp_path / "stuck.bin"
    stuck.write_bytes(INIT + b"a" * 40 + b"\n" + CUT)
    good = FIXTURES[0]
    started = time.monotonic()
    done = shell(f"{TILLBRIDGE} parse {stuck} {good} --layout {grammar} --timeout 2")
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert f"{stuck}: not read: took more than 2 s" in done.stderr
    assert "docs/grammars.md" in done.stderr
    # The next file is read by a fresh process (and fails on its own terms, quickly).
    assert str(good) in done.stderr
    assert elapsed < 60  # bounded, not days


def test_award_reads_under_the_deadline_too(tmp_path: Path) -> None:
    grammar = tmp_path / "slow.lark"
    grammar.write_text(SLOW_GRAMMAR, encoding="utf-8")
    stuck = tmp_path / "stuck.bin"
    stuck.write_bytes(INIT + b"a" * 40 + b"\n" + CUT)
    config = tmp_path / "tillbridge.toml"
    config.write_text(
        f'[[tills]]\nname = "front"\nlisten = "tcp:127.0.0.1:9100"\n'
        f'printer = "tcp:192.168.1.50:9100"\nlayout = "{grammar}"\n',
        encoding="utf-8",
    )
    done = shell(f"{TILLBRIDGE} award {stuck} --till front --config {config} --timeout 2")
    assert done.returncode == 1, done.stderr
    assert f"{stuck}: not read: took more than 2 s" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_bad_timeout_is_refused() -> None:
    done = shell(f"{TILLBRIDGE} parse README.md --timeout 0")
    assert done.returncode == 2
    assert "is not a number of seconds" in done.stderr


def test_an_undecodable_file_name_is_shown_escaped_not_as_its_raw_byte(tmp_path: Path) -> None:
    """Byte 0x9B in a file name is a CSI on a terminal in 8-bit mode."""
    name = os.fsdecode(bytes(tmp_path) + b"/receipt\x9b.bin")
    Path(name).write_bytes(FIXTURES[0].read_bytes())
    done = subprocess.run(
        [TILLBRIDGE, "parse", name],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert b"\x9b" not in done.stdout
    assert b"receipt\\x9b.bin" in done.stdout
