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


def _till_config(tmp_path: Path, **keys: str) -> Path:
    lines = ["[[tills]]", 'name = "ramen"', 'listen = "tcp:127.0.0.1:9100"']
    lines += ['printer = "tcp:192.168.1.50:9100"', *(f'{k} = "{v}"' for k, v in keys.items())]
    path = tmp_path / "tillbridge.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_html_in_the_language_and_on_the_paper_asked_for(tmp_path: Path) -> None:
    out, path = tmp_path / "r.html", capture(tmp_path)
    assert main(["render", str(path), "--format", "html", "--lang", "pl", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="pl">') and "width: 80mm" in page
    assert main(["render", str(path), "--format", "html", "--paper", "58mm", "-o", str(out)]) == 0
    assert "width: 56mm" in out.read_text(encoding="utf-8")


def test_a_tills_paper_and_language_from_the_config(tmp_path: Path) -> None:
    config = _till_config(tmp_path, paper="58mm", language="es")
    out, path = tmp_path / "r.png", capture(tmp_path)
    common = ["render", str(path), "--till", "ramen", "--config", str(config), "-o"]
    assert main([*common, str(out), "--format", "png"]) == 0
    with PILImage.open(out) as image:
        assert image.width == 384
    assert main([*common, str(tmp_path / "r.html"), "--format", "html"]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in page and "width: 56mm" in page
    # --lang and --profile override the till's.
    html = str(tmp_path / "o.html")
    assert main([*common, html, "--format", "html", "--lang", "ja", "--profile", "TM-T20II"]) == 0
    page = Path(html).read_text(encoding="utf-8")
    assert '<html lang="ja">' in page and "width: 80mm" in page and "width: 48ch" in page


def test_an_unknown_till_or_paper_is_a_clear_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config, path = _till_config(tmp_path), capture(tmp_path)
    capfd.readouterr()
    assert main(["render", str(path), "--till", "back", "--config", str(config)]) == 2
    assert "no till 'back'" in capfd.readouterr().err
    assert main(["render", str(path), "--paper", "A4"]) == 2
    assert "--paper 'A4'" in capfd.readouterr().err
