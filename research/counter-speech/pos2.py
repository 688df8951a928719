import sys, re

sys.path.insert(0, "/tmp/exp")
from harness import *
from pos import sents, E, first_last


def build_ll(exs):
    f, l = first_last(exs)
    L = lexical([E(sents(e.text)[-1]) for e in exs])
    return hstack([lexical(exs), csr_matrix(emb_of(exs)), csr_matrix(l), L * 0.5]).tocsr()


def build_l2(exs):
    l2 = emb_of([E(" ".join(sents(e.text)[-2:])) for e in exs])
    return hstack([lexical(exs), csr_matrix(emb_of(exs)), csr_matrix(l2)]).tocsr()


def build_rest(exs):
    # embedding of everything but the first sentence (the claim is often first)
    r = emb_of([E(" ".join(sents(e.text)[1:]) or e.text) for e in exs])
    return hstack([lexical(exs), csr_matrix(emb_of(exs)), csr_matrix(r)]).tocsr()


evaluate("last+lexlast", build_ll, show_test=True)
evaluate("last2", build_l2, show_test=True)
evaluate("rest", build_rest, show_test=True)
