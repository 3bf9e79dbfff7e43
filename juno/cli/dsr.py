"""`juno dsr`: the data-subject request queue, and erasure or export on an operator's word.

Tenant admins decide requests in Teams; operators use this when a controller instructs them
directly (e-mail, ticket). Every decision is audit-logged under `operator[:NAME]`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.outcomes import tell_requester
from juno.cli.common import load_settings, run
from juno.cli.tenant import TenantIdOpt, parse_guid
from juno.errors import UserError
from privacy.dsr import (
    DsrError,
    DsrRequest,
    DsrStatus,
    DsrType,
    approve,
    complete,
    get_request,
    list_requests,
    open_request,
    parse_type,
    reject,
)
from privacy.erasure import erase_user
from privacy.export import build_export
from privacy.removal_modes import DEFAULT_REMOVAL_MODE, RemovalMode, parse_mode
from privacy.strategies import keyed_hash
from privacy.suppression import lift
from storage.repositories import TenantNotFound, TenantRegistry, TenantStore

app = typer.Typer(help="Data-subject requests: list, decide, erase, export.", no_args_is_help=True)

RequestOpt = Annotated[str, typer.Option("--id", help="Request id (from `juno dsr list`).")]
UserOpt = Annotated[str, typer.Option("--user", help="The person's Entra object id (GUID).")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who decides (name, for the audit).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]


def _actor(by: str | None) -> str:
    return f"operator:{by.strip()}" if by and by.strip() else "operator"


def _mode(value: str | None) -> RemovalMode | None:
    try:
        return parse_mode(value) if value else None
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _print_request(request: DsrRequest, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(request.as_dict(), indent=2))
        return
    flag = " (OVERDUE)" if request.overdue() else ""
    typer.echo(f"request {request.id}: {request.type.value}, {request.status.value}{flag}")
    for name in ("user_id", "channel", "details", "decided_by", "reason", "note"):
        value = getattr(request, name)
        if value:
            typer.echo(f"  {name}: {value}")
    for name in ("created_at", "due_at", "decided_at", "closed_at"):
        value = getattr(request, name)
        if value:
            typer.echo(f"  {name}: {_when(value)}")


def _notifier(settings: Any, store: TenantStore) -> Any:
    """A way to message requesters in Teams, when this operator has the bot's identity."""
    from bot.outcomes import notifier_for
    from juno.bot_wiring import bot_config
    from juno.logs import get_logger

    config = bot_config(settings)
    if config is None:
        return None
    return notifier_for(config, store.db, get_logger("juno.dsr"))


async def _tell(notifier: Any, store: TenantStore, request: DsrRequest) -> None:
    from bot.outcomes import outcome_message

    message = outcome_message(request)
    if message is None:
        return
    await _send(notifier, store, request, *message)


async def _send(
    notifier: Any, store: TenantStore, request: DsrRequest, key: str, values: dict[str, str]
) -> None:
    """The desk's path: a proactive message in the person's conversation; when this process
    cannot send it, queued for `juno serve` to deliver."""
    from bot.outcomes import queue_for_requester, tell_requester

    if notifier is not None and await tell_requester(
        notifier, store.tenant_id, request, key, values
    ):
        typer.echo("the requester was told in Teams", err=True)
    elif await queue_for_requester(store, request, key, values):
        typer.echo("the requester will be told in Teams by juno serve (queued)", err=True)
    else:
        typer.echo("the requester has no conversation with JUNO to be told in", err=True)


def _in_tenant(tenant_id: str, work: Any) -> Any:
    """Run `work(db, store)` inside a registered tenant; one-line errors for the usual
    mistakes."""
    from juno.runtime import database

    settings = load_settings()

    async def go() -> Any:
        async with database(settings) as db:
            try:
                await TenantRegistry(db.db).require(tenant_id)
                return await work(settings, TenantStore(db.db, tenant_id))
            except (TenantNotFound, DsrError) as exc:
                raise UserError(str(exc)) from None

    return run(go())


@app.command("list")
def list_(
    tenant_id: TenantIdOpt,
    status: Annotated[str | None, typer.Option(help="open, approved, rejected, completed")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List requests, overdue first."""
    tid = parse_guid(tenant_id, "--tenant-id")
    try:
        wanted = DsrStatus(status) if status else None
    except ValueError:
        raise UserError(
            f"unknown status {status!r}; choose open, approved, rejected or completed"
        ) from None

    async def work(_: Any, store: TenantStore) -> list[DsrRequest]:
        return await list_requests(store, status=wanted)

    requests: list[DsrRequest] = _in_tenant(tid, work)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in requests], indent=2))
        return
    if not requests:
        typer.echo("no requests")
        return
    table = Table("", "id", "type", "status", "user", "created", "due", "days left")
    for r in requests:
        table.add_row(
            "OVERDUE" if r.overdue() else "",
            r.id,
            r.type.value,
            r.status.value,
            r.user_id,
            _when(r.created_at),
            _when(r.due_at),
            str(r.days_left()) if r.status in (DsrStatus.OPEN, DsrStatus.APPROVED) else "",
        )
    Console(width=140).print(table)


@app.command("show")
def show(tenant_id: TenantIdOpt, request_id: RequestOpt, as_json: JsonOpt = False) -> None:
    """Show one request."""
    tid = parse_guid(tenant_id, "--tenant-id")

    async def work(_: Any, store: TenantStore) -> DsrRequest:
        return await get_request(store, request_id)

    _print_request(_in_tenant(tid, work), as_json)


@app.command("open")
def open_(
    tenant_id: TenantIdOpt,
    user: UserOpt,
    type_: Annotated[str, typer.Option("--type", help="access, rectification or erasure")],
    details: Annotated[str | None, typer.Option(help="What the person asked for.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a request received outside Teams (its deadline starts now)."""
    tid = parse_guid(tenant_id, "--tenant-id")
    uid = parse_guid(user, "--user")
    try:
        kind = parse_type(type_)
    except DsrError as exc:
        raise UserError(str(exc)) from None

    async def work(_: Any, store: TenantStore) -> DsrRequest:
        return await open_request(store, uid, kind, details=details, channel="operator")

    _print_request(_in_tenant(tid, work), as_json)


@app.command("approve")
def approve_(
    tenant_id: TenantIdOpt,
    request_id: RequestOpt,
    by: ByOpt = None,
    removal_mode: Annotated[
        str | None, typer.Option(help="Erasures: override the tenant's removal mode.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a request; an erasure request is performed now."""
    tid = parse_guid(tenant_id, "--tenant-id")
    mode = _mode(removal_mode)

    async def work(settings: Any, store: TenantStore) -> DsrRequest:
        from juno.keys import pseudonym_key

        request = await get_request(store, request_id)
        pseudonym = (
            keyed_hash(pseudonym_key(settings), store.tenant_id)
            if request.type is DsrType.ERASURE
            else None
        )
        notifier = _notifier(settings, store)

        async def before_erasure(req: DsrRequest) -> None:
            # Direct only: a queued message would be erased with the person's data.
            if notifier is not None:
                await tell_requester(
                    notifier, store.tenant_id, req, "dsr_erasure_starting", {"id": req.id}
                )

        decided = await approve(
            store,
            request_id,
            decided_by=_actor(by),
            pseudonym=pseudonym,
            mode=mode,
            before_erasure=before_erasure,
        )
        if decided.type is not DsrType.ERASURE:
            await _tell(notifier, store, decided)
        return decided

    _print_request(_in_tenant(tid, work), as_json)


@app.command("reject")
def reject_(
    tenant_id: TenantIdOpt,
    request_id: RequestOpt,
    reason: Annotated[str, typer.Option(help="Told to the requester.")],
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject an open request, with a reason."""
    tid = parse_guid(tenant_id, "--tenant-id")

    async def work(settings: Any, store: TenantStore) -> DsrRequest:
        decided = await reject(store, request_id, decided_by=_actor(by), reason=reason)
        await _tell(_notifier(settings, store), store, decided)
        return decided

    _print_request(_in_tenant(tid, work), as_json)


@app.command("complete")
def complete_(
    tenant_id: TenantIdOpt,
    request_id: RequestOpt,
    note: Annotated[str | None, typer.Option(help="What was done.")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark an access or rectification request as handled."""
    tid = parse_guid(tenant_id, "--tenant-id")

    async def work(settings: Any, store: TenantStore) -> DsrRequest:
        done = await complete(store, request_id, decided_by=_actor(by), note=note)
        await _tell(_notifier(settings, store), store, done)
        return done

    _print_request(_in_tenant(tid, work), as_json)


@app.command("erase")
def erase(
    tenant_id: TenantIdOpt,
    user: UserOpt,
    reason: Annotated[str, typer.Option(help="Why (kept in the destruction log).")] = (
        "operator request"
    ),
    removal_mode: Annotated[
        str | None, typer.Option(help="Override the tenant's removal mode.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase one person's data now, per the tenant's removal mode (resumes an interrupted
    erasure of the same person)."""
    tid = parse_guid(tenant_id, "--tenant-id")
    uid = parse_guid(user, "--user")
    forced = _mode(removal_mode)
    if not reason.strip():
        raise UserError("--reason must not be empty")

    async def work(settings: Any, store: TenantStore) -> tuple[str, list[Any]]:
        from juno.keys import pseudonym_key

        record = await store.own_record.get()
        mode = forced or (parse_mode(record.removal_mode) if record else DEFAULT_REMOVAL_MODE)
        outcomes = await erase_user(
            store,
            uid,
            mode,
            reason=reason.strip(),
            pseudonym=keyed_hash(pseudonym_key(settings), store.tenant_id),
            suppress=True,
        )
        total = sum(o.records for o in outcomes)
        await store.audit_log.record(
            actor="operator",
            action="erase",
            target="user",
            outcome=f"erased {total} records",
        )
        return mode.value, outcomes

    mode_name, outcomes = _in_tenant(tid, work)
    if as_json:
        body = {"mode": mode_name, "stores": [o.__dict__ for o in outcomes]}
        typer.echo(json.dumps(body, indent=2))
        return
    if not outcomes:
        typer.echo(f"nothing to erase for {uid} (mode {mode_name})")
        return
    typer.echo(f"erased {uid} (mode {mode_name}):")
    for o in outcomes:
        typer.echo(f"  {o.store}: {o.records} records ({o.method})")


@app.command("unsuppress")
def unsuppress(tenant_id: TenantIdOpt, user: UserOpt, by: ByOpt = None) -> None:
    """Lift the suppression an erasure on request left, on the controller's word: the next
    full sync writes the person's directory profile again."""
    tid = parse_guid(tenant_id, "--tenant-id")
    uid = parse_guid(user, "--user")

    async def work(settings: Any, store: TenantStore) -> bool:
        from juno.keys import pseudonym_key

        lifted = await lift(store, uid, keyed_hash(pseudonym_key(settings), store.tenant_id))
        # Audited without the id: the log must not name someone who was erased.
        await store.audit_log.record(
            actor=_actor(by),
            action="lift_suppression",
            target="suppression",
            outcome="lifted" if lifted else "none found",
        )
        return lifted

    if not _in_tenant(tid, work):
        raise UserError(f"no suppression for {uid} in tenant {tid}")
    typer.echo(f"suppression lifted: {uid} comes back with the next full sync (juno sync --full)")


@app.command("export")
def export(
    tenant_id: TenantIdOpt,
    user: UserOpt,
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip.")],
    locale: Annotated[str, typer.Option(help="Summary language: tr or en.")] = "en",
) -> None:
    """Write one person's export (the same zip the bot and API hand out) to a file."""
    tid = parse_guid(tenant_id, "--tenant-id")
    uid = parse_guid(user, "--user")
    if locale not in ("tr", "en"):
        raise UserError(f"--locale must be tr or en, got {locale!r}")
    if out.exists() and out.is_dir():
        raise UserError(f"--out {out} is a directory; give a file name")

    async def work(_: Any, store: TenantStore) -> Any:
        return await build_export(store, uid, locale=locale, channel="operator")

    result = _in_tenant(tid, work)
    try:
        # Personal data: readable by the operator only, from the first byte.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(result.zip_bytes)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None
    held = sum(result.counts.values())
    typer.echo(f"wrote {out} ({len(result.zip_bytes)} bytes, {held} records)")
