"""The deployment model JUNO follows (docs/install.md), as the code checks it.

Two registrations, both ours:
- the **bot identity**, in our own tenant: a single-tenant app registration (client secret or
  certificate) or a user-assigned managed identity. Since 31 July 2025 Azure Bot Service
  creates no other kind. It needs no Microsoft Graph permission: it only authenticates to the
  Bot Connector (inbound tokens are issued to it, outbound ones obtained by it);
- the **directory app**, multi-tenant, holding one Microsoft Graph *application* permission,
  `User.Read.All`, which each customer's admin grants by admin consent
  (`juno tenant consent-url`). It reads `/users/delta` and owns the `/users` change
  subscriptions. A certificate is the preferred credential.
"""

from __future__ import annotations

from typing import Literal

from juno.settings import Settings

BotAuth = Literal["client_secret", "certificate", "user_managed_identity"]
DIRECTORY_PERMISSION = "User.Read.All"  # application permission on Microsoft Graph


def bot_auth_kind(settings: Settings) -> BotAuth:
    if settings.bot_auth_type:
        return settings.bot_auth_type
    return "certificate" if settings.bot_cert_path else "client_secret"


def bot_identity_problem(settings: Settings) -> str | None:
    """One readable line when the bot identity settings do not make one identity."""
    if not settings.bot_app_id:
        return None
    kind = bot_auth_kind(settings)
    if kind == "user_managed_identity":
        if settings.bot_app_secret or settings.bot_cert_path:
            return (
                "JUNO_BOT_AUTH_TYPE=user_managed_identity uses no JUNO_BOT_APP_SECRET or "
                "JUNO_BOT_CERT_PATH: unset them (JUNO_BOT_APP_ID is the identity's client id)"
            )
        return None
    if kind == "certificate" and not settings.bot_cert_path:
        return "JUNO_BOT_AUTH_TYPE=certificate needs JUNO_BOT_CERT_PATH (PEM: key and certificate)"
    if kind == "client_secret" and not settings.bot_app_secret:
        return (
            "the bot identity needs JUNO_BOT_APP_SECRET, JUNO_BOT_CERT_PATH, or "
            "JUNO_BOT_AUTH_TYPE=user_managed_identity"
        )
    return None


# The settings docs/install.md walks the operator through (tests/unit/juno/test_deployment.py
# holds the page to them, and to naming no setting that does not exist).
INSTALL_SETTINGS: tuple[str, ...] = (
    "JUNO_PUBLIC_BASE_URL",
    "JUNO_HOST",
    "JUNO_PORT",
    "MONGODB_URI",
    "JUNO_PSEUDONYM_KEY",
    "JUNO_SIGNING_KEY",
    "JUNO_GRAPH_APP_ID",
    "JUNO_GRAPH_CERT_PATH",
    "JUNO_GRAPH_CLIENT_SECRET_ENV",
    "JUNO_GRAPH_NOTIFICATIONS",
    "JUNO_BOT_APP_ID",
    "JUNO_BOT_TENANT_ID",
    "JUNO_BOT_AUTH_TYPE",
    "JUNO_BOT_APP_SECRET",
    "JUNO_BOT_CERT_PATH",
    "JUNO_BOT_DEV_MODE",
    "JUNO_API_AUDIENCE",
)
