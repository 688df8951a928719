"""Background passes of the compliance duties while the server runs: the removal-order clock,
uploader notices (written for every removal, held during non-disclosure), statement
submission, the preservation vault (seal new removals, purge expired records).
One thread per duty, so a slow Transparency Database never delays a removal-order page."""

from __future__ import annotations

from bastion.compliance.notices import notify_due, release_due_notices
from bastion.compliance.order_clock import check_once
from bastion.compliance.tdb_client import client_from_settings, submit_once
from bastion.compliance.vault import preserve_due, purge, vault_from
from bastion.periodic import Periodic
from bastion.runtime import Bastion


def compliance_workers(bastion: Bastion) -> list[Periodic]:
    """The background duties this instance's settings ask for."""
    settings = bastion.settings
    workers = [Periodic("orders", lambda: check_once(bastion), settings.order_clock_seconds)]

    def notify() -> None:
        with bastion.session() as session:
            notify_due(
                session,
                complaint_info=settings.complaint_info,
                complaint_days=settings.complaint_days,
            )
            release_due_notices(session)

    workers.append(Periodic("notices", notify, settings.order_clock_seconds))
    if not settings.tdb_submit or (settings.tdb_url and settings.tdb_token):

        def submit() -> None:
            with client_from_settings(settings) as client:
                submit_once(bastion, client)

        workers.append(Periodic("statements", submit, settings.tdb_interval_s))
    vault = vault_from(settings)  # raises without a key: no plaintext preservation
    if vault is not None:

        def keep() -> None:
            while True:  # in batches, each its own transaction
                with bastion.session() as session:
                    if not preserve_due(session, vault, bastion.media):
                        break
            with bastion.session() as session:
                purge(session, vault)

        workers.append(Periodic("vault", keep, settings.vault_interval_s))
    return workers
