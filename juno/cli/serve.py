"""`juno serve`."""

from __future__ import annotations

import asyncio

from juno.cli.common import load_settings
from juno.errors import UserError
from juno.logs import configure_logging


def serve_command() -> None:
    """Run the service: health probes, bot endpoint and sync scheduler, until SIGTERM."""
    from juno.serve import serve

    settings = load_settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:  # pragma: no cover - the signal handler normally takes SIGINT
        pass
    except OSError as exc:
        raise UserError(str(exc)) from exc
