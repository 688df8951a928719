from harness import *
import json
def meta(exs): return [dict(text=e.text, lang=e.lang, label=e.label, slice=e.slice, template=e.template, target=e.target, split=e.split) for e in exs]
y=targets(pool); g=np.array([e.template for e in pool])
fold=np.zeros(len(pool),int)
for k,(a,b) in enumerate(GroupKFold(n_splits=5).split(np.zeros(len(pool)),y,g)): fold[b]=k
def build(exs): return hstack([lexical(exs), csr_matrix(emb_of(exs))]).tocsr()
Xp=build(pool)
raw=oof(Xp,pool)
m = LogisticRegression(C=16.0, max_iter=5000, class_weight="balanced").fit(Xp, y)
col=list(m.classes_).index(PROPAGANDA)
rc=m.predict_proba(build(chal))[:,col]; rt=m.predict_proba(build(test))[:,col]
json.dump(dict(pool=meta(pool),chal=meta(chal),test=meta(test),fold=fold.tolist(),base_oof=raw.tolist(),base_chal=rc.tolist(),base_test=rt.tolist()), open("/tmp/exp/meta.json","w"), ensure_ascii=False)
print(len(pool),len(chal),len(test))
