"""Experiment harness: OOF on train+dev by template, plus challenge sets."""

import sys, json, pickle, os, time
from pathlib import Path
import numpy as np

sys.path.insert(0, "/work/main/src")
from bastion.classify.dataset import load_examples, training_files, challenge_files, PROPAGANDA
from bastion.classify.embeddings import embed
from bastion.text.normalize import clean_text, normalize_text
from bastion.classify.features import features, SIZE
from scipy.sparse import csr_matrix, hstack
from sklearn.model_selection import GroupKFold
from sklearn.linear_model import LogisticRegression

D = Path("/work/main/data/text")
pool = [e for e in load_examples(training_files(D)) if e.split != "test"]
test = [e for e in load_examples(training_files(D)) if e.split == "test"]
chal = load_examples(challenge_files(D))
CACHE = "/tmp/exp/emb.pkl"
if os.path.exists(CACHE):
    EMB = pickle.load(open(CACHE, "rb"))
else:
    EMB = {}


def emb_of(exs):
    missing = [e.text for e in exs if e.text not in EMB]
    if missing:
        v = embed([clean_text(t) for t in missing])
        for t, x in zip(missing, v):
            EMB[t] = x
        pickle.dump(EMB, open(CACHE, "wb"))
    return np.stack([EMB[e.text] for e in exs])


def lexical(exs, fn=features):
    rows, cols, vals = [], [], []
    for r, e in enumerate(exs):
        i, v = fn(normalize_text(e.text))
        rows += [r] * len(i)
        cols += i.tolist()
        vals += v.tolist()
    return csr_matrix((vals, (rows, cols)), shape=(len(exs), SIZE), dtype=np.float32)


def targets(exs):
    return np.array([e.target for e in exs])


def fit_predict(Xtr, ytr, Xte, C=16.0):
    m = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(Xtr, ytr)
    return m.predict_proba(Xte)[:, list(m.classes_).index(PROPAGANDA)]


def oof(X, exs, fp=fit_predict):
    y = targets(exs)
    g = np.array([e.template for e in exs])
    raw = np.zeros(len(exs))
    for a, b in GroupKFold(n_splits=5).split(X, y, g):
        raw[b] = fp(X[a], y[a], X[b])
    return raw


def thresholds(raw, exs, recall=0.95):
    out = {}
    for lang in ("en", "fr", "ar"):
        s = np.sort([r for r, e in zip(raw, exs) if e.lang == lang and e.label == PROPAGANDA])
        out[lang] = s[int(np.floor((1 - recall) * len(s)))]
    return out


def report(name, raw, exs, th):
    from collections import defaultdict

    c = defaultdict(lambda: [0, 0])
    for r, e in zip(raw, exs):
        key = (e.lang, "PROP" if e.label == PROPAGANDA else e.slice)
        c[key][0] += int(r >= th[e.lang])
        c[key][1] += 1
    lines = []
    for lang in ("en", "fr", "ar"):
        parts = []
        for s in (
            "PROP",
            "counter_speech",
            "journalism",
            "religious",
            "history_research",
            "fiction_games",
            "everyday",
        ):
            h, n = c[(lang, s)]
            if n:
                parts.append(f"{s[:5]} {h}/{n}")
        ben = [
            c[(lang, s)]
            for s in (
                "counter_speech",
                "journalism",
                "religious",
                "history_research",
                "fiction_games",
                "everyday",
            )
        ]
        bh = sum(x[0] for x in ben)
        bn = sum(x[1] for x in ben)
        lines.append(f"  {lang}: " + ", ".join(parts) + f" | benignFP {bh}/{bn}")
    print(name)
    print("\n".join(lines))


def evaluate(name, build, fp=fit_predict, show_test=False):
    """build(exs) -> X (rows aligned)."""
    t = time.time()
    Xp = build(pool)
    raw = oof(Xp, pool, fp)
    th = thresholds(raw, pool)
    report(f"== {name} OOF (th {', '.join(f'{k}={v:.3f}' for k, v in th.items())})", raw, pool, th)
    y = targets(pool)
    Xc = build(chal)
    rc = fp(Xp, y, Xc)
    report(f"   {name} CHALLENGE", rc, chal, th)
    if show_test:
        rt = fp(Xp, y, build(test))
        report(f"   {name} TEST", rt, test, th)
    print(f"   ({time.time() - t:.0f}s)")
    return raw
