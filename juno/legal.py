"""Deployment facts the notices and records state, read from settings once (privacy code does
not read settings)."""

from __future__ import annotations

from juno.settings import Settings
from privacy.subprocessors import SubProcessor, declared


def deployment_subprocessors(settings: Settings) -> tuple[SubProcessor, ...]:
    uri = settings.mongodb_uri.get_secret_value() if settings.mongodb_uri else None
    return declared(
        mongodb_uri=uri,
        hosting_provider=settings.hosting_provider,
        hosting_location=settings.hosting_location,
    )


def processor_identity(settings: Settings) -> tuple[str, str | None]:
    """(name, contact) of the processor for its Art. 30(2) record."""
    return settings.manifest_developer_name, settings.processor_contact
