"""Verifying a token with pywatt-auth vs calling joserfc directly on the same token and key.

``JwtVerifier.verify`` adds the RFC 8725 checks (size, alg allow-list, kid, key kind) and the
claim checks (exp, nbf, iat, iss, aud, required claims) around joserfc's signature check; the
raw side is ``joserfc.jwt.decode`` plus joserfc's own claims registry checking the same exp,
iss and aud. Rounds alternate within one run; the ratio is pywatt/raw (1.0 = as fast). A
second line compares with ``jwt.decode`` alone (signature only, no claim checks), for scale.

    python benchmarks/bench_auth.py [--seconds 1.0] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

from _results import record
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from pywatt.auth import JwtSettings, JwtVerifier
from pywatt.auth.testing import mint

FLOOR = 0.9
ISSUER = "bench-issuer"
AUDIENCE = "bench-audience"


def ops_per_second(op: Callable[[], object], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            op()
        n += 50
    return n / (time.perf_counter() - start)


def compare(label: str, ours: Callable[[], object], raw: Callable[[], object], args) -> float:
    assert ours() == raw(), f"{label}: the two sides disagree"
    for op in (ours, raw):
        ops_per_second(op, 0.2)
    mine, theirs = [], []
    for _ in range(args.rounds):
        mine.append(ops_per_second(ours, args.seconds))
        theirs.append(ops_per_second(raw, args.seconds))
    ratio = statistics.median(mine) / statistics.median(theirs)
    print(
        f"{label:<6} pywatt {statistics.median(mine):>9.0f} verify/s   "
        f"joserfc {statistics.median(theirs):>9.0f} verify/s   ratio {ratio:.3f}"
    )
    record(
        "auth",
        f"JWT verify {label}",
        statistics.median(mine),
        statistics.median(theirs),
        "verify/s",
        ratio,
        aim=FLOOR,
    )
    return ratio


def case(alg: str, private: object, public_jwk: dict, args) -> float:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 3600}
    token = mint(claims, private, alg, kid="bench")
    verifier = JwtVerifier(
        JwtSettings(
            algorithms=[alg],
            key=json.dumps({**public_jwk, "kid": "bench"}),
            issuer=ISSUER,
            audience=AUDIENCE,
            required_claims=["sub"],
        )
    )
    key = verifier.keys.lookup("bench")[0]
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        sub={"essential": True},
    )

    def raw() -> object:
        decoded = jwt.decode(token, key, algorithms=[alg])
        registry.validate(decoded.claims)
        return decoded.claims

    ratio = compare(alg, lambda: verifier.verify(token), raw, args)
    compare(
        alg + "/sig", lambda: verifier.verify(token), lambda: jwt.decode(token, key).claims, args
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    hmac = OctKey.generate_key(256)
    ec = ECKey.generate_key("P-256")
    ratios = [
        case("HS256", hmac, hmac.as_dict(private=True), args),
        case("ES256", ec, ec.as_dict(private=False), args),
    ]
    worst = min(ratios)
    verdict = "ok" if worst >= FLOOR else "BELOW FLOOR"
    print(f"bench_auth: worst ratio {worst:.3f} (floor {FLOOR}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
