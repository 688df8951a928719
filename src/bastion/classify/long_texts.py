"""Long texts: cut into pieces, and, beyond MAX_PIECES, which pieces are read.

The classifier scores each piece and the worst decides (a call to join inside a long post is
still a call to join).
"""

from __future__ import annotations

import re
import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bastion.classify.context_head import propaganda_log_odds
from bastion.classify.features import SIZE, bigram_prefix, char_buckets, word_bucket
from bastion.classify.model import TextModel
from bastion.text.normalize import normalize_text

# Up to MAX_PIECES distinct pieces are read. Of a longer text, half are the pieces whose
# sentences the first stage's lexical part finds most suspicious (all of them are ranked,
# cheaply), half are spread evenly over the rest: a call pasted into pages of filler is read
# wherever it sits, and the whole length is still sampled.
PIECE_CHARS = 1000
MAX_PIECES = 128
SUSPICIOUS_PIECES = MAX_PIECES // 2
# Sentence ends (the classifier's explanation splits at them too).
SENTENCE_END = re.compile(r"(?<=[.!?؟\n])\s+")
_MASK = SIZE - 1


def pieces(text: str) -> list[str]:
    """The text cut at sentence ends into pieces of about PIECE_CHARS characters (all of them;
    `pieces_read` chooses the ones scored)."""
    if len(text) <= PIECE_CHARS:
        return [text]
    out, current = [], ""
    for sentence in SENTENCE_END.split(text):
        if current and len(current) + len(sentence) > PIECE_CHARS:
            out.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
        while len(current) > PIECE_CHARS + PIECE_CHARS // 5:
            out.append(current[:PIECE_CHARS])
            current = current[PIECE_CHARS:]
    if current:
        out.append(current)
    if not out:  # nothing but spaces and line breaks
        return [text]
    return out


def pieces_read(text: str, model: TextModel) -> list[str]:
    """The pieces of a (cleaned) text that are scored, in text order: every distinct piece up
    to MAX_PIECES; beyond, the SUSPICIOUS_PIECES most suspicious and the rest spread evenly."""
    # A piece seen twice says nothing new; reading it once leaves room for another.
    group = list(dict.fromkeys(pieces(text)))
    if len(group) <= MAX_PIECES:
        return group
    order = np.argsort(-suspicion(group, model), kind="stable")
    chosen = {int(i) for i in order[:SUSPICIOUS_PIECES]}
    rest = [i for i in range(len(group)) if i not in chosen]
    step = len(rest) / (MAX_PIECES - len(chosen))
    chosen.update(rest[int(k * step)] for k in range(MAX_PIECES - len(chosen)))
    return [group[i] for i in sorted(chosen)]


def suspicion(group: list[str], model: TextModel) -> NDArray[np.float64]:
    """Per piece, the first stage's lexical log-odds of propaganda (bias included, embedding
    left out) for its likeliest window of two consecutive sentences. A call's words are a tenth
    of the piece it lands in, too few to move the piece's own score; at this scale it stands
    out. Approximate, to stay cheap (0.1-0.5 s a MB of prose): n-gram counts are not
    log-scaled and the bigram across the two sentences is left out."""
    best = np.full(len(group), -np.inf)
    vocab, ids, lengths, owner = _sentence_tokens(group)
    if not len(lengths):
        return best
    weights = model.weights
    char, grams, word = _token_weights(vocab, weights)
    starts = np.cumsum(lengths) - lengths
    char_sum = np.add.reduceat(char[ids], starts, axis=0)
    gram_count = np.add.reduceat(grams[ids], starts)
    word_sum = np.add.reduceat(word[ids] + _bigram_weights(vocab, ids, starts, weights), starts, 0)
    word_count = 2 * lengths - 1  # unigrams and bigrams
    # Each sentence with the next one in the same piece; a piece of one sentence alone.
    pair = np.zeros(len(owner), dtype=bool)
    pair[:-1] = owner[:-1] == owner[1:]
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]

    def window(values: Any) -> Any:
        following = np.zeros_like(values)
        following[:-1] = values[1:]
        following[~pair] = 0
        return values + following

    logits = (
        window(char_sum) / np.sqrt(window(gram_count))[:, None]
        + window(word_sum) / np.sqrt(window(word_count))[:, None]
        + model.bias
    )
    margin = propaganda_log_odds(logits, model.propaganda)
    keep = pair | first
    np.maximum.at(best, owner[keep], margin[keep])
    return best


def _sentence_tokens(
    group: list[str],
) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Normalised tokens of every sentence of the pieces: the vocabulary, each token's index in
    it, the number of tokens of each sentence that has any, and the piece it is in."""
    raw: dict[str, int] = {}
    flat: list[int] = []
    sizes: list[int] = []
    owner: list[int] = []
    for i, piece in enumerate(group):
        for sentence in SENTENCE_END.split(piece):
            tokens = sentence.split()
            if tokens:
                flat.extend([raw.setdefault(t, len(raw)) for t in tokens])
                sizes.append(len(tokens))
                owner.append(i)
    # Normalised token by token, each distinct one once: the normal form never joins two
    # tokens, so the result is the pieces' normal form (tests/test_long_texts.py checks).
    vocab: dict[str, int] = {}
    normal = [[vocab.setdefault(n, len(vocab)) for n in normalize_text(t).split()] for t in raw]
    ids = np.array([n for r in flat for n in normal[r]], dtype=np.int64)
    before = np.cumsum([0] + [len(normal[r]) for r in flat])
    lengths = np.diff(before[np.cumsum([0, *sizes])])
    keep = lengths > 0  # a sentence of nothing but tatweel or diacritics has no tokens left
    return list(vocab), ids, lengths[keep], np.array(owner, dtype=np.int64)[keep]


def _token_weights(
    vocab: list[str], weights: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]]:
    """Per token: the summed weight rows of its character n-grams, their number, and the weight
    row of the word itself; hashed as features.py hashes them."""
    hashed, counts = char_buckets(vocab)
    char = np.add.reduceat(np.take(weights, hashed, axis=0), np.cumsum(counts) - counts, axis=0)
    word = np.take(weights, [word_bucket(token) for token in vocab], axis=0)
    return char, counts, word


def _bigram_weights(
    vocab: list[str],
    ids: NDArray[np.int64],
    starts: NDArray[np.int64],
    weights: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Per token: the weight row of the bigram it starts within its sentence (zero for the
    last token of a sentence); each distinct bigram hashed once."""
    out = np.zeros((len(ids), weights.shape[1]), dtype=np.float32)
    last = np.zeros(len(ids), dtype=bool)
    last[starts[1:] - 1] = True
    last[-1] = True
    at = np.flatnonzero(~last)
    if not len(at):
        return out
    codes, inverse = np.unique(ids[at] * len(vocab) + ids[at + 1], return_inverse=True)
    # Each first word's key prefix hashed once (features.bigram_bucket, split in two).
    prefix = [bigram_prefix(token) for token in vocab]
    encoded = [token.encode() for token in vocab]
    size = len(vocab)
    hashed = [zlib.crc32(encoded[c % size], prefix[c // size]) & _MASK for c in codes.tolist()]
    out[at] = np.take(weights, hashed, axis=0)[inverse]
    return out
