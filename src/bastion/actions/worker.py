"""A background thread that sends due webhooks once a second while the server runs."""

from __future__ import annotations

import httpx

from bastion.actions.webhooks import Endpoint, deliver_due
from bastion.periodic import Periodic
from bastion.runtime import Bastion


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


def webhook_worker(bastion: Bastion, endpoint: Endpoint, interval: float = 1.0) -> Periodic:
    """The server's sender: `deliver_once` every `interval` seconds over one HTTP client."""
    client = httpx.Client()
    return Periodic(
        "webhooks", lambda: deliver_once(bastion, endpoint, client), interval, close=client.close
    )
