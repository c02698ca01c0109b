"""Reading the programme file: TOML in, a frozen ``Programme`` out, or one ``ProgrammeError``.

Every key is checked against what this version knows, so a typo ("multipler") is an error
that names the file and the key path, never a rule silently ignored and never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from datetime import date, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.loyalty.earning import Policy, Reward
from bridge.loyalty.programme.model import (
    Bonuses,
    Campaign,
    Caps,
    CouponRule,
    Match,
    ProductRule,
    StampCard,
)

if TYPE_CHECKING:
    from bridge.loyalty.programme.engine import Programme

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
# The parts of the built-in rules carry these ids: a rule of the file may not reuse them.
RESERVED_IDS = {"base", "visit", "per_item", "welcome", "birthday"}
TOP_KEYS = {
    "version",
    "timezone",
    "tax",
    "base",
    "product",
    "campaign",
    "caps",
    "visit",
    "per_item",
    "welcome",
    "birthday",
    "stamp_card",
    "coupon",
    "policy",
    "reward",
}


class ProgrammeError(ValueError):
    """A mistake in the programme file: where (file and key path) and what."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ProgrammeError:
        return ProgrammeError(self.source, key, message)

    def table(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, not {type(value).__name__}")
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}" if key else name, "unknown key")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {type(value).__name__}")
        return value

    def number(self, value: Any, key: str) -> Decimal:
        # Strings too ("0.5"): a TOML float would read 0.1 as a binary fraction first.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.fail(key, f"must be a number, not {type(value).__name__}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(key, f"must be a number, not {value!r}") from None
        if not number.is_finite() or number < 0:
            raise self.fail(key, f"must be >= 0, not {value}")
        return number

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {value!r}")
        if value < 0:
            raise self.fail(key, f"must be >= 0, not {value}")
        return value

    def regex(self, value: Any, key: str) -> re.Pattern[str]:
        try:
            return re.compile(self.text(value, key))
        except re.error as exc:
            raise self.fail(key, f"not a valid regular expression: {exc}") from None

    def day(self, value: Any, key: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(self.text(value, key))
        except ValueError:
            raise self.fail(key, f"must be a date YYYY-MM-DD, not {value!r}") from None

    def match(self, spec: dict[str, Any], key: str) -> Match:
        found = Match(
            name=self.regex(spec["name"], f"{key}.name") if "name" in spec else None,
            plu=self.regex(spec["plu"], f"{key}.plu") if "plu" in spec else None,
            category=self.text(spec["category"], f"{key}.category") if "category" in spec else None,
        )
        if found.name is None and found.plu is None and found.category is None:
            raise self.fail(key, "needs name, plu or category")
        return found

    def rule_list(self, value: Any, key: str) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise self.fail(key, "must be an array of tables ([[" + key + "]])")
        return value


def _hours(r: _Reader, value: Any, key: str) -> tuple[time, time]:
    text = r.text(value, key)
    found = re.fullmatch(r"\s*(\d{1,2})(?::(\d\d))?\s*-\s*(\d{1,2})(?::(\d\d))?\s*", text)
    if not found:
        raise r.fail(key, f'must be an hour range like "16-18" or "16:30-18:00", not {text!r}')
    h1, m1, h2, m2 = (int(g or 0) for g in found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise r.fail(key, f"hour out of range in {text!r}")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise r.fail(key, f"the range {text!r} ends before it starts")
    return start, end


def parse_programme(text: str, source: str = "<programme>") -> Programme:
    """Build the ``Programme`` from the file's text; ``source`` names it in errors."""
    from bridge.loyalty.programme.engine import Programme

    r = _Reader(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("", f"not valid TOML: {exc}") from None
    r.table(data, "", TOP_KEYS)
    version = r.text(data["version"], "version") if "version" in data else ""
    tz_name = r.text(data.get("timezone", "UTC"), "timezone")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("timezone", f"unknown time zone {tz_name!r}") from None
    tax = r.text(data.get("tax", "included"), "tax")
    if tax not in ("included", "excluded"):
        raise r.fail("tax", f'must be "included" or "excluded", not {tax!r}')

    base = r.table(data.get("base", {}), "base", {"points_per_unit", "exclude"})
    per_unit = r.number(base.get("points_per_unit", 1), "base.points_per_unit")
    excludes = []
    for i, spec in enumerate(r.rule_list(base.get("exclude", []), "base.exclude")):
        key = f"base.exclude[{i}]"
        excludes.append(r.match(r.table(spec, key, {"name", "plu", "category"}), key))

    seen: set[str] = set()

    def rule_id(spec: dict[str, Any], key: str) -> str:
        if "id" not in spec:
            raise r.fail(key, "needs an id")
        rid = r.text(spec["id"], f"{key}.id")
        if rid in seen or rid in RESERVED_IDS:
            raise r.fail(f"{key}.id", f"duplicate rule id {rid!r}")
        seen.add(rid)
        return rid

    products = []
    for i, spec in enumerate(r.rule_list(data.get("product", []), "product")):
        key = f"product[{i}]"
        allowed = {"id", "label", "name", "plu", "category", "points_per_qty", "multiplier"}
        r.table(spec, key, allowed)
        rid = rule_id(spec, key)
        has = [k for k in ("points_per_qty", "multiplier") if k in spec]
        if len(has) != 1:
            raise r.fail(key, "needs exactly one of points_per_qty or multiplier")
        products.append(
            ProductRule(
                rid,
                r.text(spec.get("label", rid), f"{key}.label"),
                r.match(spec, key),
                r.number(spec["points_per_qty"], f"{key}.points_per_qty")
                if "points_per_qty" in spec
                else None,
                r.number(spec["multiplier"], f"{key}.multiplier") if "multiplier" in spec else None,
            )
        )

    campaigns = []
    for i, spec in enumerate(r.rule_list(data.get("campaign", []), "campaign")):
        key = f"campaign[{i}]"
        allowed = {"id", "label", "from", "to", "weekdays", "hours", "multiplier", "bonus"}
        r.table(spec, key, allowed)
        rid = rule_id(spec, key)
        has = [k for k in ("multiplier", "bonus") if k in spec]
        if len(has) != 1:
            raise r.fail(key, "needs exactly one of multiplier or bonus")
        starts = r.day(spec["from"], f"{key}.from") if "from" in spec else None
        ends = r.day(spec["to"], f"{key}.to") if "to" in spec else None
        if starts and ends and ends < starts:
            raise r.fail(f"{key}.to", f"{ends} is before from = {starts}")
        days = spec.get("weekdays", [])
        if not isinstance(days, list):
            raise r.fail(f"{key}.weekdays", 'must be a list like ["tue", "sat"]')
        weekdays = set()
        for j, name in enumerate(days):
            if not isinstance(name, str) or name.lower()[:3] not in WEEKDAYS:
                raise r.fail(f"{key}.weekdays[{j}]", f"not a weekday: {name!r} (mon..sun)")
            weekdays.add(WEEKDAYS[name.lower()[:3]])
        hours = _hours(r, spec["hours"], f"{key}.hours") if "hours" in spec else (None, None)
        campaigns.append(
            Campaign(
                rid,
                r.text(spec.get("label", rid), f"{key}.label"),
                starts,
                ends,
                frozenset(weekdays),
                hours[0],
                hours[1],
                r.number(spec["multiplier"], f"{key}.multiplier") if "multiplier" in spec else None,
                r.number(spec["bonus"], f"{key}.bonus") if "bonus" in spec else None,
            )
        )

    caps_spec = r.table(data.get("caps", {}), "caps", {"per_receipt", "per_day"})
    caps = Caps(
        r.integer(caps_spec["per_receipt"], "caps.per_receipt")
        if "per_receipt" in caps_spec
        else None,
        r.integer(caps_spec["per_day"], "caps.per_day") if "per_day" in caps_spec else None,
    )
    bonuses = _bonuses(r, data)
    cards = []
    for i, spec in enumerate(r.rule_list(data.get("stamp_card", []), "stamp_card")):
        key = f"stamp_card[{i}]"
        r.table(spec, key, {"id", "label", "goal", "name", "plu", "category"})
        rid = rule_id(spec, key)
        if "goal" not in spec:
            raise r.fail(key, "needs a goal (stamps that fill the card)")
        goal = r.integer(spec["goal"], f"{key}.goal")
        if goal < 1:
            raise r.fail(f"{key}.goal", "must be at least 1")
        label = r.text(spec.get("label", rid), f"{key}.label")
        cards.append(StampCard(rid, label, goal, r.match(spec, key)))
    coupons = []
    for i, spec in enumerate(r.rule_list(data.get("coupon", []), "coupon")):
        key = f"coupon[{i}]"
        allowed = {"id", "label", "name", "plu", "category", "keyword", "total_at_least"}
        r.table(spec, key, allowed | {"valid_days"})
        rid = rule_id(spec, key)
        has_match = any(k in spec for k in ("name", "plu", "category"))
        if not has_match and "keyword" not in spec and "total_at_least" not in spec:
            raise r.fail(key, "needs a trigger: name, plu, category, keyword or total_at_least")
        coupons.append(
            CouponRule(
                rid,
                r.text(spec.get("label", rid), f"{key}.label"),
                r.match(spec, key) if has_match else None,
                r.text(spec["keyword"], f"{key}.keyword") if "keyword" in spec else None,
                r.number(spec["total_at_least"], f"{key}.total_at_least")
                if "total_at_least" in spec
                else None,
                r.integer(spec["valid_days"], f"{key}.valid_days")
                if "valid_days" in spec
                else None,
            )
        )
    policy = _policy(r, data)
    # The hash of the parsed content, not the text: an edit that changes a rule always
    # changes the version, a reformat or a comment does not.
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    full_version = f"{version}+{digest[:8]}" if version else digest[:8]
    return Programme(
        version=full_version,
        timezone=tz,
        tax=tax,  # type: ignore[arg-type]  # checked above
        points_per_unit=per_unit,
        excludes=tuple(excludes),
        products=tuple(products),
        campaigns=tuple(campaigns),
        caps=caps,
        bonuses=bonuses,
        stamp_cards=tuple(cards),
        coupons=tuple(coupons),
        policy=policy,
        source_text=text,
    )


def _bonuses(r: _Reader, data: dict[str, Any]) -> Bonuses:
    found: dict[str, Any] = {}
    if "visit" in data:
        spec = r.table(data["visit"], "visit", {"points", "min_spend", "label"})
        found["visit_points"] = r.number(spec.get("points", 0), "visit.points")
        found["visit_min_spend"] = r.number(spec.get("min_spend", 0), "visit.min_spend")
        found["visit_label"] = r.text(spec.get("label", "Visit bonus"), "visit.label")
    if "per_item" in data:
        spec = r.table(data["per_item"], "per_item", {"points", "label"})
        found["per_item_points"] = r.number(spec.get("points", 0), "per_item.points")
        found["per_item_label"] = r.text(spec.get("label", "Points per item"), "per_item.label")
    if "welcome" in data:
        spec = r.table(data["welcome"], "welcome", {"points", "label"})
        found["welcome_points"] = r.number(spec.get("points", 0), "welcome.points")
        found["welcome_label"] = r.text(spec.get("label", "Welcome bonus"), "welcome.label")
    if "birthday" in data:
        spec = r.table(data["birthday"], "birthday", {"points", "match", "label"})
        found["birthday_points"] = r.number(spec.get("points", 0), "birthday.points")
        match = r.text(spec.get("match", "day"), "birthday.match")
        if match not in ("day", "month"):
            raise r.fail("birthday.match", f'must be "day" or "month", not {match!r}')
        found["birthday_match"] = match
        found["birthday_label"] = r.text(spec.get("label", "Birthday bonus"), "birthday.label")
    return Bonuses(**found)


def _choice(r: _Reader, spec: dict[str, Any], key: str, options: tuple[str, ...]) -> str:
    value = r.text(spec[key], f"policy.{key}")
    if value not in options:
        raise r.fail(f"policy.{key}", f"must be one of {', '.join(options)}, not {value!r}")
    return value


def _policy(r: _Reader, data: dict[str, Any]) -> Policy:
    allowed = {
        "points_expire_after_months",
        "claim_codes_expire_after_days",
        "negative_balance",
        "refund_without_original",
        "refund_of_redeemed",
        "reward_issue",
        "voucher_valid_days",
    }
    spec = r.table(data.get("policy", {}), "policy", allowed)
    found: dict[str, Any] = {}
    for key in ("points_expire_after_months", "claim_codes_expire_after_days"):
        if key in spec:
            found[key] = r.integer(spec[key], f"policy.{key}") or None
    if "voucher_valid_days" in spec:
        found["voucher_valid_days"] = (
            r.integer(spec["voucher_valid_days"], "policy.voucher_valid_days") or None
        )
    if "negative_balance" in spec:
        if not isinstance(spec["negative_balance"], bool):
            raise r.fail("policy.negative_balance", "must be true or false")
        found["negative_balance"] = spec["negative_balance"]
    for key, options in (
        ("refund_without_original", ("match", "none")),
        ("refund_of_redeemed", ("restore", "keep")),
        ("reward_issue", ("auto", "on_request")),
    ):
        if key in spec:
            found[key] = _choice(r, spec, key, options)
    rewards = []
    seen: set[str] = set()
    for i, item in enumerate(r.rule_list(data.get("reward", []), "reward")):
        key = f"reward[{i}]"
        r.table(item, key, {"id", "points", "label", "value"})
        for needed in ("id", "points", "label"):
            if needed not in item:
                raise r.fail(key, f"needs {needed}")
        rid = r.text(item["id"], f"{key}.id")
        if rid in seen:
            raise r.fail(f"{key}.id", f"duplicate reward id {rid!r}")
        seen.add(rid)
        points = r.integer(item["points"], f"{key}.points")
        if points < 1:
            raise r.fail(f"{key}.points", "must be at least 1")
        value = r.number(item["value"], f"{key}.value") if "value" in item else None
        rewards.append(Reward(rid, points, r.text(item["label"], f"{key}.label"), value))
    return Policy(rewards=tuple(rewards), **found)


def load_programme(path: str | Path) -> Programme:
    """Read the programme file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgrammeError(str(path), "", f"cannot read: {exc}") from None
    return parse_programme(text, source=str(path))
