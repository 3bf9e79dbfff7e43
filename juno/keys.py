"""The service's two secrets: the link-signing key and the pseudonym key.

Each comes from its setting (JUNO_SIGNING_KEY, JUNO_PSEUDONYM_KEY). With none configured, one
is generated once and kept under JUNO_DATA_DIR with 0600 permissions, and the fact is logged:
a single-node install then works out of the box, and an operator with several replicas sees
that they must configure the same key everywhere (a link signed on one replica is checked on
another, and pseudonyms must stay stable across erasures).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from juno.errors import OperationError, UserError
from juno.logs import get_logger
from juno.settings import Settings

MIN_LENGTH = 32


def _from_setting(value: SecretStr, variable: str) -> bytes:
    text = value.get_secret_value().strip()
    if len(text) < MIN_LENGTH:
        raise UserError(f"{variable} must be at least {MIN_LENGTH} characters")
    return text.encode("utf-8")


def _from_file(path: Path, variable: str, log: Any) -> bytes:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(0o600)
                log.warning("key file was readable by others; now 0600", path=str(path))
            text = path.read_text("ascii").strip()
        else:
            text = secrets.token_hex(32)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text + "\n")
            log.warning(
                f"{variable} is not set: generated a key and stored it with 0600 permissions; "
                f"set {variable} to the same value on every replica",
                path=str(path),
            )
    except OSError as exc:
        raise OperationError(
            f"{variable} is not set and {path} cannot be used: {exc.strerror}"
        ) from exc
    if len(text) < MIN_LENGTH:
        raise OperationError(f"{path} holds no usable key; delete it or set {variable}")
    return text.encode("ascii")


def signing_key(settings: Settings, log: Any = None) -> bytes:
    """Key for signed export links."""
    log = log or get_logger("juno.keys")
    if settings.signing_key is not None and settings.signing_key.get_secret_value():
        return _from_setting(settings.signing_key, "JUNO_SIGNING_KEY")
    return _from_file(settings.data_dir / "signing.key", "JUNO_SIGNING_KEY", log)


def pseudonym_key(settings: Settings, log: Any = None) -> bytes:
    """Key for the keyed-hash pseudonyms of erasure and the destruction log."""
    log = log or get_logger("juno.keys")
    if settings.pseudonym_key is not None and settings.pseudonym_key.get_secret_value():
        return settings.pseudonym_key.get_secret_value().encode("utf-8")
    return _from_file(settings.data_dir / "pseudonym.key", "JUNO_PSEUDONYM_KEY", log)
