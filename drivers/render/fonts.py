"""The fonts pictures are drawn in, found at run time.

Latin, Greek and Cyrillic are drawn in DejaVu Sans Mono (Debian's ``fonts-dejavu-core``, on
nearly every Linux). What it lacks (Kanji, kana, Hangul, Chinese) is drawn in the first
CJK-capable font found, in this order:

1. the file named by ``TILLBRIDGE_CJK_FONT``;
2. Noto Sans CJK from PyPI (``pip install 'tillbridge[cjk]'``: the ``manimgx-fonts-cjk`` wheel,
   OFL-1.1, no root needed);
3. Debian's packages: ``fonts-noto-cjk``, ``fonts-wqy-zenhei``, ``fonts-wqy-microhei``,
   ``fonts-droid-fallback``, ``fonts-ipafont-gothic``.

A character no font has is drawn as the font's missing-glyph box ("tofu"), with one warning
per process that says what to install. Han characters look different in Japanese, Chinese and
Korean print: a font collection's face is chosen by the till's language (``ja``: JP, ``ko``:
KR, ``zh``: SC, ``zh-TW``: TC, ``zh-HK``: HK; JP otherwise).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

CJK_FONT_ENV = "TILLBRIDGE_CJK_FONT"
_DEJAVU_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
# (module, file inside it): PyPI wheels that ship a CJK font.
_PACKAGED = (("manimgx_fonts_cjk", "NotoSansCJK-VF.otf.ttc"),)
_SYSTEM = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),  # fonts-noto-cjk
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),  # fonts-ipafont-gothic
)
_SYSTEM_BOLD = {
    _SYSTEM[0]: Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
}
_REGIONS = {"ja": "JP", "ko": "KR", "zh": "SC", "zh-cn": "SC", "zh-tw": "TC", "zh-hk": "HK"}
# A code point no font draws: its mask is the font's missing-glyph box.
_NO_SUCH_CHARACTER = "\U0010fffd"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_warned = False


@cache
def dejavu_file(bold: bool) -> Path | None:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    return next((d / name for d in _DEJAVU_DIRS if (d / name).is_file()), None)


@cache
def cjk_file() -> Path | None:
    """The CJK-capable font file to fall back on, or ``None``."""
    named = os.environ.get(CJK_FONT_ENV)
    if named:
        if Path(named).is_file():
            return Path(named)
        log.warning("%s=%s: no such file; looking for another CJK font", CJK_FONT_ENV, named)
    for module, file in _PACKAGED:
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin is not None:
            path = Path(spec.origin).parent / file
            if path.is_file():
                return path
    return next((path for path in _SYSTEM if path.is_file()), None)


@cache
def mono_font(size: int, bold: bool) -> Font:
    """DejaVu Sans Mono at ``size`` pixels (Pillow's own font if it is not installed)."""
    path = dejavu_file(bold) or dejavu_file(False)
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


@cache
def cjk_font(size: int, bold: bool, language: str | None = None) -> ImageFont.FreeTypeFont | None:
    """The CJK fallback font at ``size`` pixels, in the face for ``language``, or ``None``."""
    path = cjk_file()
    if path is None:
        return None
    if bold and path in _SYSTEM_BOLD and _SYSTEM_BOLD[path].is_file():
        path = _SYSTEM_BOLD[path]
    font = ImageFont.truetype(str(path), size, index=_face_index(str(path), language))
    # A variable font starts at its lightest weight; thermal print is not thin. (Raises
    # OSError for a font that is not variable: nothing to set.)
    with contextlib.suppress(OSError):
        font.set_variation_by_axes([700 if bold else 400])
    return font


@lru_cache(maxsize=64)
def _face_index(path: str, language: str | None) -> int:
    """The face of a collection (.ttc) for the language's region; 0 for a single font."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    wanted = _REGIONS.get((language or "").lower()) or _REGIONS.get(
        (language or "").lower().split("-")[0], "JP"
    )
    for index in range(32):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(f" {wanted}") and "Mono" not in family:
            return index
    return 0


@lru_cache(maxsize=16384)
def has_glyph(font: Font, ch: str) -> bool:
    """Whether ``font`` draws ``ch`` (rather than its missing-glyph box)."""
    if ch.isspace() or not ch.isprintable():
        return True  # nothing to draw: no box either
    return _mask(font, ch) != _mask(font, _NO_SUCH_CHARACTER)


def _mask(font: Font, ch: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def font_for(ch: str, size: int, bold: bool, language: str | None = None) -> Font:
    """The font to draw ``ch`` in: DejaVu Sans Mono if it has it, else the CJK fallback if
    that has it, else DejaVu's box (warned about once)."""
    mono = mono_font(size, bold)
    if ch.isascii() or has_glyph(mono, ch):
        return mono
    cjk = cjk_font(size, bold, language)
    if cjk is not None and has_glyph(cjk, ch):
        return cjk
    _warn_missing(ch, cjk is not None)
    return mono


def _warn_missing(ch: str, have_cjk: bool) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    if have_cjk:
        log.warning(
            "pictures: %r (U+%04X) is in no font found (DejaVu Sans Mono, %s): drawn as a box",
            ch,
            ord(ch),
            cjk_file(),
        )
    else:
        log.warning(
            "pictures: no CJK-capable font found, so %r (U+%04X) and its like are drawn as "
            "boxes; install one: pip install 'tillbridge[cjk]', or apt-get install "
            "fonts-noto-cjk, or set %s to a font file",
            ch,
            ord(ch),
            CJK_FONT_ENV,
        )
