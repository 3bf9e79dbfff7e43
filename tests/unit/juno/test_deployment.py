"""docs/install.md matches the code: it names only settings that exist, names every setting
the deployment model relies on, and the commands it tells the operator to run behave as it
says (the directory app's id and certificate as defaults, the bot identity kinds)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from juno.deployment import INSTALL_SETTINGS, bot_auth_kind, bot_identity_problem
from juno.settings import Settings
from tests.support.processes import REPO, Cli

INSTALL = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
ALIASES = {f.alias for f in Settings.model_fields.values() if f.alias}
NAME = re.compile(r"\b(?:JUNO_[A-Z0-9_]*[A-Z0-9]|MONGODB_URI)(?:_\*)?")


def test_install_names_only_settings_that_exist() -> None:
    named = set(NAME.findall(INSTALL))
    assert named, "install.md names no settings at all?"
    unknown = set()
    for name in named:
        if name.endswith("_*"):  # a family, e.g. JUNO_MANIFEST_*
            if not any(a.startswith(name[:-1]) for a in ALIASES):
                unknown.add(name)
        elif name not in ALIASES:
            unknown.add(name)
    assert not unknown, f"install.md names settings juno/settings.py does not have: {unknown}"


def test_install_names_every_setting_the_deployment_relies_on() -> None:
    assert set(INSTALL_SETTINGS) <= ALIASES
    missing = [name for name in INSTALL_SETTINGS if name not in INSTALL]
    assert not missing, f"install.md does not explain {missing}"
    undocumented = [name for name in INSTALL_SETTINGS if f"`{name}`" not in CONFIGURATION]
    assert not undocumented, f"configuration.md does not list {undocumented}"


def test_install_states_the_permission_model() -> None:
    assert "`User.Read.All`, application" in INSTALL
    assert "**no Microsoft Graph permission**" in INSTALL
    assert "/api/graph/notifications" in INSTALL and "41,760 minutes" in INSTALL
    assert "juno tenant consent-url" in INSTALL and "- [ ]" in INSTALL


def settings(**env: str) -> Settings:
    return Settings.model_validate(env)


@pytest.mark.parametrize(
    ("env", "kind", "problem"),
    [
        ({"JUNO_BOT_APP_ID": "a", "JUNO_BOT_APP_SECRET": "s"}, "client_secret", None),
        ({"JUNO_BOT_APP_ID": "a", "JUNO_BOT_CERT_PATH": "/c.pem"}, "certificate", None),
        ({"JUNO_BOT_APP_ID": "a", "JUNO_BOT_AUTH_TYPE": "user_managed_identity"},
         "user_managed_identity", None),
        ({"JUNO_BOT_APP_ID": "a", "JUNO_BOT_AUTH_TYPE": "certificate"}, "certificate",
         "needs JUNO_BOT_CERT_PATH"),
        ({"JUNO_BOT_APP_ID": "a"}, "client_secret", "needs JUNO_BOT_APP_SECRET"),
        ({"JUNO_BOT_APP_ID": "a", "JUNO_BOT_AUTH_TYPE": "user_managed_identity",
          "JUNO_BOT_CERT_PATH": "/c.pem"}, "user_managed_identity", "uses no JUNO_BOT_APP_SECRET"),
    ],
)  # fmt: skip
def test_bot_identity_kinds(env: dict[str, str], kind: str, problem: str | None) -> None:
    s = settings(**env)
    assert bot_auth_kind(s) == kind
    found = bot_identity_problem(s)
    assert (found is None) if problem is None else (found is not None and problem in found)


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"


def test_tenant_add_and_consent_url_default_to_the_directory_app(cli: Cli, tmp_path: Path) -> None:
    pem = tmp_path / "graph-app.pem"
    pem.write_text("placeholder: read at token time, not at registration\n")
    cli.env.update(JUNO_GRAPH_APP_ID=APP, JUNO_GRAPH_CERT_PATH=str(pem))
    before = cli("tenant", "consent-url", "--tenant", TENANT)  # not registered yet
    assert before.code == 0, before.err
    assert before.out.strip() == (
        f"https://login.microsoftonline.com/{TENANT}/adminconsent?client_id={APP}"
    )
    added = cli("tenant", "add", "--tenant-id", TENANT, "--name", "Contoso")
    assert added.code == 0, added.err
    assert "no Graph credentials" not in added.out
    shown = cli("tenant", "show", "--tenant", TENANT, "--json")
    assert shown.code == 0, shown.err
    graph = json.loads(shown.out)["tenant"]["graph"]
    assert graph == {"client_id": APP, "client_secret_env": None,
                     "certificate_path": str(pem.resolve())}  # fmt: skip
    assert json.loads(shown.out)["subscription"] is None
    listed = cli("graph", "subscriptions", "list", "--json")
    assert listed.code == 0, listed.err
    assert json.loads(listed.out)[0]["status"] == "none"
    renew = cli("graph", "subscriptions", "renew", "--tenant", TENANT)
    assert renew.code == 2 and "JUNO_PUBLIC_BASE_URL" in renew.err
    assert len(renew.err.strip().splitlines()) == 1
