"""A background thread that sends due webhooks once a second while the server runs."""

from __future__ import annotations

import logging
import threading

import httpx

from bastion.actions.webhooks import Endpoint, deliver_due
from bastion.runtime import Bastion

log = logging.getLogger("bastion.webhooks")


def endpoint_for(bastion: Bastion) -> Endpoint | None:
    """The configured webhook endpoint, or None when webhooks are off."""
    settings = bastion.settings
    if not settings.webhook_url or not settings.webhook_secret:
        return None
    return Endpoint(settings.webhook_url, settings.webhook_secret, settings.webhook_max_attempts)


def deliver_once(bastion: Bastion, endpoint: Endpoint, client: httpx.Client) -> int:
    """One pass over the due deliveries, in its own transaction."""
    with bastion.session() as session:
        return deliver_due(session, endpoint, client)


class WebhookWorker:
    """Runs `deliver_once` every `interval` seconds until stopped."""

    def __init__(self, bastion: Bastion, endpoint: Endpoint, interval: float = 1.0) -> None:
        self.bastion = bastion
        self.endpoint = endpoint
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bastion-webhooks", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self._stop.is_set():
                try:
                    deliver_once(self.bastion, self.endpoint, client)
                except Exception:  # a database hiccup must not kill the sender for good
                    log.exception("webhook pass failed; retrying")
                self._stop.wait(self.interval)
