"""Every setting, read from EDITROOM_* variables (and DATABASE_URL). The README lists them."""

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.kernel import setting_checks as checks
from service.kernel.addresses import url_to_open
from service.kernel.db import GETCONN_TIMEOUT_SECONDS, POOL_OPEN_TIMEOUT_SECONDS
from service.kernel.embedded import running_database_url
from service.kernel.errors import ConfigurationError


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
    keepalive_seconds: PositiveInt = Field(
        default=75,
        description="an idle keep-alive connection is closed after this long: longer than a "
        "proxy's or a client's own (nginx's 60 s, httpx's 5 s), so they close theirs first and "
        "never send a request on a connection the API is closing (a reset)",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error")
    db_pool_size: PositiveInt = Field(
        default=10, description="pooled connections per process, at most"
    )
    db_pool_timeout_seconds: PositiveFloat = Field(
        default=GETCONN_TIMEOUT_SECONDS,
        description="how long a request waits for a database connection before a 503",
    )
    db_pool_open_timeout_seconds: PositiveFloat = Field(
        default=POOL_OPEN_TIMEOUT_SECONDS,
        description="how long serve, runner, cleanup and fsck keep trying to reach PostgreSQL "
        "as they start before they give up (one line naming the database, exit status 2)",
    )

    public_url: str | None = Field(
        default=None,
        description="the URL clients reach the API at, the base of content and presigned URLs; "
        "default http://HOST:PORT (localhost when HOST is 0.0.0.0 or ::)",
    )
    allowed_hosts: str = Field(
        default="",
        description="comma-separated Host names the API answers (a port is optional), plus "
        "PUBLIC_URL's; default localhost, 127.0.0.1, [::1] and HOST; `*` any (unsafe)",
    )
    allowed_origins: str = Field(
        default="",
        description="comma-separated origins besides the API's own whose pages may POST, PUT, "
        "PATCH or DELETE, e.g. https://ui.example",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="set: every route but /healthz, /readyz and /metrics needs "
        "`Authorization: Bearer <token>` (or the cookie POST /auth sets)",
    )

    runner_name: str | None = Field(
        default=None, description="worker name recorded on claims; default host:pid"
    )
    # A lane per kind, so that slow imports or videos never hold the slots image edits need.
    runner_image_slots: PositiveInt = Field(
        default=2,
        validation_alias=AliasChoices(
            "EDITROOM_RUNNER_IMAGE_SLOTS", "EDITROOM_RUNNER_CONCURRENCY", "runner_image_slots"
        ),
        description="image edits one runner runs at once (CPU-bound: about one per core); "
        "EDITROOM_RUNNER_CONCURRENCY, its former name, still sets it",
    )
    runner_video_slots: NonNegativeInt = Field(
        default=1,
        description="video edits one runner runs at once, beside its image and import slots; "
        "0: this runner takes no video edits (others do)",
    )
    runner_import_slots: NonNegativeInt = Field(
        default=2,
        description="imports from a URL one runner runs at once, beside its image and video "
        "slots (mostly waiting on the network); 0: this runner takes no imports",
    )
    lease_seconds: PositiveInt = Field(
        default=300,
        description="a claim's lease; a runner silent this long is presumed dead; at least "
        "twice HEARTBEAT_SECONDS and PROGRESS_INTERVAL_SECONDS (else `editroom` refuses to start)",
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
    progress_interval_seconds: PositiveFloat = Field(
        default=1.0, description="how often a runner reports changed progress (SSE sees it)"
    )
    sse_stall_seconds: PositiveFloat = Field(
        default=30.0,
        description="an event stream whose client takes no frame for this long is closed",
    )
    max_event_streams: PositiveInt = Field(
        default=200,
        description="event streams open at once (/events and /edit/{id}/events); more get a 503",
    )
    edit_max_trials: PositiveInt = Field(
        default=3, description="attempts an edit gets before it fails for good"
    )
    max_queued: PositiveInt = Field(
        default=10_000,
        description="edits waiting to run (queued or to retry) beyond which new ones get a 429",
    )
    max_queued_imports: PositiveInt = Field(
        default=100,
        description="imports waiting to run (queued or to retry) beyond which new imports get a "
        "429; they count in EDITROOM_MAX_QUEUED too",
    )
    idempotency_window_seconds: PositiveFloat = Field(
        default=86_400.0,
        description="how long an Idempotency-Key is remembered: a retry within it answers the "
        "edits the first request made",
    )
    edit_timeout_seconds: PositiveFloat = Field(
        default=300.0, description="time limit of one edit attempt, plus the per-video-second part"
    )
    edit_seconds_per_video_second: float = Field(
        default=10.0,
        ge=0,
        description="added to an edit's time limit per second of video it reads, up to "
        "max_video_seconds of it",
    )
    work_dir: Path | None = Field(
        default=None, description="scratch space of running edits; default DATA_DIR/work"
    )
    shutdown_grace_seconds: PositiveFloat = Field(
        default=30.0, description="on SIGTERM, how long a runner waits for edits in flight"
    )
    edit_retention_days: float = Field(
        default=30.0, ge=0, description="finished edits older than this are pruned; 0 keeps all"
    )
    edit_archive_after_seconds: float = Field(
        default=600.0,
        ge=0,
        description="finished edits (not session steps) older than this leave the queue table "
        "for edit_history",
    )
    edit_archive_batch: int = Field(
        default=1000, ge=1, le=100_000, description="edits one archiving statement moves at most"
    )
    runner_metrics_host: str = Field(
        default="127.0.0.1", description="address a runner serves its /metrics on"
    )
    runner_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="port of a runner's /metrics; 0 picks a free one and logs it",
    )

    storage_dir: Path | None = Field(
        default=None,
        description="local bucket directory when S3 is not set; default DATA_DIR/bucket",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="S3/MinIO URL, e.g. http://minio:9000 (no path); set: store media there, with "
        "S3_ACCESS_KEY and S3_SECRET_KEY",
    )
    s3_public_endpoint: str | None = Field(
        default=None,
        description="S3 URL clients reach, for presigned URLs (no path); default S3_ENDPOINT",
    )
    s3_access_key: str = Field(default="", description="S3 access key")
    s3_secret_key: str = Field(default="", description="S3 secret key")
    s3_bucket: str = Field(default="editroom", description="S3 bucket, made if missing")
    s3_region: str = Field(default="us-east-1", description="S3 region")
    upload_dir: Path | None = Field(
        default=None, description="where uploads land while checked; default DATA_DIR/uploads"
    )
    max_upload_bytes: PositiveInt = Field(
        default=4 * 1024**3, description="largest upload accepted, in bytes"
    )
    max_concurrent_uploads: PositiveInt = Field(
        default=16,
        description="upload bodies (POST /bucket/upload, a presigned local PUT) received and "
        "checked at once; past it, a 503 with Retry-After before a byte is read",
    )
    upload_idle_seconds: PositiveFloat = Field(
        default=30.0,
        description="an upload body (or any request's body) that sends no byte for this long "
        "is dropped with a 408 (and its temporary file removed); also the window of "
        "UPLOAD_MIN_BYTES_PER_SECOND",
    )
    upload_min_bytes_per_second: NonNegativeInt = Field(
        default=1024,
        description="an upload body (or any request's body) slower than this on average over any "
        "UPLOAD_IDLE_SECONDS is dropped with a 408; 0: no floor, only the idle bound",
    )
    max_json_bytes: PositiveInt = Field(
        default=1024**2, description="largest request body of any route but the two uploads"
    )
    secret_key: str | None = Field(
        default=None, description="signs local presigned URLs; default a key kept in DATA_DIR"
    )
    url_signing_key: SecretStr | None = Field(
        default=None,
        description="set: result addresses (GET /media/{id}/{operations}) must carry "
        "?signature=, the base64url HMAC-SHA256 of their path with this key; they are then "
        "open without the API token",
    )
    result_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        le=60,
        description="how long GET /media/{id}/{operations} waits for an edit still to finish "
        "before it answers 202",
    )
    presign_expiry_seconds: PositiveInt = Field(
        default=3600, description="how long a presigned upload URL stays valid"
    )
    max_pending_uploads: PositiveInt = Field(
        default=10_000,
        description="presigned uploads open at once (neither completed nor expired); past it, "
        "POST /bucket/upload/presign answers 429 with Retry-After",
    )
    cleanup_interval_seconds: PositiveFloat = Field(
        default=3600.0, description="how often a runner removes expired uploads and orphans"
    )
    orphan_grace_seconds: float = Field(
        ge=0,
        default=3600.0,
        description="stored objects younger than this are never treated as orphans",
    )
    probe_timeout_seconds: PositiveFloat = Field(
        default=60.0, description="time allowed to check an upload, plus 10 s per GiB"
    )
    check_concurrency: PositiveInt = Field(
        default=4, description="uploads the API checks at once; the others wait their turn"
    )
    check_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        description="how long an upload waits for a check; then 503 with Retry-After",
    )
    edit_memory_bytes: PositiveInt = Field(
        default=4 * 1024**3, description="memory limit of the process checking or editing media"
    )
    sandbox_jobs_per_child: PositiveInt = Field(
        default=50, description="jobs (edits, upload checks) one sandbox child serves, at most"
    )
    sandbox_child_max_rss_bytes: PositiveInt = Field(
        default=1024**3,
        description="a sandbox child whose peak memory passed this is replaced after its job",
    )
    import_allow_private: bool = Field(
        default=False, description="let imports reach loopback, private and link-local addresses"
    )
    import_allowed_domains: str = Field(
        default="",
        description="comma-separated domains imports may reach (and subdomains); empty: any",
    )
    import_allowed_networks: str = Field(
        default="", description="comma-separated CIDRs imports may reach even when private"
    )
    import_max_bytes: PositiveInt = Field(
        default=2 * 1024**3, description="largest import, counted on the bytes actually read"
    )
    import_timeout_seconds: PositiveFloat = Field(
        default=1800.0, description="time limit of one import, download and checks included"
    )
    import_socket_timeout_seconds: PositiveFloat = Field(
        default=30.0, description="an import's connection gives up after this long without data"
    )
    import_min_bytes_per_second: int = Field(
        default=1024,
        ge=0,
        description="an import slower than this on average over a window is stopped; 0: no floor",
    )
    import_rate_window_seconds: PositiveFloat = Field(
        default=30.0, description="the window over which an import's transfer rate is measured"
    )
    max_pixels: PositiveInt = Field(
        default=50_000_000,
        description="pixels of any image, page or video frame (decompression bombs)",
    )
    max_frame_pixels: PositiveInt = Field(
        default=500_000_000,
        description="an image's pixels over all its frames or pages: an animation's canvas times "
        "its frames, a TIFF's pages added up (animation and multi-page bombs)",
    )
    max_output_side: PositiveInt = Field(
        default=10_000, description="width or height of anything an edit produces, in pixels"
    )
    max_video_seconds: PositiveFloat = Field(
        default=7200.0, description="duration of a source video or of a result"
    )
    max_operations: PositiveInt = Field(default=20, description="operations in one edit")

    @field_validator("public_url")
    @classmethod
    def _a_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError(f"{value!r} is not an http(s) URL like https://editroom.example")
        return value.rstrip("/")

    _hosts = field_validator("allowed_hosts")(checks.host_names)
    _origins = field_validator("allowed_origins")(checks.origins)
    _networks = field_validator("import_allowed_networks")(checks.networks)
    _s3 = field_validator("s3_endpoint", "s3_public_endpoint")(checks.s3_endpoint)
    _database = field_validator("database_url")(checks.database_url)
    _log_level = field_validator("log_level")(checks.log_level)

    @model_validator(mode="after")
    def _s3_has_its_key(self) -> "Settings":
        if self.s3_endpoint and not (self.s3_access_key and self.s3_secret_key):
            raise ValueError(
                "EDITROOM_S3_ACCESS_KEY and EDITROOM_S3_SECRET_KEY must both be set when "
                "EDITROOM_S3_ENDPOINT is: S3 refuses requests without a key"
            )
        return self

    @model_validator(mode="after")
    def _leases_outlive_heartbeats(self) -> "Settings":
        # A runner extends its leases on its progress ticks, every heartbeat_seconds: a lease
        # shorter than two of them expires under a runner still at work (one late beat, a
        # slow statement), and the reaper hands the edit to another runner as a failed trial.
        beat = max(self.heartbeat_seconds, self.progress_interval_seconds)
        if beat * 2 > self.lease_seconds:
            raise ValueError(
                f"EDITROOM_LEASE_SECONDS ({self.lease_seconds:g}) must be at least twice "
                f"EDITROOM_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g}) and "
                f"EDITROOM_PROGRESS_INTERVAL_SECONDS ({self.progress_interval_seconds:g}): "
                "leases would expire between a runner's heartbeats"
            )
        return self

    @field_validator("api_token")
    @classmethod
    def _no_empty_token(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value and value.get_secret_value() else None  # empty: unset

    @property
    def base_url(self) -> str:
        """Where clients reach the API, without a trailing slash: every absolute URL it hands
        out starts with this, never with the Host a request came with."""
        return self.public_url or url_to_open(self.host, self.port)

    @property
    def bucket_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "bucket"

    @property
    def edits_dir(self) -> Path:
        return self.work_dir or self.data_dir / "work"

    @property
    def uploads_dir(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    def require_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        embedded = running_database_url(self.data_dir)
        if embedded is None:
            raise ConfigurationError(
                "DATABASE_URL is not set: point it at PostgreSQL, or use `editroom run`, "
                "which starts an embedded database"
            )
        # A command run beside `editroom run` (fsck, cleanup, db current) is told the URL
        # of the database it most likely means, never pointed at it unasked.
        raise ConfigurationError(
            "DATABASE_URL is not set: point it at PostgreSQL; the embedded database "
            f"`editroom run` keeps in {self.data_dir} is up: DATABASE_URL='{embedded}'"
        )


def markdown_table() -> str:
    """The README's configuration table: `python -m service.kernel.settings`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        variable = "DATABASE_URL" if name == "database_url" else f"EDITROOM_{name.upper()}"
        default = "(unset)" if field.default is None else str(field.default)
        rows.append(f"| `{variable}` | `{default}` | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
