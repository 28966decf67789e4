"""Runtime settings from ``TUTKA_…`` environment variables (the only place the environment is read).

Nested groups use a double underscore: ``TUTKA_AREAS__PATH=/data/regions_2024.csv``.

>>> Settings(_env_file=None).areas.path is None
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The shortest webhook master key accepted: HMAC-SHA256 keys are as strong as 32 bytes.
MIN_SIGNING_KEY_BYTES = 32


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AreaSettings(_Group):
    """Which area hierarchy to use (``TUTKA_AREAS__…``): the shipped one unless a file is given."""

    path: Path | None = Field(
        default=None,
        description="area hierarchy file (ours or Statistics Finland's); default: the shipped one",
    )
    year: int | None = Field(default=None, description="year to use from a by-year file")


class KafkaSettings(_Group):
    """Where the broker is and how the worker uses it (topic names are fixed, versioned)."""

    bootstrap: str = Field(default="127.0.0.1:9092", description="host:port[,host:port…]")
    namespace: str = Field(
        default="",
        pattern=r"^([a-z0-9-]+\.)?$",
        description="prefix of every topic and group, e.g. 'staging.'; empty in production",
    )
    dataset: str = Field(
        default="fi", pattern=r"^[a-z0-9-]{1,32}$", description="key of the ordered event stream"
    )
    partitions: int = Field(default=3, ge=1, le=256, description="partitions of created topics")
    replication: int = Field(default=1, ge=1, le=5, description="replication of created topics")
    retention_days: int = Field(default=3650, ge=1, description="retention of event topics")
    idle_seconds: float = Field(
        default=30.0, gt=0, description="quiet time after which buffered events are released"
    )
    partition_idle_seconds: float | None = Field(
        default=None,
        gt=0,
        description="an input partition read to its end and quiet this long stops holding the "
        "watermark (off by default: the end offsets it judges by may be a moment old, so a "
        "partition behind the others can be taken for a quiet one and its events come late)",
    )
    checkpoint_seconds: float = Field(
        default=10.0, gt=0, description="at most this long between engine checkpoints"
    )
    session_timeout_seconds: float = Field(
        default=30.0,
        ge=6,
        le=300,
        description="a worker silent this long is presumed dead and its partitions move on",
    )
    stall_seconds: float = Field(
        default=300.0,
        ge=10,
        description="a worker with records waiting that finishes none for this long (or whose "
        "event loop stops) exits with status 70, for its supervisor to restart it: faust can "
        "hang for good after the broker comes back",
    )
    start_seconds: float = Field(
        default=90.0,
        ge=10,
        description="a worker that has not begun a rebalance this long after it started, or "
        "whose rebalance (joining the group, taking up the assignment, then recovering its "
        "table with no progress) stands still this long, exits with status 70 for its "
        "supervisor to restart it: faust can freeze while taking up an assignment; above "
        "faust's 60 s rebalance timeout, which a join may legitimately wait out",
    )
    loop_seconds: float = Field(
        default=120.0,
        ge=10,
        description="a worker whose event loop does not run for this long (a synchronous call "
        "blocks it) exits with status 70 for its supervisor to restart it, with the stacks of "
        "its threads in the log (the main thread's shows the blocking call); far above the "
        "loop's longest legitimate pauses (a checkpoint, restoring one: seconds)",
    )
    batch: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="records the worker's agents take from a stream at a time; ingest forwards "
        "the valid events of one input partition in such a batch as one record of the ordered "
        "stream (at most 512 KiB); 1: one record at a time, one event per record",
    )
    fetch_wait_ms: int = Field(
        default=100,
        ge=1,
        le=1500,
        description="longest a fetch of the worker's consumer waits at the broker for new "
        "records (faust fixes it at 1500): while some partitions' records wait in the worker, "
        "the fetch for the others can block fresh records of those partitions this long; lower "
        "is quicker on a busy stream, at the price of a fetch request this often while idle",
    )
    data_dir: Path = Field(
        default=Path(".tutka/worker"),
        description="local directory of the faust worker (its tables live on Kafka changelogs)",
    )


class WebhookSettings(_Group):
    """Delivery of subscriptions by HTTP webhook."""

    signing_key: SecretStr | None = Field(
        default=None,
        description="master key, at least 32 bytes: each subscription's HMAC-SHA256 key is "
        "derived from it; webhook delivery is refused without one (there is no default)",
    )
    timeout_seconds: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_seconds: float = Field(default=0.5, gt=0, description="first retry delay; doubles")
    backoff_max_seconds: float = Field(default=30.0, gt=0)
    allow_private_targets: bool = Field(
        default=False,
        description="tests and closed labs only: accept http:// and private, loopback and "
        "link-local receivers (refused by default, when a subscription is saved and again "
        "when a delivery connects)",
    )
    backlog: int = Field(
        default=1000,
        ge=1,
        description="alerts waiting per webhook subscription while its receiver is slow or "
        "down; past it an alert is parked on the delivery dead-letter topic",
    )
    patience_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how long an alert waits for a receiver that keeps failing before it is "
        "parked on the delivery dead-letter topic",
    )

    @field_validator("signing_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, key: object) -> object:
        # ``TUTKA_WEBHOOK__SIGNING_KEY=`` (compose's default) means none: webhooks refused.
        if key == "" or (isinstance(key, SecretStr) and not key.get_secret_value()):
            return None
        return key

    @field_validator("signing_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value().encode()) < MIN_SIGNING_KEY_BYTES:
            raise ValueError(
                f"signing_key must be at least {MIN_SIGNING_KEY_BYTES} bytes "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return key


class MetricsSettings(_Group):
    """The Prometheus endpoint of a runner (``/metrics``)."""

    host: str = Field(
        default="127.0.0.1",
        description="address to bind; 0.0.0.0 to be scraped from another host or container",
    )
    port: int = Field(default=9480, ge=0, le=65535, description="0 disables the endpoint")


class AlertmanagerSettings(_Group):
    """Pushing alerts to Prometheus Alertmanager's v2 API."""

    urls: Annotated[list[HttpUrl], NoDecode] = Field(
        default_factory=list,
        description="Alertmanager base URLs, comma-separated (every one gets every alert, as "
        "Prometheus does with an HA pair); empty: no push",
    )
    resend_seconds: float = Field(
        default=60.0, gt=0, description="open alerts are re-posted this often"
    )
    timeout_seconds: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_seconds: float = Field(default=0.5, gt=0, description="first retry delay; doubles")
    queue_size: int = Field(default=10_000, ge=10, description="updates waiting to be posted")
    link_base: str = Field(
        default="http://127.0.0.1:8080/alerts/",
        description="the evidence link of an alert is this plus its id (the situation room)",
    )

    @field_validator("urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def hold_seconds(self) -> float:
        """How long a posted alert stays firing without being re-posted (Prometheus uses 4×)."""
        return 4 * self.resend_seconds


class RoomUser(_Group):
    """One member of staff: the SHA-256 of their token, never the token itself."""

    name: str = Field(min_length=1, max_length=80)
    role: Literal["viewer", "analyst", "admin"]
    scope: str = Field(
        default="SSS",
        pattern=r"^(ELY(0[1-9]|1[0-9])|SSS)$",
        description="an ELY area (sees only the alerts under it) or SSS (national)",
    )
    organisation: str = Field(
        default="", description="national staff's body for subscriptions (TEM, KEHA)"
    )
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the token, hex")


class RoomSettings(_Group):
    """The situation room (``tutka room``)."""

    host: str = Field(default="127.0.0.1", description="address to bind")
    port: int = Field(default=8080, ge=1, le=65535)
    users: list[RoomUser] = Field(
        default_factory=list,
        description="staff and their token hashes, as JSON (make one: tutka room token); "
        "there is no default user: the room refuses to start without one (except with "
        "--ephemeral-tokens, for a demo)",
    )
    data_dir: Path = Field(
        default=Path(".tutka/room"),
        description="embedded default: case notes and subscriptions as local JSON-lines files",
    )
    pace_seconds: float = Field(
        default=0.0, ge=0, le=60, description="embedded replay: pause per monthly release"
    )
    max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="largest request body (bytes): a larger one is refused with 413 before "
        "authentication or parsing",
    )
    max_upload_bytes: int = Field(
        default=5_242_880,
        ge=1024,
        description="largest notice spreadsheet (bytes) an analyst may upload to "
        "/api/notices/imports; a larger one is refused with 413 before authentication",
    )
    auth_failures_per_minute: int = Field(
        default=30,
        ge=1,
        description="failed sign-ins a client address may make per minute; then 429",
    )


class FetchSettings(_Group):
    """Live sources: ``tutka fetch statfin`` (Statistics Finland's PxWeb API)."""

    base_url: HttpUrl = Field(
        default=HttpUrl("https://pxdata.stat.fi/PxWeb/api/v1/fi"),
        description="the PxWeb v1 API root, language included; table paths are relative to it",
    )
    tables: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["12r5", "12ti"],
        description="table ids to fetch, comma-separated (from the tables file)",
    )
    tables_file: Path | None = Field(
        default=None, description="tables file (TOML); default: the shipped statfin.toml"
    )
    lookback_months: int = Field(
        default=6,
        ge=0,
        le=120,
        description="months before the newest one asked again on every run, to catch revisions",
    )
    max_cells: int = Field(
        default=100_000,
        ge=1,
        description="cells per query, at most (a smaller limit the server announces wins)",
    )
    max_calls: int = Field(
        default=10, ge=1, description="requests per time window, at most (the server's wins)"
    )
    time_window_seconds: float = Field(default=10.0, gt=0, description="the rate limit's window")
    timeout_seconds: float = Field(default=60.0, gt=0, description="per request")
    max_attempts: int = Field(
        default=5, ge=1, le=20, description="tries per request (timeouts, 429, 5xx)"
    )
    backoff_seconds: float = Field(
        default=2.0, gt=0, description="first retry delay; doubles, unless Retry-After says"
    )
    backoff_max_seconds: float = Field(default=120.0, gt=0)
    state_dir: Path = Field(
        default=Path(".tutka/fetch"),
        description="per table: what was fetched and delivered, and a lock",
    )
    out_dir: Path = Field(
        default=Path("tutka-out/fetch"),
        description="embedded default: the events as JSON-lines files (tutka replay reads them)",
    )
    jitter_seconds: float = Field(
        default=300.0, ge=0, description="--every: each wait is lengthened by up to this much"
    )
    metrics_port: int = Field(
        default=9482,
        ge=0,
        le=65535,
        description="--every: /metrics on this port (host: TUTKA_METRICS__HOST; 0: off)",
    )

    @field_validator("tables", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class Settings(BaseSettings):
    """Everything a runner needs that is not data."""

    model_config = SettingsConfigDict(
        env_prefix="TUTKA_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    catalogue: Path | None = Field(default=None, description="detector catalogue TOML")
    areas: AreaSettings = AreaSettings()
    output_dir: Path = Field(default=Path("tutka-out"), description="where demo outputs go")
    kafka: KafkaSettings = KafkaSettings()
    webhook: WebhookSettings = WebhookSettings()
    metrics: MetricsSettings = MetricsSettings()
    alertmanager: AlertmanagerSettings = AlertmanagerSettings()
    room: RoomSettings = RoomSettings()
    fetch: FetchSettings = FetchSettings()
