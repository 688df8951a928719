import sys, re

sys.path.insert(0, "/tmp/exp")
from harness import *

SENT = re.compile(r"(?<=[.!?؟\n:;])\s+")


def sents(t):
    s = [x for x in SENT.split(clean_text(t)) if x.strip()]
    return s or [t]


class E:
    def __init__(s, t):
        s.text = t


def first_last(exs):
    f = emb_of([E(sents(e.text)[0]) for e in exs])
    l = emb_of([E(sents(e.text)[-1]) for e in exs])
    return f, l


def build_fl(exs):
    f, l = first_last(exs)
    return hstack([lexical(exs), csr_matrix(emb_of(exs)), csr_matrix(f), csr_matrix(l)]).tocsr()


def build_l(exs):
    f, l = first_last(exs)
    return hstack([lexical(exs), csr_matrix(emb_of(exs)), csr_matrix(l)]).tocsr()


def build_diff(exs):
    f, l = first_last(exs)
    return hstack([lexical(exs), csr_matrix(emb_of(exs)), csr_matrix(l - emb_of(exs))]).tocsr()


if __name__ == "__main__":
    evaluate("first+last", build_fl, show_test=True)
if __name__ == "__main__":
    evaluate("last", build_l, show_test=True)
if __name__ == "__main__":
    evaluate("diff", build_diff, show_test=True)
