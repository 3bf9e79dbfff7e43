"""`juno tenant export` and `juno tenant purge`: the end of a contract.

Export first (the customer gets everything back), purge second (we keep nothing but the proof).
Both work from the data map, so neither can forget a store.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from juno.cli.common import load_settings, run
from juno.cli.tenant import TenantIdOpt, parse_guid
from juno.errors import UserError
from privacy.runs import StoreOutcome
from privacy.tenant_archive import TenantArchive, write_tenant_archive
from privacy.tenant_purge import Remaining, nothing_to_purge, purge_tenant, remaining
from storage.repositories import TenantRegistry, TenantStore


def export_command(
    tenant_id: TenantIdOpt,
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip archive.")],
    force: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Everything held for one tenant as a zip: manifest, one JSONL file per store, checksums."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    target = out.expanduser()
    if target.exists() and not force:
        raise UserError(f"{target} exists; choose another --out or add --force")
    if not target.parent.is_dir():
        raise UserError(f"{target.parent} is not a directory")
    settings = load_settings()

    async def go(fh: BinaryIO) -> TenantArchive:
        async with database(settings) as db:
            if await TenantRegistry(db.db).get(tid) is None:
                raise UserError(f"tenant {tid} is not registered")
            return await write_tenant_archive(TenantStore(db.db, tid), fh)

    # Written beside the target and renamed, so a failed export never leaves a half archive
    # under the name the operator asked for.
    fd, partial = tempfile.mkstemp(prefix=".juno-archive-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            archive: TenantArchive = run(go(fh))
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    stores = sum(1 for s in archive.stores if s.records)
    typer.echo(
        f"tenant {tid}: {archive.records} records from {stores} stores written to {target} "
        "(manifest.json and SHA256SUMS inside)"
    )


def purge_command(
    tenant_id: TenantIdOpt,
    confirm: Annotated[
        str,
        typer.Option(
            "--confirm",
            help="The tenant's registered name (or its id once the registry entry is gone).",
        ),
    ],
) -> None:
    """Delete every record of a tenant in every store, leaving only destruction-log entries."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    settings = load_settings()

    async def go() -> tuple[list[StoreOutcome], Remaining]:
        async with database(settings) as db:
            record = await TenantRegistry(db.db).get(tid)
            store = TenantStore(db.db, tid)
            if await nothing_to_purge(store):
                return [], await remaining(store)
            expected = record.name if record else tid
            if confirm.strip() != expected:
                what = "name" if record else "id (its registry entry is already gone)"
                raise UserError(f"--confirm must be the tenant's {what}: {expected!r}")
            outcomes = await purge_tenant(store)
            return outcomes, await remaining(store)

    outcomes, after = run(go())
    if not outcomes and after.total == 0:
        typer.echo(
            f"tenant {tid}: nothing to purge ({after.log_entries} destruction-log entries kept)"
        )
        return
    for outcome in outcomes:
        typer.echo(f"  {outcome.store}: {outcome.records} deleted")
    if after.total:
        raise UserError(f"tenant {tid}: {after.total} records remain; run the purge again")
    destroyed = sum(o.records for o in outcomes)
    typer.echo(
        f"tenant {tid} purged: {destroyed} records deleted; "
        f"{after.log_entries} destruction-log entries kept"
    )
