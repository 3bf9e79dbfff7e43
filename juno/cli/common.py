"""What every `juno` subcommand shares: reading the settings and running its coroutine.

Kept apart from `juno.cli` (which registers the subcommands) so a subcommand never imports the
package that imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from pydantic import ValidationError

from juno.errors import UserError
from juno.logs import configure_logging
from juno.settings import Settings


def load_settings() -> Settings:
    """The settings, or one readable line naming the first bad one (never a pydantic dump)."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"invalid setting {where}: {first['msg']}") from None


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one command's coroutine with quiet logs (commands print their own output)."""
    configure_logging(fmt="console", level="WARNING")
    return asyncio.run(coro)
