"""Every RFC 8725 rejection, each with its own typed error and stable reason."""

from __future__ import annotations

import time

import pytest

from pywatt.auth import (
    AuthConfigError,
    JwtSettings,
    JwtVerifier,
    TokenRejected,
    TokenTooOldError,
)
from pywatt.auth.testing import mint

from .conftest import attack_cases, good_claims, settings_dict

NOW = time.time()


def _verifier(keys, **overrides) -> JwtVerifier:
    return JwtVerifier(JwtSettings(**{**settings_dict(keys), **overrides}), clock=lambda: NOW)


def test_every_case_is_refused_with_its_reason_and_class(keys):
    verifier = _verifier(keys)
    seen = {}
    for case in attack_cases(keys, NOW):
        with pytest.raises(TokenRejected) as info:
            verifier.verify(case.token)
        assert info.value.reason == case.reason, case.name
        seen.setdefault(case.reason, type(info.value))
    # One class per reason, none of them the generic base.
    assert len(set(seen.values())) == len(seen)
    assert TokenRejected not in seen.values()


def test_the_same_claims_pass_when_signed_right(keys):
    verifier = _verifier(keys)
    claims = good_claims(NOW)
    assert verifier.verify(mint(claims, keys.hmac, kid="k1")) == claims
    assert verifier.verify(mint(claims, keys.rsa_private, "RS256", kid="r1")) == claims


def test_hs_token_keyed_by_the_rsa_public_key_without_kid_is_confusion(keys):
    from pywatt.auth.testing import forge

    verifier = JwtVerifier(
        JwtSettings(algorithms=["HS256", "RS256"], key=keys.rsa_public_pem.decode()),
        clock=lambda: NOW,
    )
    with pytest.raises(TokenRejected) as info:
        verifier.verify(forge({"alg": "HS256"}, good_claims(NOW), b"x" * 32))
    assert info.value.reason == "alg_confusion"


def test_leeway_admits_a_just_expired_token(keys):
    token = mint(good_claims(NOW, exp=int(NOW) - 5), keys.hmac, kid="k1")
    assert _verifier(keys, leeway=30).verify(token)["sub"] == "user-1"
    with pytest.raises(TokenRejected, match="expired"):
        _verifier(keys).verify(token)


def test_max_age_refuses_old_tokens(keys):
    token = mint(good_claims(NOW, iat=int(NOW) - 3600), keys.hmac, kid="k1")
    with pytest.raises(TokenTooOldError):
        _verifier(keys, max_age=60).verify(token)
    assert _verifier(keys, max_age=7200).verify(token)["sub"] == "user-1"


def test_algorithms_are_required_and_one_key_source_is_needed(keys):
    with pytest.raises(ValueError, match="algorithms"):
        JwtSettings(key=keys.jwks)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="exactly one key source"):
        JwtSettings(algorithms=["HS256"])
    with pytest.raises(ValueError, match="none"):
        JwtSettings(algorithms=["none"], key=keys.jwks)  # type: ignore[list-item]


def test_short_hmac_secrets_are_refused():
    with pytest.raises(AuthConfigError, match="at least 32 bytes"):
        JwtVerifier(JwtSettings(algorithms=["HS256"], key="short"))


@pytest.mark.parametrize("alg", ["HS384", "HS512", "RS384", "RS512", "PS256", "ES384", "EdDSA"])
def test_each_supported_algorithm_round_trips(alg):
    from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

    private = {
        "HS": lambda: OctKey.generate_key(512),
        "RS": lambda: RSAKey.generate_key(2048),
        "PS": lambda: RSAKey.generate_key(2048),
        "ES": lambda: ECKey.generate_key("P-384"),
        "Ed": lambda: OKPKey.generate_key("Ed25519"),
    }[alg[:2]]()
    public = private.as_dict(private=alg.startswith("HS"))
    import json

    verifier = JwtVerifier(JwtSettings(algorithms=[alg], key=json.dumps(public)), clock=lambda: NOW)
    claims = {"sub": "x", "exp": int(NOW) + 60}
    assert verifier.verify(mint(claims, private, alg)) == claims
