"""The Teams app package: official-schema validity, icons, zip layout and CLI error handling.

The schemas come from Microsoft's npm package, installed once per test session; nothing from
it is copied into the repository. Without npm the fixture fails rather than skips, because a
package that was never checked against the real schema is exactly what these tests prevent.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import Draft4Validator
from PIL import Image, ImageChops

from manifest import draw_icons
from manifest.builder import (
    ICON_DIR,
    TEMPLATE_DIR,
    build_package,
    render_package,
    template_manifest_version,
    validate_package,
)
from manifest.checks import check_app_id, check_bot_domain, check_version
from manifest.errors import ManifestError
from manifest.schema import (
    LOCALIZATION_SCHEMA,
    MANIFEST_SCHEMA,
    NPM_SPEC,
    fetch_schemas,
    find_schemas,
)
from manifest.validation import validate

REPO = Path(__file__).resolve().parents[3]
APP_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
DOMAIN = "juno-bot.example.com"
SETTINGS: dict[str, str] = {
    "developer_name": "Acme IT",
    "website_url": "https://acme.example.com",
    "privacy_url": "https://acme.example.com/privacy",
    "terms_url": "https://acme.example.com/terms",
    "accent_color": "#4B3F9E",
}
EN_COMMANDS = ["help", "find", "my profile", "export my data", "my consents", "admin"]
TR_COMMANDS = ["yardım", "ara", "profilim", "verilerimi indir", "onaylarım", "yönetim"]
# Runs the sub-app the way `juno manifest` will, without `python -m` (whose runpy warning
# about the already-imported juno.cli package would pollute stderr).
CLI = [sys.executable, "-c", "from juno.cli.manifest import app; app(prog_name='juno manifest')"]


@pytest.fixture(scope="session")
def npm_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("npm") is None:
        pytest.fail(f"npm is required to fetch the official Teams schemas ({NPM_SPEC})")
    prefix = tmp_path_factory.mktemp("npm")
    try:
        fetch_schemas(prefix)
    except ManifestError as exc:
        pytest.fail(f"could not fetch the official Teams schemas: {exc}")
    return prefix


@pytest.fixture(scope="session")
def official_dir(npm_prefix: Path) -> Path:
    """Where the npm package keeps this manifest version's schemas, spelled out independently."""
    version_dir = (
        npm_prefix
        / "node_modules/@microsoft/app-manifest/build/json-schemas/teams"
        / f"v{template_manifest_version()}"
    )
    assert (version_dir / MANIFEST_SCHEMA).is_file(), sorted(version_dir.parent.iterdir())
    return version_dir


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def _build(tmp_path: Path, npm_prefix: Path, language: str, **overrides: str) -> Path:
    arguments: dict[str, Any] = {
        "app_id": APP_ID,
        "bot_domain": DOMAIN,
        "version": "2.3.4",
        "out": tmp_path / f"package-{language}.zip",
        "default_language": language,
        "schema_dir": npm_prefix,
        **SETTINGS,
        **overrides,
    }
    return build_package(**arguments)


def _read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture(params=["en", "tr"])
def package(request: pytest.FixtureRequest, tmp_path: Path, npm_prefix: Path) -> dict[str, bytes]:
    return _read_zip(_build(tmp_path, npm_prefix, request.param))


def _schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


# --- The built package ------------------------------------------------------------------


def test_package_passes_the_official_manifest_and_localization_schemas(
    package: dict[str, bytes], official_dir: Path
) -> None:
    manifest = json.loads(package["manifest.json"])
    assert _schema_errors(manifest, _load(official_dir / MANIFEST_SCHEMA)) == []
    localization_schema = _load(official_dir / LOCALIZATION_SCHEMA)
    files = [entry["file"] for entry in manifest["localizationInfo"]["additionalLanguages"]]
    assert files
    for name in files:
        assert _schema_errors(json.loads(package[name]), localization_schema) == []


def test_zip_holds_exactly_the_manifest_one_translation_and_two_icons_at_its_root(
    tmp_path: Path, npm_prefix: Path
) -> None:
    english = _read_zip(_build(tmp_path, npm_prefix, "en"))
    turkish = _read_zip(_build(tmp_path, npm_prefix, "tr"))
    assert sorted(english) == ["color.png", "manifest.json", "outline.png", "tr.json"]
    assert sorted(turkish) == ["color.png", "en.json", "manifest.json", "outline.png"]


def test_ids_domain_version_and_settings_are_filled_in(package: dict[str, bytes]) -> None:
    manifest = json.loads(package["manifest.json"])
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "2.3.4"
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["composeExtensions"][0]["botId"] == APP_ID
    assert manifest["webApplicationInfo"] == {"id": APP_ID, "resource": f"api://botid-{APP_ID}"}
    assert manifest["validDomains"] == [DOMAIN]
    assert manifest["developer"] == {
        "name": "Acme IT",
        "websiteUrl": "https://acme.example.com",
        "privacyUrl": "https://acme.example.com/privacy",
        "termsOfUseUrl": "https://acme.example.com/terms",
    }
    assert manifest["accentColor"] == "#4B3F9E"
    assert all(b"${" not in data for name, data in package.items() if name.endswith(".json"))


def test_manifest_declares_the_bot_and_the_people_search(package: dict[str, bytes]) -> None:
    manifest = json.loads(package["manifest.json"])
    version = manifest["manifestVersion"]
    assert manifest["$schema"].endswith(f"/teams/v{version}/MicrosoftTeams.schema.json")
    assert tuple(int(part) for part in version.split(".")) >= (1, 20)
    bot = manifest["bots"][0]
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    assert bot["supportsFiles"] is True
    assert {scope for entry in bot["commandLists"] for scope in entry["scopes"]} == {
        "personal",
        "team",
        "groupChat",
    }
    (extension,) = manifest["composeExtensions"]
    (command,) = extension["commands"]
    assert command["id"] == "searchPeople"
    assert command["type"] == "query"
    assert [parameter["name"] for parameter in command["parameters"]] == ["query"]
    assert manifest["name"]["short"] == "JUNO"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def _personal_titles(document: dict[str, Any]) -> list[str]:
    return [c["title"] for c in document["bots"][0]["commandLists"][0]["commands"]]


def test_default_language_decides_which_strings_go_in_the_manifest(
    tmp_path: Path, npm_prefix: Path
) -> None:
    english = _read_zip(_build(tmp_path, npm_prefix, "en"))
    turkish = _read_zip(_build(tmp_path, npm_prefix, "tr"))
    en_manifest = json.loads(english["manifest.json"])
    tr_manifest = json.loads(turkish["manifest.json"])

    assert en_manifest["localizationInfo"]["defaultLanguageTag"] == "en"
    assert en_manifest["name"]["full"] == "JUNO for Teams – employee directory"
    assert _personal_titles(en_manifest) == EN_COMMANDS
    tr_file = json.loads(english["tr.json"])
    assert tr_file["name.full"] == "JUNO for Teams – çalışan rehberi"
    assert [tr_file[f"bots[0].commandLists[0].commands[{i}].title"] for i in range(6)] == (
        TR_COMMANDS
    )

    assert tr_manifest["localizationInfo"] == {
        "defaultLanguageTag": "tr",
        "additionalLanguages": [{"languageTag": "en", "file": "en.json"}],
    }
    assert _personal_titles(tr_manifest) == TR_COMMANDS
    assert tr_manifest["composeExtensions"][0]["commands"][0]["title"] == "Kişi ara"
    en_file = json.loads(turkish["en.json"])
    assert en_file["name.full"] == "JUNO for Teams – employee directory"
    assert en_file["composeExtensions[0].commands[0].parameters[0].title"] == "Name"


def test_every_translation_key_names_a_real_manifest_field(package: dict[str, bytes]) -> None:
    """Teams silently ignores a key that matches nothing; catch typos in the key paths here."""
    manifest = json.loads(package["manifest.json"])
    (entry,) = manifest["localizationInfo"]["additionalLanguages"]
    translation = json.loads(package[entry["file"]])
    assert translation["$schema"].endswith(
        f"/teams/v{manifest['manifestVersion']}/MicrosoftTeams.Localization.schema.json"
    )
    keys = [key for key in translation if key != "$schema"]
    assert len(keys) >= 20
    for key in keys:
        node: Any = manifest
        for part in key.replace("[", ".").replace("]", "").split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        assert isinstance(node, str) and node, key
        assert node != translation[key] or key == "name.short", key


def test_build_is_reproducible(tmp_path: Path, npm_prefix: Path) -> None:
    first = _build(tmp_path / "a", npm_prefix, "en").read_bytes()
    second = _build(tmp_path / "b", npm_prefix, "en").read_bytes()
    assert first == second


# --- Icons --------------------------------------------------------------------------------


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _rgba_pixels(image: Image.Image) -> list[tuple[int, ...]]:
    data = image.convert("RGBA").tobytes()
    return [tuple(data[i : i + 4]) for i in range(0, len(data), 4)]


def test_color_icon_is_192_square_and_opaque(package: dict[str, bytes]) -> None:
    color = _image(package["color.png"])
    assert color.format == "PNG"
    assert color.size == (192, 192)
    pixels = _rgba_pixels(color)
    assert {alpha for *_, alpha in pixels} == {255}
    assert len(set(pixels)) > 2  # a drawn mark, not a blank square


def test_outline_icon_is_32_square_pure_white_on_transparent(package: dict[str, bytes]) -> None:
    outline = _image(package["outline.png"])
    assert outline.format == "PNG"
    assert outline.size == (32, 32)
    assert outline.mode == "RGBA"
    pixels = _rgba_pixels(outline)
    white = sum(1 for pixel in pixels if pixel == (255, 255, 255, 255))
    clear = sum(1 for pixel in pixels if pixel[3] == 0)
    assert white + clear == 32 * 32
    assert 100 < white < 600  # a visible mark that still leaves most of the square clear


def test_committed_icons_match_what_the_drawing_script_produces() -> None:
    for name, drawn in (
        ("color.png", draw_icons.draw_color()),
        ("outline.png", draw_icons.draw_outline()),
    ):
        committed = Image.open(ICON_DIR / name)
        assert committed.mode == drawn.mode, name
        assert ImageChops.difference(committed, drawn).getbbox() is None, name


def test_builder_never_imports_pillow(tmp_path: Path, npm_prefix: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from manifest.builder import build_package; "
        f"build_package(app_id={APP_ID!r}, bot_domain={DOMAIN!r}, version='1.0.0', "
        f"out=Path({str(tmp_path / 'p.zip')!r}), default_language='en', "
        f"schema_dir=Path({str(npm_prefix)!r}), **{SETTINGS!r}); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "p.zip").is_file()


# --- Validation building blocks -------------------------------------------------------------


def test_schema_violation_from_a_lower_level_render_names_the_json_path(
    npm_prefix: Path,
) -> None:
    package = render_package(
        app_id=APP_ID,
        bot_domain=DOMAIN,
        version="1.0.0",
        default_language="en",
        **{**SETTINGS, "accent_color": "purple"},
    )
    schemas = find_schemas(npm_prefix, package.manifest_version)
    with pytest.raises(ManifestError) as caught:
        validate_package(package, schemas)
    message = str(caught.value)
    assert message.startswith("manifest.json: $.accentColor: 'purple' does not match")
    assert "\n" not in message


def test_a_translation_failing_the_localization_schema_is_rejected(npm_prefix: Path) -> None:
    package = render_package(
        app_id=APP_ID, bot_domain=DOMAIN, version="1.0.0", default_language="en", **SETTINGS
    )
    package.localizations["tr.json"]["description.short"] = "   "
    with pytest.raises(ManifestError, match=r"^tr\.json: \$\['description\.short'\]: "):
        validate_package(package, find_schemas(npm_prefix, package.manifest_version))


def test_a_translation_too_long_for_the_manifest_is_rejected(npm_prefix: Path) -> None:
    """The localization schema alone lets this through (draft 04 ignores maxLength by $ref)."""
    package = render_package(
        app_id=APP_ID, bot_domain=DOMAIN, version="1.0.0", default_language="en", **SETTINGS
    )
    package.localizations["tr.json"]["description.short"] = "x" * 81
    localization_schema = _load(find_schemas(npm_prefix, package.manifest_version).localization)
    assert _schema_errors(package.localizations["tr.json"], localization_schema) == []
    with pytest.raises(
        ManifestError,
        match=r"^manifest\.json with tr\.json applied: \$\.description\.short: .* is too long",
    ):
        validate_package(package, find_schemas(npm_prefix, package.manifest_version))


def test_remote_references_are_refused_not_fetched() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "properties": {"a": {"$ref": "https://schemas.invalid/remote.json"}},
    }
    with pytest.raises(
        ManifestError, match=r"'https://schemas\.invalid/remote\.json' that cannot be"
    ):
        validate({"a": 1}, schema, label="doc.json")


def test_find_schemas_accepts_the_package_folder_or_a_copy_of_its_schemas(
    npm_prefix: Path, official_dir: Path, tmp_path: Path
) -> None:
    version = template_manifest_version()
    package_dir = npm_prefix / "node_modules" / "@microsoft" / "app-manifest"
    assert find_schemas(package_dir, version).manifest == official_dir / MANIFEST_SCHEMA
    copied = tmp_path / "schemas" / "teams" / f"v{version}"
    shutil.copytree(official_dir, copied)
    found = find_schemas(tmp_path / "schemas", version)
    assert found.manifest == copied / MANIFEST_SCHEMA
    assert found.localization == copied / LOCALIZATION_SCHEMA


def test_find_schemas_explains_how_to_install_them(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"npm install --prefix .* @microsoft/app-manifest@1"):
        find_schemas(tmp_path, template_manifest_version())


def test_fetch_without_npm_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ManifestError, match="npm is not installed"):
        fetch_schemas(tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3F2504E0-4F89-41D3-9A0C-0305E82C3301", APP_ID),
        (f" {APP_ID} ", APP_ID),
    ],
)
def test_app_id_is_normalised(value: str, expected: str) -> None:
    assert check_app_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "nope",
        APP_ID.replace("-", ""),
        "{" + APP_ID + "}",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_app_id_rejects_non_canonical_guids(value: str) -> None:
    with pytest.raises(ManifestError, match="app-id"):
        check_app_id(value)


def test_bot_domain_accepts_host_names() -> None:
    assert check_bot_domain("Bot.Example.com.") == "bot.example.com"
    assert check_bot_domain("juno-1.eu.example.co.uk") == "juno-1.eu.example.co.uk"


@pytest.mark.parametrize(
    "value",
    [
        "https://bot.example.com",
        "bot.example.com/api/messages",
        "bot.example.com:443",
        "localhost",
        "*.example.com",
        "-bot.example.com",
        "bot_1.example.com",
        "10.0.0.1",
        "",
    ],
)
def test_bot_domain_rejects_anything_but_a_host_name(value: str) -> None:
    with pytest.raises(ManifestError, match="bot-domain"):
        check_bot_domain(value)


@pytest.mark.parametrize("value", ["1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.0.0-beta", ""])
def test_version_must_be_plain_semver(value: str) -> None:
    with pytest.raises(ManifestError, match="version"):
        check_version(value)


def test_translation_file_in_template_only_holds_known_keys() -> None:
    """The Turkish file is the source of the key list; a stray key would break `en` export."""
    translation = _load(TEMPLATE_DIR / "tr.json")
    template = _load(TEMPLATE_DIR / "manifest.json")
    assert translation["$schema"].endswith(
        f"/v{template['manifestVersion']}/MicrosoftTeams.Localization.schema.json"
    )
    assert {"name.short", "name.full", "description.short", "description.full"} <= set(translation)


# --- The CLI, as an operator runs it --------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    """The parent's environment minus any JUNO_* settings, with the repo importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNO_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


# The operator's own links, given on the command line unless a test sets them otherwise.
URL_FLAGS = {
    "--website-url": ("JUNO_MANIFEST_WEBSITE_URL", SETTINGS["website_url"]),
    "--privacy-url": ("JUNO_MANIFEST_PRIVACY_URL", SETTINGS["privacy_url"]),
    "--terms-url": ("JUNO_MANIFEST_TERMS_URL", SETTINGS["terms_url"]),
}


def _run_cli(
    cwd: Path, *args: str, urls: Any = True, **env: str
) -> subprocess.CompletedProcess[str]:
    given = [
        part
        for flag, (variable, url) in URL_FLAGS.items()
        if urls and variable not in env and flag not in args
        for part in (flag, url)
    ]
    return subprocess.run(
        [*CLI, "build", *args, *given],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_env(**env),
        timeout=120,
        check=False,
    )


def test_cli_builds_the_package_with_settings_from_the_environment(
    tmp_path: Path, npm_prefix: Path
) -> None:
    result = _run_cli(
        tmp_path,
        "--app-id",
        APP_ID.upper(),
        "--bot-domain",
        DOMAIN,
        "--version",
        "1.2.3",
        "--out",
        "dist/juno.zip",
        "--schema-dir",
        str(npm_prefix),
        JUNO_MANIFEST_DEFAULT_LANGUAGE="tr",
        JUNO_MANIFEST_DEVELOPER_NAME="Acme IT",
        JUNO_MANIFEST_ACCENT_COLOR="#123456",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "dist/juno.zip"
    assert f"Teams manifest v{template_manifest_version()}" in lines[1]
    assert "validated against the official schema" in lines[1]
    files = _read_zip(tmp_path / "dist" / "juno.zip")
    manifest = json.loads(files["manifest.json"])
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["developer"]["name"] == "Acme IT"
    assert manifest["accentColor"] == "#123456"
    assert manifest["localizationInfo"]["defaultLanguageTag"] == "tr"
    assert "en.json" in files


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--app-id", "not-a-guid", "--bot-domain", DOMAIN], ["--app-id", "not-a-guid"]),
        (["--app-id", APP_ID], ["--bot-domain is required"]),
        (["--bot-domain", DOMAIN], ["--app-id is required"]),
        (["--app-id", APP_ID, "--bot-domain", f"https://{DOMAIN}/api/messages"], ["host name"]),
        (["--app-id", APP_ID, "--bot-domain", DOMAIN, "--version", "1.0"], ["X.Y.Z"]),
    ],
)
def test_cli_rejects_bad_arguments_with_one_readable_line(
    tmp_path: Path, npm_prefix: Path, args: list[str], fragments: list[str]
) -> None:
    result = _run_cli(tmp_path, *args, "--schema-dir", str(npm_prefix))
    _assert_one_line_error(result, *fragments)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        (
            {"JUNO_MANIFEST_DEVELOPER_NAME": "A developer name far too long for Teams"},
            ["manifest.json: $.developer.name:", "is too long"],
        ),
        (
            {"JUNO_MANIFEST_PRIVACY_URL": "ftp://acme.example.com/privacy"},
            ["manifest.json: $.developer.privacyUrl:", "does not match"],
        ),
        ({"JUNO_MANIFEST_ACCENT_COLOR": "purple"}, ["JUNO_MANIFEST_ACCENT_COLOR"]),
    ],
)
def test_cli_reports_schema_and_settings_failures_on_one_line(
    tmp_path: Path, npm_prefix: Path, env: dict[str, str], fragments: list[str]
) -> None:
    result = _run_cli(
        tmp_path, "--app-id", APP_ID, "--bot-domain", DOMAIN, "--schema-dir", str(npm_prefix), **env
    )
    _assert_one_line_error(result, *fragments)
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_a_schema_dir_without_schemas(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run_cli(
        tmp_path, "--app-id", APP_ID, "--bot-domain", DOMAIN, "--schema-dir", str(empty)
    )
    _assert_one_line_error(result, "no Teams manifest", "npm install --prefix")
    assert not (tmp_path / "appPackage.zip").exists()


def test_cli_without_schema_dir_fetches_into_the_data_dir_cache(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = _run_cli(
        tmp_path, "--app-id", APP_ID, "--bot-domain", DOMAIN, JUNO_DATA_DIR=str(data_dir)
    )
    assert result.returncode == 0, result.stderr
    assert find_schemas(data_dir / "npm", template_manifest_version()).manifest.is_file()
    assert (tmp_path / "appPackage.zip").is_file()


def test_cli_refuses_the_placeholder_urls(tmp_path: Path, npm_prefix: Path) -> None:
    """Without the operator's own links the package would send every user to JUNO's example
    pages: refused, or built with a loud warning when asked for a trial package."""
    base = ["--app-id", APP_ID, "--bot-domain", DOMAIN, "--schema-dir", str(npm_prefix)]
    refused = _run_cli(tmp_path, *base, "--privacy-url", SETTINGS["privacy_url"], urls=False)
    _assert_one_line_error(refused, "--website-url, --terms-url", "juno.example.com")
    assert not (tmp_path / "appPackage.zip").exists()

    trial = _run_cli(tmp_path, *base, "--allow-placeholders", urls=False)
    assert trial.returncode == 0, trial.stderr
    assert trial.stderr.startswith("warning: --website-url, --privacy-url, --terms-url are")
    manifest = json.loads(_read_zip(tmp_path / "appPackage.zip")["manifest.json"])
    assert manifest["developer"]["privacyUrl"] == "https://juno.example.com/privacy"


def test_cli_takes_the_urls_as_flags(tmp_path: Path, npm_prefix: Path) -> None:
    result = _run_cli(
        tmp_path, "--app-id", APP_ID, "--bot-domain", DOMAIN, "--schema-dir", str(npm_prefix),
        "--privacy-url", "https://it.acme.example/gizlilik",
        JUNO_MANIFEST_PRIVACY_URL="https://ignored.example/privacy",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    developer = json.loads(_read_zip(tmp_path / "appPackage.zip")["manifest.json"])["developer"]
    assert developer["privacyUrl"] == "https://it.acme.example/gizlilik"
    assert developer["termsOfUseUrl"] == SETTINGS["terms_url"]
    assert developer["websiteUrl"] == SETTINGS["website_url"]


def test_cli_can_skip_the_schema_check_explicitly(tmp_path: Path) -> None:
    result = _run_cli(
        tmp_path,
        "--app-id",
        APP_ID,
        "--bot-domain",
        DOMAIN,
        "--no-schema-check",
        JUNO_DATA_DIR=str(tmp_path / "data"),
    )
    assert result.returncode == 0, result.stderr
    assert "schema check skipped" in result.stdout
    assert not (tmp_path / "data").exists()


@pytest.fixture(autouse=True)
def _no_stray_partial_files(tmp_path: Path) -> Iterator[None]:
    yield
    assert not list(tmp_path.rglob("*.partial"))
