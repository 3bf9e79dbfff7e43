"""Throttling honesty: the bot's calls to the Bot Connector keep to Teams' rate limits and ride
out transient refusals. First through `juno serve` (a real turn, real JWT, the fake connector
answering scripted statuses), then the same client factory in-process against the same fake
connector, where a burst's arrival times can be measured."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest
import structlog
from microsoft_agents.activity import ConversationReference
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import MessageFactory, TurnContext
from structlog.testing import capture_logs

from bot.config import BotConfig
from bot.outbound import connector_adapter
from bot.throttle import (
    ConnectorPacer,
    ConnectorThrottled,
    RetryPolicy,
    SlidingWindowLimiter,
    Window,
)
from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET, Peers, statuses
from tests.support.bot_server import TENANT, BotServer, Chat, bot_server

__all__ = ["bot_server"]

LOG = structlog.get_logger("tests.throttle")
ERROR_TEXT = "Sorry, something went wrong on my side. Please try again in a moment."


# --- through `juno serve` --------------------------------------------------------------------


async def test_a_reply_refused_with_429_is_delivered_exactly_once(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    bot_server.peers.answer(chat.conversation, 429, retry_after="0")
    [reply] = await chat.send(1, text="help")
    assert reply["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    await chat.quiet()
    assert statuses(bot_server.peers, chat.conversation) == [429, 200]


async def test_412_502_503_504_are_retried(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    bot_server.peers.answer(chat.conversation, 412, 502, 503, 504, retry_after="0")
    await chat.send(1, text="help")
    await chat.quiet()
    assert statuses(bot_server.peers, chat.conversation) == [412, 502, 503, 504, 200]


async def test_a_400_is_not_retried_and_the_user_gets_the_polite_error(
    bot_server: BotServer,
) -> None:
    chat = Chat(bot_server)
    bot_server.peers.answer(chat.conversation, 400)
    status, _ = await chat.post(chat.activity(text="help"))
    assert status in (200, 202)
    [reply] = await bot_server.peers.wait_replies(chat.conversation, 1)
    assert reply["text"] == ERROR_TEXT
    assert statuses(bot_server.peers, chat.conversation) == [400, 200]


async def test_a_403_is_not_retried_and_the_bot_carries_on(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    bot_server.peers.answer(chat.conversation, 403, 403)
    status, body = await chat.post(chat.activity(text="help"))
    assert status in (200, 202) and "Traceback" not in str(body)
    await chat.quiet()
    # The reply and the polite error were each tried once; nothing reached the user.
    assert statuses(bot_server.peers, chat.conversation) == [403, 403]
    [reply] = await chat.send(1, text="help")
    assert reply["attachments"]
    # No traceback in the server's log either: the bot_server fixture checks that at the end.


async def test_attempts_are_bounded_in_a_turn(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    bot_server.peers.answer(chat.conversation, *[503] * 6, retry_after="0")
    status, _ = await chat.post(chat.activity(text="help"))
    assert status in (200, 202)
    [reply] = await bot_server.peers.wait_replies(chat.conversation, 1)
    # Five attempts for the reply, then the polite error gets the sixth 503 and its retry.
    assert reply["text"] == ERROR_TEXT
    assert statuses(bot_server.peers, chat.conversation) == [503] * 6 + [200]


# --- the same client factory in-process ------------------------------------------------------


@pytest.fixture(scope="module")
def peers() -> Iterator[Peers]:
    peers = Peers()
    peers.start()
    yield peers
    peers.stop()


@pytest.fixture
def config(peers: Peers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BotConfig:
    """The bot's real identity: outbound tokens come from the peers' HTTPS authority."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", peers.ca_file(str(tmp_path / "ca.pem")))
    return BotConfig(
        app_id=BOT_APP_ID,
        app_secret=BOT_SECRET,
        authority_host=peers.authority_host,
        validate_service_url=False,
    )


def reference(peers: Peers, conversation: str, tenant: str = TENANT) -> ConversationReference:
    return ConversationReference.model_validate(
        {
            "channelId": "msteams",
            "serviceUrl": peers.service_url,
            "conversation": {"id": conversation, "tenantId": tenant},
            "user": {"id": f"29:{uuid.uuid4()}"},
            "bot": {"id": f"28:{BOT_APP_ID}"},
        }
    )


async def tell(adapter: CloudAdapter, ref: ConversationReference, *texts: str) -> None:
    """A proactive turn, as `Notifier.send` runs one."""

    async def compose(context: TurnContext) -> None:
        for text in texts:
            await context.send_activity(MessageFactory.text(text))

    await adapter.continue_conversation("", ref.get_continuation_activity(), compose)


def most_in_any(window: float, times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_a_burst_keeps_to_teams_limits_and_other_conversations_are_not_slowed(
    peers: Peers, config: BotConfig
) -> None:
    adapter = connector_adapter(config, LOG)  # Teams' own figures
    busy, other = f"a:{uuid.uuid4().hex}", f"a:{uuid.uuid4().hex}"
    started = time.monotonic()
    burst = [tell(adapter, reference(peers, busy), f"n{i}") for i in range(20)]
    side = [tell(adapter, reference(peers, other), f"o{i}") for i in range(3)]
    await asyncio.gather(*burst, *side)

    arrived = [t for t, status in peers.answered(busy) if status == 200]
    assert len(arrived) == 20 and len(peers.take(busy)) == 20
    assert most_in_any(1.0, arrived) <= 7
    assert most_in_any(2.0, arrived) <= 8
    # 20 messages at 8 per 2 s cannot arrive in under 4 s: we waited rather than got 429s.
    assert max(arrived) - started >= 4.0
    side_arrivals = [t for t, _ in peers.answered(other)]
    assert len(side_arrivals) == 3 and max(side_arrivals) - started < 1.0


async def test_retries_back_off_with_jitter_and_are_bounded(
    peers: Peers, config: BotConfig
) -> None:
    policy = RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0, budget=10)
    adapter = connector_adapter(config, LOG, pacer=ConnectorPacer(LOG, policy=policy))
    conversation = f"a:{uuid.uuid4().hex}"
    peers.answer(conversation, *[502] * 5)
    with pytest.raises(aiohttp.ClientResponseError) as refused:
        await tell(adapter, reference(peers, conversation), "hello")
    assert refused.value.status == 502
    times = [t for t, _ in peers.answered(conversation)]
    assert len(times) == 3  # attempts, not the five 502s on offer
    gaps = [b - a for a, b in pairwise(times)]
    assert 0.05 <= gaps[0] < 0.3 and 0.1 <= gaps[1] < 0.5  # 0.1 then 0.2, half of it random


async def test_a_retry_after_beyond_the_time_budget_is_not_waited_for(
    peers: Peers, config: BotConfig
) -> None:
    policy = RetryPolicy(budget=1.0)
    adapter = connector_adapter(config, LOG, pacer=ConnectorPacer(LOG, policy=policy))
    conversation = f"a:{uuid.uuid4().hex}"
    peers.answer(conversation, 429, retry_after="30")
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientResponseError) as refused:
        await tell(adapter, reference(peers, conversation), "hello")
    assert refused.value.status == 429
    assert time.monotonic() - started < 1.0
    assert statuses(peers, conversation) == [429]


async def test_pacing_never_waits_past_the_time_budget(peers: Peers, config: BotConfig) -> None:
    pacer = ConnectorPacer(LOG, thread_windows=(Window(60, 1),), policy=RetryPolicy(budget=0.5))
    adapter = connector_adapter(config, LOG, pacer=pacer)
    conversation = f"a:{uuid.uuid4().hex}"
    await tell(adapter, reference(peers, conversation), "first")
    started = time.monotonic()
    with pytest.raises(ConnectorThrottled):
        await tell(adapter, reference(peers, conversation), "second")
    assert time.monotonic() - started < 0.5
    assert statuses(peers, conversation) == [200]


async def test_retries_are_logged_without_text_or_secrets(peers: Peers, config: BotConfig) -> None:
    adapter = connector_adapter(config, LOG)
    conversation = f"a:{uuid.uuid4().hex}"
    peers.answer(conversation, 429, retry_after="0")
    with capture_logs() as logs:
        await tell(adapter, reference(peers, conversation), "a secret message text")
    [entry] = [e for e in logs if e["event"] == "connector call retried"]
    assert entry == {
        "event": "connector call retried",
        "log_level": "warning",
        "tenant": TENANT,
        "method": "POST",
        "status": 429,
        "attempt": 1,
        "retry_in": 0.0,
    }
    assert statuses(peers, conversation) == [429, 200]


def test_retry_after_may_be_an_http_date() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= policy.delay(1, later, rng) <= 10
    assert policy.delay(1, "2.5", rng) == 2.5
    assert policy.delay(1, "-3", rng) == 0.0
    assert 0.5 <= policy.delay(1, "soon", rng) <= 1.0  # unreadable: backoff instead
    assert 10 <= policy.delay(9, None, rng) <= 20  # capped at max_delay


async def test_idle_conversations_are_forgotten_and_memory_is_bounded() -> None:
    limiter = SlidingWindowLimiter((Window(0.05, 2),), max_keys=3)
    far = time.monotonic() + 5
    for i in range(10):
        async with limiter.slot(f"c{i}", far):
            pass
        assert len(limiter) <= 3
    await asyncio.sleep(0.06)
    async with limiter.slot("fresh", far):
        pass
    assert len(limiter) == 1


async def test_limiter_counts_requests_in_flight() -> None:
    limiter = SlidingWindowLimiter((Window(0.2, 2),))
    far = time.monotonic() + 5
    entered: list[float] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot("c", far):
            entered.append(time.monotonic())
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(3)]
    await asyncio.sleep(0.3)
    assert len(entered) == 2  # the third waits although the window itself has passed
    released = time.monotonic()
    release.set()
    await asyncio.gather(*tasks)
    # Counted from when the two answers came back, not from when they were sent.
    assert len(entered) == 3 and entered[2] - released >= 0.2
