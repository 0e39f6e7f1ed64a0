"""The HMAC authenticator passes pywatt-auth's kit, built the way users build it."""

from __future__ import annotations

import time

import pytest
from pywatt_hmacauth import HmacAuthenticator, sign

from pywatt.auth import Credentials, TokenRejected, build_authenticator
from pywatt.auth.testing import check_authenticator

SECRET = "s" * 16 + "0123456789abcdef"  # 32 bytes
OTHER = "o" * 32


def _auth() -> HmacAuthenticator:
    auth = build_authenticator("hmac", {"k1": SECRET, "k2": OTHER})
    assert isinstance(auth, HmacAuthenticator)
    return auth


def _forged_claims() -> str:
    head, kid, _payload, sig = sign({"sub": "ada"}, "k1", SECRET).split(".")
    other = sign({"sub": "admin"}, "k1", SECRET).split(".")[2]
    return ".".join([head, kid, other, sig])


REFUSED = {
    "bad_signature": Credentials.bearer(sign({"sub": "ada"}, "k1", OTHER)),
    "bad_signature ": Credentials.bearer(_forged_claims()),
    "unknown_kid": Credentials.bearer(sign({"sub": "ada"}, "k9", SECRET)),
    "expired": Credentials.bearer(sign({"sub": "ada", "exp": int(time.time()) - 60}, "k1", SECRET)),
    "malformed": Credentials.bearer("hm1.k1.only-three"),
    "malformed ": Credentials.bearer("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),  # a JWT is not ours
    "missing_token": Credentials(headers={"authorization": "Basic YWRhOnNlY3JldA=="}),
    "token_too_large": Credentials.bearer(sign({"pad": "x" * 5000}, "k1", SECRET)),
}


@pytest.mark.anyio
async def test_the_authenticator_keeps_the_contract() -> None:
    token = sign({"sub": "ada", "scope": "orders:read"}, "k2", OTHER)
    await check_authenticator(
        _auth(),
        accepted=Credentials.bearer(token),
        refused=list(REFUSED.values()),
        expected_claims={"sub": "ada", "scope": "orders:read"},
    )


@pytest.mark.parametrize("reason", list(REFUSED))
def test_each_refusal_says_why(reason: str) -> None:
    with pytest.raises(TokenRejected) as caught:
        _auth().authenticate_sync(REFUSED[reason])
    assert caught.value.reason == reason.strip()


def test_leeway_and_the_pinned_clock() -> None:
    token = sign({"sub": "ada", "exp": 1000}, "k1", SECRET)
    late = HmacAuthenticator({"k1": SECRET}, leeway=5, clock=lambda: 1004.0)
    assert late.authenticate_sync(Credentials.bearer(token))["sub"] == "ada"
    too_late = HmacAuthenticator({"k1": SECRET}, leeway=5, clock=lambda: 1005.0)
    with pytest.raises(TokenRejected, match="expired"):
        too_late.authenticate_sync(Credentials.bearer(token))
