"""Graph change notifications over real HTTP: the routes of `juno serve` on a real port, the
fake Graph creating subscriptions (with its validation handshake against those routes),
renewing them and POSTing notifications to them, delta rounds through the real transport
and the real driver against the wire server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.lease import Holder
from graph_sync.notifications import DeltaTrigger
from graph_sync.runner import sync_tenant
from graph_sync.scheduler import Scheduler, is_due
from graph_sync.subscriptions import (
    LIFECYCLE_PATH,
    MAX_LIFETIME,
    NOTIFICATIONS_PATH,
    GraphSubscriptionApi,
    SubscriptionKeeper,
    SubscriptionStore,
    endpoint_urls,
    parse_graph_time,
)
from graph_sync.transport import GraphTransport
from juno.graph_web import NOTIFY, GraphNotifications, add_graph_routes
from storage.repositories import GraphCredentials, TenantRecord, TenantRegistry
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, populate
from tests.support.graph_helpers import (
    FAST,
    TENANT,
    Erasures,
    StaticTokenProvider,
    assert_converged,
    profiles,
    register,
    source_for,
)
from tests.support.processes import free_port

Db = AsyncDatabase[dict[str, Any]]
CREDS = GraphCredentials(client_id="0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11", client_secret_env="X")


@dataclass
class Rig:
    db: Db
    fake: FakeGraph
    scheduler: Scheduler
    trigger: DeltaTrigger
    keeper: SubscriptionKeeper
    base: str
    ids: list[str]
    erasures: Erasures

    async def post(
        self, path: str, body: Any = None, *, query: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.base}{path}", json=body, params=query) as resp,
        ):
            return resp.status, resp.content_type, await resp.text()

    async def record(self) -> TenantRecord:
        return await TenantRegistry(self.db).require(TENANT)

    async def doc(self) -> dict[str, Any]:
        return await SubscriptionStore(self.db, TENANT).load() or {}


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def rig(db: Db) -> AsyncIterator[Rig]:
    fake = FakeGraph(page_size=50)
    fake.tenant_id = TENANT
    await fake.start()
    ids = populate(fake.directory, 12)
    await register(db, TENANT, graph=CREDS)
    erasures = Erasures(db)
    scheduler = Scheduler(
        db, TenantRegistry(db), lambda _r: source_for(fake), erasures, tick=timedelta(hours=1)
    )
    trigger = DeltaTrigger(
        db,
        scheduler.run_now,
        scheduler.running_task,
        min_interval=timedelta(milliseconds=500),
        settle=timedelta(milliseconds=50),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    urls = endpoint_urls(base)
    assert urls == (f"{base}{NOTIFICATIONS_PATH}", f"{base}{LIFECYCLE_PATH}")

    def api(_record: TenantRecord) -> GraphSubscriptionApi:
        return GraphSubscriptionApi(GraphTransport(StaticTokenProvider(), retry=FAST), fake.base)

    keeper = SubscriptionKeeper(
        db, api, notification_url=urls[0], lifecycle_url=urls[1], catch_up=trigger.poke
    )
    app = web.Application()
    add_graph_routes(app)
    notify = GraphNotifications(db, trigger, keeper)
    app[NOTIFY] = notify
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await sync_tenant(db, TENANT, source_for(fake), erasures, holder=Holder.here("first"))
    try:
        yield Rig(db, fake, scheduler, trigger, keeper, base, ids, erasures)
    finally:
        await notify.stop()
        await scheduler.stop()
        await runner.cleanup()
        await fake.stop()


async def settled(rig: Rig) -> None:
    async def idle() -> bool:
        return not rig.trigger.pending

    await eventually(idle)


async def subscribed(rig: Rig) -> dict[str, Any]:
    assert await rig.keeper.maintain(await rig.record()) == "created"
    [sub] = rig.fake.subscriptions.values()
    return sub


async def test_validation_handshake_echoes_the_decoded_token_as_plain_text(rig: Rig) -> None:
    token = "Validation: Testing client application reachability for subscription <&> é"
    for path in (NOTIFICATIONS_PATH, LIFECYCLE_PATH):
        status, content_type, body = await rig.post(path, query={"validationToken": token})
        assert (status, content_type, body) == (200, "text/plain", token)
    status, _, body = await rig.post(NOTIFICATIONS_PATH, query={"validationToken": ""})
    assert status == 400 and "validationToken" in body
    status, _, body = await rig.post(NOTIFICATIONS_PATH, query={"validationToken": "x" * 3000})
    assert status == 400


async def test_subscription_is_created_through_graphs_handshake_and_keeps_only_a_hash(
    rig: Rig,
) -> None:
    sub = await subscribed(rig)
    assert sub["resource"] == "/users" and sub["changeType"] == "updated,deleted"
    assert sub["notificationUrl"] == f"{rig.base}{NOTIFICATIONS_PATH}"
    assert sub["lifecycleNotificationUrl"] == f"{rig.base}{LIFECYCLE_PATH}"
    expires = parse_graph_time(sub["expirationDateTime"])
    assert expires is not None and expires <= datetime.now(UTC) + MAX_LIFETIME
    assert expires > datetime.now(UTC) + MAX_LIFETIME - timedelta(hours=1)
    assert 16 <= len(sub["clientState"]) <= 128
    doc = await rig.doc()
    assert doc["status"] == "active" and doc["subscription_id"] == sub["id"]
    assert sub["clientState"] not in json.dumps(doc, default=str)  # stored hashed only
    assert await undeclared(rig.db) == []
    # A second pass has nothing to do.
    assert await rig.keeper.maintain(await rig.record()) == "ok"
    assert rig.fake.subscription_calls.count("create") == 1


async def test_a_valid_notification_schedules_a_delta_round_a_forged_one_nothing(
    rig: Rig,
) -> None:
    await subscribed(rig)
    await settled(rig)  # the catch-up round of the new subscription is not this test's
    before = rig.fake.count("delta")
    rig.fake.directory.update(rig.ids[0], jobTitle="Forged Title")
    assert await rig.fake.notify(rig.ids[0], client_state="guessed-secret") == [403]
    await asyncio.sleep(1.0)
    assert rig.fake.count("delta") == before  # nothing ran
    assert (await rig.doc()).get("rejected") == 1

    rig.fake.directory.update(rig.ids[0], jobTitle="Baş Mühendis")
    sent = time.monotonic()
    assert await rig.fake.notify(rig.ids[0]) == [202]
    assert time.monotonic() - sent < 3  # Graph's limit: the round runs after the answer

    async def updated() -> bool:
        [p] = [p for p in await profiles(rig.db) if p["user_id"] == rig.ids[0]]
        return bool(p.get("job_title") == "Baş Mühendis")

    await eventually(updated)
    doc = await rig.doc()
    assert doc["notifications"] == 1 and isinstance(doc["last_notification_at"], datetime)


async def test_a_deletion_in_entra_starts_the_erasure_within_seconds(rig: Rig) -> None:
    await subscribed(rig)
    gone = rig.ids[6]
    rig.fake.directory.hard_delete(gone)
    started = time.monotonic()
    assert await rig.fake.notify(gone, change_type="deleted") == [202]

    async def erased() -> bool:
        return any(call[:2] == (TENANT, gone) and "deleted" in call[2]
                   for call in rig.erasures.calls)  # fmt: skip

    await eventually(erased)
    assert time.monotonic() - started < 10
    assert gone not in {p["user_id"] for p in await profiles(rig.db)}


async def test_duplicate_and_out_of_order_notifications_coalesce_and_converge(rig: Rig) -> None:
    await subscribed(rig)
    delta_before = rig.fake.count("delta") + rig.fake.count("initial")
    # Three changes, notified out of order and twice over, in quick succession.
    rig.fake.directory.update(rig.ids[1], jobTitle="Müdür Yardımcısı")
    rig.fake.directory.soft_delete(rig.ids[2])
    rig.fake.directory.update(rig.ids[3], department="İç Denetim")
    order = [rig.ids[3], rig.ids[1], rig.ids[3], rig.ids[2], rig.ids[1], rig.ids[2]]
    statuses = await asyncio.gather(*(rig.fake.notify(uid) for uid in order))
    assert all(s == [202] for s in statuses)

    async def converged() -> bool:
        try:
            await assert_converged(rig.db, rig.fake.directory)
        except AssertionError:
            return False
        return True

    await eventually(converged)
    await asyncio.sleep(1.2)  # any follow-up round would have started by now
    rounds = rig.fake.count("delta") + rig.fake.count("initial") - delta_before
    assert 1 <= rounds <= 3, rounds  # six notifications, not six rounds
    assert (await rig.doc())["notifications"] == 6


async def test_renewal_extends_before_expiry_and_recreates_what_graph_lost(rig: Rig) -> None:
    sub = await subscribed(rig)
    store = SubscriptionStore(rig.db, TENANT)
    soon = datetime.now(UTC) + timedelta(hours=5)
    await store.save({"expires_at": soon}, datetime.now(UTC))
    assert await rig.keeper.maintain(await rig.record()) == "renewed"
    assert rig.fake.subscription_calls.count("renew") == 1
    doc = await rig.doc()
    assert doc["expires_at"] > datetime.now(UTC) + MAX_LIFETIME - timedelta(hours=1)
    assert doc["subscription_id"] == sub["id"]

    # Graph deleted it (expired unseen): the renewal's 404 leads to a new one.
    rig.fake.subscriptions.clear()
    await store.save({"expires_at": soon}, datetime.now(UTC))
    assert await rig.keeper.maintain(await rig.record()) == "created"
    [again] = rig.fake.subscriptions.values()
    assert again["id"] != sub["id"] and (await rig.doc())["subscription_id"] == again["id"]


async def test_lifecycle_reauthorization_required_reauthorizes(rig: Rig) -> None:
    await subscribed(rig)
    assert await rig.fake.lifecycle("reauthorizationRequired") == [202]

    async def reauthorized() -> bool:
        doc = await rig.doc()
        return doc.get("status") == "active" and isinstance(doc.get("reauthorized_at"), datetime)

    await eventually(reauthorized)
    assert rig.fake.subscription_calls.count("reauthorize") == 1
    assert "renew" not in rig.fake.subscription_calls  # never both within 10 minutes
    assert (await rig.doc())["last_lifecycle_event"] == "reauthorizationRequired"


async def test_lifecycle_subscription_removed_recreates_then_catches_up(rig: Rig) -> None:
    old = await subscribed(rig)
    rig.fake.directory.update(rig.ids[4], jobTitle="Removed-window change")
    assert await rig.fake.lifecycle("subscriptionRemoved") == [202]

    async def recreated() -> bool:
        return len(rig.fake.subscriptions) == 1 and (await rig.doc()).get("status") == "active"

    await eventually(recreated)
    [new] = rig.fake.subscriptions.values()
    assert new["id"] != old["id"]

    async def caught_up() -> bool:
        [p] = [p for p in await profiles(rig.db) if p["user_id"] == rig.ids[4]]
        return bool(p.get("job_title") == "Removed-window change")

    await eventually(caught_up)
    # The old subscription's secret no longer opens anything.
    rig.fake.subscriptions[new["id"]]["clientState"] = old["clientState"]
    assert await rig.fake.notify(rig.ids[4]) == [403]


async def test_lifecycle_missed_runs_a_delta_round(rig: Rig) -> None:
    await subscribed(rig)
    await settled(rig)
    rig.fake.directory.update(rig.ids[5], jobTitle="Missed change")
    assert await rig.fake.lifecycle("missed") == [202]

    async def caught_up() -> bool:
        [p] = [p for p in await profiles(rig.db) if p["user_id"] == rig.ids[5]]
        return bool(p.get("job_title") == "Missed change")

    await eventually(caught_up)
    assert (await rig.doc())["last_lifecycle_event"] == "missed"
    # A forged lifecycle event is refused and changes nothing.
    assert await rig.fake.lifecycle("subscriptionRemoved", client_state="nope") == [403]
    await asyncio.sleep(0.5)
    assert (await rig.doc())["status"] == "active"


async def test_bad_bodies_get_a_reason_and_deleted_subscriptions_stay_deleted(rig: Rig) -> None:
    status, _, body = await rig.post(NOTIFICATIONS_PATH, {"value": "nope"})
    assert status == 400 and "change notification" in body
    status, _, body = await rig.post(NOTIFICATIONS_PATH, {"value": [{"tenantId": "x"}]})
    assert status == 403
    await subscribed(rig)
    assert await rig.keeper.delete(await rig.record()) is True
    assert rig.fake.subscriptions == {}
    assert await rig.keeper.maintain(await rig.record()) == "off"
    assert await rig.keeper.maintain(await rig.record(), renew=True) == "created"


async def test_routes_answer_404_when_notifications_are_off() -> None:
    app = web.Application()
    add_graph_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"http://127.0.0.1:{port}{NOTIFICATIONS_PATH}", json={"value": []}) as resp,
        ):
            assert resp.status == 404
            assert "not enabled" in (await resp.json())["error"]
    finally:
        await runner.cleanup()


def test_endpoint_urls_need_public_https() -> None:
    assert endpoint_urls(None) is None
    assert endpoint_urls("http://juno.example.com") is None
    assert endpoint_urls("https://juno.example.com/")[0] == (  # type: ignore[index]
        "https://juno.example.com/api/graph/notifications"
    )


def test_polling_interval_grows_while_notifications_are_healthy() -> None:
    record = TenantRecord(tenant_id=TENANT, name="C", sync_interval_minutes=30)
    now = datetime.now(UTC)
    ok = {"status": "ok", "finished_at": now - timedelta(minutes=45)}
    five = timedelta(minutes=5)
    assert is_due(record, ok, now, five)
    assert not is_due(record, ok, now, five, factor=4)
    assert is_due(record, {**ok, "finished_at": now - timedelta(hours=2)}, now, five, factor=4)


def _texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["body"] if b.get("type") == "TextBlock"]


async def test_admin_desk_shows_the_subscription_its_expiry_and_last_notification(
    rig: Rig,
) -> None:
    from bot.cards.admin import home_card
    from bot.flows.admin_home import read_desk
    from storage.repositories import TenantStore

    store = TenantStore(rig.db, TENANT)

    async def line(locale: str) -> tuple[str, dict[str, Any]]:
        facts = await read_desk(store, await rig.record())
        card = home_card(facts, locale, authority_host="https://x")
        [found] = [b for b in card["body"] if "otifications" in b.get("text", "")
                   or "bildirim" in b.get("text", "")]  # fmt: skip
        return found["text"], found

    text, _ = await line("en")
    assert (
        text
        == "Change notifications are off: JUNO reads changes from the directory every 30 minutes."
    )
    card = home_card(await read_desk(store, await rig.record()), "en", authority_host="https://x")
    app_line = (
        f"Directory access: JUNO's directory app (client id {CREDS.client_id}) with the "
        "Microsoft Graph application permission User.Read.All"
    )
    assert app_line in " ".join(_texts(card))
    await subscribed(rig)
    text, _ = await line("en")
    assert text.startswith("Change notifications are on: a change in Entra ID reaches JUNO")
    assert "last notification: none yet." in text
    assert await rig.fake.notify(rig.ids[0]) == [202]

    async def noted() -> bool:
        return "last notification: none yet" not in (await line("en"))[0]

    await eventually(noted)
    text, _ = await line("tr")
    assert text.startswith("Değişiklik bildirimleri açık: Entra ID'deki bir değişiklik")
    await SubscriptionStore(rig.db, TENANT).save(
        {"status": "failed", "last_error": "Graph answered 403"}, datetime.now(UTC)
    )
    text, block = await line("en")
    assert text.startswith("Change notifications are not working right now (failed)")
    assert text.endswith("Graph answered 403") and block["color"] == "Attention"


async def test_reauthorization_when_renewal_is_due_renews_once_and_lost_ones_are_recreated(
    rig: Rig,
) -> None:
    sub = await subscribed(rig)
    store = SubscriptionStore(rig.db, TENANT)
    await store.save({"expires_at": datetime.now(UTC) + timedelta(days=1)}, datetime.now(UTC))
    assert await rig.fake.lifecycle("reauthorizationRequired") == [202]

    async def renewed() -> bool:
        return "renew" in rig.fake.subscription_calls and (await rig.doc())["status"] == "active"

    await eventually(renewed)
    assert "reauthorize" not in rig.fake.subscription_calls  # one call does both
    assert isinstance((await rig.doc())["reauthorized_at"], datetime)

    # Graph lost it meanwhile: reauthorizing answers 404, so a new one is made.
    await store.note_lifecycle("reauthorizationRequired", datetime.now(UTC),
                               "reauthorization_required")  # fmt: skip
    rig.fake.subscriptions.clear()
    assert await rig.keeper.maintain(await rig.record()) == "created"
    assert (await rig.doc())["subscription_id"] not in (None, sub["id"])


async def test_a_refused_subscription_is_recorded_and_retried_later(rig: Rig) -> None:
    good = rig.keeper.notification_url
    rig.keeper.notification_url = f"{rig.base}/not-our-endpoint"  # the handshake fails
    outcome = await rig.keeper.maintain(await rig.record())
    assert outcome.startswith("failed: Graph answered 400")
    doc = await rig.doc()
    assert doc["status"] == "failed" and "validation" in doc["last_error"]
    assert doc["next_attempt_at"] > datetime.now(UTC)
    assert rig.fake.subscriptions == {}
    rig.keeper.notification_url = good
    assert await rig.keeper.maintain(await rig.record()) == "waiting"  # backs off
    assert await rig.keeper.maintain(await rig.record(), renew=True) == "created"


async def test_two_replicas_never_create_two_subscriptions(rig: Rig) -> None:
    other = SubscriptionKeeper(
        rig.db,
        rig.keeper.make_api,
        notification_url=rig.keeper.notification_url,
        lifecycle_url=rig.keeper.lifecycle_url,
        holder=Holder.here("replica-2"),
    )
    record = await rig.record()
    outcomes = await asyncio.gather(rig.keeper.maintain(record), other.maintain(record))
    assert sorted(outcomes) in (["busy", "created"], ["created", "ok"]), outcomes
    assert len(rig.fake.subscriptions) == 1
    assert rig.fake.subscription_calls.count("create") == 1


async def test_a_disabled_tenant_is_unsubscribed_and_resubscribed_when_enabled(rig: Rig) -> None:
    await subscribed(rig)
    await TenantRegistry(rig.db).update(TENANT, {"enabled": False})
    assert await rig.keeper.maintain_all() == {TENANT: "paused"}
    assert rig.fake.subscriptions == {} and (await rig.doc())["status"] == "paused"
    assert await rig.keeper.maintain_all() == {TENANT: "ok"}  # nothing more to do
    await TenantRegistry(rig.db).update(TENANT, {"enabled": True})
    assert await rig.keeper.maintain_all() == {TENANT: "created"}
    assert len(rig.fake.subscriptions) == 1


async def test_a_round_held_by_another_worker_is_waited_for_then_ours_runs(rig: Rig) -> None:
    from graph_sync.state import StateStore

    await subscribed(rig)
    await settled(rig)
    state = StateStore(rig.db, TENANT)
    other = {"lease_holder": "juno-serve@elsewhere:4242#beef",
             "lease_until": datetime.now(UTC) + timedelta(minutes=2)}  # fmt: skip
    await state.coll.put("graph", other)
    started = rig.trigger.rounds_started[TENANT]
    rig.fake.directory.update(rig.ids[7], jobTitle="After the other worker")
    assert await rig.fake.notify(rig.ids[7]) == [202]
    await asyncio.sleep(1.5)
    assert rig.trigger.pending and rig.trigger.rounds_started[TENANT] == started
    await state.coll.put("graph", {"lease_holder": None, "lease_until": None})  # it ended

    async def caught_up() -> bool:
        [p] = [p for p in await profiles(rig.db) if p["user_id"] == rig.ids[7]]
        return bool(p.get("job_title") == "After the other worker")

    await eventually(caught_up)
    assert rig.trigger.rounds_started[TENANT] == started + 1


async def test_one_tenants_secret_opens_nothing_for_another_tenant(rig: Rig) -> None:
    from graph_sync.subscriptions import client_state_hash

    sub = await subscribed(rig)
    other = "bbbbbbbb-2222-4333-8444-555555555555"
    await SubscriptionStore(rig.db, other).save(
        {"status": "active", "client_state_sha256": client_state_hash("other-secret")},
        datetime.now(UTC),
    )

    def item(tenant: str, secret: str) -> dict[str, Any]:
        return {"subscriptionId": sub["id"], "tenantId": tenant, "clientState": secret,
                "changeType": "updated", "resource": "Users/x"}  # fmt: skip

    status, _, _ = await rig.post(NOTIFICATIONS_PATH, {"value": [item(other, sub["clientState"])]})
    assert status == 403
    status, _, _ = await rig.post(NOTIFICATIONS_PATH, {"value": [item(TENANT, "other-secret")]})
    assert status == 403
    status, _, _ = await rig.post(NOTIFICATIONS_PATH, {"value": [item(other, "other-secret")]})
    assert status == 202
