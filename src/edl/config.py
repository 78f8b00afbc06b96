"""Settings, from `EDL_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    demo: bool = False

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

    def ensure_data_dir(self) -> Path:
        """Create the data directory owner-only (it holds keys and personal data)."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.data_dir
