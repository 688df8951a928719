"""Classification in worker processes (`bastion classify --workers N`), for large files on
machines with more cores than one process keeps busy.

One process spends most of a short text's time in Python (tokenizers, n-grams) and the
matrix products are small, so a second BLAS thread adds little; N processes with one BLAS
thread each scale with the cores. Each worker loads its own model (~2 s, ~0.55 GB resident;
the mE5 weights are memory-mapped and shared), batches go out in input order and come back in
input order, and no more than a few batches per worker are in flight, so a file of any size
streams through in bounded memory.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from bastion.classify import embeddings
from bastion.classify.classifier import Classification, classify_texts, warm
from bastion.classify.model import TextModel, read_model, shipped_model
from bastion.errors import BastionError, InvalidInput

T = TypeVar("T")
MAX_WORKERS = 64
IN_FLIGHT_PER_WORKER = 2
# Read by numpy's BLAS when a worker starts: one thread each, the processes share the cores.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_model: TextModel | None = None


class WorkerFailed(BastionError):
    """A worker process stopped (killed, out of memory, no model) before it returned its batch."""

    status_code = 500
    code = "worker_failed"


def _start(model_path: str | None) -> None:
    global _model
    embeddings.THREADS = 1  # USE sets its own BLAS threads; the processes share the cores
    _model = read_model(Path(model_path)) if model_path else shipped_model()
    warm(_model)


def _classify(texts: list[str], explain: bool) -> list[Classification]:
    return classify_texts(texts, model=_model, explain=explain)


class ProcessClassifier:
    """A pool of `workers` processes, each holding the model at `model_path` (or the shipped
    one); use it as a context manager."""

    def __init__(self, workers: int, model_path: Path | None = None) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}; got {workers}.")
        self.workers = workers
        self.model_path = model_path
        self._pool: ProcessPoolExecutor | None = None
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> ProcessClassifier:
        # Workers are spawned (not forked: the parent may hold BLAS threads and locks) and copy
        # the environment as it is when they start, which is at the first batches.
        self._saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
        os.environ.update({name: "1" for name in _THREAD_VARIABLES})
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(str(self.model_path) if self.model_path else None,),
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def ordered(
        self, batches: Iterable[tuple[T, list[str]]], *, explain: bool = True
    ) -> Iterator[tuple[T, list[Classification]]]:
        """Each (key, texts) batch's key with its results, in the order the batches came."""
        if self._pool is None:
            raise RuntimeError("use ProcessClassifier as a context manager")
        window: deque[tuple[T, Future[list[Classification]]]] = deque()
        for key, texts in batches:
            window.append((key, self._pool.submit(_classify, texts, explain)))
            if len(window) >= IN_FLIGHT_PER_WORKER * self.workers:
                yield _done(*window.popleft())
        while window:
            yield _done(*window.popleft())


def _done(key: T, future: Future[list[Classification]]) -> tuple[T, list[Classification]]:
    try:
        return key, future.result()
    except BrokenProcessPool as exc:
        raise WorkerFailed(
            "A classifier worker process stopped (it could not load the model, ran out of "
            "memory or was killed); lines after the last one written were not classified. "
            "Try fewer --workers."
        ) from exc
