"""Text as the generic layout compares it: case, accents and look-alike letters folded away.

``TOTAL À PAYER``, ``Total a payer`` and ``total à payer`` all fold to ``total a payer``;
``Rückgeld`` to ``ruckgeld``, ``Gotówka`` to ``gotowka``, ``Łączna`` to ``laczna``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Letters NFKD does not take apart; folded by hand so keywords can be written plainly.
_LOOKALIKES = str.maketrans(
    {"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ı": "i",
     "ß": "ss", "’": "'", "`": "'"}
)  # fmt: skip


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower case, no accents, look-alike letters replaced; one character may become two."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.translate(_LOOKALIKES)


def keyword_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of ``phrases`` as whole words in folded text.

    A space in a phrase matches any run of spaces, dots or dashes, or none: ``sub total``
    reads ``subtotal``, ``sub-total`` and ``sub. total``. Longer phrases are tried first.
    """
    parts = sorted({fold(p).strip() for p in phrases}, key=len, reverse=True)
    alternatives = "|".join(
        r"[\s.\-]*".join(re.escape(word) for word in part.split()) for part in parts if part
    )
    return re.compile(rf"(?<![^\W\d_])(?:{alternatives})(?![^\W\d_])")
