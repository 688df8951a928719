"""Sentence windows (off by default): a call pasted among ordinary posts reaches review, in
the library, the CLI (one process and workers) and the item API."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from bastion.app import create_app
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import load_examples, training_files
from bastion.classify.long_texts import pieces_read
from bastion.classify.model import shipped_model
from bastion.classify.windows import MAX_WINDOWS, windows
from bastion.runtime import Bastion
from builders.console import login, make_user

DATA = Path(__file__).resolve().parents[1] / "data" / "text"
BEFORE = (
    "Lovely weather for the market this morning, the strawberries are finally in. "
    "Our neighbour's cat has learnt to open the kitchen door. "
    "The bakery on the corner now sells rye bread on Saturdays."
)
AFTER = (
    "The bus timetable changes next week, so check before you leave. "
    "Does anyone know a good plumber near the station? "
    "The library is showing an old comedy on Friday night."
)


def _call() -> str:
    """A short call of the training split (invented group, no operational detail)."""
    (example,) = [e for e in load_examples(training_files(DATA)) if e.id == "en-0069"]
    assert example.split == "train" and example.label == "propaganda"
    return example.text


def test_windows_are_sentence_pairs_of_texts_of_three_sentences_or_more() -> None:
    model = shipped_model()
    assert windows(["One sentence. Two sentences."], model) == []
    assert windows(["One. Two. Three."], model) == ["One. Two.", "Two. Three."]
    # Chat-style posts: one message a line, unpunctuated.
    assert windows(["hi all\nwho is in\nfor tonight"], model) == [
        "hi all who is in",
        "who is in for tonight",
    ]
    # Inside each piece only (a long text's pieces read need not be adjacent), each once.
    assert windows(["A. B.", "C.", "A. B."], model) == ["A. B.", "C."]
    assert len(windows(["Word. " * 500], model)) == 1


def test_a_long_post_keeps_the_most_suspicious_windows_wherever_the_call_sits() -> None:
    model = shipped_model()
    ordinary = [
        f"Update {i}: bus line {i} runs every {i % 9 + 5} minutes on weekdays." for i in range(120)
    ]
    for at in (0, 60, 120):
        post = " ".join([*ordinary[:at], _call(), *ordinary[at:]])
        found = windows(pieces_read(post, model), model)
        assert len(found) == MAX_WINDOWS and any("Act in your own city." in w for w in found), at
        (plain,) = classify_texts([post], windows=False)
        (result,) = classify_texts([post], windows=True)
        assert result.band == "review", at
        if at < 120:
            # Diluted in its piece: only a window finds it, and the explanation names it.
            assert plain.band == "none", at
            assert "Act in your own city." in result.explanation["window"]["text"], at
        else:
            # At the end the call fills most of the last piece, which reaches review on its
            # own: no window is added, and the driving sentence is the call.
            assert plain.band == "review" and "window" not in result.explanation
            assert "Act in your own city." in result.explanation["sentences"][0]["text"]


def test_a_call_among_ordinary_posts_reaches_review_only_with_windows() -> None:
    call = _call()
    post = f"{BEFORE} {call} {AFTER}"
    alone, diluted, ordinary = classify_texts([call, post, f"{BEFORE} {AFTER}"], windows=False)
    assert alone.band == "high" and diluted.band == "none" and ordinary.band == "none"
    alone, diluted, ordinary = classify_texts([call, post, f"{BEFORE} {AFTER}"], windows=True)
    assert alone.band == "high" and "window" not in alone.explanation
    # Review, never high: the window is a passage, not what the whole post says.
    assert diluted.band == "review" and diluted.category is not None
    window = diluted.explanation["window"]
    assert window["text"] in call and window["score"] == round(diluted.score, 4)
    assert ordinary.band == "none"


def test_cli_windows_in_one_process_and_in_workers(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"id": str(i), "text": f"{BEFORE} {_call()} {AFTER}"} for i in range(3)]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    command = [sys.executable, "-m", "bastion", "classify", "--input", str(source), "--no-explain"]
    for extra in ([], ["--windows"], ["--windows", "--workers", "2"]):
        done = subprocess.run(command + extra, capture_output=True, text=True, check=True)
        results = [json.loads(line) for line in done.stdout.splitlines()]
        assert {r["band"] for r in results} == ({"review"} if extra else {"none"}), done.stderr
        # Without explanations, the window that sent a text to review is still named.
        assert all(("window" in r["explanation"]) == bool(extra) for r in results)
    # `eval` too, and the setting's environment variable stands for the flag.
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(json.dumps({"text": rows[0]["text"], "label": "propaganda"}) + "\n")
    evaluate = [sys.executable, "-m", "bastion", "eval", "--input", str(labelled)]
    on = {"BASTION_TEXT_WINDOWS": "true"}
    for extra, environment, found in (([], {}, 0), ([], on, 1), (["--no-windows"], on, 0)):
        done = subprocess.run(
            evaluate + extra,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **environment},
        )
        groups = {row["group"]: row for row in map(json.loads, done.stdout.splitlines())}
        assert groups["all"]["recall"]["value"] == found, (environment, done.stdout)


def test_the_item_api_and_the_console_use_windows_when_the_setting_is_on(
    bastion: Bastion, admin: dict[str, str]
) -> None:
    post = f"{BEFORE} {_call()} {AFTER}"
    # HTTPS: the console's session cookie is Secure.
    with TestClient(
        create_app(bastion), base_url="https://testserver", follow_redirects=False
    ) as web:
        first = web.post("/v1/items", json={"external_id": "w-1", "text": post}, headers=admin)
        assert first.json()["signals"]["text_classifier"]["band"] == "none"
        bastion.settings.text_windows = True
        second = web.post(
            "/v1/items", json={"external_id": "w-2", "text": post + " See you."}, headers=admin
        ).json()
        result = second["signals"]["text_classifier"]
        assert result["band"] == "review" and result["explanation"]["window"]["text"] in post
        assert second["verdict"]["outcome"] == "review" and second["decision"] is None
        make_user(bastion, "ana", "moderator")
        login(web, "ana")
        page = web.get(f"/console/cases/{second['id']}").text
        assert "this passage alone reads as propaganda" in page
        assert html.escape(result["explanation"]["window"]["text"]) in page
