"""`juno manifest build`: make the Teams app package an operator sends to a tenant admin.

Every failure an operator can cause (bad GUID, bad host, schema violation, missing npm) ends
as one `error: ...` line and exit code 2; a traceback would hide the one thing to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from juno.cli.common import load_settings
from juno.errors import UserError
from juno.settings import Settings
from manifest.builder import build_package, template_manifest_version
from manifest.errors import ManifestError
from manifest.schema import NPM_PACKAGE, NPM_SPEC, ensure_schemas, find_schemas

app = typer.Typer(
    help="Build the Teams app package (manifest, translations, icons) for tenant admins.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_USAGE = 2
# The host of the example URLs in juno.settings' defaults: never in a package given to users.
PLACEHOLDER_HOST = "juno.example.com"


def _is_placeholder(url: str) -> bool:
    return (urlsplit(url.strip()).hostname or "").lower() == PLACEHOLDER_HOST


@app.callback()
def _group() -> None:
    """Teams app package commands."""


@app.command()
def build(
    app_id: Annotated[
        str | None,
        typer.Option(
            "--app-id",
            help="Required. Application (client) ID of the bot's Entra app registration.",
            show_default=False,
        ),
    ] = None,
    bot_domain: Annotated[
        str | None,
        typer.Option(
            "--bot-domain",
            help="Required. Host name that serves /api/messages, e.g. bot.example.com.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        str, typer.Option("--version", help="App version X.Y.Z; raise it for every upload.")
    ] = "1.0.0",
    out: Annotated[Path, typer.Option("--out", help="Where to write the zip.")] = Path(
        "appPackage.zip"
    ),
    schema_dir: Annotated[
        Path | None,
        typer.Option(
            "--schema-dir",
            help=(
                f"Folder where `npm install --prefix DIR {NPM_SPEC}` was run. "
                "Default: <JUNO_DATA_DIR>/npm, fetched with npm on first use."
            ),
            show_default=False,
        ),
    ] = None,
    website_url: Annotated[
        str | None,
        typer.Option(
            "--website-url",
            help="Your product page (default: JUNO_MANIFEST_WEBSITE_URL).",
            show_default=False,
        ),
    ] = None,
    privacy_url: Annotated[
        str | None,
        typer.Option(
            "--privacy-url",
            help="Your privacy notice (default: JUNO_MANIFEST_PRIVACY_URL).",
            show_default=False,
        ),
    ] = None,
    terms_url: Annotated[
        str | None,
        typer.Option(
            "--terms-url",
            help="Your terms of use (default: JUNO_MANIFEST_TERMS_URL).",
            show_default=False,
        ),
    ] = None,
    allow_placeholders: Annotated[
        bool,
        typer.Option(
            "--allow-placeholders",
            help="Build even with the example URLs JUNO ships with (trial packages only).",
        ),
    ] = False,
    schema_check: Annotated[
        bool,
        typer.Option(
            "--schema-check/--no-schema-check",
            help="Validate against Microsoft's official JSON schema (needs npm once).",
        ),
    ] = True,
) -> None:
    """Write appPackage.zip for upload in the Teams admin center."""
    try:
        settings = _settings()
        if not app_id:
            raise ManifestError("--app-id is required: the bot's Application (client) ID")
        if not bot_domain:
            raise ManifestError(
                "--bot-domain is required: the bot's host name, e.g. bot.example.com"
            )
        urls = {
            "--website-url": website_url or settings.manifest_website_url,
            "--privacy-url": privacy_url or settings.manifest_privacy_url,
            "--terms-url": terms_url or settings.manifest_terms_url,
        }
        placeholders = [flag for flag, url in urls.items() if _is_placeholder(url)]
        if placeholders and not allow_placeholders:
            raise ManifestError(
                f"{', '.join(placeholders)} still point at JUNO's placeholder {PLACEHOLDER_HOST}: "
                "Teams shows these links to every user, so pass your organization's URLs "
                "(or --allow-placeholders for a package only for trying out)"
            )
        manifest_version = template_manifest_version()
        schema_root: Path | None = None
        package_note = "schema check skipped (--no-schema-check)"
        if schema_check:
            if schema_dir is None:
                schema_root = settings.data_dir / "npm"
                schemas = ensure_schemas(schema_root, manifest_version)
            else:
                schema_root = schema_dir
                schemas = find_schemas(schema_root, manifest_version)
            source = f"{NPM_PACKAGE} {schemas.package_version or '(unknown version)'}"
            package_note = f"validated against the official schema from {source}"
        path = build_package(
            app_id=app_id,
            bot_domain=bot_domain,
            version=version,
            out=out,
            developer_name=settings.manifest_developer_name,
            website_url=urls["--website-url"],
            privacy_url=urls["--privacy-url"],
            terms_url=urls["--terms-url"],
            accent_color=settings.manifest_accent_color,
            default_language=settings.manifest_default_language,
            schema_dir=schema_root,
        )
    except ManifestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(str(path))
    if placeholders:
        typer.echo(
            f"warning: {', '.join(placeholders)} are JUNO's placeholders ({PLACEHOLDER_HOST}); "
            "do not give this package to a tenant",
            err=True,
        )
    typer.echo(
        f"Teams manifest v{manifest_version}, app {app_id.strip().lower()}, "
        f"bot {bot_domain.strip().lower()}, version {version.strip()}, "
        f"default language {settings.manifest_default_language}; {package_note}"
    )


def _settings() -> Settings:
    """Load settings, turning a bad JUNO_MANIFEST_* value into one readable line."""
    try:
        return load_settings()
    except UserError as exc:
        raise ManifestError(str(exc)) from None


if __name__ == "__main__":
    app()
