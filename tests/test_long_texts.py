"""Long texts: which pieces of a text longer than MAX_PIECES pieces are read, and that a page of
propaganda deep inside a megabyte of everyday posts is read wherever it sits."""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bastion.classify.classifier import classify_texts
from bastion.classify.features import features
from bastion.classify.long_texts import (
    MAX_PIECES,
    SENTENCE_END,
    SUSPICIOUS_PIECES,
    pieces,
    pieces_read,
    suspicion,
)
from bastion.classify.model import shipped_model
from bastion.text.normalize import clean_text, normalize_text

DATA = Path(__file__).resolve().parents[1] / "data" / "text"


def _rows(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@lru_cache(maxsize=1)
def _filler() -> tuple[str, ...]:
    """About 1 MB of the dataset's everyday English posts (sport, jobs, family, games), drawn
    in a fixed random order so that no two pieces are alike; cleaned as the classifier cleans."""
    everyday = [clean_text(r["text"]) for r in _rows("en.jsonl") if r["slice"] == "everyday"]
    rng = random.Random(4)
    posts: list[str] = []
    size = 0
    while size < 1_000_000:
        posts.append(rng.choice(everyday))
        size += len(posts[-1]) + 1
    return tuple(posts)


@lru_cache(maxsize=1)
def _page() -> str:
    """A page of recruitment propaganda: the dataset's English calls to join, ~2,000 characters.
    One such line alone is not enough: inside a piece of ~1,000 characters of everyday posts
    the classifier does not flag it even when it reads it."""
    calls = [r["text"] for r in _rows("en.jsonl") if r["slice"] == "call_to_join"]
    return clean_text(" ".join(calls))


def _evenly_sampled(count: int) -> set[int]:
    """The pieces the classifier read before it ranked them: MAX_PIECES spread evenly."""
    return {int(i * count / MAX_PIECES) for i in range(MAX_PIECES)}


@lru_cache(maxsize=1)
def _text_with_page() -> tuple[str, frozenset[int]]:
    """The filler with the page pasted past the middle where even sampling reads none of the
    pieces the page lands in; and those pieces."""
    filler, sentences = list(_filler()), SENTENCE_END.split(_page())
    for at in range(len(filler) // 2, len(filler), 5):  # a piece holds ~7 posts
        text = " ".join([*filler[:at], _page(), *filler[at:]])
        cut = pieces(text)
        hit = frozenset(i for i, p in enumerate(cut) if any(s in p for s in sentences))
        if not hit & _evenly_sampled(len(cut)):
            return text, hit
    raise AssertionError("no position the even sampling skips")


def test_a_page_of_propaganda_deep_in_a_megabyte_of_posts_is_read() -> None:
    text, _ = _text_with_page()
    filler = " ".join(_filler())
    assert len(text) > 1_000_000 and len(set(pieces(text))) > 5 * MAX_PIECES
    found, clean = classify_texts([text, filler])
    assert found.band in ("review", "high"), found
    assert clean.band == "none", clean
    # The explanation quotes the page, not the posts at the start of the text.
    assert found.explanation["sentences"][0]["text"] in _page()


def test_a_long_text_is_read_in_order_over_its_whole_length() -> None:
    text, hit = _text_with_page()
    cut = pieces(text)
    read = pieces_read(text, shipped_model())
    assert len(set(cut)) == len(cut)
    at = [cut.index(p) for p in read]
    assert len(read) == MAX_PIECES and at == sorted(at)
    assert hit <= set(at)  # the page is read, all of it
    # Besides the most suspicious pieces, the rest of the text is still sampled evenly.
    spread = max(np.diff([0, *at, len(cut)]))
    assert spread <= 2 * len(cut) / (MAX_PIECES - SUSPICIOUS_PIECES)


def test_a_piece_repeated_is_read_once() -> None:
    post = " ".join(_filler()[:6])
    assert 600 < len(post) < 1000
    text = " ".join([post] * 400)
    assert len(pieces(text)) > MAX_PIECES
    read = pieces_read(text, shipped_model())
    assert sorted(read) == sorted(set(pieces(text)))


@pytest.mark.parametrize(
    "sentence",
    ["No sadness — only pride.", "Le réveil sera brutal.", "تضحيتهم ليست نهاية، بل شرارة."],
)
def test_ranking_scores_a_sentence_as_the_first_stages_lexical_part(sentence: str) -> None:
    """Where no n-gram repeats, the cheap ranking score is exactly the first stage's lexical
    log-odds of propaganda: features.py and the ranking hash the same n-grams."""
    model = shipped_model()
    indices, values = features(normalize_text(sentence))
    logits = (values @ model.weights[indices] + model.bias).astype(np.float64)
    others = np.delete(logits, model.propaganda)
    expected = logits[model.propaganda] - np.log(np.exp(others).sum())
    assert suspicion([sentence], model)[0] == pytest.approx(expected, abs=1e-4)


def test_normalising_token_by_token_gives_the_normal_form() -> None:
    """The ranking normalises each distinct token once; that is only right if the normal form
    never joins tokens, links, mentions and Arabic marks included."""
    texts = [r["text"] for path in sorted(DATA.glob("*.jsonl")) for r in _rows(path.name)]
    texts += [
        "see https://Example.org/x?utm=1 and www.site.fr/a, ping @Someone_1!",
        "(@user) mail:me@example.org العَرَبِيَّةُ ـــ ً كتاب",
        "Ｆｕｌｌ width, ﬁne ligature, Crème BRÛLÉE, Straße",
    ]
    for text in texts:
        whole = normalize_text(text).split()
        by_token = [n for raw in clean_text(text).split() for n in normalize_text(raw).split()]
        assert by_token == whole, text
