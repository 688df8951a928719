"""A background thread that runs one pass of some duty every few seconds while the server runs
(webhook deliveries, the removal-order clock, notices, statements, the vault)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("bastion")


class Periodic:
    """Runs `task` now and then every `interval` seconds until stopped; errors are logged
    and the next pass tries again (a database hiccup must not stop a sender or a legal
    clock for good). `close` runs once the thread has finished (a client to release)."""

    def __init__(
        self,
        name: str,
        task: Callable[[], object],
        interval: float,
        *,
        close: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self.task = task
        self.interval = interval
        self.close = close
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"bastion-{name}", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.task()
                except Exception:
                    log.exception("%s pass failed; retrying", self.name)
                self._stop.wait(self.interval)
        finally:
            if self.close is not None:
                self.close()
