"""Classification in worker processes (`bastion classify --workers N`), for large files on
machines with more cores than one process keeps busy.

One process spends most of a short text's time in Python (tokenizers, n-grams) and the
matrix products are small, so a second BLAS thread adds little; N processes with one BLAS
thread each scale with the cores, so there is at most one worker per core. Each worker gets
a copy of the model and loads the encoders (~2 s, ~0.5 GB resident; the mE5 weights are
memory-mapped and shared), batches go out in input order and come back in input order, and no
more than two batches per worker are in flight, so a file of any size streams through in
bounded memory. Workers end with the parent, however it ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import FrameType, TracebackType
from typing import Any, TypeVar

from bastion.classify import embeddings
from bastion.classify.classifier import Classification, classify_texts, warm
from bastion.classify.model import TextModel, shipped_model
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


def _start(model: TextModel | None, parent: int) -> None:
    global _model
    _die_with(parent)
    embeddings.THREADS = 1  # USE sets its own BLAS threads; the processes share the cores
    _model = model if model is not None else shipped_model()
    warm(_model)


def _die_with(parent: int) -> None:
    """Have the kernel stop this worker when its parent dies (killed, SIGTERM to it alone),
    rather than leave it idle forever."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that took effect
        os._exit(1)


def check_workers(workers: int) -> None:
    """Refuse a worker count out of range (also where one process will do the work)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}; got {workers}.")


def _classify(texts: list[str], explain: bool, windows: bool) -> list[Classification]:
    return classify_texts(texts, model=_model, explain=explain, windows=windows)


class ProcessClassifier:
    """A pool of `workers` processes (at most one per core), each holding a copy of `model`
    (or the shipped one); use it as a context manager."""

    def __init__(self, workers: int, model: TextModel | None = None) -> None:
        check_workers(workers)
        self.workers = min(workers, embeddings.usable_cores())
        self.model = model
        self._pool: ProcessPoolExecutor | None = None
        self._saved: dict[str, str | None] = {}
        self._on_term: Any = None

    def __enter__(self) -> ProcessClassifier:
        # Workers are spawned (not forked: the parent may hold BLAS threads and locks) and copy
        # the environment as it is when they start, which is at the first batches.
        self._saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
        os.environ.update({name: "1" for name in _THREAD_VARIABLES})
        if threading.current_thread() is threading.main_thread():
            # SIGTERM to this process alone: leave through __exit__, which stops the workers.
            self._on_term = signal.signal(signal.SIGTERM, _exit_on_term)
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.model, os.getpid()),
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
        if self._on_term is not None:
            signal.signal(signal.SIGTERM, self._on_term)
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def ordered(
        self,
        batches: Iterable[tuple[T, list[str]]],
        *,
        explain: bool = True,
        windows: bool = False,
    ) -> Iterator[tuple[T, list[Classification]]]:
        """Each (key, texts) batch's key with its results, in the order the batches came."""
        if self._pool is None:
            raise RuntimeError("use ProcessClassifier as a context manager")
        window: deque[tuple[T, Future[list[Classification]]]] = deque()
        for key, texts in batches:
            window.append((key, self._pool.submit(_classify, texts, explain, windows)))
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


def _exit_on_term(number: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + number)
