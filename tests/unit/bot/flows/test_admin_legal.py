"""The controller's details on the admin desk and through `juno tenant set`: what is missing is
said, the form is a small valid card, saving publishes the derived notice and asks everyone
again, bad input is one readable line, and `juno ropa` gives both records in both languages."""

from __future__ import annotations

import json
from typing import Any

from privacy.consent import Kind, current_document
from storage.repositories import TenantRegistry, TenantStore
from tests.support.admin_desk import accept_file, admin_setup, texts_of
from tests.support.bot_server import BotServer, Chat, action, bot_db, bot_server, card
from tests.support.directory import org
from tests.support.processes import Cli, one_line

__all__ = ["admin_setup", "bot_db", "bot_server", "org"]
TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
FORM = {
    "legal_name": "Org Danışmanlık A.Ş.",
    "address": "Kızılay Mah. Atatürk Blv. 1, Çankaya, Ankara",
    "email": "kvkk@org.com.tr",
    "dpo_contact": "İlkay Öz, kvkk@org.com.tr",
    "verbis_id": "",
    "representative": "",
    "kpi_retention_days": "200",
    "basis_profiles": "contract",
}


def inputs(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in content["body"] if b["type"].startswith("Input.")]


def all_actions(content: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(content.get("actions", []))
    for block in content["body"]:
        found += block.get("actions", []) if block["type"] == "ActionSet" else []
    return found


async def test_the_admin_enters_the_controller_details_and_the_notice_follows(
    bot_server: BotServer, bot_db: Any, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, _, admin, user = admin_setup
    home = card((await admin.send(1, text="admin"))[0])
    missing = next(x for x in texts_of(home) if x.startswith("Your privacy notice cannot name"))
    assert "legal name, address, contact e-mail, data protection contact" in missing

    form = card((await admin.send(1, value=action(home, "admin_controller")))[0])
    assert form["version"] == "1.5" and len(all_actions(form)) <= 6
    fields = {i["id"]: i for i in inputs(form)}
    for name in ("legal_name", "address", "email", "dpo_contact", "kpi_retention_days"):
        assert fields[name]["isRequired"] is True and fields[name]["errorMessage"], name
    assert fields["kpi_retention_days"]["max"] == 365
    assert fields["verbis_id"].get("isRequired") is not True
    assert {c["value"] for c in fields["basis_profiles"]["choices"]} == {
        "legitimate_interest",
        "contract",
    }
    # What Teams submits: every input's value, the admin's entries over the card's defaults.
    defaults = {i["id"]: str(i.get("value", "")) for i in inputs(form)}
    submit = {**action(form, "admin_controller_set"), **defaults}

    [bad] = await admin.send(1, value={**submit, **FORM, "email": "not an e-mail"})
    assert bad["text"].startswith("I could not save that: email:")
    [bad] = await admin.send(1, value={**submit, **FORM, "kpi_retention_days": "3650"})
    assert "between 1 and 365" in bad["text"]
    store = TenantStore(bot_db, tenant)
    assert (await current_document(store, Kind.NOTICE)).version == 1  # nothing saved

    [saved] = await admin.send(1, value={**submit, **FORM})
    assert saved["text"].startswith("Saved. Privacy notice version 2 is published")
    record = await TenantRegistry(bot_db).require(tenant)
    assert record.controller is not None and record.controller.legal_name == FORM["legal_name"]
    assert record.legal_bases == {
        "profiles": "contract",
        "tenants": "legitimate_interest",
        "conversations": "contract",
        "audit_log": "legitimate_interest",
        "bot_state": "contract",
    }
    assert record.kpi_retention_days == 200
    notice = await current_document(store, Kind.NOTICE)
    assert notice.version == 2
    for locale in ("tr", "en"):
        assert FORM["legal_name"] in notice.texts[locale]
        assert "200" in notice.texts[locale]
    told = await bot_server.peers.wait_replies(user.conversation, user.seen + 2)
    user.seen += 2
    assert FORM["legal_name"] in " ".join(texts_of(card(told[-1])))
    await bot_server.peers.wait_replies(admin.conversation, admin.seen + 3)  # the report
    admin.seen += 3

    [again] = await admin.send(1, value={**submit, **FORM})
    assert again["text"].startswith("Saved. The privacy notice in force already says this")
    home = card((await admin.send(1, text="admin"))[0])
    assert f"Your privacy notice names {FORM['legal_name']} as data controller." in texts_of(home)

    # The record as a file, in the admin's language (a Turkish admin gets it in Turkish).
    admin.locale = "tr-TR"
    [preparing] = await admin.send(1, value={"juno": "admin_ropa_file"})
    assert preparing["text"].startswith("Dosya hazırlanıyor")
    offer = (await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1))[-1]
    admin.seen += 1
    [file_card] = offer["attachments"]
    assert file_card["name"].endswith("-tr.md")
    uploaded = (await accept_file(bot_server, admin, file_card)).decode("utf-8")
    assert uploaded.startswith("# Kişisel veri işleme envanteri — Org")
    assert FORM["legal_name"] in uploaded and "Hukuki sebep" in uploaded


def test_tenant_set_takes_the_controller_details_and_guards_the_kpi_window(cli: Cli) -> None:
    assert cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso").code == 0
    for args, error in (
        (["--controller-name", "Contoso"], "invalid controller.address: Field required"),
        (
            ["--controller-name", "Contoso A.Ş.", "--controller-address", "Levent, İstanbul",
             "--controller-email", "kvkk-at-contoso"],
            "invalid controller.email",
        ),
        (["--legal-basis", "profiles=consent"], "legal basis must be one of"),
        (["--legal-basis", "profiles"], "--legal-basis takes STORE=BASIS"),
        (["--kpi-retention-days", "3650"], "between 1 and 365"),
        (["--kpi-retention-days", "120"], "promises 90 days"),
    ):  # fmt: skip
        bad = cli("tenant", "set", "--tenant", TID, *args)
        assert bad.code == 2, (args, bad.out)
        assert error in one_line(bad.err), (args, bad.err)

    done = cli(
        "tenant", "set", "--tenant", TID, "--controller-name", "Contoso Bilişim A.Ş.",
        "--controller-address", "Büyükdere Cd. 1, Şişli, İstanbul",
        "--controller-email", "kvkk@contoso.com.tr", "--dpo-contact", "Ayşe Işık",
        "--verbis-id", "V-42", "--legal-basis", "profiles=contract",
        "--kpi-retention-days", "120", "--republish-notice",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "privacy notice version 2 published" in done.out
    assert "controller" in done.out and "legal_bases" in done.out
    # An optional detail is cleared with an empty value; the text changes, so version 3.
    cleared = cli("tenant", "set", "--tenant", TID, "--verbis-id", "")
    assert cleared.code == 0, cleared.err
    assert "privacy notice version 3 published" in cleared.out

    for locale, title, name in (
        ("tr", "Veri işleyenin işleme faaliyetleri kaydı", "Veri sorumluları"),
        ("en", "Processor's record of processing activities", "Controllers"),
    ):
        md = cli("ropa", "--processor", "--locale", locale)
        assert md.code == 0, md.err
        assert md.out.startswith(f"# {title}") and "Contoso Bilişim A.Ş." in md.out
        assert name in md.out or name.lower() in md.out
    record = json.loads(cli("ropa", "--processor", "--json").out)
    [controller] = record["controllers"]
    assert controller["controller"]["legal_name"] == "Contoso Bilişim A.Ş."
    assert controller["controller"]["verbis_id"] is None
    assert {s["key"] for s in record["subprocessors"]} >= {"microsoft", "hosting"}
    assert record["security_measures"]

    tenant = json.loads(cli("ropa", "--tenant", TID, "--json", "--locale", "tr").out)
    profiles = next(s for s in tenant["stores"] if s["collection"] == "profiles")
    assert profiles["legal_basis"]["key"] == "contract"
    assert profiles["legal_basis"]["kvkk"] == "KVKK Art. 5(2)(c)"
    assert profiles["title"] == "Dizin profilleri (Microsoft 365 profilinin özeti)"
    bad = cli("ropa", "--tenant", TID, "--processor")
    assert bad.code == 2 and "not both" in one_line(bad.err)
    bad = cli("ropa", "--processor", "--locale", "de")
    assert bad.code == 2 and "--locale must be tr or en" in one_line(bad.err)
