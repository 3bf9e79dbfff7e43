"""Who is speaking, from what Teams vouches for, and nothing else.

A valid Bot Connector token proves that an activity came through the Bot Framework, not who
typed it: on channels such as Direct Line the client itself fills `from.id` and
`channelData`. Teams fills `from.aadObjectId` (the Entra object id of the signed-in user) and
`conversation.tenantId` (the tenant of the conversation) itself, so those are the only fields
identity is read from, and only on the channels the operator lists (JUNO_BOT_CHANNELS,
default `msteams`). There is deliberately no fallback to `from.id` or `channelData`.
"""

from __future__ import annotations

import re
from typing import Any

from microsoft_agents.activity import Activity

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")
_BOUND = 64


def bounded(value: Any, limit: int = _BOUND) -> str:
    """An attacker-chosen string as it may be logged or audited: only [A-Za-z0-9_.:-] kept (no
    `$`, no control characters), at most `limit` characters, with how much was cut."""
    text = value if isinstance(value, str) else type(value).__name__
    kept = _SAFE.sub("", text)
    cut = len(text) - min(len(kept), limit)
    return kept[:limit] + (f"…(+{cut})" if cut > 0 else "")


def tenant_of(activity: Activity) -> str | None:
    """The conversation's tenant as Teams set it, lower-cased; None when absent."""
    if activity.conversation and activity.conversation.tenant_id:
        return str(activity.conversation.tenant_id).lower()
    return None


def user_of(activity: Activity) -> str | None:
    """The sender's Entra object id; None when Teams did not vouch for one."""
    sender = activity.from_property
    if sender is None or not sender.aad_object_id:
        return None
    return str(sender.aad_object_id)


def _channel_tenant(activity: Activity) -> str | None:
    data = activity.channel_data
    if isinstance(data, dict):
        tenant = data.get("tenant")
        if isinstance(tenant, dict) and "id" in tenant:
            return str(tenant["id"]).lower()
    return None


def refusal(activity: Activity, channels: tuple[str, ...]) -> str | None:
    """Why this activity's identity cannot be trusted, or None when it can."""
    if (activity.channel_id or "") not in channels:
        return "channel not accepted"
    tenant = tenant_of(activity)
    if tenant is None or not _GUID.match(tenant):
        return "conversation.tenantId missing or not a tenant id"
    claimed = _channel_tenant(activity)
    if claimed is not None and claimed != tenant:
        return "channelData.tenant.id disagrees with conversation.tenantId"
    user = user_of(activity)
    if user is None or not _GUID.match(user):
        return "from.aadObjectId missing or not an object id"
    return None
