"""The process-wide secret redactor that keeps secret values out of stderr.

A secret can reach a log line raw, JSON-escaped (inside our JSON log lines) or ``repr``-escaped
(tracebacks and exception messages show ``repr`` of strings), so each registered value is matched
in all of those spellings.
"""

from __future__ import annotations

import json
import re
import threading

__all__ = [
    "REDACTED",
    "Redactor",
    "get_redactor",
    "redact",
    "register_secret",
    "registered_count",
    "spellings",
]

REDACTED = "[REDACTED]"


def _repr_inner(value: str) -> str:
    # Per-character repr is context-free except for the quote Python picks; this form leaves
    # quotes bare, the caller adds the ``\'`` spelling separately.
    return "".join(repr(ch)[1:-1] for ch in value)


def _bytes_repr_inner(value: str) -> str:
    return "".join(repr(bytes([b]))[2:-1] for b in value.encode("utf-8", "surrogatepass"))


def _json_inner(value: str, *, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)[1:-1]


def spellings(value: str) -> set[str]:
    """Every form in which ``value`` can show up in text we write to stderr."""
    reprs = {_repr_inner(value), _bytes_repr_inner(value)}
    reprs |= {r.replace("'", "\\'") for r in reprs}
    plain = {value, *reprs}
    out = set(plain)
    for form in plain:
        out.add(_json_inner(form, ascii_only=False))
        out.add(_json_inner(form, ascii_only=True))
    out.discard("")
    return out


class Redactor:
    """Replaces every registered secret value with ``[REDACTED]``; safe to share across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._forms: set[str] = set()
        # Read without the lock: swapping one attribute is atomic, and a reader sees either the
        # old or the new pattern, both complete.
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        """Add a secret value; empty values are ignored because they would match everywhere."""
        if not isinstance(value, str):
            raise TypeError(f"secret value must be str, not {type(value).__name__}")
        if not value:
            return
        with self._lock:
            if value in self._values:
                return
            self._values.add(value)
            self._forms |= spellings(value)
            # Longest first: at any position the alternation takes the first branch that matches,
            # so a secret that contains another is removed whole.
            ordered = sorted(self._forms, key=lambda s: (-len(s), s))
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered value, in any spelling, replaced."""
        pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(REDACTED, text)

    def count(self) -> int:
        """How many distinct secret values are registered."""
        return len(self._values)

    def clear(self) -> None:
        """Forget every value; for tests and for a process that re-bootstraps."""
        with self._lock:
            self._values.clear()
            self._forms.clear()
            self._pattern = None


_GLOBAL = Redactor()


def get_redactor() -> Redactor:
    """The process-wide redactor used by pywatt's log formatter."""
    return _GLOBAL


def register_secret(value: str) -> None:
    """Register a secret value with the process-wide redactor."""
    _GLOBAL.register(value)


def redact(text: str) -> str:
    """Redact ``text`` with the process-wide redactor."""
    return _GLOBAL.redact(text)


def registered_count() -> int:
    """How many distinct secret values the process-wide redactor holds."""
    return _GLOBAL.count()
