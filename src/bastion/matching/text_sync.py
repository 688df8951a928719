"""Keeps the in-memory text LSH index in step with the `text_minhash` rows."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from bastion.indexes.text_lsh import TextIndex
from bastion.matching.pdq_sync import IndexSync
from bastion.text.signals import parse_minhash_value


class TextIndexSync(IndexSync):
    """The text index: one signature per stored chunk."""

    signal_type = "text_minhash"

    def __init__(self) -> None:
        super().__init__()
        self.index = TextIndex()

    def _load(self, ids: NDArray[np.int64], values: list[str]) -> None:
        parsed = [parse_minhash_value(v) for v in values]
        signatures = np.stack([signature for _, signature in parsed])
        shingles = np.fromiter((n for n, _ in parsed), dtype=np.int32, count=len(parsed))
        self.index.add(ids, signatures, shingles)

    def remove(self, signal_ids: list[int]) -> None:
        """Drop rows this process deleted from the database."""
        if signal_ids:
            self.index.remove(np.asarray(signal_ids, dtype=np.int64))
