"""pywatt-auth's plugin: the ``jwt`` and ``proxy`` authenticators."""

from __future__ import annotations

from pywatt.core.hookspecs import Register
from pywatt.core.plugins import hookimpl


@hookimpl
def pywatt_register_authenticators(register: Register) -> None:
    from pywatt.auth.authenticators import JwtAuthenticator
    from pywatt.auth.delegated import ProxyAuthenticator

    register("jwt", JwtAuthenticator)
    register("proxy", ProxyAuthenticator)
