"""Structured logging: JSON lines in production, readable lines in a terminal.

Secrets never reach a log line: values under secret-looking keys are replaced, and credentials
inside connection strings are masked, whatever the caller passed.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"secret|password|passwd|token|authorization|api_key|credential", re.I)
_URI_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@", re.I)
REDACTED = "[redacted]"


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return _URI_CREDENTIALS.sub(r"\g<scheme>" + REDACTED + "@", value)
    return value


def redact_secrets(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _SECRET_KEY.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def configure_logging(*, fmt: str = "json", level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Graph delta URLs carry delta/skip tokens.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # The Agents SDK narrates every reply at INFO; keep its warnings and errors only.
    logging.getLogger("microsoft_agents").setLevel(max(logging.WARNING, root.level))
    # It also logs a traceback for each malformed activity it parses; bot.http answers those
    # with a 400 and a reason before the SDK sees them, so that log would only be noise.
    logging.getLogger("microsoft_agents.activity.activity").setLevel(logging.CRITICAL)
    # And an error line for every reply the connector refuses (a chat that no longer exists:
    # 404); bot.http and bot.proactive log that once, as a warning with the status.
    logging.getLogger("microsoft_agents.hosting.core.connector.client.connector_client").setLevel(
        logging.CRITICAL
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
