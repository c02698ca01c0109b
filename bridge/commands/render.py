"""``tillbridge render FILE [--format text|html|png] [-o OUT]``: a capture as it would print.

Text and HTML show every document of the capture (text separates them with the cut line);
PNG writes one file per document: OUT, then OUT-2.png, OUT-3.png... Without ``-o``, text and
HTML go to standard output and PNGs beside the capture (``capture.png``, ``capture-2.png``).

The paper and the language are the till's with ``--till NAME`` (from the config), else
``--paper`` (``58mm``, ``80mm``, ``DOTS``, ``DOTSxCOLUMNS``) or ``--profile`` (a python-escpos
printer profile), and ``--lang`` (the HTML page's ``lang``; it also picks the regional forms of
Han characters in a PNG); each of these overrides the till's. Default: 80 mm, English.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridge.safe_text import escape_controls
from drivers.render.paper import PAPER_80MM, Paper
from parsers.document import Document, build_documents
from parsers.escpos.tokenizer import tokenize

_PROG = "tillbridge render"


def run(args: argparse.Namespace) -> int:
    looks = _looks(args)
    if looks is None:
        return 2
    paper, language = looks
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
            for path in _write_pngs(documents, out, paper, language):
                print(path)
            return 0
        rendered = _render(documents, args.format, paper, language)
        if args.output:
            Path(args.output).write_text(rendered, encoding="utf-8")
        else:
            _print(rendered)
    except OSError as error:
        print(f"tillbridge render: cannot write: {error}", file=sys.stderr)
        return 2
    return 0


def _looks(args: argparse.Namespace) -> tuple[Paper, str | None] | None:
    """The paper and language to draw in (see the module docstring); None: a problem, told."""
    paper: Paper = PAPER_80MM
    language: str | None = None
    if getattr(args, "till", None):
        from bridge.commands import read_config

        config = read_config(args.config, _PROG)
        if config is None:
            return None
        till = next((t for t in config.tills if t.name == args.till), None)
        if till is None:
            names = ", ".join(t.name for t in config.tills)
            print(
                f"{_PROG}: no till {args.till!r} in {config.source} (tills: {names})",
                file=sys.stderr,
            )
            return None
        paper, language = till.picture_paper(), till.language
    try:
        if getattr(args, "profile", None):
            from drivers.escpos_out import PrinterProfile

            paper = Paper.from_profile(PrinterProfile.from_escpos(args.profile))
        if getattr(args, "paper", None):
            paper = Paper.parse(args.paper)
    except KeyError:
        print(f"{_PROG}: {args.profile!r} is not a python-escpos profile", file=sys.stderr)
        return None
    except ValueError as error:
        print(f"{_PROG}: --paper {error}", file=sys.stderr)
        return None
    return paper, getattr(args, "lang", None) or language


def _render(
    documents: list[Document], output_format: str, paper: Paper, language: str | None
) -> str:
    if output_format == "html":
        from drivers.render.html import render_html

        return render_html(documents, language=language, paper=paper)
    from drivers.render.text import render_text

    return render_text(documents, columns=paper.columns)


def png_paths(out: Path, count: int) -> list[Path]:
    """Where ``count`` PNGs go: ``out`` itself, then ``out``'s name with ``-2``, ``-3``..."""
    suffix = out.suffix or ".png"
    return [out] + [out.with_name(f"{out.stem}-{n}{suffix}") for n in range(2, count + 1)]


def _write_pngs(
    documents: list[Document], out: Path, paper: Paper, language: str | None
) -> list[Path]:
    from drivers.render.png import render_png

    paths = png_paths(out, len(documents))
    for document, path in zip(documents, paths, strict=True):
        path.write_bytes(render_png(document, paper=paper, language=language))
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
