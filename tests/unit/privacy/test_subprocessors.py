"""The declared sub-processors: complete in both languages, deployment-dependent, fingerprinted."""

from __future__ import annotations

from dataclasses import fields

from privacy.subprocessors import SubProcessor, declared, fingerprint


def test_every_entry_speaks_both_languages() -> None:
    everyone = declared(
        mongodb_uri="mongodb+srv://u:p@cluster0.abcd.mongodb.net/juno",
        hosting_provider="Hetzner Online GmbH",
        hosting_location="Germany (EU)",
    )
    assert [s.key for s in everyone] == ["microsoft", "hosting", "database"]
    for sub in everyone:
        for f in fields(SubProcessor):
            value = getattr(sub, f.name)
            if isinstance(value, dict):
                assert set(value) == {"en", "tr"}, (sub.key, f.name)
                assert all(text.strip() for text in value.values()), (sub.key, f.name)


def test_embedded_or_self_run_database_is_no_subprocessor() -> None:
    assert [s.key for s in declared()] == ["microsoft", "hosting"]
    assert [s.key for s in declared(mongodb_uri="mongodb://db.internal:27017")] == [
        "microsoft",
        "hosting",
    ]


def test_fingerprint_follows_the_list() -> None:
    a = declared(hosting_provider="A", hosting_location="Türkiye")
    b = declared(hosting_provider="B", hosting_location="Türkiye")
    assert fingerprint(a) == fingerprint(declared(hosting_provider="A", hosting_location="Türkiye"))
    assert fingerprint(a) != fingerprint(b)
    assert not a[1].transfer_abroad


def test_an_undeclared_hosting_provider_reads_in_each_language() -> None:
    hosting = declared()[1]
    assert hosting.display("tr").startswith("işletmecinin kendi sunucuları")
    assert hosting.display("en").startswith("the operator's own servers")
    named = declared(hosting_provider="Hetzner Online GmbH")[1]
    assert named.display("tr") == named.display("en") == "Hetzner Online GmbH"
