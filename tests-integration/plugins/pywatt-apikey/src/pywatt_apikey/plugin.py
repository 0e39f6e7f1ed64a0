from __future__ import annotations

from pywatt.core import hookimpl
from pywatt.core.contracts import RegisterAuthenticator


@hookimpl
def pywatt_register_authenticators(register: RegisterAuthenticator) -> None:
    from pywatt_apikey import ApiKeyAuthenticator

    register("apikey", ApiKeyAuthenticator)
