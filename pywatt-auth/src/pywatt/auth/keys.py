"""Verification keys: parsed once, looked up by ``kid``, and replaced without a restart.

A :class:`KeyRing` holds the current keys and, after a rotation, the previous ones until their
overlap ends. Its sources: key material given inline (PEM, JWK, JWKS document or an HMAC
secret), a module secret followed through rotation (§6.3), a JWKS URL, or an OIDC issuer whose
discovery document names the JWKS. Fetches are two plain JSON GETs with the standard library:
they need no OAuth client, so no HTTP library is pulled in for them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from joserfc.jwk import ECKey, Key, KeySet, OctKey, OKPKey, RSAKey

from pywatt.auth.errors import AuthConfigError, AuthUnavailableError

if TYPE_CHECKING:
    from pywatt.core.secrets import SecretClient

__all__ = [
    "JwksKeys",
    "KeyRing",
    "SecretKeys",
    "StaticKeys",
    "fetch_json",
    "load_keys",
]

logger = logging.getLogger("pywatt.auth.keys")

Clock = Callable[[], float]
#: RFC 7518 §3.2: an HMAC key at least as long as the hash output; 32 bytes covers HS256.
MIN_HMAC_BYTES = 32
FETCH_TIMEOUT = 5.0


def load_keys(material: str) -> list[Key]:
    """Keys from a JWKS document, one JWK, a PEM, or else an HMAC secret (UTF-8 bytes)."""
    text = material.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise AuthConfigError("key material starts like JSON but does not parse") from None
        try:
            if isinstance(data, dict) and isinstance(data.get("keys"), list):
                return list(KeySet.import_key_set(data).keys)  # type: ignore[arg-type]
            if isinstance(data, dict) and "kty" in data:
                return [_import_jwk(data)]
        except AuthConfigError:
            raise
        except Exception as exc:
            raise AuthConfigError(f"JWK does not import: {type(exc).__name__}") from None
        raise AuthConfigError("JSON key material is neither a JWK nor a JWKS document")
    if "-----BEGIN" in text:
        for kind in (RSAKey, ECKey, OKPKey):
            try:
                return [kind.import_key(text)]
            except Exception:  # the next key type may fit
                continue
        raise AuthConfigError("PEM is not an RSA, EC or OKP key")
    raw = material.encode()
    if len(raw) < MIN_HMAC_BYTES:
        raise AuthConfigError(
            f"an HMAC secret needs at least {MIN_HMAC_BYTES} bytes (RFC 7518 §3.2), "
            f"this one has {len(raw)}"
        )
    with warnings.catch_warnings():
        # joserfc warns about secrets that look like keys; a real one is refused below.
        warnings.simplefilter("ignore")
        return [OctKey.import_key(raw)]


def _import_jwk(data: dict[str, Any]) -> Key:
    if data.get("kty") == "oct":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key: OctKey = OctKey.import_key(data)
        raw: bytes = key.get_op_key("verify")
        if len(raw) < MIN_HMAC_BYTES:
            raise AuthConfigError(f"an oct JWK needs at least {MIN_HMAC_BYTES} bytes")
        return key
    imported: Key = KeySet.import_key_set({"keys": [data]}).keys[0]
    return imported


def fetch_json(url: str, timeout: float = FETCH_TIMEOUT) -> dict[str, Any]:
    """GET a JSON object; any failure is :class:`AuthUnavailableError` (never a 401)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read())
    except Exception as exc:
        raise AuthUnavailableError(f"cannot fetch {url}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise AuthUnavailableError(f"{url} did not return a JSON object")
    return data


@dataclass(frozen=True)
class _Entry:
    key: Key
    kid: str | None
    #: The clock reading past which this key no longer verifies (``None``: current).
    until: float | None = None


class KeyRing:
    """Current keys plus retired ones still inside their overlap window."""

    def __init__(self, *, overlap: float = 0.0, clock: Clock = time.time) -> None:
        self.overlap = overlap
        self.clock = clock
        self._entries: tuple[_Entry, ...] = ()
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def set_keys(self, keys: list[Key], *, rotate: bool = False) -> None:
        """Install ``keys``; with ``rotate`` the previous ones verify for ``overlap`` more."""
        fresh = tuple(_Entry(k, k.kid) for k in keys)
        with self._lock:
            kept: tuple[_Entry, ...] = ()
            if rotate and self.overlap > 0:
                now = self.clock()
                until = now + self.overlap
                old = [
                    _Entry(e.key, e.kid, until if e.until is None else e.until)
                    for e in self._entries
                    if e.until is None or e.until > now
                ]
                kept = tuple(e for e in old if not any(_same(e.key, f.key) for f in fresh))
            # One tuple swap: a verifier in another thread sees the old set or the new one.
            self._entries = fresh + kept
            self._loaded = True

    def lookup(self, kid: str | None) -> list[Key]:
        """Keys a token with this ``kid`` may be signed with, current ones first."""
        now = self.clock()
        return [
            e.key
            for e in self._entries
            if (kid is None or e.kid == kid) and (e.until is None or e.until > now)
        ]

    def __len__(self) -> int:
        return len(self.lookup(None))

    # Sources override these; a static ring has nothing to load or refresh.
    def ensure_sync(self) -> None:
        if not self._loaded:
            raise AuthUnavailableError("no verification keys are loaded")

    async def ensure(self) -> None:
        self.ensure_sync()

    def refresh_sync(self) -> bool:
        """Fetch again after an unknown ``kid``; ``True`` when the keys may have changed."""
        return False


def _same(a: Key, b: Key) -> bool:
    return a.as_dict(private=False) == b.as_dict(private=False)


class StaticKeys(KeyRing):
    """Keys given in the settings (PEM, JWK, JWKS document or HMAC secret)."""

    def __init__(self, material: str, *, clock: Clock = time.time) -> None:
        super().__init__(clock=clock)
        self.set_keys(load_keys(material))


class SecretKeys(KeyRing):
    """Keys read from a module secret, replaced when the orchestrator rotates it.

    The first request (or :meth:`ensure`) fetches the secret through the running module's
    secret client and subscribes to rotations. A rotation swaps the keys before the module's
    ``rotation_ack`` goes out; the old keys keep verifying for ``overlap`` seconds.
    """

    def __init__(
        self,
        name: str,
        *,
        overlap: float,
        client: SecretClient | None = None,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(overlap=overlap, clock=clock)
        self.name = name
        self._client = client
        self._unsubscribe: Callable[[], None] | None = None

    def _secret_client(self) -> SecretClient:
        if self._client is None:
            from pywatt.core.module import current_module

            try:
                self._client = current_module().state.extensions["secrets"]
            except Exception as exc:
                raise AuthUnavailableError(
                    f"keys come from secret {self.name!r} but no module is running ({exc})"
                ) from None
        assert self._client is not None
        return self._client

    async def ensure(self) -> None:
        if self._loaded:
            return
        client = self._secret_client()
        secret = await client.get(self.name)
        self.set_keys(load_keys(secret.expose()))
        if self._unsubscribe is None:
            self._unsubscribe = client.subscribe(self._on_rotated)

    async def _on_rotated(self, keys: list[str]) -> None:
        if self.name not in keys:
            return
        from pywatt.core.secrets import CacheMode

        secret = await self._secret_client().get(self.name, mode=CacheMode.FORCE_REMOTE)
        self.set_keys(load_keys(secret.expose()), rotate=True)
        logger.info("verification keys rotated", extra={"secret": self.name})

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class JwksKeys(KeyRing):
    """A JWKS URL (or an OIDC issuer's), cached and fetched again on an unknown ``kid``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        issuer: str | None = None,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 10.0,
        clock: Clock = time.time,
    ) -> None:
        if (url is None) == (issuer is None):
            raise AuthConfigError("JwksKeys needs a JWKS url or an OIDC issuer, not both")
        super().__init__(clock=clock)
        self.url = url
        self.issuer = issuer
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._fetched_at = float("-inf")
        self.fetches = 0

    def _jwks_url(self) -> str:
        if self.url is None:
            assert self.issuer is not None
            discovery = fetch_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise AuthUnavailableError(f"issuer {self.issuer} names no jwks_uri")
            if discovery.get("issuer") not in (None, self.issuer, self.issuer.rstrip("/")):
                raise AuthUnavailableError(f"issuer {self.issuer} announces another issuer")
            self.url = jwks_uri
        return self.url

    def _fetch(self) -> None:
        url = self._jwks_url()
        data = fetch_json(url)
        try:
            keys = list(KeySet.import_key_set(data).keys)  # type: ignore[arg-type]
        except Exception as exc:
            raise AuthUnavailableError(f"{url} is not a JWKS: {type(exc).__name__}") from None
        self._fetched_at = self.clock()
        self.fetches += 1
        self.set_keys(keys)

    def _stale(self) -> bool:
        return self.clock() - self._fetched_at >= self.cache_seconds

    def ensure_sync(self) -> None:
        if not self._loaded or self._stale():
            try:
                self._fetch()
            except AuthUnavailableError:
                if not self._loaded:
                    raise
                # A stale set beats none while the key server is away.
                logger.warning("JWKS refresh failed; keeping the cached keys", exc_info=True)

    async def ensure(self) -> None:
        if self._loaded and not self._stale():
            return
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.ensure_sync)

    def refresh_sync(self) -> bool:
        if self.clock() - self._fetched_at < self.min_refresh_seconds:
            return False
        self._fetch()
        return True
