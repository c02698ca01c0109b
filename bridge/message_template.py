"""A store's loyalty message as a Jinja2 template, run in Jinja's sandbox.

A template is the shop's words, not code the shop may run: it is rendered by a
``SandboxedEnvironment`` (no attributes that start with "_", no ``__class__`` walks to
Python internals) with ``StrictUndefined`` (a mistyped name is an error, found by
``check_template`` before a till ever prints it). It defines three blocks:

- ``title``: one line, printed bold and centred;
- ``lines``: one output line per printed line (blank ones are dropped, so ``{% if %}`` lines
  need no whitespace care);
- ``voucher``: the words above each issued voucher's barcode, rendered with ``voucher`` set.

The context is plain data (``CONTEXT_NAMES``) plus the language's ``Words``: ``_``,
``ngettext``, ``number`` and ``date``. A shop's template may ``{% extends "default.j2" %}``
and override one block. Templates are compiled once, when loaded; ``warm()`` loads the
default template and the catalogues so the first receipt does not pay for it.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
)
from jinja2.sandbox import SandboxedEnvironment

from bridge.loyalty.earning import (
    ExpiringPoints,
    IssuedVoucher,
    NextReward,
    Part,
    StampProgress,
    VoucherUse,
)
from bridge.texts import LANGUAGES, words

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "default.j2"
WIDTHS = (32, 42, 48)  # the paper widths a message must fit, in Font A columns

Kind = Literal["award", "claim", "duplicate", "pending"]
Symbology = Literal["CODE128", "QR"]

# What a template may use: the context, and the language's words.
CONTEXT_NAMES = frozenset(
    {
        "kind",
        "width",
        "language",
        "duplicate",
        "points",
        "balance",
        "card_last4",
        "claim_code",
        "bonuses",
        "vouchers",
        "voucher_uses",
        "stamps",
        "expiring",
        "next_reward",
        "tier",
        "points_month",
        "points_year",
        "voucher",
    }
)
WORD_NAMES = frozenset({"_", "ngettext", "number", "date"})


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """Something ``check-config`` reports about a template."""

    message: str
    line: int | None = None  # in the template file, where one is known
    # True: it prints, only not as written (a line wider than the paper is wrapped); False:
    # the template cannot be used, and the default message would print instead.
    warning: bool = False

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str | None
    lines: tuple[str, ...]
    captions: tuple[tuple[str, ...], ...]  # one per voucher, in order


def _environment(directory: Path | None) -> SandboxedEnvironment:
    loaders = [FileSystemLoader(str(directory))] if directory is not None else []
    loaders.append(FileSystemLoader(str(TEMPLATE_DIR)))
    return SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=False,  # paper, not HTML: escpos_out makes every character harmless
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


class MessageTemplate:
    """A compiled template; ``render`` is pure (context in, lines out)."""

    def __init__(
        self,
        template: Template,
        symbology: Symbology = "CODE128",
        parents: tuple[Template, ...] = (),
    ) -> None:
        self._template = template
        self.symbology: Symbology = symbology  # how vouchers' codes print
        self.name = template.name or "<string>"
        # Every block of the template and the ones it extends, the most derived first: what
        # Jinja's own render would build, so blocks render alone and super() works.
        self._blocks: dict[str, list[Any]] = {}
        for level in (template, *parents):
            for name, block in level.blocks.items():
                self._blocks.setdefault(name, []).append(block)

    @classmethod
    def load(cls, path: str | Path, symbology: Symbology = "CODE128") -> MessageTemplate:
        """A shop's template file, compiled now. Raises ``jinja2.TemplateError`` (a syntax
        error, a missing block it extends...): ``check_template`` says what and where."""
        path = Path(path)
        environment = _environment(path.parent)
        template = environment.get_template(path.name)
        return cls(template, symbology, _parents(environment, path.name))

    @classmethod
    def from_string(cls, source: str, symbology: Symbology = "CODE128") -> MessageTemplate:
        environment = _environment(None)
        template = environment.from_string(source)
        return cls(template, symbology, _parents(environment, None, source))

    def render(self, context: Mapping[str, Any], language: str, width: int) -> Rendered:
        """Title, lines and voucher captions, each line at most ``width`` columns."""
        values = _values(context, language, width)
        title = _lines(self._block("title", values), width)
        lines = _lines(self._block("lines", values), width)
        captions = tuple(
            tuple(_lines(self._block("voucher", values | {"voucher": v}), width))
            for v in context.get("vouchers", ())
        )
        return Rendered(" ".join(title) or None, tuple(lines), captions)

    def _block(self, name: str, values: dict[str, Any]) -> str:
        if name not in self._blocks:
            return ""
        context = self._template.new_context(values)
        context.blocks = {key: list(chain) for key, chain in self._blocks.items()}
        return "".join(self._blocks[name][0](context))


def _parents(
    environment: SandboxedEnvironment, name: str | None, source: str | None = None
) -> tuple[Template, ...]:
    """The templates ``name`` extends, nearest first: a template's top level is never run (only
    its blocks are), so its ``{% extends %}`` is followed here, by name, as Jinja would."""
    parents: list[Template] = []
    seen: set[str] = set()
    while True:
        if source is None:
            assert name is not None
            source = environment.loader.get_source(environment, name)[0]  # type: ignore[union-attr]
        extends = environment.parse(source).find(nodes.Extends)
        if extends is None or not isinstance(extends.template, nodes.Const):
            return tuple(parents)
        name = str(extends.template.value)
        if name in seen:
            raise TemplateError(f"{name} extends itself")
        seen.add(name)
        parents.append(environment.get_template(name))
        source = None


def _values(context: Mapping[str, Any], language: str, width: int) -> dict[str, Any]:
    spoken = words(language)
    return {
        "_": spoken._,
        "ngettext": spoken.ngettext,
        "number": spoken.number,
        "date": spoken.date,
        "voucher": None,
        **context,
        "language": language,
        "width": width,
    }


def _lines(text: str, width: int) -> list[str]:
    """Non-blank lines, stripped, each wrapped at word boundaries to ``width``."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out += textwrap.wrap(line, width, break_on_hyphens=False)
    return out


@cache
def default_template() -> MessageTemplate:
    return MessageTemplate(_environment(None).get_template(DEFAULT_TEMPLATE))


def warm() -> None:
    """Compile the default template and read every catalogue now (the daemon's start), so the
    first receipt does not pay for it; one render fills Jinja's and babel's own caches."""
    template = default_template()
    for language in LANGUAGES:
        for context in sample_contexts():
            template.render(context, language, 42)


# -- checking a shop's template -------------------------------------------------------------


def sample_contexts() -> Iterable[dict[str, Any]]:
    """One context per kind, every field present with long but realistic values."""
    award: dict[str, Any] = {
        "kind": "award",
        "duplicate": False,
        "points": 1404,
        "balance": 123456,
        "card_last4": "5678",
        "claim_code": None,
        "bonuses": (Part("tuesday", 50, "Double points Tuesday"),),
        "vouchers": (IssuedVoucher("V-5K2Q9", "5 € voucher", None, date(2027, 3, 31)),),
        "voucher_uses": tuple(
            VoucherUse("V-7XK2P", status, 500 if status == "redeemed" else 0)
            for status in ("redeemed", "already_used", "unknown", "expired", "void")
        ),
        "stamps": (StampProgress("coffee", "Coffee card", 7, 10),),
        "expiring": ExpiringPoints(120, date(2027, 1, 31)),
        "next_reward": NextReward("5 € voucher", 96),
        "tier": "Gold",
        "points_month": 2210,
        "points_year": 18004,
    }
    yield award
    yield award | {"kind": "duplicate", "duplicate": True}
    yield award | {"kind": "claim", "claim_code": "K7QM-3XPA", "card_last4": None}
    yield award | {"kind": "pending", "points": 0, "balance": None}


def check_template(path: str | Path) -> list[TemplateProblem]:
    """What is wrong with a shop's template: syntax errors and unknown names with their line,
    errors when rendered (the sandbox refusing an attribute...), and lines wider than a
    paper width (they print wrapped). Empty: the template is fine."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [TemplateProblem(f"cannot read {path}: {error}")]
    environment = _environment(path.parent)
    try:
        tree = environment.parse(source, path.name, str(path))
    except TemplateSyntaxError as error:
        return [TemplateProblem(f"syntax error: {error.message}", error.lineno)]
    problems = _unknown_names(tree)
    if problems:
        return problems
    try:
        template = MessageTemplate.load(path)
    except TemplateError as error:
        return [TemplateProblem(f"cannot load: {error}", getattr(error, "lineno", None))]
    for width in WIDTHS:
        for context in sample_contexts():
            try:
                raw = _raw(template, context, width)
            except Exception as error:  # a template can raise anything from its expressions
                return [
                    TemplateProblem(f"{context['kind']} message: {type(error).__name__}: {error}")
                ]
            for line in raw:
                if len(line) > width:
                    problems.append(
                        TemplateProblem(
                            f"{context['kind']} message, {width} columns: a line of "
                            f"{len(line)} is wrapped: {line!r}",
                            warning=True,
                        )
                    )
    return problems


def _unknown_names(tree: nodes.Template) -> list[TemplateProblem]:
    known = CONTEXT_NAMES | WORD_NAMES
    unknown = meta.find_undeclared_variables(tree) - known
    problems = [
        TemplateProblem(f"unknown name {node.name!r}", node.lineno)
        for node in tree.find_all(nodes.Name)
        if node.name in unknown and node.ctx == "load"
    ]
    return sorted(set(problems), key=lambda p: (p.line or 0, p.message))


def _raw(template: MessageTemplate, context: dict[str, Any], width: int) -> list[str]:
    """The lines as the template writes them, before wrapping (english, the longest words
    are not known: the check is of the template's own layout)."""
    values = _values(context, "en", width)
    out: list[str] = []
    for block in ("title", "lines"):
        out += [line.strip() for line in template._block(block, values).splitlines()]
    for voucher in context["vouchers"]:
        text = template._block("voucher", values | {"voucher": voucher})
        out += [line.strip() for line in text.splitlines()]
    return [line for line in out if line]
