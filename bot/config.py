"""What the bot needs to know about its own identity, passed in by `juno` (bot never reads
settings itself, so tests and other hosts can build it directly)."""

from __future__ import annotations

from dataclasses import dataclass

from privacy.security_summary import Deployment
from privacy.subprocessors import SubProcessor

PUBLIC_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"


@dataclass(frozen=True)
class BotConfig:
    app_id: str | None
    app_secret: str | None = None
    cert_path: str | None = None
    tenant_id: str | None = None  # single-tenant bot registration
    # "client_secret" / "certificate" (single-tenant app) or "user_managed_identity".
    auth_type: str | None = None
    openid_metadata_url: str = PUBLIC_OPENID_METADATA_URL
    authority_host: str = "https://login.microsoftonline.com"
    dev_mode: bool = False
    validate_service_url: bool = True
    default_locale: str = "tr"
    public_base_url: str = "http://127.0.0.1:3978"
    signing_key: bytes = b""
    pseudonym_key: bytes = b""
    export_link_hours: int = 24
    channels: tuple[str, ...] = ("msteams",)  # see bot/identity.py
    # This deployment's sub-processors (privacy.subprocessors.declared); None: the defaults.
    subprocessors: tuple[SubProcessor, ...] | None = None
    # How this deployment runs, for the admin desk's sub-processors and security summary.
    deployment: Deployment | None = None

    @property
    def anonymous(self) -> bool:
        return self.dev_mode and not self.app_id
