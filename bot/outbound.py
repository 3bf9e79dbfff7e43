"""The bot's own calls to the Bot Connector (replies, proactive messages): their tokens and the
HTTP session they travel on.

One msal confidential client for the bot identity (entra.msal_clients, as Graph sync's), token
cache in it, calls off the event loop. The authority host is configurable for national clouds;
authority discovery is not attempted because the host is operator configuration, not user
input. In dev mode with no app id the
SDK's anonymous provider is used (the local `juno chat` connector accepts anonymous calls).

Every connector client gets an aiohttp session carrying the pacing and retry middleware of
`bot/throttle.py`; the adapter's client factory is the SDK's own seam for that.
"""

from __future__ import annotations

import asyncio
import functools
import time
import weakref
from typing import Any

import aiohttp
import msal
from microsoft_agents.activity import Activity, RoleTypes
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    OutboundHostValidator,
    RestChannelServiceClientFactory,
    TurnContext,
    UserTokenClient,
)
from microsoft_agents.hosting.core.authorization import (
    AccessTokenProviderBase,
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ClaimsIdentity,
)
from microsoft_agents.hosting.core.connector import ConnectorClientBase
from microsoft_agents.hosting.core.connector.client import connector_client as _sdk_connector_client
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from bot.config import BOT_FRAMEWORK_SCOPE, BotConfig
from bot.managed_identity import ManagedIdentityTokenProvider
from bot.throttle import ConnectorPacer
from entra.msal_clients import Credential, certificate_credential, confidential_client

# The SDK builds a connector client per turn, and each one computes its User-Agent by reading
# the package's metadata from disk (importlib.metadata scans sys.path: 6.5% of the bot's CPU
# under bench/load.py). The value cannot change while the process runs, so the SDK module's
# lookup is memoized; the header is the SDK's own, unchanged (tests/unit/bot/test_outbound.py).
_PRODUCT_INFO = "get_product_info"
setattr(
    _sdk_connector_client,
    _PRODUCT_INFO,
    functools.cache(getattr(_sdk_connector_client, _PRODUCT_INFO)),
)


class OutboundTokenError(Exception):
    pass


_TOKEN_ATTEMPTS = (0.0, 0.5, 2.0)  # delays before each try: a blip costs a reply seconds
_PROBE_EVERY = 10.0
# A token is handed out from memory until this long before it expires; msal itself renews
# about five minutes early, so past this point the next call goes to msal again.
_TOKEN_MARGIN = 300.0


class _UnusedUserTokenClient(UserTokenClient):
    """The user-token client the SDK puts in every turn for OAuth sign-in, which JUNO never
    does (it has no OAuth connection; identity is the Teams token's). In a pooled host one
    client without a token serves every turn and is closed with the factory, instead of the
    SDK's fetching a bot token and building a client with its own HTTP session per turn (~0.2 ms
    of the bot's CPU per activity, profiled under bench/load.py). Were it ever used, the token
    service would refuse it (it carries no token): it cannot act for anyone."""

    async def close(self) -> None:  # the SDK closes it at the end of each turn: keep it
        return None

    async def dispose(self) -> None:
        await super().close()


class BotTokenProvider(AnonymousTokenProvider):
    """Client-credentials tokens for the bot's app id (inherits the SDK provider's other
    no-op flows, which JUNO does not use).

    The msal client is built on first use, not at start-up: msal reads the authority's OpenID
    metadata when it is built, and a service that needs Entra to start crash-loops every
    replica through a DNS blip. Credentials are read at start-up, so a missing or unreadable
    secret or certificate still fails fast. A failed token is tried again twice (a reply is
    then late, not lost), and `problem()` tells /readyz what is missing meanwhile.
    """

    def __init__(self, config: BotConfig) -> None:
        if not config.app_id:
            raise ValueError("an app id is required for outbound tokens")
        credential: Credential
        if config.cert_path:
            credential = certificate_credential(config.cert_path)
        elif config.app_secret:
            credential = config.app_secret
        else:
            raise ValueError("JUNO_BOT_APP_SECRET or JUNO_BOT_CERT_PATH is required")
        tenant = config.tenant_id or "botframework.com"
        self._app_id: str = config.app_id
        self._credential = credential
        self._authority = f"{config.authority_host.rstrip('/')}/{tenant}"
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = asyncio.Lock()
        self.last_error: str | None = None
        self._probed_at = 0.0
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)
        self._auth_config = AgentAuthConfiguration(
            client_id=config.app_id, tenant_id=config.tenant_id
        )

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._auth_config

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        """The token for every reply; from memory while it has more than five minutes left
        (the msal call behind it runs in a thread: a hop per reply otherwise)."""
        held = self._token
        if held is not None and not force_refresh and held[1] - time.monotonic() > _TOKEN_MARGIN:
            return held[0]
        error = "unknown"
        for delay in _TOKEN_ATTEMPTS:
            if delay:
                await asyncio.sleep(delay)
            try:
                token = await asyncio.to_thread(self._acquire)
            except OutboundTokenError as exc:
                error = str(exc)
                if "invalid_client" in error or "unauthorized_client" in error:
                    break  # wrong credentials: trying again cannot help
                continue
            self.last_error = None
            return token
        self.last_error = error
        raise OutboundTokenError(f"cannot get a Bot Connector token: {error}")

    def _acquire(self) -> str:
        """One attempt, off the event loop: build the msal client if needed, get a token (from
        msal's cache while it is valid)."""
        try:
            if self._app is None:
                self._app = confidential_client(
                    self._app_id,
                    self._credential,
                    self._authority,
                    timeout=10,  # seconds a request: a black-holed authority must not hang
                )
            result = self._app.acquire_token_for_client(scopes=[BOT_FRAMEWORK_SCOPE])
        except Exception as exc:  # requests' and msal's own errors for an unreachable authority
            raise OutboundTokenError(f"authority unreachable ({type(exc).__name__})") from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            raise OutboundTokenError(
                str(result.get("error", "unknown")) if isinstance(result, dict) else "unknown"
            )
        try:
            lifetime = float(result.get("expires_in", 0))
        except (TypeError, ValueError):
            lifetime = 0.0
        self._token = (str(token), time.monotonic() + lifetime)
        return str(token)

    async def problem(self) -> str | None:
        """For /readyz: None once a token can be had, else what is missing. Tries at most every
        ten seconds, so probes do not hammer an authority that is down."""
        if self._lock.locked() or time.monotonic() - self._probed_at < _PROBE_EVERY:
            return self._describe()
        async with self._lock:
            self._probed_at = time.monotonic()
            try:
                await asyncio.to_thread(self._acquire)
                self.last_error = None
            except OutboundTokenError as exc:
                self.last_error = str(exc)
        return self._describe()

    def _describe(self) -> str | None:
        if self.last_error is None and self._app is not None:
            return None
        return f"bot outbound token ({self.last_error or 'not yet acquired'})"


class BotConnections:
    """The SDK's `Connections` for a single bot identity."""

    def __init__(self, config: BotConfig) -> None:
        self._provider: AccessTokenProviderBase
        if config.anonymous:
            self._provider = AnonymousTokenProvider()
        elif config.auth_type == "user_managed_identity":  # bot/managed_identity.py
            self._provider = ManagedIdentityTokenProvider(config)
        else:
            self._provider = BotTokenProvider(config)

    async def problem(self) -> str | None:
        """What /readyz should report about outbound identity (None in dev mode)."""
        if isinstance(self._provider, BotTokenProvider):
            return await self._provider.problem()
        return None

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


class PacedClientFactory(RestChannelServiceClientFactory):
    """The SDK's client factory, except that Teams connector clients share one `ConnectorPacer`
    (rate limits, retries) through their aiohttp session. Agentic and Copilot Studio requests,
    which JUNO does not serve, keep the SDK's unpaced clients."""

    def __init__(
        self, connections: BotConnections, pacer: ConnectorPacer, *, pooled: bool = False
    ) -> None:
        super().__init__(connections)
        self._connections = connections
        self.pacer = pacer
        self._pooled = pooled
        self._pool: aiohttp.TCPConnector | None = None
        self._user_tokens: _UnusedUserTokenClient | None = None

    async def create_user_token_client(
        self,
        context: TurnContext,
        claims_identity: ClaimsIdentity,
        use_anonymous: bool = False,
    ) -> UserTokenClient:
        if context.activity.is_agentic_request():
            return await super().create_user_token_client(context, claims_identity, use_anonymous)
        app_id = claims_identity.get_app_id() or "juno"
        if not self._pooled:  # a host that never closes the factory: one per turn, tokenless
            return UserTokenClient(app_id=app_id, endpoint=self._token_service_endpoint, token="")
        if self._user_tokens is None:
            self._user_tokens = _UnusedUserTokenClient(
                app_id=app_id, endpoint=self._token_service_endpoint, token=""
            )
        return self._user_tokens

    def _connector(self) -> aiohttp.TCPConnector | None:
        """With `pooled`, one connection pool for every turn's client: the SDK builds and closes
        a client per turn, and without a shared pool each reply opened and closed a TCP (and
        TLS) connection to the connector (~1 ms of the bot's CPU per activity, profiled). Only
        a host that closes the adapter at shutdown (`close_adapter`) pools."""
        if not self._pooled:
            return None
        if self._pool is None or self._pool.closed:
            self._pool = aiohttp.TCPConnector(limit=32, keepalive_timeout=15)
        return self._pool

    async def close(self) -> None:
        if self._user_tokens is not None:
            await self._user_tokens.dispose()
            self._user_tokens = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        activity = context.activity if context else None
        if not service_url or (
            activity is not None
            and (
                activity.is_agentic_request()
                or (activity.recipient and activity.recipient.role == RoleTypes.connector_user)
            )
        ):
            return await super().create_connector_client(
                context, claims_identity, service_url, audience, scopes, use_anonymous
            )
        provider = (
            self._ANONYMOUS_TOKEN_PROVIDER
            if use_anonymous
            else self._connections.get_token_provider(claims_identity, service_url)
        )
        token = await provider.get_access_token(
            audience, scopes or claims_identity.get_token_scope()
        )
        tenant = ""
        if activity is not None and activity.conversation and activity.conversation.tenant_id:
            tenant = str(activity.conversation.tenant_id).lower()
        endpoint = service_url if service_url.endswith("/") else f"{service_url}/"
        pool = self._connector()
        session = aiohttp.ClientSession(
            base_url=endpoint,
            middlewares=(self.pacer.middleware(tenant),),
            connector=pool,
            connector_owner=pool is None,
        )
        return TeamsConnectorClient(endpoint=endpoint, token=token, session=session)


_factories: weakref.WeakKeyDictionary[CloudAdapter, PacedClientFactory] = (
    weakref.WeakKeyDictionary()
)


async def close_adapter(adapter: CloudAdapter) -> None:
    """Close the connection pool an adapter's replies share (at shutdown)."""
    factory = _factories.get(adapter)
    if factory is not None:
        await factory.close()


def connector_adapter(
    config: BotConfig,
    log: Any,
    *,
    pacer: ConnectorPacer | None = None,
    connections: BotConnections | None = None,
    pooled: bool = False,
) -> CloudAdapter:
    """The CloudAdapter for replies and proactive messages, paced by Teams' limits unless the
    caller brings its own pacer. Hosts that answer users install their own `on_turn_error`."""
    factory = PacedClientFactory(
        connections or BotConnections(config), pacer or ConnectorPacer(log), pooled=pooled
    )
    adapter = CloudAdapter(
        channel_service_client_factory=factory,
        host_validator=OutboundHostValidator(enabled=config.validate_service_url),
    )
    _factories[adapter] = factory
    # The SDK's default handler prints a traceback and sends the exception text to the user;
    # without one, a failed proactive turn reaches its caller (`Notifier` logs it politely).
    adapter.on_turn_error = None
    return adapter
