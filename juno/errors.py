"""Errors that end a command with one readable line instead of a traceback."""


class UserError(Exception):
    """Bad input or a state the operator can fix; the message is shown as is."""

    exit_code = 2


class OperationError(Exception):
    """Something outside the input failed (database unreachable, ...)."""

    exit_code = 1
