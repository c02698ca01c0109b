"""A starting layout written from one receipt: what ``tillbridge layout new`` prints.

The line-shapes grammar (``grammars/_line_shapes.lark``, the Lark generic layout of before
``parsers.generic``) reads the receipt first, through ``Layout.parse_tree``: its rule names are
the well-known ones, the same for every layout, and its tree says which words of which line
each one read (``parsers.generic`` reads line by line and keeps no tree). Each line it read as
an item, the total, a tender, the change, a subtotal, a tip, a service charge, a discount or a
customer card becomes a *line class*: the shape of that line (its fields in column order, the
gaps and the words between them). The grammar written is the receipt's skeleton: the store,
header lines, items, the total line, then the lines after it, where every other line is
skipped whatever it holds.

Each line class starts with a terminal of its own whose look-ahead ``(?=...)`` checks the whole
line, with a priority of its own, so the LALR parser tells the lines apart by their shape and the
lint finds no collision. What varies from one receipt to the next is left open: how many items
and which shapes among those seen, tenders and change (paid by card or in cash), a customer card
line or none, any header or footer line. What stays is written literally: the store's name and
the labels of the sums ("TOTAL TTC"), so an admin recognises their receipt in the grammar.

Pure code: text in, grammar text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lark import Token, Tree

from parsers.layouts import GRAMMAR_DIR, Layout
from parsers.receipt import Receipt

GROUPS = ("item", "discount", "tender", "tax")
VALUE_LINES = (
    "total",
    "subtotal",
    "change",
    "tip",
    "service_charge",
    "customer_card",
    "customer_phone",
    "customer_id",
    "date",
    "time",
    "number",
    "till",
)

MONEY_FIELDS = frozenset(
    {"amount", "unit_price", "total", "subtotal", "change", "tip", "service_charge", "base"}
)
CARD_FIELDS = frozenset({"customer_card", "customer_phone", "customer_id"})
# Words that mean the change in the languages tillbridge ships layouts for: a capture paid by
# card shows none, but the same till's cash sales print one.
CHANGE_WORDS = (
    "change", "cambio", "vuelto", "rendu", "monnaie", "r[üu]ckgeld", "wechselgeld", "reszta",
    "resto",
)  # fmt: skip

_CLASS_RE = re.compile(r"[A-Z*]{1,2}")  # a tax-class letter after an amount: "7,84  A"


class LayoutWriterError(Exception):
    """The receipt gives no skeleton to write a layout from (no text, nothing read)."""


def _common_regex(name: str) -> str:
    """A terminal's regular expression as ``common.lark`` defines it (for the self-check)."""
    text = (GRAMMAR_DIR / "common.lark").read_text(encoding="utf-8")
    match = re.search(rf"^{name}: /(.*)/\s*(?://.*)?$", text, re.M)
    if match is None:
        raise LayoutWriterError(f"common.lark defines no {name}")
    return match.group(1)


@dataclass(frozen=True)
class _Seg:
    """One piece of a line: a field (a value rule), a gap, one space, or literal words."""

    kind: str  # "field", "gap", "sp", "lit", "class", "rest"
    text: str = ""  # the field's rule name, or the literal's words


@dataclass
class _Class:
    """A line class: a role (item, total...) and the shape of its line or lines."""

    role: str
    lines: tuple[tuple[_Seg, ...], ...]
    regions: set[str] = field(default_factory=set)
    number: int = 0


def _field_spans(tree: Tree[Token]) -> list[tuple[str, Token]]:
    """The value rules inside ``tree`` with their first token, in printed order."""
    spans: list[tuple[str, Token]] = []
    for sub in tree.iter_subtrees_topdown():
        if sub is tree and tree.data in GROUPS:
            continue
        tokens = [t for t in sub.scan_values(lambda v: isinstance(v, Token))]
        if sub.data in _FIELDS_OF.get(tree.data, (tree.data,)) and tokens:
            spans.append((str(sub.data), tokens[0]))
    return sorted(spans, key=lambda s: (s[1].line or 0, s[1].column or 0))


_FIELDS_OF = {
    "item": ("name", "amount", "qty", "unit_price"),
    "discount": ("label", "amount"),
    "tender": ("method", "amount"),
    "tax": ("label", "rate", "base", "amount"),
}


def _shape(lines: list[str], spans: list[tuple[str, Token]]) -> tuple[tuple[_Seg, ...], ...]:
    by_line: dict[int, list[tuple[str, int, int]]] = {}
    for name, token in spans:
        raw = str(token)
        start = (token.column or 1) - 1 + (len(raw) - len(raw.lstrip()))
        by_line.setdefault(token.line or 0, []).append((name, start, start + len(raw.strip())))
    shape: list[tuple[_Seg, ...]] = []
    for number in sorted(by_line):
        text = lines[number - 1]
        segs: list[_Seg] = []
        at = len(text) - len(text.lstrip())
        for index, (name, start, end) in enumerate(by_line[number]):
            between = text[at:start]
            if between.strip():
                segs.append(_Seg("lit", between))
            elif index > 0:
                segs.append(_Seg("gap" if len(between) >= 2 else "sp"))
            segs.append(_Seg("field", name))
            at = end
        rest = text[at:].strip()
        if _CLASS_RE.fullmatch(rest):
            segs.append(_Seg("class"))
        elif rest:
            segs.append(_Seg("rest"))
        shape.append(tuple(segs))
    return tuple(shape)


# -- regular expressions, written twice: as Lark pieces and as Python for the self-check -----


class _Patterns:
    def __init__(self) -> None:
        self.money = _common_regex("MONEY")
        self.digits = _common_regex("DIGITS")
        self.percent = _common_regex("PERCENT")
        self.date = _common_regex("DATE")
        self.time = _common_regex("TIME")
        self.code = _common_regex("CODE")
        self.int = _common_regex("INT")
        self.words: dict[str, str] = {}  # the words between fields: regex -> terminal name

    def field(self, name: str) -> tuple[str, str]:
        """(Lark expression, Python regex) of a field's text."""
        if name in MONEY_FIELDS:
            return "MONEY", self.money
        if name in CARD_FIELDS:
            return "DIGITS", self.digits
        if name == "rate":
            return "PERCENT", self.percent
        if name == "date":
            return "DATE", self.date
        if name == "time":
            return "TIME", self.time
        if name == "number":
            return "CODE", self.code
        if name == "till":
            return "INT", self.int
        if name == "qty":
            return "NUMBER", _NUMBER
        return "WORDS", _WORDS

    @staticmethod
    def literal(text: str) -> str:
        """Words as printed, any run of spaces between them; digits as any digits."""
        words = [re.sub(r"\d+", r"\\d+", re.escape(w)) for w in text.split()]
        lead = "[ \\t]*" if text[:1].isspace() else ""
        tail = "[ \\t]*" if text[-1:].isspace() else ""
        return lead + "[ \\t]+".join(words) + tail

    def seg(self, seg: _Seg) -> tuple[str, str]:
        if seg.kind == "field":
            return self.field(seg.text)
        if seg.kind == "gap":
            return "_GAP", "[ \\t]{2,}"
        if seg.kind == "sp":
            return "_SP", "[ \\t]+"
        if seg.kind == "class":
            return "_CLASS?", "(?:[ \\t]+[A-Z*]{1,2})?"
        if seg.kind == "rest":
            return "_REST?", "(?:[ \\t]+[^\\n]*)?"
        regex = self.literal(seg.text)
        name = self.words.setdefault(regex, f"_W{len(self.words) + 1}")
        return name, regex

    def rest_regex(self, cls: _Class) -> str:
        """Python regex of the class's text after its first segment, to the line end."""
        parts: list[str] = []
        for number, segs in enumerate(cls.lines):
            chosen = segs[1:] if number == 0 else segs
            if number > 0:
                parts.append("[ \\t]*")
            for seg in chosen:
                if cls.role == "discount" and seg.kind == "field" and seg.text == "amount":
                    parts.append(_NEGATIVE)
                parts.append(self.seg(seg)[1])
            parts.append("[ \\t]*\\n")
        return "".join(parts)


# A discount's amount is printed negative ("-0,79", "0,79-", "(0.79)"): what tells it from an item.
_NEGATIVE = r"(?=[^\n]*[-(])"
_IMPORTED = ("MONEY", "DIGITS", "PERCENT", "DATE", "TIME", "CODE", "INT")
_NUMBER = r"-?\d+(?:[.,]\d{1,3})?"
_WORDS = r"[^\s]+(?: [^\s]+)*"


def _slashes(regex: str) -> str:
    return regex.replace("/", "\\/")


# -- the grammar ---------------------------------------------------------------------------


# What a written layout reads: the rest (the kind, included taxes) is left to the admin.
DRAFT_FIELDS = (
    "store", "till", "number", "issued_at", "items", "discounts", "subtotal", "tip",
    "service_charge", "total", "tenders", "change", "customer", "tax_included",
)  # fmt: skip


@dataclass
class Draft:
    """A layout written from one receipt, and what the generic layout read there."""

    grammar: str
    expected: Receipt  # the generic reading it was written from

    def reads(self, receipt: Receipt) -> dict[str, object]:
        """The fields of ``receipt`` the draft is meant to read as the generic layout did."""
        data = receipt.to_dict()
        picked = {name: data[name] for name in DRAFT_FIELDS}
        if not receipt.tax_included:
            picked["taxes"] = data["taxes"]
        return picked


SHAPES = "_line_shapes"  # the grammar whose tree the draft is written from


def write_layout(text: str, source: str = "a capture", *, timezone: str = "UTC") -> Draft:
    """A starting grammar for the receipt printed as ``text`` (lines ending in newlines)."""
    generic = Layout.load(SHAPES)
    tree = generic.parse_tree(text)
    receipt = generic.parse_text(text)
    lines = text.split("\n")
    patterns = _Patterns()

    role_of_line: dict[int, _Class] = {}
    classes: dict[tuple[str, tuple[tuple[_Seg, ...], ...]], _Class] = {}
    store_line: int | None = None
    store_text = ""
    excluded_taxes = {
        id(tax) for sub in tree.find_data("tax_excluded") for tax in sub.find_data("tax")
    }
    line_values: dict[int, list[tuple[str, Token]]] = {}
    for sub in tree.iter_subtrees_topdown():
        role = str(sub.data)
        excluded = id(sub) in excluded_taxes
        if role == "store":
            token = next(iter(sub.scan_values(lambda v: isinstance(v, Token))), None)
            if token is not None and store_line is None:
                store_line, store_text = token.line, str(token).strip()
            continue
        if role not in GROUPS and role not in VALUE_LINES:
            continue
        if role == "tax" and not excluded:
            continue  # a tax included in the prices changes no sum: its line is skipped
        spans = _field_spans(sub)
        if not spans:
            continue
        if role in VALUE_LINES:
            # values printed on one line ("Le 23/11/2026 à 13:02") make one class
            for span in spans:
                line_values.setdefault(span[1].line or 0, []).append(span)
            continue
        _add_class(classes, role_of_line, role, _shape(lines, spans), spans)
    for spans in line_values.values():
        spans.sort(key=lambda s: s[1].column or 0)
        _add_class(classes, role_of_line, spans[0][0], _shape(lines, spans), spans)
    if store_line is None and not classes:
        raise LayoutWriterError(f"{source}: the generic layout found nothing to build on")

    # Regions: head (before the first item), body (items up to the total), after (the rest).
    total_line = min((n for n, c in role_of_line.items() if c.role == "total"), default=None)
    item_lines = [n for n, c in role_of_line.items() if c.role == "item"]
    first_item = min(item_lines, default=None)

    def region(number: int) -> str:
        if total_line is not None and number > total_line:
            return "after"
        if first_item is not None and number >= first_item:
            return "body"
        if total_line is not None and number == total_line:
            return "body"
        return "head"

    for number, cls in role_of_line.items():
        cls.regions.add(region(number))
    for cls in classes.values():
        if cls.role == "item":
            cls.regions |= {"head", "body"}  # the first item ends the header
        elif cls.role in CARD_FIELDS:
            cls.regions |= {"head", "body", "after"}  # a card line may be printed anywhere

    ordered = sorted(classes.values(), key=_rank)
    for number, cls in enumerate(ordered, 1):
        cls.number = number

    # Lines that no class read but one would (a tax line shaped like an item): skipped by
    # their own words, before any class is tried.
    regexes = {cls.number: _first_regex(cls, patterns) for cls in ordered}
    skips: dict[str, set[str]] = {}
    claimed = set(role_of_line) | ({store_line} if store_line else set())
    for number, line in enumerate(lines, 1):
        if number in claimed or not line.strip():
            continue
        where = region(number)
        window = "\n".join(lines[number - 1 : number + 1]) + "\n"
        for cls in ordered:
            if where in cls.regions and re.match(regexes[cls.number], window):
                skips.setdefault(_skip_words(line), set()).add(where)
                break

    return Draft(
        _render(ordered, skips, store_text, receipt, source, timezone, patterns, total_line),
        receipt,
    )


def _add_class(
    classes: dict[tuple[str, tuple[tuple[_Seg, ...], ...]], _Class],
    role_of_line: dict[int, _Class],
    role: str,
    shape: tuple[tuple[_Seg, ...], ...],
    spans: list[tuple[str, Token]],
) -> None:
    found = classes.setdefault((role, shape), _Class(role, shape))
    for _, token in spans:
        role_of_line[token.line or 0] = found


def _rank(cls: _Class) -> tuple[int, int]:
    """Value lines with a label first, then tenders, then items; more lines first."""
    order = {
        "total": 0, "subtotal": 1, "change": 2, "tip": 3, "service_charge": 3, "tax": 5,
        "discount": 5, "tender": 6,
    }  # fmt: skip
    return (order.get(cls.role, 4 if cls.role in CARD_FIELDS else 7), -len(cls.lines))


def _first_regex(cls: _Class, patterns: _Patterns) -> str:
    first = cls.lines[0][0]
    head = patterns.literal(first.text) if first.kind == "lit" else patterns.seg(first)[1]
    return "[ \\t]*" + head + patterns.rest_regex(cls)


def _skip_words(line: str) -> str:
    """The words a skipped line starts with, up to its first number."""
    head = re.split(r"\s\S*\d", " " + line.strip(), maxsplit=1)[0].strip()
    words = head.split()[:3] or line.split()[:1]
    return "[ \\t]*" + "[ \\t]+".join(re.escape(w) for w in words) + "(?![^\\s])[^\\n]*"


def _render(
    classes: list[_Class],
    skips: dict[str, set[str]],
    store: str,
    receipt: Receipt,
    source: str,
    timezone: str,
    patterns: _Patterns,
    total_line: int | None,
) -> str:
    out: list[str] = [
        f"//@ description: written by tillbridge layout new from {Path(source).name}",
        f"//@ timezone: {timezone}",
    ]
    if receipt.currency:
        out.append(f"//@ currency: {receipt.currency}")
    out += ["//@ date_order: auto", ""]
    out.append(f"%import .common ({', '.join(_IMPORTED)}, WORDS, _GAP, _SP, _NL)")
    out.append("")
    out.append("// The receipt, top to bottom: header lines (the store among them), the items,")
    out.append("// the total line, then the lines after it. A line no rule names is skipped.")
    head = "_head* store _NL _head*" if store else "_head*"
    if total_line is not None:
        out.append(f"start: {head} (item _body*)? _total _after*")
    else:
        out.append(f"start: {head} (item _body*)?")
    out.append("")

    region_names = {"head": "_head", "body": "_body", "after": "_after"}
    region_rules: dict[str, list[str]] = {name: [] for name in region_names}
    rules: list[str] = []
    terminals: list[str] = []
    priority = 10 + len(classes) + len(skips)

    for words, where in skips.items():
        name = f"_SKIP{len(terminals) + 1}"
        terminals.append(f"{name}.{priority}: /{_slashes(words)}/")
        priority -= 1
        for region in where:
            region_rules[region].append(f"{name} _NL")
    if skips:
        terminals.insert(
            0, "// lines shaped like one that counts, which do not: skipped by their words"
        )

    items: list[str] = []
    tenders: list[str] = []
    taxes: list[str] = []
    discounts: list[str] = []
    for cls in classes:
        alt, rule_defs, term_defs = _class_rule(cls, priority, patterns)
        priority -= 1
        rules += rule_defs
        terminals += term_defs
        if cls.role == "item":
            items.append(alt)
        elif cls.role == "tender":
            tenders.append(alt)
        elif cls.role == "tax":
            taxes.append(alt)
        elif cls.role == "discount":
            discounts.append(alt)
        elif cls.role == "total":
            rules.append(f"_total: {alt}")
        else:
            line_rule = f"_{cls.role}{cls.number}"
            rules.append(f"{line_rule}: {alt}")
            for region in sorted(cls.regions):
                if region != "body" or cls.role != "total":
                    region_rules[region].append(line_rule)
    if items:
        rules.insert(0, "item: " + "\n    | ".join(items))
    if tenders:
        rules.append("tender: " + "\n      | ".join(tenders))
        region_rules["after" if total_line is not None else "body"].append("tender")
    if discounts:
        rules.append("discount: " + "\n        | ".join(discounts))
        region_rules["body"].append("discount")
    if taxes:
        # tax added on top of the prices (as in the US): it counts in the total
        rules.append("tax_excluded: tax\ntax: " + "\n   | ".join(taxes))
        region_rules["body"].append("tax_excluded")
    if not any(c.role == "change" for c in classes):
        # paid by card here; a cash sale of the same till prints its change
        words = "|".join(CHANGE_WORDS)
        terminals.append(
            f"_CHANGE_WORD.{priority}: /[ \\t]*(?i:{words})(?!\\w)[^\\n\\d-]*/"
            f" /(?=[ \\t]{{2,}}/ MONEY /[ \\t]*\\n)/"
        )
        rules.append("_change: _CHANGE_WORD _GAP change _NL")
        region_rules["after" if total_line is not None else "body"].append("_change")
        priority -= 1
    region_rules["body"].append("item")
    out += rules
    out.append("")
    if store:
        out.append(f"store: STORE       // {store!r}: the store's name, as printed")
        terminals.append(f'STORE.{priority}: "{_quote(store)}"')
    for region, name in region_names.items():
        if region == "after" and total_line is None:
            continue
        choices = [*region_rules[region], "_LINE _NL", "_NL"]
        out.append(f"{name}: " + " | ".join(choices))
    out.append("")
    # a line's first field has a rule of its own (see _class_rule): the others share these
    used = {
        seg.text
        for c in classes
        for number, line in enumerate(c.lines)
        for seg in (line[1:] if number == 0 else line)
        if seg.kind == "field"
    } | {"change"}
    for value in sorted(used):
        out.append(f"{value}: {patterns.field(value)[0]}")
    out.append("")
    out += terminals
    for regex, name in patterns.words.items():
        out.append(f"{name}: /{_slashes(regex)}/   // words printed between two values")
    out.append("NUMBER: /-?\\d+(?:[.,]\\d{1,3})?/")
    out.append("_CLASS: /[ \\t]+[A-Z*]{1,2}(?=[ \\t]*\\n)/   // a tax-class letter after an amount")
    out.append("_REST: /[ \\t]+[^\\s][^\\n]*/")
    out.append("_LINE: /[^\\n]+/                          // any other line: skipped")
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _class_rule(
    cls: _Class, priority: int, patterns: _Patterns
) -> tuple[str, list[str], list[str]]:
    """The rule alternative for a class, the rules and terminals it needs."""
    first = cls.lines[0][0]
    rest = _lark_lookahead(cls, patterns)
    rules: list[str] = []
    terminals: list[str] = []
    name = f"L{cls.number}_{first.text.upper() if first.kind == 'field' else cls.role.upper()}"
    sample = " ".join(s.text if s.kind in ("lit", "field") else "  " for s in cls.lines[0])
    terminals.append(f"// {cls.role}: {sample.strip()}")
    if first.kind == "field":
        expr = patterns.field(first.text)[0]
        terminals.append(f"{name}.{priority}: /[ \\t]*/ {expr} /(?=/ {rest} /)/")
        alias = f"l{cls.number}_{first.text}"
        rules.append(f"{alias}: {name} -> {first.text}")
        pieces = [alias]
    else:
        name = "_" + name
        regex = patterns.literal(first.text)
        terminals.append(f"{name}.{priority}: /[ \\t]*{_slashes(regex)}/ /(?=/ {rest} /)/")
        pieces = [name]
    for number, segs in enumerate(cls.lines):
        chosen = segs[1:] if number == 0 else segs
        if number > 0:
            pieces.append("_SP?")
        pieces += [_lark_seg(s, patterns) for s in chosen]
        pieces.append("_NL")
    return " ".join(pieces), rules, terminals


def _lark_seg(seg: _Seg, patterns: _Patterns) -> str:
    if seg.kind == "field":
        return seg.text
    return patterns.seg(seg)[0]


def _lark_lookahead(cls: _Class, patterns: _Patterns) -> str:
    """The rest of the class's lines after its first piece, as Lark terminal pieces."""
    parts: list[str] = []
    for number, segs in enumerate(cls.lines):
        chosen = segs[1:] if number == 0 else segs
        if number > 0:
            parts.append("/[ \\t]*/")
        for seg in chosen:
            expr, regex = patterns.seg(seg)
            if cls.role == "discount" and seg.kind == "field" and seg.text == "amount":
                parts.append(f"/{_NEGATIVE}/")
            if seg.kind == "field" and expr in _IMPORTED:
                parts.append(expr)
            else:
                parts.append(f"/{_slashes(regex)}/")
        parts.append("/[ \\t]*\\n/")
    return " ".join(parts)
