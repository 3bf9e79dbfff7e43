"""msal clients for our two app identities (the bot's, and each tenant's Graph app) and the
credentials they are built from.

A certificate credential is one PEM file holding the certificate and its private key; msal
gets both parts, so it signs its client assertion with the certificate's SHA-256 thumbprint
(and sends the chain, for subject-name/issuer registrations). Authority discovery is never
attempted: the authority host is operator configuration (national clouds, a private stand-in),
and asking login.microsoftonline.com to vouch for it adds nothing. msal is synchronous; callers
run these clients off the event loop.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msal
import requests

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----.+?-----END (?:RSA |EC |ENCRYPTED )?"
    r"PRIVATE KEY-----",
    re.S,
)
_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

Credential = str | dict[str, str]
"""msal's `client_credential`: a client secret, or a certificate's key and certificate."""


class CredentialError(ValueError):
    """A credential that cannot be used. The text names the file, never its content."""


def certificate_credential(path: str | Path) -> dict[str, str]:
    """The msal credential from a PEM file with the certificate and its private key."""
    path = Path(path)
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a PEM file"
        raise CredentialError(f"cannot read certificate file {path}: {reason}") from None
    key = _PRIVATE_KEY.search(pem)
    cert = _CERTIFICATE.search(pem)
    if key is None or cert is None:
        missing = "private key" if key is None else "certificate"
        raise CredentialError(
            f"certificate file {path} has no {missing} (it needs both, PEM encoded)"
        )
    return {"private_key": key.group(0), "public_certificate": cert.group(0)}


def fingerprint(credential: Credential) -> str:
    """A digest of the credential, so a rotated secret or certificate is noticed without
    keeping a second copy of it."""
    material = (
        credential if isinstance(credential, str) else "\x00".join(sorted(credential.values()))
    )
    return hashlib.sha256(material.encode()).hexdigest()


def confidential_client(
    client_id: str,
    credential: Credential,
    authority: str,
    *,
    factory: Callable[..., msal.ConfidentialClientApplication] = (
        msal.ConfidentialClientApplication
    ),
    **options: Any,
) -> msal.ConfidentialClientApplication:
    """An app-only msal client; `options` are msal's own (`http_client`, `timeout`,
    `token_cache`). Building it reads the authority's OpenID metadata."""
    return factory(
        client_id,
        client_credential=credential,
        authority=authority,
        instance_discovery=False,
        **options,
    )


def managed_identity_client(client_id: str) -> msal.ManagedIdentityClient:
    """A user-assigned managed identity: msal finds the token endpoint the host provides (App
    Service `IDENTITY_ENDPOINT`, a VM's IMDS, ...); no secret exists anywhere."""
    return msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=client_id), http_client=requests.Session()
    )
