"""Where python-escpos keeps its capability cache: never a folder this process cannot use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivers.escpos_cache import ENV, use_capability_cache


def test_a_usable_folder_named_by_the_environment_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, str(tmp_path))
    use_capability_cache(tmp_path / "ours")
    assert Path(os.environ[ENV]) == tmp_path


@pytest.mark.parametrize("named", ["missing", "a-file"])
def test_a_name_that_cannot_be_used_is_replaced_by_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(ENV, str(tmp_path / named))
    use_capability_cache(tmp_path / "ours")
    assert Path(os.environ[ENV]) == tmp_path / "ours"


def test_with_no_usable_folder_the_name_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(ENV, str(tmp_path / "missing"))
    use_capability_cache(tmp_path / "a-file" / "below")  # cannot be made
    assert ENV not in os.environ
