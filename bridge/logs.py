"""The daemon's logs: one line per event, ``key=value`` fields, on standard error.

    2026-11-23T18:02:11.402Z level=warning logger=bridge.handler msg="front: receipt 3 ..."

Times are UTC with milliseconds. Twisted's own log events go through the same handler, so
nothing is printed in another format. ``--log-format json`` gives one JSON object per line for
log collectors.

Every line is one line, whatever it quotes: receipt text can carry any control character, so
each is escaped (``\x1b``, ``bridge.safe_text``), and card and phone numbers keep only their
last four digits, claim codes their first group. A traceback keeps its line breaks, each of
its lines indented so none can pass for a log line of its own.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from twisted.logger import STDLibLogObserver, globalLogBeginner

from bridge.safe_text import escape_controls, for_log, redact

# Attributes every LogRecord has; anything else came in ``extra=`` and is printed as a field.
_FIELDS_SKIPPED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


_twisted_routed = False


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _extra(record: logging.LogRecord) -> dict[str, str]:
    return {k: for_log(str(v)) for k, v in vars(record).items() if k not in _FIELDS_SKIPPED}


def _message(record: logging.LogRecord) -> str:
    return for_log(record.getMessage())


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    text = escape_controls(redact(formatter.formatException(record.exc_info)), keep="\n")
    return "\n".join("    " + line for line in text.splitlines())


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _message(record),
        }
        fields.update(_extra(record))
        text = " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        line = f"{_timestamp(record)} {text}"
        if record.exc_info:
            line += "\n" + _exception(self, record)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _message(record),
        }
        fields.update(_extra(record))
        if record.exc_info:
            fields["exception"] = escape_controls(
                redact(self.formatException(record.exc_info)), keep="\n"
            )
        return json.dumps(fields, ensure_ascii=False)


def _value(value: object) -> str:
    text = str(value)
    if text and not any(ch.isspace() or ch in '"=' for ch in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _drop_chatter(record: logging.LogRecord) -> bool:
    """Twisted logs every factory start and stop at INFO: one per printer connection."""
    if record.name == "twisted" and record.levelno <= logging.INFO:
        message = record.getMessage()
        return not message.startswith(("Starting factory", "Stopping factory"))
    return True


class ReopenableFileHandler(logging.FileHandler):
    """A log file, created owner-only, that ``reopen()`` closes and opens again by name:
    after logrotate has moved it, the next lines go to a new file at the same path."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=False)

    def _open(self) -> TextIO:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding="utf-8")

    def reopen(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self.stream is not None:
                self.stream.close()
            self.stream = self._open()


def setup_logging(
    level: str,
    json_lines: bool = False,
    stream: TextIO | None = None,
    path: Path | None = None,
) -> logging.Handler:
    """Send the stdlib's and Twisted's logs to ``path`` (a file, see
    ``ReopenableFileHandler``) or ``stream`` (standard error) at ``level``; the handler."""
    handler: logging.Handler
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = ReopenableFileHandler(path)
    else:
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)  # python-escpos calls basicConfig() when imported
    handler.addFilter(_drop_chatter)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic announces its plugins and each migration step at INFO on every start.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    global _twisted_routed
    if not _twisted_routed:
        # Once per process: Twisted warns when its log is started twice.
        _twisted_routed = True
        globalLogBeginner.beginLoggingTo(
            [STDLibLogObserver(name="twisted")], discardBuffer=True, redirectStandardIO=False
        )
    return handler
