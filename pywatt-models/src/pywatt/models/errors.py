"""Errors raised by pywatt-models; all derive from :class:`PyWattError`."""

from __future__ import annotations

from collections.abc import Sequence

from pywatt.core.errors import PyWattError

__all__ = [
    "DestructiveChangeError",
    "MigrationError",
    "ModelsError",
    "SchemaValidationError",
    "UnsupportedFeatureError",
]


class ModelsError(PyWattError):
    """A schema could not be read, built, rendered or applied."""


class SchemaValidationError(ModelsError, ValueError):
    """A model is invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} schema problem{'s' if count != 1 else ''}"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class UnsupportedFeatureError(ModelsError):
    """The target dialect lacks a feature the schema or the migration needs."""

    def __init__(self, feature: str, dialect: str, hint: str = "") -> None:
        self.feature = feature
        self.dialect = dialect
        super().__init__(f"{dialect} does not support {feature}" + (f"; {hint}" if hint else ""))


class MigrationError(ModelsError):
    """A migration step failed on the server.

    ``applied`` lists the steps that ran before it and stay applied: always empty where DDL
    is transactional (PostgreSQL, SQLite), since the whole migration rolls back there.
    """

    def __init__(self, message: str, *, applied: Sequence[str] = ()) -> None:
        self.applied = list(applied)
        super().__init__(message)


class DestructiveChangeError(ModelsError):
    """The plan drops or narrows something and destructive changes were not allowed."""

    def __init__(self, steps: Sequence[str]) -> None:
        self.steps = list(steps)
        super().__init__(
            "refusing destructive changes (pass allow_destructive=True or --allow-destructive):"
            + "".join(f"\n  - {s}" for s in self.steps)
        )
