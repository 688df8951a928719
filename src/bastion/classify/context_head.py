"""The classifier's second stage: a small attention-pooling head over mE5-small's token states
(encoder.py), trained on the labelled dataset with the encoder frozen.

Each token state is projected (LayerNorm, 384 -> 128, GELU); four learnt attention heads
pick the tokens that matter (the call, the rebuttal), and their pooled vectors with the mean
state go through one linear layer to the same seven classes as the first stage. Inference is
numpy; training (`fit_heads`) needs PyTorch, which Bastion does not require to run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
PROJECTED = 128
ATTENTION_HEADS = 4
EPOCHS = 30
LEARNING_RATE = 2e-3
BATCH = 32
PARAMETERS = ("ln_w", "ln_b", "w1", "b1", "wa", "ba", "wo", "bo")


def head_logits(heads: dict[str, F32], states: list[F32]) -> F32:
    """(texts, classes) logits, averaged over the stacked heads (one per training seed)."""
    out = np.zeros((len(states), heads["bo"].shape[-1]), dtype=np.float32)
    for row, x in enumerate(states):
        x = x.astype(np.float32, copy=False)
        mean = x.mean(axis=0)
        centred = x - x.mean(-1, keepdims=True)
        normed = centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + 1e-5)
        for k in range(heads["bo"].shape[0]):
            projected = (normed * heads["ln_w"][k] + heads["ln_b"][k]) @ heads["w1"][k]
            h = _gelu(projected + heads["b1"][k])
            scores = h @ heads["wa"][k] + heads["ba"][k]  # (tokens, attention heads)
            scores = np.exp(scores - scores.max(axis=0, keepdims=True))
            scores /= scores.sum(axis=0, keepdims=True)
            pooled = (scores.T @ h).reshape(-1)
            out[row] += np.concatenate([pooled, mean]) @ heads["wo"][k] + heads["bo"][k]
        out[row] /= heads["bo"].shape[0]
    return out


def _gelu(x: F32) -> F32:
    # The tanh form, as the head is trained with (nn.GELU(approximate="tanh")).
    return np.asarray(
        0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608) * (x + 0.044715 * x * x * x))),
        dtype=np.float32,
    )


def fit_heads(
    states: list[F32], targets: list[int], classes: int, seeds: int = 2
) -> dict[str, F32]:
    """Train `seeds` heads with PyTorch and stack their weights (leading axis = seed)."""
    import torch

    from bastion.classify._head_torch import train_one

    torch.set_num_threads(2)
    fitted = [train_one(states, targets, classes, seed) for seed in range(seeds)]
    return {name: np.stack([f[name] for f in fitted]).astype(np.float32) for name in PARAMETERS}


def propaganda_log_odds(logits: F32, propaganda: int) -> NDArray[np.float64]:
    """log P(propaganda) - log P(any benign class), from class logits."""
    z = logits.astype(np.float64)
    others = np.delete(z, propaganda, axis=1)
    top = others.max(axis=1, keepdims=True)
    rest = top[:, 0] + np.log(np.exp(others - top).sum(axis=1))
    return np.asarray(z[:, propaganda] - rest)


def softmax(logits: F32) -> F32:
    """Row-wise class probabilities."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float32)


def as_arrays(heads: dict[str, Any]) -> dict[str, F32]:
    """Heads as read from a model file, as float32 arrays (shapes checked by `problem`)."""
    return {name: np.asarray(heads[name], dtype=np.float32) for name in PARAMETERS}


def problem(heads: dict[str, F32], classes: int) -> str | None:
    """What is wrong with a set of heads for `classes` classes, or None."""
    seeds = heads["bo"].shape[0] if heads["bo"].ndim == 2 else 0
    if seeds < 1:
        return "the context head has no trained head"
    width = ATTENTION_HEADS * PROJECTED + 384
    expected = {
        "ln_w": (seeds, 384),
        "ln_b": (seeds, 384),
        "w1": (seeds, 384, PROJECTED),
        "b1": (seeds, PROJECTED),
        "wa": (seeds, PROJECTED, ATTENTION_HEADS),
        "ba": (seeds, ATTENTION_HEADS),
        "wo": (seeds, width, classes),
        "bo": (seeds, classes),
    }
    for name, shape in expected.items():
        if heads[name].shape != shape:
            return f"context head {name} has shape {heads[name].shape}, expected {shape}"
        if not np.isfinite(heads[name]).all():
            return f"context head {name} is not finite"
    return None
