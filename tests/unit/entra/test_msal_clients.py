"""The one certificate loader both app identities use (the bot's, each tenant's Graph app)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from entra.msal_clients import CredentialError, certificate_credential, fingerprint


def test_a_pem_with_key_and_certificate_gives_both_parts(tmp_path: Path) -> None:
    cert = trustme.CA().issue_cert("juno.example")
    path = tmp_path / "app.pem"
    path.write_bytes(cert.private_key_pem.bytes() + cert.cert_chain_pems[0].bytes())
    credential = certificate_credential(path)
    assert set(credential) == {"private_key", "public_certificate"}
    assert credential["private_key"].startswith("-----BEGIN")
    assert "PRIVATE KEY-----" in credential["private_key"]
    assert credential["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    # Same material, same fingerprint; a rotated certificate is noticed.
    assert fingerprint(credential) == fingerprint(certificate_credential(path))
    assert fingerprint(credential) != fingerprint({**credential, "private_key": "other"})


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read certificate file"),
        (b"\xff\xfe not ascii", "not a PEM file"),
        (b"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n", "has no private key"),
        (b"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n", "has no certificate"),
    ],
)
def test_an_unusable_file_names_the_file_never_its_content(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "app.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CredentialError, match=reason) as raised:
        certificate_credential(path)
    assert str(path) in str(raised.value)
    assert "-----" not in str(raised.value)
    assert isinstance(raised.value, ValueError)  # `juno serve` reports it as a setup error
