"""Counters an operator can scrape at /metrics (Prometheus text format): database commands,
HTTP requests, and unhandled failures (a request whose handler raised: answered 500 here, with
one error line, and counted, so an alert can fire on them). The database counter is a PyMongo
command listener, so it counts real round trips; the benchmarks read it to report "database
round trips per activity"."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pymongo import monitoring


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands = 0
        self.failures = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.failures += 1


class Metrics:
    def __init__(self) -> None:
        self.db = CommandCounter()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.unhandled: Counter[str] = Counter()

    def middleware(self, log: Any = None) -> Middleware:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            route = request.match_info.route.resource
            path = route.canonical if route is not None else "other"
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                self.requests[(path if exc.status != 404 else "other", exc.status)] += 1
                raise
            except Exception as exc:
                # A bug of ours, not the client's doing: one error line (the traceback names
                # our code), a counted 500, and a body that says nothing about the cause.
                self.unhandled[path] += 1
                self.requests[(path, 500)] += 1
                if log is not None:
                    log.error("request failed", path=path, error=type(exc).__name__, exc_info=exc)
                return web.json_response({"error": "internal error"}, status=500)
            self.requests[(path, response.status)] += 1
            if response.status == 500:  # a sub-app's own catch-all (the API's) answered it
                self.unhandled[path] += 1
            return response

        return count

    def render(self) -> str:
        lines = [
            "# TYPE juno_db_commands_total counter",
            f"juno_db_commands_total {self.db.commands}",
            "# TYPE juno_db_command_failures_total counter",
            f"juno_db_command_failures_total {self.db.failures}",
            "# TYPE juno_http_requests_total counter",
        ]
        for (path, status), count in sorted(self.requests.items()):
            lines.append(f'juno_http_requests_total{{path="{path}",status="{status}"}} {count}')
        lines.append("# TYPE juno_http_unhandled_errors_total counter")
        lines.append(f"juno_http_unhandled_errors_total {sum(self.unhandled.values())}")
        for path, count in sorted(self.unhandled.items()):
            lines.append(f'juno_http_unhandled_errors_total{{path="{path}"}} {count}')
        return "\n".join(lines) + "\n"
