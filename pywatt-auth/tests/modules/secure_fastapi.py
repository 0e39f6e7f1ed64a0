"""A FastAPI module whose /me route needs a JWT; keys come from the JWT_KEYS secret."""

from __future__ import annotations

import json
import os

from fastapi import Depends, FastAPI

from pywatt.auth import JwtSettings, build_authenticator
from pywatt.auth.dependency import require_jwt
from pywatt.server import serve_module

SETTINGS = json.loads(os.environ["AUTH_SETTINGS"])


def build(state):
    auth = build_authenticator("jwt", JwtSettings(**SETTINGS))
    app = FastAPI()

    @app.get("/me")
    async def me(claims: dict = Depends(require_jwt(auth))):  # noqa: B008
        return {"sub": claims["sub"]}

    @app.get("/health")
    async def health():
        return {"ok": True}

    return app


if __name__ == "__main__":
    serve_module(build)
