"""``tillbridge render``: in process through ``bridge.cli.main`` and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image as PILImage

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]


def capture(tmp_path: Path) -> Path:
    """Two receipts as a till sends them, the second followed by a drawer kick."""
    from escpos.printer import Dummy

    p = Dummy(profile="TM-T88V")
    p.set(align="center", bold=True)
    p.text("BAKERY\n")
    p.set(align="left", bold=False)
    p.text("Bread   1,20\n")
    p.qr("pts:12", native=True, size=4)
    p.cut()
    p.text("Second receipt\n")
    p.barcode("4006381333931", "EAN13")
    p.cut()
    p.cashdraw(2)
    path = tmp_path / "capture.bin"
    path.write_bytes(p.output)
    return path


def test_text_to_stdout_separates_receipts_with_the_cut(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = capture(tmp_path)
    capfd.readouterr()  # python-escpos says which barcode renderer it used
    assert main(["render", str(path)]) == 0
    out = capfd.readouterr().out
    assert out.count("✂") == 2
    assert out.index("BAKERY") < out.index("✂") < out.index("Second receipt")
    assert "Bread   1,20" in out
    assert "||| EAN13 4006381333931 |||" in out
    assert "▀" in out or "▄" in out  # the QR code, drawn


def test_html_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["render", str(capture(tmp_path)), "--format", "html", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<section class="paper">') == 2
    assert "BAKERY" in page


def test_png_one_file_per_receipt(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out, path = tmp_path / "r.png", capture(tmp_path)
    capfd.readouterr()  # python-escpos says which barcode renderer it used
    assert main(["render", str(path), "--format", "png", "-o", str(out)]) == 0
    second = tmp_path / "r-2.png"
    assert capfd.readouterr().out.split() == [str(out), str(second)]
    for path in (out, second):
        with PILImage.open(path) as image:
            assert image.width == 576
    assert not (tmp_path / "r-3.png").exists()


def test_png_without_output_goes_beside_the_capture(tmp_path: Path) -> None:
    assert main(["render", str(capture(tmp_path)), "--format", "png"]) == 0
    assert (tmp_path / "capture.png").is_file()
    assert (tmp_path / "capture-2.png").is_file()


def test_missing_file_is_a_clear_error(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.bin"
    assert main(["render", str(missing)]) == 2
    captured = capfd.readouterr()
    assert captured.out == ""
    assert f"cannot read {missing}" in captured.err


def test_real_subprocess(tmp_path: Path) -> None:
    path = capture(tmp_path)
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "render", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8")  # UTF-8 even when the locale says otherwise
    assert "BAKERY" in out and "✂" in out
    failed = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "render", str(tmp_path / "nope.bin")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 2
    assert "cannot read" in failed.stderr
