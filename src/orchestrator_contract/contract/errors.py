"""The one error every command reports the same way."""


class UsageError(ValueError):
    """A problem the user can fix (arguments, an unreachable target, rejected credentials):
    printed as one line, exit status 2."""
