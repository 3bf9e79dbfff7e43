"""Service settings, read once from the environment and `.env`.

Every variable is listed in docs/configuration.md; keep the two in step. Secrets are
`SecretStr` so they never print in logs, reprs or tracebacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- HTTP service -----------------------------------------------------------------
    host: str = Field("127.0.0.1", alias="JUNO_HOST")
    port: int = Field(3978, alias="JUNO_PORT", ge=0, le=65535)
    # Slow clients (docs/security.md): a connection must complete its request headers this
    # long after it opens or after its previous response, and then send its body in time.
    header_timeout_seconds: float = Field(20.0, alias="JUNO_HEADER_TIMEOUT_SECONDS", gt=0, le=3600)
    body_timeout_seconds: float = Field(30.0, alias="JUNO_BODY_TIMEOUT_SECONDS", gt=0, le=3600)
    # /metrics: loopback scrapers only, unless this bearer token is set (then it is required).
    metrics_token: SecretStr | None = Field(None, alias="JUNO_METRICS_TOKEN")

    # --- Database ---------------------------------------------------------------------
    mongodb_uri: SecretStr | None = Field(None, alias="MONGODB_URI")
    db_name: str = Field("juno", alias="JUNO_DB_NAME", pattern=r"^[A-Za-z0-9_-]{1,60}$")
    data_dir: Path = Field(Path("var"), alias="JUNO_DATA_DIR")
    embedded_engine: Literal["sqlite", "memory"] = Field("sqlite", alias="JUNO_EMBEDDED_ENGINE")
    mongo_connect_timeout_ms: int = Field(60_000, alias="JUNO_MONGO_CONNECT_TIMEOUT_MS", gt=0)

    # --- Logging ----------------------------------------------------------------------
    log_format: Literal["json", "console"] = Field("json", alias="JUNO_LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="JUNO_LOG_LEVEL")

    # --- Teams bot identity -----------------------------------------------------------------
    bot_app_id: str | None = Field(None, alias="JUNO_BOT_APP_ID")
    bot_app_secret: SecretStr | None = Field(None, alias="JUNO_BOT_APP_SECRET")
    bot_cert_path: Path | None = Field(None, alias="JUNO_BOT_CERT_PATH")
    bot_tenant_id: str | None = Field(None, alias="JUNO_BOT_TENANT_ID")
    # How the bot proves its identity: a single-tenant app's secret or certificate, or a
    # user-assigned managed identity (JUNO_BOT_APP_ID is then the identity's client id).
    bot_auth_type: Literal["client_secret", "certificate", "user_managed_identity"] | None = Field(
        None, alias="JUNO_BOT_AUTH_TYPE"
    )
    bot_openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        alias="JUNO_BOT_OPENID_METADATA_URL",
    )
    bot_dev_mode: bool = Field(False, alias="JUNO_BOT_DEV_MODE")
    # Bot Framework channels whose activities are served (comma-separated). Identity comes
    # from what Teams vouches for (aadObjectId, conversation.tenantId); other channels such as
    # Direct Line let the client choose those fields, so they are refused unless listed here.
    bot_channels: str = Field(
        "msteams", alias="JUNO_BOT_CHANNELS", pattern=r"^\s*[a-z0-9_-]+(\s*,\s*[a-z0-9_-]+)*\s*$"
    )
    bot_validate_service_url: bool = Field(True, alias="JUNO_BOT_VALIDATE_SERVICE_URL")
    default_locale: Literal["tr", "en"] = Field("tr", alias="JUNO_DEFAULT_LOCALE")

    # --- Microsoft identity platform (national clouds override these) --------------------
    authority_host: str = Field("https://login.microsoftonline.com", alias="JUNO_AUTHORITY_HOST")
    graph_base_url: str = Field("https://graph.microsoft.com/v1.0", alias="JUNO_GRAPH_BASE_URL")

    # --- Directory (Graph) app: our multi-tenant registration customers consent to ---------
    # `juno tenant add` and `juno tenant consent-url` default to it; a tenant record may still
    # name another app.
    graph_app_id: str | None = Field(None, alias="JUNO_GRAPH_APP_ID")
    graph_cert_path: Path | None = Field(None, alias="JUNO_GRAPH_CERT_PATH")
    graph_client_secret_env: str | None = Field(
        None, alias="JUNO_GRAPH_CLIENT_SECRET_ENV", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
    )
    # Change notifications on /users, delivered to JUNO_PUBLIC_BASE_URL/api/graph/*.
    graph_notifications: bool = Field(True, alias="JUNO_GRAPH_NOTIFICATIONS")

    # --- Privacy ----------------------------------------------------------------------
    pseudonym_key: SecretStr | None = Field(None, alias="JUNO_PSEUDONYM_KEY")
    # Data-subject rights and retention (juno.keys, juno.api, juno.jobs).
    signing_key: SecretStr | None = Field(None, alias="JUNO_SIGNING_KEY")
    public_base_url: str | None = Field(
        None, alias="JUNO_PUBLIC_BASE_URL", pattern=r"^https?://[^\s/]+(/[^\s]*)?$"
    )
    api_audience: str | None = Field(None, alias="JUNO_API_AUDIENCE")
    export_link_ttl_hours: int = Field(24, alias="JUNO_EXPORT_LINK_TTL_HOURS", ge=1, le=24)
    soft_delete_grace_days: int = Field(30, alias="JUNO_SOFT_DELETE_GRACE_DAYS", ge=0, le=150)
    retention_job: bool = Field(True, alias="JUNO_RETENTION_JOB")
    retention_interval_hours: int = Field(24, alias="JUNO_RETENTION_INTERVAL_HOURS", ge=1, le=24)

    # --- Deployment facts the processor record and notices declare (privacy.subprocessors) ---
    hosting_provider: str | None = Field(None, alias="JUNO_HOSTING_PROVIDER", max_length=200)
    hosting_location: str | None = Field(None, alias="JUNO_HOSTING_LOCATION", max_length=200)
    # Who JUNO's operator is and how a controller or authority reaches it (GDPR Art. 30(2)(a)).
    processor_contact: str | None = Field(None, alias="JUNO_PROCESSOR_CONTACT", max_length=300)

    # --- Teams app package (manifest) ------------------------------------------------------
    manifest_developer_name: str = Field("JUNO for Teams", alias="JUNO_MANIFEST_DEVELOPER_NAME")
    manifest_website_url: str = Field("https://juno.example.com", alias="JUNO_MANIFEST_WEBSITE_URL")
    manifest_privacy_url: str = Field(
        "https://juno.example.com/privacy", alias="JUNO_MANIFEST_PRIVACY_URL"
    )
    manifest_terms_url: str = Field(
        "https://juno.example.com/terms", alias="JUNO_MANIFEST_TERMS_URL"
    )
    manifest_accent_color: str = Field(
        "#4B3F9E", alias="JUNO_MANIFEST_ACCENT_COLOR", pattern=r"^#[0-9A-Fa-f]{6}$"
    )
    manifest_default_language: Literal["en", "tr"] = Field(
        "en", alias="JUNO_MANIFEST_DEFAULT_LANGUAGE"
    )

    @property
    def api_audiences(self) -> tuple[str, ...]:
        """Who a user's access token for the API must be issued to: JUNO_API_AUDIENCE, or the
        bot's app id in both forms Entra uses (v2 tokens carry the id, v1 the app id URI)."""
        if self.api_audience:
            return tuple(a.strip() for a in self.api_audience.split(",") if a.strip())
        if self.bot_app_id:
            return (self.bot_app_id, f"api://botid-{self.bot_app_id}")
        return ()

    @property
    def embedded(self) -> bool:
        """True when no external MongoDB is configured and the embedded server is used."""
        return self.mongodb_uri is None or not self.mongodb_uri.get_secret_value()
