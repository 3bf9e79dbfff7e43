"""Finding Microsoft's official Teams manifest JSON schemas on disk, and fetching them with npm.

The schemas are not copied into this repository: Microsoft publishes them in the npm package
`@microsoft/app-manifest`, under `build/json-schemas/teams/v<version>/`. An `npm install
--prefix DIR` puts that package in `DIR/node_modules/...`; this module finds the files there
and never touches the network except through npm itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from manifest.errors import ManifestError

NPM_PACKAGE = "@microsoft/app-manifest"
# Pinned to the major version so a breaking re-layout of the package cannot arrive unasked.
NPM_SPEC = f"{NPM_PACKAGE}@1"
MANIFEST_SCHEMA = "MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = "MicrosoftTeams.Localization.schema.json"
SCHEMA_URL_BASE = "https://developer.microsoft.com/json-schemas/teams"
_PACKAGE_DIR = Path("node_modules", "@microsoft", "app-manifest")
_TEAMS_SCHEMAS = Path("build", "json-schemas", "teams")
NPM_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class SchemaFiles:
    """The schema files for one manifest version, plus where they came from for the summary."""

    manifest: Path
    localization: Path
    package_version: str | None

    @property
    def directory(self) -> Path:
        return self.manifest.parent


def manifest_schema_url(manifest_version: str) -> str:
    return f"{SCHEMA_URL_BASE}/v{manifest_version}/{MANIFEST_SCHEMA}"


def localization_schema_url(manifest_version: str) -> str:
    return f"{SCHEMA_URL_BASE}/v{manifest_version}/{LOCALIZATION_SCHEMA}"


def install_hint(cache_dir: Path) -> str:
    return f"npm install --prefix {cache_dir} {NPM_SPEC}"


def find_schemas(root: Path, manifest_version: str) -> SchemaFiles:
    """Locate the schemas under an npm prefix (or the package folder itself).

    The known layout is tried first; a search inside the package is the fallback so that a
    minor re-arrangement in a future 1.x release does not break the build.
    """
    package = root / _PACKAGE_DIR if (root / _PACKAGE_DIR).is_dir() else root
    version_dir = package / _TEAMS_SCHEMAS / f"v{manifest_version}"
    if not (version_dir / MANIFEST_SCHEMA).is_file() and package.is_dir():
        found = sorted(package.rglob(f"teams/v{manifest_version}/{MANIFEST_SCHEMA}"))
        if found:
            version_dir = found[0].parent
    manifest, localization = version_dir / MANIFEST_SCHEMA, version_dir / LOCALIZATION_SCHEMA
    package_version = _package_version(package)
    if not manifest.is_file() or not localization.is_file():
        where = f"{NPM_PACKAGE} {package_version}" if package_version else str(root)
        raise ManifestError(
            f"no Teams manifest v{manifest_version} schema in {where}; "
            f"run `{install_hint(root)}` (needs Node.js/npm) or point --schema-dir at such a folder"
        )
    return SchemaFiles(manifest, localization, package_version)


def fetch_schemas(cache_dir: Path, *, timeout: float = NPM_TIMEOUT_SECONDS) -> None:
    """Install the npm package into `cache_dir`; npm's own registry config and cache apply.

    `--ignore-scripts` because we only want the JSON files, not to run anyone's install hooks.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise ManifestError(
            f"npm is not installed, so the official Teams manifest schema cannot be fetched; "
            f"install Node.js (with npm), or run `{install_hint(cache_dir)}` on a machine that "
            f"has it and pass that folder with --schema-dir"
        )
    command = [
        npm,
        "install",
        "--prefix",
        str(cache_dir),
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel=error",
        NPM_SPEC,
    ]
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise ManifestError(
            f"`{install_hint(cache_dir)}` did not finish within {timeout:.0f} s"
        ) from None
    except OSError as exc:
        raise ManifestError(f"cannot run `{install_hint(cache_dir)}`: {exc}") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        raise ManifestError(f"`{install_hint(cache_dir)}` failed: {detail}")


def ensure_schemas(cache_dir: Path, manifest_version: str) -> SchemaFiles:
    """Use the cached schemas if present, otherwise fetch them once into the cache."""
    try:
        return find_schemas(cache_dir, manifest_version)
    except ManifestError:
        fetch_schemas(cache_dir)
    return find_schemas(cache_dir, manifest_version)


def _package_version(package: Path) -> str | None:
    try:
        data = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None
