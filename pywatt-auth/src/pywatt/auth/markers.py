"""The attributes pywatt-server's discovery reads to announce protected endpoints.

They mirror :mod:`pywatt.server.discovery` (pywatt-auth does not depend on pywatt-server):
the scheme to announce, that the code really enforces it (an announce that claims more fails
at startup), and an app's path guards.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AUTH_ATTRIBUTE", "AUTH_GUARDS_ATTRIBUTE", "ENFORCED_ATTRIBUTE", "mark_enforced"]

AUTH_ATTRIBUTE = "__pywatt_auth__"
ENFORCED_ATTRIBUTE = "__pywatt_auth_enforced__"
AUTH_GUARDS_ATTRIBUTE = "__pywatt_auth_guards__"


def mark_enforced(func: Any, scheme: str) -> None:
    """Announce ``func``'s route with ``auth=scheme``, as code that refuses without it."""
    setattr(func, AUTH_ATTRIBUTE, scheme)
    setattr(func, ENFORCED_ATTRIBUTE, True)
