"""Reading a removal order (TCO Annex I) from what an authority or an admin sent: every field
checked, every problem named, nothing thrown away (the raw order is kept as received)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bastion.errors import InvalidInput
from bastion.signals.registry import normalize_value

# The TCO Art. 2(7) points an order ticks (Annex I, section B).
CATEGORIES = ("a", "b", "c", "d", "e")
# EU Member States (ISO 3166-1 alpha-2, Greece as EL as the EU writes it, GR accepted).
MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "GR", "HU",
        "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
# Identifying information besides URLs: the platform's own ids and content hashes.
IDENTIFIERS = ("external_ids", "sha256", "md5")
# An instance may serve several platforms, whose ids can collide: `platform` scopes the ids.
IDENTIFIER_KEYS = (*IDENTIFIERS, "platform")
MAX_TARGETS = 1000
YEARS = (2000, 2100)
MAX_TEXT = 20_000


@dataclass
class OrderForm:
    """The checked fields of an order, and what is missing or wrong."""

    reference: str | None = None
    authority: str | None = None
    member_state: str | None = None
    issued_at: datetime | None = None
    urls: list[str] = field(default_factory=list)
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    reasons: str | None = None
    redress: str | None = None
    emergency: bool = False
    non_disclosure_until: datetime | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def platform(self) -> str | None:
        """The platform the order's external ids belong to, when it names one."""
        named = self.identifiers.get("platform")
        return named[0] if named else None

    def describe(self) -> str:
        """The problems in one line, field by field (`reasons: missing; urls: ...`)."""
        return describe(self.problems)

    @property
    def missing(self) -> list[str]:
        """The fields with a problem, in a stable order."""
        return sorted(self.problems)

    def targets(self) -> list[tuple[str, str]]:
        """(locator, value) for everything the order names."""
        out = [("url", u) for u in self.urls]
        out += [("external_id", v) for v in self.identifiers.get("external_ids", [])]
        out += [("sha256", v) for v in self.identifiers.get("sha256", [])]
        out += [("md5", v) for v in self.identifiers.get("md5", [])]
        return out


def describe(problems: dict[str, str]) -> str:
    """Field problems in one line, in field order."""
    return "; ".join(f"{field}: {message}" for field, message in sorted(problems.items()))


def read_order(raw: Any) -> OrderForm:
    """Check an order's fields; problems are collected, never raised, so the receipt stands."""
    form = OrderForm()
    if not isinstance(raw, dict):
        form.problems["order"] = "send the order as a JSON object"
        return form
    form.reference = _text(raw, "reference", form, limit=128)
    form.authority = _text(raw, "authority", form, limit=256)
    form.member_state = _member_state(raw, form)
    form.issued_at = _time(raw, "issued_at", form, required=True)
    form.reasons = _text(raw, "reasons", form, limit=MAX_TEXT)
    form.redress = _text(raw, "redress", form, limit=MAX_TEXT)
    form.categories = _categories(raw, form)
    form.urls = _urls(raw, form)
    form.identifiers = _identifiers(raw, form)
    if not form.targets() and "urls" not in form.problems and "identifiers" not in form.problems:
        form.problems["urls"] = (
            "name the content: `urls` (a list of URLs) and/or `identifiers` "
            "({external_ids, sha256, md5})"
        )
    if len(form.targets()) > MAX_TARGETS:
        form.problems["urls"] = f"at most {MAX_TARGETS} URLs and identifiers per order"
    emergency = raw.get("emergency", False)
    if not isinstance(emergency, bool):
        form.problems["emergency"] = "expected true or false"
    form.emergency = emergency is True
    form.non_disclosure_until = _time(raw, "non_disclosure_until", form, required=False)
    return form


def _text(raw: dict[str, Any], key: str, form: OrderForm, *, limit: int) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        form.problems[key] = "missing"
        return None
    if not isinstance(value, str):
        form.problems[key] = f"expected text, found {type(value).__name__}"
        return None
    if len(value) > limit or "\x00" in value:
        form.problems[key] = f"at most {limit} characters, no NUL characters"
        return None
    return value.strip()


def _member_state(raw: dict[str, Any], form: OrderForm) -> str | None:
    value = _text(raw, "member_state", form, limit=2)
    if value is None:
        if form.problems.get("member_state", "").startswith("at most"):
            form.problems["member_state"] = "a two-letter EU country code such as FR or DE"
        return None
    code = value.upper()
    if code not in MEMBER_STATES:
        form.problems["member_state"] = f"{value!r} is not an EU Member State code (FR, DE ...)"
        return None
    return "EL" if code == "GR" else code


def _time(raw: dict[str, Any], key: str, form: OrderForm, *, required: bool) -> datetime | None:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            form.problems[key] = "missing (ISO 8601 with a time zone, e.g. 2026-11-26T09:30:00Z)"
        return None
    if not isinstance(value, str):
        form.problems[key] = "expected an ISO 8601 date-time string"
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        form.problems[key] = f"{value[:40]!r} is not an ISO 8601 date-time"
        return None
    if parsed.tzinfo is None:
        form.problems[key] = "give a time zone (Z or +01:00): order times are legal deadlines"
        return None
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        # Far dates overflow date arithmetic (deadlines, notice windows) later on.
        form.problems[key] = f"a date between {YEARS[0]} and {YEARS[1]}"
        return None
    return parsed.astimezone(UTC)


def _categories(raw: dict[str, Any], form: OrderForm) -> list[str]:
    value = raw.get("categories")
    if not value:
        form.problems["categories"] = "tick at least one TCO Art. 2(7) point: a, b, c, d or e"
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        form.problems["categories"] = 'expected a list such as ["a", "c"]'
        return []
    points = [v.strip().lower().removeprefix("2(7)(").removesuffix(")") for v in value]
    wrong = [v for v in points if v not in CATEGORIES]
    if wrong:
        form.problems["categories"] = f"unknown point(s) {wrong}; use a, b, c, d or e"
        return []
    return sorted(set(points))


def _urls(raw: dict[str, Any], form: OrderForm) -> list[str]:
    value = raw.get("urls", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        form.problems["urls"] = "expected a list of URLs"
        return []
    out = []
    for url in value:
        try:
            out.append(normalize_value("url", url))
        except InvalidInput as exc:
            form.problems["urls"] = f"{url[:80]!r}: {exc.message}"
            return []
    return list(dict.fromkeys(out))


def _identifiers(raw: dict[str, Any], form: OrderForm) -> dict[str, list[str]]:
    value = raw.get("identifiers") or {}
    if not isinstance(value, dict):
        form.problems["identifiers"] = f"expected an object with {', '.join(IDENTIFIERS)}"
        return {}
    unknown = [k for k in value if k not in IDENTIFIER_KEYS]
    if unknown:
        form.problems["identifiers"] = f"unknown key(s) {unknown}; use {', '.join(IDENTIFIER_KEYS)}"
        return {}
    platform = value.get("platform")
    if platform is not None and (not isinstance(platform, str) or not 0 < len(platform) <= 64):
        form.problems["identifiers"] = "platform: the platform's name, 1-64 characters"
        return {}
    out: dict[str, list[str]] = {"platform": [platform]} if platform else {}
    for key in IDENTIFIERS:
        values = value.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            form.problems["identifiers"] = f"{key}: expected a list of strings"
            return {}
        if key == "external_ids":
            ids = [v.strip() for v in values]
            if any(not v or len(v) > 256 or "\x00" in v for v in ids):
                form.problems["identifiers"] = "external_ids: 1-256 characters each, not blank"
                return {}
            out[key] = ids
            continue
        try:
            out[key] = [normalize_value(key, v) for v in values]
        except InvalidInput as exc:
            form.problems["identifiers"] = f"{key}: {exc.message}"
            return {}
    return {k: v for k, v in out.items() if v}


def parse_time(value: str | None, name: str) -> datetime | None:
    """An optional ISO 8601 time from a request, or a clear 422."""
    if value is None:
        return None
    form = OrderForm()
    parsed = _time({name: value}, name, form, required=False)
    if form.problems:
        raise InvalidInput(f"`{name}`: {form.problems[name]}.", details=form.problems)
    return parsed
