"""pywatt-auth's plugin: the ``jwt`` and ``proxy`` authenticators."""

from __future__ import annotations

from pywatt.core.contracts import RegisterAuthenticator
from pywatt.core.plugins import hookimpl, lazy


@hookimpl
def pywatt_register_authenticators(register: RegisterAuthenticator) -> None:
    # Imported on first use: joserfc loads only in a process that verifies tokens.
    register("jwt", lazy("pywatt.auth.authenticators:JwtAuthenticator"))
    register("proxy", lazy("pywatt.auth.delegated:ProxyAuthenticator"))
