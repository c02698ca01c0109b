"""``tillbridge render FILE [--format text|html|png] [-o OUT]``: a capture as it would print.

Text and HTML show every document of the capture (text separates them with the cut line);
PNG writes one file per document: OUT, then OUT-2.png, OUT-3.png... Without ``-o``, text and
HTML go to standard output and PNGs beside the capture (``capture.png``, ``capture-2.png``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridge.safe_text import escape_controls
from parsers.document import Document, build_documents
from parsers.escpos.tokenizer import tokenize


def run(args: argparse.Namespace) -> int:
    source = Path(args.file)
    try:
        data = source.read_bytes()
    except OSError as error:
        print(f"tillbridge render: cannot read {source}: {error.strerror}", file=sys.stderr)
        return 2
    documents = build_documents(tokenize(data))
    if not documents:
        print(f"tillbridge render: {source} prints nothing", file=sys.stderr)
    try:
        if args.format == "png":
            out = Path(args.output) if args.output else source.with_suffix(".png")
            for path in _write_pngs(documents, out):
                print(path)
            return 0
        rendered = _render(documents, args.format)
        if args.output:
            Path(args.output).write_text(rendered, encoding="utf-8")
        else:
            _print(rendered)
    except OSError as error:
        print(f"tillbridge render: cannot write: {error}", file=sys.stderr)
        return 2
    return 0


def _render(documents: list[Document], output_format: str) -> str:
    if output_format == "html":
        from drivers.render.html import render_html

        return render_html(documents)
    from drivers.render.text import render_text

    return render_text(documents)


def png_paths(out: Path, count: int) -> list[Path]:
    """Where ``count`` PNGs go: ``out`` itself, then ``out``'s name with ``-2``, ``-3``..."""
    suffix = out.suffix or ".png"
    return [out] + [out.with_name(f"{out.stem}-{n}{suffix}") for n in range(2, count + 1)]


def _write_pngs(documents: list[Document], out: Path) -> list[Path]:
    from drivers.render.png import render_png

    paths = png_paths(out, len(documents))
    for document, path in zip(documents, paths, strict=True):
        path.write_bytes(render_png(document))
    return paths


def _print(text: str) -> None:
    # A receipt's control characters are shown escaped, never sent to the terminal.
    text = escape_controls(text, keep="\n")
    # The cut line and QR codes are not ASCII: write UTF-8 whatever the locale says.
    stream = getattr(sys.stdout, "inner", sys.stdout)  # past bridge.cli's SafeStream
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(text)
        return
    stream.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()
