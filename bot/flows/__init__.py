"""What JUNO does for each request, one module per subject. A flow declares the commands it
answers (`routes`); the application (bot.app) sends each parsed request to its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands import Command, Request
from bot.turn import Turn

Handler = Callable[[Turn, Request], Awaitable[None]]
Routes = dict[Command, Handler]
