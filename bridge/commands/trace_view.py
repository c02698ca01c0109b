"""``tillbridge parse --trace``: each receipt line with the tokens that read it.

An admin sees which terminal took which text (``QTY '4 x'``), and where reading stopped: the
lines after the last token were never reached.
"""

from __future__ import annotations

from bridge.commands.reading import TraceToken

_SHOWN = 40  # characters of a token's text shown; a TEXT that swallows a line is still clear


def render_trace(text: str, tokens: tuple[TraceToken, ...]) -> str:
    """Every line of ``text``, numbered, and under it ``TERMINAL 'text' @column`` per token."""
    by_line: dict[int, list[TraceToken]] = {}
    for token in tokens:
        by_line.setdefault(token[2], []).append(token)
    last = max(by_line, default=0)
    out = ["  trace (line | text, then the tokens that read it: terminal 'text' @column)"]
    for number, line in enumerate(
        text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1
    ):
        out.append(f"  {number:>4} | {line}")
        read = by_line.get(number, [])
        if read:
            shown = "  ".join(
                f"{kind} {_quoted(value)} @{column}" for kind, value, _, column in read
            )
            out.append(f"       > {shown}")
        elif number > last:
            out.append("       > (not reached)")
    return "\n".join(out)


def _quoted(value: str) -> str:
    if len(value) > _SHOWN:
        value = value[: _SHOWN - 1] + "…"
    return repr(value)
