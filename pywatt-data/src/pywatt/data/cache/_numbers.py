"""Decimal integers as stored by ``increment``: the same rules on every backend, Redis's rules."""

from __future__ import annotations

import re

from pywatt.core.errors import CacheValueError

_DECIMAL = re.compile(rb"-?(?:0|[1-9][0-9]{0,19})")
_MIN, _MAX = -(2**63), 2**63 - 1


def parse_int(value: bytes) -> int:
    """The integer a stored value holds; anything else is not incrementable."""
    if _DECIMAL.fullmatch(value) is None:
        raise CacheValueError(f"value is not a decimal integer: {value[:40]!r}")
    return check_int64(int(value))


def check_int64(number: int) -> int:
    if not _MIN <= number <= _MAX:
        raise CacheValueError("value is out of the signed 64-bit range")
    return number


def incremented(old: bytes | None, delta: int) -> tuple[int, bytes]:
    """The new integer and its stored form, after adding ``delta`` to ``old`` (missing = 0)."""
    number = check_int64((0 if old is None else parse_int(old)) + delta)
    return number, str(number).encode()
