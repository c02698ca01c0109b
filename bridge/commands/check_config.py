"""``tillbridge check-config [--config PATH]``: read and check the config, as the daemon would.

Prints each till (listen -> printer, layout, profile, mode, who may connect) and "config OK",
exit 0, after any warning (``warning: ...`` on standard error: allowed but unwise, such as a
till listening on every interface with no allow list); otherwise every problem on standard
error, one a line, exit 2. Without ``--config`` it reads
``tillbridge.toml`` in the current folder, then ``/etc/tillbridge/tillbridge.toml``.
"""

from __future__ import annotations

import argparse
import sys

from bridge.commands import read_config
from bridge.config import Config, TcpListen, TillConfig, config_warnings

_PROG = "tillbridge check-config"


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, _PROG)
    if config is None:
        return 2
    print(summary(config))
    for warning in config_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    print("config OK")
    return 0


def summary(config: Config) -> str:
    from sqlalchemy.engine import make_url

    lines = [
        f"config: {config.source}",
        f"database: {make_url(config.database.url).render_as_string(hide_password=True)}",
        f"journal: {config.journal}",
    ]
    if config.loyalty.rules is not None:
        from bridge.loyalty.programme import load_programme

        rules = load_programme(config.loyalty.rules)  # checked when the config was read
        lines.append(f"rules: {config.loyalty.rules} (version {rules.version})")
    else:
        lines.append(f"points per currency unit: {config.loyalty.points_per_unit}")
    if config.loyalty.template is not None:
        lines.append(f"message template: {config.loyalty.template}")
    if config.capture_dir is not None:
        lines.append(f"captures: {config.capture_dir}")
    for till in config.tills:
        columns = "" if till.columns is None else f" ({till.columns} columns)"
        lines.append(
            f'till "{till.name}": {till.listen} -> {till.printer}, layout {till.layout}, '
            f"profile {till.profile}{columns}, mode {till.mode.value}, "
            f"end of receipt {till.end_of_receipt.value}, max hold {till.max_hold_ms} ms, "
            f"language {till.language}"
        )
        if isinstance(till.listen, TcpListen):
            lines.append(f'  till "{till.name}" access: {access_summary(till)}')
    return "\n".join(lines)


def access_summary(till: TillConfig) -> str:
    from drivers.access import default_allow

    assert isinstance(till.listen, TcpListen)
    if till.allow is not None:
        who = ", ".join(till.allow) if till.allow else "nobody"
    else:
        default = default_allow(till.listen.host)
        who = "loopback only (the default)" if default is not None else "ANY address"
    idle = f"{till.idle_timeout_s} s" if till.idle_timeout_s else "off"
    return (
        f"allow {who}; at most {till.max_connections} connections; idle timeout {idle}; "
        f"backlog {till.listen_backlog}"
    )
