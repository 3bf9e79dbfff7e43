"""The bot's configuration from the service settings: one translation that `juno serve`, the
outbox delivery and the CLI commands that message tenants in Teams all use."""

from __future__ import annotations

from bot.config import BotConfig
from juno.deployment import bot_auth_kind, bot_identity_problem
from juno.errors import UserError
from juno.keys import pseudonym_key, signing_key
from juno.legal import deployment_subprocessors
from juno.logs import get_logger
from juno.processor import deployment
from juno.settings import Settings


def bot_config(settings: Settings) -> BotConfig | None:
    """The bot's identity, or None when there is none and dev mode is off (then /api/messages
    is not served at all rather than served unauthenticated)."""
    if not settings.bot_app_id and not settings.bot_dev_mode:
        return None
    problem = bot_identity_problem(settings)  # juno/deployment.py: the two identity kinds
    if problem:
        raise UserError(problem)
    kind = bot_auth_kind(settings)
    secret = settings.bot_app_secret if kind == "client_secret" else None
    cert = settings.bot_cert_path if kind == "certificate" else None
    return BotConfig(
        app_id=settings.bot_app_id or None,
        app_secret=secret.get_secret_value() if secret else None,
        cert_path=str(cert) if cert else None,
        tenant_id=settings.bot_tenant_id,
        auth_type=kind,
        openid_metadata_url=settings.bot_openid_metadata_url,
        authority_host=settings.authority_host,
        dev_mode=settings.bot_dev_mode,
        # Dev mode serves only loopback clients such as `juno chat`, whose serviceUrl is local.
        validate_service_url=settings.bot_validate_service_url and not settings.bot_dev_mode,
        default_locale=settings.default_locale,
        public_base_url=settings.public_base_url or f"http://{settings.host}:{settings.port}",
        signing_key=signing_key(settings, get_logger("juno.keys")),
        pseudonym_key=pseudonym_key(settings, get_logger("juno.keys")),
        export_link_hours=settings.export_link_ttl_hours,
        channels=tuple(c.strip() for c in settings.bot_channels.split(",") if c.strip()),
        subprocessors=deployment_subprocessors(settings),
        deployment=deployment(settings),
    )
