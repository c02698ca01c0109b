"""The TOML config: endpoint syntax, every validation rule, the example file, check-config."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.cli import main
from bridge.config import (
    Config,
    ConfigError,
    DeviceFile,
    EndOfReceipt,
    Mode,
    SerialPortConfig,
    TcpConnect,
    TcpListen,
    default_config,
    find_config,
    load_config,
    parse_endpoint,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tillbridge.example.toml"

TILL = """
[[tills]]
name = "front"
listen = "tcp:127.0.0.1:9100"
printer = "tcp:192.168.1.50:9100"
"""


def write(tmp_path: Path, text: str, name: str = "tillbridge.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> list[str]:
    """Each problem as ``key: message`` (the file name left out)."""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return [f"{error.key}: {error.message}" for error in caught.value.errors]


def till(**keys: object) -> str:
    """One [[tills]] table: the valid front till with ``keys`` added or replaced."""
    values: dict[str, object] = {
        "name": "front",
        "listen": "tcp:127.0.0.1:9100",
        "printer": "tcp:192.168.1.50:9100",
    }
    values.update(keys)
    lines = ["[[tills]]"]
    for key, value in values.items():
        if value is not None:
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    """A value as TOML: strings quoted, unless marked ``RAW:`` (an inline table, say)."""
    if isinstance(value, str):
        return value.removeprefix("RAW:") if value.startswith("RAW:") else f'"{value}"'
    return str(value)


# --- endpoints -------------------------------------------------------------------------------


def test_tcp_endpoint_is_a_listener_on_the_till_side_and_a_client_on_the_printer_side() -> None:
    assert parse_endpoint("tcp:127.0.0.1:9100", "listen") == TcpListen("127.0.0.1", 9100)
    assert parse_endpoint("tcp:printer.lan:9100", "printer") == TcpConnect("printer.lan", 9100)
    assert parse_endpoint("tcp:[::1]:9100", "listen") == TcpListen("::1", 9100)
    assert parse_endpoint("tcp:*:9100", "listen") == TcpListen("0.0.0.0", 9100)
    assert str(TcpListen("::1", 9100)) == "tcp:[::1]:9100"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("serial:/dev/ttyUSB0", SerialPortConfig("/dev/ttyUSB0")),
        ("serial:/dev/ttyUSB0:19200", SerialPortConfig("/dev/ttyUSB0", baudrate=19200)),
        (
            "serial:/dev/ttyS0:9600:8N1:rtscts",
            SerialPortConfig("/dev/ttyS0", 9600, 8, "N", 1, "rtscts"),
        ),
        ("serial:/dev/ttyS0:4800:7e2", SerialPortConfig("/dev/ttyS0", 4800, 7, "E", 2)),
        ("serial:/dev/ttyS0:9600:8O1.5", SerialPortConfig("/dev/ttyS0", 9600, 8, "O", 1.5)),
        ("serial:/dev/ttyS0:9600:xonxoff", SerialPortConfig("/dev/ttyS0", flow="xonxoff")),
    ],
)
def test_serial_endpoint_strings(text: str, expected: SerialPortConfig) -> None:
    assert parse_endpoint(text, "listen") == expected
    assert parse_endpoint(text, "printer") == expected


def test_serial_endpoint_table() -> None:
    table = {"serial": "/dev/ttyS0", "baudrate": 19200, "parity": "E", "flow": "rtscts"}
    assert parse_endpoint(table, "printer") == SerialPortConfig(
        "/dev/ttyS0", 19200, 8, "E", 1, "rtscts"
    )
    long_names = {"serial": "/dev/ttyS0", "parity": "odd", "stopbits": 1.5, "bytesize": 7}
    assert parse_endpoint(long_names, "listen") == SerialPortConfig("/dev/ttyS0", 9600, 7, "O", 1.5)


def test_tcp_and_file_tables() -> None:
    assert parse_endpoint({"tcp": "10.0.0.5:9100"}, "printer") == TcpConnect("10.0.0.5", 9100)
    assert parse_endpoint({"file": "/dev/usb/lp0"}, "printer") == DeviceFile(Path("/dev/usb/lp0"))


def test_file_endpoint_only_on_the_printer_side() -> None:
    assert parse_endpoint("file:/dev/usb/lp0", "printer") == DeviceFile(Path("/dev/usb/lp0"))
    with pytest.raises(ConfigError, match="can only be a printer"):
        parse_endpoint("file:/dev/usb/lp0", "listen")
    with pytest.raises(ConfigError, match="can only be a printer"):
        parse_endpoint({"file": "/dev/usb/lp0"}, "listen")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tcp:127.0.0.1:0", "1 to 65535"),
        ("tcp:127.0.0.1:65536", "1 to 65535"),
        ("tcp:127.0.0.1:http", "1 to 65535"),
        ("tcp:9100", "needs a host and a port"),
        ("tcp:bad host:9100", "not a host name"),
        ("usb:/dev/usb/lp0", "is not an endpoint"),
        ("/dev/ttyS0", "is not an endpoint"),
        ("serial:", "needs a device"),
        ("serial:/dev/ttyS0:fast", "baud rate"),
        ("serial:/dev/ttyS0:9600:9N1", "written like 8N1"),
        ("serial:/dev/ttyS0:9600:8X1", "written like 8N1"),
        ("serial:/dev/ttyS0:9600:8N1:hardware", "is not one of none, rtscts, xonxoff, dsrdtr"),
        ("serial:/dev/ttyS0:9600:8N1:rtscts:more", "too many parts"),
    ],
)
def test_bad_endpoint_strings_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        parse_endpoint(text, "listen", key="--to")
    assert str(caught.value).startswith("--to: ")


def test_printer_must_not_be_a_wildcard_address() -> None:
    with pytest.raises(ConfigError, match="every address"):
        parse_endpoint("tcp:0.0.0.0:9100", "printer")


@pytest.mark.parametrize(
    ("table", "key", "fragment"),
    [
        ({"serial": "/dev/ttyS0", "baud": 9600}, "printer.baud", "did you mean"),
        ({"serial": "/dev/ttyS0", "parity": "X"}, "printer.parity", "N, E, O, M, S"),
        ({"serial": "/dev/ttyS0", "bytesize": 9}, "printer.bytesize", "5, 6, 7, 8"),
        ({"serial": "/dev/ttyS0", "stopbits": 3}, "printer.stopbits", "1, 1.5, 2"),
        ({"serial": "/dev/ttyS0", "baudrate": "9600"}, "printer.baudrate", "whole number"),
        ({"serial": "/dev/ttyS0", "flow": "dtr"}, "printer.flow", "rtscts"),
        ({"serial": 3}, "printer.serial", "expected a string"),
        ({"tcp": "a:1", "serial": "/dev/ttyS0"}, "printer", "exactly one of"),
        ({}, "printer", "exactly one of"),
    ],
)
def test_bad_endpoint_tables_name_the_sub_key(table: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_endpoint(table, "printer", key="printer")
    assert any(e.key == key and fragment in e.message for e in caught.value.errors), str(
        caught.value
    )


@given(
    baud=st.sampled_from([1200, 9600, 19200, 38400, 115200]),
    bits=st.sampled_from([5, 6, 7, 8]),
    parity=st.sampled_from("NEOMS"),
    stop=st.sampled_from([1, 1.5, 2]),
    flow=st.sampled_from(["none", "rtscts", "xonxoff", "dsrdtr"]),
)
def test_a_serial_endpoint_reads_back_from_its_own_text(
    baud: int, bits: int, parity: str, stop: float, flow: str
) -> None:
    endpoint = SerialPortConfig("/dev/ttyS3", baud, bits, parity, stop, flow)
    assert parse_endpoint(str(endpoint), "printer") == endpoint


# --- a whole file ----------------------------------------------------------------------------


def test_the_example_file_loads() -> None:
    config = load_config(EXAMPLE)
    assert [t.name for t in config.tills] == ["front", "back"]
    front, back = config.tills
    assert front.listen == TcpListen("0.0.0.0", 9100)
    assert front.printer == TcpConnect("192.168.1.50", 9100)
    assert (front.mode, front.end_of_receipt, front.columns) == (Mode.INJECT, EndOfReceipt.CUT, 42)
    assert back.listen == SerialPortConfig("/dev/ttyUSB0", 19200, 8, "N", 1, "rtscts")
    assert back.mode is Mode.OBSERVE
    assert config.loyalty.points_per_unit == Decimal(1)
    assert config.log_level == "INFO"
    assert config.source == EXAMPLE


def test_the_example_file_sets_every_key() -> None:
    """The example is the reference: a key the loader knows but the example lacks is a gap."""
    import tomllib

    from bridge.config import _SERIAL_KEYS, _TILL_KEYS, _TOP_KEYS

    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(_TOP_KEYS)
    assert set(data["database"]) == {"url"}
    assert set(data["loyalty"]) == {"points_per_unit", "claim_url"}
    assert set(data["tills"][0]) == set(_TILL_KEYS)
    assert set(data["tills"][1]["listen"]) == {"serial", *_SERIAL_KEYS}


def test_minimal_file_gets_the_defaults_relative_to_its_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TILL))
    (front,) = config.tills
    assert front.layout == "generic" and front.profile == "TM-T88V" and front.columns is None
    assert (front.mode, front.end_of_receipt) == (Mode.INJECT, EndOfReceipt.CUT)
    assert (front.max_hold_ms, front.idle_gap_ms) == (1500, 2000)
    assert config.database.url == f"sqlite:///{tmp_path.resolve() / 'tillbridge.db'}"
    assert config.journal == tmp_path.resolve() / "tillbridge-journal.jsonl"
    assert config.capture_dir is None
    assert config.loyalty.points_per_unit == Decimal(1) and config.loyalty.claim_url is None


def test_relative_paths_are_read_from_the_config_folder(tmp_path: Path) -> None:
    grammar = tmp_path / "layouts" / "mine.lark"
    grammar.parent.mkdir()
    grammar.write_text((ROOT / "parsers/grammars/generic.lark").read_text(encoding="utf-8"))
    text = (
        'journal = "data/journal.jsonl"\ncapture_dir = "captures"\n'
        '[database]\nurl = "sqlite:///data/points.db"\n'
        + till(layout="layouts/mine.lark", printer="file:lp0")
    )
    config = load_config(write(tmp_path, text))
    base = tmp_path.resolve()
    assert config.journal == base / "data/journal.jsonl"
    assert config.capture_dir == base / "captures"
    assert config.database.url == f"sqlite:///{base / 'data/points.db'}"
    assert config.tills[0].layout == str(base / "layouts/mine.lark")
    assert config.tills[0].printer == DeviceFile(base / "lp0")


def test_other_database_urls_are_kept(tmp_path: Path) -> None:
    url = "postgresql://till:secret@db.example/tillbridge"
    config = load_config(write(tmp_path, f'[database]\nurl = "{url}"\n' + TILL))
    assert config.database.url == url


def test_points_per_unit_as_string_or_integer(tmp_path: Path) -> None:
    for written, expected in (
        ('"1.5"', Decimal("1.5")),
        ("2", Decimal(2)),
        ('"0.01"', Decimal("0.01")),
    ):
        text = f"[loyalty]\npoints_per_unit = {written}\n" + TILL
        assert load_config(write(tmp_path, text)).loyalty.points_per_unit == expected


def test_the_rules_file_and_template_are_paths_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "programme.toml").write_text("", encoding="utf-8")
    (tmp_path / "receipt.j2").write_text("", encoding="utf-8")
    text = (
        '[loyalty]\nrules = "programme.toml"\ntemplate = "receipt.j2"\npoints_pending = false\n'
        + TILL
    )
    loyalty = load_config(write(tmp_path, text)).loyalty
    assert loyalty.rules == tmp_path.resolve() / "programme.toml"
    assert loyalty.template == tmp_path.resolve() / "receipt.j2"
    assert loyalty.points_pending is False
    assert load_config(write(tmp_path, TILL)).loyalty.points_pending is True


def test_loyalty_files_must_exist_and_the_base_rate_is_set_once(tmp_path: Path) -> None:
    (tmp_path / "programme.toml").write_text("", encoding="utf-8")
    assert errors_of(tmp_path, '[loyalty]\nrules = "nowhere.toml"\n' + TILL) == [
        f'loyalty.rules: "nowhere.toml": no such file ({tmp_path.resolve() / "nowhere.toml"})'
    ]
    both = '[loyalty]\nrules = "programme.toml"\npoints_per_unit = 2\n'
    [error] = errors_of(tmp_path, both + TILL)
    assert error.startswith("loyalty.points_per_unit: set either points_per_unit or a rules file")
    [error] = errors_of(tmp_path, '[loyalty]\npoints_pending = "yes"\n' + TILL)
    assert error == "loyalty.points_pending: expected true or false, not a string"


def test_till_values_are_read(tmp_path: Path) -> None:
    text = till(
        mode="observe",
        end_of_receipt="idle",
        max_hold_ms=50,
        idle_gap_ms=800,
        columns=48,
        profile="TM-T20II",
        layout="bakery_es",
        language="es",
        listen="serial:/dev/ttyS0:19200:8N1:rtscts",
        printer="RAW:{serial = '/dev/ttyS1', baudrate = 19200, flow = 'rtscts'}",
    )
    (front,) = load_config(write(tmp_path, text)).tills
    assert front.mode is Mode.OBSERVE and front.end_of_receipt is EndOfReceipt.IDLE
    assert (front.max_hold_ms, front.idle_gap_ms, front.columns) == (50, 800, 48)
    assert front.session_config().max_hold == 0.05
    assert front.session_config().idle_gap == 0.8
    assert front.session_config().till == "front"
    assert front.printer_profile().columns == 48
    assert front.printer_profile().name == "TM-T20II"
    assert front.language == "es"


# --- validation rules: each names its key ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            till(mode="injekt"),
            'till "front" (tills[0]).mode: "injekt" is not one of inject, observe, passthrough',
        ),
        (till(end_of_receipt="paper"), 'till "front" (tills[0]).end_of_receipt: "paper"'),
        (till(max_hold_ms=49), "(tills[0]).max_hold_ms: 49 is not a whole number from 50 to 10000"),
        (till(max_hold_ms=10001), "max_hold_ms: 10001 is not a whole number from 50 to 10000"),
        (till(max_hold_ms=1.5), "max_hold_ms: 1.5 is not a whole number"),
        (till(idle_gap_ms=10), "idle_gap_ms: 10 is not a whole number from 100 to 60000"),
        (till(columns=8), "columns: 8 is not a whole number from 16 to 128"),
        (till(language="it"), '(tills[0]).language: "it" is not one of en, es, fr, de, pl'),
        (till(listen="tcp:127.0.0.1:70000"), "(tills[0]).listen: port"),
        (till(printer="tcp:printer:0"), "(tills[0]).printer: port"),
        (till(listen="file:/dev/usb/lp0"), '(tills[0]).listen: "file:/dev/usb/lp0"'),
        (till(layout="genric"), "(tills[0]).layout: unknown layout 'genric'; shipped layouts"),
        (till(layout="missing/mine.lark"), "(tills[0]).layout: no grammar file"),
        (till(profile="TM-T88"), 'profile: "TM-T88" is not a python-escpos printer profile'),
        (till(mde="inject"), '(tills[0]).mde: unknown key; did you mean "mode"?'),
        (till(name=None), "tills[0].name: every till needs a name"),
        (till(name=""), "tills[0].name: every till needs a name"),
        (till(listen=None), "(tills[0]).listen: missing"),
        (till(printer=None), "(tills[0]).printer: missing"),
        (till(listen=9100), "(tills[0]).listen: expected an endpoint string or table"),
        ("tills = []\n", "tills: no till configured"),
        ("", "tills: no till configured"),
        ("tills = 3\n", "tills: expected [[tills]] tables"),
        ('logfile = "x"\n' + TILL, "logfile: unknown key"),
        ('log_level = "loud"\n' + TILL, 'log_level: "loud" is not one of debug, info'),
        ("journal = 3\n" + TILL, "journal: expected a path"),
        ("database = 3\n" + TILL, "database: expected a [database] table"),
        ('[database]\nurl = "sqlite3:///x.db"\n' + TILL, "database.url: unknown database kind"),
        ('[database]\nurl = "not a url"\n' + TILL, "database.url: "),
        ('[database]\nuri = "sqlite://"\n' + TILL, 'database.uri: unknown key; did you mean "url"'),
        ("[loyalty]\npoints_per_unit = 1.5\n" + TILL, "points_per_unit: 1.5 is a TOML float"),
        ('[loyalty]\npoints_per_unit = "0"\n' + TILL, "not a positive decimal"),
        ("[loyalty]\npoints_per_unit = -2\n" + TILL, "not a positive decimal"),
        ('[loyalty]\npoints_per_unit = "lots"\n' + TILL, "not a positive decimal"),
        ('[loyalty]\npoints_per_unit = "NaN"\n' + TILL, "not a positive decimal"),
        ("[loyalty]\npoints_per_unit = true\n" + TILL, "not a positive decimal"),
        ('[loyalty]\nclaim_url = "shop.example"\n' + TILL, 'claim_url: "shop.example" is not'),
    ],
)
def test_each_rule_names_its_key(tmp_path: Path, text: str, expected: str) -> None:
    errors = errors_of(tmp_path, text)
    assert any(expected in error for error in errors), errors


def test_duplicate_names_and_shared_ports_and_devices(tmp_path: Path) -> None:
    text = (
        till()
        + till(name="back", listen="tcp:0.0.0.0:9100", printer="serial:/dev/ttyS1")
        + till(listen="tcp:127.0.0.1:9200", printer="file:/dev/usb/lp0")
        + till(name="side", listen="serial:/dev/ttyS1", printer="file:/dev/usb/lp0")
    )
    errors = errors_of(tmp_path, text)
    assert (
        'till "back" (tills[1]).listen: TCP port 9100 is also till "front" (tills[0]).listen'
        in (errors)
    )
    assert any(
        e.startswith('till "front" (tills[2]).name: the name is already used') for e in errors
    )
    assert 'till "side" (tills[3]).listen: /dev/ttyS1 is also till "back" (tills[1]).printer' in (
        errors
    )
    assert any(e.startswith('till "side" (tills[3]).printer: /dev/usb/lp0 is also') for e in errors)
    assert len(errors) == 4, errors


def test_the_same_port_on_different_addresses_is_fine(tmp_path: Path) -> None:
    text = till() + till(name="back", listen="tcp:192.168.1.10:9100")
    assert len(load_config(write(tmp_path, text)).tills) == 2


@pytest.mark.parametrize(
    ("listen", "printer"),
    [
        ("tcp:0.0.0.0:9100", "tcp:localhost:9100"),
        ("tcp:127.0.0.1:9100", "tcp:127.0.0.1:9100"),
        ("tcp:192.168.1.10:9100", "tcp:192.168.1.10:9100"),
    ],
)
def test_a_printer_that_is_our_own_listener_is_refused(
    tmp_path: Path, listen: str, printer: str
) -> None:
    errors = errors_of(tmp_path, till(listen=listen, printer=printer))
    assert errors == [
        f'till "front" (tills[0]).printer: {printer} is this bridge\'s own listener '
        '(till "front" (tills[0]).listen); give the printer\'s address'
    ]


def test_a_printer_on_another_host_with_the_same_port_is_fine(tmp_path: Path) -> None:
    text = till(listen="tcp:192.168.1.10:9100", printer="tcp:192.168.1.50:9100")
    assert load_config(write(tmp_path, text)).tills[0].printer.port == 9100  # type: ignore[union-attr]


def test_every_error_is_reported_at_once_one_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'log_level = "loud"\n' + till(mode="injekt", max_hold_ms=5))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert (
        lines[0] == f'{path}: log_level: "loud" is not one of debug, info, warning, error, critical'
    )


def test_a_single_error_reads_file_key_message() -> None:
    assert (
        str(ConfigError("tills[0].mode", "bad", "/etc/t.toml")) == "/etc/t.toml: tills[0].mode: bad"
    )
    assert str(ConfigError("mode", "bad")) == "mode: bad"


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(write(tmp_path, "[[tills]\nname = 1"))
    assert str(caught.value).startswith(str(tmp_path / "tillbridge.toml"))


def test_a_layout_that_does_not_compile_is_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.lark").write_text("start: item+\n", encoding="utf-8")
    errors = errors_of(tmp_path, till(layout="broken.lark"))
    assert any("(tills[0]).layout: the grammar does not compile" in e for e in errors), errors


def test_an_admin_grammar_is_checked_with_a_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linting can take minutes on a pathological grammar: it runs in a child process that is
    given up on, and the key says why."""
    import bridge.config

    grammar = Path(__file__).resolve().parents[2] / "parsers" / "grammars" / "bakery_es.lark"
    (tmp_path / "mine.lark").write_text(grammar.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "common.lark").write_text(
        (grammar.parent / "common.lark").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert (
        load_config(write(tmp_path, till(layout="mine.lark"))).tills[0].layout.endswith("mine.lark")
    )
    monkeypatch.setattr(bridge.config, "GRAMMAR_CHECK_SECONDS", 0.001)
    errors = errors_of(tmp_path, till(layout="mine.lark"))
    assert any("(tills[0]).layout: the grammar took more than" in e for e in errors), errors


# --- defaults and finding the file -----------------------------------------------------------


def test_default_config_is_the_demo(tmp_path: Path) -> None:
    config = default_config(tmp_path)
    assert isinstance(config, Config)
    (demo,) = config.tills
    assert demo.name == "demo" and demo.layout == "generic" and demo.profile == "TM-T88V"
    assert demo.listen == TcpListen("127.0.0.1", 9100)
    assert demo.printer == TcpConnect("127.0.0.1", 9101)
    assert demo.mode is Mode.INJECT
    assert config.database.url == f"sqlite:///{tmp_path.resolve() / 'tillbridge.db'}"
    assert config.journal.parent == tmp_path.resolve()


def test_find_config_prefers_the_explicit_path_then_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config("elsewhere.toml") == Path("elsewhere.toml")
    here = write(tmp_path, TILL)
    assert find_config().resolve() == here.resolve()


# --- tillbridge check-config -----------------------------------------------------------------


def test_check_config_summarises_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert 'till "front": tcp:0.0.0.0:9100 -> tcp:192.168.1.50:9100, layout generic' in out
    assert "mode observe" in out
    assert out.rstrip().endswith("config OK")


def test_check_config_lists_every_error_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, till(mode="injekt", layout="genric"))
    assert main(["check-config", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}: ") for line in lines)


def test_check_config_reads_tillbridge_toml_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, TILL.replace("front", "from-cwd"))
    assert main(["check-config"]) == 0
    assert 'till "from-cwd"' in capsys.readouterr().out


def test_check_config_as_a_real_command(tmp_path: Path) -> None:
    good = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check-config", "--config", str(EXAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.rstrip().endswith("config OK")
    bad = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check-config", "--config", str(tmp_path / "no.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "cannot read the file" in bad.stderr


def test_unread_max_mb_has_a_default_and_bounds(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, TILL)).unread_max_mb == 500
    assert load_config(write(tmp_path, "unread_max_mb = 20\n" + TILL)).unread_max_mb == 20
    for wrong in ("0", "-5", '"500"', "2.5"):
        errors = errors_of(tmp_path, f"unread_max_mb = {wrong}\n" + TILL)
        assert any(e.startswith("unread_max_mb: ") and "from 1 to" in e for e in errors), errors


def test_a_tills_paper_sizes_its_message_and_its_pictures(tmp_path: Path) -> None:
    (narrow,) = load_config(write(tmp_path, till(paper="58mm"))).tills
    assert (narrow.printer_profile().dots, narrow.printer_profile().columns) == (384, 32)
    assert (narrow.picture_paper().dots, narrow.picture_paper().columns) == (384, 32)
    (font_b,) = load_config(write(tmp_path, till(paper="58mm", columns=42))).tills
    assert font_b.printer_profile().columns == 42  # columns still overrides the paper's
    (profile,) = load_config(write(tmp_path, TILL)).tills
    assert profile.paper is None and profile.picture_paper().dots == 512  # TM-T88V's
    [error] = errors_of(tmp_path, till(paper="A4"))
    assert error.startswith("till \"front\" (tills[0]).paper: 'A4': a paper is 58mm, 80mm")


def test_store_ids_come_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    till = '[[tills]]\nname = "{n}"\nlisten = "tcp:127.0.0.1:{p}"\nprinter = "tcp:127.0.0.1:9"\n'
    path.write_text(
        'chain = "acme"\nstore = "madrid"\n'
        + till.format(n="front", p=9100)
        + till.format(n="annex", p=9102)
        + 'store = "madrid-annex"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert [config.store_id(t) for t in config.tills] == ["acme/madrid", "acme/madrid-annex"]
    path.write_text(till.format(n="front", p=9100), encoding="utf-8")
    alone = load_config(path)
    assert alone.chain == "" and alone.store_id(alone.tills[0]) == "main"
    path.write_text(
        'chain = "a/b"\nstore = ""\n' + till.format(n="front", p=9100), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert 'chain: "a/b" is not an id' in str(caught.value)
    assert 'store: "" is not an id' in str(caught.value)
