"""OpenID signing keys, cached: metadata per address, keys per JWKS address.

Both token checks use it (the bot's Bot Connector tokens, the API's Entra user tokens). Keys
are refreshed daily, or at most once a minute when a token names a key we do not know (Entra
and the Bot Framework roll keys); metadata is re-read daily. Only RSA keys with a `kid` are
kept; an entry that is not a usable key is skipped rather than failing the whole set.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import jwt

REFRESH_EVERY = 24 * 3600
MIN_REFRESH_GAP = 60


class KeysUnavailable(Exception):
    """The metadata or its keys could not be read now; the reason is never token data."""


@dataclass
class OpenIdMetadata:
    issuer: str | None
    jwks_uri: str
    fetched_at: float


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK]
    fetched_at: float


def _needs_refresh(keyset: _KeySet | None, kid: str) -> bool:
    if keyset is None:
        return True
    age = time.monotonic() - keyset.fetched_at
    return age > REFRESH_EVERY or (kid not in keyset.keys and age > MIN_REFRESH_GAP)


class _Fetch:
    """One HTTP session for the fetches of one lookup, opened only if something is fetched."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> _Fetch:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def json(self, url: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._session.get(url) as resp:
                resp.raise_for_status()
                data = json.loads(await resp.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise KeysUnavailable("signing keys unavailable") from exc
        if not isinstance(data, dict):
            raise KeysUnavailable("signing keys unavailable")
        return data


class SigningKeys:
    def __init__(self) -> None:
        self._metadata: dict[str, OpenIdMetadata] = {}
        self._keysets: dict[str, _KeySet] = {}
        self._lock = asyncio.Lock()

    def has_keys(self, metadata_url: str) -> bool:
        meta = self._metadata.get(metadata_url)
        keyset = self._keysets.get(meta.jwks_uri) if meta is not None else None
        return bool(keyset and keyset.keys)

    async def warm(self, metadata_url: str) -> None:
        """Fetch the metadata and its keys unless they are at hand (readiness probes)."""
        await self.key(metadata_url, "")

    async def key(self, metadata_url: str, kid: str) -> tuple[str | None, jwt.PyJWK | None]:
        """The issuer the metadata names and the key `kid`, or None for a key it does not
        have. Raises `KeysUnavailable` when what is needed cannot be fetched."""
        async with _Fetch() as fetch:
            meta = await self._metadata_at(metadata_url, fetch)
            keyset = self._keysets.get(meta.jwks_uri)
            if _needs_refresh(keyset, kid):
                async with self._lock:
                    keyset = self._keysets.get(meta.jwks_uri)  # another request may have done it
                    if _needs_refresh(keyset, kid):
                        keyset = await self._fetch_keys(meta.jwks_uri, fetch)
        return meta.issuer, keyset.keys.get(kid) if keyset is not None else None

    async def _metadata_at(self, url: str, fetch: _Fetch) -> OpenIdMetadata:
        found = self._metadata.get(url)
        if found and time.monotonic() - found.fetched_at < REFRESH_EVERY:
            return found
        data = await fetch.json(url)
        issuer = data.get("issuer")
        if not isinstance(data.get("jwks_uri"), str) or not isinstance(issuer, str | None):
            raise KeysUnavailable("signing keys unavailable")
        fresh = OpenIdMetadata(issuer, data["jwks_uri"], time.monotonic())
        self._metadata[url] = fresh
        return fresh

    async def _fetch_keys(self, jwks_uri: str, fetch: _Fetch) -> _KeySet:
        data = await fetch.json(jwks_uri)
        keys: dict[str, jwt.PyJWK] = {}
        for entry in data.get("keys") or ():
            if isinstance(entry, dict) and entry.get("kty") == "RSA" and entry.get("kid"):
                try:
                    keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256")
                except jwt.PyJWTError:
                    continue
        keyset = _KeySet(keys, time.monotonic())
        self._keysets[jwks_uri] = keyset
        return keyset
