"""The text classifier: languages, bands, exclusions, the batch CLI, evaluation, routing.

The quality figures asserted here are the ones docs/model-card.md reports for the shipped
model on the untouched test split, so a retrained model that is worse fails the suite.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import pytest
from fastapi.testclient import TestClient

from bastion.classify.batch import classify_file, evaluate_file
from bastion.classify.classifier import classify_texts
from bastion.classify.dataset import challenge_files, training_files
from bastion.classify.evaluation import wilson
from bastion.classify.language import detect_language
from bastion.classify.model import TextModel
from bastion.classify.parallel import ProcessClassifier, WorkerFailed

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "text"


@pytest.mark.parametrize(
    "text",
    [
        "jum3a mubaraka ya shabab, don't forget salat el jum3a, see you at the masjid",
        "bghit nchri tomobil jdida walakin flous ma kaynach",
        "khalini nshouf, momkin nji m3akom bokra",
        "just watched el film ta3hom, el battle scenes are insane bas el 2ossa slow",
        "l cours dyal terrorisme et médias ghedda, l prof 9al ghadi n7allo des communiqués",
    ],
)
def test_arabizi_mixed_with_english_or_french_is_arabic(text: str) -> None:
    found = detect_language(text)
    assert (found.code, found.arabizi) == ("ar", True)


@pytest.mark.parametrize(
    "text",
    [
        "gg ez, 1v1 me l8r m8, c u 2moro",
        "Team meeting moved to 3pm, room 2B, bring the Q3 numbers.",
        "Réveil 6h, séance jambes",
        "wesh la team, on se capte ce soir au city ?",
        "inshallah we'll finish the project by Friday, fingers crossed",
        "Ya te dije que el tren sale a las nueve, no llegues tarde.",
    ],
)
def test_chat_slang_and_loanwords_are_not_arabizi(text: str) -> None:
    assert not detect_language(text).arabizi


def test_egyptian_arabic_is_arabic() -> None:
    # fastText names it "arz"; thresholds and policy rules know it as Arabic.
    found = detect_language(
        "إزيك يا معلم؟ عامل إيه النهارده؟ أنا كويس الحمد لله، بس الشغل كتير أوي"
    )
    assert found.code == "ar" and found.supported


def test_languages_including_arabizi_and_unsupported_ones() -> None:
    assert detect_language("Join the ranks, the valley is calling you").code == "en"
    assert detect_language("Rejoignez les rangs, la vallée vous appelle").code == "fr"
    assert detect_language("انضموا إلى الصفوف يا إخوة").code == "ar"
    arabizi = detect_language("wallah ya 5ouya el nas kollha m3ana, yalla")
    assert (arabizi.code, arabizi.arabizi, arabizi.script) == ("ar", True, "latn")
    (spanish,) = classify_texts(["Únete a nosotros en la playa este sábado por la tarde"])
    assert spanish.lang == "es" and spanish.confidence == "low"


def test_wilson_interval() -> None:
    low, high = wilson(18, 20)
    assert round(low, 3) == 0.699 and round(high, 3) == 0.972
    assert wilson(0, 0) == (0.0, 0.0)


def test_results_carry_score_band_category_and_explanation() -> None:
    call, report = classify_texts(
        [
            "Brothers, leave this humiliating life behind and take your place in the ranks of "
            "the Iron Dawn Brigade. Pledge yourselves to the cause; glory awaits those who join.",
            "The court heard that the Iron Dawn Brigade tried to recruit teenagers online with "
            "promises of glory; prosecutors described the messages as manipulative.",
        ]
    )
    assert call.band in ("review", "high") and call.category in ("a", "b", "c", "e")
    assert call.explanation["closest_examples"][0]["label"] == "propaganda"
    assert call.explanation["sentences"] and call.score > report.score
    assert report.band == "none" and report.exclusion == "journalism"


def test_shipped_model_on_the_untouched_test_split() -> None:
    combined = {}
    for lang in ("en", "fr", "ar"):
        files = [p for p in training_files(DATA) if p.name.startswith(f"{lang}")]
        metrics, failed = evaluate_file(files, max_bytes=1_000_000, split="test")
        assert failed == 0
        combined[lang] = metrics
    for lang, metrics in combined.items():
        assert metrics["high"]["all"]["precision"]["value"] >= 0.95, lang
        assert metrics["review"]["all"]["recall"]["value"] >= 0.90, lang
    fpr = {lang: m["review"]["all"]["false_positive_rate"]["value"] for lang, m in combined.items()}
    assert fpr["ar"] <= 1.5 * fpr["en"]
    assert max(fpr.values()) <= 0.05
    # Per benign slice: today's figures (docs/model-card.md). Every slice is at 5% or under
    # but counter-speech (en 3 of 31, fr 4 of 42, ar 4 of 43); none may get worse unseen.
    over = {
        ("en", "counter_speech"): 0.10,
        ("fr", "counter_speech"): 0.10,
        ("ar", "counter_speech"): 0.10,
    }
    for lang, metrics in combined.items():
        for group, values in metrics["review"].items():
            if group.startswith(f"lang={lang} slice=") and "false_positive_rate" in values:
                name = group.split("slice=")[1]
                limit = over.get((lang, name), 0.05)
                assert values["false_positive_rate"]["value"] <= limit, (lang, name)


def test_challenge_sets_are_never_trained_on_and_stay_measured() -> None:
    # Short counter-speech that names a group and reuses its words is the known weakness
    # (docs/model-card.md); these bounds record today's figures, challenge and short-post sets
    # together (en 0.299, fr 0.379, ar 0.598), so it cannot get worse unseen.
    assert not any(p.stem.endswith("-challenge") for p in training_files(DATA))
    files = [p for p in challenge_files(DATA) if not p.stem.endswith("-contrast-challenge")]
    metrics, failed = evaluate_file(files, max_bytes=1_000_000)
    assert failed == 0
    review = metrics["review"]
    for lang, worst in (("en", 0.30), ("fr", 0.38), ("ar", 0.60)):
        assert review[f"lang={lang} slice=counter_speech"]["false_positive_rate"]["value"] <= worst
        assert review[f"lang={lang} slice=propaganda"]["recall"]["value"] >= 0.80


def test_contrast_sets_stay_measured() -> None:
    # Same surface, opposite purpose (defiant replies, "say their names", exit programmes),
    # written to be trained on and kept for measurement when training on them made the model
    # worse out of fold: today's figures (docs/model-card.md), so none gets worse unseen.
    files = [p for p in challenge_files(DATA) if p.stem.endswith("-contrast-challenge")]
    assert len(files) == 3
    metrics, failed = evaluate_file(files, max_bytes=1_000_000)
    assert failed == 0
    review, high = metrics["review"], metrics["high"]
    for lang, worst, found in (("en", 0.22, 0.80), ("fr", 0.12, 0.75), ("ar", 0.21, 0.50)):
        counter = review[f"lang={lang} slice=counter_speech"]["false_positive_rate"]
        assert counter["n"] >= 36 and counter["value"] <= worst, lang
        assert review[f"lang={lang} slice=propaganda"]["recall"]["value"] >= found, lang
        assert high[f"lang={lang}"]["precision"]["value"] >= 0.70, lang


def test_short_posts_stay_measured() -> None:
    # Posts of 2-9 words (training texts have 5+, median 22): today's figures, recorded in
    # docs/model-card.md, so that they cannot get worse unseen. Prayers are never flagged.
    files = [p for p in challenge_files(DATA) if p.stem.endswith("-short-challenge")]
    assert len(files) == 3
    metrics, failed = evaluate_file(files, max_bytes=1_000_000)
    assert failed == 0
    review = metrics["review"]
    for lang, worst, found in (("en", 0.12, 0.95), ("fr", 0.09, 0.85), ("ar", 0.15, 0.85)):
        assert review[f"lang={lang}"]["false_positive_rate"]["n"] == 112
        assert review[f"lang={lang}"]["false_positive_rate"]["value"] <= worst, lang
        assert review[f"lang={lang} slice=religious"]["false_positive_rate"]["value"] == 0.0
        assert review[f"lang={lang}"]["recall"]["value"] >= found, lang


def test_cli_classify_keeps_order_and_reports_bad_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps(
            {
                "id": "a",
                "text": "Join our chess club this Friday, beginners welcome!",
                "source": "forum",
            }
        ),
        "not json",
        json.dumps({"id": "b", "text": ""}),
        json.dumps({"id": "c", "no_text": True}),
    ]
    source.write_bytes(
        ("\n".join(lines) + "\n").encode()
        + b'{"id": "d", "text": "\xff"}\n'
        + b'{"id": "e", "text": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}\n"
        + b'{"id": "f", "text": "abc \\udc80 def"}\n'
        + b'{"id": "g", "text": "x", "n": 1e400}\n'
    )
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "bastion", "classify", "--input", str(source), "--output", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "7 line(s)" in done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["id"] == "a" and rows[0]["source"] == "forum" and rows[0]["band"] == "none"
    assert {"lang", "score", "band", "category", "exclusion", "explanation"} <= rows[0].keys()
    assert [r.get("line") for r in rows[1:]] == [2, 3, 4, 5, 6, 7, 8]
    assert "not JSON" in rows[1]["error"]["message"] and rows[2]["error"]["code"] == "empty_text"
    assert "not UTF-8" in rows[4]["error"]["message"]
    assert "too deeply" in rows[5]["error"]["message"]
    assert rows[6]["error"]["code"] == "invalid_text" and "too large" in rows[7]["error"]["message"]


CLASSIFY = [sys.executable, "-m", "bastion", "classify"]


def test_cli_classify_with_workers_gives_the_single_process_output_in_input_order(
    tmp_path: Path,
) -> None:
    # Three batches over two workers, so batches would come back out of order if they could.
    rows = [json.loads(line) for line in (DATA / "en.jsonl").read_text().splitlines()][:150]
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": r["id"], "text": r["text"], "keep": i}) for i, r in enumerate(rows)]
    lines.insert(70, "not json")
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [*CLASSIFY, "--input", str(source), "--output", str(out), "--no-explain", "--workers", "2"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "1 line(s)" in done.stderr  # the bad line
    parallel = [json.loads(line) for line in out.read_text().splitlines()]
    single_out = io.StringIO()
    assert classify_file(source, single_out, max_bytes=1_000_000, explain=False) == 1
    single = [json.loads(line) for line in single_out.getvalue().splitlines()]
    assert len(parallel) == len(single) == 151
    assert [r.get("id") for r in parallel] == [r.get("id") for r in single]
    assert parallel[70] == single[70] and parallel[70]["line"] == 71
    for one, many in zip(single, parallel, strict=True):
        assert (one.get("band"), one.get("keep")) == (many.get("band"), many.get("keep"))
        assert abs(one.get("score", 0) - many.get("score", 0)) < 1e-3


def test_cli_classify_refuses_a_worker_count_out_of_range(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "hello there"}) + "\n")
    done = subprocess.run(
        [*CLASSIFY, "--input", str(source), "--workers", "0"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--workers must be between 1 and 64" in done.stderr


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_a_process_allowed_one_core_embeds_on_one_blas_thread() -> None:
    # Two threads on one core spun: 2,400 texts took 254 s instead of ~55 (docs/benchmarks.md).
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))});"
        "from bastion.classify import embeddings; print(embeddings.THREADS)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "1", done.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_workers_end_with_the_parent_when_it_alone_is_terminated(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (DATA / "en.jsonl").read_text().splitlines()]
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": i, "text": r["text"]}) + "\n" for i, r in enumerate(rows * 3))
    )
    command = [*CLASSIFY, "--input", str(source), "--output", str(tmp_path / "out.jsonl")]
    parent = subprocess.Popen([*command, "--workers", "2"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(children := _children(parent.pid)) < 2 and time.monotonic() < deadline:
        assert parent.poll() is None, "finished before its workers could be seen"
        time.sleep(0.02)  # polling interval, not a wait for something to happen
    assert len(children) >= 2
    parent.send_signal(signal.SIGTERM)  # to the parent only, as a supervisor might
    assert parent.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 30
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(_alive(c) for c in children)


def test_eval_with_workers_gives_the_same_metrics() -> None:
    files = [DATA / "fr.jsonl"]
    single = evaluate_file(files, max_bytes=1_000_000, split="test")
    assert evaluate_file(files, max_bytes=1_000_000, split="test", workers=2) == single
    overall = single[0]["review"]["all"]
    assert overall["recall"]["n"] + overall["false_positive_rate"]["n"] > 64  # two batches


def test_a_worker_that_stops_is_a_clear_error_not_a_hang() -> None:
    broken = cast(TextModel, "not a model")  # every worker fails as it starts
    with (
        ProcessClassifier(2, broken) as pool,
        pytest.raises(WorkerFailed, match="could not load the model"),
    ):
        list(pool.ordered([(1, ["hello there"]), (2, ["and again"])]))


def test_cli_eval_prints_intervals_per_language_and_slice() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bastion",
            "eval",
            "--input",
            str(DATA / "fr.jsonl"),
            "--split",
            "test",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    groups = {row["group"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert "lang=fr slice=counter_speech" in groups and "slice=propaganda" in groups
    recall = groups["all"]["recall"]
    assert recall["ci95"][0] <= recall["value"] <= recall["ci95"][1]


@pytest.mark.parametrize("policy_action", ["auto", "review"])
def test_a_score_alone_only_ever_sends_to_review(
    client: TestClient, admin: dict[str, str], policy_action: str
) -> None:
    policy = (
        f'[[rule]]\nname = "scores"\nsignal_types = ["text_classifier"]\n'
        f'max_distance = 100\naction = "{policy_action}"\nqueue = "text"\n'
    )
    assert client.put("/v1/policy", content=policy.encode(), headers=admin).status_code == 200
    item = client.post(
        "/v1/items",
        json={
            "external_id": "p-1",
            "text": "Rise, brothers of the Crimson Oath Movement! Swear allegiance to our "
            "commander and take your place in the ranks; only the sword restores our honour.",
        },
        headers=admin,
    ).json()
    classifier = item["signals"]["text_classifier"]
    assert classifier["band"] in ("review", "high")
    assert item["verdict"]["outcome"] == "review" and item["verdict"]["queue"] == "text"
    assert item["verdict"]["automation"] == "none" and item["decision"] is None


def test_the_sentence_behind_an_exclusion_is_shown() -> None:
    # Counter-speech that quotes the claim: the sentence that reads like the exclusion is the
    # rebuttal, shown beside the sentences that drove the score. (Called directly: which texts
    # are flagged depends on the model, the explanation's shape should not.)
    from bastion.classify.classifier import _explain
    from bastion.classify.embeddings import embed
    from bastion.classify.model import shipped_model

    text = (
        "Honour through arms, say the Sons of the Ninth Valley. My grandmother's answer: "
        "honour is the harvest you share, not the graves you dig."
    )
    explanation = _explain(shipped_model(), [text], embed([text])[0], "counter_speech")
    framing = explanation["exclusion_sentence"]
    assert framing["text"].startswith("My grandmother's answer") and 0 < framing["probability"] <= 1
    assert len(explanation["sentences"]) == 2
    assert _explain(shipped_model(), [text], embed([text])[0], None)["exclusion_sentence"] is None
