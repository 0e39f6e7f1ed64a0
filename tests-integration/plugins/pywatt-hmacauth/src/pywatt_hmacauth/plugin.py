"""The entry point's module: the ``hmac`` authenticator."""

from __future__ import annotations

from pywatt.core import RegisterAuthenticator, hookimpl, lazy


@hookimpl
def pywatt_register_authenticators(register: RegisterAuthenticator) -> None:
    register("hmac", lazy("pywatt_hmacauth.tokens:HmacAuthenticator"))
