"""A virtual ESC/POS printer for the demo and the tests.

It serves TCP or a pseudo-terminal, answers status requests as a ready Epson TM printer
would (``DLE EOT``, ``GS r``, ``GS I``, ``GS a``), keeps the raw bytes of every receipt and
renders each one (text, HTML, PNG) into a folder. ``PrinterModel`` is the same printer without
I/O; ``VirtualPrinterFactory`` puts it on the wire, one printer for all its connections (one
receive buffer, printer state and paper) unless told ``shared=False``; ``PrintEngine`` is what
feeds the model from the connections and routes each reply to the one that asked.
"""

from drivers.virtual_printer.engine import PrintEngine
from drivers.virtual_printer.model import Output, PrintedReceipt, PrinterModel
from drivers.virtual_printer.shell import (
    FORMATS,
    PtyPrinter,
    VirtualPrinterFactory,
    VirtualPrinterProtocol,
)
from drivers.virtual_printer.status import Conditions, Identity

__all__ = [
    "FORMATS",
    "Conditions",
    "Identity",
    "Output",
    "PrintEngine",
    "PrintedReceipt",
    "PrinterModel",
    "PtyPrinter",
    "VirtualPrinterFactory",
    "VirtualPrinterProtocol",
]
