"""The daemon's log lines: key=value or JSON, UTC times, extra fields kept."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bridge.logs import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_key_value_lines(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("info", stream=out)
    logging.getLogger("bridge.handler").warning("front: receipt %d printed unchanged", 3)
    logging.getLogger("bridge.handler").info("plain", extra={"till": "front", "points": 12})
    logging.getLogger("bridge.handler").debug("not shown at info")
    first, second = out.getvalue().splitlines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=warning logger=bridge.handler "
        r'msg="front: receipt 3 printed unchanged"',
        first,
    )
    assert second.endswith("level=info logger=bridge.handler msg=plain till=front points=12")


def test_json_lines(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("warning", json_lines=True, stream=out)
    logging.getLogger("bridge.awards").error('database "x" unavailable', extra={"till": "back"})
    record = json.loads(out.getvalue())
    assert record["level"] == "error"
    assert record["msg"] == 'database "x" unavailable'
    assert record["till"] == "back"
    assert record["time"].endswith("Z")


def test_twisted_factory_chatter_is_dropped(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("info", stream=out)
    logging.getLogger("twisted").info("Starting factory <x>")
    logging.getLogger("twisted").info("Received SIGTERM, shutting down.")
    assert "Starting factory" not in out.getvalue()
    assert "SIGTERM" in out.getvalue()
