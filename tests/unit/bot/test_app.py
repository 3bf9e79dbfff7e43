"""The application's routing: every command has exactly one flow, checked when it is built."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bot.app import Commands, build_application
from bot.commands import Command, Request
from bot.config import BotConfig
from bot.flows import Routes
from bot.kpi import KpiRecorder
from bot.outbound import BotConnections
from bot.state import NoStorage, UserState
from bot.tasks import BackgroundTasks
from bot.turn import JunoState, Turn


async def _nothing(turn: Turn, request: Request) -> None:
    return None


def test_a_command_without_a_flow_or_with_two_is_refused_when_the_routes_are_built() -> None:
    routes: Routes = dict.fromkeys(Command, _nothing)
    Commands(routes)
    with pytest.raises(ValueError, match=r"two flows: .*help"):
        Commands(routes, {Command.HELP: _nothing})
    del routes[Command.ERASE]
    with pytest.raises(ValueError, match=r"without a flow: .*erase"):
        Commands(routes)


async def test_the_application_routes_every_command_and_keeps_no_sdk_state(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    config = BotConfig(app_id=None, dev_mode=True)
    app = build_application(
        db,
        config,
        log=None,
        connections=BotConnections(config),
        kpis=KpiRecorder(db, None),
        notifier=None,
        tasks=BackgroundTasks(),
    )
    factory = app.options.turn_state_factory
    assert factory is not None and isinstance(factory(), JunoState)
    assert app.options.start_typing_timer is False  # a typing activity would be a reply a turn
    storage = app.options.storage
    assert isinstance(storage, NoStorage)
    assert await storage.read(["auth:_SignInState:msteams:u1"], target_cls=UserState) == {}
    with pytest.raises(NotImplementedError):
        await storage.write({"conversation/x": UserState("u1")})
