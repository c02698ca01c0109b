"""Length-prefixed pickles: how the daemon talks to its child processes (parse workers, the
ledger process) over their stdin and stdout. Imports nothing heavy: children use it too.

Only ever between a parent and the child it started, from the same install: pickles are not
a format for anything else.
"""

from __future__ import annotations

import pickle
import struct
from typing import BinaryIO

HEADER = struct.Struct(">I")  # the length of the pickle that follows
MAX_FRAME = 64 * 1024 * 1024  # receipts and their results are kilobytes: more is a broken stream


class BrokenStream(Exception):
    """A frame that is cut short or too long: the other side died or wrote garbage."""


def encode_frame(message: object) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def read_frame(stream: BinaryIO) -> object | None:
    """The next message, or None at a clean end of the stream (between frames)."""
    header = stream.read(HEADER.size)
    if not header:
        return None
    if len(header) != HEADER.size:
        raise BrokenStream("the stream ended inside a frame's header")
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise BrokenStream(f"a frame of {length} bytes: more than {MAX_FRAME}")
    payload = stream.read(length)
    if len(payload) != length:
        raise BrokenStream(f"the stream ended {length - len(payload)} bytes short of a frame")
    return pickle.loads(payload)


def portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives a pickle round trip, else a RuntimeError naming
    its class and message (some library exceptions take constructor arguments pickle cannot
    give back)."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    return exc
