"""A local stand-in for Microsoft Graph's `/users/delta`, speaking its real response shapes.

What it serves, per the Graph docs (delta-query-overview, delta-query-users, user-delta, errors):
- pages with absolute `@odata.nextLink` (`$skiptoken`) and a final `@odata.deltaLink`
  (`$deltatoken`); `$select` is honoured and encoded into the tokens, `manager` in `$select`
  yields `manager@delta` (`[{"@odata.type": "#microsoft.graph.user", "id": ...}]`, and an entry
  with `@removed` when the manager was taken away);
- properties never set are left out; removed users are `{"id", "@removed": {"reason": ...}}`
  with `changed` (soft-deleted, restorable) or `deleted` (permanently);
- expired delta state: `410 Gone` with a `Location` header holding a fresh initial link, and an
  OData error body with `resyncRequired` or `syncStateNotFound`;
- scripted faults: 429/503/504 with `Retry-After`, a connection reset in the middle of a page
  body, a stall (until released), and a bearer-token check answering 401 like Graph;
- `/subscriptions` (create with the `validationToken` handshake on both URLs, renew, delete,
  reauthorize, list; at most 41,760 minutes ahead) and `notify` / `lifecycle`, which POST
  changeNotificationCollections to the subscriber as Graph does (change-notifications docs).

Run alone (`python -m tests.support.fake_graph --users 100000`) it serves a generated
directory and a small control API, for bench/sync.py.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import msgspec
from aiohttp import web

FaultKind = Literal["429", "503", "504", "reset", "stall", "gone", "500", "403"]
RequestKind = Literal["initial", "next", "delta", "any"]

_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}
GIVEN = ("Ayşe", "İsmail", "Şule", "Çağla", "Ömer", "Gülşen", "Irmak", "Oliver", "Emma", "Ümit")
SURNAMES = ("Yılmaz", "Öztürk", "Işık", "Çelik", "Doğan", "Şahin", "Smith", "Jones", "Ağca")
DEPARTMENTS = ("Finans", "İnsan Kaynakları", "Engineering", "Sales", "Operasyon")
TITLES = ("Uzman", "Software Engineer", "Satış Temsilcisi", "Müdür", "Analyst")


def make_user(i: int, rng: random.Random | None = None) -> dict[str, Any]:
    """A deterministic Graph user (no manager; see `FakeDirectory.managers`)."""
    r = rng or random.Random(i)
    given, surname = r.choice(GIVEN), r.choice(SURNAMES)
    uid = str(uuid.UUID(int=(i + 1) * 0x9E3779B97F4A7C15 % (1 << 128), version=4))
    return {
        "id": uid,
        "givenName": given,
        "surname": surname,
        "displayName": f"{given} {surname}",
        "mail": f"user{i}@fake.example",
        "userPrincipalName": f"user{i}@fake.example",
        "jobTitle": r.choice(TITLES),
        "department": r.choice(DEPARTMENTS),
        "officeLocation": "İstanbul",
        "employeeId": f"E{100000 + i}",
        "employeeType": "Employee",
        "accountEnabled": True,
        "userType": "Member",
    }


@dataclass
class Fault:
    kind: FaultKind
    on: RequestKind = "any"
    times: int = 1
    skip: int = 0  # matching requests to let through first
    retry_after: int | None = None
    code: str | None = None  # for "gone": resyncRequired / syncStateNotFound
    status: int = 410  # for "gone"; Graph also answers 40X with syncStateNotFound


@dataclass
class Round:
    ids: list[str]
    select: tuple[str, ...]
    end_version: int


@dataclass
class FakeDirectory:
    """The directory as Graph holds it, with a change log so delta tokens can be answered."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    managers: dict[str, str | None] = field(default_factory=dict)
    soft_deleted: dict[str, dict[str, Any]] = field(default_factory=dict)
    hard_deleted: set[str] = field(default_factory=set)
    previous_manager: dict[str, str] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)
    version: int = 0
    # Encoded entries, so serving a page costs the fake little next to what is measured.
    encoded: dict[str, dict[tuple[str, ...], bytes]] = field(default_factory=dict)

    def _touch(self, uid: str) -> None:
        self.version += 1
        self.log.append((self.version, uid))
        self.encoded.pop(uid, None)

    def entry_bytes(self, uid: str, select: tuple[str, ...]) -> bytes:
        cached = self.encoded.setdefault(uid, {})
        if select not in cached:
            cached[select] = msgspec.json.encode(self.entry(uid, select))
        return cached[select]

    def add(self, user: dict[str, Any], manager: str | None = None) -> str:
        uid = str(user["id"])
        self.users[uid] = dict(user)
        self.managers[uid] = manager
        self._touch(uid)
        return uid

    def update(self, uid: str, **fields: Any) -> None:
        for key, value in fields.items():
            if value is None:
                self.users[uid].pop(key, None)
            else:
                self.users[uid][key] = value
        self._touch(uid)

    def set_manager(self, uid: str, manager: str | None) -> None:
        old = self.managers.get(uid)
        if old and old != manager:
            self.previous_manager[uid] = old
        self.managers[uid] = manager
        self._touch(uid)

    def soft_delete(self, uid: str) -> None:
        self.soft_deleted[uid] = self.users.pop(uid)
        self._touch(uid)

    def restore(self, uid: str) -> None:
        self.users[uid] = self.soft_deleted.pop(uid)
        self._touch(uid)

    def hard_delete(self, uid: str) -> None:
        self.users.pop(uid, None)
        self.soft_deleted.pop(uid, None)
        self.hard_deleted.add(uid)
        self._touch(uid)

    def changed_since(self, version: int) -> list[str]:
        last: dict[str, int] = {}
        for v, uid in self.log:
            if v > version:
                last.pop(uid, None)
                last[uid] = v
        return list(last)

    def entry(self, uid: str, select: tuple[str, ...]) -> dict[str, Any]:
        if uid in self.hard_deleted:
            return {"id": uid, "@removed": {"reason": "deleted"}}
        if uid in self.soft_deleted:
            return {"id": uid, "@removed": {"reason": "changed"}}
        user = self.users[uid]
        out = {k: user[k] for k in select if k in user and k != "manager"}
        out["id"] = uid
        if "manager" in select:
            manager = self.managers.get(uid)
            if manager:
                out["manager@delta"] = [{"@odata.type": "#microsoft.graph.user", "id": manager}]
            elif uid in self.previous_manager:
                out["manager@delta"] = [
                    {
                        "@odata.type": "#microsoft.graph.user",
                        "id": self.previous_manager[uid],
                        "@removed": {"reason": "deleted"},
                    }
                ]
        return out

    def expected_profiles(self) -> dict[str, dict[str, Any]]:
        """What a converged sync must hold: user id -> the fields we can compare directly."""
        expected: dict[str, dict[str, Any]] = {}
        for uid, user in self.users.items():
            expected[uid] = {
                "display_name": user.get("displayName"),
                "job_title": user.get("jobTitle"),
                "department": user.get("department"),
                "manager_id": self.managers.get(uid),
                "hidden": user.get("accountEnabled") is False or user.get("userType") == "Guest",
            }
        for uid in self.soft_deleted:
            expected[uid] = {"hidden": True}
        return expected


class FakeGraph:
    """The HTTP side. `base` is the Graph base URL to configure (ends in /v1.0)."""

    def __init__(
        self,
        directory: FakeDirectory | None = None,
        *,
        page_size: int = 999,
        token: str | None = "test-token",
        accept_tokens: set[str] | None = None,
    ) -> None:
        self.directory = directory or FakeDirectory()
        self.page_size = page_size
        self.tokens: set[str] = set(accept_tokens or ()) | ({token} if token else set())
        self.check_auth = bool(self.tokens)
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.pages_served = 0
        self.epoch = 0  # delta tokens of an older epoch are gone
        self.expire_code = "resyncRequired"
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()
        self._rounds: dict[int, Round] = {}
        self._round_ids = itertools.count(1)
        self._selects: dict[tuple[str, ...], int] = {}
        self._select_list: list[tuple[str, ...]] = []
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.tenant_id = "aaaaaaaa-1111-4222-8333-444444444444"
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.subscription_calls: list[str] = []  # "create", "renew", "reauthorize", ...

    # --- lifecycle -------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1.0/users/delta", self._delta)
        app.router.add_route("*", "/v1.0/subscriptions{tail:(/.*)?}", self._subscription)
        app.router.add_post("/_control/mutate", self._mutate)
        app.router.add_post("/_control/release", self._release)
        return app

    async def start(self, port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{bound}/v1.0"
        return self.base

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def expire_tokens(self, code: str = "resyncRequired") -> None:
        """Every delta token issued so far is gone (Graph's sync reset)."""
        self.epoch += 1
        self.expire_code = code

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.requests if k == kind)

    # --- tokens ------------------------------------------------------------------------
    def _select_id(self, select: tuple[str, ...]) -> int:
        if select not in self._selects:
            self._selects[select] = len(self._select_list)
            self._select_list.append(select)
        return self._selects[select]

    def _link(self, query: str) -> str:
        return f"{self.base}/users/delta?{query}"

    def initial_link(self, select: tuple[str, ...]) -> str:
        return self._link(f"$select={quote(','.join(select), safe=',')}&$deltatoken=")

    # --- handlers ----------------------------------------------------------------------
    def _graph_error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"request-id": str(uuid.uuid4()), "date": "2024-06-11T10:00:00"},
            }
        }
        return web.json_response(body, status=status, headers=headers)

    def _next_fault(self, kind: str) -> Fault | None:
        for fault in self.faults:
            if fault.on not in ("any", kind):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
            return fault
        return None

    async def _delta(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        kind = "next" if "$skiptoken" in q else "delta" if q.get("$deltatoken") else "initial"
        self.requests.append((kind, str(request.url)))
        if self.check_auth:
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                return self._graph_error(
                    401, "InvalidAuthenticationToken", "Access token validation failure."
                )
        fault = self._next_fault(kind)
        if fault is not None:
            early = await self._apply_fault(fault, request)
            if early is not None:
                return early
        if "$skiptoken" in q:
            round_text, _, offset = q["$skiptoken"].partition(".")
            rnd = self._rounds.get(int(round_text))
            if rnd is None:
                return self._graph_error(400, "BadRequest", "Invalid skip token.")
            return await self._page(request, int(round_text), rnd, int(offset), fault)
        token = q.get("$deltatoken", "")
        if token:
            version_text, select_text, epoch_text = token.split(".")
            version = int(version_text)
            select = self._select_list[int(select_text)]
            if int(epoch_text) < self.epoch:
                return self._graph_error(
                    410,
                    self.expire_code,
                    "The delta token is no longer valid, and the app must reset the sync state.",
                    headers={"Location": self.initial_link(select)},
                )
            ids = self.directory.changed_since(version)
        else:
            select = tuple(q.get("$select", "id").split(","))
            ids = list(self.directory.users)
        rnd = Round(ids=ids, select=select, end_version=self.directory.version)
        round_id = next(self._round_ids)
        self._rounds[round_id] = rnd
        return await self._page(request, round_id, rnd, 0, fault)

    async def _apply_fault(self, fault: Fault, request: web.Request) -> web.StreamResponse | None:
        if fault.kind in ("429", "503", "504"):
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            codes = {
                "429": "TooManyRequests",
                "503": "serviceNotAvailable",
                "504": "GatewayTimeout",
            }
            return self._graph_error(int(fault.kind), codes[fault.kind], "Try later.", headers)
        if fault.kind == "500":
            return self._graph_error(500, "generalException", "An unspecified error occurred.")
        if fault.kind == "403":
            return self._graph_error(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the op."
            )
        if fault.kind == "gone":
            token = request.query.get("$deltatoken", "")
            select = (
                self._select_list[int(token.split(".")[1])]
                if token
                else tuple(request.query.get("$select", "id").split(","))
            )
            return self._graph_error(
                fault.status,
                fault.code or "resyncRequired",
                "Resync is required.",
                headers={"Location": self.initial_link(select)},
            )
        if fault.kind == "stall":
            self.stalled.set()
            await self.release.wait()
        return None  # "reset" happens while the page body is written

    async def _page(
        self,
        request: web.Request,
        round_id: int,
        rnd: Round,
        offset: int,
        fault: Fault | None,
    ) -> web.StreamResponse:
        end = offset + self.page_size
        value = b",".join(
            self.directory.entry_bytes(uid, rnd.select) for uid in rnd.ids[offset:end]
        )
        body: dict[str, Any] = {
            "@odata.context": f"{self.base}/$metadata#users({','.join(rnd.select)})"
        }
        if end < len(rnd.ids):
            body["@odata.nextLink"] = self._link(f"$skiptoken={round_id}.{end}")
        else:
            sid = self._select_id(rnd.select)
            token = f"{rnd.end_version}.{sid}.{self.epoch}"
            body["@odata.deltaLink"] = self._link(f"$deltatoken={token}")
        payload = msgspec.json.encode(body)[:-1] + b',"value":[' + value + b"]}"
        if fault is not None and fault.kind == "reset":
            response = web.StreamResponse(status=200)
            response.content_type = "application/json"
            response.content_length = len(payload)
            await response.prepare(request)
            await response.write(payload[: len(payload) // 2])
            transport = request.transport
            if transport is not None:
                transport.abort()
            return response
        self.pages_served += 1
        return web.Response(body=payload, content_type="application/json")

    # --- change notifications ------------------------------------------------------------
    async def _handshake(self, url: str) -> bool:
        """Graph's validation request: the URL-decoded token back, text/plain, within 10 s."""
        token = f"Validation: Testing client application reachability {secrets.token_hex(4)}"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
                http.post(url, params={"validationToken": token}, data=b"", headers=_PLAIN) as resp,
            ):
                body = await resp.text()
                return (resp.status, resp.content_type, body) == (200, "text/plain", token)
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _subscription(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if self.check_auth and (not auth.startswith("Bearer ") or auth[7:] not in self.tokens):
            return self._graph_error(401, "InvalidAuthenticationToken", "Access token failure.")
        tail = request.match_info["tail"].strip("/").split("/")
        sub_id, action = tail[0], tail[1] if len(tail) > 1 else ""
        verbs = {"POST": "create", "GET": "list", "PATCH": "renew", "DELETE": "delete"}
        self.subscription_calls.append(action or verbs.get(request.method, request.method))
        if request.method == "GET" and not sub_id:
            return web.json_response({"value": list(self.subscriptions.values())})
        body = await request.json() if request.can_read_body and action != "reauthorize" else {}
        if "expirationDateTime" in body:
            expires = datetime.fromisoformat(body["expirationDateTime"].replace("Z", "+00:00"))
            if expires > datetime.now(UTC) + timedelta(minutes=41_760):
                return self._graph_error(
                    400, "InvalidRequest", "Subscription expiration can only be 41760 minutes."
                )
        if request.method == "POST" and not sub_id:
            for url in (body["notificationUrl"], body["lifecycleNotificationUrl"]):
                if not await self._handshake(url):
                    return self._graph_error(
                        400, "InvalidRequest", "Subscription validation request failed."
                    )
            sub = {**body, "id": str(uuid.uuid4()), "tenantId": self.tenant_id}
            self.subscriptions[sub["id"]] = sub
            return web.json_response(sub, status=201)
        if sub_id not in self.subscriptions:
            return self._graph_error(404, "ResourceNotFound", "The object was not found.")
        if request.method == "DELETE":
            del self.subscriptions[sub_id]
            return web.Response(status=204)
        if action == "reauthorize":
            return web.Response(status=200)
        self.subscriptions[sub_id]["expirationDateTime"] = body["expirationDateTime"]
        return web.json_response(self.subscriptions[sub_id])

    async def _send(self, url: str, items: list[dict[str, Any]]) -> int:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.post(url, json={"value": items}) as resp,
        ):
            return resp.status

    async def notify(
        self, *uids: str, change_type: str = "updated", client_state: str | None = None
    ) -> list[int]:
        """What Graph POSTs for changed users, to every subscription; the statuses answered.
        `client_state` forges the secret."""
        statuses = []
        for sub in list(self.subscriptions.values()):
            items = [
                {
                    "subscriptionId": sub["id"],
                    "subscriptionExpirationDateTime": sub["expirationDateTime"],
                    "changeType": change_type,
                    "resource": f"Users/{uid}",
                    "resourceData": {"@odata.type": "#Microsoft.Graph.User", "id": uid,
                                     "organizationId": self.tenant_id},
                    "clientState": sub["clientState"] if client_state is None else client_state,
                    "tenantId": self.tenant_id,
                }
                for uid in uids
            ]  # fmt: skip
            statuses.append(await self._send(sub["notificationUrl"], items))
        return statuses

    async def lifecycle(self, event: str, *, client_state: str | None = None) -> list[int]:
        """A lifecycle notification for every subscription; `subscriptionRemoved` also
        removes them, as Graph does."""
        statuses = []
        for sub in list(self.subscriptions.values()):
            item = {
                "subscriptionId": sub["id"],
                "subscriptionExpirationDateTime": sub["expirationDateTime"],
                "tenantId": self.tenant_id,
                "clientState": sub["clientState"] if client_state is None else client_state,
                "lifecycleEvent": event,
            }
            if event == "subscriptionRemoved":
                self.subscriptions.pop(sub["id"], None)
            statuses.append(await self._send(sub["lifecycleNotificationUrl"], [item]))
        return statuses

    # --- control API (bench) -------------------------------------------------------------
    async def _mutate(self, request: web.Request) -> web.Response:
        """Change a fraction of the users (new job title), for a measured delta round."""
        fraction = float(request.query.get("fraction", "0.01"))
        ids = list(self.directory.users)
        step = max(1, round(1 / fraction)) if fraction > 0 else len(ids) + 1
        changed = 0
        for uid in ids[::step]:
            self.directory.update(uid, jobTitle="Kıdemli Uzman")
            changed += 1
        return web.json_response({"changed": changed})

    async def _release(self, request: web.Request) -> web.Response:
        self.release.set()
        return web.json_response({"released": True})


def populate(directory: FakeDirectory, users: int, *, span: int = 8) -> list[str]:
    """`users` people in a tree (each manager has up to `span` reports)."""
    rng = random.Random(7)
    ids: list[str] = []
    for i in range(users):
        manager = ids[(i - 1) // span] if i else None
        ids.append(directory.add(make_user(i, rng), manager))
    return ids


@asynccontextmanager
async def running(fake: FakeGraph) -> AsyncIterator[FakeGraph]:
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeGraph(page_size=args.page_size, token=None)
    populate(fake.directory, args.users)
    base = await fake.start(args.port)
    print(f"READY {base}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Graph /users/delta")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=999)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
