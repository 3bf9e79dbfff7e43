"""The bot's outbound identity as a user-assigned managed identity (Azure Bot's "User-Assigned
Managed Identity" app type, one of the two kinds Azure Bot Service creates since 31 July 2025).

The Agents SDK does the same in its msal configuration (`AuthTypes.user_managed_identity`:
`msal.ManagedIdentityClient(UserAssignedManagedIdentity(client_id=CLIENT_ID))`, token for the
resource rather than a scope). The bot's app id *is* the identity's client id. msal finds the
token endpoint the host provides (App Service / Functions `IDENTITY_ENDPOINT`, a VM's IMDS, ...);
no secret or certificate exists anywhere. Calls run off the event loop (msal is synchronous).
"""

from __future__ import annotations

import asyncio

import requests
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AnonymousTokenProvider,
)

from bot.config import BotConfig
from entra.msal_clients import managed_identity_client

BOT_FRAMEWORK_RESOURCE = "https://api.botframework.com"


class ManagedIdentityError(Exception):
    pass


class ManagedIdentityTokenProvider(AnonymousTokenProvider):
    def __init__(self, config: BotConfig) -> None:
        if not config.app_id:
            raise ValueError(
                "JUNO_BOT_APP_ID must be the managed identity's client id "
                "(JUNO_BOT_AUTH_TYPE=user_managed_identity)"
            )
        self._client = managed_identity_client(config.app_id)
        self._auth_config = AgentAuthConfiguration(
            client_id=config.app_id, tenant_id=config.tenant_id
        )

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._auth_config

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        try:
            result = await asyncio.to_thread(
                self._client.acquire_token_for_client, resource=BOT_FRAMEWORK_RESOURCE
            )
        except (requests.RequestException, ValueError) as exc:
            raise ManagedIdentityError(
                f"cannot reach the managed identity endpoint: {type(exc).__name__}"
            ) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "unknown") if isinstance(result, dict) else "unknown"
            raise ManagedIdentityError(f"no Bot Connector token from the managed identity: {error}")
        return str(token)
