"""Delivering an export as a file in a personal chat: Teams' FileConsentCard.

The bot offers the file; if the user accepts, Teams answers with an invoke carrying an upload
URL in the user's OneDrive, the bot PUTs the zip there and sends a file-info card. The prepared
export waits in the same single-use store as download links, so a file can be delivered once,
and the signed link remains the fallback (group chats, refused uploads).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from microsoft_agents.hosting.core import OutboundHostValidator

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=60)


def consent_card(filename: str, size: int, description: str, token: str) -> dict[str, Any]:
    context = {"export": token}
    return {
        "contentType": FILE_CONSENT,
        "name": filename,
        "content": {
            "description": description,
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }


def info_card(upload_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "contentType": FILE_INFO,
        "contentUrl": upload_info.get("contentUrl"),
        "name": upload_info.get("name"),
        "content": {
            "uniqueId": upload_info.get("uniqueId"),
            "fileType": upload_info.get("fileType"),
        },
    }


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
