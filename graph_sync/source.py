"""Where delta pages come from: Microsoft Graph, or (for the demo tenant) a bundled sample.

Either way the engine receives the raw bytes of a Graph-shaped page and decodes, maps and
writes them itself, so the demo exercises exactly the production pipeline.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from graph_sync.models import USER_SELECT
from graph_sync.transport import GraphTransport


class DeltaSource(Protocol):
    def initial_url(self) -> str:
        """The link that starts a full round."""
        ...

    def accepts(self, url: str) -> bool:
        """Whether a link a page handed us may be followed (same service, same origin)."""
        ...

    def restart_url(self, location: str | None) -> str:
        """Where a full round starts after a resync (Graph may name it in `Location`)."""
        ...

    async def fetch(self, url: str) -> bytes:
        """The body of one page; raises `ResyncRequired` when the delta state is gone."""
        ...

    async def aclose(self) -> None: ...


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def users_delta_url(graph_base_url: str) -> str:
    return f"{graph_base_url.rstrip('/')}/users/delta?$select={','.join(USER_SELECT)}"


class GraphDeltaSource:
    """`/users/delta` of one tenant. Links are only followed on the configured Graph origin,
    so a tampered or unexpected link can never receive the tenant's token."""

    def __init__(self, transport: GraphTransport, graph_base_url: str) -> None:
        self.transport = transport
        self.graph_base_url = graph_base_url.rstrip("/")

    def initial_url(self) -> str:
        return users_delta_url(self.graph_base_url)

    def accepts(self, url: str) -> bool:
        return same_origin(url, self.graph_base_url)

    def restart_url(self, location: str | None) -> str:
        """Graph's `Location` after a 410 is a fresh initial link. It is followed only when it
        keeps our `$select`; otherwise (or without one) our own initial link starts the round,
        because a round without `$select` would rewrite every profile from default fields."""
        if location and self.accepts(location):
            query = parse_qs(urlsplit(location).query)
            if query.get("$select", [""])[0].split(",") == list(USER_SELECT):
                return location
        return self.initial_url()

    async def fetch(self, url: str) -> bytes:
        return await self.transport.get_bytes(url)

    async def aclose(self) -> None:
        await self.transport.aclose()
