"""Errors a user can fix: the CLI prints their message and exits 2, without a stack trace."""


class InputError(ValueError):
    """An input the user named (a file, a column, a value) cannot be used as given; the message names it."""
