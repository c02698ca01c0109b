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
