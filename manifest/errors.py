"""The one error type the package builder raises."""

from __future__ import annotations


class ManifestError(Exception):
    """A problem the operator can fix by changing an argument, a setting or the schema cache.

    The message is squeezed onto one line because the CLI prints it verbatim after `error:`;
    a multi-line message (say, from jsonschema or npm) would read like a crash.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
