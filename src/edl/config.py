"""Settings, from `EDL_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment configures. Secrets are not settings: they live in the data directory."""

    model_config = SettingsConfigDict(env_prefix="EDL_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path(".edl-data"), description="keys, photos and the default SQLite database")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in data_dir")
    database_replica_url: str | None = Field(
        default=None, description="read-only replica for verification traffic (default: the primary)"
    )
    redis_url: str | None = Field(default=None, description="shared rate limits and caches across app servers")
    host: str = "127.0.0.1"
    port: int = 8000
    rollout: str = Field(default="all", description="'all' or comma-separated issuing-authority codes")
    clock_skew_seconds: int = 60
    mso_validity_hours: int = Field(
        default=72, ge=1, le=24 * 30, description="how long a signed mdoc stays valid before it must be re-signed"
    )
    log_level: str = "INFO"
    metrics_token: str = Field(
        default="",
        repr=False,
        description="bearer token that /metrics answers to on the public listener; empty: /metrics is 404 there",
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve /metrics on this separate operator port instead"
    )
    metrics_host: str = Field(default="127.0.0.1", description="address of the operator's metrics listener")
    demo: bool = False
    # --- the driver's app and the review workflow (issue 4) ---
    face_provider: str = Field(
        default="auto",
        description="real-person authentication: 'dlib' (face descriptors from the optional [face] extra), "
        "'lenient-demo' (accepts any readable photo without comparing faces; demo only), or 'auto' (dlib when "
        "installed, else lenient-demo in the demo, else refuse); `edl demo` uses lenient-demo unless set, since "
        "its synthetic portraits are drawings",
    )
    face_match_threshold: float = Field(default=0.5, gt=0, lt=1, description="max descriptor distance for a match")
    face_attempts_per_day: int = Field(default=5, ge=1, description="real-person authentication tries per account/day")
    face_attempts_per_licence_per_day: int = Field(
        default=10,
        ge=1,
        description="real-person authentication tries per licence and day, over all accounts (stops trying many "
        "accounts against one licence)",
    )
    liveness_landmark_model: str = Field(
        default="",
        description="a dlib 68-point shape predictor file for the liveness check; empty: the model shipped in "
        "face-recognition-models (trained on iBUG 300-W, whose terms forbid commercial use: see docs/applications.md)",
    )
    face_check_valid_minutes: int = Field(default=10, ge=1, description="how long a passed face check may be used")
    otp_ttl_seconds: int = Field(default=300, ge=30, description="how long a sign-in code is valid")
    otp_max_attempts: int = Field(default=5, ge=1, description="wrong codes before a code is dead")
    otp_per_mobile_per_hour: int = Field(default=5, ge=1, description="codes sent to one number per hour")
    otp_per_client_per_hour: int = Field(default=20, ge=1, description="codes asked for by one client address per hour")
    session_hours: int = Field(default=12, ge=1, description="how long a sign-in lasts")
    sms_url: str | None = Field(
        default=None,
        description="the SMS gateway's webhook: sign-in codes are POSTed there as JSON signed with HMAC-SHA256 "
        "(secret in data_dir/secrets/sms-webhook.key; see docs/deploy.md); https unless loopback; without it "
        "`edl serve` refuses to start unless EDL_DEMO=true",
    )
    sms_timeout_seconds: float = Field(default=5.0, gt=0, le=30, description="how long to wait for the SMS gateway")
    purge_interval_minutes: int = Field(
        default=15,
        ge=0,
        le=24 * 60,
        description="how often `edl serve` deletes expired sign-in codes and ended sessions (0: never; run "
        "`edl accounts purge` from a timer instead)",
    )
    outbox_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="how often the notice worker (`edl worker`, also inside `edl serve`) looks for due notices",
    )
    holidays_file: Path | None = Field(
        default=None,
        description="JSON holiday table (holidays and make-up working days) that extends chinese-calendar",
    )
    vapid_subject: str = Field(default="mailto:edl-ops@example.invalid", description="Web Push contact (VAPID sub)")
    push_service_hosts: str = Field(
        default="fcm.googleapis.com,updates.push.services.mozilla.com,push.services.mozilla.com,"
        "notify.windows.com,push.apple.com",
        description="comma-separated push-service host names (and their subdomains) a browser subscription may use",
    )
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="largest photo upload accepted")
    image_workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="threads per server process for image work (photo checks, face comparison, reading an uploaded "
        "code), off the event loop; about one per core",
    )
    image_queue: int = Field(
        default=4,
        ge=0,
        le=1000,
        description="image jobs that may wait for a worker; beyond that an upload is answered 503 with Retry-After",
    )
    # --- showing and verifying e-licences (issue 5) ---
    public_url: str = Field(
        default="",
        description="the base URL verifiers reach this service at (status list and trust bundle locations); "
        "default: http://HOST:PORT",
    )
    code_lifetime_seconds: int = Field(
        default=180, ge=30, le=180, description="how long a 亮码 (signed short-lived code) is valid; at most 3 min"
    )
    code_refresh_seconds: int = Field(default=60, ge=10, le=170, description="how often the holder page renews it")
    barcode_step_seconds: int = Field(
        default=60,
        ge=30,
        le=300,
        description="the barcode number's time step: a number is accepted in its own step and the next one "
        "(docs/code-format.md); at least code_refresh_seconds, so the page renews it before it lapses",
    )
    status_list_ttl_seconds: int = Field(
        default=300, ge=10, description="status list `ttl`: how long a verifier may cache the list"
    )
    status_list_validity_hours: int = Field(
        default=24, ge=1, le=24 * 7, description="status list `exp`: a list older than this is stale (unknown)"
    )
    trust_bundle_max_age_seconds: int = Field(default=86400, ge=60, le=86400, description="trust bundle max age")
    rate_limit_per_minute: int = Field(default=600, ge=1, description="default verifications per minute per key")
    verification_pool_size: int = Field(
        default=8,
        ge=1,
        le=64,
        description="PostgreSQL connections per server process of the dedicated verification engine (autocommit, "
        "no overflow, no pre-ping); the API waits for a free one rather than opening more",
    )
    verification_durable_log: bool = Field(
        default=True,
        description="true: a verification is answered only once its log row's WAL is on disk (PostgreSQL; with the "
        "group commit one flush per batch); false: the log commits with synchronous_commit=off (a database crash may "
        "lose the last fraction of a second of log rows whose answers were given; see docs/verification-api.md)",
    )
    verification_log_window_ms: float = Field(
        default=2.0,
        ge=0,
        le=100,
        description="PostgreSQL group commit: how long the verification-log writer waits after a batch's first row "
        "for more before it inserts them (at most 200 rows a batch); 0: it writes what is waiting at once, and rows "
        "arriving while a batch is written form the next one. Each answer waits for its batch's commit",
    )
    api_fast_lane: bool = Field(
        default=True,
        description="answer POST /api/v1/verifications in an ASGI layer in front of FastAPI's router (same checks and "
        "answers, about a third less CPU per request); false: through FastAPI like every page (for comparison)",
    )
    access_log_api_sample: int = Field(
        default=1,
        ge=1,
        description="log one access line per this many successful (2xx) POST /api/v1/verifications requests "
        "(each verification is in the verification log anyway); refusals and errors are always logged",
    )

    @model_validator(mode="after")
    def _barcode_outlives_refresh(self) -> Settings:
        if self.barcode_step_seconds < self.code_refresh_seconds:
            raise ValueError(
                f"barcode_step_seconds ({self.barcode_step_seconds}) must be at least code_refresh_seconds "
                f"({self.code_refresh_seconds}): a page would show a barcode number that has lapsed"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'edl.db').resolve()}"

    @property
    def rollout_codes(self) -> frozenset[str] | None:
        text = self.rollout.strip().lower()
        if text in ("", "all", "*"):
            return None
        return frozenset(c.strip() for c in self.rollout.split(",") if c.strip())

    @property
    def base_url(self) -> str:
        """Where verifiers reach this service (no trailing slash)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def push_host_set(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.push_service_hosts.split(",") if h.strip())

    def ensure_data_dir(self) -> Path:
        """Create the data directory owner-only (it holds keys and personal data)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.data_dir
