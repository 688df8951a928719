from harness import *
from voice import split_voice
import sys
OWN={}
def parts(exs):
    return [split_voice(clean_text(e.text)) for e in exs]
def emb_texts(texts):
    missing=[t for t in set(texts) if t not in EMB]
    if missing:
        v=embed(missing)
        for t,x in zip(missing,v): EMB[t]=x
        pickle.dump(EMB, open(CACHE,"wb"))
    return np.stack([EMB[t] for t in texts])
def lex_texts(texts, prefix):
    rows, cols, vals = [], [], []
    for r, t in enumerate(texts):
        i, v = features(normalize_text(t)) if t.strip() else (np.empty(0,int),np.empty(0))
        i = (i * 2654435761 + prefix) % SIZE if prefix else i
        rows += [r]*len(i); cols += list(i); vals += list(v)
    return csr_matrix((vals,(rows,cols)), shape=(len(texts),SIZE), dtype=np.float32)
def ind(exs):
    p=parts(exs)
    return csr_matrix(np.array([[float(bool(r)), len(r)/(len(o)+len(r)+1)] for o,r in p],dtype=np.float32))
variant=sys.argv[1]
def build(exs):
    p=parts(exs)
    own=[o if o.strip() else "" for o,r in p]
    full_lex=lexical(exs); full_emb=emb_of(exs)
    own_emb=emb_texts([o if o.strip() else "." for o in own])
    blocks=[]
    if variant=="ownemb": blocks=[full_lex, csr_matrix(full_emb), csr_matrix(own_emb)]
    if variant=="ownlex": blocks=[lex_texts(own,0), csr_matrix(full_emb), ind(exs)]
    if variant=="ownboth": blocks=[lex_texts(own,0), csr_matrix(own_emb), csr_matrix(full_emb), ind(exs)]
    if variant=="ownonly": blocks=[lex_texts(own,0), csr_matrix(own_emb), ind(exs)]
    if variant=="repq": blocks=[lex_texts(own,0), lex_texts([r for o,r in p],12345), csr_matrix(own_emb), csr_matrix(full_emb), ind(exs)]
    return hstack(blocks).tocsr()
evaluate(variant, build, show_test=False)
