"""Classify texts: language, calibrated propaganda score, band, likely TCO category, the
Art. 1(3) exclusion that probably applies, and an explanation a moderator can check quickly.

A score only ever routes a text to review (policy/model.py refuses automatic action on
anything but a hash match in a vetted bank).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bastion.classify.context_head import head_logits, propaganda_log_odds, softmax
from bastion.classify.dataset import EXCLUSIONS, PROPAGANDA
from bastion.classify.embeddings import embed
from bastion.classify.encoder import encoder
from bastion.classify.language import detect_language
from bastion.classify.long_texts import SENTENCE_END, pieces_read
from bastion.classify.model import TextModel, log_odds, shipped_model
from bastion.classify.windows import windows as text_windows
from bastion.text.normalize import clean_text, normalize_text

# A long text can hide a call among pieces the first stage likes less than a decoy: the second
# stage reads this many of each text's pieces that reach its gate.
READ_AGAIN = 4
EXCLUSION_FLOOR = 0.3
SLICE_OF_EXCLUSION = {exclusion: name for name, exclusion in EXCLUSIONS.items() if exclusion}


@dataclass
class Classification:
    """What the classifier says about one text."""

    lang: str
    lang_score: float
    arabizi: bool
    confidence: str  # "normal" for supported languages, "low" otherwise
    score: float
    band: str  # none, review, high
    category: str | None
    exclusion: str | None
    model: str = ""  # the model's version: which model gave this score
    explanation: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """As the API, the CLI and item signals show it."""
        out = asdict(self)
        out["score"] = round(self.score, 4)
        out["lang_score"] = round(self.lang_score, 3)
        return out


def warm(model: TextModel | None = None) -> None:
    """Load the model, the embedding weights, the language model and the encoder now."""
    model = model or shipped_model()
    classify_texts(["warm up"], model=model, explain=False)
    if model.context is not None:
        encoder(model.context.layers)


def classify_texts(
    texts: list[str], *, model: TextModel | None = None, explain: bool = True, windows: bool = False
) -> list[Classification]:
    """Classify a batch of texts (batched embedding is much faster than one by one); with
    `windows`, a text left alone whose sentence window reaches the high band goes to review
    (classify/windows.py)."""
    model = model or shipped_model()
    cleaned = [clean_text(t) for t in texts]
    split = [pieces_read(t, model) for t in cleaned]
    flat = [p for group in split for p in group]
    normals = [normalize_text(p) for p in flat]
    embeddings = embed(flat)
    probabilities = model.class_probabilities(normals, embeddings)
    categories = model.category(embeddings)
    groups, at = [], 0
    for group in split:
        groups.append(range(at, at + len(group)))
        at += len(group)
    scored = _score(model, flat, probabilities, groups)
    worst_rows = [max(rows, key=lambda r: scored.scores[r]) for rows in groups]  # they decide
    results = [
        _one(model, text, scored.scores[row], scored.probabilities[row], categories[row], scored)
        for text, row in zip(cleaned, worst_rows, strict=True)
    ]
    found = _windows(model, results, split) if windows else {}
    for result, group, rows, row in zip(results, split, groups, worst_rows, strict=True):
        if not explain or result.band == "none":
            continue
        # The deciding piece's sentences first: in a long text they would otherwise lie
        # beyond the sentences the explanation reads.
        worst = row - rows.start
        ordered = [group[worst], *group[:worst], *group[worst + 1 :]]
        result.explanation = _explain(model, ordered, embeddings[row], result.exclusion)
        if scored.read_again[row]:
            result.explanation["stages"] = {
                "first": round(float(scored.first[row]), 4),
                "context": round(float(scored.context_scores[row]), 4),
            }
    # The window that sent a text to review is named even without explanations.
    for index, window in found.items():
        results[index].explanation["window"] = window
    return results


def _windows(
    model: TextModel, results: list[Classification], split: list[list[str]]
) -> dict[int, dict[str, Any]]:
    """Send to review each text left alone that has a window in the high band; returns, per
    text sent, its highest window and that window's score."""
    owners, texts = [], []
    for index, result in enumerate(results):
        if result.band == "none":
            for window in text_windows(split[index], model):
                owners.append(index)
                texts.append(window)
    found: dict[int, dict[str, Any]] = {}
    for index, window, scored in zip(
        owners, texts, classify_texts(texts, model=model, explain=False), strict=True
    ):
        best = found.get(index)
        if scored.band == "high" and (best is None or scored.score > best["score"]):
            found[index] = {"text": window, "score": round(scored.score, 4)}
            # Review at most: the window is a passage, not what the whole text says.
            results[index].band = "review"
            results[index].score = max(results[index].score, scored.score)
            results[index].category = scored.category
    return found


@dataclass
class _Scored:
    """Per piece of text: the score, class probabilities and what each stage said."""

    scores: Any  # calibrated
    probabilities: Any  # (pieces, classes)
    thresholds: dict[str, Any]
    version: str
    first: Any  # the first stage's calibrated score
    read_again: Any  # did the second stage read the piece
    context_scores: Any  # the second stage's own calibrated score, where it read


def _score(model: TextModel, pieces: list[str], probabilities: Any, groups: list[range]) -> _Scored:
    """Scores from both stages where the model has a second one and its encoder is installed;
    otherwise from the first alone. In each text the second stage reads the pieces that reach
    the gate, the first stage's worst first, up to READ_AGAIN of them."""
    first = model.calibrated(probabilities[:, model.propaganda])
    none = np.zeros(len(pieces), dtype=bool)
    context = model.context
    reader = encoder(context.layers) if context is not None else None
    if context is None or reader is None:
        version = model.version if context is None else f"{model.version} (first stage only)"
        return _Scored(first, probabilities, model.thresholds, version, first, none, none)
    first_odds = log_odds(probabilities[:, model.propaganda].astype(np.float64))
    chosen = [
        r
        for rows in groups
        for r in sorted(
            (r for r in rows if first_odds[r] >= context.gate), key=lambda r: -first_odds[r]
        )[:READ_AGAIN]
    ]
    combined, mixed = first_odds.copy(), probabilities.copy()
    again, alone = none.copy(), np.zeros(len(pieces))
    if chosen:
        logits = head_logits(context.heads, reader.states([pieces[i] for i in chosen]))
        second = propaganda_log_odds(logits, model.propaganda)
        combined[chosen] = (first_odds[chosen] + second) / 2
        mixed[chosen] = (probabilities[chosen] + softmax(logits)) / 2
        again[chosen] = True
        alone[chosen] = context.calibrated(second)
    return _Scored(
        context.calibrated(combined), mixed, context.thresholds, model.version, first, again, alone
    )


def _one(
    model: TextModel,
    text: str,
    score: float,
    probabilities: Any,
    category: str,
    scored: _Scored,
) -> Classification:
    """The result for one (cleaned) text."""
    language = detect_language(text)
    # The band thresholds of the stages that scored it, the global ones for other languages.
    limits = scored.thresholds.get(language.code, scored.thresholds["*"])
    band = "high" if score >= limits.high else ("review" if score >= limits.review else "none")
    benign = [(p, c) for p, c in zip(probabilities, model.classes, strict=True) if c != PROPAGANDA]
    best_p, best_class = max(benign)
    exclusion = EXCLUSIONS.get(best_class) if best_p >= EXCLUSION_FLOOR and band != "high" else None
    return Classification(
        lang=language.code,
        lang_score=language.score,
        arabizi=language.arabizi,
        confidence="normal" if language.supported else "low",
        score=float(score),
        band=band,
        category=category if band != "none" else None,
        exclusion=exclusion,
        model=scored.version,
    )


def _explain(
    model: TextModel, group: list[str], embedding: Any, exclusion: str | None
) -> dict[str, Any]:
    sentences = [s for p in group for s in SENTENCE_END.split(p) if len(s.split()) >= 3][:40]
    scored: list[dict[str, Any]] = []
    framing: dict[str, Any] | None = None
    if len(sentences) > 1:
        vectors = embed(sentences)
        probabilities = model.class_probabilities([normalize_text(s) for s in sentences], vectors)
        values = model.calibrated(probabilities[:, model.propaganda])
        order = np.argsort(-values)[:2]
        scored = [{"text": sentences[i], "score": round(float(values[i]), 3)} for i in order]
        if exclusion in SLICE_OF_EXCLUSION and SLICE_OF_EXCLUSION[exclusion] in model.classes:
            # The sentence that reads most like the exclusion (the rebuttal, the prayer, the
            # report), so the moderator can check the framing against the driving sentences.
            column = probabilities[:, model.classes.index(SLICE_OF_EXCLUSION[exclusion])]
            best = int(np.argmax(column))
            framing = {"text": sentences[best], "probability": round(float(column[best]), 3)}
    similarity = model.neighbours.astype(np.float32) @ embedding
    nearest = np.argsort(-similarity)[:3]
    return {
        "sentences": scored,
        "exclusion_sentence": framing,
        "closest_examples": [
            {**model.neighbour_meta[i], "similarity": round(float(similarity[i]), 3)}
            for i in nearest
        ],
    }
