from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import OctKey, RSAKey

ISSUER = "pywatt-tests"
AUDIENCE = "pywatt-module"
HMAC_SECRET = "k" * 24 + "-pywatt-auth-test-secret"


@dataclass
class Keys:
    hmac: OctKey
    rsa_private: RSAKey
    rsa_public_pem: bytes
    jwks: str


_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def keys() -> Keys:
    hmac = OctKey.import_key(HMAC_SECRET.encode(), {"kid": "k1"})
    private = RSAKey.import_key(
        _RSA.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        {"kid": "r1"},
    )
    pem = _RSA.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = RSAKey.import_key(pem, {"kid": "r1"})
    jwks = json.dumps({"keys": [hmac.as_dict(private=True), public.as_dict(private=False)]})
    return Keys(hmac, private, pem, jwks)


def settings_dict(keys: Keys) -> dict:
    return {
        "algorithms": ["HS256", "RS256"],
        "key": keys.jwks,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "required_claims": ["sub"],
    }


def good_claims(now: float | None = None, **extra) -> dict:
    now = int(time.time() if now is None else now)
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600, **extra}


def attack_cases(keys: Keys, now: float):
    from pywatt.auth.testing import rejection_cases

    return rejection_cases(
        hmac_key=keys.hmac,
        hmac_kid="k1",
        rsa_public_pem=keys.rsa_public_pem,
        rsa_kid="r1",
        issuer=ISSUER,
        audience=AUDIENCE,
        now=now,
    )
