"""The RFCs' own example tokens verify with the RFCs' own keys, under a pinned clock."""

from __future__ import annotations

import json

import pytest

from pywatt.auth import ExpiredTokenError, JwtSettings, JwtVerifier

PAYLOAD_CLAIMS = {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
#: Just before the examples' ``exp``: the expiry check runs and passes.
BEFORE_EXP = 1300819379.0

# RFC 7515 appendix A.1 (HS256); RFC 7519 §3.1 shows this same JWT with the same key.
A1_KEY = {
    "kty": "oct",
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
}
A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC7519_3_1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
# RFC 7515 appendix A.3 (ES256, P-256); only the public part is needed to verify.
A3_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
A3_TOKEN = (
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)


def _verifier(key: dict[str, str], alg: str, now: float) -> JwtVerifier:
    settings = JwtSettings(algorithms=[alg], key=json.dumps(key))  # type: ignore[list-item]
    return JwtVerifier(settings, clock=lambda: now)


@pytest.mark.parametrize(
    ("token", "key", "alg"),
    [
        pytest.param(A1_TOKEN, A1_KEY, "HS256", id="rfc7515-A.1-HS256"),
        pytest.param(RFC7519_3_1_TOKEN, A1_KEY, "HS256", id="rfc7519-3.1"),
        pytest.param(A3_TOKEN, A3_KEY, "ES256", id="rfc7515-A.3-ES256"),
    ],
)
def test_rfc_example_verifies_before_its_expiry(token, key, alg):
    assert _verifier(key, alg, BEFORE_EXP).verify(token) == PAYLOAD_CLAIMS


@pytest.mark.parametrize(
    ("token", "key", "alg"),
    [(A1_TOKEN, A1_KEY, "HS256"), (A3_TOKEN, A3_KEY, "ES256")],
)
def test_rfc_example_is_expired_at_its_exp(token, key, alg):
    with pytest.raises(ExpiredTokenError) as info:
        _verifier(key, alg, PAYLOAD_CLAIMS["exp"]).verify(token)
    assert info.value.reason == "expired"


def test_one_changed_signature_byte_fails():
    tampered = A1_TOKEN[:-2] + ("A" if A1_TOKEN[-2] != "A" else "B") + A1_TOKEN[-1]
    from pywatt.auth import BadSignatureError

    with pytest.raises(BadSignatureError):
        _verifier(A1_KEY, "HS256", BEFORE_EXP).verify(tampered)
