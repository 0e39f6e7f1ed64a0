"""Errors raised by pywatt-data's backends; all derive from :class:`PyWattError`."""

from __future__ import annotations

from pywatt.core.errors import CacheBackendError, ConfigError, PyWattError


class OutcomeUnknownError(PyWattError):
    """The connection died after a non-idempotent operation was sent: it may or may not have
    been applied, so it is not retried. Check the data before repeating the operation."""


# --- database -------------------------------------------------------------------------------


class DatabaseError(PyWattError):
    """A database operation failed.

    ``driver_message`` is the driver's own text with any password removed, so it is safe to log.
    """

    def __init__(self, message: str, *, driver_message: str | None = None) -> None:
        self.driver_message = driver_message
        super().__init__(message)


class DatabaseConfigError(DatabaseError, ConfigError):
    """A database URL or settings value cannot work (unknown scheme part, bad pool size)."""


class DatabaseParameterError(DatabaseError, TypeError):
    """A statement's parameters do not fit it: not a mapping, missing or unused names."""


class DatabaseConnectionError(DatabaseError):
    """The server could not be reached, or the connection was lost and the retry failed too."""


class DatabaseTimeoutError(DatabaseConnectionError, TimeoutError):
    """No pooled connection became free within the acquire timeout."""


class DatabaseQueryError(DatabaseError):
    """The server rejected a statement (syntax, unknown table, type mismatch)."""


class DatabaseIntegrityError(DatabaseQueryError):
    """The statement broke a constraint (unique, foreign key, not null)."""


class DatabaseOutcomeUnknownError(OutcomeUnknownError, DatabaseConnectionError):
    """The connection was lost during a write (or its commit): it may have been applied."""


class StatementRewriteError(DatabaseQueryError):
    """The proxy cannot find the placeholders of a statement safely, so it refuses to send it."""


class TransactionClosedError(DatabaseError):
    """A transaction object was used after its ``async with`` block ended."""


# --- cache ----------------------------------------------------------------------------------


class CacheOutcomeUnknownError(OutcomeUnknownError, CacheBackendError):
    """The connection died during a non-idempotent cache command (increment, set_nx, ...)."""
