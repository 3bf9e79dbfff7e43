"""`juno ropa`: the records of processing, rendered from the data map.

Without options: the data map's own record (every store, every removal mode). `--tenant ID`:
that controller's record (GDPR Art. 30(1), the KVKK inventory). `--processor`: JUNO's own
record as processor over every registered tenant (Art. 30(2)). Markdown or `--json`, in
`--locale tr|en`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from juno.cli.common import load_settings, run
from juno.errors import UserError
from privacy.datamap import validate
from privacy.removal_modes import parse_mode
from privacy.ropa import (
    processor_record,
    processor_record_as_markdown,
    record_as_dict,
    record_as_markdown,
    record_for_tenant,
    tenant_record_as_markdown,
)


def ropa_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    mode: Annotated[
        str | None,
        typer.Option("--removal-mode", help="Show only what this removal mode does."),
    ] = None,
    tenant_id: Annotated[
        str | None,
        typer.Option("--tenant-id", "--tenant", help="The controller's record for one tenant."),
    ] = None,
    processor: Annotated[
        bool,
        typer.Option("--processor", help="JUNO's processor record over every tenant."),
    ] = False,
    locale: Annotated[str, typer.Option("--locale", help="tr or en.")] = "en",
) -> None:
    """Print a record of processing activities (GDPR Art. 30 / KVKK inventory)."""
    validate()
    if locale not in ("tr", "en"):
        raise UserError(f"--locale must be tr or en, got {locale!r}")
    try:
        removal_mode = parse_mode(mode) if mode else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if tenant_id is not None or processor:
        if removal_mode is not None:
            raise UserError(
                "--tenant and --processor show each tenant's own mode; drop --removal-mode"
            )
        if tenant_id is not None and processor:
            raise UserError("give either --tenant or --processor, not both")
        _echo(_for_tenant(tenant_id, as_json, locale) if tenant_id else _processor(as_json, locale))
        return
    if as_json:
        typer.echo(json.dumps(record_as_dict(mode=removal_mode), indent=2, ensure_ascii=False))
    else:
        typer.echo(record_as_markdown(mode=removal_mode), nl=False)


def _echo(body: str | dict[str, Any]) -> None:
    if isinstance(body, str):
        typer.echo(body, nl=False)
    else:
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))


def _for_tenant(tenant_id: str, as_json: bool, locale: str) -> str | dict[str, Any]:
    from juno.cli.tenant import registered_tenant
    from juno.legal import deployment_subprocessors, processor_identity

    record = registered_tenant(tenant_id)
    settings = load_settings()
    kwargs: dict[str, Any] = {
        "locale": locale,
        "subprocessors": deployment_subprocessors(settings),
        "processor": processor_identity(settings),
    }
    if as_json:
        return record_for_tenant(record, **kwargs)
    return tenant_record_as_markdown(record, **kwargs)


def _processor(as_json: bool, locale: str) -> str | dict[str, Any]:
    from juno.legal import deployment_subprocessors, processor_identity
    from juno.runtime import database
    from storage.repositories import TenantRecord, TenantRegistry

    settings = load_settings()

    async def go() -> list[TenantRecord]:
        async with database(settings) as db:
            return await TenantRegistry(db.db).list_all()

    records: list[TenantRecord] = run(go())
    subprocessors = deployment_subprocessors(settings)
    who = processor_identity(settings)
    if as_json:
        return processor_record(records, locale=locale, subprocessors=subprocessors, processor=who)
    return processor_record_as_markdown(
        records, locale=locale, subprocessors=subprocessors, processor=who
    )
