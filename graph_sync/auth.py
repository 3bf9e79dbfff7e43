"""App-only access tokens for Microsoft Graph, per tenant, with msal.

One `ConfidentialClientApplication` per tenant, kept for the life of the process so its
in-memory token cache serves every request until the token nears expiry. msal is synchronous
(requests), and even its constructor talks to the authority (OpenID discovery), so every msal
call runs in a worker thread, never on the event loop.

Credentials are referenced by the tenant record, never stored: the *name* of an environment
variable holding the client secret, or the path of a PEM file with the certificate and its
private key. A rotated secret (the variable changed) or certificate (the file changed) rebuilds
the application on the next token request.

Failures become one `TokenError` line per tenant: which credential, what Entra said (its first
line, without trace ids), and what to do about it. The secret itself never appears.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator

from entra.msal_clients import (
    Credential,
    CredentialError,
    certificate_credential,
    confidential_client,
    fingerprint,
)
from graph_sync.errors import TokenError

_HINTS = {
    "invalid_client": "check the client secret or certificate registered for the app",
    "unauthorized_client": (
        "the app is not known in this tenant or lacks admin consent; have a tenant admin open "
        "`juno tenant consent-url`"
    ),
    "invalid_scope": "check JUNO_GRAPH_BASE_URL (the token is asked for its host)",
}
_CONSENT_CODES = ("AADSTS65001", "AADSTS700016", "AADSTS7000112")


@dataclass(frozen=True)
class AppCredentials:
    """What a tenant record says about its Graph app: ids and where the credential lives."""

    tenant_id: str
    client_id: str
    client_secret_env: str | None = None
    certificate_path: str | None = None


def graph_scope(graph_base_url: str) -> str:
    """`https://graph.microsoft.com/.default` for the cloud `graph_base_url` belongs to."""
    parts = urlsplit(graph_base_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:240]


def describe_token_failure(tenant_id: str, result: Mapping[str, Any]) -> str:
    error = str(result.get("error") or "unknown_error")
    description = _first_line(str(result.get("error_description") or ""))
    hint = _HINTS.get(error)
    if any(code in description for code in _CONSENT_CODES):
        hint = _HINTS["unauthorized_client"]
    text = f"tenant {tenant_id}: token request refused: {error}"
    if description:
        text += f" ({description})"
    if hint:
        text += f"; {hint}"
    return text


def load_credential(creds: AppCredentials, environ: Mapping[str, str]) -> Credential:
    """The msal `client_credential`: the secret's value, or the certificate's key and cert."""
    if creds.client_secret_env:
        value = environ.get(creds.client_secret_env)
        if not value:
            raise TokenError(
                f"tenant {creds.tenant_id}: environment variable {creds.client_secret_env} "
                "(the Graph client secret) is not set"
            )
        return value
    if creds.certificate_path:
        try:
            return certificate_credential(creds.certificate_path)
        except CredentialError as exc:
            raise TokenError(f"tenant {creds.tenant_id}: {exc}") from None
    raise TokenError(f"tenant {creds.tenant_id}: no client secret or certificate is configured")


class MsalTokenProvider(AccessTokenProvider):
    """kiota's token provider contract over one tenant's msal confidential client.

    Tokens go only to the Graph host the transport was built for, and only over HTTPS (plain
    HTTP is accepted for loopback, where a local Graph stand-in runs).
    """

    def __init__(
        self,
        creds: AppCredentials,
        *,
        authority_host: str,
        graph_base_url: str,
        environ: Mapping[str, str] | None = None,
        http_client: requests.Session | None = None,
        app_factory: Callable[..., msal.ConfidentialClientApplication] = (
            msal.ConfidentialClientApplication
        ),
    ) -> None:
        self.creds = creds
        self.authority = f"{authority_host.rstrip('/')}/{creds.tenant_id}"
        self.scope = graph_scope(graph_base_url)
        self._environ = environ if environ is not None else os.environ
        self._http_client = http_client
        self._app_factory = app_factory
        self._app: msal.ConfidentialClientApplication | None = None
        self._app_fingerprint: str | None = None
        self._lock = asyncio.Lock()
        host = urlsplit(graph_base_url).hostname or ""
        self._hosts = AllowedHostsValidator([host] if host else [])

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        parts = urlsplit(uri)
        if not self._hosts.is_url_host_valid(uri):
            return ""
        if parts.scheme != "https" and not is_loopback_host(parts.hostname):
            return ""
        claims = (additional_authentication_context or {}).get("claims")
        async with self._lock:
            return await asyncio.to_thread(self._acquire, claims)

    def _acquire(self, claims: str | None) -> str:
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope], claims_challenge=claims)
        except requests.RequestException as exc:
            raise TokenError(
                f"tenant {self.creds.tenant_id}: cannot reach the authority "
                f"{self.authority}: {type(exc).__name__}"
            ) from None
        except Exception as exc:  # e.g. a key the signer cannot use (EC instead of RSA, ...)
            raise TokenError(
                f"tenant {self.creds.tenant_id}: the credential could not be used: "
                f"{type(exc).__name__}: {_first_line(str(exc))}"
            ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            raise TokenError(describe_token_failure(self.creds.tenant_id, result or {}))
        token: str = result["access_token"]
        return token

    def _application(self) -> msal.ConfidentialClientApplication:
        credential = load_credential(self.creds, self._environ)
        digest = fingerprint(credential)
        if self._app is not None and digest == self._app_fingerprint:
            return self._app
        try:
            app = confidential_client(
                self.creds.client_id,
                credential,
                self.authority,
                factory=self._app_factory,
                http_client=self._http_client,
                token_cache=msal.TokenCache(),
            )
        except requests.RequestException as exc:
            raise TokenError(
                f"tenant {self.creds.tenant_id}: cannot reach the authority "
                f"{self.authority}: {type(exc).__name__}"
            ) from None
        except ValueError as exc:
            raise TokenError(
                f"tenant {self.creds.tenant_id}: the authority {self.authority} rejected the "
                f"tenant or the credential: {_first_line(str(exc))}"
            ) from None
        self._app = app
        self._app_fingerprint = digest
        return app
