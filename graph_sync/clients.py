"""`make_client` for the scheduler and `juno sync`: a delta source for a tenant record.

Token providers (each wrapping one msal application and its token cache) are kept per tenant
for the life of the process; transports are made per run and closed after it, so no idle
connections linger between runs that are usually 30 minutes apart.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

from graph_sync.auth import AppCredentials, MsalTokenProvider
from graph_sync.demo import DemoSource
from graph_sync.errors import TokenError
from graph_sync.source import DeltaSource, GraphDeltaSource
from graph_sync.subscriptions import GraphSubscriptionApi
from graph_sync.transport import GraphTransport, RetryPolicy
from storage.repositories import TenantRecord

DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


class GraphClients:
    def __init__(
        self,
        *,
        authority_host: str = DEFAULT_AUTHORITY_HOST,
        graph_base_url: str = DEFAULT_GRAPH_BASE_URL,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        environ: Mapping[str, str] | None = None,
        msal_http_client: requests.Session | None = None,
    ) -> None:
        self.authority_host = authority_host
        self.graph_base_url = graph_base_url
        self.retry = retry
        self.verify = verify
        self.environ = environ
        self.msal_http_client = msal_http_client
        self._providers: dict[str, tuple[AppCredentials, MsalTokenProvider]] = {}

    def token_provider(self, record: TenantRecord) -> MsalTokenProvider:
        if record.graph is None:
            raise TokenError(f"tenant {record.tenant_id}: no Graph credentials are configured")
        creds = AppCredentials(
            tenant_id=record.tenant_id,
            client_id=record.graph.client_id,
            client_secret_env=record.graph.client_secret_env,
            certificate_path=record.graph.certificate_path,
        )
        cached = self._providers.get(record.tenant_id)
        if cached is not None and cached[0] == creds:
            return cached[1]
        provider = MsalTokenProvider(
            creds,
            authority_host=self.authority_host,
            graph_base_url=self.graph_base_url,
            environ=self.environ,
            http_client=self.msal_http_client,
        )
        self._providers[record.tenant_id] = (creds, provider)
        return provider

    def __call__(self, record: TenantRecord) -> DeltaSource:
        if record.graph is None and record.demo:
            return DemoSource()
        transport = GraphTransport(
            self.token_provider(record), retry=self.retry, verify=self.verify
        )
        return GraphDeltaSource(transport, self.graph_base_url)

    def subscriptions(self, record: TenantRecord) -> GraphSubscriptionApi:
        """The tenant's `/subscriptions`, with the same token and transport as its sync."""
        transport = GraphTransport(
            self.token_provider(record), retry=self.retry, verify=self.verify
        )
        return GraphSubscriptionApi(transport, self.graph_base_url)
