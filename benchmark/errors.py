"""The one exception type whose message reaches the user as a single line (see cli.main)."""


class UserError(Exception):
    """Bad input or a broken file the user can fix; the CLI prints it without a traceback."""
