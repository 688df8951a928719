"""Submit statements of reasons to the DSA Transparency Database (TDB), exactly once each.

The statements table is the outbox: `TdbClient.submit_due` sends what is pending and due, in
batches of at most 100 (`POST /api/v1/statements`, Bearer token). The TDB stores a batch
whole or not at all, answering 201 or, for any problem, 422 for the whole batch:
- `{"errors": {"statement_3": {field: [messages]}}}`: those statements broke a rule there that
  the local validator let through; they become `invalid` with the TDB's words, and the rest
  of the batch is sent again at once (it was refused only because of them);
- `{"errors": {"puid": [...], "existing_puids": [...]}}`: those PUIDs are already stored,
  i.e. an earlier attempt got through; they count as submitted, and the rest is sent again.
Anything else (5xx, 401, 429, a timeout) is retried later with exponential backoff. After an
answer that leaves it unknown whether the batch was stored (a timeout, a dropped connection,
a 5xx), each PUID is looked up (`GET /api/v1/statement/existing-puid/{puid}`: 302 found,
404 not); found ones are submitted. A PUID is drawn once per decision and stored, so every
retry, and every restart, sends the same one; a statement is never sent under two PUIDs.

With submission off (micro and small enterprises are exempt, DSA Art. 24(5) with Art. 19),
statements are kept and marked `off`, never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.actions.webhooks import backoff
from bastion.audit import record
from bastion.compliance.statement_rules import validate
from bastion.db.base import utcnow
from bastion.db.models import Statement
from bastion.errors import InvalidInput
from bastion.runtime import Bastion

log = logging.getLogger("bastion.tdb")

MAX_BATCH = 100  # the TDB refuses bigger batches
ACTOR = "tdb-client"


@dataclass
class SubmitResult:
    """What one pass did, statement by statement."""

    submitted: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    off: list[int] = field(default_factory=list)
    requests: int = 0

    def summary(self) -> dict[str, int]:
        """Counts per outcome."""
        return {
            "submitted": len(self.submitted),
            "invalid": len(self.invalid),
            "retry": len(self.retry),
            "off": len(self.off),
            "requests": self.requests,
        }


class TdbClient:
    """Sends pending statements (of one platform, when `platform` is given) to the TDB."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        enabled: bool = True,
        platform: str | None = None,
        http: httpx.Client | None = None,
        timeout_s: float = 30.0,
        batch_size: int = MAX_BATCH,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.enabled = enabled
        self.platform = platform
        self.timeout_s = timeout_s
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self._own_http = http is None
        self.http = http or httpx.Client()

    def close(self) -> None:
        """Close the HTTP client if this object made it."""
        if self._own_http:
            self.http.close()

    def __enter__(self) -> TdbClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit_due(
        self, session: Session, *, now: datetime | None = None, limit: int = 1000
    ) -> SubmitResult:
        """Send the statements that are due (at most `limit`), in the caller's transaction."""
        moment = now or utcnow()
        result = SubmitResult()
        due = self._due(session, moment, limit)
        if not self.enabled:
            for statement in due:
                statement.status, statement.last_error = "off", "submission is turned off"
                result.off.append(statement.id)
            return result
        sendable = [s for s in due if self._still_valid(s, result)]
        for batch in _chunks(sendable, self.batch_size):
            remaining = batch
            while remaining:  # each round settles at least one statement, or ends
                remaining = self._attempt(remaining, moment, result)
        if result.submitted or result.invalid:
            record(session, ACTOR, "statements.submit", None, result.summary())
        return result

    def exists(self, puid: str) -> bool | None:
        """Whether the TDB holds this PUID (None when it could not say)."""
        try:
            response = self.http.get(
                f"{self.base_url}/api/v1/statement/existing-puid/{puid}",
                headers=self._headers(),
                timeout=self.timeout_s,
            )
        except httpx.HTTPError:
            return None
        if response.status_code == 302:
            return True
        if response.status_code == 404:
            return False
        return None

    def _due(self, session: Session, moment: datetime, limit: int) -> list[Statement]:
        query = (
            select(Statement)
            .where(Statement.status == "pending", Statement.next_attempt_at <= moment)
            .order_by(Statement.id)
            .limit(limit)
        )
        if self.platform is not None:
            query = query.where(Statement.platform == self.platform)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # two workers never send one twice
        return list(session.scalars(query))

    def _still_valid(self, statement: Statement, result: SubmitResult) -> bool:
        # Checked again before sending: the rules may have been updated since it was stored.
        problems = validate(statement.payload)
        if not problems:
            return True
        statement.status = "invalid"
        statement.problems = [p._asdict() for p in problems]
        result.invalid.append(statement.id)
        return False

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def _attempt(
        self, batch: list[Statement], moment: datetime, result: SubmitResult
    ) -> list[Statement]:
        """Send one batch; returns the statements to send again at once (refused only
        because of others in their batch)."""
        for statement in batch:
            statement.attempts += 1
        result.requests += 1
        try:
            response = self.http.post(
                f"{self.base_url}/api/v1/statements",
                json={"statements": [s.payload for s in batch]},
                headers=self._headers(),
                timeout=self.timeout_s,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Never reached the TDB: nothing can have been stored.
            self._later(batch, moment, f"{type(exc).__name__}: {exc}", result)
            return []
        except httpx.HTTPError as exc:
            self._unsure(batch, moment, f"{type(exc).__name__}: {exc}", result)
            return []
        if response.status_code == 201:
            self._submitted(batch, moment, result)
            return []
        if response.status_code == 422:
            settled = self._refused(batch, _json(response), moment, result)
            if settled:
                return [s for s in batch if s.status == "pending"]
        error = f"HTTP {response.status_code}: {response.text[:500]}"
        if response.status_code >= 500:
            self._unsure(batch, moment, error, result)
        else:
            self._later(batch, moment, error, result)
        return []

    def _refused(
        self, batch: list[Statement], body: dict[str, Any], moment: datetime, result: SubmitResult
    ) -> bool:
        """Apply a 422's per-statement errors; False when it names no statement of ours."""
        errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
        assert isinstance(errors, dict)
        settled = False
        existing = {str(p) for p in errors.get("existing_puids") or []}
        for statement in batch:
            if statement.puid in existing:
                self._submitted([statement], moment, result, note="already in the TDB")
                settled = True
        for index, statement in enumerate(batch):
            fields = errors.get(f"statement_{index}")
            if isinstance(fields, dict) and statement.status == "pending":
                statement.status = "invalid"
                statement.last_error = "refused by the Transparency Database"
                statement.problems = _tdb_problems(fields)
                result.invalid.append(statement.id)
                settled = True
        return settled

    def _unsure(
        self, batch: list[Statement], moment: datetime, error: str, result: SubmitResult
    ) -> None:
        # The batch may have been stored before the answer got lost: ask for each PUID.
        stored = [s for s in batch if self.exists(s.puid)]
        self._submitted(stored, moment, result, note=f"confirmed after {error[:200]}")
        self._later([s for s in batch if s not in stored], moment, error, result)

    def _submitted(
        self,
        statements: Sequence[Statement],
        moment: datetime,
        result: SubmitResult,
        note: str | None = None,
    ) -> None:
        for statement in statements:
            statement.status, statement.submitted_at = "submitted", moment
            statement.last_error = note
            result.submitted.append(statement.id)

    def _later(
        self, statements: Sequence[Statement], moment: datetime, error: str, result: SubmitResult
    ) -> None:
        # No dead letter: a statement is owed to the TDB, so it is retried until accepted.
        for statement in statements:
            statement.last_error = error[:1000]
            statement.next_attempt_at = moment + backoff(statement.attempts)
            result.retry.append(statement.id)
        if statements:
            log.warning("TDB submission of %d statement(s) failed: %s", len(statements), error)


def _chunks(items: list[Statement], size: int) -> Iterator[list[Statement]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _tdb_problems(fields: dict[str, Any]) -> list[dict[str, str]]:
    problems = []
    for name, messages in fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            problems.append({"field": str(name), "rule": "tdb", "message": str(message)})
    return problems


class TdbSettings(Protocol):
    """The settings the client is made from (bastion.settings.Settings has them)."""

    tdb_url: str | None
    tdb_token: str | None
    tdb_submit: bool
    tdb_timeout_s: float


def client_from_settings(settings: TdbSettings, http: httpx.Client | None = None) -> TdbClient:
    """The client the settings describe; with submission on it needs a URL and a token."""
    if settings.tdb_submit and not (settings.tdb_url and settings.tdb_token):
        raise InvalidInput(
            "Set BASTION_TDB_URL and BASTION_TDB_TOKEN, or BASTION_TDB_SUBMIT=false "
            "(micro and small enterprises need not submit)."
        )
    return TdbClient(
        settings.tdb_url or "http://tdb.invalid",
        settings.tdb_token or "",
        enabled=settings.tdb_submit,
        http=http,
        timeout_s=settings.tdb_timeout_s,
    )


def submit_once(
    bastion: Bastion, client: TdbClient, *, now: datetime | None = None, max_rounds: int = 1000
) -> SubmitResult:
    """Send everything due, one batch per transaction (a crash loses at most one batch's
    bookkeeping, and resending it is safe: the TDB answers with the PUIDs it already has)."""
    total = SubmitResult()
    for _ in range(max_rounds):
        with bastion.session() as session:
            step = client.submit_due(session, now=now, limit=client.batch_size)
        for name in ("submitted", "invalid", "retry", "off"):
            getattr(total, name).extend(getattr(step, name))
        total.requests += step.requests
        if not (step.submitted or step.invalid or step.retry or step.off):
            break
    return total
