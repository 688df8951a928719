"""The first stage's hashed n-gram features: the shipped model's weights are indexed by these
buckets, so every way of computing them must give exactly the keys the model was trained on."""

from __future__ import annotations

import json
import zlib
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bastion.classify import features as features_module
from bastion.classify.features import SIZE, bigram_bucket, char_buckets, features, word_bucket
from bastion.text.normalize import normalize_text

DATA = Path(__file__).resolve().parents[1] / "data" / "text"


def _reference(normal: str) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The features as first defined (and trained on): string keys "c"/"w"/"b" + gram, CRC-32,
    log-scaled counts, L2-normalised per kind, summed where buckets of both kinds meet."""
    tokens = normal.split()
    chars = [
        f"c{padded[i : i + n]}"
        for token in tokens
        for padded in (f" {token} ",)
        for n in range(2, 6)
        for i in range(max(len(padded) - n + 1, 0))
    ]
    words = [f"w{t}" for t in tokens] + [f"b{a} {b}" for a, b in pairwise(tokens)]
    totals: dict[int, float] = {}
    for keys in (chars, words):
        buckets, counts = np.unique(
            [zlib.crc32(k.encode()) & (SIZE - 1) for k in keys] or np.empty(0, np.int64),
            return_counts=True,
        )
        values = (1.0 + np.log(counts)).astype(np.float32)
        values /= np.float32(np.linalg.norm(values) or 1.0)
        for bucket, value in zip(buckets.tolist(), values.tolist(), strict=True):
            totals[bucket] = float(np.float32(totals.get(bucket, 0.0)) + np.float32(value))
    ordered = sorted(totals)
    return np.array(ordered, dtype=np.int64), np.array([totals[b] for b in ordered], np.float32)


def _dataset_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(DATA.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            texts.extend(normalize_text(json.loads(line)["text"]) for line in lines)
    return texts


def test_features_of_every_dataset_text_are_the_keys_the_model_was_trained_on() -> None:
    texts = _dataset_texts()
    assert len(texts) > 2000
    for text in texts:
        indices, values = features(text)
        expected_indices, expected_values = _reference(text)
        assert np.array_equal(indices, expected_indices), text
        np.testing.assert_allclose(values, expected_values, rtol=1e-6, err_msg=text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "a",
        "a a a a",
        "يا يا اخوة اخوة",
        "\U0001f600 x\u0301 \U0001f600\U0001f600",
        "ab ab cd",
    ],
)
def test_edge_texts_match_the_reference(text: str) -> None:
    indices, values = features(text)
    expected_indices, expected_values = _reference(text)
    assert np.array_equal(indices, expected_indices)
    np.testing.assert_allclose(values, expected_values, rtol=1e-6)


def test_token_buckets_are_the_keys_of_the_whole_text_features() -> None:
    hashed, counts = char_buckets(["join", "us"])
    assert counts.tolist() == [5 + 4 + 3 + 2, 3 + 2 + 1]  # " join " and " us ": 2- to 5-grams
    assert hashed[0] == zlib.crc32(b"c j") & (SIZE - 1)
    assert word_bucket("join") == zlib.crc32(b"wjoin") & (SIZE - 1)
    assert bigram_bucket("join", "us") == zlib.crc32(b"bjoin us") & (SIZE - 1)
    indices, _ = features("join us")
    assert set(hashed.tolist()) | {word_bucket("join"), bigram_bucket("join", "us")} <= set(
        indices.tolist()
    )


def test_remembered_tokens_give_the_same_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _dataset_texts()[::50]
    first = [features(t) for t in texts]
    again = [features(t) for t in texts]  # every token now remembered
    monkeypatch.setattr(features_module, "_TOKEN_BUCKETS", {})
    monkeypatch.setattr(features_module, "_TOKEN_LIMIT", 0)  # full: nothing remembered
    unremembered = [features(t) for t in texts]
    for (i, v), (j, w), (k, u) in zip(first, again, unremembered, strict=True):
        assert np.array_equal(i, j) and np.array_equal(v, w)
        assert np.array_equal(i, k) and np.array_equal(v, u)
    assert not features_module._TOKEN_BUCKETS
