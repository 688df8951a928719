"""Statements of reasons (DSA Art. 17) in the Transparency Database's v2 schema.

Every restrictive decision (remove, restrict) gets one statement, built from what Bastion
recorded and nothing else: the decision, its automation level, how the item was found and
the TCO Art. 2(7) category of what it matched. leave_up, not_tvec and escalate restrict
nothing, so they get none. The statement is validated by the database's rules
(`statement_rules`) before it is stored: one that breaks a rule is kept as `invalid` with the
problems and is never sent.

Mapping choices (see docs and the report for why):
- remove: `DECISION_VISIBILITY_CONTENT_REMOVED` on the ground of illegal content, TCO
  (Regulation (EU) 2021/784): Bastion's banks and classifier look for terrorist content,
  which is illegal in the Union, so a removal is a finding of illegality.
- restrict (an age gate or a label, chosen by the platform): the content was judged not to
  require removal, so the ground is incompatibility with the platform's terms, and the
  visibility is `DECISION_VISIBILITY_OTHER` with a description (configurable when the
  platform always does the same thing).
- category `STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY`, specification
  `KEYWORD_TERRORIST_CONTENT`; source `SOURCE_VOLUNTARY` (own-initiative detection).
- automated_detection `Yes` when hash matching or the classifier flagged the item; the
  decision's automation `full`/`partial`/`none` maps to FULLY/PARTIALLY/NOT_AUTOMATED.
- The moderator's note is not published: it is free text for colleagues and may name people.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.compliance.statement_rules import (
    EEA_COUNTRIES,
    ILLEGAL,
    INCOMPATIBLE,
    LANGUAGES,
    Problem,
    validate,
)
from bastion.db.base import utcnow
from bastion.db.models import Decision, Item, Statement
from bastion.errors import NotFound

log = logging.getLogger("bastion.statements")

RESTRICTIVE = ("remove", "restrict")
STATUSES = ("pending", "submitted", "invalid", "off")
TCO = "Regulation (EU) 2021/784 (TCO)"
# TCO Art. 2(7): what makes material terrorist content; Bastion labels bank entries a-e.
ART_2_7 = {
    "a": "incites the commission of terrorist offences, including by glorifying them",
    "b": "solicits a person or group to commit or contribute to terrorist offences",
    "c": "solicits a person or group to participate in the activities of a terrorist group",
    "d": "provides instruction on making or using weapons or hazardous substances, or on "
    "other methods, for committing terrorist offences",
    "e": "threatens to commit a terrorist offence",
}
AUTOMATED_DECISION = {
    "full": "AUTOMATED_DECISION_FULLY",
    "partial": "AUTOMATED_DECISION_PARTIALLY",
    "none": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
_KIND_CONTENT_TYPE = {
    "image": "CONTENT_TYPE_IMAGE",
    "video": "CONTENT_TYPE_VIDEO",
    "text": "CONTENT_TYPE_TEXT",
}
_MEDIA_CONTENT_TYPE = {
    "image/": "CONTENT_TYPE_IMAGE",
    "video/": "CONTENT_TYPE_VIDEO",
    "audio/": "CONTENT_TYPE_AUDIO",
    "text/": "CONTENT_TYPE_TEXT",
}


@dataclass(frozen=True)
class StatementOptions:
    """What a statement says that a decision does not: the platform's own choices."""

    # Where the decision applies: TCO removals are disabled in every Member State.
    territorial_scope: tuple[str, ...] = field(default_factory=lambda: tuple(sorted(EEA_COUNTRIES)))
    # The terms-of-service clause a restriction rests on, and where it is published.
    terms_ground: str = "The platform's terms of service on terrorist and violent extremist content"
    terms_url: str | None = None
    restrict_visibility: str = "DECISION_VISIBILITY_OTHER"
    restrict_description: str = "Access restricted by the platform: age-gated or labelled"
    puid_prefix: str = "bastion"


def record_statement(
    session: Session, decision: Decision, options: StatementOptions | None = None
) -> Statement | None:
    """Store the statement of reasons for a restrictive decision (once per decision).

    Returns None for decisions that restrict nothing. Never raises on a statement that
    cannot be built: the decision stands, and the statement is kept as `invalid`."""
    if decision.outcome not in RESTRICTIVE:
        return None
    existing = session.scalar(select(Statement).where(Statement.decision_id == decision.id))
    if existing is not None:
        return existing
    opts = options or StatementOptions()
    item = session.get(Item, decision.item_id)
    if item is None:
        raise NotFound(f"No item with id {decision.item_id}.", code="unknown_item")
    puid = new_puid(decision, opts.puid_prefix)
    try:
        payload = build_statement(decision, item, puid, opts)
        problems = validate(payload)
    except Exception as exc:  # a statement bug must not undo a moderation decision
        log.exception("statement for decision %s could not be built", decision.id)
        payload = {"puid": puid}
        problems = [Problem("*", "build", f"{type(exc).__name__}: {exc}")]
    statement = Statement(
        decision_id=decision.id,
        platform=item.platform,
        puid=puid,
        payload=payload,
        status="invalid" if problems else "pending",
        attempts=0,
        next_attempt_at=utcnow(),
        problems=[p._asdict() for p in problems],
    )
    session.add(statement)
    session.flush()
    return statement


def new_puid(decision: Decision, prefix: str = "bastion") -> str:
    """A platform unique id: the decision id keeps it readable, the random part keeps it
    unique across reinstalls (ids restart at 1 in a new database; the database's don't)."""
    return f"{prefix}-{decision.id}-{secrets.token_hex(8)}"


def build_statement(
    decision: Decision, item: Item, puid: str, options: StatementOptions
) -> dict[str, Any]:
    """The statement for a restrictive decision, field names and values as the database's
    API wants them. Optional fields Bastion does not know are left out, not sent as null."""
    statement: dict[str, Any] = {
        **_restriction(decision, options),
        **_ground(decision, item, options),
        **_content_type(item),
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "category_specification": ["KEYWORD_TERRORIST_CONTENT"],
        "territorial_scope": list(options.territorial_scope),
        "content_date": item.received_at.date().isoformat(),
        "application_date": decision.created_at.date().isoformat(),
        "decision_facts": decision_facts(decision, item),
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes" if automatically_detected(item) else "No",
        "automated_decision": AUTOMATED_DECISION.get(decision.automation, decision.automation),
        "puid": puid,
    }
    language = _language(item)
    if language is not None:
        statement["content_language"] = language
    return statement


def automatically_detected(item: Item) -> bool:
    """Whether a machine flagged the item: a hash or text match, or the classifier."""
    if item.verdict in ("auto", "review"):
        return True  # the policy routes only what matching or the classifier raised
    if any(not m.allow and not m.suppressed for m in item.matches):
        return True
    return _classifier(item) is not None


def decision_facts(decision: Decision, item: Item) -> str:
    """What happened, in words a reader of the public database can follow; no personal
    data, no bank names (which hash-sharing programmes a platform belongs to is its own)."""
    how = {
        "full": "The content was actioned automatically, without human review, because it "
        "matched content already confirmed as terrorist content in a vetted hash list.",
        "partial": "A moderator reviewed an identical copy of this content and the same "
        "decision was applied to this copy.",
        "none": "A moderator reviewed the content and took the decision.",
    }.get(decision.automation, "")
    found = _how_found(item)
    categories = art_2_7_categories(item)
    what = (
        "The material " + "; ".join(ART_2_7[c] for c in categories) + " (TCO Art. 2(7))."
        if categories
        else ""
    )
    return " ".join(part for part in (found, how, what) if part)[:5000]


def _restriction(decision: Decision, options: StatementOptions) -> dict[str, Any]:
    if decision.outcome == "remove":
        return {"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]}
    out: dict[str, Any] = {"decision_visibility": [options.restrict_visibility]}
    if options.restrict_visibility == "DECISION_VISIBILITY_OTHER":
        out["decision_visibility_other"] = options.restrict_description
    return out


def _ground(decision: Decision, item: Item, options: StatementOptions) -> dict[str, Any]:
    out: dict[str, Any]
    if decision.outcome == "remove":
        out = {
            "decision_ground": ILLEGAL,
            "illegal_content_legal_ground": TCO,
            "illegal_content_explanation": (
                "Terrorist content within the meaning of Article 2(7) of Regulation (EU) "
                "2021/784, which hosting service providers remove or disable in all Member "
                "States. " + _category_sentence(item)
            ).strip(),
        }
    else:
        out = {
            "decision_ground": INCOMPATIBLE,
            "incompatible_content_ground": options.terms_ground,
            "incompatible_content_explanation": (
                "The content promotes or glorifies terrorism or violent extremism in a way "
                "the platform's terms do not allow, without being removed as illegal."
            ),
            "incompatible_content_illegal": "No",
        }
    if options.terms_url:
        out["decision_ground_reference_url"] = options.terms_url
    return out


def _category_sentence(item: Item) -> str:
    categories = art_2_7_categories(item)
    if not categories:
        return ""
    return "It " + "; ".join(ART_2_7[c] for c in categories) + "."


def _content_type(item: Item) -> dict[str, Any]:
    kind = _KIND_CONTENT_TYPE.get(item.kind)
    if kind is None and item.media_type:
        kind = next(
            (v for k, v in _MEDIA_CONTENT_TYPE.items() if item.media_type.startswith(k)), None
        )
    if kind is not None:
        return {"content_type": [kind]}
    other = "Link (URL) to content" if item.kind == "url" else "File"
    return {"content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": other}


def _how_found(item: Item) -> str:
    active = [m for m in item.matches if not m.allow and not m.suppressed]
    if any(m.signal_type in ("pdq", "md5", "sha256", "url") for m in active):
        return (
            "Detected on the platform's own initiative by matching against hashes of known "
            "terrorist content."
        )
    if any(m.signal_type in ("text_minhash", "text_sha256") for m in active):
        return "Detected on the platform's own initiative as a copy of known terrorist text."
    if _classifier(item) is not None:
        return "Detected on the platform's own initiative by an automated text classifier."
    return "Found on the platform's own initiative."


def art_2_7_categories(item: Item) -> list[str]:
    """The TCO Art. 2(7) points of what the item matched or the classifier found, if known."""
    found = {
        str(m.labels.get("category"))
        for m in item.matches
        if not m.allow and not m.suppressed and m.labels.get("category") in ART_2_7
    }
    result = _classifier(item)
    if result is not None and result.get("category") in ART_2_7:
        found.add(str(result["category"]))
    return sorted(found)


def _classifier(item: Item) -> dict[str, Any] | None:
    """The classifier's result when it flagged the item (review or high band)."""
    for signal in item.signals:
        if signal.signal_type == "text_classifier":
            result: dict[str, Any] = json.loads(signal.value)
            return result if result.get("band") not in (None, "none") else None
    return None


def _language(item: Item) -> str | None:
    for signal in item.signals:
        if signal.signal_type == "text_classifier":
            lang = str(json.loads(signal.value).get("lang") or "").upper()
            return lang if lang in LANGUAGES else None
    return None


def get_statement(session: Session, statement_id: int) -> Statement:
    """A statement by id, or 404."""
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(f"No statement with id {statement_id}.", code="unknown_statement")
    return statement


def list_statements(
    session: Session, status: str | None = None, limit: int = 50
) -> list[Statement]:
    """Statements, newest first, optionally of one status."""
    query = select(Statement).order_by(Statement.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Statement.status == status)
    return list(session.scalars(query))


def statement_public(statement: Statement, *, payload: bool = True) -> dict[str, Any]:
    """A statement as the API and CLI show it."""
    out: dict[str, Any] = {
        "id": statement.id,
        "decision_id": statement.decision_id,
        "platform": statement.platform,
        "puid": statement.puid,
        "status": statement.status,
        "attempts": statement.attempts,
        "next_attempt_at": statement.next_attempt_at.isoformat(),
        "last_error": statement.last_error,
        "problems": statement.problems,
        "created_at": statement.created_at.isoformat(),
        "submitted_at": statement.submitted_at.isoformat() if statement.submitted_at else None,
    }
    if payload:
        out["payload"] = statement.payload
    return out
