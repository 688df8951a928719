"""Mixed posts: short labelled texts pasted among everyday posts (research, not shipped; issue 4).

Used by mix-training.patch (apply it to src/ to rerun: `training.train(..., filler=...)` then
adds mixed copies of the pool's short texts to the training rows). Out of fold it found
diluted calls but cost false positives on the original texts in every variant tried; the
figures are in ../README.md ("training on mixed posts, continued").

Filler: the neutral posts written for this (filler-<lang>.txt beside this file), or, in
`diluted`, the evaluated split's own everyday posts under 250 characters.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from bastion.classify.dataset import PROPAGANDA, Example

SHORT = 400  # characters: longer texts already read as posts of their own
FILLER_CHARS = 250
FILLER_POSTS = (2, 6)
# French went from 10 to 19 false positives out of fold at 0.6 (research/counter-speech).
RATE = {"en": 0.6, "fr": 0.3, "ar": 0.6}
SEED = 7
SUFFIX = "-mix"


def filler_posts(folder: Path) -> dict[str, list[str]]:
    """The neutral filler posts per language, from `folder`/filler-<lang>.txt (one per line)."""
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("filler-*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        out[path.stem.removeprefix("filler-")] = [line.strip() for line in lines if line.strip()]
    return out


def mixed_for_training(
    pool: list[Example], filler: dict[str, list[str]], seed: int = SEED
) -> list[Example]:
    """Mixed copies of some of the pool's short texts among filler posts of their language
    (same label, slice and template, so they share their text's fold; id + "-mix")."""
    rng = random.Random(seed)
    mixed = []
    for e in pool:
        if len(e.text) < SHORT and rng.random() < RATE.get(e.lang, 0.0) and filler.get(e.lang):
            mixed.append(replace(e, id=e.id + SUFFIX, text=_paste(e.text, filler[e.lang], rng)))
    return mixed


def diluted(examples: list[Example], seed: int = SEED) -> list[Example]:
    """Every short text of `examples` among 2-6 everyday posts drawn from `examples` (same
    language): an evaluation set of calls, and of benign texts, diluted in ordinary chatter."""
    rng = random.Random(seed)
    filler: dict[str, list[Example]] = {}
    for e in examples:
        if _is_filler(e):
            filler.setdefault(e.lang, []).append(e)
    out = []
    for e in examples:
        candidates = [f.text for f in filler.get(e.lang, []) if f.id != e.id]
        if len(e.text) < SHORT and candidates:
            out.append(replace(e, id=e.id + SUFFIX, text=_paste(e.text, candidates, rng)))
    return out


def _is_filler(example: Example) -> bool:
    return (
        example.label != PROPAGANDA
        and example.slice == "everyday"
        and len(example.text) < FILLER_CHARS
    )


def _paste(text: str, filler: list[str], rng: random.Random) -> str:
    picked = rng.sample(filler, min(len(filler), rng.randint(*FILLER_POSTS)))
    # Mostly inside, sometimes first or last: a call opens or closes a thread too.
    cut = (
        rng.randint(0, len(picked))
        if rng.random() < 0.3
        else rng.randint(1, max(1, len(picked) - 1))
    )
    return " ".join([*picked[:cut], text, *picked[cut:]])
