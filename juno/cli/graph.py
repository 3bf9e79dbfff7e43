"""`juno graph subscriptions list|renew|delete`: the change-notification subscriptions.

`juno serve` keeps them by itself (creates, renews before expiry, answers lifecycle events);
these commands are for looking, for forcing a renewal after fixing a credential or the public
address, and for stopping notifications for a tenant (its directory is then polled only).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from graph_sync import GraphClients, GraphSyncError
from graph_sync.subscriptions import (
    SubscriptionKeeper,
    SubscriptionStore,
    SubscriptionView,
    subscribable,
)
from juno.cli.common import load_settings, run
from juno.cli.tenant import parse_guid
from juno.errors import OperationError, UserError
from juno.settings import Settings
from storage.repositories import TenantRecord, TenantRegistry

app = typer.Typer(help="Microsoft Graph: change-notification subscriptions.", no_args_is_help=True)
subscriptions = typer.Typer(
    help="List, renew or delete each tenant's /users subscription.", no_args_is_help=True
)
app.add_typer(subscriptions, name="subscriptions")

TenantOpt = Annotated[
    str | None, typer.Option("--tenant-id", "--tenant", help="Entra tenant id (GUID).")
]


def _keeper(settings: Settings, db: Any) -> SubscriptionKeeper:
    from juno.sync_wiring import notification_urls

    urls = notification_urls(settings)
    if urls is None:
        raise UserError(
            "change notifications need a public https JUNO_PUBLIC_BASE_URL (and "
            "JUNO_GRAPH_NOTIFICATIONS not 0): Graph delivers them to <base>/api/graph/..."
        )
    clients = GraphClients(
        authority_host=settings.authority_host, graph_base_url=settings.graph_base_url
    )
    return SubscriptionKeeper(
        db, clients.subscriptions, notification_url=urls[0], lifecycle_url=urls[1]
    )


async def _targets(registry: TenantRegistry, tenant: str | None) -> list[TenantRecord]:
    if tenant is None:
        return [r for r in await registry.list_all() if subscribable(r)]
    record = await registry.get(parse_guid(tenant, "--tenant-id"))
    if record is None:
        raise UserError(f"tenant {parse_guid(tenant, '--tenant-id')} is not registered")
    if not subscribable(record):
        raise UserError(
            f"tenant {record.tenant_id} has no Graph credentials or is disabled: "
            "it has no subscription"
        )
    return [record]


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@subscriptions.command("list")
def list_(
    tenant: TenantOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Each tenant's subscription: status, expiry, last notification."""
    from juno.runtime import database

    settings = load_settings()

    async def go() -> list[SubscriptionView]:
        async with database(settings) as db:
            views = []
            for record in await _targets(TenantRegistry(db.db), tenant):
                view = await SubscriptionStore(db.db, record.tenant_id).view()
                views.append(view or SubscriptionView.of(record.tenant_id, {}))
            return views

    views: list[SubscriptionView] = run(go())
    if as_json:
        typer.echo(json.dumps([v.to_dict() for v in views], indent=2))
        return
    table = Table("tenant", "status", "subscription", "expires", "last notification", "count")
    for v in views:
        table.add_row(
            v.tenant_id,
            v.status + (f" ({v.last_error})" if v.last_error else ""),
            v.subscription_id or "-",
            _when(v.expires_at),
            _when(v.last_notification_at),
            str(v.notifications),
        )
    Console().print(table)


@subscriptions.command("renew")
def renew(tenant: TenantOpt = None) -> None:
    """Renew (or create) the subscription now, for one tenant or every tenant."""
    from juno.runtime import database

    settings = load_settings()

    async def go() -> dict[str, str]:
        async with database(settings) as db:
            keeper = _keeper(settings, db.db)
            done = {}
            for record in await _targets(TenantRegistry(db.db), tenant):
                done[record.tenant_id] = await keeper.maintain(record, renew=True)
            return done

    done: dict[str, str] = run(go())
    for tid, outcome in done.items():
        typer.echo(f"tenant {tid}: {outcome}")
    if any(outcome.startswith("failed") for outcome in done.values()):
        raise OperationError("some subscriptions could not be renewed")


@subscriptions.command("delete")
def delete(tenant: Annotated[str, typer.Option("--tenant-id", "--tenant")]) -> None:
    """Delete a tenant's subscription; its directory is then polled only, until `renew`."""
    from juno.runtime import database

    settings = load_settings()

    async def go() -> bool:
        async with database(settings) as db:
            [record] = await _targets(TenantRegistry(db.db), tenant)
            try:
                return await _keeper(settings, db.db).delete(record)
            except GraphSyncError as exc:
                raise OperationError(str(exc)) from None

    existed: bool = run(go())
    tid = parse_guid(tenant, "--tenant-id")
    typer.echo(
        f"tenant {tid}: subscription deleted" if existed else f"tenant {tid}: had no subscription"
    )
