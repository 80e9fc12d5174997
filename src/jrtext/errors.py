"""Specific exceptions: the CLI turns each into one clear line and an exit code."""


class JrtextError(Exception):
    """Base of every error jrtext raises on purpose."""


class RegistryError(JrtextError):
    """The source registry (sources.toml) is missing or malformed; raised before any work."""


class DocumentError(JrtextError):
    """One document cannot be read or used; recorded in ``problems``, the run goes on.

    ``code`` is a short machine-readable reason (``empty``, ``binary``, ``pdf_no_text`` …)
    that users can group by in SQL.
    """

    def __init__(self, code: str, message: str, stage: str = "read") -> None:
        super().__init__(message)
        self.code = code
        self.stage = stage


class StoreError(JrtextError):
    """The database cannot be opened or is not a jrtext database."""


class DatabaseBusyError(StoreError):
    """Another process holds the database: a run is writing, or another run waits its turn."""
