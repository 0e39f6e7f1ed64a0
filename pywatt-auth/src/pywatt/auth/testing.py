"""Test helpers: minting and forging tokens, the RFC 8725 attack table, and the conformance
kit every authenticator (``jwt``, ``proxy``, a third party's) must pass.

Imported only by tests; it needs pytest-free code paths so module authors can use it anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pywatt.auth.authenticators import Authenticator, Credentials
from pywatt.auth.errors import TokenRejected

__all__ = [
    "RejectionCase",
    "check_authenticator",
    "forge",
    "mint",
    "rejection_cases",
]

_REASON = re.compile(r"^[a-z][a-z_]*$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(
    claims: Mapping[str, Any],
    key: Any,
    alg: str = "HS256",
    *,
    kid: str | None = None,
    header: Mapping[str, Any] | None = None,
) -> str:
    """A signed compact JWT (joserfc signs; ``key`` is a joserfc key or key material)."""
    import warnings

    from joserfc import jws

    protected: dict[str, Any] = {"alg": alg, "typ": "JWT", **(header or {})}
    if kid is not None:
        protected["kid"] = kid
    payload = json.dumps(dict(claims), separators=(",", ":")).encode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "EdDSA" is deprecated by RFC 9864, still signable
        return jws.serialize_compact(protected, payload, key, algorithms=[alg])


def forge(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes = b"") -> str:
    """An unsigned (or hand-signed) compact token, for attacks no library would produce."""
    head = _b64(json.dumps(dict(header), separators=(",", ":")).encode())
    body = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{head}.{body}.{_b64(signature)}"


@dataclass(frozen=True)
class RejectionCase:
    """One attack: its name, the token sent, and the reason the verifier must give."""

    name: str
    token: str
    reason: str


def rejection_cases(
    *,
    hmac_key: Any,
    hmac_kid: str,
    rsa_public_pem: bytes,
    rsa_kid: str,
    issuer: str,
    audience: str,
    now: float,
    required_claim: str = "sub",
) -> list[RejectionCase]:
    """Every RFC 8725 rejection, for settings allowing HS256 and RS256 with these keys,
    this ``issuer`` and ``audience``, and ``required_claim`` required."""
    good = {
        "iss": issuer,
        "aud": audience,
        required_claim: "user-1",
        "iat": int(now) - 10,
        "exp": int(now) + 600,
    }

    def signed(claims: Mapping[str, Any], alg: str = "HS256", kid: str = hmac_kid) -> str:
        return mint(claims, hmac_key, alg, kid=kid)

    # HS256 keyed with the RSA public key's bytes: the textbook confusion attack.
    confusion_head = {"alg": "HS256", "typ": "JWT", "kid": rsa_kid}
    unsigned = forge(confusion_head, good).rsplit(".", 1)[0]
    confusion_sig = hmac.new(rsa_public_pem, unsigned.encode(), hashlib.sha256).digest()
    valid = signed(good)
    head, _payload, sig = valid.split(".")
    tampered = ".".join([head, _b64(json.dumps({**good, "sub": "admin"}).encode()), sig])
    return [
        RejectionCase("alg-none", forge({"alg": "none", "typ": "JWT"}, good), "alg_none"),
        RejectionCase("alg-none-upper", forge({"alg": "NONE"}, good), "alg_none"),
        RejectionCase("alg-confusion", forge(confusion_head, good, confusion_sig), "alg_confusion"),
        RejectionCase("alg-not-allowed", signed(good, "HS512"), "alg_not_allowed"),
        RejectionCase("unknown-kid", signed(good, kid="no-such-key"), "unknown_kid"),
        RejectionCase("expired", signed({**good, "exp": int(now) - 60}), "expired"),
        RejectionCase("not-yet-valid", signed({**good, "nbf": int(now) + 600}), "not_yet_valid"),
        RejectionCase("wrong-aud", signed({**good, "aud": "another-service"}), "invalid_audience"),
        RejectionCase(
            "wrong-iss", signed({**good, "iss": "https://evil.example"}), "invalid_issuer"
        ),
        RejectionCase(
            "missing-claim",
            signed({k: v for k, v in good.items() if k != required_claim}),
            "missing_claim",
        ),
        RejectionCase("too-large", signed({**good, "pad": "x" * 9000}), "token_too_large"),
        RejectionCase("malformed-two-parts", "eyJhbGciOiJIUzI1NiJ9.e30", "malformed"),
        RejectionCase("malformed-garbage", "not-a-token-at-all", "malformed"),
        RejectionCase("malformed-header-json", "bm90anNvbg.e30.c2ln", "malformed"),
        RejectionCase("bad-signature", tampered, "bad_signature"),
    ]


def _secret_texts(credentials: Credentials) -> list[str]:
    values = [*credentials.headers.values(), *credentials.cookies.values()]
    texts = []
    for value in values:
        texts.append(value)
        texts.extend(part for part in value.split() if len(part) >= 8)
    return [t for t in texts if len(t) >= 8]


async def check_authenticator(
    authenticator: Any,
    *,
    accepted: Credentials,
    refused: Sequence[Credentials],
    expected_claims: Mapping[str, Any] | None = None,
) -> None:
    """Assert the contract every authenticator keeps (raises ``AssertionError``).

    - it is an :class:`~pywatt.auth.authenticators.Authenticator` with a non-empty scheme;
    - ``accepted`` gives a claims dict, the same from the async and the threaded sync path;
    - each of ``refused``, and no credentials at all, raises ``TokenRejected`` with a stable
      lowercase reason, a 401/403 status and a Bearer challenge, on both paths;
    - no refusal's message repeats the credentials it refused.
    """
    import anyio.to_thread

    assert isinstance(authenticator, Authenticator), (
        f"{type(authenticator).__name__} lacks scheme/authenticate/authenticate_sync"
    )
    auth: Authenticator = authenticator
    assert isinstance(auth.scheme, str), "scheme must be a string"
    assert auth.scheme, "scheme must not be empty"
    claims = await auth.authenticate(accepted)
    assert isinstance(claims, dict), f"authenticate returned {type(claims).__name__}, not dict"
    threaded = await anyio.to_thread.run_sync(auth.authenticate_sync, accepted)
    assert threaded == claims, "authenticate_sync and authenticate disagree on accepted"
    if expected_claims is not None:
        for name, value in expected_claims.items():
            assert claims.get(name) == value, f"claim {name!r} is {claims.get(name)!r}"
    for index, credentials in enumerate([Credentials(), *refused]):
        where = f"refused[{index - 1}]" if index else "no credentials"
        for path in ("async", "sync"):
            exc = await _refusal(auth, credentials, path)
            assert exc is not None, f"{where} was accepted by the {path} path"
            assert _REASON.match(exc.reason), f"{where}: reason {exc.reason!r} is not stable"
            assert exc.status in (401, 403), f"{where}: status {exc.status}"
            assert exc.www_authenticate().startswith("Bearer"), f"{where}: challenge"
            text = f"{exc} {exc.detail} {exc!r}"
            for secret in _secret_texts(credentials):
                assert secret not in text, f"{where}: the refusal repeats the credentials"


async def _refusal(
    auth: Authenticator, credentials: Credentials, path: str
) -> TokenRejected | None:
    import anyio.to_thread

    try:
        if path == "async":
            await auth.authenticate(credentials)
        else:
            await anyio.to_thread.run_sync(auth.authenticate_sync, credentials)
    except TokenRejected as exc:
        return exc
    return None
