"""Serial ports on either side, through Twisted's ``SerialPort`` over pyserial.

Flow control: ``SerialPort`` (and Linux termios) offers RTS/CTS and XON/XOFF only. ``dsrdtr``
is therefore done as RTS/CTS: Epson TM printers signal busy on DTR, so the cable must bring
the printer's DTR to the host's CTS (the usual Epson "DTR/DSR" cable for PCs does). XON/XOFF
reads 0x11/0x13 as flow control, so it suits only tills that send no images or binary data.

Takes plain parameters; ``from_config`` accepts ``bridge.config.SerialPortConfig`` (anything
with ``device, baudrate, bytesize, parity, stopbits, flow``).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import serial
from twisted.internet import defer
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.internet.serialport import SerialPort

log = logging.getLogger(__name__)

FLOWS = ("none", "rtscts", "xonxoff", "dsrdtr")
_PARITIES = {
    "none": serial.PARITY_NONE,
    "even": serial.PARITY_EVEN,
    "odd": serial.PARITY_ODD,
    "mark": serial.PARITY_MARK,
    "space": serial.PARITY_SPACE,
}
_STOPBITS = {1: serial.STOPBITS_ONE, 1.5: serial.STOPBITS_ONE_POINT_FIVE, 2: serial.STOPBITS_TWO}


class _SerialSettings(Protocol):
    device: str
    baudrate: int
    bytesize: int
    parity: str
    stopbits: float
    flow: str


def serial_options(
    baudrate: int = 9600,
    bytesize: int = 8,
    parity: str = "none",
    stopbits: float = 1,
    flow: str = "none",
) -> dict[str, Any]:
    """``SerialPort`` keyword arguments for the settings, checked."""
    if bytesize not in (5, 6, 7, 8):
        raise ValueError(f"byte size must be 5 to 8, not {bytesize}")
    key = parity.lower()
    if key in _PARITIES:
        parity_value = _PARITIES[key]
    elif parity.upper() in _PARITIES.values():
        parity_value = parity.upper()
    else:
        raise ValueError(f"unknown parity {parity!r}")
    if stopbits not in _STOPBITS:
        raise ValueError(f"stop bits must be 1, 1.5 or 2, not {stopbits}")
    if flow not in FLOWS:
        raise ValueError(f"flow control must be one of {', '.join(FLOWS)}, not {flow!r}")
    return {
        "baudrate": int(baudrate),
        "bytesize": bytesize,
        "parity": parity_value,
        "stopbits": _STOPBITS[stopbits],
        "xonxoff": flow == "xonxoff",
        "rtscts": flow in ("rtscts", "dsrdtr"),  # dsrdtr: DTR wired to CTS, see above
    }


def _options_from(config: _SerialSettings) -> dict[str, Any]:
    return serial_options(
        config.baudrate, config.bytesize, config.parity, config.stopbits, config.flow
    )


class SerialPrinter:
    """A printer on a serial port, opened for each pairing and closed after it."""

    def __init__(self, device: str, reactor: Any, **settings: Any) -> None:
        self.device = device
        self.reactor = reactor
        self.options = serial_options(**settings)
        self.description = f"serial:{device}"

    @classmethod
    def from_config(cls, config: _SerialSettings, reactor: Any) -> SerialPrinter:
        printer = cls(config.device, reactor)
        printer.options = _options_from(config)
        return printer

    def connect(self, protocol: TwistedProtocol) -> defer.Deferred[Any]:
        try:
            port = SerialPort(protocol, self.device, self.reactor, **self.options)
        except Exception:
            return defer.fail()
        return defer.succeed(port)


def open_serial(
    protocol: TwistedProtocol, device: str, reactor: Any, **settings: Any
) -> SerialPort:
    """Open ``device`` for ``protocol`` (settings as ``serial_options``)."""
    return SerialPort(protocol, device, reactor, **serial_options(**settings))


def open_serial_from_config(
    protocol: TwistedProtocol, config: _SerialSettings, reactor: Any
) -> SerialPort:
    return SerialPort(protocol, config.device, reactor, **_options_from(config))
