"""Keeps the in-memory PDQ index in step with the `entry_signals` table.

The database is the truth. On start every matchable PDQ row is loaded; afterwards only rows
with a higher id are read, so a hash added by this process, another worker or the CLI becomes
matchable on the next lookup, without a rebuild. Deleted rows may linger in memory until this
process removes them, but every hit is re-read from the database before it is reported, so a
deleted entry never matches.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from bastion.db.models import EntrySignal
from bastion.indexes.pdq_index import PDQIndex

# Postgres hands out ids before commit, so a row with a lower id can become visible after a
# higher one; re-reading a window of recent ids catches those late commits.
LATE_COMMIT_WINDOW = 10_000
_BATCH = 200_000


class IndexSync:
    """An in-memory index of one signal type plus the high-water mark of the rows it loaded.

    Subclasses say which rows belong (`_condition`) and how a batch of them enters the index
    (`_load`)."""

    signal_type = ""

    def __init__(self) -> None:
        self._watermark = 0
        self._recent: deque[int] = deque(maxlen=LATE_COMMIT_WINDOW)
        self._recent_set: set[int] = set()
        self._lock = threading.Lock()

    def _condition(self) -> ColumnElement[bool]:
        return EntrySignal.signal_type == self.signal_type

    def _load(self, ids: NDArray[np.int64], values: list[str]) -> None:
        raise NotImplementedError

    def sync(self, session: Session) -> int:
        """Load rows added since the last call; returns how many were added."""
        top = session.scalar(select(func.max(EntrySignal.id))) or 0
        if top <= self._watermark:
            return 0
        with self._lock:
            low = max(0, self._watermark - LATE_COMMIT_WINDOW)
            added = 0
            while True:
                rows = session.execute(
                    select(EntrySignal.id, EntrySignal.value)
                    .where(EntrySignal.id > low, self._condition())
                    .order_by(EntrySignal.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    break
                added += self._add([(int(i), str(v)) for i, v in rows], top)
                low = rows[-1][0]
            self._watermark = max(self._watermark, top)
        return added

    def _add(self, rows: Sequence[tuple[int, str]], top: int) -> int:
        fresh = [(i, v) for i, v in rows if i not in self._recent_set]
        if not fresh:
            return 0
        ids = np.fromiter((i for i, _ in fresh), dtype=np.int64, count=len(fresh))
        self._load(ids, [v for _, v in fresh])
        for i in ids[ids > top - LATE_COMMIT_WINDOW].tolist():
            if len(self._recent) == self._recent.maxlen:
                self._recent_set.discard(self._recent[0])
            self._recent.append(i)
            self._recent_set.add(i)
        return len(fresh)


class PdqIndexSync(IndexSync):
    """The PDQ index, kept in step with the `pdq` rows at or above the quality floor."""

    signal_type = "pdq"

    def __init__(self, quality_floor: int) -> None:
        super().__init__()
        self.index = PDQIndex()
        self.quality_floor = quality_floor

    def _condition(self) -> ColumnElement[bool]:
        return and_(
            EntrySignal.signal_type == "pdq",
            or_(EntrySignal.quality.is_(None), EntrySignal.quality >= self.quality_floor),
        )

    def _load(self, ids: NDArray[np.int64], values: list[str]) -> None:
        hashes = np.frombuffer(bytes.fromhex("".join(values)), dtype=np.uint8)
        self.index.add(ids, hashes.reshape(-1, 32))

    def remove(self, signal_ids: list[int]) -> None:
        """Drop rows this process deleted from the database."""
        if signal_ids:
            with self._lock:
                self.index.remove(np.asarray(signal_ids, dtype=np.int64))
