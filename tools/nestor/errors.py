"""One exception type for every error a user should see as one clear line."""


class NestorError(Exception):
    """Raised with a complete, user-facing message; cli.py prints it and exits 2."""
