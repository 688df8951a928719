"""Moderators' decisions on texts, exported as labelled data, measured with `bastion eval` and
used to retrain the classifier (`bastion train`, BASTION_TEXT_MODEL)."""

from __future__ import annotations

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
from bastion.classify.model import active_model, use_model
from bastion.db.models import Decision
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
EVERYDAY = "Stand up for your rights!"
GRIEVING = "Miss you, brother."


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
    assert rows[REFUTING]["classifier"]["model"] == "tvec-v1"
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
        "--out", str(model), "--name", "tvec-v1-test",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["version"] == "tvec-v1-test" and "en" in summary["thresholds"]
    # Both models on the test split of the same data, to decide whether to switch.
    shipped, retrained = (
        summary["test_split"]["shipped"]["en"],
        summary["test_split"]["retrained"]["en"],
    )
    assert shipped["benign"] == retrained["benign"] > 0 and shipped["recall"] >= 0.9
    assert 0 <= retrained["false_positive_rate"] <= 1

    scored = _bastion("classify", "--input", str(reviewed), "--model", str(model), "--no-explain")
    assert scored.returncode == 0, scored.stderr
    assert {json.loads(line)["model"] for line in scored.stdout.splitlines()} == {"tvec-v1-test"}

    # The server scores with it when BASTION_TEXT_MODEL names it, and goes back afterwards.
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, text_model=model, order_clock_seconds=300)
    instance = Bastion(settings).start()
    try:
        with TestClient(create_app(instance)) as client:
            assert active_model().version == "tvec-v1-test"
            with instance.session() as session:
                from bastion.auth.tokens import create_token

                _, secret = create_token(session, name="t", role="admin", platform="default")
            item = client.post(
                "/v1/items",
                json={"external_id": "x", "text": RECRUITING},
                headers={"Authorization": f"Bearer {secret}"},
            ).json()
            assert item["signals"]["text_classifier"]["model"] == "tvec-v1-test"
    finally:
        instance.close()
    assert active_model().version == "tvec-v1"


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
    with pytest.raises(Exception, match="not a Bastion text model"):
        use_model(junk)
    assert active_model().version == "tvec-v1"
    assert classify_texts(["hello there, friends"])[0].model == "tvec-v1"


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
