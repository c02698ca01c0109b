"""Pure reading code: ESC/POS bytes in, documents and receipts out. No I/O here."""
