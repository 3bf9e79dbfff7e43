"""Reading Graph pages as raw bytes through the msgraph-sdk request adapter.

The adapter brings the SDK's middleware (bearer auth through our msal token provider, the
RetryHandler for 429/503/504 honouring `Retry-After`, redirects, telemetry headers). We ask it
for `"bytes"` (`send_primitive_async`), so the body is handed back untouched and decoded by our
own msgspec structs; the SDK's model parsing is ~2-3 orders of magnitude slower on user pages
(docs/graph-sync.md). Error bodies, rare, still go through the SDK's `ODataError`.

What the SDK does not do, we add here: retrying connection resets, refused connections and
timeouts (raised as httpx transport errors, which no middleware sees), with bounded exponential
backoff. Throttling is bounded too: the RetryHandler gives up after `throttle_retries` and never
waits 180 s or more, so a 429 storm ends in a `ThrottledError`, not a hang.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from kiota_abstractions.api_client_builder import register_default_deserializer
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware.options import RetryHandlerOption
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory

from graph_sync.errors import GraphRequestError, ResyncRequired, ThrottledError

RESYNC_CODES = frozenset({"resyncrequired", "syncstatenotfound"})
THROTTLE_STATUSES = frozenset({429, 503, 504})
ERROR_MAP: dict[str, Any] = {"XXX": ODataError}
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before a page fails the round (the next run starts the round again)."""

    attempts: int = 5  # per page, for connection resets and timeouts
    base_delay: float = 1.0  # backoff for those: base * 2**n, with jitter, capped
    max_delay: float = 30.0
    throttle_retries: int = 6  # RetryHandler retries for 429/503/504 (the SDK allows 10)
    throttle_base_delay: float = 3.0  # added to the SDK's backoff when there is no Retry-After
    connect_timeout: float = 30.0
    read_timeout: float = 100.0


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return str(value) if value else None


def error_for(exc: APIError, retries: int) -> Exception:
    """Turn an SDK error into ours: resync, throttling, or one readable line."""
    status = exc.response_status_code
    code: str | None = None
    message: str | None = None
    if isinstance(exc, ODataError) and exc.error is not None:
        code = exc.error.code
        message = exc.error.message
    headers = exc.response_headers
    if status == 410 or (code or "").casefold() in RESYNC_CODES:
        return ResyncRequired(
            f"Graph asked for a full resync ({status} {code or 'Gone'})",
            location=_header(headers, "location"),
        )
    if status in THROTTLE_STATUSES:
        after = _header(headers, "retry-after")
        if after and after.isdigit() and int(after) >= RetryHandlerOption.MAX_DELAY:
            return ThrottledError(
                f"Graph answered {status} ({code or 'throttled'}) and asks to wait {after} s, "
                "longer than a run waits; the next run tries again",
                status=status,
                code=code,
            )
        wait = f"; Graph asks to wait {after} s" if after else ""
        return ThrottledError(
            f"Graph kept answering {status} ({code or 'throttled'}) after {retries} retries{wait}",
            status=status,
            code=code,
        )
    if status == 403:
        return GraphRequestError(
            f"Graph refused access (403 {code or 'Forbidden'}): the app needs the User.Read.All "
            "application permission with admin consent (`juno tenant consent-url`)",
            status=status,
            code=code,
        )
    if status == 401:
        return GraphRequestError(
            f"Graph rejected the access token (401 {code or 'Unauthorized'})",
            status=status,
            code=code,
        )
    detail = f": {message.strip().splitlines()[0][:200]}" if message and message.strip() else ""
    return GraphRequestError(
        f"Graph answered {status} {code or ''}{detail}".replace("  ", " ").strip(),
        status=status,
        code=code,
    )


class GraphTransport:
    """GET an absolute Graph URL and return the body bytes, or raise one of our errors."""

    def __init__(
        self,
        token_provider: AccessTokenProvider,
        *,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        # Error bodies are parsed by the SDK (ODataError), which needs the JSON parse node
        # registered, as GraphServiceClient does at construction.
        register_default_deserializer(JsonParseNodeFactory)
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.retry.read_timeout, connect=self.retry.connect_timeout),
            http2=True,
            verify=verify,
        )
        options: dict[str, Any] = {
            RetryHandlerOption.get_key(): RetryHandlerOption(
                delay=self.retry.throttle_base_delay, max_retries=self.retry.throttle_retries
            )
        }
        self._http = GraphClientFactory.create_with_default_middleware(
            client=client, options=options
        )
        self.adapter = BaseGraphRequestAdapter(
            BaseBearerTokenAuthenticationProvider(token_provider), http_client=self._http
        )

    async def get_bytes(self, url: str) -> bytes:
        return await self.send(Method.GET, url)

    async def send(self, method: Method, url: str, body: bytes | None = None) -> bytes:
        """One Graph request (JSON body when given); the body of the answer, b"" for a 204.
        A POST is not retried after a transport error: it may have taken effect (a created
        subscription), and the caller's next pass looks before it creates again."""
        policy = self.retry
        attempts = 1 if method is Method.POST else policy.attempts
        for attempt in range(1, attempts + 1):
            info = RequestInformation(method)
            info.url = url
            info.headers.try_add("Accept", "application/json")
            if body is not None:
                info.set_stream_content(body, "application/json")
            try:
                body = await self.adapter.send_primitive_async(info, "bytes", ERROR_MAP)
            except httpx.TransportError as exc:  # resets, refused, timeouts: no middleware sees
                if attempt == attempts:
                    raise GraphRequestError(
                        f"Graph could not be read after {attempt} attempts "
                        f"({type(exc).__name__}: {str(exc)[:120] or 'no detail'})"
                    ) from None
                delay = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
                await self._sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 (jitter)
                continue
            except APIError as exc:
                raise error_for(exc, policy.throttle_retries) from None
            return bytes(body or b"")
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._http.aclose()
