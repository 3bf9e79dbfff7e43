"""Getting a file to one person: built in the background, offered as a FileConsentCard in
personal chat (uploaded to their OneDrive when they accept), a signed single-use link
elsewhere or when the upload fails. Personal exports and the admin desk's files (record of
processing, tenant archive, security summary) all arrive this way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from microsoft_agents.activity import Attachment
from microsoft_agents.hosting.core import MessageFactory, OutboundHostValidator, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot.cards import blocks, export
from bot.config import BotConfig
from bot.i18n import t
from bot.proactive import Notifier
from bot.tasks import BackgroundTasks
from bot.turn import Turn
from privacy.export import build_export
from privacy.links import LINK_PREFIX, LinkRefused, create_export_link, redeem_export_link
from storage.repositories import TenantStore

UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)

Build = Callable[[], Awaitable[tuple[bytes, str]]]
"""Builds the file: (its bytes, its file name)."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _att(card: dict[str, Any]) -> Attachment:
    """A Teams card dict (contentType, content, name, contentUrl) as an Attachment."""
    return Attachment(
        content_type=card["contentType"],
        content=card.get("content"),
        name=card.get("name"),
        content_url=card.get("contentUrl"),
    )


class UploadFailed(Exception):
    pass


async def upload(url: str, data: bytes, *, validator: OutboundHostValidator) -> None:
    """One PUT of the whole file, as Teams' upload session accepts for small files."""
    if not validator.is_allowed(url):
        raise UploadFailed("upload URL is not an allowed host")
    headers = {
        "Content-Length": str(len(data)),
        "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
    }
    async with (
        aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as session,
        session.put(url, data=data, headers=headers) as resp,
    ):
        if resp.status >= 300:
            raise UploadFailed(f"upload answered {resp.status}")


class ExportDelivery:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        config: BotConfig,
        notifier: Notifier | None,
        tasks: BackgroundTasks,
        log: Any,
    ) -> None:
        self._db = db
        self._config = config
        self._notifier = notifier
        self._tasks = tasks
        self._log = log
        self._validator = OutboundHostValidator(enabled=config.validate_service_url)

    def start_export(self, tenant_id: str, user_id: str, locale: str, *, as_file: bool) -> None:
        """The person's own export (privacy.export), after the turn that asked for it."""
        store = TenantStore(self._db, tenant_id)

        async def build() -> tuple[bytes, str]:
            result = await build_export(
                store, user_id, locale=locale, subprocessors=self._config.subprocessors
            )
            return result.zip_bytes, result.filename

        self._tasks.start(
            self._deliver(
                tenant_id, user_id, build, "export_consent_description", "export_failed", as_file
            )
        )

    def start(
        self, tenant_id: str, user_id: str, build: Build, describe_key: str, failed_key: str
    ) -> None:
        """Any other file, offered in personal chat (the admin desk is personal-only)."""
        self._tasks.start(self._deliver(tenant_id, user_id, build, describe_key, failed_key, True))

    async def _deliver(
        self,
        tenant_id: str,
        user_id: str,
        build: Build,
        describe_key: str,
        failed_key: str,
        as_file: bool,
    ) -> None:
        """A failure is logged and the person told, never raised."""
        store = TenantStore(self._db, tenant_id)
        try:
            data, filename = await build()
            path = await self._keep(store, user_id, data, filename)
        except Exception as exc:
            self._log.error(
                "file not prepared",
                tenant=tenant_id,
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )

            async def failed(context: TurnContext, loc: str) -> None:
                await context.send_activity(MessageFactory.text(t(loc, failed_key)))

            if self._notifier:
                await self._notifier.send(tenant_id, user_id, failed)
            return
        if as_file:

            async def offer(context: TurnContext, loc: str) -> None:
                card = export.file_consent_card(
                    filename, len(data), t(loc, describe_key), path.removeprefix(LINK_PREFIX)
                )
                await context.send_activity(MessageFactory.attachment(_att(card)))

            if self._notifier:
                await self._notifier.send(tenant_id, user_id, offer)
            return
        await self._send_link(tenant_id, user_id, path)

    async def _keep(self, store: TenantStore, user_id: str, data: bytes, filename: str) -> str:
        """Keep a prepared file for one delivery (file upload or link); returns its path."""
        return await create_export_link(
            store,
            user_id,
            data,
            key=self._config.signing_key,
            filename=filename,
            ttl=timedelta(hours=self._config.export_link_hours),
        )

    async def _send_link(self, tenant_id: str, user_id: str, path: str, key: str = "") -> None:
        url = self._config.public_base_url.rstrip("/") + path
        hours = self._config.export_link_hours
        expires = (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")

        async def ready(context: TurnContext, loc: str) -> None:
            if key:
                await context.send_activity(MessageFactory.text(t(loc, key)))
            card = export.export_ready_card(loc, url, expires)
            await context.send_activity(MessageFactory.attachment(blocks.attachment(card)))

        if self._notifier:
            await self._notifier.send(tenant_id, user_id, ready)

    async def answer_consent(self, turn: Turn) -> None:
        """The person's answer to a FileConsentCard: upload on accept, nothing on decline. The
        prepared file is consumed either way, so it never lingers."""
        value = _dict(turn.context.activity.value)
        token = str(_dict(value.get("context")).get("export", ""))
        try:
            # The owner is checked before the file is claimed, so someone presenting another
            # person's consent token neither uses it up nor gets "served" audited.
            download = await redeem_export_link(
                self._db,
                token,
                key=self._config.signing_key,
                owner=(turn.store.tenant_id, turn.user_id),
            )
        except LinkRefused as exc:
            if exc.status == 403:
                await turn.say(t(turn.locale, "export_failed"))
            else:
                await turn.say(exc.reason)
            return
        if value.get("action") != "accept":
            await turn.say(t(turn.locale, "export_declined"))
            return
        info = _dict(value.get("uploadInfo"))
        try:
            await upload(
                str(info.get("uploadUrl", "")), download.zip_bytes, validator=self._validator
            )
        except (UploadFailed, aiohttp.ClientError, TimeoutError) as exc:
            self._log.warning("file upload failed", error=type(exc).__name__)
            path = await self._keep(turn.store, turn.user_id, download.zip_bytes, download.filename)
            await self._send_link(turn.store.tenant_id, turn.user_id, path, "export_upload_failed")
            return
        await turn.context.send_activity(
            MessageFactory.attachment(_att(export.file_info_card(info)))
        )
