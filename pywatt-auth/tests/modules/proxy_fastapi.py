"""A FastAPI module that leaves token checks to the orchestrator's Jwt service (§7.3)."""

from __future__ import annotations

from fastapi import Body, Depends, FastAPI

from pywatt.auth import JwtSettings, build_authenticator
from pywatt.auth.dependency import require_jwt
from pywatt.server import serve_module


def build(state):
    auth = build_authenticator(
        "jwt", JwtSettings(algorithms=["HS256"], source="orchestrator", issuer="pywatt-tests")
    )
    app = FastAPI()

    @app.get("/me")
    async def me(claims: dict = Depends(require_jwt(auth))):  # noqa: B008
        return {"sub": claims["sub"]}

    @app.post("/token")
    async def token(claims: dict = Body(...)):  # noqa: B008
        return {"token": await auth.generate(claims)}

    @app.post("/close")
    async def close():
        await auth.close()
        return {"closed": True}

    return app


if __name__ == "__main__":
    serve_module(build)
