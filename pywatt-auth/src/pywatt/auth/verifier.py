"""``JwtVerifier``: one compact JWS checked against the settings (RFC 8725), with joserfc.

The order of checks is the order of cost: size, shape, ``alg`` against the allow-list, the
key named by ``kid`` and its kind, the signature, and only then the claims. Nothing in the
token chooses the algorithm set or the key type.
"""

from __future__ import annotations

import binascii
import json
import time
import warnings
from typing import TYPE_CHECKING, Any

from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry, extract_compact
from joserfc.util import urlsafe_b64decode

from pywatt.auth.errors import (
    AlgorithmConfusionError,
    AlgorithmNoneError,
    AlgorithmNotAllowedError,
    AuthConfigError,
    BadSignatureError,
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidIssuerError,
    MalformedTokenError,
    MissingClaimError,
    NotYetValidError,
    TokenTooLargeError,
    TokenTooOldError,
    UnknownKeyError,
)
from pywatt.auth.keys import JwksKeys, KeyRing, SecretKeys, StaticKeys

if TYPE_CHECKING:
    from joserfc.jwa import JWSAlgModel
    from joserfc.jwk import Key
    from joserfc.jws import CompactSignature

    from pywatt.auth.keys import Clock
    from pywatt.auth.settings import JwtSettings

__all__ = ["ClaimsPolicy", "JwtVerifier", "keys_for"]


def keys_for(settings: JwtSettings, *, clock: Clock = time.time) -> KeyRing:
    """The key ring the settings name (a local source; the orchestrator needs none)."""
    if settings.key is not None:
        return StaticKeys(settings.key, clock=clock)
    if settings.secret is not None:
        return SecretKeys(settings.secret, overlap=settings.rotation_overlap, clock=clock)
    if settings.jwks_url is not None or settings.oidc_issuer is not None:
        return JwksKeys(
            settings.jwks_url,
            issuer=settings.oidc_issuer,
            cache_seconds=settings.jwks_cache_seconds,
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
            clock=clock,
        )
    raise AuthConfigError("source='orchestrator' has no local keys; use the proxy authenticator")


def _resolve_algorithms(names: list[str]) -> dict[str, JWSAlgModel]:
    registry = JWSRegistry(algorithms=names)
    found: dict[str, JWSAlgModel] = {}
    for name in names:
        with warnings.catch_warnings():
            # joserfc warns that RFC 9864 deprecates "EdDSA"; it is allowed here on purpose.
            warnings.simplefilter("ignore")
            try:
                found[name] = registry.get_alg(name)
            except JoseError as exc:
                raise AuthConfigError(f"algorithm {name!r} is not available: {exc}") from None
    return found


class JwtVerifier:
    """Checks tokens with one set of settings and one key ring; cheap to call per request.

    :param settings: the policy.
    :param keys: where keys come from; by default the source the settings name.
    :param clock: seconds since the epoch, for ``exp``/``nbf``/``iat`` (tests pin it).
    """

    def __init__(
        self,
        settings: JwtSettings,
        keys: KeyRing | None = None,
        *,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        self.keys = keys if keys is not None else keys_for(settings, clock=clock)
        self.clock = clock
        self._algorithms = _resolve_algorithms(list(settings.algorithms))
        # Checks "crit" (RFC 7515 §4.1.11); other header names are the issuer's business.
        self._registry = JWSRegistry(
            algorithms=list(settings.algorithms), strict_check_header=False
        )
        self.policy = ClaimsPolicy(settings, clock=clock)

    # -- public ---------------------------------------------------------------------------

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or a :class:`~pywatt.auth.errors.TokenRejected` subclass.

        Loads the keys first when they are not loaded yet, and fetches a remote key set again
        once for an unknown ``kid``: in an event loop, call :meth:`averify` instead.
        """
        self.keys.ensure_sync()
        try:
            return self.verify_loaded(token)
        except UnknownKeyError:
            if not self.keys.refresh_sync():
                raise
        return self.verify_loaded(token)

    async def averify(self, token: str) -> dict[str, Any]:
        """:meth:`verify` for event loops: key fetches run in a worker thread."""
        await self.keys.ensure()
        try:
            return self.verify_loaded(token)
        except UnknownKeyError:
            import anyio.to_thread

            if not await anyio.to_thread.run_sync(self.keys.refresh_sync):
                raise
        return self.verify_loaded(token)

    def verify_loaded(self, token: str) -> dict[str, Any]:
        """Check with the keys loaded now; no I/O."""
        if len(token) > self.settings.max_token_bytes:
            raise TokenTooLargeError(f"longer than {self.settings.max_token_bytes} bytes")
        obj = self._parse(token)
        header = obj.headers()
        alg = self._algorithm(header)
        self._check_signature(obj, header, alg)
        claims = self._payload(obj)
        self.check_claims(claims)
        return claims

    def check_claims(self, claims: dict[str, Any]) -> None:
        """The registered-claim checks alone."""
        self.policy.check(claims)

    # -- steps ----------------------------------------------------------------------------

    def _parse(self, token: str) -> CompactSignature:
        try:
            obj = extract_compact(token.encode("ascii"), registry=self._registry)
            header = obj.headers()
        except (JoseError, ValueError, TypeError, binascii.Error):
            raise MalformedTokenError("not a compact JWS") from None
        if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
            raise MalformedTokenError("header has no alg")
        return obj

    def _algorithm(self, header: dict[str, Any]) -> JWSAlgModel:
        name: str = header["alg"]
        if name.lower() == "none":
            raise AlgorithmNoneError()
        alg = self._algorithms.get(name)
        if alg is None:
            raise AlgorithmNotAllowedError()
        try:
            self._registry.check_header(header)
        except JoseError:
            raise MalformedTokenError("header not understood") from None
        return alg

    def _usable_keys(self, header: dict[str, Any], alg: JWSAlgModel) -> list[Key]:
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise MalformedTokenError("kid is not a string")
        candidates = self.keys.lookup(kid)
        if not candidates:
            raise UnknownKeyError() if kid is not None else AlgorithmConfusionError("no keys")
        usable = []
        for key in candidates:
            try:
                alg.check_key(key)
            except JoseError:
                continue
            usable.append(key)
        if not usable:
            # The token's alg needs another kind of key than the one it would be checked with:
            # e.g. an HS256 token against an RSA public key (RFC 8725 §2.1).
            raise AlgorithmConfusionError()
        return usable

    def _check_signature(
        self, obj: CompactSignature, header: dict[str, Any], alg: JWSAlgModel
    ) -> None:
        keys = self._usable_keys(header, alg)
        segments = obj.segments
        signing_input = segments["header"] + b"." + segments["payload"]
        try:
            signature = urlsafe_b64decode(segments["signature"])
        except (ValueError, TypeError, binascii.Error):
            raise MalformedTokenError("signature is not base64url") from None
        for key in keys:
            if alg.verify(signing_input, signature, key):
                return
        raise BadSignatureError()

    @staticmethod
    def _payload(obj: CompactSignature) -> dict[str, Any]:
        try:
            claims = json.loads(obj.payload)
        except (ValueError, TypeError):
            raise MalformedTokenError("payload is not JSON") from None
        if not isinstance(claims, dict):
            raise MalformedTokenError("payload is not a JSON object")
        return claims


class ClaimsPolicy:
    """The registered-claim checks of the settings; also applied to the claims the
    orchestrator's Jwt service returns, so both paths refuse with the same reasons."""

    def __init__(self, settings: JwtSettings, *, clock: Clock = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self._audiences = settings.audiences
        self._required = tuple(settings.required_claims)

    def check(self, claims: dict[str, Any]) -> None:
        now = self.clock()
        leeway = self.settings.leeway
        exp = _time_claim(claims, "exp")
        if exp is not None and now >= exp + leeway:
            raise ExpiredTokenError()
        nbf = _time_claim(claims, "nbf")
        if nbf is not None and now + leeway < nbf:
            raise NotYetValidError()
        iat = _time_claim(claims, "iat")
        if iat is not None and now + leeway < iat:
            raise NotYetValidError("issued in the future")
        if self.settings.max_age is not None:
            if iat is None:
                raise MissingClaimError("'iat' (needed by max_age)")
            if now - iat > self.settings.max_age + leeway:
                raise TokenTooOldError()
        if self.settings.issuer is not None:
            if "iss" not in claims:
                raise MissingClaimError("'iss'")
            if claims["iss"] != self.settings.issuer:
                raise InvalidIssuerError()
        self._check_audience(claims)
        for name in self._required:
            if name not in claims:
                raise MissingClaimError(repr(name))

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if "aud" not in claims:
            if self._audiences:
                raise MissingClaimError("'aud'")
            return
        aud = claims["aud"]
        values = [aud] if isinstance(aud, str) else aud
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise MalformedTokenError("aud is not a string or a list of strings")
        # RFC 7519 §4.1.3: a token meant for an audience we do not claim is refused.
        if not self._audiences.intersection(values):
            raise InvalidAudienceError()


def _time_claim(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedTokenError(f"{name!r} is not a number")
    return float(value)
