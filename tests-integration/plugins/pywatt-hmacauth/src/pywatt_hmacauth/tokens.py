"""HMAC-signed bearer tokens: ``hm1.<key id>.<claims>.<signature>``.

``<claims>`` is the claims as compact JSON, base64url without padding; ``<signature>`` is
HMAC-SHA256, keyed by the named key, over ``hm1.<key id>.<claims>``. The claims carry ``exp``
(seconds since the epoch) and whatever the issuer adds (``sub``, ``scope``, ``roles``). Keys
are shared between the issuer and the modules, and several may be live at once for rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from pywatt.auth import (
    AuthConfigError,
    BadSignatureError,
    Claims,
    Credentials,
    ExpiredTokenError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    TokenTooLargeError,
    UnknownKeyError,
)

__all__ = ["PREFIX", "HmacAuthenticator", "sign"]

PREFIX = "hm1"
MAX_TOKEN_BYTES = 4096
MIN_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if len(key) < MIN_KEY_BYTES:
        raise AuthConfigError(f"an HMAC key needs at least {MIN_KEY_BYTES} bytes")
    return key


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()


def sign(claims: Mapping[str, Any], key_id: str, secret: str | bytes, *, ttl: float = 300) -> str:
    """A token for ``claims``, valid ``ttl`` seconds unless ``claims`` has its own ``exp``."""
    if "." in key_id or not key_id:
        raise ValueError("a key id is a non-empty name without dots")
    body = {"exp": int(time.time() + ttl), **claims}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    signed = f"{PREFIX}.{key_id}.{payload}"
    return f"{signed}.{_b64(_mac(_key(secret), signed))}"


class HmacAuthenticator:
    """Accepts ``Authorization: Bearer hm1.<kid>.<claims>.<sig>`` signed by one of ``keys``.

    :param keys: key id -> shared secret (at least 32 bytes); more than one during rotation.
    :param leeway: seconds of clock skew allowed on ``exp``.
    :param clock: seconds since the epoch (tests pin it).
    """

    scheme = "hmac"

    def __init__(
        self,
        keys: Mapping[str, str | bytes],
        *,
        leeway: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise AuthConfigError("the hmac authenticator needs at least one key")
        self._keys = {kid: _key(secret) for kid, secret in keys.items()}
        self._leeway = leeway
        self._clock = clock

    def authenticate_sync(self, credentials: Credentials) -> Claims:
        token = _bearer(credentials)
        prefix, kid, payload, signature = _parts(token)
        key = self._keys.get(kid)
        if key is None:
            raise UnknownKeyError()  # never the key id: it came from the caller
        try:
            presented = _unb64(signature)
        except (binascii.Error, ValueError):
            raise MalformedTokenError("signature is not base64url") from None
        if not hmac.compare_digest(_mac(key, f"{prefix}.{kid}.{payload}"), presented):
            raise BadSignatureError()
        claims = _claims(payload)
        exp = claims.get("exp")
        if exp is None:
            raise MissingClaimError("exp")
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise MalformedTokenError("exp is not a number")
        if self._clock() >= exp + self._leeway:
            raise ExpiredTokenError()
        return claims

    async def authenticate(self, credentials: Credentials) -> Claims:
        # Pure computation, no I/O: the event-loop path is the same call.
        return self.authenticate_sync(credentials)


def _bearer(credentials: Credentials) -> str:
    value = credentials.headers.get("authorization")
    if value is None:
        raise MissingTokenError()
    kind, _, token = value.partition(" ")
    if kind.lower() != "bearer":
        raise MissingTokenError("not a Bearer authorization")
    token = token.strip(" ")
    if not token or " " in token:
        raise MalformedTokenError("empty or spaced bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenTooLargeError(f"longer than {MAX_TOKEN_BYTES} bytes")
    return token


def _parts(token: str) -> tuple[str, str, str, str]:
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts):
        raise MalformedTokenError(f"not an {PREFIX} token")
    return parts[0], parts[1], parts[2], parts[3]


def _claims(payload: str) -> Claims:
    try:
        claims = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        raise MalformedTokenError("claims are not base64url JSON") from None
    if not isinstance(claims, dict):
        raise MalformedTokenError("claims are not a JSON object")
    return claims
