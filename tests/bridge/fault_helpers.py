"""Real faults for the store tests: a small full disk (tmpfs) and a read-only database file.

Root ignores file modes, so ``chmod 0444`` would not make a database read-only for these
tests (CI runs as root). The immutable attribute (``chattr +i``) is felt by root too: opening
the file for writing fails, and writes through a descriptor opened before fail as well."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str = "64k") -> Iterator[Path]:
    """``folder`` as a fresh tmpfs of ``size``; skips the test where mounting is impossible."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a full disk (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write a filler file until the disk says it is full, to the last byte; returns it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 1):  # big steps first, then what is left
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """The files made immutable (``chattr +i``) for the block; skips where chattr cannot."""
    present = [str(path) for path in paths if path.exists()]
    done = subprocess.run(["chattr", "+i", *present], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["chattr", "-i", *present], capture_output=True)
        pytest.skip(f"cannot make a file immutable here (chattr +i): {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *present], capture_output=True, check=True)


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
