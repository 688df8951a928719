"""One typed settings class, read from `BASTION_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bastion.errors import InvalidInput

# The text classifier's review operating points: the default, then the stricter ones that
# training stores (classify/model.py reads them from here).
REVIEW_RECALLS = (0.95, 0.90, 0.85)
OFFERED_REVIEW_RECALLS = "0.95, 0.90 or 0.85"


def offered_review_recall(value: float) -> bool:
    """Whether `value` is one of the text classifier's review operating points."""
    return any(abs(value - point) < 1e-9 for point in REVIEW_RECALLS)


class Settings(BaseSettings):
    """Everything Bastion can be configured with; see docs/settings.md for the list."""

    model_config = SettingsConfigDict(env_prefix="BASTION_", extra="ignore")

    data_dir: Path = Field(
        default=Path("./bastion-data"),
        description="Folder for the SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file bastion.db in the data folder. "
        "PostgreSQL: postgresql://user@host:5432/db",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    max_image_pixels: int = Field(
        default=100_000_000,
        ge=1,
        description="Largest image (width x height) decoded; larger ones are refused as bombs.",
    )
    pdq_quality_floor: int = Field(
        default=50, ge=0, le=100, description="PDQ hashes below this quality are never matched."
    )
    default_pdq_threshold: int = Field(
        default=31, ge=0, le=128, description="PDQ distance threshold for new banks."
    )
    pdq_dihedral: bool = Field(
        default=True,
        description="Match rotated (90/180/270) and mirrored copies through PDQ's 8 dihedral "
        "hashes of every query.",
    )
    max_text_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Longest text accepted (UTF-8 bytes); a bank entry is chunked, not cut.",
    )
    text_classifier: bool = Field(
        default=True,
        description="Score every text item with the offline propaganda classifier (it can "
        "send an item to review, never act on it).",
    )
    text_windows: bool = Field(
        default=False,
        description="Also score every two consecutive sentences of a text of three or more, so "
        "that a call pasted among ordinary posts reaches review; costs a few more counter-speech "
        "texts in review (docs/model-card.md).",
    )
    text_review_recall: float = Field(
        default=0.95,
        description="Where the text classifier's review band starts: the share of its training "
        "propaganda kept out of fold, 0.95 (default), 0.90 or 0.85. Lower sends fewer benign "
        "texts (counter-speech above all) to review and misses more propaganda "
        "(docs/model-card.md, 'Operating points').",
    )
    text_model: Path | None = Field(
        default=None,
        description="A text model retrained with your own decisions (`bastion train`), used "
        "instead of the shipped one.",
    )
    max_import_errors: int = Field(
        default=1000, ge=1, description="An import stops collecting bad rows after this many."
    )

    webhook_url: str | None = Field(
        default=None,
        description="Where the platform receives actions (HTTPS POST, signed with the secret).",
    )
    webhook_secret: str | None = Field(
        default=None, description="HMAC-SHA256 key for webhook signatures (at least 32 chars)."
    )
    webhook_max_attempts: int = Field(
        default=12, ge=1, le=100, description="Deliveries tried this often before dead-letter."
    )

    console_secure_cookies: bool = Field(
        default=True,
        description="Mark console cookies Secure (HTTPS only; browsers also accept them on "
        "http://localhost). Turn off only for a test instance served over plain HTTP.",
    )
    console_session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="A console login lasts at most this long."
    )
    console_idle_minutes: float = Field(
        default=60, gt=0, description="A console login ends after this long without a request."
    )
    claim_minutes: float = Field(
        default=15, gt=0, le=24 * 60, description="How long a claimed case stays locked."
    )
    break_after_reveals: int = Field(
        default=25,
        ge=1,
        description="Suggest a break after a moderator revealed this many items in one login "
        "(each moderator can lower or raise it in Settings).",
    )

    order_escalation_minutes: str = Field(
        default="30,15",
        description="Escalate an open removal order when this many minutes are left (comma-"
        "separated), and again when it is overdue: a webhook and an e-mail to the on-call "
        "address.",
    )
    order_clock_seconds: float = Field(
        default=15, gt=0, le=300, description="How often the removal-order clock is checked."
    )
    oncall_email: str | None = Field(
        default=None, description="Who is paged about removal orders (needs the SMTP settings)."
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for on-call e-mail.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    smtp_sender: str = Field(
        default="bastion@localhost", description="The From address of Bastion's e-mail."
    )
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the SMTP server.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required.")
    smtp_password: str | None = Field(default=None, description="SMTP password, if required.")

    tdb_submit: bool = Field(
        default=True,
        description="Submit DSA statements of reasons to the Transparency Database. Micro and "
        "small enterprises (<50 staff, <=EUR 10 M, not VLOPs) are exempt: set false and "
        "statements are kept (status `off`) but never sent.",
    )
    tdb_url: str | None = Field(
        default=None,
        description="Transparency Database API base URL (the sandbox first, then "
        "https://transparency.dsa.ec.europa.eu).",
    )
    tdb_token: str | None = Field(
        default=None, description="The platform's Transparency Database API token."
    )
    tdb_timeout_s: float = Field(
        default=30, gt=0, le=300, description="Timeout of one Transparency Database request."
    )
    tdb_interval_s: float = Field(
        default=60, gt=0, description="How often due statements are submitted."
    )

    vault: bool = Field(
        default=True,
        description="Preserve removed content and its related data, encrypted, for TCO Art. 6. "
        "Off only if it is preserved elsewhere.",
    )
    vault_key: str | None = Field(
        default=None,
        description="The vault's AES-256 key, URL-safe base64 (`bastion vault keygen`); "
        "without it (or a key file) the server refuses to start.",
    )
    vault_key_file: Path | None = Field(
        default=None, description="A file holding the vault key, instead of BASTION_VAULT_KEY."
    )
    vault_retention_days: int = Field(
        default=184,
        ge=184,
        le=3650,
        description="Days preserved content is kept before it is purged (Art. 6: six months; "
        "a legal hold keeps a record longer).",
    )
    vault_interval_s: float = Field(
        default=30, gt=0, le=3600, description="How often removed content is preserved."
    )
    complaint_days: int = Field(
        default=14,
        ge=1,
        le=60,
        description="A complaint must be decided within this many days (TCO Art. 10: two weeks).",
    )
    complaint_info: str = Field(
        default="You can complain about this decision through the platform's appeal form.",
        max_length=2000,
        description="How to complain, as the uploader's notice states it (the platform's form).",
    )

    @field_validator("order_escalation_minutes")
    @classmethod
    def _marks_are_minutes(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not all(p.isdigit() and 0 < int(p) < 60 for p in parts):
            raise ValueError("BASTION_ORDER_ESCALATION_MINUTES: whole minutes 1-59, e.g. 30,15")
        return value

    @property
    def order_escalation_marks(self) -> tuple[int, ...]:
        """The minutes-left marks at which open orders are escalated."""
        return tuple(int(p) for p in self.order_escalation_minutes.split(",") if p.strip())

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        # An unsigned action feed would let anyone who can reach the platform forge removals.
        if self.webhook_url and (not self.webhook_secret or len(self.webhook_secret) < 32):
            raise ValueError(
                "BASTION_WEBHOOK_URL is set: set BASTION_WEBHOOK_SECRET to at least 32 "
                "random characters, e.g. the output of `openssl rand -hex 32`."
            )
        return self

    @field_validator("text_review_recall")
    @classmethod
    def _offered_point(cls, value: float) -> float:
        if not offered_review_recall(value):
            raise ValueError(f"BASTION_TEXT_REVIEW_RECALL: {OFFERED_REVIEW_RECALLS}")
        return round(value, 2)

    @field_validator("database_url")
    @classmethod
    def _normalise_driver(cls, value: str | None) -> str | None:
        # Users paste libpq URLs; SQLAlchemy needs the driver named to pick psycopg 3.
        if value and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bastion.db').resolve()}"

    def ensure_data_dir(self) -> None:
        """Create the data folder, with a clear error if that is impossible."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(
                f"Cannot create the data folder {self.data_dir}: {exc.strerror}. "
                "Set BASTION_DATA_DIR or --data-dir to a writable folder."
            ) from exc
