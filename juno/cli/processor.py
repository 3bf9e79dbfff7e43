"""`juno security-summary` and `juno subprocessors`: the evidence a customer asks of its
processor, from the running configuration (the same texts the admin desk hands out)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from juno.cli.common import load_settings, run
from juno.errors import UserError

LocaleOpt = Annotated[str, typer.Option("--locale", help="tr or en.")]


def _locale(value: str) -> str:
    if value not in ("tr", "en"):
        raise UserError(f"--locale must be tr or en, got {value!r}")
    return value


def security_summary_command(
    locale: LocaleOpt = "en",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Print the security summary (technical and organisational measures) as Markdown."""
    from juno.processor import deployment
    from privacy.security_summary import render

    lang = _locale(locale)
    text = render(deployment(load_settings()), lang)
    if out is None:
        typer.echo(text)
        return
    if out.is_dir():
        raise UserError(f"--out {out} is a directory; give a file name")
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out}")


def subprocessors_command(
    locale: LocaleOpt = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Tell every tenant's admins in Teams if the list changed since they were last "
            "told (`juno serve` does this at every start).",
        ),
    ] = False,
) -> None:
    """Print the sub-processors this deployment engages (from its settings)."""
    from juno.processor import subprocessors_of
    from privacy.security_summary import subprocessor_table
    from privacy.subprocessors import fingerprint

    lang = _locale(locale)
    settings = load_settings()
    subs = subprocessors_of(settings)
    if as_json:
        body = {"fingerprint": fingerprint(subs), "subprocessors": [asdict(s) for s in subs]}
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        typer.echo(subprocessor_table(subs, lang))
    if not notify:
        return

    async def go() -> Any:
        from bot.outcomes import notifier_for
        from juno.bot_wiring import bot_config
        from juno.logs import get_logger
        from juno.processor import notify_subprocessor_change
        from juno.runtime import database

        config = bot_config(settings)
        if config is None:
            raise UserError("--notify needs the bot's identity (JUNO_BOT_APP_ID)")
        async with database(settings) as db:
            notifier = notifier_for(config, db.db, get_logger("juno.processor"))
            return await notify_subprocessor_change(db.db, notifier, subs)

    report = run(go())
    for tenant, told in sorted(report.told.items()):
        typer.echo(f"tenant {tenant}: {told} admin(s) told of the change", err=True)
    for tenant in report.unreached:
        typer.echo(
            f"tenant {tenant}: no admin could be told in Teams; tried again next time", err=True
        )
    typer.echo(f"{len(report.unchanged)} tenant(s) already told of this list", err=True)
