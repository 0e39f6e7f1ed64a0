"""The secure module: FastAPI routes that need a JWT signed with the ``JWT_SECRET`` secret.

Run it in the dev orchestrator: ``pywatt run examples/secure/secure.py --secrets
examples/secure/.env``, then mint a token with ``python examples/secure/mint_token.py``.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from pywatt.auth import JwtSettings, build_authenticator
from pywatt.auth.dependency import require_jwt
from pywatt.core import AppState, pywatt_module

SETTINGS = JwtSettings(
    algorithms=["HS256"],
    secret="JWT_SECRET",  # keys follow the secret through rotation
    issuer="pywatt-example",
    audience="secure",
    required_claims=["sub", "exp"],
    leeway=5,
)


class User(BaseModel):
    sub: str
    scope: str = ""


# JWT_SECRET is fetched at bootstrap, so a module without it refuses to start.
@pywatt_module(secrets=["JWT_SECRET"])
def create_app(state: AppState[object]) -> FastAPI:
    auth = build_authenticator("jwt", SETTINGS)
    app = FastAPI(title="secure")

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"hello": "anyone"}

    @app.get("/me")
    async def me(user: User = Depends(require_jwt(auth, model=User))) -> dict[str, str]:  # noqa: B008
        return {"sub": user.sub}

    @app.get("/notes")
    async def notes(
        user: User = Depends(require_jwt(auth, model=User, scopes=["notes:read"])),  # noqa: B008
    ) -> dict[str, list[str]]:
        return {"notes": [f"a note for {user.sub}"]}

    return app


if __name__ == "__main__":
    create_app.run()
