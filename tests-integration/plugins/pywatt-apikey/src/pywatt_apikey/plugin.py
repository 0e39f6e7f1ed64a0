from __future__ import annotations

from pywatt.core import hookimpl
from pywatt.core.hookspecs import Register


@hookimpl
def pywatt_register_authenticators(register: Register) -> None:
    from pywatt_apikey import ApiKeyAuthenticator

    register("apikey", ApiKeyAuthenticator)
