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


class QuietServerErrors(logging.Filter):
    """aiohttp's own server log, rewritten: a malformed request (an over-long header, a NUL,
    Transfer-Encoding with Content-Length) or a client that hangs up is the client's doing, so
    it becomes one warning line naming the error's type, with no traceback and none of the
    request's bytes (aiohttp quotes the offending line in its message). Failures of our own
    code keep their traceback; it names our code, not what the client sent."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        from aiohttp import http_exceptions, web_protocol

        if isinstance(exc, web_protocol.RequestPayloadError):
            # A body that does not decode: juno.web's guard, which read it, has logged it once
            # already; aiohttp raises it again when it drains the rest after the answer.
            return False
        if isinstance(exc, http_exceptions.HttpProcessingError):
            record.msg, record.args = "malformed request refused", ()
            status = getattr(exc, "code", 400)
            record.__dict__.update(error=type(exc).__name__, status=status)
        elif isinstance(exc, ConnectionError | TimeoutError):
            record.msg, record.args = "client connection dropped", ()
            record.__dict__["error"] = type(exc).__name__
        else:
            return True
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


_SERVER_FILTER = QuietServerErrors()
_SERVER_EXTRAS = structlog.stdlib.ExtraAdder(allow=["error", "status"])


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
            foreign_pre_chain=[*shared[:-1], _SERVER_EXTRAS, redact_secrets],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    # Records of aiohttp's server and access loggers pass this filter on the handler, so no
    # logger configuration elsewhere can route them around it.
    handler.addFilter(_route_server_logs)
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
    # And a traceback for every exception a turn raises, before it calls the application's
    # error handler (bot.app), which logs each once: a delivery failure as one warning line.
    logging.getLogger("microsoft_agents.hosting.core.app.agent_application").setLevel(
        logging.CRITICAL
    )


def _route_server_logs(record: logging.LogRecord) -> bool:
    if record.name.startswith(("aiohttp.server", "aiohttp.web", "aiohttp.access")):
        return _SERVER_FILTER.filter(record)
    return True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
