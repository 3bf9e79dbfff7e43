"""`juno sync`: run the directory sync once, for cron or a Kubernetes CronJob.

`juno serve` runs the same sync on a schedule; both take the tenant's lease, so they never
overlap. Progress goes to stderr (never with `--json`), the summary to stdout.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from pymongo.asynchronous.database import AsyncDatabase
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from graph_sync import (
    GraphClients,
    GraphSyncError,
    Holder,
    OnDeleted,
    RoundStats,
    Screen,
    eligible,
    make_erasure,
    make_screen,
    sync_tenant,
)
from juno.cli.common import load_settings, run
from juno.errors import OperationError, UserError
from juno.settings import Settings
from storage.repositories import TenantRecord, TenantRegistry

HOLDER_LABEL = "juno-sync"


@dataclass
class TenantResult:
    tenant_id: str
    name: str
    stats: RoundStats | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tenant_id": self.tenant_id, "name": self.name}
        if self.stats is not None:
            data.update(status="ok", **self.stats.to_dict())
        else:
            data.update(status="failed", error=self.error)
        return data


def _one_line(tenant_id: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not isinstance(exc, GraphSyncError):
        text = f"{type(exc).__name__}: {text}"
    return text if text.startswith(f"tenant {tenant_id}") else f"tenant {tenant_id}: {text}"


async def _targets(registry: TenantRegistry, tenant_id: str | None) -> list[TenantRecord]:
    if tenant_id is None:
        return [r for r in await registry.list_all() if eligible(r)]
    record = await registry.get(tenant_id)
    if record is None:
        raise UserError(f"tenant {tenant_id} is not registered (see `juno tenant list`)")
    if not record.enabled:
        raise UserError(f"tenant {tenant_id} is disabled; enable it with `juno tenant set`")
    if not eligible(record):
        raise UserError(
            f"tenant {tenant_id} has no Graph credentials: add them with `juno tenant set`"
        )
    return [record]


async def run_sync(
    settings: Settings, tenant_id: str | None, *, full: bool, show_progress: bool
) -> list[TenantResult]:
    from juno.keys import pseudonym_key
    from juno.runtime import database

    # The same resolution as `juno serve`: the setting, else $JUNO_DATA_DIR/pseudonym.key.
    key = pseudonym_key(settings)
    clients = GraphClients(
        authority_host=settings.authority_host, graph_base_url=settings.graph_base_url
    )
    holder = Holder.here(HOLDER_LABEL)
    console = Console(stderr=True)
    results: list[TenantResult] = []
    async with database(settings) as db:
        registry = TenantRegistry(db.db)
        records = await _targets(registry, tenant_id)
        on_deleted = make_erasure(db.db, key)
        screen = make_screen(db.db, key)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[pages]} pages, {task.completed:.0f} users"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not show_progress or not console.is_terminal,
        ) as progress:
            for record in records:
                task = progress.add_task(record.name, total=None, pages=0)
                one = _sync_one(
                    db.db, record, clients, on_deleted, screen, holder, full, progress, task
                )
                results.append(await one)
    return results


async def _sync_one(
    db: AsyncDatabase[dict[str, Any]],
    record: TenantRecord,
    clients: GraphClients,
    on_deleted: OnDeleted,
    screen: Screen,
    holder: Holder,
    full: bool,
    progress: Progress,
    task: TaskID,
) -> TenantResult:
    result = TenantResult(record.tenant_id, record.name)

    def report(stats: RoundStats) -> None:
        progress.update(task, completed=stats.entries, pages=stats.pages)

    try:
        source = clients(record)
    except GraphSyncError as exc:
        result.error = _one_line(record.tenant_id, exc)
        return result
    try:
        result.stats = await sync_tenant(
            db,
            record.tenant_id,
            source,
            on_deleted,
            holder=holder,
            full=full,
            progress=report,
            screen=screen,
        )
    except Exception as exc:  # every failure becomes one line for this tenant
        result.error = _one_line(record.tenant_id, exc)
    finally:
        await source.aclose()
    return result


def summary_line(result: TenantResult) -> str:
    s = result.stats
    assert s is not None
    mode = f"{s.mode} round{' after a resync' if s.resynced else ''}"
    return (
        f"{result.name} ({result.tenant_id}): {mode}: {s.created} created, {s.updated} updated, "
        f"{s.hidden} hidden, {s.removed} removed, {s.pages} pages, {s.seconds:.1f} s"
    )


def sync_command(
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", "--tenant-id", help="Sync only this tenant (Entra tenant id)."),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Enumerate everyone again, then remove who is gone."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Sync directory profiles from Microsoft Graph once (every enabled tenant, or one)."""
    from juno.cli.tenant import parse_guid

    tid = parse_guid(tenant, "--tenant") if tenant else None
    settings = load_settings()
    results: list[TenantResult] = run(run_sync(settings, tid, full=full, show_progress=not as_json))
    failures = [r for r in results if r.error]
    if as_json:
        typer.echo(json.dumps({"tenants": [r.to_dict() for r in results]}, indent=2))
    elif not results:
        typer.echo("no enabled tenant has Graph credentials: nothing to sync")
    else:
        for result in results:
            if result.stats is not None:
                typer.echo(summary_line(result))
    if len(failures) == 1 and len(results) == 1 and not as_json:
        raise OperationError(failures[0].error)
    for failure in failures:
        print(f"error: {failure.error}", file=sys.stderr)
    if failures:
        raise typer.Exit(1)
