"""Print a token the secure module accepts, signed with JWT_SECRET from ``.env``.

python examples/secure/mint_token.py [--sub ada] [--scope notes:read] [--minutes 60]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from joserfc.jwk import OctKey

from pywatt.auth.testing import mint
from pywatt.cli.orchestrator.secret_source import parse_dotenv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub", default="ada")
    parser.add_argument("--scope", default="notes:read")
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--secrets", default=str(Path(__file__).with_name(".env")))
    args = parser.parse_args()
    secret = parse_dotenv(Path(args.secrets).read_text())["JWT_SECRET"]
    now = int(time.time())
    claims = {
        "iss": "pywatt-example",
        "aud": "secure",
        "sub": args.sub,
        "scope": args.scope,
        "iat": now,
        "exp": now + int(args.minutes * 60),
    }
    print(mint(claims, OctKey.import_key(secret.encode())))


if __name__ == "__main__":
    main()
