"""Finding 14, the outbound half: the bot's msal client is built on first use (building it reads
the authority's metadata), a failed token is tried again, and /readyz's probe says what is
missing. Against the local HTTPS Entra stand-in, through the real msal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import BotConfig
from bot.outbound import BotTokenProvider, OutboundTokenError
from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET
from tests.support.graph_authority import App, FakeAuthority


@pytest.fixture
async def authority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeAuthority]:
    # The bot's tenant ("botframework.com") is unknown to it until a test adds it: discovery
    # answers 400, as Entra does for a tenant it cannot find.
    server = FakeAuthority(tenants=set(), apps={BOT_APP_ID: App(BOT_APP_ID, secret=BOT_SECRET)})
    await server.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.write_ca(tmp_path / "ca.pem")))
    yield server
    await server.stop()


def provider(authority: FakeAuthority) -> BotTokenProvider:
    return BotTokenProvider(
        BotConfig(app_id=BOT_APP_ID, app_secret=BOT_SECRET, authority_host=authority.base)
    )


async def test_a_reply_token_survives_an_authority_blip(authority: FakeAuthority) -> None:
    tokens = provider(authority)  # building it touches nothing
    assert authority.token_requests == 0
    missing = await tokens.problem()
    assert missing is not None and missing.startswith("bot outbound token")

    async def entra_comes_back() -> None:
        await asyncio.sleep(0.2)  # during the first retry's back-off
        authority.tenants.add("botframework.com")

    back = asyncio.create_task(entra_comes_back())
    token = await tokens.get_access_token("https://api.botframework.com", [])
    await back
    assert token in authority.issued
    assert await tokens.problem() is None


async def test_a_reply_token_is_reused_until_shortly_before_it_expires(
    authority: FakeAuthority,
) -> None:
    """Every reply needs the token: it comes from memory, not a thread hop into msal, while it
    has more than five minutes left; after that each reply asks again and gets a new one."""
    authority.tenants.add("botframework.com")
    tokens = provider(authority)
    first = await tokens.get_access_token("https://api.botframework.com", [])
    assert await tokens.get_access_token("https://api.botframework.com", []) == first
    assert authority.token_requests == 1
    authority.token_lifetime = 200  # under the margin: neither we nor msal keep it
    brief = provider(authority)
    short = await brief.get_access_token("https://api.botframework.com", [])
    assert await brief.get_access_token("https://api.botframework.com", []) != short
    assert authority.token_requests == 3


async def test_an_authority_that_stays_down_is_one_error_not_a_crash(
    authority: FakeAuthority,
) -> None:
    tokens = provider(authority)
    with pytest.raises(OutboundTokenError, match="cannot get a Bot Connector token"):
        await tokens.get_access_token("https://api.botframework.com", [])
    assert (await tokens.problem() or "").startswith("bot outbound token")


async def test_a_certificate_identity_gets_reply_tokens(
    authority: FakeAuthority, tmp_path: Path
) -> None:
    """The bot's certificate goes through the same loader as each tenant's Graph app
    (entra.msal_clients), so the stand-in checks its client assertion as it checks Graph's."""
    pem = authority.client_pem()
    authority.apps[BOT_APP_ID].certificate_pem = pem
    authority.tenants.add("botframework.com")
    path = tmp_path / "bot.pem"
    path.write_bytes(pem)
    tokens = BotTokenProvider(
        BotConfig(app_id=BOT_APP_ID, cert_path=str(path), authority_host=authority.base)
    )
    token = await tokens.get_access_token("https://api.botframework.com", [])
    assert token in authority.issued
    certificate_only = b"-----BEGIN CERTIFICATE-----" + pem.split(b"-----BEGIN CERTIFICATE-----")[1]
    path.write_bytes(certificate_only)
    with pytest.raises(ValueError, match="has no private key"):  # at start, a setup error
        BotTokenProvider(BotConfig(app_id=BOT_APP_ID, cert_path=str(path)))
