"""The daemon's TOML config: loaded once at start, checked in full, frozen.

Every problem is reported, not just the first, and each names its key (``till "front"
(tills[0]).mode``), what is wrong and what is allowed: an admin fixes the file in one go.
Unknown keys are errors, so a typo never silently falls back to a default.

Relative paths in the file (journal, capture folder, a SQLite database, a ``.lark`` layout) are
read from the config file's folder, not from wherever the daemon happened to start.

Endpoints (``parse_endpoint``) are written as strings or tables, the same syntax the ``send``
command takes::

    "tcp:HOST:PORT"                        listen side: a listener; printer side: a client
    "serial:DEVICE[:BAUD[:FRAMING][:FLOW]]" e.g. "serial:/dev/ttyS0:9600:8N1:rtscts"
    "file:/dev/usb/lp0"                    printer side only
    {serial = "/dev/ttyS0", baudrate = 19200, parity = "E", flow = "rtscts"}
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

from bridge.session import EndOfReceipt, Mode, SessionConfig
from bridge.texts import DEFAULT_LANGUAGE, LANGUAGES

if TYPE_CHECKING:
    from drivers.escpos_out import PrinterProfile
    from drivers.render.paper import Paper

__all__ = [
    "DEFAULT_PATHS",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "DeviceFile",
    "EndOfReceipt",
    "Endpoint",
    "LoyaltyConfig",
    "Mode",
    "SerialPortConfig",
    "Side",
    "TcpConnect",
    "TcpListen",
    "TillConfig",
    "config_warnings",
    "default_config",
    "find_config",
    "load_config",
    "parse_endpoint",
]

DEFAULT_PATHS = (Path("tillbridge.toml"), Path("/etc/tillbridge/tillbridge.toml"))
DEFAULT_DATABASE = "tillbridge.db"
DEFAULT_JOURNAL = "tillbridge-journal.jsonl"
DEFAULT_LAYOUT = "generic"
# A shop on its own needs no store id; shops sharing a database (a chain) each set theirs.
DEFAULT_STORE = "main"
IDENTIFIER_LENGTH = 31  # chain and store ids: "chain/store" fits the ledger's 64 characters
_IDENTIFIER = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{IDENTIFIER_LENGTH - 1}}}")
DEFAULT_PROFILE = "TM-T88V"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
MAX_HOLD_MS = (50, 10_000)
DEFAULT_UNREAD_MAX_MB = 500
UNREAD_MAX_MB = (1, 1_000_000)
IDLE_GAP_MS = (100, 60_000)
COLUMNS = (16, 128)
MAX_CONNECTIONS = (1, 1000)
IDLE_TIMEOUT_S = (0, 86_400)  # 0: off
LISTEN_BACKLOG = (1, 4096)
# Keys that only mean something for a TCP till side (a listener).
TCP_LISTEN_KEYS = (
    "allow",
    "max_connections",
    "idle_timeout_s",
    "listen_backlog",
    "printer_check_s",
)
PRINTER_CHECK_S = (0, 3600)  # 0: off
PARSE_WORKERS = (1, 16)
PARSE_TIMEOUT_MS = (100, 600_000)
FLOWS = ("none", "rtscts", "xonxoff", "dsrdtr")
BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)
# pyserial's one-letter parity codes; the long names are accepted in the file too.
PARITIES = {"N": "none", "E": "even", "O": "odd", "M": "mark", "S": "space"}
_FRAMING_RE = re.compile(r"([5-8])([NEOMS])(1|1\.5|2)", re.IGNORECASE)
_WILDCARD_HOSTS = frozenset(("", "0.0.0.0", "::", "*"))
_LOOPBACK_HOSTS = frozenset(("localhost", "127.0.0.1", "::1"))

Side = Literal["listen", "printer"]


class ConfigError(ValueError):
    """What is wrong with the config: ``str()`` is ``FILE: key: message``.

    ``load_config`` raises one ConfigError holding every problem in ``errors``; its ``str()``
    lists each on its own line.
    """

    def __init__(
        self,
        key: str,
        message: str,
        file: str | Path | None = None,
        errors: tuple[ConfigError, ...] = (),
    ) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message
        self.file = str(file) if file is not None else None
        self.errors: tuple[ConfigError, ...] = errors or (self,)

    def __str__(self) -> str:
        if self.errors != (self,):
            return "\n".join(str(error) for error in self.errors)
        parts = [part for part in (self.file, self.key) if part]
        return ": ".join([*parts, self.message])


# --- endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TcpListen:
    """The till side: tills connect here, as they would to a network printer."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"tcp:{_host_text(self.host)}:{self.port}"


@dataclass(frozen=True, slots=True)
class TcpConnect:
    """The printer side: a network printer (raw TCP, usually port 9100)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"tcp:{_host_text(self.host)}:{self.port}"


@dataclass(frozen=True, slots=True)
class SerialPortConfig:
    """A serial port on either side. ``parity`` is pyserial's letter (N, E, O, M, S).

    ``flow = "dsrdtr"`` is carried out as RTS/CTS: an Epson TM printer signals busy on DTR and
    the cable brings that to the host's CTS (docs/config.md).
    """

    device: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    flow: str = "none"

    def __str__(self) -> str:
        stop = f"{self.stopbits:g}"
        return (
            f"serial:{self.device}:{self.baudrate}:{self.bytesize}{self.parity}{stop}:{self.flow}"
        )


@dataclass(frozen=True, slots=True)
class DeviceFile:
    """The printer side: a printer device file such as ``/dev/usb/lp0``."""

    path: Path

    def __str__(self) -> str:
        return f"file:{self.path}"


Endpoint = TcpListen | TcpConnect | SerialPortConfig | DeviceFile


def parse_endpoint(
    value: str | Mapping[str, Any], side: Side, key: str = "", base: Path | None = None
) -> Endpoint:
    """The endpoint written as ``value`` (string or table, see the module docstring).

    ``side`` is ``"listen"`` (the till's side) or ``"printer"``: ``tcp:`` means a listener on
    the first and a client on the second, and ``file:`` is valid only on the second. ``key``
    names the value in errors; ``base`` is the folder a relative ``file:`` path is read from.
    Raises ``ConfigError``.
    """
    problems: list[ConfigError] = []
    endpoint = _endpoint(value, side, key, problems.append, base)
    if problems:
        raise problems[0] if len(problems) == 1 else ConfigError(key, "", errors=tuple(problems))
    assert endpoint is not None
    return endpoint


Report = Callable[[ConfigError], None]


def _endpoint(
    value: object, side: Side, key: str, report: Report, base: Path | None
) -> Endpoint | None:
    if isinstance(value, str):
        return _endpoint_from_text(value, side, key, report, base)
    if isinstance(value, Mapping):
        return _endpoint_from_table(value, side, key, report, base)
    report(ConfigError(key, f"expected an endpoint string or table, not {_kind(value)}"))
    return None


_SYNTAX = 'use "tcp:HOST:PORT", "serial:DEVICE[:BAUD[:8N1][:FLOW]]"'


def _syntax(side: Side) -> str:
    return _SYNTAX + (' or "file:PATH"' if side == "printer" else "")


def _endpoint_from_text(
    text: str, side: Side, key: str, report: Report, base: Path | None
) -> Endpoint | None:
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("tcp", "serial", "file"):
        report(ConfigError(key, f"{_show(text)} is not an endpoint; {_syntax(side)}"))
        return None
    if scheme == "tcp":
        return _tcp(rest, side, key, report)
    if scheme == "file":
        return _device_file(rest, side, key, report, base)
    device, *parts = rest.split(":")
    settings: dict[str, Any] = {}
    if parts:
        baud = parts.pop(0)
        settings["baudrate"] = int(baud) if baud.isdigit() else baud
    if parts and parts[0][:1].isdigit():
        framing = _FRAMING_RE.fullmatch(parts.pop(0))
        if framing is None:
            report(
                ConfigError(
                    key,
                    f"{_show(text)}: the framing is written like 8N1: data bits 5 to 8, parity "
                    "N, E, O, M or S, stop bits 1, 1.5 or 2",
                )
            )
            return None
        settings["bytesize"] = int(framing.group(1))
        settings["parity"] = framing.group(2)
        settings["stopbits"] = float(framing.group(3))
    if parts:
        settings["flow"] = parts.pop(0)
    if parts:
        report(
            ConfigError(
                key,
                f"{_show(text)}: too many parts after the device; "
                'use "serial:DEVICE[:BAUD[:8N1][:FLOW]]", e.g. "serial:/dev/ttyS0:9600:8N1:rtscts"',
            )
        )
        return None
    return _serial(device, settings, key, report, from_text=True)


_TABLE_KINDS = ("tcp", "serial", "file")
_SERIAL_KEYS = ("baudrate", "bytesize", "parity", "stopbits", "flow")


def _endpoint_from_table(
    table: Mapping[str, Any], side: Side, key: str, report: Report, base: Path | None
) -> Endpoint | None:
    kinds = [kind for kind in _TABLE_KINDS if kind in table]
    if len(kinds) != 1:
        report(
            ConfigError(
                key,
                "an endpoint table needs exactly one of tcp, serial"
                + (", file" if side == "printer" else "")
                + ' (e.g. {serial = "/dev/ttyS0", baudrate = 19200})',
            )
        )
        return None
    kind = kinds[0]
    allowed = (kind, *_SERIAL_KEYS) if kind == "serial" else (kind,)
    _no_unknown_keys(table, allowed, key, report)
    target = table[kind]
    if not isinstance(target, str):
        report(ConfigError(_join(key, kind), f"expected a string, not {_kind(target)}"))
        return None
    if kind == "tcp":
        endpoint: Endpoint | None = _tcp(target, side, _join(key, kind), report)
    elif kind == "file":
        endpoint = _device_file(target, side, _join(key, kind), report, base)
    else:
        settings = {name: table[name] for name in _SERIAL_KEYS if name in table}
        endpoint = _serial(target, settings, key, report, from_text=False)
    return endpoint


def _tcp(rest: str, side: Side, key: str, report: Report) -> TcpListen | TcpConnect | None:
    host, colon, port_text = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # [::1]:9100
    if not colon or not host:
        example = "tcp:127.0.0.1:9100" if side == "listen" else "tcp:192.168.1.50:9100"
        report(ConfigError(key, f'"tcp:{rest}" needs a host and a port, e.g. {_show(example)}'))
        return None
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            report(ConfigError(key, f"{_show(host)} is not a host name or address"))
            return None
    elif not re.fullmatch(r"[A-Za-z0-9._-]+|\*", host):
        report(ConfigError(key, f"{_show(host)} is not a host name or address"))
        return None
    if host == "*":
        host = "0.0.0.0"
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        report(ConfigError(key, f"port {_show(port_text)} is not a number from 1 to 65535"))
        return None
    if side == "printer" and host in _WILDCARD_HOSTS:
        report(ConfigError(key, f"{_show(host)} listens on every address; name the printer's host"))
        return None
    cls = TcpListen if side == "listen" else TcpConnect
    return cls(host, int(port_text))


def _device_file(
    text: str, side: Side, key: str, report: Report, base: Path | None
) -> DeviceFile | None:
    if side != "printer":
        report(
            ConfigError(
                key,
                f'"file:{text}": a device file can only be a printer; a till connects over '
                'TCP ("tcp:HOST:PORT") or a serial port ("serial:DEVICE")',
            )
        )
        return None
    if not text:
        report(ConfigError(key, '"file:" needs a path, e.g. "file:/dev/usb/lp0"'))
        return None
    return DeviceFile(_resolve(Path(text), base))


def _serial(
    device: str, settings: Mapping[str, Any], key: str, report: Report, from_text: bool
) -> SerialPortConfig | None:
    """``settings`` as written; ``from_text``: they came from the string form (errors then
    name the endpoint key, not the table's sub-keys)."""
    problems: list[ConfigError] = []

    def sub(name: str) -> str:
        return key if from_text else _join(key, name)

    if not device:
        problems.append(ConfigError(key, 'a serial endpoint needs a device, e.g. "/dev/ttyS0"'))
    baudrate = settings.get("baudrate", 9600)
    if not _is_int(baudrate) or not 50 <= baudrate <= 4_000_000:
        problems.append(
            ConfigError(
                sub("baudrate"),
                f"baud rate {_show(baudrate)} is not a whole number from 50 to 4000000 "
                "(usually 9600, 19200, 38400 or 115200)",
            )
        )
    bytesize = settings.get("bytesize", 8)
    if not _is_int(bytesize) or bytesize not in BYTESIZES:
        problems.append(ConfigError(sub("bytesize"), f"{_show(bytesize)} is not one of 5, 6, 7, 8"))
    parity = settings.get("parity", "N")
    letter = _parity_letter(parity)
    if letter is None:
        problems.append(
            ConfigError(
                sub("parity"),
                f"{_show(parity)} is not one of N, E, O, M, S (or none, even, odd, mark, space)",
            )
        )
    stopbits = settings.get("stopbits", 1)
    if (
        isinstance(stopbits, bool)
        or not isinstance(stopbits, int | float)
        or (stopbits not in STOPBITS)
    ):
        problems.append(ConfigError(sub("stopbits"), f"{_show(stopbits)} is not one of 1, 1.5, 2"))
    flow = settings.get("flow", "none")
    if not isinstance(flow, str) or flow.lower() not in FLOWS:
        problems.append(ConfigError(sub("flow"), f"{_show(flow)} is not one of {', '.join(FLOWS)}"))
    for problem in problems:
        report(problem)
    if problems:
        return None
    return SerialPortConfig(
        device=device,
        baudrate=baudrate,
        bytesize=bytesize,
        parity=letter or "N",
        stopbits=int(stopbits) if float(stopbits).is_integer() else float(stopbits),
        flow=flow.lower(),
    )


def _parity_letter(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    upper = value.upper()
    if upper in PARITIES:
        return upper
    for letter, name in PARITIES.items():
        if value.lower() == name:
            return letter
    return None


# --- the config ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str  # any SQLAlchemy URL; a relative SQLite path is made absolute at load


@dataclass(frozen=True, slots=True)
class LoyaltyConfig:
    points_per_unit: Decimal = Decimal(1)  # points per currency unit, when there is no rules file
    claim_url: str | None = None  # where a claim code's QR code points
    # The programme's rules file (``docs/programme.md``): earning rules, rewards, expiry. None:
    # ``points_per_unit`` of the net amount, nothing else.
    rules: Path | None = None
    template: Path | None = None  # the store's own message template (Jinja2); None: ours
    # A receipt printed while the database is away says "points pending" (False: prints nothing).
    points_pending: bool = True


@dataclass(frozen=True, slots=True)
class TillConfig:
    name: str
    listen: Endpoint  # TcpListen or SerialPortConfig
    printer: Endpoint  # TcpConnect, SerialPortConfig or DeviceFile
    layout: str = DEFAULT_LAYOUT  # shipped layout name, or an absolute path to a .lark file
    profile: str = DEFAULT_PROFILE  # python-escpos capability profile
    columns: int | None = None  # overrides the profile's Font A columns
    # The paper, when the profile's is wrong for it: "58mm", "80mm", "DOTS" or "DOTSxCOLUMNS"
    # (drivers.render.paper). It sizes the message and the pictures of the till's receipts.
    paper: str | None = None
    mode: Mode = Mode.INJECT
    end_of_receipt: EndOfReceipt = EndOfReceipt.CUT
    max_hold_ms: int = 1500
    idle_gap_ms: int = 2000
    language: str = DEFAULT_LANGUAGE  # of the loyalty message: en, es, fr, de, pl
    # TCP till side only (drivers.access). allow None: loopback only on a loopback listener,
    # anyone otherwise (check-config and the daemon warn).
    allow: tuple[str, ...] | None = None  # addresses and networks, normalised ("10.0.0.0/24")
    max_connections: int = 64  # open at once (waiting their turn included); one more is refused
    idle_timeout_s: int = 300  # a connection silent this long is reset; 0: never
    # While no till is connected, a network printer is checked this often, so a printer
    # switched off meanwhile refuses the till's next connection; 0: never.
    printer_check_s: int = 5
    listen_backlog: int = 50  # connections the kernel queues before they are accepted
    # The shop this till is in: with the config's chain, what its receipts are known by in the
    # ledger (never the header the till prints: two shops may print the same name).
    store: str = DEFAULT_STORE

    def session_config(self) -> SessionConfig:
        """The interceptor settings for this till."""
        return SessionConfig(
            mode=self.mode,
            end_of_receipt=self.end_of_receipt,
            max_hold=self.max_hold_ms / 1000,
            idle_gap=self.idle_gap_ms / 1000,
            till=self.name,
        )

    def printer_profile(self) -> PrinterProfile:
        """The printer's facts from python-escpos, with the configured columns if any."""
        from drivers.escpos_out import PrinterProfile

        overrides: dict[str, int] = {}
        if self.paper is not None:
            from drivers.render.paper import Paper

            paper = Paper.parse(self.paper)
            overrides = {"dots": paper.dots, "columns": paper.columns}
        if self.columns is not None:
            overrides["columns"] = self.columns
        return PrinterProfile.from_escpos(self.profile, **overrides)

    def picture_paper(self) -> Paper:
        """The paper pictures of this till's receipts are drawn on (PNG, HTML)."""
        from drivers.render.paper import Paper

        return Paper.from_profile(self.printer_profile())


@dataclass(frozen=True, slots=True)
class Config:
    database: DatabaseConfig
    loyalty: LoyaltyConfig
    journal: Path
    capture_dir: Path | None
    log_level: str  # a logging level name: DEBUG, INFO, WARNING, ERROR, CRITICAL
    tills: tuple[TillConfig, ...]
    source: Path | None = None  # the file it was read from; None for the embedded defaults
    # The unread/ folder's size cap: past it the oldest captures are removed (logged).
    unread_max_mb: int = DEFAULT_UNREAD_MAX_MB
    log_file: Path | None = None  # None: standard error; a file is reopened on SIGHUP
    parse_workers: int = 2  # processes reading receipts
    parse_timeout_ms: int = 5000  # a parse running longer is stuck: its process is killed
    chain: str = ""  # the chain's id, when several shops share one database; "" for one shop

    def store_id(self, till: TillConfig) -> str:
        """The store a till's receipts belong to in the ledger: ``chain/store``, or the
        store alone for a shop of its own."""
        return f"{self.chain}/{till.store}" if self.chain else till.store


def default_config(workdir: Path) -> Config:
    """The embedded defaults the demo runs with: everything in ``workdir``, one till."""
    workdir = workdir.resolve()
    return Config(
        database=DatabaseConfig(f"sqlite:///{workdir / DEFAULT_DATABASE}"),
        loyalty=LoyaltyConfig(),
        journal=workdir / DEFAULT_JOURNAL,
        capture_dir=None,
        log_level="INFO",
        tills=(
            TillConfig(
                name="demo",
                listen=TcpListen("127.0.0.1", 9100),
                printer=TcpConnect("127.0.0.1", 9101),
            ),
        ),
    )


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file to read: ``explicit`` if given (whether or not it exists, so that a
    wrong path is reported), else the first of ``DEFAULT_PATHS`` that exists, else None."""
    if explicit is not None:
        return Path(explicit)
    return next((path for path in DEFAULT_PATHS if path.is_file()), None)


def load_config(path: str | Path) -> Config:
    """The config in ``path``, checked in full; raises one ``ConfigError`` listing every
    problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError("", f"cannot read the file: {error.strerror or error}", path) from None
    except UnicodeDecodeError:
        raise ConfigError("", "the file is not UTF-8 text", path) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"not valid TOML: {error}", path) from None
    problems: list[ConfigError] = []
    config = _Loader(path, problems.append).config(data)
    if problems:
        located = tuple(ConfigError(p.key, p.message, path) for p in problems)
        raise ConfigError(located[0].key, located[0].message, path, errors=located)
    assert config is not None
    return config


def config_warnings(config: Config) -> list[str]:
    """What is allowed but probably unwise: ``check-config`` prints these, the daemon logs
    them at its start."""
    from drivers.access import is_loopback_host  # Twisted: only when asked

    found: list[str] = []
    if config.loyalty.template is not None:
        from bridge.message_template import check_template

        found += [
            f"loyalty.template: {config.loyalty.template.name}: {problem}"
            for problem in check_template(config.loyalty.template)
            if problem.warning
        ]
    for till in config.tills:
        listen = till.listen
        if not isinstance(listen, TcpListen):
            continue
        where = f'till "{till.name}"'
        if till.allow is None and not is_loopback_host(listen.host):
            scope = "every interface" if listen.host in _WILDCARD_HOSTS else listen.host
            found.append(
                f"{where}: listens on {scope} ({listen}) with no allow list: any host that "
                'reaches this machine can print through it; set allow = ["<the till\'s address>"]'
            )
        elif till.allow == ():
            found.append(f"{where}: allow = [] refuses every connection: the till cannot print")
    if config.database.url.startswith("postgres") and not config.chain:
        found.append(
            'a PostgreSQL database and no chain = "..." set: if other shops share this '
            'database, give the chain an id and each shop its own store = "..." (receipts '
            "are told apart by chain, store, till and number)"
        )
    return found


_TOP_KEYS = (
    "log_level",
    "log_file",
    "journal",
    "capture_dir",
    "unread_max_mb",
    "parse_workers",
    "parse_timeout_ms",
    "chain",
    "store",
    "database",
    "loyalty",
    "tills",
)
_TILL_KEYS = tuple(f for f in TillConfig.__dataclass_fields__)
E = TypeVar("E", bound=Enum)


class _Loader:
    """Reads the parsed TOML into a ``Config``, reporting each problem and carrying on."""

    def __init__(self, path: Path, report: Report) -> None:
        self.source = path.resolve()
        self.base = self.source.parent
        self._report = report
        self.errors = 0  # problems reported so far: a part that added none is usable

    def report(self, error: ConfigError) -> None:
        self.errors += 1
        self._report(error)

    def error(self, key: str, message: str) -> None:
        self.report(ConfigError(key, message))

    def config(self, data: dict[str, Any]) -> Config | None:
        self.unknown(data, _TOP_KEYS, "")
        database = self.database(self.table(data, "database"))
        loyalty = self.loyalty(self.table(data, "loyalty"))
        journal = self.path(data, "journal", DEFAULT_JOURNAL)
        capture_dir = self.path(data, "capture_dir", None)
        log_level = self.choice(data, "log_level", "log_level", LOG_LEVELS, "info")
        unread_max_mb = self.int_in(data, "unread_max_mb", "", UNREAD_MAX_MB)
        log_file = self.path(data, "log_file", None)
        parse_workers = self.int_in(data, "parse_workers", "", PARSE_WORKERS)
        parse_timeout_ms = self.int_in(data, "parse_timeout_ms", "", PARSE_TIMEOUT_MS)
        chain = self.identifier(data, "chain", "", "")
        store = self.identifier(data, "store", "", DEFAULT_STORE)
        tills = self.tills(data.get("tills"), store or DEFAULT_STORE)
        if self.errors:
            return None
        assert database and loyalty and journal and log_level and tills
        return Config(
            database=database,
            loyalty=loyalty,
            journal=journal,
            capture_dir=capture_dir,
            log_level=log_level.upper(),
            tills=tills,
            source=self.source,
            unread_max_mb=unread_max_mb or DEFAULT_UNREAD_MAX_MB,
            log_file=log_file,
            parse_workers=2 if parse_workers is None else parse_workers,
            parse_timeout_ms=5000 if parse_timeout_ms is None else parse_timeout_ms,
            chain=chain or "",
        )

    # -- sections

    def database(self, table: dict[str, Any] | None) -> DatabaseConfig | None:
        if table is None:
            return None
        self.unknown(table, ("url",), "database")
        url = table.get("url", f"sqlite:///{DEFAULT_DATABASE}")
        if not isinstance(url, str):
            self.error("database.url", f"expected a string, not {_kind(url)}")
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            parsed = make_url(url)
            parsed.get_dialect()
        except NoSuchModuleError:
            self.error(
                "database.url",
                f"unknown database kind {_show(parsed.drivername)}; use sqlite or postgresql",
            )
            return None
        except (ArgumentError, ValueError):
            self.error(
                "database.url",
                f"{_show(_hide_password(url))} is not a SQLAlchemy URL "
                '(e.g. "sqlite:////var/lib/tillbridge/tillbridge.db" or '
                '"postgresql://user:password@host/tillbridge")',
            )
            return None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            database = Path(parsed.database)
            if not database.is_absolute():
                url = parsed.set(database=str(self.base / database)).render_as_string(
                    hide_password=False
                )
        return DatabaseConfig(url)

    def loyalty(self, table: dict[str, Any] | None) -> LoyaltyConfig | None:
        if table is None:
            return None
        self.unknown(
            table,
            ("points_per_unit", "claim_url", "rules", "template", "points_pending"),
            "loyalty",
        )
        if "rules" in table and "points_per_unit" in table:
            self.error(
                "loyalty.points_per_unit",
                "set either points_per_unit or a rules file, not both: the rules file has its "
                "own base rate",
            )
        points = Decimal(1)
        if "points_per_unit" in table:
            value = table["points_per_unit"]
            parsed = _positive_decimal(value)
            if parsed is None:
                if isinstance(value, float):
                    message = (
                        f"{_show(value)} is a TOML float; write it as a string such as "
                        f'"{value}": points are counted in Decimal, and a float is binary'
                    )
                else:
                    message = (
                        f"{_show(value)} is not a positive decimal; write an integer or a string "
                        'such as "1.5"'
                    )
                self.error("loyalty.points_per_unit", message)
            else:
                points = parsed
        claim_url = table.get("claim_url")
        if claim_url is not None:
            parts = urlsplit(claim_url) if isinstance(claim_url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                self.error(
                    "loyalty.claim_url",
                    f'{_show(claim_url)} is not an http(s) URL, e.g. "https://shop.example/claim"',
                )
        rules = self.existing_file(table, "rules", "loyalty.rules")
        if rules is not None:
            from bridge.loyalty.programme import ProgrammeError, load_programme

            try:
                load_programme(rules)
            except ProgrammeError as exc:
                self.error("loyalty.rules", str(exc))
        template = self.existing_file(table, "template", "loyalty.template")
        if template is not None:
            from bridge.message_template import check_template  # Jinja2: only when asked

            for problem in check_template(template):
                if not problem.warning:
                    self.error("loyalty.template", f"{template.name}: {problem}")
        pending = table.get("points_pending", True)
        if not isinstance(pending, bool):
            self.error("loyalty.points_pending", f"expected true or false, not {_kind(pending)}")
            pending = True
        return LoyaltyConfig(points, claim_url, rules, template, pending)

    def existing_file(self, table: Mapping[str, Any], name: str, key: str) -> Path | None:
        value = table.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.error(key, f"expected a path (a non-empty string), not {_kind(value)}")
            return None
        path = _resolve(Path(value), self.base)
        if not path.is_file():
            self.error(key, f"{_show(value)}: no such file ({path})")
            return None
        return path

    def identifier(
        self, table: Mapping[str, Any], name: str, where: str, default: str
    ) -> str | None:
        """A chain or store id: short, and plain enough for ledger columns and file names."""
        value = table.get(name, default)
        if not isinstance(value, str) or not (value == default or _IDENTIFIER.fullmatch(value)):
            self.error(
                _join(where, name),
                f"{_show(value)} is not an id: 1 to {IDENTIFIER_LENGTH} letters, digits, "
                '".", "_" or "-", starting with a letter or digit (e.g. "madrid-centro")',
            )
            return None
        return value

    def tills(self, value: object, store: str) -> tuple[TillConfig, ...] | None:
        if value is None:
            self.error("tills", "no till configured; add a [[tills]] table for each till")
            return None
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            self.error("tills", "expected [[tills]] tables, one per till")
            return None
        if not value:
            self.error("tills", "no till configured; add a [[tills]] table for each till")
            return None
        tills = [self.till(index, table, store) for index, table in enumerate(value)]
        self.check_clashes(value, tills)
        if None in tills:
            return None
        return tuple(t for t in tills if t is not None)

    def till(self, index: int, table: dict[str, Any], store: str) -> TillConfig | None:
        before = self.errors
        name = table.get("name")
        where = f"tills[{index}]"
        if isinstance(name, str) and name.strip():
            where = f'till "{name}" ({where})'
        else:
            self.error(f"{where}.name", "every till needs a name (a non-empty string)")
        self.unknown(table, _TILL_KEYS, where)
        listen = self.endpoint(table, "listen", where)
        printer = self.endpoint(table, "printer", where)
        layout = self.layout(table, where)
        profile = self.profile(table, where)
        columns = self.int_in(table, "columns", where, COLUMNS)
        paper = self.paper(table, where)
        mode = self.enum(table, "mode", where, Mode.INJECT)
        end = self.enum(table, "end_of_receipt", where, EndOfReceipt.CUT)
        max_hold = self.int_in(table, "max_hold_ms", where, MAX_HOLD_MS)
        idle_gap = self.int_in(table, "idle_gap_ms", where, IDLE_GAP_MS)
        language = self.choice(
            table, "language", f"{where}.language", tuple(LANGUAGES), DEFAULT_LANGUAGE
        )
        allow = self.allow(table, where)
        max_connections = self.int_in(table, "max_connections", where, MAX_CONNECTIONS)
        idle_timeout = self.int_in(table, "idle_timeout_s", where, IDLE_TIMEOUT_S)
        backlog = self.int_in(table, "listen_backlog", where, LISTEN_BACKLOG)
        printer_check = self.int_in(table, "printer_check_s", where, PRINTER_CHECK_S)
        till_store = self.identifier(table, "store", where, store)
        if listen is not None and not isinstance(listen, TcpListen):
            for tcp_key in TCP_LISTEN_KEYS:
                if tcp_key in table:
                    self.error(
                        f"{where}.{tcp_key}",
                        'only for a till that connects over TCP (listen = "tcp:..."); '
                        "a serial till has no addresses, connections or backlog",
                    )
        if self.errors != before:
            return None
        assert isinstance(name, str) and listen and printer and layout and profile
        return TillConfig(
            name=name,
            listen=listen,
            printer=printer,
            layout=layout,
            profile=profile,
            columns=columns,
            paper=paper,
            mode=mode,
            end_of_receipt=end,
            max_hold_ms=1500 if max_hold is None else max_hold,
            idle_gap_ms=2000 if idle_gap is None else idle_gap,
            language=language or DEFAULT_LANGUAGE,
            allow=allow,
            max_connections=64 if max_connections is None else max_connections,
            idle_timeout_s=300 if idle_timeout is None else idle_timeout,
            listen_backlog=50 if backlog is None else backlog,
            printer_check_s=5 if printer_check is None else printer_check,
            store=till_store or store,
        )

    def endpoint(self, table: dict[str, Any], side: Side, where: str) -> Endpoint | None:
        key = f"{where}.{side}"
        if side not in table:
            example = "tcp:127.0.0.1:9100" if side == "listen" else "tcp:192.168.1.50:9100"
            self.error(key, f'missing; e.g. {side} = "{example}"')
            return None
        return _endpoint(table[side], side, key, self.report, self.base)

    def layout(self, table: dict[str, Any], where: str) -> str | None:
        from parsers.layouts import UnknownLayoutError, resolve_layout

        value = table.get("layout", DEFAULT_LAYOUT)
        key = f"{where}.layout"
        if not isinstance(value, str) or not value:
            self.error(key, f"expected a layout name or a .lark path, not {_kind(value)}")
            return None
        is_path = value.endswith(".lark") or "/" in value
        name = str(_resolve(Path(value), self.base)) if is_path else value
        if is_path:
            problem = check_grammar_file(Path(name))
            if problem is not None:
                self.error(key, problem)
                return None
            return name
        try:
            # Shipped layouts compile (the tests see to it): only the name is checked here, so
            # the daemon's own process does not hold grammars that its parse worker reads with.
            resolve_layout(name)
        except UnknownLayoutError as error:
            self.error(key, str(error))
            return None
        return name

    def allow(self, table: dict[str, Any], where: str) -> tuple[str, ...] | None:
        if "allow" not in table:
            return None
        value = table["allow"]
        key = f"{where}.allow"
        example = 'e.g. allow = ["192.168.1.20", "10.0.0.0/24"]'
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(
                key, f"expected a list of addresses or networks, not {_kind(value)}; {example}"
            )
            return None
        networks: list[str] = []
        for text in value:
            try:
                networks.append(str(ipaddress.ip_network(text.strip(), strict=False)))
            except ValueError:
                self.error(
                    key,
                    f"{_show(text)} is not an IP address or network (host names are not "
                    f"taken: a till's address is what the bridge sees); {example}",
                )
        return tuple(networks)

    def paper(self, table: dict[str, Any], where: str) -> str | None:
        if "paper" not in table:
            return None
        value = table["paper"]
        from drivers.render.paper import Paper

        try:
            if not isinstance(value, str):
                raise ValueError(f"expected a string, not {_kind(value)}")
            Paper.parse(value)
        except ValueError as exc:
            self.error(f"{where}.paper", f'{exc} (e.g. "58mm", "80mm", "512x42")')
            return None
        return value

    def profile(self, table: dict[str, Any], where: str) -> str | None:
        value = table.get("profile", DEFAULT_PROFILE)
        key = f"{where}.profile"
        if not isinstance(value, str):
            self.error(key, f"expected a python-escpos profile name, not {_kind(value)}")
            return None
        from drivers.escpos_out import PrinterProfile

        try:
            PrinterProfile.from_escpos(value)
        except KeyError:
            close = difflib.get_close_matches(value, _escpos_profile_names(), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else "e.g. TM-T88V, TM-T20II"
            self.error(key, f"{_show(value)} is not a python-escpos printer profile; {hint}")
            return None
        return value

    # -- values

    def check_clashes(self, tables: list[dict[str, Any]], tills: list[TillConfig | None]) -> None:
        seen_names: dict[str, int] = {}
        for index, table in enumerate(tables):
            name = table.get("name")
            if isinstance(name, str) and name.strip():
                if name in seen_names:
                    self.error(
                        f'till "{name}" (tills[{index}]).name',
                        f"the name is already used by tills[{seen_names[name]}]; "
                        "till names must be unique",
                    )
                else:
                    seen_names[name] = index
        ports: list[tuple[TcpListen, str]] = []
        devices: dict[str, str] = {}
        for index, till in enumerate(tills):
            if till is None:
                continue
            where = f'till "{till.name}" (tills[{index}])'
            for side, endpoint in (("listen", till.listen), ("printer", till.printer)):
                key = f"{where}.{side}"
                if isinstance(endpoint, TcpListen):
                    for other, other_key in ports:
                        if other.port == endpoint.port and _hosts_overlap(
                            other.host, endpoint.host
                        ):
                            self.error(key, f"TCP port {endpoint.port} is also {other_key}")
                    ports.append((endpoint, key))
                elif isinstance(endpoint, SerialPortConfig | DeviceFile):
                    device = (
                        endpoint.device
                        if isinstance(endpoint, SerialPortConfig)
                        else str(endpoint.path)
                    )
                    if device in devices:
                        self.error(key, f"{device} is also {devices[device]}")
                    else:
                        devices[device] = key
        # A printer address that is one of our own listeners would feed the bridge to itself.
        for index, till in enumerate(tills):
            if till is not None and isinstance(till.printer, TcpConnect):
                for listener, listen_key in ports:
                    if listener.port == till.printer.port and _same_host(
                        listener.host, till.printer.host
                    ):
                        self.error(
                            f'till "{till.name}" (tills[{index}]).printer',
                            f"{till.printer} is this bridge's own listener ({listen_key}); "
                            "give the printer's address",
                        )

    def unknown(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        _no_unknown_keys(table, allowed, where, self.report)

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.error(key, f"expected a [{key}] table, not {_kind(value)}")
            return None
        return value

    def path(self, data: dict[str, Any], key: str, default: str | None) -> Path | None:
        value = data.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.error(key, f"expected a path (a non-empty string), not {_kind(value)}")
            return None
        return _resolve(Path(value), self.base)

    def choice(
        self, data: Mapping[str, Any], name: str, key: str, allowed: tuple[str, ...], default: str
    ) -> str | None:
        value = data.get(name, default)
        if not isinstance(value, str) or value.lower() not in allowed:
            self.error(key, f"{_show(value)} is not one of {', '.join(allowed)}")
            return None
        return value.lower()

    def enum(self, table: Mapping[str, Any], name: str, where: str, default: E) -> E:
        """The member named in ``table``, or ``default`` (also when reported as wrong)."""
        enum = type(default)
        values = tuple(str(member.value) for member in enum)
        value = self.choice(table, name, f"{where}.{name}", values, str(default.value))
        return default if value is None else enum(value)

    def int_in(
        self, table: Mapping[str, Any], name: str, where: str, bounds: tuple[int, int]
    ) -> int | None:
        """The whole number in ``table``; None when absent or (reported) out of bounds."""
        if name not in table:
            return None
        value = table[name]
        low, high = bounds
        if not _is_int(value) or not low <= value <= high:
            self.error(
                _join(where, name), f"{_show(value)} is not a whole number from {low} to {high}"
            )
            return None
        return value


# --- helpers ---------------------------------------------------------------------------------


# An admin's grammar is compiled and linted (Lark strict mode) in a child process: a
# pathological regular expression can keep the linter busy for minutes.
GRAMMAR_CHECK_SECONDS = 60.0
_CHECK_GRAMMAR = """
import sys
from parsers.layouts import GrammarError, Layout, UnknownLayoutError
try:
    Layout.load(sys.argv[1])
except (GrammarError, UnknownLayoutError) as error:
    print(error)
    sys.exit(1)
"""


def check_grammar_file(path: Path) -> str | None:
    """Why the grammar file at ``path`` cannot be a layout, or None if it compiles."""
    import subprocess
    import sys

    if not path.is_file():
        return f"no grammar file at {path}"
    try:
        result = subprocess.run(
            [sys.executable, "-c", _CHECK_GRAMMAR, str(path)],
            capture_output=True,
            text=True,
            timeout=GRAMMAR_CHECK_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return (
            f"the grammar took more than {GRAMMAR_CHECK_SECONDS:.0f} s to check: a regular "
            "expression that can match the same text in many ways? (docs/grammars.md)"
        )
    if result.returncode == 0:
        return None
    message = result.stdout.strip() or (result.stderr.strip().splitlines() or ["?"])[-1]
    return f"the grammar does not compile: {message}"


def _no_unknown_keys(
    table: Mapping[str, Any], allowed: tuple[str, ...], where: str, report: Report
) -> None:
    for name in table:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            report(
                ConfigError(
                    _join(where, name), f"unknown key; {hint}allowed here: {', '.join(allowed)}"
                )
            )


def _positive_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _resolve(path: Path, base: Path | None) -> Path:
    path = path.expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return path


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _kind(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(value) if not isinstance(value, dict | list) else _kind(value)


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _hosts_overlap(a: str, b: str) -> bool:
    return a == b or a in _WILDCARD_HOSTS or b in _WILDCARD_HOSTS


def _same_host(listener: str, printer: str) -> bool:
    if listener == printer:
        return True
    return printer in _LOOPBACK_HOSTS and (
        listener in _WILDCARD_HOSTS or listener in _LOOPBACK_HOSTS
    )


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _escpos_profile_names() -> list[str]:
    """python-escpos's capability profile names (already imported by ``from_escpos``)."""
    import escpos.capabilities

    return sorted(escpos.capabilities.CAPABILITIES["profiles"])
