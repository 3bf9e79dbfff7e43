"""Tokens for the bot's own calls to the Bot Connector (replies, proactive messages).

One msal confidential client for the bot identity, token cache in it, calls off the event loop.
The authority host is configurable for national clouds; authority discovery is not attempted
because the host is operator configuration, not user input. In dev mode with no app id the
SDK's anonymous provider is used (the local `juno chat` connector accepts anonymous calls).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msal
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core.authorization import (
    AccessTokenProviderBase,
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ClaimsIdentity,
)

from bot.config import BOT_FRAMEWORK_SCOPE, BotConfig


class OutboundTokenError(Exception):
    pass


class BotTokenProvider(AnonymousTokenProvider):
    """Client-credentials tokens for the bot's app id (inherits the SDK provider's other
    no-op flows, which JUNO does not use)."""

    def __init__(self, config: BotConfig) -> None:
        if not config.app_id:
            raise ValueError("an app id is required for outbound tokens")
        credential: Any
        if config.cert_path:
            pem = Path(config.cert_path).read_text("utf-8")
            credential = {"private_key": pem, "thumbprint": _thumbprint(pem)}
        elif config.app_secret:
            credential = config.app_secret
        else:
            raise ValueError("JUNO_BOT_APP_SECRET or JUNO_BOT_CERT_PATH is required")
        tenant = config.tenant_id or "botframework.com"
        self._config = config
        self._app = msal.ConfidentialClientApplication(
            config.app_id,
            client_credential=credential,
            authority=f"{config.authority_host.rstrip('/')}/{tenant}",
            instance_discovery=False,
        )
        self._auth_config = AgentAuthConfiguration(
            client_id=config.app_id, tenant_id=config.tenant_id
        )

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._auth_config

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        wanted = [BOT_FRAMEWORK_SCOPE]
        result = await asyncio.to_thread(self._app.acquire_token_for_client, scopes=wanted)
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "unknown") if isinstance(result, dict) else "unknown"
            raise OutboundTokenError(f"cannot get a Bot Connector token: {error}")
        return str(token)


def _thumbprint(pem: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - the format Entra expects


class BotConnections:
    """The SDK's `Connections` for a single bot identity."""

    def __init__(self, config: BotConfig) -> None:
        self._provider: AccessTokenProviderBase = (
            AnonymousTokenProvider() if config.anonymous else BotTokenProvider(config)
        )

    def get_connection(self, connection_name: str) -> AccessTokenProviderBase:
        return self._provider

    def get_default_connection(self) -> AccessTokenProviderBase:
        return self._provider

    def get_token_provider(
        self, claims_identity: ClaimsIdentity, service_url: str
    ) -> AccessTokenProviderBase:
        return self._provider

    def get_token_provider_from_activity(
        self, claims_identity: ClaimsIdentity, activity: Activity
    ) -> AccessTokenProviderBase:
        return self._provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self._provider.configuration
