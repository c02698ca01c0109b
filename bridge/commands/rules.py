"""``tillbridge rules check|show|dry-run [FILE]``: the programme's rules file, before and
after it is put in force (FILE: default, the config's ``[loyalty] rules``).

- ``check`` reads the file as the daemon would: "rules OK" and its version, or every mistake
  with its key (exit 1);
- ``show`` prints what the file says, rule by rule, in plain words;
- ``dry-run [--from D --to D]`` replays the stored sales of a period (default: the last 30
  days) through the file and prints, beside what they were awarded, what it would award, and
  which rule gives how many points (``bridge.loyalty.dry_run``).

Exit 0; 1 for a file with a mistake; 2 for no config, no rules file, or the database away.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bridge.commands import read_config

_PROG = "tillbridge rules"


def run(args: argparse.Namespace) -> int:
    from bridge.loyalty.programme import ProgrammeError, load_programme

    config = None
    path = Path(args.file) if args.file else None
    if path is None or args.action == "dry-run":
        config = read_config(args.config, _PROG)
        if config is None:
            return 2
        path = path or config.loyalty.rules
    if path is None:
        print(
            f"{_PROG}: the config names no rules file ([loyalty] rules): give FILE",
            file=sys.stderr,
        )
        return 2
    try:
        programme = load_programme(path)
    except ProgrammeError as error:
        print(f"{_PROG} {args.action}: {error}", file=sys.stderr)
        return 1
    if args.action == "check":
        print(f"rules OK: {path} (version {programme.version})")
        return 0
    if args.action == "show":
        print("\n".join(describe(programme)))
        return 0
    assert config is not None
    return _dry_run(args, config, programme)


def describe(programme: Any) -> list[str]:
    """The rule set in plain words, one rule a line."""
    lines = [
        f"version {programme.version}, time zone {programme.timezone.key}, tax {programme.tax}",
        f"base: {programme.points_per_unit} points per currency unit of the net amount",
    ]
    lines += [f"  not earning: {_match(m)}" for m in programme.excludes]
    for rule in programme.products:
        what = (
            f"{rule.points_per_qty} points per unit"
            if rule.points_per_qty is not None
            else f"x{rule.multiplier} points"
        )
        lines.append(f"product {rule.rule_id} ({rule.label}): {_match(rule.match)}: {what}")
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    for c in programme.campaigns:
        when = []
        if c.starts or c.ends:
            when.append(f"{c.starts or '…'} to {c.ends or '…'}")
        if c.weekdays:
            when.append(",".join(days[d] for d in sorted(c.weekdays)))
        if c.hour_from is not None:
            until = "24:00" if c.hour_to is None else f"{c.hour_to:%H:%M}"
            when.append(f"{c.hour_from:%H:%M}-{until}")
        gives = f"x{c.multiplier}" if c.multiplier is not None else f"+{c.bonus} points"
        lines.append(f"campaign {c.rule_id} ({c.label}): {' '.join(when) or 'always'}: {gives}")
    b = programme.bonuses
    for label, points in (
        (f"visit (spending {b.visit_min_spend} or more)", b.visit_points),
        ("per item", b.per_item_points),
        ("welcome, on the first purchase", b.welcome_points),
        ("birthday", b.birthday_points),
    ):
        if points is not None:
            lines.append(f"bonus {label}: +{points} points")
    caps = programme.caps
    if caps.per_receipt is not None or caps.per_day is not None:
        lines.append(f"caps: {caps.per_receipt or '-'} a receipt, {caps.per_day or '-'} a day")
    for card in programme.stamp_cards:
        lines.append(
            f"stamp card {card.card_id} ({card.label}): {card.goal} of {_match(card.match)}"
        )
    for coupon in programme.coupons:
        lines.append(f"coupon {coupon.coupon_id}: {coupon.label}")
    policy = programme.policy
    for reward in sorted(policy.rewards, key=lambda r: r.points):
        lines.append(f"reward {reward.reward_id}: {reward.points} points = {reward.label}")
    lines.append(
        f"vouchers: {policy.reward_issue.replace('_', ' ')}, valid "
        f"{policy.voucher_valid_days or 'forever'} days; points expire after "
        f"{policy.points_expire_after_months or 'never'} months; claim codes after "
        f"{policy.claim_codes_expire_after_days or 'never'} days"
    )
    return lines


def _match(match: Any) -> str:
    parts = []
    if match.name is not None:
        parts.append(f"name ~ {match.name.pattern}")
    if match.plu is not None:
        parts.append(f"PLU ~ {match.plu.pattern}")
    if match.category is not None:
        parts.append(f"category {match.category}")
    return " or ".join(parts) or "any item"


def _dry_run(args: argparse.Namespace, config: Any, programme: Any) -> int:
    from bridge.commands.report import period
    from bridge.loyalty.dry_run import dry_run
    from bridge.store import StoreUnavailable, make_engine, migrate

    zone = programme.timezone
    try:
        if args.from_day is None and args.to_day is None:
            today = datetime.now(zone).date()
            start, end = period(None, str(today - timedelta(days=29)), str(today), zone)
        else:
            start, end = period(None, args.from_day, args.to_day, zone)
    except ValueError as error:
        print(f"{_PROG} dry-run: {error}", file=sys.stderr)
        return 2
    engine = make_engine(config.database.url)
    try:
        migrate(engine)
        result = dry_run(engine, programme, start, end)
    except StoreUnavailable as error:
        print(f"{_PROG} dry-run: database unavailable: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    last = end - timedelta(days=1)
    print(
        f"{result.receipts} sales from {start:%Y-%m-%d} to {last:%Y-%m-%d}, "
        f"{result.customers} customers"
    )
    print(f"  awarded:        {result.awarded:>9} points")
    print(f"  would award:    {result.would_award:>9} points ({result.difference:+d})")
    for rule_id, points in result.by_rule.most_common():
        print(f"    {result.labels.get(rule_id, rule_id)[:30]:<30} {points:>9}")
    return 0


def add_parser(sub: Any, add_config_option: Any) -> None:
    r = sub.add_parser("rules", help="check, show or try the programme's rules file")
    rs = r.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (
        ("check", "read the rules file as the daemon would, and say what is wrong"),
        ("show", "what the rules file says, rule by rule"),
        ("dry-run", "what the rules file would have awarded the stored sales of a period"),
    ):
        p = rs.add_parser(name, help=text)
        p.add_argument("file", nargs="?", metavar="FILE", help="default: [loyalty] rules")
        if name == "dry-run":
            p.add_argument("--from", dest="from_day", metavar="DAY", help="first day")
            p.add_argument("--to", dest="to_day", metavar="DAY", help="last day (included)")
        add_config_option(p)
        p.set_defaults(run="bridge.commands.rules:run")
