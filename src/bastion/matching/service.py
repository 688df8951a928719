"""Match signals against every enabled bank: exact digests and URLs, PDQ within each threshold.

Allow-list banks win: when content matches an allow-list (news footage wrongly hashed, say),
its matches in other banks are reported as suppressed, never as matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from bastion.banks.entries import entry_labels
from bastion.db.models import Bank, BankEntry, EntrySignal
from bastion.errors import NotFound
from bastion.matching.pdq_sync import PdqIndexSync
from bastion.matching.text_sync import TextIndexSync
from bastion.signals.file_signals import FileSignals, ViewHash, query_view_hashes
from bastion.signals.pdq import DIHEDRAL, PdqHash
from bastion.signals.registry import canonical_signal_type, normalize_value
from bastion.signals.url import threatexchange_url_md5, url_digests
from bastion.text.minhash import SMALL_CHUNK, Chunk, containment
from bastion.text.signals import TextSignals, parse_minhash_value

# When one entry matches through several signals, the most specific one is reported.
_SPECIFICITY = {
    "sha256": 0,
    "md5": 1,
    "text_sha256": 1,
    "url": 2,
    "url_sha256": 3,
    "url_md5": 4,
    "pdq": 5,
    "text_minhash": 6,
}
# A text chunk matches a stored one when they share this much (estimated Jaccard of word
# 3-shingles), or when the stored chunk is this much contained in the query (a known post
# pasted inside a longer one). Measured in docs/benchmarks.md: copies with 5% of words
# edited score 0.58 (p10) to 0.77 (median); unrelated texts below 0.02.
TEXT_MIN_SIMILARITY = 0.3
TEXT_MIN_CONTAINMENT = 0.6
_TEXT_CANDIDATE = 0.15


@dataclass(frozen=True)
class Match:
    """One bank entry that the content matched, through its best signal."""

    bank: Bank
    entry: BankEntry
    signal_type: str
    distance: int
    view: str | None = None
    transform: str | None = None
    similarity: float | None = None
    containment: float | None = None

    def public(self) -> dict[str, Any]:
        """The match as the API returns it."""
        out: dict[str, Any] = {
            "bank": self.bank.name,
            "entry_id": self.entry.id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "labels": entry_labels(self.entry),
            "external_id": self.entry.external_id,
            "vetted": self.bank.vetted,
        }
        if self.signal_type == "pdq":
            out["threshold"] = self.bank.pdq_threshold
            out["view"] = self.view
            out["transform"] = self.transform
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 3)
            out["containment"] = round(self.containment or 0.0, 3)
            out["chunk"] = self.view
        return out


@dataclass
class MatchResult:
    """Matches, allow-list matches, and matches the allow-list suppressed."""

    matches: list[Match] = field(default_factory=list)
    allowed: list[Match] = field(default_factory=list)
    suppressed: list[Match] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The result as the API returns it."""
        return {
            "matches": [m.public() for m in self.matches],
            "allow_matches": [m.public() for m in self.allowed],
            "suppressed": [m.public() for m in self.suppressed],
            "notes": self.notes,
        }


@dataclass
class _Hit:
    signal_id: int | None
    entry_id: int
    bank_id: int
    signal_type: str
    distance: int
    view: str | None = None
    transform: str | None = None
    similarity: float | None = None
    containment: float | None = None


def text_hit_containment(similarity: float, stored: int, query: int) -> float | None:
    """How much of one chunk lies in the other, or None when a stored chunk (of `stored`
    shingles) and a query chunk (of `query`) are too far apart to be a match."""
    # A known post inside the query, or (for a window of some length) a passage of the query
    # inside a chunk of a known document.
    contained = containment(similarity, stored, query)
    if query > SMALL_CHUNK:
        contained = max(contained, containment(similarity, query, stored))
    if similarity < TEXT_MIN_SIMILARITY and contained < TEXT_MIN_CONTAINMENT:
        return None
    return contained


class Matcher:
    """Looks signals up in the database (exact) and in the PDQ index (Hamming)."""

    def __init__(
        self,
        pdq: PdqIndexSync,
        quality_floor: int,
        *,
        dihedral: bool = True,
        text: TextIndexSync | None = None,
    ) -> None:
        self.pdq = pdq
        self.text = text or TextIndexSync()
        self.quality_floor = quality_floor
        self.dihedral = dihedral

    def match_file(
        self, session: Session, signals: FileSignals, banks: Sequence[str] | None = None
    ) -> MatchResult:
        """Match a file by its digests and, for an image, by PDQ with views and rotations."""
        scope = _enabled_banks(session, banks)
        hits = _exact_hits(session, scope, [("md5", signals.md5), ("sha256", signals.sha256)])
        notes: list[str] = []
        if signals.image is not None and signals.pdq is not None:
            if signals.pdq.matchable(self.quality_floor):
                queries = query_view_hashes(
                    signals.image, dihedral=self.dihedral, full=signals.full_dihedral
                )
                hits += self._pdq_hits(session, scope, queries)
            else:
                notes.append(_low_quality(signals.pdq, self.quality_floor))
        return _resolve(session, scope, hits, notes)

    def match_value(
        self,
        session: Session,
        signal_type: str,
        value: str,
        banks: Sequence[str] | None = None,
        quality: int | None = None,
    ) -> MatchResult:
        """Match one raw signal value: a hex hash or a URL."""
        kind = canonical_signal_type(signal_type)
        normal = normalize_value(kind, value)
        scope = _enabled_banks(session, banks)
        if kind == "text_minhash":
            shingles, signature = parse_minhash_value(normal)
            chunk = Chunk(0, shingles, signature)
            hits = self._text_hits(session, scope, TextSignals("", "", [chunk]))
        elif kind == "pdq":
            query = PdqHash(bytes.fromhex(normal), quality)
            if not query.matchable(self.quality_floor):
                return MatchResult(notes=[_low_quality(query, self.quality_floor)])
            hits = self._pdq_hits(session, scope, [ViewHash("full", DIHEDRAL[0], query)])
        elif kind == "url":
            digests = url_digests(normal)
            keys = [
                ("url", digests["sha256"]),
                ("url_sha256", digests["sha256"]),
                ("url_md5", digests["md5"]),
                # url_md5 lists exported by ThreatExchange hash its own, lighter normal form.
                ("url_md5", threatexchange_url_md5(value)),
            ]
            hits = _exact_hits(session, scope, keys)
        else:
            hits = _exact_hits(session, scope, [(kind, normal)])
        return _resolve(session, scope, hits, [])

    def match_text(
        self, session: Session, signals: TextSignals, banks: Sequence[str] | None = None
    ) -> MatchResult:
        """Match a text: exact copies by digest, near-duplicates by chunk signatures."""
        scope = _enabled_banks(session, banks)
        hits = _exact_hits(session, scope, [("text_sha256", signals.sha256)])
        hits += self._text_hits(session, scope, signals)
        notes = []
        if not signals.chunks:
            notes.append(
                "The text is too short for near-duplicate matching; only exact copies match."
            )
        return _resolve(session, scope, hits, notes)

    def _text_hits(
        self, session: Session, scope: dict[int, Bank], signals: TextSignals
    ) -> list[_Hit]:
        if not scope or not signals.chunks:
            return []
        self.text.sync(session)
        best: dict[int, tuple[float, float]] = {}
        signatures = np.stack([chunk.signature for chunk in signals.chunks])
        found = self.text.index.query_many(signatures, _TEXT_CANDIDATE)
        for chunk, chunk_hits in zip(signals.chunks, found, strict=True):
            for hit in chunk_hits:
                contained = text_hit_containment(hit.similarity, hit.shingles, chunk.shingles)
                if contained is None:
                    continue
                if hit.id not in best or (hit.similarity, contained) > best[hit.id]:
                    best[hit.id] = (hit.similarity, contained)
        if not best:
            return []
        rows = _in_chunks(
            best,
            lambda ids: select(
                EntrySignal.id, EntrySignal.entry_id, EntrySignal.bank_id, EntrySignal.view
            ).where(EntrySignal.id.in_(ids)),
            session,
        )
        hits = []
        for signal_id, entry_id, bank_id, view in rows:
            if bank_id in scope:
                similarity, contained = best[signal_id]
                # The distance follows similarity only: a known slogan quoted inside a long
                # article is contained in it, not a copy of it, and must not look like one.
                distance = round((1.0 - similarity) * 100)
                hits.append(
                    _Hit(
                        signal_id,
                        entry_id,
                        bank_id,
                        "text_minhash",
                        distance,
                        view,
                        None,
                        similarity,
                        contained,
                    )
                )
        return hits

    def _pdq_hits(
        self, session: Session, scope: dict[int, Bank], queries: Sequence[ViewHash]
    ) -> list[_Hit]:
        if not scope or not queries:
            return []
        self.pdq.sync(session)
        threshold = max(bank.pdq_threshold for bank in scope.values())
        best: dict[int, tuple[int, ViewHash]] = {}
        for query in queries:
            for signal_id, distance in self.pdq.index.query(query.hash.digest, threshold):
                if signal_id not in best or distance < best[signal_id][0]:
                    best[signal_id] = (distance, query)
        if not best:
            return []
        rows = _in_chunks(
            best,
            lambda ids: select(
                EntrySignal.id,
                EntrySignal.entry_id,
                EntrySignal.bank_id,
                EntrySignal.view,
                EntrySignal.value,
            ).where(EntrySignal.id.in_(ids)),
            session,
        )
        hits = []
        for signal_id, entry_id, bank_id, view, value in rows:
            distance, query = best[signal_id]
            # The database is the truth: a stale index row (its id reused after a delete in
            # another process) must never report someone else's entry.
            if query.hash.distance(PdqHash(bytes.fromhex(value))) != distance:
                continue
            bank = scope.get(bank_id)
            if bank is not None and distance <= bank.pdq_threshold:
                hits.append(
                    _Hit(signal_id, entry_id, bank_id, "pdq", distance, view, query.transform)
                )
        return hits


def _enabled_banks(session: Session, names: Sequence[str] | None) -> dict[int, Bank]:
    query = select(Bank).where(Bank.enabled.is_(True))
    if names:
        found = session.scalars(select(Bank).where(Bank.name.in_(list(names)))).all()
        missing = sorted(set(names) - {b.name for b in found})
        if missing:
            raise NotFound(f"No bank named {', '.join(map(repr, missing))}.", code="unknown_bank")
        query = query.where(Bank.name.in_(list(names)))
    return {bank.id: bank for bank in session.scalars(query)}


def _exact_hits(
    session: Session, scope: dict[int, Bank], keys: Iterable[tuple[str, str]]
) -> list[_Hit]:
    pairs = list(keys)
    if not scope or not pairs:
        return []
    condition = (
        tuple_(EntrySignal.signal_type, EntrySignal.lookup_key).in_(pairs)
        if len(pairs) > 1
        else (EntrySignal.signal_type == pairs[0][0]) & (EntrySignal.lookup_key == pairs[0][1])
    )
    rows = session.execute(
        select(EntrySignal.id, EntrySignal.entry_id, EntrySignal.bank_id, EntrySignal.signal_type)
        .where(condition)
        .where(EntrySignal.bank_id.in_(list(scope)))
    ).all()
    return [_Hit(sid, eid, bid, kind, 0) for sid, eid, bid, kind in rows]


def _resolve(
    session: Session, scope: dict[int, Bank], hits: list[_Hit], notes: list[str]
) -> MatchResult:
    best: dict[int, _Hit] = {}
    for hit in hits:
        current = best.get(hit.entry_id)
        if current is None or _rank(hit) < _rank(current):
            best[hit.entry_id] = hit
    entries = {
        e.id: e
        for e in _in_chunks(
            best, lambda ids: select(BankEntry).where(BankEntry.id.in_(ids)), session, scalars=True
        )
    }
    found = [
        Match(
            scope[h.bank_id],
            entries[h.entry_id],
            h.signal_type,
            h.distance,
            h.view,
            h.transform,
            h.similarity,
            h.containment,
        )
        for h in best.values()
        if h.entry_id in entries
    ]
    found.sort(key=lambda m: (m.distance, _SPECIFICITY.get(m.signal_type, 9), m.bank.name))
    result = MatchResult(notes=notes)
    result.allowed = [m for m in found if m.bank.allow]
    others = [m for m in found if not m.bank.allow]
    if result.allowed:
        result.suppressed = others
    else:
        result.matches = others
    return result


def _rank(hit: _Hit) -> tuple[int, int]:
    return (hit.distance, _SPECIFICITY.get(hit.signal_type, 9))


def _in_chunks(
    ids: Iterable[int], build: Any, session: Session, *, scalars: bool = False
) -> list[Any]:
    """Run an IN query in chunks: SQLite and Postgres both limit bound parameters."""
    values = list(ids)
    out: list[Any] = []
    for start in range(0, len(values), 900):
        statement = build(values[start : start + 900])
        out.extend(session.scalars(statement) if scalars else session.execute(statement))
    return out


def _low_quality(query: PdqHash, floor: int) -> str:
    return (
        f"The image's PDQ quality is {query.quality}, below the floor of {floor}: "
        "flat or tiny images give unreliable hashes, so PDQ was not matched."
    )
