"""An API-key authenticator: a third party plugging into pywatt-auth's registry."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from pywatt.auth import Credentials, MissingTokenError, TokenRejected

__all__ = ["ApiKeyAuthenticator", "UnknownApiKeyError"]


class UnknownApiKeyError(TokenRejected):
    reason = "unknown_api_key"


class ApiKeyAuthenticator:
    """Accepts ``X-API-Key: <key>`` for a key in ``keys`` (key -> the subject it names)."""

    scheme = "apikey"

    def __init__(self, keys: Mapping[str, str], header: str = "x-api-key") -> None:
        self._keys = dict(keys)
        self._header = header.lower()

    def authenticate_sync(self, credentials: Credentials) -> dict[str, Any]:
        presented = credentials.headers.get(self._header)
        if not presented:
            raise MissingTokenError()
        for key, subject in self._keys.items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                return {"sub": subject, "scope": "api"}
        raise UnknownApiKeyError()

    async def authenticate(self, credentials: Credentials) -> dict[str, Any]:
        return self.authenticate_sync(credentials)
