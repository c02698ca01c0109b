"""python-barcode's names for the symbologies it can draw (the HTML and PNG renderers both
draw barcodes with it; the others are shown as labelled boxes)."""

PYTHON_BARCODE_NAMES: dict[str, str] = {
    "EAN13": "ean13",
    "EAN8": "ean8",
    "UPC-A": "upca",
    "CODE39": "code39",
    "CODE128": "code128",
    "ITF": "itf",
    "CODABAR": "codabar",
    "GS1-128": "gs1_128",
}

# Symbologies whose last digit is a check digit the printer adds when the till leaves it out:
# (digits without it, digits with it).
_CHECK_DIGIT_LENGTHS: dict[str, tuple[int, int]] = {
    "EAN13": (12, 13),
    "UPC-A": (11, 12),
    "EAN8": (7, 8),
}


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (EAN-13, EAN-8, UPC-A): weights 3 and 1
    alternating from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def full_data(symbology: str, data: str) -> str:
    """The data as the printer encodes it: with the check digit added where the till left it
    out (EAN-13 given 12 digits prints 13; UPC-A 11 → 12; EAN-8 7 → 8). Anything else as
    given: a check digit the till sent is printed as sent."""
    lengths = _CHECK_DIGIT_LENGTHS.get(symbology)
    if lengths is not None and len(data) == lengths[0] and data.isdigit():
        return data + check_digit(data)
    return data


def hri_text(symbology: str, data: str) -> str:
    """The human-readable text the printer prints with the bars (GS H)."""
    return full_data(symbology, data)
