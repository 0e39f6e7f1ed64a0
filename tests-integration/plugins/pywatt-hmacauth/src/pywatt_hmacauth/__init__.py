"""pywatt-hmacauth: bearer tokens signed with shared HMAC keys, checked without a network call.

``build_authenticator("hmac", {"k1": secret})`` checks them; :func:`sign` makes them.
"""

from __future__ import annotations

from pywatt_hmacauth.tokens import HmacAuthenticator, sign

__all__ = ["HmacAuthenticator", "sign"]
