"""Counters an operator can scrape at /metrics (Prometheus text format): database commands and
HTTP requests. The database counter is a PyMongo command listener, so it counts real round trips;
the benchmarks read it to report "database round trips per activity"."""

from __future__ import annotations

from collections import Counter

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

    def middleware(self) -> Middleware:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                self.requests[(request.path if exc.status != 404 else "other", exc.status)] += 1
                raise
            route = request.match_info.route.resource
            path = route.canonical if route is not None else "other"
            self.requests[(path, response.status)] += 1
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
        return "\n".join(lines) + "\n"
