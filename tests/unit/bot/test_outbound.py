"""The client factory's per-turn costs: JUNO signs nobody in, so the user-token client the SDK
asks for on every turn holds no token, and a pooled host shares one across turns."""

from __future__ import annotations

import importlib.metadata

import pytest
import structlog
from microsoft_agents.activity import Activity, ChannelAccount, ConversationAccount
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from microsoft_agents.hosting.core.connector import get_product_info
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from bot.config import BotConfig
from bot.outbound import BotConnections, PacedClientFactory, connector_adapter
from bot.throttle import ConnectorPacer

LOG = structlog.get_logger("tests.outbound")


def _turn() -> tuple[TurnContext, ClaimsIdentity]:
    config = BotConfig(app_id="", app_secret="", dev_mode=True)
    adapter = connector_adapter(config, LOG)
    activity = Activity(
        type="message",
        channel_id="msteams",
        service_url="https://smba.trafficmanager.net/emea/",
        from_property=ChannelAccount(id="29:user"),
        recipient=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:1", tenant_id="t1"),
    )
    identity = ClaimsIdentity({"aud": "app", "appid": "app"}, authentication_type="Bearer")
    return TurnContext(adapter, activity), identity


async def test_a_pooled_factory_shares_one_tokenless_user_token_client() -> None:
    context, identity = _turn()
    config = BotConfig(app_id="", app_secret="", dev_mode=True)
    factory = PacedClientFactory(BotConnections(config), ConnectorPacer(LOG), pooled=True)
    first = await factory.create_user_token_client(context, identity)
    await first.close()  # what the SDK does at the end of each turn
    second = await factory.create_user_token_client(context, identity)
    assert second is first and not first.client.closed
    assert "Authorization" not in first.client.headers  # it can act for no one
    await factory.close()
    assert first.client.closed


async def test_an_unpooled_factory_gives_each_turn_its_own_tokenless_client() -> None:
    context, identity = _turn()
    config = BotConfig(app_id="", app_secret="", dev_mode=True)
    factory = PacedClientFactory(BotConnections(config), ConnectorPacer(LOG))
    first = await factory.create_user_token_client(context, identity)
    second = await factory.create_user_token_client(context, identity)
    assert first is not second and "Authorization" not in first.client.headers
    await first.close()
    await second.close()
    assert first.client.closed and second.client.closed


async def test_connector_clients_carry_the_sdk_user_agent_without_rereading_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each turn's connector client used to read the package metadata from disk for its
    User-Agent; the value is the SDK's own and is computed once per process."""
    context, identity = _turn()
    config = BotConfig(app_id="", app_secret="", dev_mode=True)
    factory = PacedClientFactory(BotConnections(config), ConnectorPacer(LOG), pooled=True)
    service = "https://smba.trafficmanager.net/emea/"
    first = await factory.create_connector_client(context, identity, service, "aud")
    reads: list[str] = []
    real_version = importlib.metadata.version

    def counted(name: str) -> str:
        reads.append(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", counted)
    clients = [
        await factory.create_connector_client(context, identity, service, "aud") for _ in range(3)
    ]
    expected = get_product_info()  # the SDK's own function, unmemoized
    assert reads == ["microsoft-agents-connector"]  # only that call above read it
    for client in (first, *clients):
        assert isinstance(client, TeamsConnectorClient)
        assert client.client.headers["User-Agent"] == expected
        await client.close()
    await factory.close()
