"""The owner's customer commands, thin over ``bridge.loyalty.customers`` and the ledger:

    tillbridge customer add NUMBER [--name N] [--phone P] [--email E] [--birthday YYYY-MM-DD]
                                   [--consent]
    tillbridge customer find [--number NUMBER] [--name PART] [--phone P] [--email E]
    tillbridge customer show WHO
    tillbridge customer edit WHO [--name ...] [--phone ...] [--email ...] [--birthday ...]
                                 [--consent | --no-consent]
    tillbridge customer merge KEEP GONE
    tillbridge customer forget WHO --yes
    tillbridge card link WHO NUMBER [--label L] | unlink NUMBER | block NUMBER
    tillbridge points balance WHO
    tillbridge points adjust WHO POINTS --reason TEXT
    tillbridge voucher list WHO | issue WHO [--reward ID] | void CODE
    tillbridge verify

WHO is a customer id (``#12`` or ``12``) or a number they hold (``card:…``, ``phone:…``, or
the bare number). A number never seen before is refused, not made a customer, unless the
command enrols it (``customer add``, ``card link``): a typo must not create a stranger.

Exit 0; 1 when the command is refused (why, on standard error); 2 for no config or the
database unavailable.
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from datetime import UTC, date, datetime
from typing import Any

from bridge.commands import read_config
from bridge.loyalty.claims import ClaimError, read_customer
from parsers.receipt import CustomerKind, CustomerRef


def run(args: argparse.Namespace) -> int:
    prog = f"tillbridge {args.command} {getattr(args, 'action', '')}".strip()
    config = read_config(args.config, prog)
    if config is None:
        return 2

    from bridge.loyalty.customers import CustomerError
    from bridge.loyalty.vouchers import VoucherError
    from bridge.store import StoreUnavailable, make_engine, migrate

    engine = make_engine(config.database.url)
    try:
        migrate(engine)
        return _ACTIONS[(args.command, getattr(args, "action", None))](engine, args, config)
    except (CustomerError, ClaimError, VoucherError, LookupError, ValueError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        print(f"{prog}: database unavailable: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def number(text: str) -> CustomerRef:
    """A number as typed: ``card:…``, ``phone:…``, ``loyalty_id:…`` or a bare card number."""
    kind, value = read_customer(text)
    return CustomerRef(kind or CustomerKind.CARD, value)


def who(text: str) -> int | CustomerRef:
    bare = text.removeprefix("#")
    if bare.isdigit() and (text.startswith("#") or len(bare) <= 6):
        return int(bare)  # an id; longer digit strings are card numbers
    return number(text)


def _now() -> datetime:
    return datetime.now(UTC)


def _actor() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def _details(args: argparse.Namespace) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for name in ("name", "phone", "email"):
        value = getattr(args, name, None)
        if value is not None:
            details[name] = value
    if getattr(args, "birthday", None) is not None:
        try:
            details["birthday"] = date.fromisoformat(args.birthday)
        except ValueError:
            raise ValueError(f"--birthday {args.birthday!r} is not a day like 1990-05-17") from None
    if getattr(args, "consent", None) is not None:
        details["marketing_consent"] = args.consent
    return details


def _add(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import add_customer

    customer_id = add_customer(engine, number(args.number), _now(), **_details(args))
    print(f"customer #{customer_id} added, holding {args.number}")
    return 0


def _find(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import find, show

    criteria = {
        "number": number(args.number) if args.number else None,
        "name": args.name,
        "phone": args.phone,
        "email": args.email,
    }
    if not any(criteria.values()):
        raise ValueError("say what to look for: --number, --name, --phone or --email")
    found = find(engine, **criteria)
    for customer_id in found:
        card = show(engine, customer_id)
        numbers = ", ".join(f"{n.kind}:{n.value}" for n in card.numbers) or "no number"
        print(f"#{card.id}  {card.name or '(no name)'}  {numbers}  balance {card.balance}")
    if not found:
        print("no customer matches", file=sys.stderr)
        return 1
    return 0


def _show(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import show

    card = show(engine, who(args.who))
    print(f"customer #{card.id}" + (" (forgotten)" if card.forgotten_at else ""))
    for label, value in (
        ("name", card.name),
        ("phone", card.phone),
        ("email", card.email),
        ("birthday", card.birthday),
        ("marketing consent", "yes" if card.marketing_consent else "no"),
        ("since", f"{card.created_at:%Y-%m-%d}"),
        ("balance", card.balance),
    ):
        if value is not None:
            print(f"  {label}: {value}")
    for n in card.numbers:
        blocked = f" (blocked {n.blocked_at:%Y-%m-%d})" if n.blocked_at else ""
        label = f" [{n.label}]" if n.label else ""
        print(f"  {n.kind}: {n.value}{label}{blocked}")
    return 0


def _edit(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import edit

    details = _details(args)
    if not details:
        raise ValueError("nothing to change: give --name, --phone, --email, --birthday, --consent")
    customer_id = edit(engine, who(args.who), _now(), **details)
    print(f"customer #{customer_id} changed: {', '.join(sorted(details))}")
    return 0


def _merge(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import merge

    kept = merge(engine, who(args.keep), who(args.gone), _now(), _actor())
    print(f"merged {args.gone} into customer #{kept}")
    return 0


def _forget(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import forget

    if not args.yes:
        raise ValueError(
            "forget erases the customer's name, contacts and numbers for good (the ledger "
            "keeps its anonymous sums): add --yes"
        )
    forget(engine, who(args.who), _now())
    print(f"customer {args.who} forgotten: personal data erased, ledger kept anonymous")
    return 0


def _link(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import link_card

    link_card(engine, who(args.who), number(args.number), _now(), label=args.label)
    print(f"{args.number} linked to {args.who}")
    return 0


def _unlink(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import unlink_card

    unlink_card(engine, number(args.number))
    print(f"{args.number} unlinked")
    return 0


def _block(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import block_card

    block_card(engine, number(args.number), _now())
    print(f"{args.number} blocked: its receipts earn claim codes from now on")
    return 0


def _balance(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.customers import show

    card = show(engine, who(args.who))
    print(f"customer #{card.id}: {card.balance} points")
    return 0


def _adjust(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty import Ledger
    from bridge.loyalty.customers import show
    from bridge.loyalty.in_force import policy_in_force

    target = who(args.who)
    if isinstance(target, int):
        numbers = show(engine, target).numbers
        if not numbers:
            raise ValueError(f"customer #{target} holds no number to adjust")
        target = CustomerRef(CustomerKind(numbers[0].kind), numbers[0].value)
    outcome = Ledger(engine).adjust(
        target,
        args.points,
        _now(),
        actor=_actor(),
        reason=args.reason,
        policy=policy_in_force(config.loyalty.rules),
    )
    print(f"adjusted by {outcome.points:+d} points: balance {outcome.balance}")
    return 0


def _customer_id(engine: Any, text: str) -> int:
    from bridge.loyalty.customers import show

    return show(engine, who(text)).id


def _voucher_list(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.vouchers import list_vouchers

    customer_id = _customer_id(engine, args.who)
    vouchers = list_vouchers(engine, customer_id)
    for v in vouchers:
        state = (
            f"used {v.used_at:%Y-%m-%d}"
            if v.used_at
            else f"voided {v.voided_at:%Y-%m-%d}"
            if v.voided_at
            else f"valid until {v.expires_on}"
            if v.expires_on
            else "valid"
        )
        print(f"{v.code}  {v.label}  {v.points} points  issued {v.issued_at:%Y-%m-%d}  {state}")
    if not vouchers:
        print(f"customer #{customer_id} has no vouchers")
    return 0


def _voucher_issue(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.in_force import policy_in_force
    from bridge.loyalty.vouchers import issue_on_request

    customer_id = _customer_id(engine, args.who)
    policy = policy_in_force(config.loyalty.rules)
    voucher = issue_on_request(engine, customer_id, args.reward, policy, _now())
    until = f", valid until {voucher.expires_on}" if voucher.expires_on else ""
    print(f"voucher {voucher.code} ({voucher.label}) issued to customer #{customer_id}{until}")
    return 0


def _voucher_void(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.loyalty.vouchers import void_voucher

    voucher = void_voucher(engine, args.code, _now())
    print(f"voucher {voucher.code} voided: its {voucher.points} points are free again")
    return 0


def _verify(engine: Any, args: argparse.Namespace, config: Any) -> int:
    from bridge.store.verify import verify

    mismatches = verify(engine)
    for m in mismatches:
        print(
            f"customer #{m.customer_id}: {m.what} is {m.cached}, the ledger says {m.ledger}",
            file=sys.stderr,
        )
    if mismatches:
        print(f"{len(mismatches)} mismatch(es)", file=sys.stderr)
        return 1
    print("the ledger, the balances and the lots agree")
    return 0


_ACTIONS = {
    ("customer", "add"): _add,
    ("customer", "find"): _find,
    ("customer", "show"): _show,
    ("customer", "edit"): _edit,
    ("customer", "merge"): _merge,
    ("customer", "forget"): _forget,
    ("card", "link"): _link,
    ("card", "unlink"): _unlink,
    ("card", "block"): _block,
    ("points", "balance"): _balance,
    ("points", "adjust"): _adjust,
    ("voucher", "list"): _voucher_list,
    ("voucher", "issue"): _voucher_issue,
    ("voucher", "void"): _voucher_void,
    ("verify", None): _verify,
}


def add_parsers(sub: Any, add_config_option: Any) -> None:
    """The ``customer``, ``card``, ``points`` and ``verify`` subcommands."""
    target = "bridge.commands.customers:run"

    def finish(actions: Any) -> None:
        for p in actions.choices.values():
            add_config_option(p)
            p.set_defaults(run=target)

    def details(p: argparse.ArgumentParser) -> None:
        p.add_argument("--name")
        p.add_argument("--phone")
        p.add_argument("--email")
        p.add_argument("--birthday", metavar="YYYY-MM-DD")
        p.add_argument("--consent", action=argparse.BooleanOptionalAction, default=None)

    c = sub.add_parser("customer", help="enrol, find, show, edit, merge or forget a customer")
    cs = c.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cs.add_parser("add", help="enrol a customer holding NUMBER")
    p.add_argument("number", metavar="NUMBER")
    details(p)
    p = cs.add_parser("find", help="customers matching every criterion given")
    p.add_argument("--number")
    p.add_argument("--name")
    p.add_argument("--phone")
    p.add_argument("--email")
    p = cs.add_parser("show", help="a customer's details, numbers and balance")
    p.add_argument("who", metavar="WHO")
    p = cs.add_parser("edit", help="change a customer's details")
    p.add_argument("who", metavar="WHO")
    details(p)
    p = cs.add_parser("merge", help="move GONE's numbers and points to KEEP")
    p.add_argument("keep", metavar="KEEP")
    p.add_argument("gone", metavar="GONE")
    p = cs.add_parser("forget", help="erase a customer's personal data (the ledger stays)")
    p.add_argument("who", metavar="WHO")
    p.add_argument("--yes", action="store_true", help="yes, erase it for good")
    finish(cs)

    k = sub.add_parser("card", help="link, unlink or block a customer's card or number")
    ks = k.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = ks.add_parser("link", help="give customer WHO another NUMBER (a family's second card)")
    p.add_argument("who", metavar="WHO")
    p.add_argument("number", metavar="NUMBER")
    p.add_argument("--label", help='what it is, e.g. "family card"')
    p = ks.add_parser("unlink", help="take NUMBER from its customer")
    p.add_argument("number", metavar="NUMBER")
    p = ks.add_parser("block", help="a lost or stolen card earns nothing from now on")
    p.add_argument("number", metavar="NUMBER")
    finish(ks)

    pt = sub.add_parser("points", help="a customer's balance, or an adjustment with a reason")
    ps = pt.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = ps.add_parser("balance", help="the points customer WHO holds")
    p.add_argument("who", metavar="WHO")
    p = ps.add_parser("adjust", help="add (or take, negative) points, with a reason")
    p.add_argument("who", metavar="WHO")
    p.add_argument("points", type=int, metavar="POINTS")
    p.add_argument("--reason", required=True)
    finish(ps)

    vo = sub.add_parser("voucher", help="a customer's vouchers; issue one on request; void one")
    vs = vo.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = vs.add_parser("list", help="the vouchers of customer WHO")
    p.add_argument("who", metavar="WHO")
    p = vs.add_parser("issue", help="issue a voucher the customer asked for")
    p.add_argument("who", metavar="WHO")
    p.add_argument("--reward", metavar="ID", help="this reward (default: the dearest paid for)")
    p = vs.add_parser("void", help="void a voucher not used yet: its points are free again")
    p.add_argument("code", metavar="CODE")
    finish(vs)

    v = sub.add_parser("verify", help="check every cached balance and lot against the ledger")
    add_config_option(v)
    v.set_defaults(run=target)
