"""The chat session: a local connector endpoint that receives the bot's replies (the
`serviceUrl` Teams would provide) and a loop that posts the user's messages and button picks."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from bot.i18n import t
from juno.chat.render import FILE_ANSWER, FORM, render_activity

_QUIET = 0.8
_MAX_WAIT = 15.0


class ChatError(Exception):
    pass


def save_private(folder: Path, name: str, data: bytes) -> Path:
    """Write a received file readable by its owner only (an export is personal data), and
    never over an existing file: a second export the same day becomes "name-2.zip"."""
    base = Path(Path(name).name or "file")
    suffix = base.suffix
    stem = base.name[: len(base.name) - len(suffix)]
    for n in range(1, 1000):
        target = folder / (base.name if n == 1 else f"{stem}-{n}{suffix}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return target
    raise ChatError(f"too many files named like {base.name} in {folder}")


async def _stdin_line() -> str:
    return await asyncio.to_thread(sys.stdin.readline)


class ChatSession:
    def __init__(
        self,
        *,
        url: str,
        tenant: str,
        user: str,
        locale: str,
        out: TextIO = sys.stdout,
        save_dir: Path | None = None,
        read_line: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.tenant = tenant
        self.user = user
        self.locale = locale
        self.out = out
        self.conversation = f"a:juno-chat-{uuid.uuid4().hex[:12]}"
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._actions: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.service_url = ""
        self.save_dir = save_dir or Path.cwd()
        self._read_line = read_line or _stdin_line
        self.saved: list[Path] = []

    async def start(self) -> None:
        app = web.Application()

        async def receive(request: web.Request) -> web.Response:
            await self._inbox.put(await request.json())
            return web.json_response({"id": uuid.uuid4().hex})

        async def upload(request: web.Request) -> web.Response:
            # What OneDrive does for a Teams file upload: keep the file (here, in save_dir).
            target = save_private(self.save_dir, request.match_info["name"], await request.read())
            self.saved.append(target)
            return web.json_response({"id": uuid.uuid4().hex}, status=201)

        app.router.add_route("*", "/v3/conversations/{tail:.*}", receive)
        app.router.add_put("/upload/{name}", upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.service_url = f"http://127.0.0.1:{port}/"

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _activity(self, **fields: Any) -> dict[str, Any]:
        return {
            "id": uuid.uuid4().hex,
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "from": {"id": f"29:{self.user}", "aadObjectId": self.user, "name": "juno chat"},
            "recipient": {"id": "28:juno", "name": "JUNO"},
            "conversation": {
                "id": self.conversation,
                "conversationType": "personal",
                "tenantId": self.tenant,
            },
            "channelData": {"tenant": {"id": self.tenant}},
            "locale": self.locale,
            **fields,
        }

    async def _post(self, activity: dict[str, Any]) -> None:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{self.url}/api/messages", json=activity) as resp,
            ):
                if resp.status == 401:
                    raise ChatError(
                        "the bot asks for a Bot Framework token: run `juno serve` with "
                        "JUNO_BOT_DEV_MODE=1 (make run does) to chat locally"
                    )
                if resp.status == 404:
                    raise ChatError(
                        f"{self.url} serves no bot: set JUNO_BOT_DEV_MODE=1 for `juno serve`"
                    )
                if resp.status >= 400:
                    body = await resp.text()
                    raise ChatError(f"the bot answered {resp.status}: {body[:200]}")
        except aiohttp.ClientConnectionError as exc:
            raise ChatError(f"cannot reach {self.url}: is `juno serve` running?") from exc
        await self._print_replies()

    async def _print_replies(self) -> None:
        started = time.monotonic()
        got_any = False
        self._actions = []
        while time.monotonic() - started < _MAX_WAIT:
            try:
                reply = await asyncio.wait_for(self._inbox.get(), _QUIET if got_any else _MAX_WAIT)
            except TimeoutError:
                break
            got_any = True
            self._show(reply)

    async def print_later_replies(self) -> None:
        """What the bot sends outside a turn (a finished export, a request's outcome) is
        shown as it arrives, while the user is still typing."""
        while True:
            self._show(await self._inbox.get())

    def _show(self, reply: dict[str, Any]) -> None:
        rendered = render_activity(reply, len(self._actions) + 1, self.locale)
        self._actions.extend(data for _, data in rendered.actions)
        for line in rendered.lines:
            print(line, file=self.out)
        print(file=self.out)
        self.out.flush()

    async def _fill(self, form: list[dict[str, Any]]) -> dict[str, Any]:
        """Ask for each of a card's inputs on the terminal: a choice by its number (empty
        keeps the card's default), text as typed (empty sends what the card holds)."""
        values: dict[str, Any] = {}
        loc = self.locale
        for field in form:
            label = str(field.get("label") or field.get("placeholder") or field["id"])
            default = field.get("value", "")
            choices = field.get("choices") or []
            if field.get("type") == "Input.ChoiceSet" and choices:
                print(f"{label}:", file=self.out)
                for n, choice in enumerate(choices, 1):
                    mark = t(loc, "chat_current") if choice.get("value") == default else ""
                    print(f"  {n}) {choice.get('title')}{mark}", file=self.out)
            hint = t(loc, "chat_choice_hint") if choices else t(loc, "chat_text_hint")
            print(f"{label} ({hint})> ", end="", file=self.out)
            self.out.flush()
            answer = (await self._read_line()).strip()
            if choices and answer.isdigit() and 1 <= int(answer) <= len(choices):
                values[field["id"]] = choices[int(answer) - 1].get("value")
            elif choices:
                values[field["id"]] = default
            else:
                values[field["id"]] = answer or default
        return values

    async def _answer_file(self, picked: dict[str, Any]) -> None:
        name = Path(str(picked.get("name") or "file")).name
        value: dict[str, Any] = {
            "type": "fileUpload",
            "action": picked[FILE_ANSWER],
            "context": picked.get("context"),
        }
        if picked[FILE_ANSWER] == "accept":
            value["uploadInfo"] = {
                "name": name,
                "uploadUrl": f"{self.service_url}upload/{name}",
                "contentUrl": (self.save_dir / name).as_uri(),
                "uniqueId": uuid.uuid4().hex,
                "fileType": name.rsplit(".", 1)[-1],
            }
        await self._post(self._activity(type="invoke", name="fileConsent/invoke", value=value))

    async def open(self) -> None:
        """Install the bot in a personal chat, as Teams does on first use."""
        await self._post(
            self._activity(type="conversationUpdate", membersAdded=[{"id": "28:juno"}])
        )

    async def say(self, line: str) -> None:
        line = line.strip()
        if line.isdigit() and 1 <= int(line) <= len(self._actions):
            picked = dict(self._actions[int(line) - 1])
            if FILE_ANSWER in picked:
                await self._answer_file(picked)
                return
            form = picked.pop(FORM, None)
            if form:
                picked.update(await self._fill(form))
            await self._post(self._activity(type="message", value=picked))
        else:
            await self._post(self._activity(type="message", text=line))
