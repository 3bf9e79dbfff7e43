"""Turning the committed template, translations and icons into the zip a tenant admin uploads.

The template is English; `template/tr.json` is its Turkish localization file, keyed the way
Teams expects (`bots[0].commandLists[0].commands[1].title`). When Turkish is the default
language the Turkish strings are written into manifest.json and the English ones, read back
out of the template by the same keys, become `en.json`, so the two languages can't drift.
"""

from __future__ import annotations

import copy
import json
import re
import string
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from manifest.checks import LANGUAGES, check_app_id, check_bot_domain, check_language, check_version
from manifest.errors import ManifestError
from manifest.schema import SchemaFiles, find_schemas, localization_schema_url
from manifest.validation import load_json, local_registry, validate

TEMPLATE_DIR: Final = Path(__file__).parent / "template"
ICON_DIR: Final = Path(__file__).parent / "icons"
TEMPLATE_LANGUAGE: Final = "en"
ICON_SIZES: Final = {"color.png": 192, "outline.png": 32}
_UNLOCALIZED_KEYS: Final = frozenset({"$schema", "localizationKeys"})
_KEY_PART_RE: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\.")
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Fixed timestamp so the same inputs always give a byte-identical zip (easy to diff/verify).
_ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class AppPackage:
    """The rendered documents, before they are written; lets tests and callers inspect them."""

    manifest: dict[str, Any]
    localizations: dict[str, dict[str, Any]]

    @property
    def manifest_version(self) -> str:
        return str(self.manifest["manifestVersion"])


@cache
def _template() -> dict[str, Any]:
    return _expect_object(load_json(TEMPLATE_DIR / "manifest.json"), "manifest template")


@cache
def _translations() -> dict[str, dict[str, Any]]:
    return {
        language: _expect_object(load_json(TEMPLATE_DIR / f"{language}.json"), language)
        for language in LANGUAGES
        if language != TEMPLATE_LANGUAGE
    }


def template_manifest_version() -> str:
    return str(_template()["manifestVersion"])


def render_package(
    *,
    app_id: str,
    bot_domain: str,
    version: str,
    developer_name: str,
    website_url: str,
    privacy_url: str,
    terms_url: str,
    accent_color: str,
    default_language: str,
) -> AppPackage:
    """Fill the template without judging the values; checks live in build_package and the schema.

    Only the language is checked here, because it decides the package's shape. Leaving the
    rest unchecked is what lets a test feed in a bad value and see the official schema, not
    our own checks, reject it.
    """
    default_language = check_language(default_language)
    other = next(language for language in LANGUAGES if language != default_language)
    values = {
        "APP_ID": app_id,
        "BOT_DOMAIN": bot_domain,
        "VERSION": version,
        "DEVELOPER_NAME": developer_name,
        "WEBSITE_URL": website_url,
        "PRIVACY_URL": privacy_url,
        "TERMS_URL": terms_url,
        "ACCENT_COLOR": accent_color,
        "DEFAULT_LANGUAGE": default_language,
        "OTHER_LANGUAGE": other,
    }
    template = _fill(_template(), values)
    strings = _strings_by_language(template)
    manifest = _apply(template, strings[default_language])
    localization = {
        "$schema": localization_schema_url(str(manifest["manifestVersion"])),
        **{k: v for k, v in strings[other].items() if k != "$schema"},
    }
    return AppPackage(manifest=manifest, localizations={f"{other}.json": localization})


def validate_package(package: AppPackage, schemas: SchemaFiles) -> None:
    """Check manifest.json and each localization file against the official schemas.

    Each translation is also applied to the manifest and checked as a manifest: the draft-04
    localization schema puts `maxLength` next to `$ref`, where draft 04 ignores it, so only
    the manifest schema catches a Turkish description that is too long for Teams.
    """
    registry = local_registry(schemas.directory)
    manifest_schema = load_json(schemas.manifest)
    validate(package.manifest, manifest_schema, label="manifest.json", registry=registry)
    localization_schema = load_json(schemas.localization)
    for name, document in package.localizations.items():
        validate(document, localization_schema, label=name, registry=registry)
        translated = _apply(package.manifest, document)
        label = f"manifest.json with {name} applied"
        validate(translated, manifest_schema, label=label, registry=registry)


def write_package(package: AppPackage, out: Path) -> Path:
    """Write the zip with every file at its root, as Teams requires, replacing `out` atomically."""
    files = dict(_package_files(package))
    if out.is_dir():
        raise ManifestError(f"--out {out} is a folder; give a file name such as appPackage.zip")
    partial = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w") as archive:
            for name, data in files.items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ManifestError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out


def build_package(
    *,
    app_id: str,
    bot_domain: str,
    version: str,
    out: Path,
    developer_name: str,
    website_url: str,
    privacy_url: str,
    terms_url: str,
    accent_color: str,
    default_language: str,
    schema_dir: Path | None,
) -> Path:
    """Check the arguments, render, validate against the official schema, and write the zip.

    `schema_dir` is an `npm install --prefix` folder holding @microsoft/app-manifest; with
    None the schema check is skipped (only our own argument checks run).
    """
    package = render_package(
        app_id=check_app_id(app_id),
        bot_domain=check_bot_domain(bot_domain),
        version=check_version(version),
        developer_name=developer_name,
        website_url=website_url,
        privacy_url=privacy_url,
        terms_url=terms_url,
        accent_color=accent_color,
        default_language=default_language,
    )
    if schema_dir is not None:
        validate_package(package, find_schemas(schema_dir, package.manifest_version))
    return write_package(package, out)


def _package_files(package: AppPackage) -> Iterator[tuple[str, bytes]]:
    yield "manifest.json", _dump(package.manifest)
    for name, document in package.localizations.items():
        yield name, _dump(document)
    for name, size in ICON_SIZES.items():
        yield name, _read_icon(name, size)


def _dump(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _read_icon(name: str, size: int) -> bytes:
    """Read a committed icon, checking just the PNG header so Pillow isn't needed at run time."""
    path = ICON_DIR / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read icon {path}: {exc.strerror}") from None
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ManifestError(f"icon {path} is not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    if (width, height) != (size, size):
        raise ManifestError(f"icon {path} is {width}x{height}, Teams needs {size}x{size}")
    return data


def _fill(node: Any, values: dict[str, str]) -> Any:
    """Substitute `${NAME}` in string values only, so a value can never alter the JSON shape."""
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        try:
            return string.Template(node).substitute(values)
        except (KeyError, ValueError) as exc:
            message = f"manifest template value {node!r} has a bad placeholder: {exc}"
            raise ManifestError(message) from None
    return node


def _strings_by_language(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    translations = _translations()
    keys = [key for key in next(iter(translations.values())) if key not in _UNLOCALIZED_KEYS]
    strings = dict(translations)
    strings[TEMPLATE_LANGUAGE] = {key: _get_path(template, key) for key in keys}
    return strings


def _apply(manifest: dict[str, Any], strings: dict[str, Any]) -> dict[str, Any]:
    """A copy of the manifest with a localization file's strings put in place."""
    result = copy.deepcopy(manifest)
    for key, text in strings.items():
        if key not in _UNLOCALIZED_KEYS:
            _set_path(result, key, text)
    return result


def _path_parts(key: str) -> list[str | int]:
    parts: list[str | int] = []
    position = 0
    for match in _KEY_PART_RE.finditer(key):
        if match.start() != position:
            break
        position = match.end()
        name, index = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
    if position != len(key) or not parts:
        raise ManifestError(f"localization key {key!r} is not a manifest path")
    return parts


def _get_path(document: Any, key: str) -> Any:
    node = document
    for part in _path_parts(key):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise ManifestError(
                f"localization key {key!r} names no field in the manifest"
            ) from None
    return node


def _set_path(document: Any, key: str, value: Any) -> None:
    *parents, last = _path_parts(key)
    try:
        holder = document
        for part in parents:
            holder = holder[part]
        holder[last]  # must exist already: a translation replaces template text, never adds
        holder[last] = value
    except (KeyError, IndexError, TypeError):
        raise ManifestError(f"localization key {key!r} names no field in the manifest") from None


def _expect_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{what} must be a JSON object")
    return value
