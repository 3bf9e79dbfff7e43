"""`juno chat`."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Annotated

import typer

from graph_sync.demo import DEMO_TENANT_ID
from juno.cli.common import load_settings
from juno.errors import OperationError, UserError

# graph_sync.demo.DEMO_ADMIN_ID (a demo employee and the demo tenant's admin), spelled out so
# every `juno` command does not import the sync stack to print its help.
DEMO_USER = "9c45c1a0-b340-4c21-a342-02d88db1cec0"


def chat_command(
    tenant: Annotated[
        str | None, typer.Option(help="Tenant id (default: the demo tenant).")
    ] = None,
    user: Annotated[str, typer.Option(help="Entra object id to chat as.")] = DEMO_USER,
    locale: Annotated[str, typer.Option(help="tr or en.")] = "tr",
    url: Annotated[str | None, typer.Option(help="Where `juno serve` listens.")] = None,
) -> None:
    """Chat with a running `juno serve` from the terminal, as a Teams user would.

    Type a message, or the number of a card button; an empty line or Ctrl-D quits.
    """
    from juno.chat.client import ChatError, ChatSession
    from juno.cli.tenant import parse_guid

    settings = load_settings()
    if locale not in ("tr", "en"):
        raise UserError(f"--locale must be tr or en, got {locale!r}")
    try:
        uuid.UUID(user)
    except ValueError:
        raise UserError(f"--user must be a GUID, got {user!r}") from None
    tenant_id = parse_guid(tenant, "--tenant") if tenant else DEMO_TENANT_ID
    base = url or f"http://{settings.host}:{settings.port}"

    async def go() -> None:
        session = ChatSession(url=base, tenant=tenant_id, user=user, locale=locale)
        await session.start()
        try:
            await session.open()
            while True:
                later = asyncio.create_task(session.print_later_replies())
                try:
                    line = await asyncio.to_thread(sys.stdin.readline)
                finally:
                    later.cancel()
                if not line.strip():
                    return
                await session.say(line)
        except ChatError as exc:
            raise OperationError(str(exc)) from None
        finally:
            await session.close()

    asyncio.run(go())
