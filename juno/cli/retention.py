"""`juno retention run`: the retention sweep `juno serve` runs daily, on demand (or from cron
when the in-process job is switched off with JUNO_RETENTION_JOB=0)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from juno.cli.common import load_settings, run
from juno.cli.tenant import parse_guid
from juno.errors import UserError
from privacy.datamap import DATA_MAP
from privacy.retention import SweepReport, sweep_tenants
from storage.collections import Coll
from storage.repositories import TenantNotFound, TenantRegistry

app = typer.Typer(help="Retention sweeps (KVKK periodic destruction).", no_args_is_help=True)


def describe(report: SweepReport) -> str:
    if not report.records and not report.erased_users and not report.finished_erasures:
        parts = ["nothing due"]
    else:
        parts = [
            f"{store} {count} ({DATA_MAP[Coll(store)].retention.at_end})"
            for store, count in sorted(report.records.items())
        ]
        if report.erased_users:
            parts.append(f"{report.erased_users} soft-deleted users erased")
        if report.finished_erasures:
            parts.append(f"{report.finished_erasures} interrupted erasures finished")
    resumed = "; finished an interrupted sweep" if report.resumed else ""
    return f"tenant {report.tenant_id}: {', '.join(parts)}{resumed}"


@app.command("run")
def run_command(
    tenant_id: Annotated[
        str | None, typer.Option("--tenant-id", "--tenant", help="Only this tenant.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """Sweep every tenant (or one) now: anonymize old usage KPIs, delete expired exports and
    dialog state, erase soft-deleted accounts past the grace period, and more (see `juno ropa`)."""
    from juno.keys import pseudonym_key
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id") if tenant_id else None
    settings = load_settings()

    async def go() -> list[SweepReport]:
        async with database(settings) as db:
            try:
                if tid is not None:
                    await TenantRegistry(db.db).require(tid)
                return await sweep_tenants(
                    db.db,
                    key=pseudonym_key(settings),
                    grace_days=settings.soft_delete_grace_days,
                    tenant_id=tid,
                )
            except TenantNotFound as exc:
                raise UserError(str(exc)) from None

    reports: list[SweepReport] = run(go())
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
        return
    if not reports:
        typer.echo("no tenants registered")
    for report in reports:
        typer.echo(describe(report))
