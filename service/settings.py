"""Every setting, read from EDITROOM_* variables (and DATABASE_URL). The README lists them."""

from pathlib import Path

from pydantic import AliasChoices, Field, PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigurationError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EDITROOM_", extra="ignore", frozen=True, populate_by_name=True
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "EDITROOM_DATABASE_URL"),
        description="PostgreSQL connection URL; unset: `editroom run` starts an embedded one",
    )
    data_dir: Path = Field(
        default=Path(".editroom"), description="embedded database and local files"
    )
    host: str = Field(default="127.0.0.1", description="address the API listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="port the API listens on")
    log_level: str = Field(default="info", description="debug, info, warning or error")
    db_pool_size: PositiveInt = Field(default=10, description="connections per process, at most")

    runner_name: str | None = Field(
        default=None, description="worker name recorded on claims; default host:pid"
    )
    runner_concurrency: PositiveInt = Field(default=2, description="edits one runner holds at once")
    lease_seconds: PositiveInt = Field(
        default=300, description="a claim's lease; a runner silent this long is presumed dead"
    )
    heartbeat_seconds: PositiveFloat = Field(
        default=10.0, description="how often a runner extends its leases and reports progress"
    )
    poll_interval_seconds: PositiveFloat = Field(
        default=2.0, description="how often an idle runner looks for work without a NOTIFY"
    )
    reap_interval_seconds: PositiveFloat = Field(
        default=30.0, description="how often a runner reclaims edits whose lease expired"
    )
    shutdown_grace_seconds: PositiveFloat = Field(
        default=30.0, description="on SIGTERM, how long a runner waits for edits in flight"
    )
    edit_retention_days: float = Field(
        default=30.0, ge=0, description="finished edits older than this are pruned; 0 keeps all"
    )

    max_pixels: PositiveInt = Field(
        default=50_000_000, description="pixels of any image or video frame (decompression bombs)"
    )
    max_output_side: PositiveInt = Field(
        default=10_000, description="width or height of anything an edit produces, in pixels"
    )
    max_video_seconds: PositiveFloat = Field(
        default=7200.0, description="duration of a source video or of a result"
    )
    max_operations: PositiveInt = Field(default=20, description="operations in one edit")

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigurationError(
                "DATABASE_URL is not set: point it at PostgreSQL, or use `editroom run`, "
                "which starts an embedded database"
            )
        return self.database_url
