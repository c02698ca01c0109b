"""Receipt layouts: one Lark grammar per till layout, loaded, linted and used to read receipts.

A layout is ``parsers/grammars/<name>.lark`` (or any ``.lark`` file an admin points at). Its
``//@ key: value`` lines at the top are its metadata; its well-known rule names are mapped onto
``Receipt`` by ``parsers.transform``, so a new layout needs a grammar, not Python. Errors are
written for the admin who wrote the grammar: they name the file and line, the receipt line and
column, and what the grammar expected there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lark import Lark, Token, Tree
from lark.exceptions import (
    GrammarError as LarkGrammarError,
)
from lark.exceptions import (
    LexError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from parsers.document import Document
from parsers.receipt import Receipt
from parsers.transform import to_receipt

GRAMMAR_DIR = Path(__file__).resolve().parent / "grammars"
DATE_ORDERS = ("DMY", "MDY", "YMD", "AUTO")
PARSERS = ("lalr", "earley", "generic")
_META_RE = re.compile(r"^//@\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")


class GrammarError(Exception):
    """A layout grammar that does not compile or fails the lint; the message names file:line."""


class UnknownLayoutError(LookupError):
    """No shipped layout has this name, and it is not a path to a ``.lark`` file."""


class ReceiptParseError(Exception):
    """A receipt that does not match its layout; the message says where and what was expected."""

    def __init__(self, message: str, layout: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.layout = layout
        self.line = line


@dataclass(frozen=True)
class LayoutMeta:
    description: str = ""
    timezone: str = "UTC"
    currency: str | None = None  # ISO code used when no sign is printed
    date_order: str = "DMY"
    parser: str = "lalr"


def available_layouts() -> list[str]:
    """The shipped layouts, by name (``common`` holds shared terminals and is no layout; a
    name starting with ``_`` is a grammar the code uses, not a till's layout)."""
    return sorted(
        p.stem for p in GRAMMAR_DIR.glob("*.lark") if p.stem != "common" and p.stem[0] != "_"
    )


_cache: dict[tuple[Path, int], Layout] = {}
# A version that did not compile, so it is not compiled again at every receipt.
_failed: dict[tuple[Path, int], GrammarError] = {}
# Per grammar file, the last version that compiled: in force while a newer one does not.
_in_force: dict[Path, Layout] = {}


class Layout:
    """A compiled layout grammar and its metadata."""

    def __init__(self, name: str, path: Path, meta: LayoutMeta, lark: Lark) -> None:
        self.name = name
        self.path = path
        self.meta = meta
        self._lark = lark

    def __repr__(self) -> str:
        return f"Layout({self.name!r}, parser={self.meta.parser!r})"

    @classmethod
    def load(cls, name_or_path: str | Path) -> Layout:
        """A shipped layout by name (``"bakery_es"``) or a grammar file by path.

        Compiled once per file and modification time, so an admin's edit is picked up.
        """
        path = resolve_layout(name_or_path)
        key = (path, path.stat().st_mtime_ns)
        layout = _cache.get(key)
        if layout is None:
            if key in _failed:
                raise _failed[key]
            try:
                layout = _compile(path)
            except GrammarError as error:
                _failed[key] = error
                raise
            _cache[key] = layout
        _in_force[path] = layout
        return layout

    @classmethod
    def in_force(cls, name_or_path: str | Path) -> Layout:
        """The layout as ``load`` gives it; but while the file's newest version does not
        compile (an edit being made, a mistake), the last version that did, if there was one.
        A till's receipts are then still read as before the edit, not kept unread."""
        try:
            return cls.load(name_or_path)
        except GrammarError:
            previous = _in_force.get(resolve_layout(name_or_path))
            if previous is None:
                raise
            return previous

    def parse_tree(self, text: str) -> Tree[Token]:
        """The grammar's parse tree of ``text``; raises ``ReceiptParseError``."""
        try:
            return self._lark.parse(text)
        except UnexpectedInput as exc:
            raise ReceiptParseError(
                describe_parse_error(self, text, exc), self.name, _line_of(exc)
            ) from None

    def trace(self, text: str) -> tuple[list[Token], ReceiptParseError | None]:
        """The tokens that read ``text``, in order, and the error where reading stopped.

        LALR: every token the lexer gave the parser, the dropped ``_NAME`` ones too (a keyword,
        a gap). Earley lexes as it parses, so only the tokens kept in the tree are known.
        """
        tokens: list[Token] = []
        try:
            if self.meta.parser == "lalr":
                for token in self._lark.parse_interactive(text).iter_parse():
                    tokens.append(token)
                return tokens, None
            tree = self._lark.parse(text)
        except UnexpectedInput as exc:
            error = ReceiptParseError(
                describe_parse_error(self, text, exc), self.name, _line_of(exc)
            )
            return tokens, error
        tokens = [t for t in tree.scan_values(lambda v: isinstance(v, Token))]
        return tokens, None

    def parse_text(self, text: str) -> Receipt:
        """The receipt printed as ``text``, lines ending in newlines; or ``ReceiptParseError``."""
        return to_receipt(self.parse_tree(text), self, text)

    def parse(self, document: Document) -> Receipt:
        return self.parse_text(document.text())

    def terminal_pattern(self, name: str) -> str:
        """How a terminal is written in the grammar: ``/regex/`` or ``"literal"``."""
        try:
            pattern = self._lark.get_terminal(name).pattern
        except KeyError:
            return "?"
        value = pattern.value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        if pattern.type == "str":
            return f'"{value}"'
        return f"/{value}/{''.join(pattern.flags)}"


class GenericLayout(Layout):
    """``//@ parser: generic``: the built-in line-by-line reader (``parsers.generic``), with
    the file's metadata; it has no grammar, so no parse tree, and it reads any text."""

    def __init__(self, name: str, path: Path, meta: LayoutMeta) -> None:
        self.name = name
        self.path = path
        self.meta = meta

    def __repr__(self) -> str:
        return f"Layout({self.name!r}, parser='generic')"

    def parse_tree(self, text: str) -> Tree[Token]:
        raise ReceiptParseError(
            f"layout {self.name}: the generic layout reads line by line; it has no parse tree",
            self.name,
        )

    def trace(self, text: str) -> tuple[list[Token], ReceiptParseError | None]:
        raise ReceiptParseError(
            f"layout {self.name}: the generic layout reads line by line, with no grammar: it has "
            "no tokens to trace (--show-text shows the text it reads; --trace is for a layout's "
            "grammar)",
            self.name,
        )

    def parse_text(self, text: str) -> Receipt:
        from parsers.generic import read_receipt

        return read_receipt(text, self.name, self.meta)

    def terminal_pattern(self, name: str) -> str:
        return "?"


def resolve_layout(name_or_path: str | Path) -> Path:
    """The grammar file of a shipped layout name or a path; ``UnknownLayoutError`` if none."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".lark") or "/" in text:
        path = Path(name_or_path)
        if not path.is_file():
            raise UnknownLayoutError(f"no grammar file {text}")
        return path.resolve()
    path = GRAMMAR_DIR / f"{text}.lark"
    if text == "common" or not path.is_file():
        known = ", ".join(available_layouts())
        raise UnknownLayoutError(f"unknown layout {text!r}; shipped layouts: {known}")
    return path


def read_meta(source: str, filename: str = "<grammar>") -> LayoutMeta:
    """The ``//@ key: value`` lines of a grammar, checked."""
    values: dict[str, str] = {}
    for number, line in enumerate(source.splitlines(), 1):
        match = _META_RE.match(line.strip())
        if match is None:
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key not in LayoutMeta.__dataclass_fields__:
            known = ", ".join(LayoutMeta.__dataclass_fields__)
            raise GrammarError(
                f"{filename}:{number}: unknown metadata key {key!r} (known: {known})"
            )
        values[key] = value
        if key == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise GrammarError(
                    f"{filename}:{number}: unknown timezone {value!r} (use an IANA name such as "
                    "Europe/Madrid)"
                ) from None
        elif key == "date_order" and value.upper() not in DATE_ORDERS:
            raise GrammarError(f"{filename}:{number}: date_order must be DMY, MDY, YMD or auto")
        elif key == "parser" and value.lower() not in PARSERS:
            raise GrammarError(f"{filename}:{number}: parser must be lalr, earley or generic")
        elif key == "currency" and not re.fullmatch(r"[A-Za-z]{3}", value):
            raise GrammarError(f"{filename}:{number}: currency must be an ISO code such as EUR")
    return LayoutMeta(
        description=values.get("description", ""),
        timezone=values.get("timezone", "UTC"),
        currency=values["currency"].upper() if "currency" in values else None,
        date_order=values.get("date_order", "DMY").upper(),
        parser=values.get("parser", "lalr").lower(),
    )


def _compile(path: Path) -> Layout:
    filename = path.name
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GrammarError(f"{filename}: cannot read the grammar: {exc}") from None
    meta = read_meta(source, filename)
    if meta.parser == "generic":
        return GenericLayout(path.stem, path, meta)
    options: dict[str, object] = {"parser": meta.parser, "strict": True}
    if meta.parser == "lalr":
        options["lexer"] = "contextual"
    try:
        lark = Lark(
            source,
            start="start",
            import_paths=[str(GRAMMAR_DIR)],
            source_path=str(path),
            maybe_placeholders=False,
            **options,  # type: ignore[arg-type]
        )
    except (LarkGrammarError, LexError, UnexpectedInput) as exc:
        raise GrammarError(_describe_grammar_error(filename, source, exc)) from None
    except (OSError, AssertionError) as exc:  # a missing %import file
        raise GrammarError(f"{filename}: {exc}") from None
    return Layout(path.stem, path, meta, lark)


# -- grammar errors ---------------------------------------------------------------------------

_SYMBOL_PATTERNS = (
    # Lark's own wordings, and the symbol each names
    re.compile(r"(?:Rule|Terminal) '(?P<sym>\w+)' defined more than once"),
    re.compile(r"Rule (?P<sym>\w+) is marked for expansion"),
    re.compile(r"Collision between Terminals (?P<sym>\w+) and (?P<other>\w+)"),
    re.compile(r"Cannot compile token (?P<sym>\w+)"),
    re.compile(r"zero-width terminals\. \((?P<sym>\w+)"),
    re.compile(r"'(?P<sym>\w+)'"),
)


def _describe_grammar_error(filename: str, source: str, exc: Exception) -> str:
    message = _describe(filename, source, exc)
    if source and not source.endswith("\n"):
        # Editors end a file with a line end: one without is most likely still being saved.
        message += (
            "\nnote: the file does not end with a line end: if it is still being saved, this "
            "error is about the part written so far"
        )
    return message


def _describe(filename: str, source: str, exc: Exception) -> str:
    message = str(exc).strip()
    if not _has_rules(source):
        return (
            f"{filename}: the grammar is empty (no rules yet); a layout needs at least "
            "'start: ...', the whole receipt top to bottom (docs/grammars.md; tillbridge layout "
            "new CAPTURE writes one to start from)"
        )
    if isinstance(exc, UnexpectedInput) and isinstance(exc.line, int) and exc.line > 0:
        return _point_at(filename, source, exc.line, exc.column)
    collision = re.search(r"Collision between Terminals (\w+) and (\w+)", message)
    if collision:
        return _describe_collision(
            filename, source, collision.group(1), collision.group(2), message
        )
    match = re.search(r"at line (\d+) column (\d+)", message)
    if match:
        return _point_at(filename, source, int(match.group(1)), int(match.group(2)))
    undefined = re.search(r"(?:Rule|Terminal) '(\w+)' used but not defined(.*)", message)
    if undefined:
        sym, context = undefined.group(1), undefined.group(2).strip()
        kind = "terminal" if sym.lstrip("_").isupper() else "rule"
        if kind == "rule":
            hint = f"\nhint: define the rule: {sym}: ..."
        elif sym in _common_terminals():
            hint = f"\nhint: import it: %import .common ({sym}), or define it: {sym}: /.../"
        else:
            hint = f'\nhint: define it: {sym}: /regular expression/ or {sym}: "literal"'
        return f"{filename}:{_line_of_use(source, sym)}: unknown {kind} {sym} {context}{hint}"
    if "Shift/Reduce" in message or "Reduce/Reduce" in message:
        return (
            f"{filename}: the LALR parser cannot decide between two readings (a grammar "
            f"conflict); make the rules differ in their first tokens, or use "
            f"'//@ parser: earley'.\n{message}"
        )
    for pattern in _SYMBOL_PATTERNS:
        sym_match = pattern.search(message)
        if sym_match:
            sym = sym_match.group("sym")
            line = _line_of_definition(source, sym, last="more than once" in message)
            return f"{filename}:{line}: {message}"
    return f"{filename}: {message}"


def _has_rules(source: str) -> bool:
    """Whether anything but comments, metadata and blank lines is written yet."""
    return any(line.split("//", 1)[0].strip() for line in source.splitlines())


def _point_at(filename: str, source: str, line: int, column: int) -> str:
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    hint = (
        'an unfinished /regular expression/ or "literal"? Each ends on its own line'
        if text.count("/") % 2 == 1 or text.count('"') % 2 == 1
        else "a rule reads 'name: parts', a terminal 'NAME: /regex/' or 'NAME: \"text\"'"
    )
    return (
        f"{filename}:{line}: the grammar itself does not read here (column {column})"
        f"\n    {text}\n    {' ' * (max(column, 1) - 1)}^\nhint: {hint}"
    )


def _describe_collision(filename: str, source: str, one: str, other: str, message: str) -> str:
    """A collision, at the admin's own terminal (never at the %import line that names the
    shared one), with the rules that use them and the docs' advice."""
    own = [sym for sym in (one, other) if _defined_line(source, sym)]
    # Lark names the pair in no fixed order: the admin's own terminal first, then by name
    one, other = sorted((one, other), key=lambda sym: (sym not in own, sym))
    example = message.split("\n", 1)[1].strip() if "\n" in message else ""
    if own:
        line = _defined_line(source, own[0])
        at = f"terminal {own[0]}"
    else:  # both shared: the first rule that uses one of them
        line = min((n for n in (_rule_use(source, one), _rule_use(source, other)) if n), default=0)
        at = "both from common.lark"
    where = {
        sym: f"line {_defined_line(source, sym)}" if _defined_line(source, sym) else "common.lark"
        for sym in (one, other)
    }
    users = sorted({r for sym in (one, other) for r in _rules_using(source, sym)})
    used = f"; used by the rules {', '.join(users)}" if users else ""
    if own:
        hint = f"give the more specific one a higher priority, e.g. {own[0]}.2: ... at line {line}"
    else:
        hint = (
            "both come from common.lark: for the text one rule means, define a terminal of "
            "your own with a higher priority (e.g. _TOTAL.2: /TOTAL(?!\\w)/) and use it there"
        )
    return (
        f"{filename}:{line}: Collision between Terminals {one} ({where[one]}) and {other} "
        f"({where[other]}): both can read the same text ({at}{used})\n{example}\n"
        f"hint: {hint}; write 'not followed by a letter' as (?!\\w), not \\b (the lint "
        "cannot read \\b)"
    )


def _defined_line(source: str, symbol: str) -> int:
    definition = re.compile(rf"^\s*[?!]?{re.escape(symbol)}(?:\.-?\d+)?\s*:")
    for number, line in enumerate(source.splitlines(), 1):
        if definition.match(line):
            return number
    return 0


_RULE_HEAD = re.compile(r"^\s*[?!]?(\w+)(?:\.-?\d+)?\s*:")


def _rules_using(source: str, symbol: str) -> list[str]:
    """The rules (and terminals) whose definition mentions ``symbol``."""
    word = re.compile(rf"(?<![\w.]){re.escape(symbol)}(?!\w)")
    users: list[str] = []
    current = None
    for line in source.splitlines():
        code = line.split("//", 1)[0]
        head = _RULE_HEAD.match(code)
        if head:
            current = head.group(1)
            code = code[head.end() :]
        elif code.strip().startswith("%"):
            current = None
            continue
        if current and current != symbol and word.search(code) and current not in users:
            users.append(current)
    return users


def _rule_use(source: str, symbol: str) -> int:
    """The first line, outside ``%import``, that uses ``symbol``."""
    word = re.compile(rf"(?<![\w.]){re.escape(symbol)}(?!\w)")
    for number, line in enumerate(source.splitlines(), 1):
        code = line.split("//", 1)[0]
        if not code.strip().startswith("%") and word.search(code):
            return number
    return 0


def _common_terminals() -> set[str]:
    text = (GRAMMAR_DIR / "common.lark").read_text(encoding="utf-8")
    return set(re.findall(r"^(\w+)(?:\.-?\d+)?\s*:", text, re.M))


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else message


def _line_of_use(source: str, symbol: str) -> int:
    """The first line that uses ``symbol`` outside a comment (unknown names have no definition)."""
    word = re.compile(rf"(?<![\w.]){re.escape(symbol)}(?!\w)")
    for number, line in enumerate(source.splitlines(), 1):
        code = line.split("//", 1)[0]
        if word.search(code):
            return number
    return 0


def _line_of_definition(source: str, symbol: str, last: bool = False) -> int:
    """Where ``symbol`` is defined (the last definition when it is defined twice)."""
    definition = re.compile(rf"^\s*[?!]?{re.escape(symbol)}(?:\.-?\d+)?\s*:")
    found = [n for n, line in enumerate(source.splitlines(), 1) if definition.match(line)]
    if found:
        return found[-1] if last else found[0]
    return _line_of_use(source, symbol)


# -- receipt errors ---------------------------------------------------------------------------


def _line_of(exc: UnexpectedInput) -> int | None:
    return exc.line if isinstance(exc.line, int) and exc.line > 0 else None


def describe_parse_error(layout: Layout, text: str, exc: UnexpectedInput) -> str:
    """An error an admin can act on: where, what was there, what the grammar expected, a hint."""
    lines = text.splitlines()
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        where = f"the receipt ended ({len(lines)} lines) before the layout was complete"
        expected = set(exc.expected)
        shown = ""
        hint = (
            "the receipt lacks lines the grammar requires at its end; make them optional "
            "with [ ] or ?, or check that the whole receipt was captured"
        )
    else:
        line, column = exc.line, exc.column
        line_text = lines[line - 1] if 0 < line <= len(lines) else ""
        if isinstance(exc, UnexpectedCharacters):
            found = repr(exc.char) if exc.char != "\n" else "the end of the line"
            expected = set(exc.allowed or ())
            hint = (
                "no terminal the grammar allows here matches this text; widen the terminal's "
                "pattern, or add a rule for this kind of line"
            )
        else:
            assert isinstance(exc, UnexpectedToken)
            token = exc.token
            found = f"{token.type} {str(token)!r}"
            expected = set(exc.expected)
            hint = (
                f"the text was read as {token.type}, which no rule allows here; give the "
                "terminal you meant a higher priority (e.g. _TOTAL.2), or add the line to a rule"
            )
        where = f"receipt line {line}, column {column}: unexpected {found}"
        shown = f"\n    {line_text}\n    {' ' * (column - 1)}^"
        if "_NL" in expected and len(expected) <= 3 and column > 1:
            hint = "the grammar expected the line to end here; the line has more columns"
    listed = "\n".join(
        f"  {name:<16} {_shorten(layout.terminal_pattern(name))}"
        for name in sorted(expected)
        if name != "$END"
    )
    if "$END" in expected:
        listed += "\n  (or the end of the receipt)"
    return f"layout {layout.name}: {where}{shown}\nexpected one of:\n{listed}\nhint: {hint}"


def _shorten(pattern: str, width: int = 90) -> str:
    return pattern if len(pattern) <= width else pattern[: width - 1] + "…"
