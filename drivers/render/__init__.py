"""Drawing documents: as fixed-width text, as an HTML page, as a PNG at the printer's width.

Pure functions from ``Document`` to ``str`` or ``bytes``; writing the result is the caller's
business. Each renderer imports its drawing libraries (Pillow, qrcode, python-barcode) itself,
so importing this package costs little.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["render_html", "render_png", "render_text"]

if TYPE_CHECKING:
    from drivers.render.html import render_html
    from drivers.render.png import render_png
    from drivers.render.text import render_text

_HOMES = {
    "render_text": "drivers.render.text",
    "render_html": "drivers.render.html",
    "render_png": "drivers.render.png",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = __import__(_HOMES[name], fromlist=[name])
    return getattr(module, name)
