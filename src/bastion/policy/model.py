"""The policy as data: rules read from TOML, validated with line numbers, evaluated in order.

Human oversight is enforced here, not left to the policy's author: only a hash match in a bank
marked `vetted`, within the rule's stricter distance, can be actioned automatically. A rule
that asks for more (an unvetted bank, a classifier signal) is downgraded to review, and the
verdict says why.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bastion.errors import InvalidInput

Outcome = Literal["auto", "review", "ignore"]
# Signals that are matches against known content; anything else (a classifier score) can
# never lead to automatic action.
HASH_SIGNALS = frozenset(
    {"pdq", "md5", "sha256", "url", "url_md5", "url_sha256", "text_sha256", "text_minhash"}
)
TEXT_SIGNALS = frozenset({"text_sha256", "text_minhash", "text_classifier"})
# The pseudo-bank a classifier result is routed under (rules match it with
# `signal_types = ["text_classifier"]`).
CLASSIFIER = "classifier"
DEFAULT_SEVERITY = {"a": 3, "b": 4, "c": 3, "d": 5, "e": 5, "none": 2}


class Rule(BaseModel):
    """One rule: which matches it applies to, and what should happen to them."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    banks: list[str] | None = None
    signal_types: list[str] | None = None
    categories: list[Literal["a", "b", "c", "d", "e"]] | None = None
    max_distance: int | None = Field(default=None, ge=0, le=255)
    # Classifier results only: which bands (per-language thresholds, docs/model-card.md).
    bands: list[Literal["review", "high"]] | None = Field(default=None, min_length=1)
    # The text's language (ISO 639-1 as the language detector names it), e.g. to send Arabic
    # texts to the moderators who read Arabic; a rule that names languages never applies to
    # media.
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]] | None = Field(
        default=None, min_length=1
    )
    action: Outcome
    queue: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")

    @field_validator("bands")
    @classmethod
    def _bands_need_scores(cls, value: list[str] | None, info: ValidationInfo) -> Any:
        kinds = info.data.get("signal_types")
        if value is not None and kinds is not None and "text_classifier" not in kinds:
            raise ValueError(
                "bands apply to classifier scores: add text_classifier to signal_types"
            )
        return value

    @field_validator("languages")
    @classmethod
    def _languages_need_texts(cls, value: list[str] | None, info: ValidationInfo) -> Any:
        kinds = info.data.get("signal_types")
        if value is not None and kinds is not None and not set(kinds) & TEXT_SIGNALS:
            raise ValueError(
                "only texts have a language: signal_types must include one of "
                + ", ".join(sorted(TEXT_SIGNALS))
            )
        return value


class Defaults(BaseModel):
    """What happens to a match that no rule covers."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["review", "ignore"] = "review"
    queue: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Policy(BaseModel):
    """The whole policy document."""

    model_config = ConfigDict(extra="forbid")

    defaults: Defaults = Field(default_factory=Defaults)
    severity: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    rule: list[Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class MatchFacts:
    """What the policy needs to know about one match."""

    bank: str
    vetted: bool
    signal_type: str
    distance: int
    threshold: int
    category: str | None
    band: str | None = None  # classifier results: review or high
    lang: str | None = None  # texts: the language the classifier found


@dataclass
class Verdict:
    """What the policy made of an item's matches."""

    outcome: Outcome
    queue: str | None = None
    priority: float = 0.0
    automation: Literal["full", "none"] = "none"
    reasons: list[str] = field(default_factory=list)


def parse_policy(text: str, known_banks: set[str] | None = None) -> Policy:
    """Validate a TOML policy; every problem is reported with its line, nothing is applied."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"The policy is not valid TOML: {exc}.", code="invalid_policy") from exc
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(text, err) for err in exc.errors(include_url=False)]
        raise InvalidInput(
            "The policy has errors; nothing was applied: "
            + "; ".join(f"line {p['line']}: {p['field']}: {p['problem']}" for p in problems),
            code="invalid_policy",
            details=problems,
        ) from exc
    if known_banks is not None:
        _check_banks(text, policy, known_banks)
    return policy


def _check_banks(text: str, policy: Policy, known: set[str]) -> None:
    problems = [
        {
            "line": _line_of(text, f'"{bank}"'),
            "field": f"rule.{index}.banks",
            "problem": f"unknown bank {bank!r}",
        }
        for index, rule in enumerate(policy.rule)
        for bank in rule.banks or []
        if bank not in known
    ]
    if problems:
        raise InvalidInput(
            "The policy names banks that do not exist; nothing was applied: "
            + "; ".join(f"line {p['line']}: {p['problem']}" for p in problems),
            code="invalid_policy",
            details=problems,
        )


def _problem(text: str, err: Any) -> dict[str, Any]:
    loc = [str(p) for p in err["loc"]]
    key = next((p for p in reversed(loc) if not p.isdigit()), "")
    rule = int(loc[1]) if len(loc) > 1 and loc[0] == "rule" and loc[1].isdigit() else None
    return {
        "line": _line_of(text, key, rule),
        "field": ".".join(loc),
        "problem": err["msg"],
    }


def _line_of(text: str, needle: str, rule_index: int | None = None) -> int | None:
    """The line where `needle` first appears, searching from the n-th [[rule]] table."""
    lines = text.splitlines()
    start = 0
    if rule_index is not None:
        tables = [i for i, line in enumerate(lines) if line.strip() == "[[rule]]"]
        start = tables[rule_index] if rule_index < len(tables) else 0
    for number in range(start, len(lines)):
        if needle and needle in lines[number]:
            return number + 1
    return None


_STRENGTH = {"ignore": 0, "review": 1, "auto": 2}


def evaluate(policy: Policy, matches: list[MatchFacts]) -> Verdict:
    """The verdict for an item: the strongest outcome among its matches, and its priority."""
    verdict = Verdict(outcome="ignore")
    if not matches:
        verdict.reasons.append("no matches")
        return verdict
    best_priority = -1.0
    for match in matches:
        outcome, queue, reason = _route(policy, match)
        priority = _priority(policy, match)
        verdict.reasons.append(reason)
        stronger = _STRENGTH[outcome] > _STRENGTH[verdict.outcome]
        if stronger or (outcome == verdict.outcome and priority > best_priority):
            verdict.outcome, verdict.queue, best_priority = outcome, queue, priority
        verdict.priority = max(verdict.priority, priority)
    if verdict.outcome == "ignore":
        verdict.queue = None
    verdict.automation = "full" if verdict.outcome == "auto" else "none"
    return verdict


def _route(policy: Policy, match: MatchFacts) -> tuple[Outcome, str, str]:
    for rule in policy.rule:
        if _applies(rule, match):
            if rule.action != "auto":
                return rule.action, rule.queue, f"rule {rule.name!r}: {rule.action}"
            refusal = _auto_refusal(rule, match)
            if refusal:
                return "review", rule.queue, f"rule {rule.name!r}: review, not auto: {refusal}"
            return "auto", rule.queue, f"rule {rule.name!r}: auto ({match.bank} is vetted)"
    defaults = policy.defaults
    return defaults.action, defaults.queue, f"no rule applies: {defaults.action}"


def _applies(rule: Rule, match: MatchFacts) -> bool:
    return (
        (rule.banks is None or match.bank in rule.banks)
        and (rule.signal_types is None or match.signal_type in rule.signal_types)
        and (rule.categories is None or match.category in rule.categories)
        and (rule.max_distance is None or match.distance <= rule.max_distance)
        and (rule.bands is None or match.band in rule.bands)
        and (rule.languages is None or match.lang in rule.languages)
    )


def _auto_refusal(rule: Rule, match: MatchFacts) -> str | None:
    """Why this match may not be actioned without a human, or None if it may."""
    if match.signal_type not in HASH_SIGNALS:
        return "only matches against known content may act automatically, never a score"
    if match.signal_type == "text_minhash" and "text_minhash" not in (rule.signal_types or []):
        # A near-duplicate text distance is not a PDQ distance: a rule written for images must
        # not remove texts; an automatic text rule has to say so.
        return "text near-duplicates act automatically only under a rule naming text_minhash"
    if not match.vetted:
        return f"bank {match.bank!r} is not vetted"
    if rule.max_distance is None:
        return "an automatic rule must set a max_distance stricter than the bank threshold"
    return None


def _priority(policy: Policy, match: MatchFacts) -> float:
    severity = policy.severity.get(match.category or "none", policy.severity.get("none", 1))
    if match.signal_type in ("pdq", "text_minhash", "text_classifier"):
        confidence = max(0.0, 1.0 - match.distance / (match.threshold + 1))
    else:
        confidence = 1.0
    return round(severity * confidence, 3)
