"""The one base of privacy's own errors, so a caller (the bot, `juno`, the API) catches one
class and shows its one-line message instead of a stack trace.

A `ValueError` still, as each of them was before: an invalid request, rule or declaration.
"""

from __future__ import annotations


class PrivacyError(ValueError):
    """A privacy rule refused what was asked; the message says why, in one line."""
